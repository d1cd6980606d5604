//! Icechunk repositories as a source, end to end against the S3 test
//! server: trees of branches, tags and snapshots, the history, refs and
//! diffs, compared with what icechunk and zarr-python report for the same
//! repository (recorded by fixtures/make_icechunk_fixtures.py in
//! fixtures/icechunk/expected.json), and what is read (the request log).

mod common;

use common::cli::zarrscope;
use common::inspect::log_lines;
use common::{PUBLIC, S3Server, anon, assert_code, json, text};
use serde_json::{Value, json};

fn expected() -> Value {
    let path = common::repo_root().join("fixtures/icechunk/expected.json");
    let all: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    all["repositories"]["history.icechunk"].clone()
}

const REPO: &str = "s3://public/icechunk/history.icechunk";

fn run(server: &S3Server, args: &[&str]) -> std::process::Output {
    zarrscope().args(anon(server, args)).output().unwrap()
}

/// Our node as zarr-python describes it.
fn as_zarr_python(node: &Value) -> Value {
    let mut out = json!({
        "path": node["path"],
        "kind": node["kind"],
        "attributes": node["attributes"],
    });
    if node["kind"] == "array" {
        out["shape"] = node["shape"].clone();
        out["chunks"] = node["chunks"].clone();
        out["dtype"] = node["data_type"].clone();
        out["fill_value"] = node["fill_value"].clone();
        out["dimension_names"] = node["dimension_names"].clone();
    }
    out
}

/// The recorded tree, with what zarr-python leaves out of a node made
/// comparable (no dimension names: null).
fn recorded(tree: &Value) -> Vec<Value> {
    tree.as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let mut n = n.clone();
            if n["kind"] == "array" && n.get("dimension_names").is_none() {
                n["dimension_names"] = Value::Null;
            }
            n
        })
        .collect()
}

#[test]
fn every_version_lists_the_nodes_zarr_python_lists_through_icechunk() {
    let server = S3Server::start();
    let expected = expected();
    let c1 = expected["commits"]["c1"].as_str().unwrap().to_string();
    let versions: Vec<(String, String)> = ["branch.main", "branch.dev", "tag.v1", "tag.v2"]
        .iter()
        .map(|v| (v.to_string(), format!("{REPO}@{v}")))
        .chain([(format!("snapshot.{c1}"), format!("{REPO}@{c1}"))])
        .collect();
    for (name, url) in versions {
        let out = run(&server, &["tree", &url, "--json"]);
        assert_code(&out, 0);
        let doc = json(&out);
        let ours: Vec<Value> = doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(as_zarr_python)
            .collect();
        assert_eq!(ours, recorded(&expected["trees"][&name]), "{name}");
        assert!(
            doc["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("Icechunk repository")),
            "{doc}"
        );
    }
    // The same versions by flag.
    let by_flag = json(&run(&server, &["tree", REPO, "--tag", "v1", "--json"]));
    let by_url = json(&run(
        &server,
        &["tree", &format!("{REPO}@tag.v1"), "--json"],
    ));
    assert_eq!(by_flag["nodes"], by_url["nodes"]);
}

#[test]
fn a_tree_of_main_reads_a_ref_and_a_snapshot_and_nothing_else() {
    let server = S3Server::start();
    let out = run(&server, &["tree", REPO, "--stats"]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("station_id"), "{stdout}");
    let requests = server.requests();
    let lines = log_lines(&server);
    assert!(requests.iter().all(|r| r.method == "GET"), "{lines:?}");
    let keys: Vec<&str> = requests.iter().filter_map(|r| r.key()).collect();
    let main = expected()["branches"]["main"].as_str().unwrap().to_string();
    // Round trip 1: the two documents that make a repository (spec v2's
    // `repo` answers 404 here: spec v1); round trip 2: the snapshot.
    let mut first: Vec<&str> = keys[..2].to_vec();
    first.sort();
    assert_eq!(
        first,
        [
            "icechunk/history.icechunk/refs/branch.main/ref.json",
            "icechunk/history.icechunk/repo"
        ],
        "{lines:?}"
    );
    assert_eq!(
        keys[2..],
        [format!("icechunk/history.icechunk/snapshots/{main}").as_str()],
        "{lines:?}"
    );
    assert!(
        !keys
            .iter()
            .any(|k| k.contains("manifests/") || k.contains("chunks/")),
        "{lines:?}"
    );

    // A tag: `repo` and that tag's ref at once, then its snapshot.
    server.reset();
    let out = run(&server, &["tree", &format!("{REPO}@tag.v1")]);
    assert_code(&out, 0);
    let v1 = expected()["tags"]["v1"].as_str().unwrap().to_string();
    let mut keys: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.key().map(str::to_string))
        .collect();
    keys[..2].sort();
    assert_eq!(
        keys,
        [
            "icechunk/history.icechunk/refs/tag.v1/ref.json".to_string(),
            "icechunk/history.icechunk/repo".to_string(),
            format!("icechunk/history.icechunk/snapshots/{v1}"),
        ],
        "{:?}",
        log_lines(&server)
    );
}

#[test]
fn log_equals_icechunk_ancestry_and_names_what_each_commit_changed() {
    let server = S3Server::start();
    let expected = expected();
    for branch in ["main", "dev"] {
        let out = run(
            &server,
            &["log", &format!("{REPO}@branch.{branch}"), "--json"],
        );
        assert_code(&out, 0);
        let doc = json(&out);
        let ours: Vec<Value> = doc["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| json!([c["id"], c["parent"], c["message"], c["metadata"]]))
            .collect();
        let theirs: Vec<Value> = expected["ancestry"][branch]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| json!([c["id"], c["parent_id"], c["message"], c["metadata"]]))
            .collect();
        assert_eq!(ours, theirs, "{branch}");
        // Times: the same instant (icechunk prints +00:00, microseconds).
        for (c, t) in doc["commits"]
            .as_array()
            .unwrap()
            .iter()
            .zip(expected["ancestry"][branch].as_array().unwrap())
        {
            let ours = c["written_at"].as_str().unwrap();
            let theirs = t["written_at"].as_str().unwrap();
            assert_eq!(ours[..26], theirs[..26], "{branch}");
        }
    }
    let out = run(&server, &["log", REPO]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    for line in [
        "c4: remove forcing, add obs/station_id",
        "  added    /obs/station_id (array)",
        "  removed  /forcing/wind (array)",
        "  changed  /temperature: attributes.long_name, attributes.units",
        "  changed  /precip: shape",
    ] {
        assert!(stdout.contains(line), "{line:?} missing from\n{stdout}");
    }
}

#[test]
fn refs_lists_branches_and_tags_with_their_snapshots() {
    let server = S3Server::start();
    let expected = expected();
    let doc = json(&run(&server, &["refs", REPO, "--json"]));
    assert_eq!(doc["branches"], expected["branches"]);
    assert_eq!(doc["tags"], expected["tags"]);
    assert_eq!(doc["spec_version"], 1);
}

#[test]
fn diff_of_two_versions_names_added_removed_and_changed_nodes() {
    let server = S3Server::start();
    let out = run(
        &server,
        &[
            "diff",
            &format!("{REPO}@tag.v1"),
            &format!("{REPO}@branch.main"),
            "--json",
        ],
    );
    assert_code(&out, 1);
    let doc = json(&out);
    let paths = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|n| n["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(&doc["only_in_a"]), ["/forcing", "/forcing/wind"]);
    assert_eq!(
        paths(&doc["only_in_b"]),
        ["/elevation", "/obs", "/obs/station_id"]
    );
    let changed = doc["changed"].to_string();
    for field in ["attributes.units", "attributes.long_name", "shape"] {
        assert!(changed.contains(field), "{field}: {changed}");
    }
}

#[test]
fn a_missing_branch_or_tag_is_an_error_listing_the_branches() {
    let server = S3Server::start();
    for (url, says) in [
        (format!("{REPO}@branch.nope"), "has no branch \"nope\""),
        (format!("{REPO}@tag.v9"), "has no tag \"v9\""),
    ] {
        let out = run(&server, &["tree", &url]);
        assert_code(&out, 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(
            stderr.contains("its branches: dev, main; its tags: v1, v2"),
            "{stderr}"
        );
    }
    let out = run(&server, &["tree", &format!("{REPO}@AAAAAAAAAAAAAAAAAAAA")]);
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("has no snapshot"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        &server,
        &["log", &format!("s3://{PUBLIC}/nwm-chrtout-v2.zarr")],
    );
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("is not an Icechunk repository"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_repository_whose_name_does_not_say_so_is_found_once_no_zarr_metadata_was() {
    let server = S3Server::start();
    let dir = server.bucket_dir(PUBLIC).join("plain-name");
    common::copy_dir(
        &common::repo_root().join("fixtures/icechunk/history.icechunk"),
        &dir,
    );
    let out = run(
        &server,
        &["tree", &format!("s3://{PUBLIC}/plain-name"), "--json"],
    );
    assert_code(&out, 0);
    let doc = json(&out);
    let ours: Vec<Value> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(as_zarr_python)
        .collect();
    assert_eq!(ours, recorded(&expected()["trees"]["branch.main"]));
}

#[test]
fn check_lints_a_version_without_a_crawl() {
    let server = S3Server::start();
    let out = run(&server, &["check", &format!("{REPO}@tag.v1")]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("tag.v1 = snapshot"), "{stdout}");
    assert!(stdout.contains("nothing can be stale"), "{stdout}");
    // No listing: a repository's directory holds no Zarr documents to crawl.
    assert!(
        server.requests().iter().all(|r| r.key().is_some()),
        "{:?}",
        log_lines(&server)
    );
}
