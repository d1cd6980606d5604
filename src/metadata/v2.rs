//! Zarr v2 consolidated metadata (`.zmetadata`), which zarrs does not read.
//!
//! `{"zarr_consolidated_format": 1, "metadata": {".zgroup": {...},
//! ".zattrs": {...}, "a/.zarray": {...}, "a/.zattrs": {...}}}`

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use zarrs::metadata::v2::ArrayMetadataV2;

use super::codec::Codec;
use super::{
    ArrayInfo, Consolidated, NodeDoc, NodeKind, dimension_names_from_attrs, dtype, valid_node_path,
};

#[derive(Default)]
struct Entry {
    zgroup: bool,
    zarray: Option<Value>,
    zattrs: Option<Value>,
}

/// Read a parsed `.zmetadata` document into nodes. Takes the document by
/// value so attributes move into the nodes instead of being copied.
pub fn parse_consolidated(doc: Value) -> Result<Consolidated, String> {
    let Value::Object(mut root) = doc else {
        return Err("expected a JSON object at the top level".into());
    };
    let Some(Value::Object(metadata)) = root.remove("metadata") else {
        return Err("missing the \"metadata\" object that consolidated metadata holds".into());
    };
    let mut warnings = Vec::new();
    match root.get("zarr_consolidated_format").and_then(Value::as_u64) {
        Some(1) => {}
        other => warnings.push(format!(
            "zarr_consolidated_format is {}, expected 1; reading it anyway",
            other.map_or("missing".to_string(), |v| v.to_string())
        )),
    }

    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for (key, value) in metadata {
        let (dir, file) = key.rsplit_once('/').unwrap_or(("", key.as_str()));
        if !valid_node_path(dir) {
            warnings.push(super::invalid_path_warning("key", &key));
            continue;
        }
        let entry = entries.entry(dir.to_string()).or_default();
        match file {
            ".zgroup" => entry.zgroup = true,
            ".zarray" => entry.zarray = Some(value),
            ".zattrs" => entry.zattrs = Some(value),
            _ => warnings.push(format!("skipped key {key:?}: not a Zarr v2 metadata file")),
        }
    }

    let mut nodes = Vec::with_capacity(entries.len());
    for (path, entry) in entries {
        let attributes = match entry.zattrs {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => {
                warnings.push(format!("{path:?}: .zattrs is not a JSON object; ignored"));
                Map::new()
            }
        };
        let kind = match entry.zarray {
            Some(zarray) => {
                if entry.zgroup {
                    warnings.push(format!(
                        "{path:?} has both .zarray and .zgroup; shown as an array"
                    ));
                }
                match parse_array(&zarray, &attributes) {
                    Ok(info) => NodeKind::Array(Box::new(info)),
                    Err(reason) => NodeKind::InvalidArray { reason },
                }
            }
            None => NodeKind::Group,
        };
        nodes.push(NodeDoc {
            path,
            attributes,
            kind,
        });
    }
    Ok(Consolidated { nodes, warnings })
}

/// One `.zarray` document (with its node's `.zattrs`) into an [`ArrayInfo`].
pub fn parse_array(zarray: &Value, attributes: &Map<String, Value>) -> Result<ArrayInfo, String> {
    let meta = match ArrayMetadataV2::deserialize(zarray) {
        Ok(meta) => meta,
        // zarrs models structured fields as 3-element tuples; numpy writes
        // `[name, type]` pairs. Check the rest of the document with a
        // stand-in dtype: the stored dtype is reported as is either way.
        Err(e) if zarray["dtype"].is_array() => {
            let mut stand_in = zarray.clone();
            stand_in["dtype"] = Value::String("|V1".into());
            ArrayMetadataV2::deserialize(&stand_in).map_err(|_| format!("invalid .zarray: {e}"))?
        }
        Err(e) => return Err(format!("invalid .zarray: {e}")),
    };
    let codec_of =
        |m: &zarrs::metadata::v2::MetadataV2| Codec::new(m.id(), m.configuration().clone().into());
    let mut codecs: Vec<Codec> = meta.filters.iter().flatten().map(codec_of).collect();
    let filter_ids: Vec<&str> = meta.filters.iter().flatten().map(|f| f.id()).collect();
    let data_type = dtype::from_v2(&zarray["dtype"], &filter_ids);
    codecs.extend(meta.compressor.as_ref().map(codec_of));
    Ok(ArrayInfo {
        zarr_format: 2,
        chunks: Some(meta.chunks.iter().map(|c| c.get()).collect()),
        shape: meta.shape,
        shards: None,
        dtype: zarray["dtype"].clone(),
        data_type,
        fill_value: zarray.get("fill_value").cloned().unwrap_or(Value::Null),
        order: Some(
            match meta.order {
                zarrs::metadata::v2::ArrayMetadataV2Order::C => "C",
                zarrs::metadata::v2::ArrayMetadataV2Order::F => "F",
            }
            .to_string(),
        ),
        codecs,
        dimension_names: dimension_names_from_attrs(attributes),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chrtout_like() -> Value {
        json!({
            "zarr_consolidated_format": 1,
            "metadata": {
                ".zgroup": {"zarr_format": 2},
                ".zattrs": {"TITLE": "OUTPUT FROM WRF-Hydro"},
                "streamflow/.zarray": {
                    "zarr_format": 2, "shape": [367439, 2776738], "chunks": [672, 30000],
                    "dtype": "<i4", "fill_value": -999900, "order": "C", "filters": null,
                    "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}
                },
                "streamflow/.zattrs": {"_ARRAY_DIMENSIONS": ["time", "feature_id"], "scale_factor": 0.01},
                "crs/.zarray": {"zarr_format": 2, "shape": [], "chunks": [], "dtype": "|S1",
                    "fill_value": "IA==", "order": "C", "filters": null, "compressor": null},
                "crs/.zattrs": {"esri_pe_string": "x"}
            }
        })
    }

    #[test]
    fn reads_groups_arrays_and_attributes() {
        let c = parse_consolidated(chrtout_like()).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let paths: Vec<_> = c.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["", "crs", "streamflow"]);
        assert_eq!(c.nodes[0].kind, NodeKind::Group);
        assert_eq!(c.nodes[0].attributes["TITLE"], "OUTPUT FROM WRF-Hydro");
        let NodeKind::Array(sf) = &c.nodes[2].kind else {
            panic!("not an array")
        };
        assert_eq!(sf.shape, [367439, 2776738]);
        assert_eq!(sf.chunks.as_deref(), Some(&[672, 30000][..]));
        assert_eq!(sf.data_type.v3_name.as_deref(), Some("int32"));
        assert_eq!(sf.codecs.len(), 1);
        assert_eq!(sf.codecs[0].summary(), "blosc(lz4,5,shuffle)");
        assert_eq!(
            sf.dimension_names,
            Some(vec![Some("time".into()), Some("feature_id".into())])
        );
        let NodeKind::Array(crs) = &c.nodes[1].kind else {
            panic!("not an array")
        };
        assert!(crs.shape.is_empty());
        assert_eq!(crs.fill_value, json!("IA=="));
    }

    #[test]
    fn filters_come_before_the_compressor() {
        let zarray = json!({"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "|O",
            "fill_value": null, "order": "C",
            "filters": [{"id": "vlen-utf8"}], "compressor": {"id": "zstd", "level": 1}});
        let a = parse_array(&zarray, &Map::new()).unwrap();
        let names: Vec<_> = a.codecs.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["vlen-utf8", "zstd"]);
        assert_eq!(a.data_type.v3_name.as_deref(), Some("string"));
    }

    #[test]
    fn a_bad_array_does_not_sink_the_tree() {
        let mut doc = chrtout_like();
        doc["metadata"]["bad/.zarray"] = json!({"zarr_format": 2, "shape": [3], "chunks": [0],
            "dtype": "<f4", "fill_value": null, "order": "C", "compressor": null, "filters": null});
        doc["metadata"]["../escape/.zarray"] = json!({});
        let c = parse_consolidated(doc).unwrap();
        let bad = c.nodes.iter().find(|n| n.path == "bad").unwrap();
        assert!(
            matches!(&bad.kind, NodeKind::InvalidArray { reason } if reason.contains(".zarray"))
        );
        assert!(c.warnings.iter().any(|w| w.contains("../escape")));
        assert_eq!(c.nodes.len(), 4);
    }

    #[test]
    fn structural_errors() {
        assert!(
            parse_consolidated(json!([1]))
                .unwrap_err()
                .contains("object")
        );
        assert!(
            parse_consolidated(json!({"zarr_consolidated_format": 1}))
                .unwrap_err()
                .contains("metadata")
        );
    }
}
