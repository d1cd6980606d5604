//! Fuzz the metadata entry points: the first byte picks v2 `.zmetadata`, a
//! lone `.zarray` (+ `.zattrs`) or a v3 `zarr.json` with consolidated
//! metadata; whatever parses is built into a hierarchy and rendered every
//! way, viewed, linted and compared. Any panic is a bug.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zarrscope::hierarchy::Hierarchy;
use zarrscope::metadata::{self, NodeDoc, NodeKind};
use zarrscope::render::{JsonRenderer, Renderer, Stats, TableRenderer, TreeRenderer};

fn exercise(h: &Hierarchy) {
    let renderers: [&dyn Renderer; 4] = [
        &TreeRenderer { attrs: true, depth: None, color: false, sizes: true },
        &TreeRenderer { attrs: false, depth: Some(1), color: true, sizes: false },
        &TableRenderer { width: Some(60) },
        &JsonRenderer,
    ];
    for r in renderers {
        let mut sink = Vec::new();
        let _ = r.render(h, Stats::default(), &mut sink);
    }
    for i in 0..h.nodes.len().min(64) {
        if h.nodes[i].is_array() {
            let _ = zarrscope::dataset::array_detail(h, i);
        } else {
            let _ = zarrscope::dataset::dataset(h, i);
        }
    }
    let _ = zarrscope::lint::lint(h);
    let _ = zarrscope::compare::compare(h, h);
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(doc) = metadata::json::parse(rest) else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(c) = metadata::v2::parse_consolidated(doc) {
                exercise(&Hierarchy::new("s3://b/f.zarr", 2, true, c.nodes, c.warnings));
            }
        }
        1 => {
            let attrs = doc
                .get("attributes")
                .and_then(|a| a.as_object())
                .cloned()
                .unwrap_or_default();
            let kind = match metadata::v2::parse_array(&doc, &attrs) {
                Ok(info) => NodeKind::Array(Box::new(info)),
                Err(reason) => NodeKind::InvalidArray { reason },
            };
            let node = NodeDoc { path: String::new(), attributes: attrs, kind };
            exercise(&Hierarchy::new("s3://b/f.zarr", 2, false, vec![node], vec![]));
        }
        _ => {
            if let Ok(root) = metadata::v3::parse_root(doc) {
                let (nodes, warnings) = match root {
                    metadata::v3::Root::Consolidated(c) => (c.nodes, c.warnings),
                    metadata::v3::Root::Array(n) | metadata::v3::Root::Unconsolidated(n) => {
                        (vec![n], vec![])
                    }
                };
                exercise(&Hierarchy::new("s3://b/f.zarr", 3, true, nodes, warnings));
            }
        }
    }
});
