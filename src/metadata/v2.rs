//! Zarr v2 consolidated metadata (`.zmetadata`), which zarrs does not read.
//!
//! `{"zarr_consolidated_format": 1, "metadata": {".zgroup": {...},
//! ".zattrs": {...}, "a/.zarray": {...}, "a/.zattrs": {...}}}`

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use zarrs::metadata::v2::ArrayMetadataV2Order;
use zarrs::metadata::{ArrayShape, ChunkKeySeparator, ChunkShape};

use super::Invalid;
use super::codec::{Codec, V2Codec};
use super::json::{self, Members};
use super::{
    ArrayInfo, Attributes, Consolidated, NodeDoc, NodeKind, ReadError, dtype, valid_node_path,
};

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(borrow)]
    metadata: Option<Members<'a>>,
    zarr_consolidated_format: Option<Value>,
}

#[derive(Default)]
struct Entry<'a> {
    zgroup: bool,
    zarray: Option<&'a RawValue>,
    zattrs: Option<&'a RawValue>,
}

/// Read a `.zmetadata` document into nodes.
pub fn parse_consolidated(bytes: &[u8]) -> Result<Consolidated, ReadError> {
    json::read_with(bytes, |b| {
        serde_json::from_slice::<Document>(b).map(from_document)
    })
    .map_err(|e| super::document_error(bytes, e))?
}

fn from_document(doc: Document) -> Result<Consolidated, ReadError> {
    let Some(Members::Object(metadata)) = doc.metadata else {
        return Err(ReadError::Invalid(
            "missing the \"metadata\" object that consolidated metadata holds".into(),
        ));
    };
    let mut warnings = Vec::new();
    match doc
        .zarr_consolidated_format
        .as_ref()
        .and_then(Value::as_u64)
    {
        Some(1) => {}
        other => warnings.push(format!(
            "zarr_consolidated_format is {}, expected 1; reading it anyway",
            other.map_or("missing".to_string(), |v| v.to_string())
        )),
    }

    // A node's documents are next to each other in what writers produce
    // (keys sorted, or grouped by node): look at the last node first.
    let mut entries: Vec<(&str, Entry)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (key, value) in &metadata {
        let (dir, file) = key.rsplit_once('/').unwrap_or(("", key));
        let at = match entries.last() {
            Some((last, _)) if *last == dir => entries.len() - 1,
            _ => match index.get(dir) {
                Some(&at) => at,
                None => {
                    if !valid_node_path(dir) {
                        warnings.push(super::invalid_path_warning("key", key));
                        continue;
                    }
                    index.insert(dir, entries.len());
                    entries.push((dir, Entry::default()));
                    entries.len() - 1
                }
            },
        };
        let entry = &mut entries[at].1;
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
            None => Attributes::default(),
            Some(raw) => Attributes::from_raw(raw).unwrap_or_else(|| {
                warnings.push(format!("{path:?}: .zattrs is not a JSON object; ignored"));
                Attributes::default()
            }),
        };
        let kind = match entry.zarray {
            Some(zarray) => {
                if entry.zgroup {
                    warnings.push(format!(
                        "{path:?} has both .zarray and .zgroup; shown as an array"
                    ));
                }
                array_kind(zarray.get().as_bytes(), &attributes)
            }
            None => NodeKind::Group,
        };
        nodes.push(NodeDoc {
            path: path.to_string(),
            attributes,
            kind,
        });
    }
    // Stable and nearly sorted already: cheap.
    nodes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Consolidated { nodes, warnings })
}

/// The fields of a `.zarray`, each a zarrs type where zarrs has one (see
/// the module notes in [`super`] for why not `ArrayMetadataV2` itself).
#[derive(Deserialize)]
struct ZArray {
    zarr_format: Value,
    shape: ArrayShape,
    chunks: ChunkShape,
    /// As stored: a typestr, or a structured list (numpy writes
    /// `[name, type]` pairs, which zarrs' structured type does not take).
    dtype: Value,
    compressor: Option<V2Codec>,
    fill_value: Value,
    order: ArrayMetadataV2Order,
    #[serde(default)]
    filters: Option<Vec<V2Codec>>,
    // Read to check it; chunk keys are never built here.
    #[serde(default)]
    #[allow(dead_code)]
    dimension_separator: Option<ChunkKeySeparator>,
}

/// A `.zarray` document's node kind: the array, or why it cannot be read
/// (shown in place rather than dropping the rest of the tree).
pub fn array_kind(zarray: &[u8], attributes: &Attributes) -> NodeKind {
    match parse_array(zarray, attributes) {
        Ok(info) => NodeKind::Array(Box::new(info)),
        Err(Invalid(reason)) => NodeKind::InvalidArray { reason },
    }
}

/// One `.zarray` document (with its node's attributes) into an [`ArrayInfo`].
pub fn parse_array(zarray: &[u8], attributes: &Attributes) -> Result<ArrayInfo, Invalid> {
    let meta = json::read_with(zarray, |b| serde_json::from_slice::<ZArray>(b))
        .map_err(|e| format!("invalid .zarray: {}", json::without_position(&e.message)))?;
    if meta.zarr_format.as_u64() != Some(2) {
        return Err(Invalid(format!(
            "invalid .zarray: zarr_format is {}, expected 2",
            meta.zarr_format
        )));
    }
    if !(meta.dtype.is_string() || meta.dtype.is_array()) {
        return Err(Invalid(format!(
            "invalid .zarray: dtype is {}, expected a type string or a list of fields",
            meta.dtype
        )));
    }
    let mut codecs: Vec<Codec> = meta.filters.into_iter().flatten().map(|c| c.0).collect();
    let filter_ids: Vec<&str> = codecs.iter().map(|f| f.name.as_str()).collect();
    let data_type = dtype::from_v2(&meta.dtype, &filter_ids);
    codecs.extend(meta.compressor.map(|c| c.0));
    Ok(ArrayInfo {
        zarr_format: 2,
        chunks: Some(meta.chunks.iter().map(|c| c.get()).collect()),
        shape: meta.shape,
        shards: None,
        dtype: meta.dtype,
        data_type,
        fill_value: meta.fill_value,
        order: Some(
            match meta.order {
                ArrayMetadataV2Order::C => "C",
                ArrayMetadataV2Order::F => "F",
            }
            .to_string(),
        ),
        codecs,
        dimension_names: attributes.array_dimensions(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

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
        let c = parse_consolidated(&bytes(chrtout_like())).unwrap();
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
        let a = parse_array(&bytes(zarray), &Attributes::default()).unwrap();
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
        let c = parse_consolidated(&bytes(doc)).unwrap();
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
            parse_consolidated(b"[1]")
                .unwrap_err()
                .to_string()
                .contains("object")
        );
        assert!(
            parse_consolidated(br#"{"zarr_consolidated_format": 1}"#)
                .unwrap_err()
                .to_string()
                .contains("metadata")
        );
    }
}
