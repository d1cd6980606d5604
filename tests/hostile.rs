//! Hostile metadata through every stage — parse, hierarchy, every renderer,
//! the dataset view, lint, compare: path tricks, NUL bytes, a million nodes,
//! deep nesting, 2^63 shapes, zero and negative chunks, odd chunk key
//! separators, huge attribute values. Each ends in correct output or a clear
//! error; none panics.

use serde_json::{Value, json};
use zarrscope::compare::compare;
use zarrscope::dataset::{array_detail, dataset};
use zarrscope::hierarchy::Hierarchy;
use zarrscope::lint::lint;
use zarrscope::metadata::{self, Consolidated, NodeKind};
use zarrscope::render::{JsonRenderer, Renderer, Stats, TableRenderer, TreeRenderer};

/// Build, render every way, view, lint and compare; return the hierarchy.
fn everything(zarr_format: u8, c: Consolidated) -> Hierarchy {
    let h = Hierarchy::new(
        "s3://b/hostile.zarr",
        zarr_format,
        true,
        c.nodes,
        c.warnings,
    );
    let renderers: Vec<Box<dyn Renderer>> = vec![
        Box::new(TreeRenderer {
            attrs: true,
            depth: None,
            color: true,
            sizes: true,
        }),
        Box::new(TableRenderer { width: Some(80) }),
        Box::new(JsonRenderer),
    ];
    for r in renderers {
        let mut out = Vec::new();
        r.render(&h, Stats::default(), &mut out).expect("renders");
        assert!(!out.is_empty());
    }
    for (i, node) in h.nodes.iter().enumerate() {
        if node.is_array() {
            let _ = array_detail(&h, i);
        } else if i < 1000 {
            let _ = dataset(&h, i);
        }
    }
    let _ = lint(&h);
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
    assert!(h.nodes.len() <= 2);
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
