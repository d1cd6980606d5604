//! Zarr v3: the root `zarr.json`, and zarr-python's inline
//! `consolidated_metadata` inside it (a flat map of relative paths to node
//! documents; nested groups may carry their own block, which we merge).

use std::collections::{HashSet, VecDeque};

use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;
use zarrs::metadata::ArrayShape;

use super::Invalid;
use super::codec::{Codec, V3Named};
use super::json::{self, Members};
use super::{
    ArrayInfo, Attributes, Consolidated, NodeDoc, NodeKind, ReadError, dtype, valid_node_path,
};

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

/// What every node document has. `B` is how `consolidated_metadata` is
/// read: left as text ([`RawValue`]) in entries, where it is rare, and read
/// at once in the root, where it is nearly the whole document.
#[derive(Deserialize)]
#[serde(bound(deserialize = "B: Deserialize<'de>"))]
struct Head<'a, B> {
    zarr_format: Option<Value>,
    node_type: Option<Value>,
    #[serde(borrow)]
    attributes: Option<&'a RawValue>,
    consolidated_metadata: Option<B>,
}

/// A node document read in one pass: the [`Head`] fields plus an array's,
/// each a zarrs type where zarrs has one (see the module notes in [`super`]
/// for why not `ArrayMetadataV3` itself). All optional here; what an array
/// requires is checked in [`ArrayFields::info`].
#[derive(Deserialize)]
#[serde(bound(deserialize = "B: Deserialize<'de>"))]
struct Fields<'a, B> {
    zarr_format: Option<Value>,
    node_type: Option<Value>,
    #[serde(borrow)]
    attributes: Option<&'a RawValue>,
    consolidated_metadata: Option<B>,
    shape: Option<ArrayShape>,
    /// As stored: a name, or `{"name", "configuration"}`.
    data_type: Option<Value>,
    chunk_grid: Option<V3Named>,
    chunk_key_encoding: Option<V3Named>,
    #[serde(default, deserialize_with = "present")]
    fill_value: Option<Value>,
    codecs: Option<Vec<V3Named>>,
    #[allow(dead_code)] // read to check it
    storage_transformers: Option<Vec<V3Named>>,
    dimension_names: Option<Vec<Option<String>>>,
}

/// `Some` for any value present, `null` included (a null fill value is
/// stored, not missing).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}

struct ArrayFields {
    shape: Option<ArrayShape>,
    data_type: Option<Value>,
    chunk_grid: Option<V3Named>,
    chunk_key_encoding: Option<V3Named>,
    fill_value: Option<Value>,
    codecs: Option<Vec<V3Named>>,
    dimension_names: Option<Vec<Option<String>>>,
}

/// A node document, split into what every node has and, for an array, its
/// fields or why they did not read.
struct Parsed<'a, B> {
    head: Head<'a, B>,
    array: Result<ArrayFields, Invalid>,
}

fn read_node<'a, B: Deserialize<'a>>(text: &'a [u8]) -> Result<Parsed<'a, B>, serde_json::Error> {
    match serde_json::from_slice::<Fields<B>>(text) {
        Ok(f) => Ok(Parsed {
            head: Head {
                zarr_format: f.zarr_format,
                node_type: f.node_type,
                attributes: f.attributes,
                consolidated_metadata: f.consolidated_metadata,
            },
            array: Ok(ArrayFields {
                shape: f.shape,
                data_type: f.data_type,
                chunk_grid: f.chunk_grid,
                chunk_key_encoding: f.chunk_key_encoding,
                fill_value: f.fill_value,
                codecs: f.codecs,
                dimension_names: f.dimension_names,
            }),
        }),
        // A field of the wrong type: the node is still placed in the tree.
        Err(typed) if typed.is_data() => Ok(Parsed {
            head: serde_json::from_slice(text)?,
            array: Err(Invalid(
                json::without_position(&typed.to_string()).to_string(),
            )),
        }),
        Err(e) => Err(e),
    }
}

impl<B> Head<'_, B> {
    fn node_type(&self) -> Option<&str> {
        self.node_type.as_ref().and_then(Value::as_str)
    }

    /// Why this is not a node, when `node_type` is neither group nor array.
    fn not_a_node(&self) -> String {
        let stored = self
            .node_type
            .as_ref()
            .map_or_else(|| "missing".to_string(), Value::to_string);
        format!("node_type is {stored}, expected \"group\" or \"array\"")
    }

    fn attributes(&self) -> Attributes {
        self.attributes
            .and_then(Attributes::from_raw)
            .unwrap_or_default()
    }
}

/// A `consolidated_metadata` member as read: `None` when null, `Err` when
/// not an object.
trait BlockSource<'a> {
    fn into_block(self) -> Option<Result<Block<'a>, ()>>;
}

impl<'a> BlockSource<'a> for &'a RawValue {
    fn into_block(self) -> Option<Result<Block<'a>, ()>> {
        match self.get() {
            "null" => None,
            text if text.starts_with('{') => Some(serde_json::from_str(text).map_err(|_| ())),
            _ => Some(Err(())),
        }
    }
}

impl<'a> BlockSource<'a> for Option<Block<'a>> {
    fn into_block(self) -> Option<Result<Block<'a>, ()>> {
        self.map(Ok)
    }
}

impl<B> Parsed<'_, B> {
    /// The node; anything not an array is a group (callers check
    /// `node_type` where it matters).
    fn into_node(self, path: String) -> NodeDoc {
        let attributes = self.head.attributes();
        let kind = match self.head.node_type() {
            Some("array") => match self.array.and_then(ArrayFields::info) {
                Ok(info) => NodeKind::Array(Box::new(info)),
                Err(reason) => NodeKind::InvalidArray {
                    reason: format!("invalid array metadata: {reason}"),
                },
            },
            _ => NodeKind::Group,
        };
        NodeDoc {
            path,
            attributes,
            kind,
        }
    }
}

/// Read a root `zarr.json`, with any consolidated metadata in it.
pub fn parse_root(bytes: &[u8]) -> Result<Root, ReadError> {
    json::read_with(bytes, |b| {
        // One pass when the block is an object (or null); otherwise again
        // with the block as text, to say what is wrong with it.
        match read_node::<Option<Block>>(b) {
            Ok(root) => Ok(root_from(root)),
            Err(e) if e.is_data() => read_node::<&RawValue>(b).map(root_from),
            Err(e) => Err(e),
        }
    })
    .map_err(|e| super::document_error(bytes, e))?
}

fn root_from<'a, B: BlockSource<'a>>(mut root: Parsed<'a, B>) -> Result<Root, ReadError> {
    let invalid = |reason: String| Err(ReadError::Invalid(reason));
    match root.head.zarr_format.as_ref().map(|f| (f.as_u64(), f)) {
        Some((Some(3), _)) => {}
        Some((_, other)) => return invalid(format!("zarr_format is {other}, expected 3")),
        None => return invalid("missing \"zarr_format\"".into()),
    }
    match root.head.node_type() {
        Some("array") => Ok(Root::Array(root.into_node(String::new()))),
        Some("group") => match root
            .head
            .consolidated_metadata
            .take()
            .and_then(B::into_block)
        {
            None => Ok(Root::Unconsolidated(root.into_node(String::new()))),
            Some(block) => {
                let mut warnings = Vec::new();
                let mut pending = VecDeque::new();
                collect(block, "", 0, &mut pending, None, &mut warnings)
                    .map_err(|Invalid(reason)| ReadError::Invalid(reason))?;
                let mut nodes: Vec<NodeDoc> = Vec::with_capacity(pending.len() + 1);
                // Paths met so far, needed only once a nested group's own
                // block appears (an entry already met, from an outer block,
                // wins over the same path there).
                let mut seen: Option<HashSet<String>> = None;
                while let Some((path, depth, doc)) = pending.pop_front() {
                    let Some((node, nested)) = entry(path, doc, &mut warnings) else {
                        continue;
                    };
                    if let Some(block) = nested {
                        // Nested blocks mirror the hierarchy; a pathological
                        // document must not drive unbounded work.
                        const MAX_NESTING: usize = 64;
                        if depth >= MAX_NESTING {
                            warnings.push(format!(
                                "stopped at {:?}: consolidated metadata nested too deep",
                                node.path
                            ));
                        } else {
                            let seen = seen.get_or_insert_with(|| {
                                let queued = pending.iter().map(|(p, _, _)| p);
                                let read = nodes.iter().map(|n| &n.path);
                                read.chain(queued).chain([&node.path]).cloned().collect()
                            });
                            let nested = collect(
                                block,
                                &node.path,
                                depth + 1,
                                &mut pending,
                                Some(seen),
                                &mut warnings,
                            );
                            if let Err(Invalid(reason)) = nested {
                                warnings.push(reason);
                            }
                        }
                    }
                    nodes.push(node);
                }
                // Stable: of a path given twice, the first read stays first.
                nodes.sort_by(|a, b| a.path.cmp(&b.path));
                nodes.insert(0, root.into_node(String::new()));
                Ok(Root::Consolidated(Consolidated { nodes, warnings }))
            }
        },
        _ if root.head.node_type.is_none() => invalid("missing \"node_type\"".into()),
        _ => invalid(root.head.not_a_node()),
    }
}

type Pending<'a> = VecDeque<(String, usize, &'a RawValue)>;

/// One entry of a consolidated block into a node, with a nested group's own
/// block if it has one.
fn entry<'a>(
    path: String,
    doc: &'a RawValue,
    warnings: &mut Vec<String>,
) -> Option<(NodeDoc, Option<Result<Block<'a>, ()>>)> {
    if path.is_empty() || !valid_node_path(&path) {
        warnings.push(super::invalid_path_warning("entry", &path));
        return None;
    }
    let mut parsed = match read_node::<&RawValue>(doc.get().as_bytes()) {
        Ok(parsed) => parsed,
        Err(e) => {
            warnings.push(format!("skipped entry {path:?}: {e}"));
            return None;
        }
    };
    match parsed.head.node_type() {
        Some("group" | "array") => {}
        _ => {
            warnings.push(format!(
                "skipped entry {path:?}: {}",
                parsed.head.not_a_node()
            ));
            return None;
        }
    }
    let nested = parsed
        .head
        .consolidated_metadata
        .take()
        .and_then(|b| b.into_block());
    Some((parsed.into_node(path), nested))
}

#[derive(Deserialize)]
struct Block<'a> {
    kind: Option<Value>,
    #[serde(borrow)]
    metadata: Option<Members<'a>>,
}

/// Queue the entries of a `consolidated_metadata` block
/// (`{"kind": "inline", "metadata": {...}}`): all of the root's, and of a
/// nested block those not in `seen`.
fn collect<'a>(
    block: Result<Block<'a>, ()>,
    prefix: &str,
    depth: usize,
    pending: &mut Pending<'a>,
    mut seen: Option<&mut HashSet<String>>,
    warnings: &mut Vec<String>,
) -> Result<(), Invalid> {
    let where_ = if prefix.is_empty() {
        "root".to_string()
    } else {
        format!("{prefix:?}")
    };
    let block =
        block.map_err(|()| format!("consolidated_metadata of {where_} is not an object"))?;
    match block.kind.as_ref().map(|k| (k.as_str(), k)) {
        Some((Some("inline"), _)) | None => {}
        Some((_, kind)) => warnings.push(format!(
            "consolidated_metadata of {where_} has kind {kind}, expected \"inline\"; reading it anyway"
        )),
    }
    let Some(Members::Object(metadata)) = block.metadata else {
        return Err(Invalid(format!(
            "consolidated_metadata of {where_} has no \"metadata\" object"
        )));
    };
    for (key, doc) in metadata {
        let path = crate::keys::join(prefix, &key);
        let new = match seen.as_deref_mut() {
            Some(seen) => seen.insert(path.clone()),
            None => true,
        };
        if new {
            pending.push_back((path, depth, doc));
        }
    }
    Ok(())
}

/// A node from its own `zarr.json` document (a crawl); `Err` says why it is
/// not a node (not JSON, or `node_type` neither group nor array).
pub fn node(path: String, bytes: &[u8]) -> Result<NodeDoc, Invalid> {
    json::read_with(bytes, |b| {
        read_node::<&RawValue>(b).map(|parsed| match parsed.head.node_type() {
            Some("group" | "array") => Ok(parsed.into_node(path.clone())),
            _ => Err(Invalid(parsed.head.not_a_node())),
        })
    })
    .map_err(|e| format!("not valid JSON at {e}"))?
}

/// `configuration.chunk_shape` of a regular grid or a sharding codec.
fn chunk_shape(named: &Codec) -> Option<Vec<u64>> {
    named
        .configuration
        .get("chunk_shape")?
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect()
}

impl ArrayFields {
    fn info(self) -> Result<ArrayInfo, Invalid> {
        let missing = |field: &str| format!("missing field `{field}`");
        let shape = self.shape.ok_or_else(|| missing("shape"))?;
        let data_type = self.data_type.ok_or_else(|| missing("data_type"))?;
        V3Named::deserialize(&data_type).map_err(|e| format!("data_type: {e}"))?;
        let V3Named(chunk_grid) = self.chunk_grid.ok_or_else(|| missing("chunk_grid"))?;
        self.chunk_key_encoding
            .ok_or_else(|| missing("chunk_key_encoding"))?;
        let fill_value = self.fill_value.ok_or_else(|| missing("fill_value"))?;
        let codecs = self.codecs.ok_or_else(|| missing("codecs"))?;
        let codecs: Vec<Codec> = codecs.into_iter().map(|c| c.0).collect();
        let grid_chunks = match chunk_grid.name.as_str() {
            "regular" => chunk_shape(&chunk_grid),
            _ => None,
        };
        // Sharded: the grid is the shard shape; chunks are the inner chunks.
        let (chunks, shards) = match codecs.first() {
            Some(first) if first.name == "sharding_indexed" => (chunk_shape(first), grid_chunks),
            _ => (grid_chunks, None),
        };
        Ok(ArrayInfo {
            zarr_format: 3,
            data_type: dtype::from_v3(&data_type),
            dtype: data_type,
            fill_value,
            shape,
            chunks,
            shards,
            order: None,
            codecs,
            dimension_names: self.dimension_names,
        })
    }
}

/// One array `zarr.json` document into an [`ArrayInfo`].
pub fn parse_array(bytes: &[u8]) -> Result<ArrayInfo, Invalid> {
    json::read_with(bytes, |b| {
        read_node::<&RawValue>(b).map(|parsed| parsed.array.and_then(ArrayFields::info))
    })
    .map_err(|e| e.message)?
    .map_err(|reason| Invalid(format!("invalid array metadata: {reason}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bytes(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

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
        let Root::Consolidated(c) = parse_root(&bytes(doc)).unwrap() else {
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
        let a = parse_array(&bytes(doc)).unwrap();
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
        let a = parse_array(&bytes(doc)).unwrap();
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
        assert!(matches!(
            parse_root(&bytes(doc)).unwrap(),
            Root::Unconsolidated(_)
        ));
        let a = parse_root(&bytes(array_doc(json!([3]), json!([3])))).unwrap();
        assert!(matches!(
            a,
            Root::Array(NodeDoc {
                kind: NodeKind::Array(_),
                ..
            })
        ));
        assert!(
            parse_root(&bytes(json!({"zarr_format": 2})))
                .unwrap_err()
                .to_string()
                .contains("expected 3")
        );
        assert!(parse_root(&bytes(json!({"zarr_format": 3, "node_type": "x"}))).is_err());
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
        let Root::Consolidated(c) = parse_root(&bytes(doc)).unwrap() else {
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
        let Root::Consolidated(c) = parse_root(&bytes(doc)).unwrap() else {
            panic!()
        };
        let paths: Vec<_> = c.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["", "bad", "ok"]);
        assert!(matches!(c.nodes[1].kind, NodeKind::InvalidArray { .. }));
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    }
}
