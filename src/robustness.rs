//! One entry point over every metadata reader and everything downstream of
//! it, for the fuzzer (`fuzz/`) and for replaying its corpus and past crashes
//! as regression tests (`tests/fuzz_corpus.rs`). The first byte picks the
//! document kind: v2 `.zmetadata`, a lone v2 `.zarray` (its `attributes`
//! member as `.zattrs`), or a v3 `zarr.json` (consolidated or not). Whatever
//! parses is built into a hierarchy and rendered every way, viewed, linted
//! and compared. Any panic is a bug.

use crate::compare::compare;
use crate::dataset::{array_detail, dataset};
use crate::hierarchy::Hierarchy;
use crate::lint::lint;
use crate::metadata::{self, Attributes, NodeDoc, NodeKind};
use crate::render::{JsonRenderer, Renderer, Stats, TableRenderer, TreeRenderer};

fn exercise_hierarchy(h: &Hierarchy) {
    let renderers: [&dyn Renderer; 4] = [
        &TreeRenderer {
            attrs: true,
            depth: None,
            color: false,
            sizes: true,
        },
        &TreeRenderer {
            attrs: false,
            depth: Some(1),
            color: true,
            sizes: false,
        },
        &TableRenderer { width: Some(60) },
        &JsonRenderer,
    ];
    for r in renderers {
        let mut sink = Vec::new();
        let _ = r.render(h, Stats::default(), &mut sink);
    }
    for i in 0..h.nodes.len().min(64) {
        if h.nodes[i].is_array() {
            let _ = array_detail(h, i);
        } else {
            let _ = dataset(h, i);
        }
    }
    let _ = lint(h);
    let _ = compare(h, h);
}

/// Read `data` as the fuzzer does; returns whether a hierarchy was built.
pub fn exercise(data: &[u8]) -> bool {
    let Some((&which, rest)) = data.split_first() else {
        return false;
    };
    let url = "s3://bucket/fuzz.zarr";
    let h = match which % 3 {
        0 => match metadata::v2::parse_consolidated(rest) {
            Ok(c) => Hierarchy::new(url, 2, true, c.nodes, c.warnings),
            Err(_) => return false,
        },
        1 => {
            let Ok(doc) = metadata::json::parse(rest) else {
                return false;
            };
            let attrs = doc
                .get("attributes")
                .and_then(|a| a.as_object())
                .cloned()
                .map(Attributes::from_map)
                .unwrap_or_default();
            let kind = match metadata::v2::parse_array(rest, &attrs) {
                Ok(info) => NodeKind::Array(Box::new(info)),
                Err(reason) => NodeKind::InvalidArray { reason },
            };
            let node = NodeDoc {
                path: String::new(),
                attributes: attrs,
                kind,
            };
            Hierarchy::new(url, 2, false, vec![node], vec![])
        }
        _ => match metadata::v3::parse_root(rest) {
            Ok(metadata::v3::Root::Consolidated(c)) => {
                Hierarchy::new(url, 3, true, c.nodes, c.warnings)
            }
            Ok(metadata::v3::Root::Array(n) | metadata::v3::Root::Unconsolidated(n)) => {
                Hierarchy::new(url, 3, false, vec![n], vec![])
            }
            Err(_) => return false,
        },
    };
    exercise_hierarchy(&h);
    true
}
