//! Stores without consolidated metadata just work: tree, show and diff crawl
//! them on their own (a notice says so and what it cost), within
//! --max-requests, reusing what the probes read; --consolidated-only keeps
//! the strict behaviour. Also: one error for draft-v3 stores everywhere, a
//! chunk key given as a node, and an ancestor's consolidated metadata that
//! does not list the node. Against the in-process S3 server (and local
//! directories where the case is about them).

mod common;

use std::collections::HashSet;
use std::path::Path;

use common::{Home, PUBLIC, S3Server, text};
use common::{anon, assert_code, copy_dir, json, run};
use zarrscope::source::ZARR_KEYS;

/// The notice's `(N requests after M probes`: (N, M).
fn notice_costs(stderr: &str) -> (usize, usize) {
    let line = stderr
        .lines()
        .find(|l| l.contains("has no consolidated metadata"))
        .unwrap_or_else(|| panic!("no auto-crawl notice in {stderr}"));
    let after = line.split(" nodes were read one by one (").nth(1).unwrap();
    let mut words = after.split(' ');
    let crawl: usize = words.next().unwrap().parse().unwrap();
    assert_eq!(words.next(), Some("requests"));
    assert_eq!(words.next(), Some("after"));
    let probes: usize = words
        .next()
        .unwrap()
        .trim_end_matches([')', ';', ','])
        .parse()
        .unwrap();
    (crawl, probes)
}

#[test]
fn tree_show_and_diff_crawl_an_unconsolidated_store_with_a_notice_and_no_repeated_request() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    for (unconsolidated, consolidated, after) in [
        (
            "nested-unconsolidated-v2.zarr",
            "nested-v2.zarr",
            "one round trip of 2 GETs",
        ),
        (
            "v3-nested-unconsolidated.zarr",
            "v3-nested-sharded.zarr",
            "one GET",
        ),
    ] {
        let url = format!("s3://public/{unconsolidated}");
        server.reset();
        let out = run(&home, &anon(&server, &["tree", &url, "--json"]));
        assert_code(&out, 0);
        let doc = json(&out);
        assert_eq!(doc["consolidated"], false, "{unconsolidated}");
        assert_eq!(doc["crawled"], true, "{unconsolidated}");
        assert_eq!(doc["complete"], true, "{unconsolidated}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("note: {url} has no consolidated metadata")),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "`zarrscope consolidate {url} --yes --anon --endpoint-url {}` would make this {after}",
                server.endpoint
            )),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        // What the notice says it cost is what the server saw.
        let log = server.requests();
        let (crawl, probes) = notice_costs(&err);
        assert_eq!(crawl + probes, log.len(), "{err}\n{log:?}");
        assert_eq!(doc["stats"]["requests"], log.len());
        // The crawl starts from what the probes read: nothing asked twice.
        let mut seen = HashSet::new();
        for r in &log {
            assert!(
                seen.insert((r.method.clone(), r.path.clone(), r.query.clone())),
                "asked twice: {r:?}\n{log:?}"
            );
        }
        // Same nodes as the consolidated twin.
        let twin = run(
            &home,
            &anon(
                &server,
                &["tree", &format!("s3://public/{consolidated}"), "--json"],
            ),
        );
        assert_code(&twin, 0);
        assert_eq!(doc["nodes"], json(&twin)["nodes"], "{unconsolidated}");

        // show: the dataset view, the same notice.
        let out = run(&home, &anon(&server, &["show", &url]));
        assert_code(&out, 0);
        assert!(text(&out.stdout).starts_with("<zarrscope.Dataset> /"));
        assert!(text(&out.stderr).contains("has no consolidated metadata"));
        let out = run(&home, &anon(&server, &["show", &url, "--json"]));
        assert_code(&out, 0);
        json(&out);
    }
    // An OME-Zarr image as usually written (no consolidated metadata): the
    // multiscale view with no flag.
    std::fs::remove_file(server.bucket_dir(PUBLIC).join("ome-0.4.zarr/.zmetadata")).unwrap();
    let out = run(&home, &anon(&server, &["show", "s3://public/ome-0.4.zarr"]));
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("(OME-Zarr 0.4)"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("note: s3://public/ome-0.4.zarr has no consolidated metadata")
    );
    // diff: consolidated A against unconsolidated B, no flag.
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "diff",
                "s3://public/nested-v2.zarr",
                "s3://public/nested-unconsolidated-v2.zarr",
            ],
        ),
    );
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("same metadata"),
        "{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "note: s3://public/nested-unconsolidated-v2.zarr has no consolidated metadata"
        ),
        "{err}"
    );
    assert!(!err.contains("s3://public/nested-v2.zarr has no"), "{err}");
    // --quiet silences the notice, not the result.
    let out = run(
        &home,
        &anon(
            &server,
            &["tree", "s3://public/nested-unconsolidated-v2.zarr", "-q"],
        ),
    );
    assert_code(&out, 0);
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn consolidated_only_keeps_the_strict_behaviour_with_a_hint_for_any_command() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let url = "s3://public/nested-unconsolidated-v2.zarr";
    for args in [
        vec!["tree", url, "--consolidated-only"],
        vec!["show", url, "--consolidated-only"],
        vec![
            "diff",
            "s3://public/nested-v2.zarr",
            url,
            "--consolidated-only",
        ],
    ] {
        server.reset();
        let out = run(&home, &anon(&server, &args));
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "{url} is a Zarr v2 store without consolidated metadata"
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains("drop --consolidated-only"), "{args:?}: {err}");
        // The hint names no other command to re-run (show is not told `tree --crawl`).
        assert!(!err.contains("tree --crawl"), "{args:?}: {err}");
        // No crawl: only the probes' GETs, never a listing.
        assert!(
            server
                .requests()
                .iter()
                .all(|r| r.method == "GET" && r.key().is_some()),
            "{:?}",
            server.requests()
        );
    }
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "tree",
                "s3://public/v3-nested-unconsolidated.zarr",
                "--consolidated-only",
            ],
        ),
    );
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("Zarr v3 store without consolidated metadata"));
    // Both at once make no sense.
    let out = run(
        &home,
        &anon(&server, &["tree", url, "--crawl", "--consolidated-only"]),
    );
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("cannot be used with"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_request_cap_counts_the_probes_and_stops_the_automatic_crawl() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "tree",
                "s3://public/nested-unconsolidated-v2.zarr",
                "--max-requests",
                "12",
                "--json",
            ],
        ),
    );
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["complete"], false);
    assert_eq!(doc["crawled"], true);
    let log = server.requests();
    assert!(log.len() <= 12, "{}: {log:?}", log.len());
    let err = text(&out.stderr);
    assert!(err.contains("not every node was read"), "{err}");
    assert!(
        err.contains("the crawl stopped at the request cap (--max-requests 12)"),
        "{err}"
    );
}

/// A draft-v3 store as zarrita and GDAL 3.6 wrote it.
fn write_draft_store(dir: &Path) {
    std::fs::create_dir_all(dir.join("meta/root")).unwrap();
    std::fs::write(
        dir.join("zarr.json"),
        r#"{"zarr_format": "https://purl.org/zarr/spec/protocol/core/3.0",
            "metadata_encoding": "https://purl.org/zarr/spec/protocol/core/3.0",
            "metadata_key_suffix": ".json", "extensions": []}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("meta/root/raw.array.json"),
        r#"{"shape": [4, 4], "data_type": "u1",
            "chunk_grid": {"type": "regular", "chunk_shape": [2, 2], "separator": "/"},
            "chunk_memory_layout": "C", "fill_value": null, "extensions": [],
            "attributes": {}}"#,
    )
    .unwrap();
}

#[test]
fn a_draft_v3_store_gives_the_same_clear_error_everywhere() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    write_draft_store(&server.bucket_dir(PUBLIC).join("draft.zr3"));
    let url = "s3://public/draft.zr3";
    let inside = "s3://public/draft.zr3/meta/root";
    let cases: Vec<Vec<&str>> = vec![
        vec!["tree", url],
        vec!["tree", url, "--crawl"],
        vec!["tree", url, "--json"],
        vec!["show", url],
        vec!["show", url, "--crawl"],
        vec!["check", url],
        vec!["diff", "s3://public/nested-v2.zarr", url],
        vec!["tree", inside],
    ];
    for args in cases {
        let out = run(&home, &anon(&server, &args));
        assert_code(&out, 2);
        assert_eq!(text(&out.stdout), "", "{args:?}: never an empty tree");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "error: {url}/zarr.json is a pre-release draft of Zarr v3 (zarr_format \"https://purl.org/zarr/spec/protocol/core/3.0\""
            )),
            "{args:?}: {err}"
        );
        assert!(
            err.contains("hint: rewrite the store with a current writer"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn an_unrelated_parents_consolidated_metadata_is_never_used_silently() {
    let home = Home::new("http://127.0.0.1:9");
    let fixtures = common::repo_root().join("fixtures");
    let tmp = tempfile::tempdir().unwrap();

    // A directory consolidated as a store of its own, and inside it an
    // unconsolidated store that metadata does not list.
    let parent = tmp.path().join("parent");
    std::fs::create_dir_all(&parent).unwrap();
    for doc in [".zgroup", ".zmetadata", ".zattrs"] {
        std::fs::copy(
            fixtures.join("nwm-chrtout-v2.zarr").join(doc),
            parent.join(doc),
        )
        .unwrap();
    }
    let store = parent.join("store.zarr");
    copy_dir(&fixtures.join("nested-unconsolidated-v2.zarr"), &store);
    let store_url = store.to_str().unwrap();
    let out = run(&home, &["tree", store_url, "--json"]);
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(
        doc["root"], doc["url"],
        "the parent's metadata is not the tree"
    );
    assert_eq!(doc["crawled"], true);
    assert!(
        doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["path"] == "/forcing/precip")
    );
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "the consolidated metadata of {} does not list /store.zarr, so it was not used",
            parent.display()
        )),
        "{err}"
    );
    // The same warning in the JSON.
    assert!(
        doc["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("so it was not used")),
        "{doc}"
    );
    let out = run(&home, &["tree", store_url]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).starts_with("/\n"),
        "{}",
        text(&out.stdout)
    );
    // Strict: the metadata that does not list it is named, never used.
    let out = run(&home, &["tree", store_url, "--consolidated-only"]);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("is not in the consolidated metadata of"));

    // A URL inside a store whose consolidated metadata lists the node: that
    // store is used, and every output says so.
    let nested = tmp.path().join("nested.zarr");
    copy_dir(&fixtures.join("nested-v2.zarr"), &nested);
    let root = nested.to_str().unwrap();
    let group = format!("{root}/forcing");
    let out = run(&home, &["tree", &group]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).starts_with(&format!("in store {root}\n/forcing")),
        "{}",
        text(&out.stdout)
    );
    let out = run(&home, &["tree", &group, "--json"]);
    let doc = json(&out);
    assert_eq!(doc["root"], root);
    assert_eq!(doc["path"], "/forcing");
    let out = run(&home, &["show", &group]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).starts_with(&format!(
            "<zarrscope.Dataset> /forcing  (Zarr v2, in store {root})"
        )),
        "{}",
        text(&out.stdout)
    );
    let out = run(&home, &["show", &group, "--json"]);
    assert_eq!(json(&out)["root"], root);
}

#[test]
fn a_chunk_key_given_as_a_node_is_named_as_a_chunk_of_its_array() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        // Consolidated v2: tree, and show with a PATH.
        (
            vec!["tree", "s3://public/nwm-chrtout-v2.zarr/streamflow/0.0"],
            "s3://public/nwm-chrtout-v2.zarr/streamflow",
        ),
        (
            vec!["show", "s3://public/nwm-chrtout-v2.zarr", "streamflow/0.0"],
            "s3://public/nwm-chrtout-v2.zarr/streamflow",
        ),
        (
            vec!["show", "s3://public/nwm-chrtout-v2.zarr/streamflow/0.0"],
            "s3://public/nwm-chrtout-v2.zarr/streamflow",
        ),
        // Unconsolidated v2 and v3.
        (
            vec!["tree", "s3://public/nested-unconsolidated-v2.zarr/time/0"],
            "s3://public/nested-unconsolidated-v2.zarr/time",
        ),
        (
            vec![
                "tree",
                "s3://public/v3-nested-unconsolidated.zarr/observations/temperature/c/0",
            ],
            "s3://public/v3-nested-unconsolidated.zarr/observations/temperature",
        ),
        // An explicit crawl says so too.
        (
            vec![
                "tree",
                "s3://public/nested-unconsolidated-v2.zarr/time/0",
                "--crawl",
            ],
            "s3://public/nested-unconsolidated-v2.zarr/time",
        ),
        (
            vec![
                "show",
                "s3://public/v3-nested-unconsolidated.zarr/observations/temperature/c/0",
                "--crawl",
            ],
            "s3://public/v3-nested-unconsolidated.zarr/observations/temperature",
        ),
        (
            vec![
                "show",
                "s3://public/nested-unconsolidated-v2.zarr",
                "forcing/precip/0.0.0",
            ],
            "s3://public/nested-unconsolidated-v2.zarr/forcing/precip",
        ),
    ];
    for (args, array) in cases {
        server.reset();
        let out = run(&home, &anon(&server, &args));
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "is a chunk key of the array {array}, not a group or array"
            )),
            "{args:?}: {err}"
        );
        assert!(!err.contains("stale"), "{args:?}: {err}");
        assert!(err.contains("hint: `zarrscope show "), "{args:?}: {err}");
        // Only metadata keys were asked for, never the chunk.
        for r in server.requests() {
            if let Some(key) = r.key() {
                assert!(ZARR_KEYS.contains(key), "{args:?}: {key}");
            }
        }
    }
}

#[test]
fn show_suggests_show_crawl_for_a_node_its_consolidated_metadata_lacks() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = "s3://public/stale-v2.zarr";
    let out = run(&home, &anon(&server, &["show", store, "added_later"]));
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "`zarrscope show {store} added_later --crawl --anon --endpoint-url {}`",
            server.endpoint
        )),
        "{err}"
    );
    assert!(!err.contains("tree --crawl"), "{err}");
    // ... and that command works.
    let out = run(
        &home,
        &anon(&server, &["show", store, "added_later", "--crawl"]),
    );
    assert_code(&out, 0);
    // A crawl cut short by the cap says so instead.
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "show",
                "s3://public/nested-unconsolidated-v2.zarr",
                "forcing/precip",
                "--max-requests",
                "10",
            ],
        ),
    );
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("the crawl stopped before reading every node (at --max-requests"),
        "{err}"
    );
}
