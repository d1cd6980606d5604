//! Hostile metadata through every stage — parse, hierarchy, every renderer,
//! the dataset view, lint, compare: path tricks, NUL bytes, a million nodes,
//! deep nesting, 2^63 shapes, zero and negative chunks, odd chunk key
//! separators, huge attribute values. Each ends in correct output or a clear
//! error; none panics.

use serde_json::{Value, json};
use zarrscope::compare::compare;
use zarrscope::dataset::{array_detail, dataset};
use zarrscope::hierarchy::Hierarchy;
use zarrscope::lint::{Severity, lint};
use zarrscope::metadata::{self, Consolidated, NodeKind};
use zarrscope::render::{JsonRenderer, Renderer, Stats, TableRenderer, TreeRenderer};

/// A node's name as the tree and the table show it.
fn name(path: &str) -> &str {
    path.rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or("/")
}

/// Build, render every way, view, lint and compare; return the hierarchy.
/// Every stage must show every node (all of them up to 1,000 nodes; past
/// that, one JSON entry and one tree line per node), each readable array
/// must have a detail view and each unreadable one an error with its reason
/// (and a lint error), and the hierarchy must equal itself.
fn everything(zarr_format: u8, c: Consolidated) -> Hierarchy {
    let h = Hierarchy::new(
        "s3://b/hostile.zarr",
        zarr_format,
        true,
        c.nodes,
        c.warnings,
    );
    let small = h.nodes.len() <= 1000;
    // The tree shows every node by name, the table every array by path.
    let tree = TreeRenderer {
        attrs: true,
        depth: None,
        color: true,
        sizes: true,
    };
    // Wrapped to 80 columns, paths break across lines: it must only render.
    let mut wrapped = Vec::new();
    TableRenderer { width: Some(80) }
        .render(&h, Stats::default(), &mut wrapped)
        .expect("renders");
    assert!(!wrapped.is_empty());
    let table = TableRenderer { width: None };
    for (r, arrays_only) in [(&tree as &dyn Renderer, false), (&table, true)] {
        let mut out = Vec::new();
        r.render(&h, Stats::default(), &mut out).expect("renders");
        let out = String::from_utf8_lossy(&out);
        let shown: Vec<&str> = h
            .nodes
            .iter()
            .filter(|n| !arrays_only || n.is_array())
            .map(|n| {
                if arrays_only {
                    n.path.as_str()
                } else {
                    name(&n.path)
                }
            })
            .collect();
        if small {
            for node in &shown {
                assert!(out.contains(node), "{node} is missing from\n{out}");
            }
        } else {
            assert!(out.lines().count() >= shown.len());
        }
    }
    let mut out = Vec::new();
    JsonRenderer
        .render(&h, Stats::default(), &mut out)
        .expect("renders");
    if small {
        let doc: Value = serde_json::from_slice(&out).expect("JSON");
        let paths: Vec<&str> = doc["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["path"].as_str().expect("a path"))
            .collect();
        let expected: Vec<&str> = h.nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, expected);
    } else {
        let entries = String::from_utf8_lossy(&out).matches("\"path\": ").count();
        // The document's own "path" plus one per node.
        assert_eq!(entries, h.nodes.len() + 1);
    }
    let mut unreadable = Vec::new();
    for (i, node) in h.nodes.iter().enumerate() {
        match &node.kind {
            NodeKind::Array(a) => {
                let detail = array_detail(&h, i).expect("a readable array has a detail view");
                assert_eq!((&detail.path, &detail.shape), (&node.path, &a.shape));
            }
            NodeKind::InvalidArray { reason } => {
                let err = array_detail(&h, i).expect_err("an unreadable array");
                assert!(err.0.contains(reason.as_str()), "{err}");
                unreadable.push(node.path.as_str());
            }
            NodeKind::Group if i < 1000 => {
                assert_eq!(dataset(&h, i).path, node.path);
            }
            NodeKind::Group => {}
        }
    }
    let lint_errors: Vec<&str> = lint(&h)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| {
            h.nodes
                .iter()
                .find(|n| n.path == f.path)
                .unwrap()
                .path
                .as_str()
        })
        .collect();
    assert_eq!(lint_errors, unreadable);
    assert!(compare(&h, &h).is_empty());
    h
}

fn v2(metadata: Value) -> Hierarchy {
    let c = metadata::v2::parse_consolidated(
        json!({"metadata": metadata, "zarr_consolidated_format": 1})
            .to_string()
            .as_bytes(),
    )
    .expect("parses");
    everything(2, c)
}

fn zarray(shape: Value, chunks: Value) -> Value {
    json!({"zarr_format": 2, "shape": shape, "chunks": chunks, "dtype": "<f8",
           "fill_value": null, "order": "C", "filters": null, "compressor": null})
}

#[test]
fn path_tricks_are_skipped_with_a_warning() {
    let h = v2(json!({
        ".zgroup": {"zarr_format": 2},
        "../escape/.zgroup": {"zarr_format": 2},
        "/absolute/.zgroup": {"zarr_format": 2},
        "a/../b/.zarray": zarray(json!([1]), json!([1])),
        "a//b/.zgroup": {"zarr_format": 2},
        "./dot/.zgroup": {"zarr_format": 2},
        "fine/.zgroup": {"zarr_format": 2},
    }));
    let paths: Vec<&str> = h.nodes.iter().map(|n| n.path.as_str()).collect();
    assert_eq!(paths, ["/", "/fine"]);
    assert_eq!(h.warnings.len(), 5, "{:?}", h.warnings);
    assert!(
        h.warnings
            .iter()
            .all(|w| w.contains("not a valid node path"))
    );
}

#[test]
fn nul_bytes_in_names_and_values_do_not_break_anything() {
    let h = v2(json!({
        ".zgroup": {"zarr_format": 2},
        ".zattrs": {"nul\u{0}key": "value\u{0}with nul"},
        "x\u{0}y/.zgroup": {"zarr_format": 2},
    }));
    // The NUL group is skipped with a reason; the NUL attribute is kept as is.
    assert_eq!(h.nodes.len(), 1);
    assert_eq!(h.warnings.len(), 1, "{:?}", h.warnings);
    assert!(
        h.warnings[0].contains("not a valid node path"),
        "{:?}",
        h.warnings
    );
    assert_eq!(h.nodes[0].attributes["nul\u{0}key"], "value\u{0}with nul");
}

#[test]
fn a_million_nodes() {
    let mut metadata = serde_json::Map::new();
    metadata.insert(".zgroup".into(), json!({"zarr_format": 2}));
    for i in 0..1_000_000 {
        metadata.insert(format!("g{i}/.zgroup"), json!({"zarr_format": 2}));
    }
    let h = v2(Value::Object(metadata));
    assert_eq!(h.nodes.len(), 1_000_001);
    assert_eq!(h.children(0).len(), 1_000_000);
}

#[test]
fn ten_thousand_levels_deep() {
    let deep = vec!["d"; 10_000].join("/");
    let h = v2(json!({
        ".zgroup": {"zarr_format": 2},
        format!("{deep}/.zarray"): zarray(json!([4]), json!([2])),
    }));
    // Refused with a reason (its implied parents would cost quadratic memory).
    assert_eq!(h.nodes.len(), 1);
    assert!(
        h.warnings[0].contains("deeper than 256 levels"),
        "{:?}",
        h.warnings
    );
    assert!(h.warnings[0].len() < 400);
    // Deeply nested JSON in an attribute: a JSON value tree refuses it
    // clearly; the tree reader keeps attributes as text, so the document
    // reads and that one value is shown as its text, not dropped.
    let nested = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let doc = format!(
        r#"{{"zarr_format": 3, "node_type": "group", "attributes": {{"x": {nested}, "units": "K"}},
        "consolidated_metadata": {{"kind": "inline", "metadata": {{"a": {{"zarr_format": 3,
        "node_type": "group", "attributes": {{"deep": {nested}}}}}}}}}}}"#
    );
    let err = metadata::json::parse(doc.as_bytes()).unwrap_err();
    assert!(err.message.contains("recursion"), "{}", err.message);
    let c = match metadata::v3::parse_root(doc.as_bytes()).expect("parses") {
        metadata::v3::Root::Consolidated(c) => c,
        other => panic!("{other:?}"),
    };
    let h = everything(3, c);
    assert_eq!(h.nodes[0].attributes["units"], "K");
    assert_eq!(h.nodes[0].attributes["x"], Value::String(nested.clone()));
    assert_eq!(h.nodes[1].attributes["deep"], Value::String(nested));
}

#[test]
fn huge_shapes_and_bad_chunks() {
    let h = v2(json!({
        ".zgroup": {"zarr_format": 2},
        "max/.zarray": zarray(json!([9223372036854775807u64, 9223372036854775807u64]), json!([1, 1])),
        "zero/.zarray": zarray(json!([10]), json!([0])),
        "negative/.zarray": zarray(json!([10]), json!([-1])),
        "mismatch/.zarray": zarray(json!([10, 10]), json!([5])),
        "separator/.zarray": {"zarr_format": 2, "shape": [4], "chunks": [2], "dtype": "<f8",
            "fill_value": null, "order": "C", "filters": null, "compressor": null,
            "dimension_separator": "|"},
    }));
    let kind = |name: &str| -> &NodeKind {
        &h.nodes
            .iter()
            .find(|n| n.path == format!("/{name}"))
            .unwrap()
            .kind
    };
    // Exact up to 128 bits, then "unknown" — never wrapped.
    match kind("max") {
        NodeKind::Array(a) => {
            let side = 9_223_372_036_854_775_807u128;
            assert_eq!(a.nchunks(), Some(side * side));
            assert_eq!(a.nbytes(), None);
        }
        other => panic!("{other:?}"),
    }
    for bad in ["zero", "negative", "separator"] {
        assert!(
            matches!(kind(bad), NodeKind::InvalidArray { .. }),
            "{bad}: {:?}",
            kind(bad)
        );
    }
}

#[test]
fn a_shape_beyond_64_bits_is_an_unreadable_array_with_a_reason() {
    let text =
        br#"{"metadata": {".zgroup": {"zarr_format": 2}, "beyond/.zarray": {"zarr_format": 2,
        "shape": [18446744073709551616], "chunks": [1], "dtype": "<f8", "fill_value": null,
        "order": "C", "filters": null, "compressor": null}}, "zarr_consolidated_format": 1}"#;
    let h = everything(2, metadata::v2::parse_consolidated(text).expect("parses"));
    assert!(
        matches!(h.nodes[1].kind, NodeKind::InvalidArray { .. }),
        "{:?}",
        h.nodes[1].kind
    );
}

#[test]
fn odd_v3_chunk_key_encoding_and_huge_attributes() {
    let huge = "x".repeat(10 * 1024 * 1024);
    let root = json!({
        "zarr_format": 3, "node_type": "group", "attributes": {"huge": huge},
        "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": {
            "a": {"zarr_format": 3, "node_type": "array", "shape": [4], "data_type": "float64",
                  "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
                  "chunk_key_encoding": {"name": "default", "configuration": {"separator": "|"}},
                  "fill_value": 0.0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                  "attributes": {"big": vec![1; 100_000]}},
        }}
    });
    let c = match metadata::v3::parse_root(root.to_string().as_bytes()).expect("parses") {
        metadata::v3::Root::Consolidated(c) => c,
        other => panic!("{other:?}"),
    };
    let h = everything(3, c);
    let mut out = Vec::new();
    TreeRenderer {
        attrs: true,
        depth: None,
        color: false,
        sizes: false,
    }
    .render(&h, Stats::default(), &mut out)
    .unwrap();
    // Attribute values are cut, not dumped: 10 MiB in, a short line out.
    assert!(out.len() < 10_000, "{} bytes of tree", out.len());
}
