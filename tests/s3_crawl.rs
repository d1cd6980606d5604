//! Stores without (or with stale) consolidated metadata, against the
//! in-process S3 server: the crawl, sub-path opens, check, consolidate and
//! diff. Request counts and concurrency come from the server's own log.

mod common;

use common::gate::Gate;
use common::inspect::{assert_counted, writes_seen};
use common::{Home, PRIVATE, PUBLIC, S3Server, text};
use common::{anon, assert_code, json, run};
use serde_json::Value;

/// The nodes of a tree JSON without what legitimately differs between two
/// reads of the same hierarchy (URLs, how it was read, request counts).
fn nodes(doc: &Value) -> Value {
    doc["nodes"].clone()
}

#[test]
fn a_crawl_of_unconsolidated_stores_matches_the_consolidated_tree() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    for (crawled, consolidated) in [
        ("nested-unconsolidated-v2.zarr", "nested-v2.zarr"),
        ("v3-nested-unconsolidated.zarr", "v3-nested-sharded.zarr"),
    ] {
        let a = format!("s3://public/{crawled}");
        let out = run(&home, &anon(&server, &["tree", &a, "--crawl", "--json"]));
        assert_code(&out, 0);
        let crawl = json(&out);
        assert_eq!(crawl["consolidated"], false);
        assert_eq!(crawl["complete"], true);
        let b = format!("s3://public/{consolidated}");
        let out = run(&home, &anon(&server, &["tree", &b, "--json"]));
        assert_code(&out, 0);
        assert_eq!(
            nodes(&crawl),
            nodes(&json(&out)),
            "{crawled} vs {consolidated}"
        );
        // Empty groups are there too.
        let paths: Vec<&str> = crawl["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["path"].as_str().unwrap())
            .collect();
        assert!(
            paths.contains(&"/empty") || paths.contains(&"/empty_group"),
            "{paths:?}"
        );
    }
}

#[test]
fn the_crawl_reads_metadata_keys_only_never_lists_arrays_and_ignores_consolidated() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(
            &server,
            &["tree", "s3://public/nested-v2.zarr", "--crawl", "--stats"],
        ),
    );
    assert_code(&out, 0);
    let log = server.requests();
    for r in &log {
        assert_ne!(r.method, "HEAD", "no HEAD before GET: {r:?}");
        if r.query.contains("list-type=2") {
            // Only group directories are listed: never an array's chunks.
            let prefix = r.query.split("prefix=").nth(1).unwrap_or("");
            for array in ["time", "precip", "temp", "flow"] {
                assert!(!prefix.contains(array), "listed an array: {r:?}");
            }
        } else {
            // Per-node documents only: no consolidated metadata.
            let key = r.key().unwrap();
            let name = key.rsplit('/').next().unwrap();
            assert!(zarrscope::source::ZARR_KEYS.contains(key), "{key}");
            assert!(!name.ends_with("zmetadata"), "{key}");
        }
    }
    // v2: the root's zarr.json probe; no other v3 request once v2 is known.
    let v3_probes = log.iter().filter(|r| r.path.ends_with("zarr.json")).count();
    assert_eq!(v3_probes, 1, "{log:?}");
    let err = text(&out.stderr);
    assert_counted(&server, &err);
}

#[test]
fn the_crawl_runs_requests_concurrently_up_to_the_bound() {
    // 10 arrays × (.zarray, .zattrs) are all asked at once: the server holds
    // them until all 20 are in flight together.
    let gate = Gate::new(20, |path| {
        let in_array = path
            .strip_prefix("/public/nwm-chrtout-v2.zarr/")
            .is_some_and(|key| key.contains('/'));
        in_array && (path.ends_with("/.zarray") || path.ends_with("/.zattrs"))
    });
    let server = S3Server::start_with_gate(gate.clone());
    let home = Home::new(&server.endpoint);
    let url = "s3://public/nwm-chrtout-v2.zarr";
    let out = run(&home, &anon(&server, &["tree", url, "--crawl"]));
    assert_code(&out, 0);
    let wide = server.max_in_flight();
    let requests = server.requests().len();
    assert!(
        gate.opened(),
        "the 20 array requests were never in flight together"
    );
    assert!(wide >= 20, "max in flight {wide}");
    server.reset();
    let out = run(
        &home,
        &anon(&server, &["tree", url, "--crawl", "--concurrency", "1"]),
    );
    assert_code(&out, 0);
    assert_eq!(server.max_in_flight(), 1);
    assert_eq!(
        server.requests().len(),
        requests,
        "same requests, fewer at once"
    );
}

#[test]
fn the_request_cap_stops_the_crawl_and_marks_it_incomplete() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "tree",
                "s3://public/nwm-chrtout-v2.zarr",
                "--crawl",
                "--max-requests",
                "8",
                "--json",
            ],
        ),
    );
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["complete"], false);
    assert!(server.requests().len() <= 8, "{}", server.requests().len());
    assert!(
        text(&out.stderr).contains("--max-requests 8"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_url_inside_a_store_uses_the_nearest_consolidated_metadata() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "tree",
                "s3://public/nested-v2.zarr/forcing/hourly",
                "--json",
            ],
        ),
    );
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["root"], "s3://public/nested-v2.zarr");
    assert_eq!(doc["path"], "/forcing/hourly");
    let paths: Vec<&str> = doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/forcing/hourly",
            "/forcing/hourly/station",
            "/forcing/hourly/station/flow"
        ]
    );
    // Round 1: the location's zarr.json + .zmetadata; round 2: its own
    // documents (4) and zarr.json + .zmetadata of each of 3 ancestors.
    let log = server.requests();
    assert_eq!(log.len(), 2 + 4 + 3 * 2, "{log:?}");
    assert!(log.iter().all(|r| r.method == "GET"));

    // The tree view names the store used.
    let out = run(
        &home,
        &anon(
            &server,
            &["tree", "s3://public/nwm-chrtout-v2.zarr/streamflow"],
        ),
    );
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("in store s3://public/nwm-chrtout-v2.zarr\n/streamflow"),
        "{stdout}"
    );

    // A node the consolidated metadata does not list: stale, say so.
    let out = run(
        &home,
        &anon(&server, &["tree", "s3://public/stale-v2.zarr/added_later"]),
    );
    assert_code(&out, 0);
    assert!(
        text(&out.stderr).contains("may be stale"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_reports_a_stale_store_field_by_field_and_a_consistent_one_as_such() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(&server, &["check", "s3://public/stale-v2.zarr", "--json"]),
    );
    assert_code(&out, 1);
    let doc = json(&out);
    assert_eq!(doc["stale"], true);
    assert_eq!(doc["only_on_disk"][0]["path"], "/added_later");
    assert_eq!(doc["only_in_consolidated"][0]["path"], "/forcing/precip");
    let changed = doc["changed"].as_array().unwrap();
    let field = |path: &str, field: &str| -> (Value, Value) {
        let node = changed
            .iter()
            .find(|c| c["path"] == path)
            .unwrap_or_else(|| panic!("{path} not changed: {changed:?}"));
        let f = node["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == field)
            .unwrap_or_else(|| panic!("{field} of {path}: {node}"));
        (f["a"].clone(), f["b"].clone())
    };
    assert_eq!(
        field("/time", "shape"),
        (serde_json::json!([8760]), serde_json::json!([17520]))
    );
    assert_eq!(
        field("/forcing/temp", "attributes.units"),
        (Value::from("K"), Value::from("degC"))
    );
    let codes: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"dimension-size-conflict"), "{codes:?}");

    let out = run(
        &home,
        &anon(&server, &["check", "s3://public/nwm-chrtout-v2.zarr"]),
    );
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("consistent"));
    // Without consolidated metadata there is nothing to be stale.
    let out = run(
        &home,
        &anon(
            &server,
            &["check", "s3://public/nested-unconsolidated-v2.zarr"],
        ),
    );
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("no consolidated metadata"));
}

#[test]
fn consolidate_round_trips_v2_and_v3_and_writes_only_with_yes() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // Each store, its consolidated key, and what its dry run must plan.
    for (store, key, plan) in [
        (
            "nested-unconsolidated-v2.zarr",
            ".zmetadata",
            &[
                "(2.1 KiB, 11 nodes) (new)\n",
                "added:\n",
                "  /forcing/hourly/station/flow  array\n",
                "    attributes.title: (absent) -> \"nested v2\"\n",
            ][..],
        ),
        (
            "v3-nested-unconsolidated.zarr",
            "zarr.json",
            &[
                "(7.2 KiB, 11 nodes) replacing the current document\n",
                "  /observations/quality/flags/qc  array\n",
                "    attributes.Conventions: (absent) -> \"CF-1.8\"\n",
            ][..],
        ),
        (
            "stale-v2.zarr",
            ".zmetadata",
            &[
                "(2.0 KiB, 11 nodes) replacing the current consolidated metadata\n",
                "dropped (no longer on disk):\n  /forcing/precip  array\n",
                "added:\n  /added_later  array\n",
                "  /time\n    shape: [8760] -> [17520]\n",
            ][..],
        ),
    ] {
        let url = format!("s3://private/{store}");
        let on_disk = server.bucket_dir(PRIVATE).join(store).join(key);
        let before = std::fs::read(&on_disk).ok();
        server.reset();
        let out = run(&home, &["consolidate", &url, "--profile", "zs"]);
        assert_code(&out, 0);
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with(&format!("would write {url}/{key} (")),
            "{stdout}"
        );
        for line in plan {
            assert!(stdout.contains(line), "{line:?} missing from\n{stdout}");
        }
        assert!(
            stdout.ends_with("dry run: nothing was changed; run again with --yes to write it\n"),
            "{stdout}"
        );
        // The plan was read from the server, and nothing was written to it.
        let requests = server.requests();
        assert!(!requests.is_empty());
        assert!(requests.iter().all(|r| r.method == "GET"), "{requests:?}");
        assert_eq!(writes_seen(&server), Vec::<String>::new());
        assert_eq!(std::fs::read(&on_disk).ok(), before);

        server.reset();
        let out = run(&home, &["consolidate", &url, "--profile", "zs", "--yes"]);
        assert_code(&out, 0);
        let puts: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET")
            .collect();
        assert_eq!(puts.len(), 1, "{puts:?}");
        assert_eq!(puts[0].key(), Some(format!("{store}/{key}").as_str()));

        // Read back: the consolidated tree equals the crawl, and check agrees.
        let tree = json(&run(&home, &["tree", &url, "--profile", "zs", "--json"]));
        assert_eq!(tree["consolidated"], true);
        let crawl = json(&run(
            &home,
            &["tree", &url, "--profile", "zs", "--crawl", "--json"],
        ));
        assert_eq!(nodes(&tree), nodes(&crawl), "{store}");
        let out = run(&home, &["check", &url, "--profile", "zs"]);
        assert_code(&out, 0);
    }
    // The v3 root document keeps its other fields.
    let root: Value = serde_json::from_slice(
        &std::fs::read(
            server
                .bucket_dir(PRIVATE)
                .join("v3-nested-unconsolidated.zarr/zarr.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(root["attributes"]["title"], "zarrscope v3 fixture");
    assert_eq!(root["consolidated_metadata"]["kind"], "inline");

    let out = run(
        &home,
        &anon(
            &server,
            &[
                "consolidate",
                "s3://public/nested-unconsolidated-v2.zarr",
                "--yes",
            ],
        ),
    );
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("--anon never writes"));
}

#[test]
fn a_concurrent_change_is_a_conflict_not_an_overwrite() {
    use zarrscope::location::Location;
    use zarrscope::source::crawl::{CrawlOptions, crawl};
    use zarrscope::store::credentials::S3Flags;
    use zarrscope::store::guard::Policy;
    use zarrscope::store::{StoreHandle, StoreOptions};

    let server = S3Server::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let env: std::collections::HashMap<&str, &str> = [
        ("AWS_ACCESS_KEY_ID", common::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", common::SECRET_KEY),
    ]
    .into();
    for (store, key) in [
        ("v3-nested-unconsolidated.zarr", "zarr.json"),
        ("nested-unconsolidated-v2.zarr", ".zmetadata"),
    ] {
        let options = StoreOptions {
            s3: S3Flags {
                endpoint_url: Some(server.endpoint.clone()),
                ..S3Flags::default()
            },
            ..StoreOptions::default()
        };
        let location = Location::parse(&format!("s3://{PRIVATE}/{store}")).unwrap();
        let policy = Policy::reading_and_one_write(zarrscope::source::ZARR_KEYS, location.key(key));
        let ms = rt
            .block_on(StoreHandle::open_with(
                location, &options, &env, None, policy,
            ))
            .unwrap();
        let crawled = rt.block_on(crawl(&ms, &CrawlOptions::default())).unwrap();
        let plan = zarrscope::consolidate::plan(&ms, &crawled, None).unwrap();
        // Someone else writes the key between our read and our write.
        let on_disk = server.bucket_dir(PRIVATE).join(store).join(key);
        let theirs = br#"{"zarr_format": 3, "node_type": "group", "attributes": {"theirs": true}}"#;
        std::fs::write(&on_disk, theirs).unwrap();
        let err = rt
            .block_on(zarrscope::consolidate::write(&ms, &plan))
            .unwrap_err();
        assert!(err.to_string().contains("conflict"), "{err}");
        assert_eq!(
            std::fs::read(&on_disk).unwrap(),
            theirs,
            "{store}: not overwritten"
        );
    }
    let _ = PUBLIC;
}

#[test]
fn diff_shows_what_changed_between_two_stores() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "diff",
                "s3://public/nwm-chrtout-v2.zarr",
                "s3://public/nwm-chrtout-next-v2.zarr",
                "--json",
            ],
        ),
    );
    assert_code(&out, 1);
    let doc = json(&out);
    assert_eq!(doc["same"], false);
    assert_eq!(doc["only_in_a"][0]["path"], "/elevation");
    assert_eq!(doc["only_in_b"][0]["path"], "/qSfcLatRunoff");
    let streamflow = doc["changed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["path"] == "/streamflow")
        .unwrap();
    let fields: Vec<&str> = streamflow["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in ["chunks", "codecs", "shape", "attributes.valid_range"] {
        assert!(fields.contains(&f), "{fields:?}");
    }
    // Human form, and the same store against itself (consolidated vs crawl).
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "diff",
                "s3://public/nwm-chrtout-v2.zarr",
                "s3://public/nwm-chrtout-next-v2.zarr",
            ],
        ),
    );
    assert_code(&out, 1);
    assert!(text(&out.stdout).contains("chunks: [672,30000] -> [336,100000]"));
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "diff",
                "s3://public/nested-v2.zarr",
                "s3://public/nested-unconsolidated-v2.zarr",
                "--crawl",
            ],
        ),
    );
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("same metadata"));
}

/// A v2 store of 1 root, `groups` groups and `arrays` arrays in each
/// (every node with a `.zattrs`), written into the server's public bucket.
fn write_wide_v2_store(server: &S3Server, name: &str, groups: usize, arrays: usize) {
    let write = |path: std::path::PathBuf, text: &str| {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    let root = server.bucket_dir(PUBLIC).join(name);
    for dir in std::iter::once(root.clone()).chain((0..groups).map(|g| root.join(format!("g{g}"))))
    {
        write(dir.join(".zgroup"), r#"{"zarr_format":2}"#);
        write(dir.join(".zattrs"), r#"{"title":"g"}"#);
    }
    for g in 0..groups {
        for a in 0..arrays {
            let dir = root.join(format!("g{g}/a{a}"));
            write(
                dir.join(".zarray"),
                r#"{"zarr_format":2,"shape":[10],"chunks":[5],"dtype":"<f4","fill_value":0.0,"order":"C","filters":null,"compressor":null}"#,
            );
            write(dir.join(".zattrs"), r#"{"_ARRAY_DIMENSIONS":["x"]}"#);
        }
    }
}

#[test]
fn a_server_throttling_past_100_in_flight_slows_the_crawl_without_losing_a_node() {
    // Each request waits 50 ms, so they pile up; one arriving while more
    // than 100 are out is answered 503 SlowDown. The crawl starts at 64
    // and grows toward a ceiling of 1,024: it must be throttled, back off,
    // and finish with every node, no request refused more often than the 2
    // retries absorb.
    let server = S3Server::start_with_delay(std::time::Duration::from_millis(50));
    let home = Home::new(&server.endpoint);
    write_wide_v2_store(&server, "busy-v2.zarr", 4, 250);
    server.throttle_above(100);
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "tree",
                "s3://public/busy-v2.zarr",
                "--crawl",
                "--json",
                "--concurrency",
                "1024",
            ],
        ),
    );
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["complete"], true, "{}", text(&out.stderr));
    assert_eq!(doc["nodes"].as_array().unwrap().len(), 1 + 4 + 4 * 250);
    assert_eq!(text(&out.stderr), "", "no warning");
    server.assert_throttling_absorbed();
}

#[test]
fn a_listing_answered_503_is_asked_again_and_the_crawl_is_complete() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // The first listing of the crawl (the root's): a bucket request.
    server.fail_next("GET", "", 503, 1);
    let out = run(
        &home,
        &anon(
            &server,
            &["tree", "s3://public/nested-v2.zarr", "--crawl", "--json"],
        ),
    );
    assert_code(&out, 0);
    assert_eq!(json(&out)["complete"], true, "{}", text(&out.stderr));
    let listings: Vec<u16> = server
        .requests()
        .iter()
        .filter(|r| r.query.contains("list-type=2"))
        .map(|r| r.status)
        .collect();
    assert_eq!(listings.first(), Some(&503), "{listings:?}");
    assert_eq!(listings.get(1), Some(&200), "{listings:?}");
}

#[test]
fn tree_knows_a_v2_group_from_its_listing_and_reads_no_nested_zgroup() {
    // Per node: an array costs .zarray + .zattrs; a group .zarray (absent) +
    // .zattrs + one listing; its .zgroup only where documents are kept.
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    write_wide_v2_store(&server, "lean-v2.zarr", 3, 5);
    let out = run(
        &home,
        &anon(
            &server,
            &["tree", "s3://public/lean-v2.zarr", "--crawl", "--json"],
        ),
    );
    assert_code(&out, 0);
    assert_eq!(json(&out)["nodes"].as_array().unwrap().len(), 1 + 3 + 15);
    let log = server.requests();
    let zgroups: Vec<&str> = log
        .iter()
        .filter(|r| r.path.ends_with("/.zgroup"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(zgroups, ["/public/lean-v2.zarr/.zgroup"], "the root's only");
    // Root: zarr.json, .zgroup, .zattrs, listing; groups 3 each; arrays 2.
    assert_eq!(log.len(), 4 + 3 * 3 + 15 * 2, "{log:?}");
}
