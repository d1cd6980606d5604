//! `--format json`: one stable document, described in the README.

use std::io;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{Renderer, Stats};
use crate::hierarchy::{Hierarchy, Node};
use crate::metadata::NodeKind;
use crate::metadata::codec::Codec;

pub struct JsonRenderer;

#[derive(Serialize)]
struct Document<'a> {
    url: &'a str,
    root: &'a str,
    path: &'a str,
    zarr_format: u8,
    consolidated: bool,
    crawled: bool,
    complete: bool,
    /// What the metadata came from when not a Zarr store (a reference set).
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'a str>,
    nodes: Vec<JsonNode<'a>>,
    stats: Stats,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonNode<'a> {
    path: &'a str,
    kind: &'static str,
    attributes: &'a Map<String, Value>,
    #[serde(flatten)]
    array: Option<JsonArray<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// Array fields; all `null` for an array whose metadata could not be read.
#[derive(Serialize, Default)]
struct JsonArray<'a> {
    shape: Option<&'a [u64]>,
    chunks: Option<&'a [u64]>,
    shards: Option<&'a [u64]>,
    data_type: Option<&'a str>,
    dtype: Option<&'a Value>,
    fill_value: Option<&'a Value>,
    order: Option<&'a str>,
    codecs: Option<&'a [Codec]>,
    dimension_names: Option<&'a [Option<String>]>,
    nbytes: Option<u128>,
    nchunks: Option<u128>,
}

fn node(n: &Node) -> JsonNode<'_> {
    let (kind, array, error) = match &n.kind {
        NodeKind::Group => ("group", None, None),
        NodeKind::Array(a) => (
            "array",
            Some(JsonArray {
                shape: Some(&a.shape),
                chunks: a.chunks.as_deref(),
                shards: a.shards.as_deref(),
                data_type: a.data_type.v3_name.as_deref(),
                dtype: Some(&a.dtype),
                fill_value: Some(&a.fill_value),
                order: a.order.as_deref(),
                codecs: Some(&a.codecs),
                dimension_names: a.dimension_names.as_deref(),
                nbytes: a.nbytes(),
                nchunks: a.nchunks(),
            }),
            None,
        ),
        NodeKind::InvalidArray { reason } => {
            ("array", Some(JsonArray::default()), Some(reason.as_str()))
        }
    };
    JsonNode {
        path: &n.path,
        kind,
        attributes: &n.attributes,
        array,
        error,
    }
}

impl Renderer for JsonRenderer {
    fn render(&self, h: &Hierarchy, stats: Stats, out: &mut dyn io::Write) -> io::Result<()> {
        let doc = Document {
            url: &h.url,
            root: &h.root_url,
            path: &h.base,
            zarr_format: h.zarr_format,
            consolidated: h.consolidated,
            crawled: h.crawled,
            complete: h.complete,
            source: h.source.as_deref(),
            nodes: h.nodes.iter().map(node).collect(),
            stats,
            warnings: &h.warnings,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        writeln!(out)
    }
}
