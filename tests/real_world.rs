//! Metadata documents written by real projects (../shared/real-world-fixtures:
//! zarr-python's v2 fixtures, zarrs' test data, zarr_implementations examples)
//! through our parsers: nothing panics, real arrays parse, and a hierarchy
//! consolidated from zarr-python's fixture directory prints whole.

mod common;

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use zarrscope::hierarchy::Hierarchy;
use zarrscope::metadata::{self, Attributes, NodeKind, json};
use zarrscope::render::{Renderer, Stats, TreeRenderer};

fn shared() -> PathBuf {
    common::repo_root().join("../shared/real-world-fixtures")
}

fn files_named(dir: &Path, name: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_named(&path, name, out);
        } else if path.file_name().is_some_and(|n| n == name) {
            out.push(path);
        }
    }
}

fn read_json(path: &Path) -> Value {
    json::parse(&std::fs::read(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_real_zarray_parses() {
    let mut found = Vec::new();
    files_named(&shared(), ".zarray", &mut found);
    assert!(
        found.len() > 100,
        "expected the shared fixtures, found {}",
        found.len()
    );
    let mut failures = Vec::new();
    for path in &found {
        let attrs = match path.with_file_name(".zattrs") {
            p if p.exists() => Attributes::from_document(&std::fs::read(&p).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            _ => Attributes::default(),
        };
        if let Err(reason) = metadata::v2::parse_array(&std::fs::read(path).unwrap(), &attrs) {
            failures.push(format!("{}: {reason}", path.display()));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_real_zarr_json_is_read_or_rejected_with_a_reason() {
    let mut found = Vec::new();
    files_named(&shared(), "zarr.json", &mut found);
    assert!(!found.is_empty());
    let mut arrays = 0;
    for path in &found {
        let is_draft = path
            .components()
            .any(|c| c.as_os_str() == "zarr-implementations-examples-metadata");
        match metadata::v3::parse_root(&std::fs::read(path).unwrap()) {
            Ok(metadata::v3::Root::Array(node)) => {
                assert!(
                    matches!(node.kind, NodeKind::Array(_)),
                    "{}: {:?}",
                    path.display(),
                    node.kind
                );
                arrays += 1;
            }
            Ok(_) => {}
            // zarr_implementations' "v3" examples follow a pre-final draft.
            Err(reason) => assert!(is_draft, "{}: {reason}", path.display()),
        }
    }
    assert!(arrays > 20, "{arrays}");
}

/// Consolidate a v2 directory the way zarr-python's `consolidate_metadata` does.
fn consolidate(root: &Path) -> Value {
    let mut metadata = Map::new();
    for name in [".zgroup", ".zarray", ".zattrs"] {
        let mut found = Vec::new();
        files_named(root, name, &mut found);
        for path in found {
            let key = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            metadata.insert(key, read_json(&path));
        }
    }
    serde_json::json!({"zarr_consolidated_format": 1, "metadata": metadata})
}

#[test]
fn zarr_python_fixture_directory_consolidated_prints_every_node() {
    let root = shared().join("zarr-python-v2-fixture-metadata/fixture");
    let mut groups = Vec::new();
    let mut arrays = Vec::new();
    files_named(&root, ".zgroup", &mut groups);
    files_named(&root, ".zarray", &mut arrays);

    let consolidated =
        metadata::v2::parse_consolidated(consolidate(&root).to_string().as_bytes()).unwrap();
    assert!(
        consolidated.warnings.is_empty(),
        "{:?}",
        consolidated.warnings
    );
    let h = Hierarchy::new(
        "fixture",
        2,
        true,
        consolidated.nodes,
        consolidated.warnings,
    );
    assert!(
        h.warnings.is_empty(),
        "every node has its own metadata: {:?}",
        h.warnings
    );
    assert_eq!(h.nodes.len(), groups.len() + arrays.len());
    assert_eq!(h.arrays().count(), arrays.len());
    assert!(h.arrays().all(|n| matches!(n.kind, NodeKind::Array(_))));

    let mut out = Vec::new();
    TreeRenderer {
        attrs: true,
        depth: None,
        color: false,
        sizes: true,
    }
    .render(&h, Stats::default(), &mut out)
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text.lines().filter(|l| !l.contains(": ")).count(),
        h.nodes.len()
    );
    for path in &arrays {
        let name = path
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy();
        assert!(text.contains(&*name), "{name} missing");
    }
}
