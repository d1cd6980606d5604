//! Zarr v3: the root `zarr.json`, and zarr-python's inline
//! `consolidated_metadata` inside it (a flat map of relative paths to node
//! documents; nested groups may carry their own block, which we merge).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use zarrs::metadata::v3::{ArrayMetadataV3, GroupMetadataV3, MetadataV3};

use super::codec::Codec;
use super::{ArrayInfo, Consolidated, NodeDoc, NodeKind, dtype, valid_node_path};

/// What a root `zarr.json` holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Root {
    /// The store is a single array: its metadata is complete on its own.
    Array(NodeDoc),
    /// A group with consolidated metadata.
    Consolidated(Consolidated),
    /// A group without consolidated metadata (its own node only).
    Unconsolidated(NodeDoc),
}

/// Read a root `zarr.json`. Takes the document by value so attributes move
/// into the nodes instead of being copied.
pub fn parse_root(doc: Value) -> Result<Root, String> {
    let Value::Object(mut obj) = doc else {
        return Err("expected a JSON object at the top level".into());
    };
    match obj.get("zarr_format").and_then(Value::as_u64) {
        Some(3) => {}
        Some(other) => return Err(format!("zarr_format is {other}, expected 3")),
        None => return Err("missing \"zarr_format\"".into()),
    }
    // Taken out first: the group's own metadata is checked without it.
    let block = obj.remove("consolidated_metadata");
    let doc = Value::Object(obj);
    match doc.get("node_type").and_then(Value::as_str) {
        Some("array") => Ok(Root::Array(node(String::new(), doc))),
        Some("group") => {
            GroupMetadataV3::deserialize(&doc)
                .map_err(|e| format!("invalid group metadata: {e}"))?;
            let root = node(String::new(), doc);
            match block {
                None | Some(Value::Null) => Ok(Root::Unconsolidated(root)),
                Some(block) => {
                    let mut warnings = Vec::new();
                    let mut flat = BTreeMap::new();
                    collect(block, "", &mut flat, &mut warnings, 0)?;
                    let mut nodes = Vec::with_capacity(flat.len() + 1);
                    nodes.push(root);
                    for (path, doc) in flat {
                        if path.is_empty() || !valid_node_path(&path) {
                            warnings.push(super::invalid_path_warning("entry", &path));
                            continue;
                        }
                        match doc.get("node_type").and_then(Value::as_str) {
                            Some("group" | "array") => nodes.push(node(path, doc)),
                            other => warnings.push(format!(
                                "skipped entry {path:?}: node_type is {other:?}, expected \"group\" or \"array\""
                            )),
                        }
                    }
                    Ok(Root::Consolidated(Consolidated { nodes, warnings }))
                }
            }
        }
        Some(other) => Err(format!(
            "node_type is {other:?}, expected \"group\" or \"array\""
        )),
        None => Err("missing \"node_type\"".into()),
    }
}

/// Gather the entries of a `consolidated_metadata` block
/// (`{"kind": "inline", "metadata": {...}}`), depth first. An entry already
/// present (from an outer block) wins over the same path in a nested group's
/// own block.
fn collect(
    block: Value,
    prefix: &str,
    flat: &mut BTreeMap<String, Value>,
    warnings: &mut Vec<String>,
    depth: usize,
) -> Result<(), String> {
    // Nested blocks mirror the hierarchy; a pathological document must not
    // drive unbounded recursion.
    const MAX_NESTING: usize = 64;
    let where_ = if prefix.is_empty() {
        "root".to_string()
    } else {
        format!("{prefix:?}")
    };
    let Value::Object(mut block) = block else {
        return Err(format!(
            "consolidated_metadata of {where_} is not an object"
        ));
    };
    match block.get("kind").and_then(Value::as_str) {
        Some("inline") | None => {}
        Some(kind) => warnings.push(format!(
            "consolidated_metadata of {where_} has kind {kind:?}, expected \"inline\"; reading it anyway"
        )),
    }
    let Some(Value::Object(metadata)) = block.remove("metadata") else {
        return Err(format!(
            "consolidated_metadata of {where_} has no \"metadata\" object"
        ));
    };
    let mut nested = Vec::new();
    for (key, mut doc) in metadata {
        let path = if prefix.is_empty() {
            key
        } else {
            format!("{prefix}/{key}")
        };
        if let Some(inner) = doc
            .as_object_mut()
            .and_then(|d| d.remove("consolidated_metadata"))
            .filter(|v| !v.is_null())
        {
            nested.push((path.clone(), inner));
        }
        flat.entry(path).or_insert(doc);
    }
    for (path, inner) in nested {
        if depth >= MAX_NESTING {
            warnings.push(format!(
                "stopped at {path:?}: consolidated metadata nested too deep"
            ));
            break;
        }
        if let Err(e) = collect(inner, &path, flat, warnings, depth + 1) {
            warnings.push(e);
        }
    }
    Ok(())
}

/// A node from its `zarr.json` document; arrays are parsed, attributes moved.
pub fn node(path: String, mut doc: Value) -> NodeDoc {
    // Attributes first, so the typed parse below does not copy them.
    let attributes = match doc.as_object_mut().and_then(|d| d.remove("attributes")) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let kind = match doc.get("node_type").and_then(Value::as_str) {
        Some("array") => match parse_array(&doc) {
            Ok(info) => NodeKind::Array(Box::new(info)),
            Err(reason) => NodeKind::InvalidArray { reason },
        },
        _ => NodeKind::Group,
    };
    NodeDoc {
        path,
        attributes,
        kind,
    }
}

#[derive(Deserialize)]
struct ChunkShapeConfig {
    chunk_shape: Vec<u64>,
}

fn codec_of(m: &MetadataV3) -> Codec {
    let configuration: Option<zarrs::metadata::Configuration> = m.clone().into();
    Codec::new(m.name(), configuration.map(Into::into).unwrap_or_default())
}

/// One array `zarr.json` document into an [`ArrayInfo`].
pub fn parse_array(doc: &Value) -> Result<ArrayInfo, String> {
    // Deserialize from the borrowed value: no copy of the document.
    let meta =
        ArrayMetadataV3::deserialize(doc).map_err(|e| format!("invalid array metadata: {e}"))?;
    let grid_chunks = match meta.chunk_grid.name() {
        "regular" => meta
            .chunk_grid
            .to_typed_configuration::<ChunkShapeConfig>()
            .ok()
            .map(|c| c.chunk_shape),
        _ => None,
    };
    let codecs: Vec<Codec> = meta.codecs.iter().map(codec_of).collect();
    // Sharded: the grid is the shard shape; chunks are the inner chunks.
    let (chunks, shards) = match meta.codecs.first() {
        Some(first) if first.name() == "sharding_indexed" => {
            let inner = first
                .to_typed_configuration::<ChunkShapeConfig>()
                .ok()
                .map(|c| c.chunk_shape);
            (inner, grid_chunks)
        }
        _ => (grid_chunks, None),
    };
    Ok(ArrayInfo {
        zarr_format: 3,
        data_type: dtype::from_v3(&doc["data_type"]),
        dtype: doc["data_type"].clone(),
        fill_value: doc.get("fill_value").cloned().unwrap_or(Value::Null),
        shape: meta.shape,
        chunks,
        shards,
        order: None,
        codecs,
        dimension_names: meta.dimension_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn array_doc(shape: Value, chunks: Value) -> Value {
        json!({"zarr_format": 3, "node_type": "array", "shape": shape, "data_type": "float32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": chunks}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": "NaN", "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                {"name": "zstd", "configuration": {"level": 0, "checksum": false}}],
            "attributes": {"units": "K"}, "dimension_names": ["y", null]})
    }

    #[test]
    fn consolidated_root_with_nested_groups() {
        let doc = json!({"zarr_format": 3, "node_type": "group", "attributes": {"title": "t"},
        "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {
            "g": {"zarr_format": 3, "node_type": "group", "attributes": {},
                  "consolidated_metadata": {"kind": "inline", "metadata": {
                      "deep": {"zarr_format": 3, "node_type": "group"}}}},
            "g/t": array_doc(json!([10, 20]), json!([5, 20])),
            "__xarray_dataarray_variable__": array_doc(json!([1, 1]), json!([1, 1]))
        }}});
        let Root::Consolidated(c) = parse_root(doc).unwrap() else {
            panic!("not consolidated")
        };
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        let paths: Vec<_> = c.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(
            paths,
            ["", "__xarray_dataarray_variable__", "g", "g/deep", "g/t"]
        );
        assert_eq!(c.nodes[0].attributes["title"], "t");
        let NodeKind::Array(t) = &c.nodes[4].kind else {
            panic!()
        };
        assert_eq!(t.chunks.as_deref(), Some(&[5, 20][..]));
        assert_eq!(t.shards, None);
        assert_eq!(t.fill_value, json!("NaN"));
        assert_eq!(t.dimension_names, Some(vec![Some("y".into()), None]));
        assert_eq!(t.codecs[1].summary(), "zstd(0)");
    }

    #[test]
    fn sharded_array_reports_inner_chunks_and_shards() {
        let mut doc = array_doc(json!([100, 100]), json!([50, 50]));
        doc["codecs"] = json!([{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [10, 10], "codecs": [{"name": "bytes"}],
            "index_codecs": [{"name": "bytes"}, {"name": "crc32c"}], "index_location": "end"}}]);
        let a = parse_array(&doc).unwrap();
        assert_eq!(a.chunks.as_deref(), Some(&[10, 10][..]));
        assert_eq!(a.shards.as_deref(), Some(&[50, 50][..]));
        assert_eq!(a.nchunks(), Some(100));
    }

    #[test]
    fn unknown_codec_and_dtype_are_kept_raw() {
        let mut doc = array_doc(json!([4]), json!([2]));
        doc["data_type"] = json!({"name": "my.type", "configuration": {"x": 1}});
        doc["codecs"] = json!([{"name": "my.codec", "configuration": {"k": "v"}}]);
        doc["dimension_names"] = json!(["x"]);
        let a = parse_array(&doc).unwrap();
        assert_eq!(
            a.dtype,
            json!({"name": "my.type", "configuration": {"x": 1}})
        );
        assert_eq!(a.codecs[0].name, "my.codec");
        assert_eq!(a.nbytes(), None);
    }

    #[test]
    fn unconsolidated_and_single_array_roots() {
        let doc = json!({"zarr_format": 3, "node_type": "group", "consolidated_metadata": null});
        assert!(matches!(parse_root(doc).unwrap(), Root::Unconsolidated(_)));
        let a = parse_root(array_doc(json!([3]), json!([3]))).unwrap();
        assert!(matches!(
            a,
            Root::Array(NodeDoc {
                kind: NodeKind::Array(_),
                ..
            })
        ));
        assert!(
            parse_root(json!({"zarr_format": 2}))
                .unwrap_err()
                .contains("expected 3")
        );
        assert!(parse_root(json!({"zarr_format": 3, "node_type": "x"})).is_err());
    }

    #[test]
    fn zarrs_consolidated_type_would_drop_the_whole_tree_for_one_bad_entry() {
        // Why entries are parsed one by one: zarrs' ConsolidatedMetadata is
        // all-or-nothing, so one malformed array would hide every node.
        use zarrs::metadata_ext::group::consolidated_metadata::ConsolidatedMetadata;
        let block = json!({"kind": "inline", "metadata": {
            "ok": {"zarr_format": 3, "node_type": "group"},
            "bad": {"zarr_format": 3, "node_type": "array", "shape": "nope"}}});
        assert!(serde_json::from_value::<ConsolidatedMetadata>(block.clone()).is_err());
        let doc = json!({"zarr_format": 3, "node_type": "group", "consolidated_metadata": block});
        let Root::Consolidated(c) = parse_root(doc).unwrap() else {
            panic!()
        };
        assert_eq!(c.nodes.len(), 3);
    }

    #[test]
    fn bad_entries_become_warnings_or_invalid_nodes() {
        let doc = json!({"zarr_format": 3, "node_type": "group",
            "consolidated_metadata": {"kind": "inline", "metadata": {
                "ok": {"zarr_format": 3, "node_type": "group"},
                "bad": {"zarr_format": 3, "node_type": "array", "shape": "nope"},
                "weird": {"node_type": "link"},
                "a/../b": {"zarr_format": 3, "node_type": "group"}}}});
        let Root::Consolidated(c) = parse_root(doc).unwrap() else {
            panic!()
        };
        let paths: Vec<_> = c.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["", "bad", "ok"]);
        assert!(matches!(c.nodes[1].kind, NodeKind::InvalidArray { .. }));
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    }
}
