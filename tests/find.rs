//! `zarrscope find` against the in-process S3 server: a bucket layout of
//! nested prefixes holding every kind of dataset (copies of the fixtures),
//! plain JSON, hostile files and awkward keys. What was found, and what was
//! requested to find it, come from the output and the server's own log.

mod common;

use std::path::Path;

use common::{Home, PUBLIC, S3Server, copy_dir, percent_decode, repo_root, text};
use common::{anon, assert_code, run};
use serde_json::Value;

const ROOT: &str = "s3://public/find";

/// Every dataset of the layout, by URL.
const EXPECTED: [&str; 11] = [
    "s3://public/find/a/b/c/deep.zarr",
    "s3://public/find/a/b/cf.zarr",
    "s3://public/find/a/b/lone.zarr",
    "s3://public/find/a/consolidated.zarr",
    "s3://public/find/a/unconsolidated.zarr",
    "s3://public/find/odd//weird.json",
    "s3://public/find/refs/multi-parquet",
    "s3://public/find/refs/multi-v1.json.zst",
    "s3://public/find/repos/history.icechunk",
    "s3://public/find/stale/stale.zarr",
    "s3://public/find/top.json",
];

/// Dataset roots (bucket-relative) a listing must never go below, but for
/// the unconsolidated store, whose groups are crawled.
const ROOTS: [&str; 8] = [
    "find/a/b/c/deep.zarr",
    "find/a/b/cf.zarr",
    "find/a/b/lone.zarr",
    "find/a/consolidated.zarr",
    "find/refs/multi-parquet",
    "find/repos/history.icechunk",
    "find/stale/stale.zarr",
    "find/a/unconsolidated.zarr",
];

/// The JSON candidates that are not reference sets.
const NOT_REFERENCES: [&str; 3] = [
    "find/notes.json",
    "find/refs/huge.json",
    "find/refs/bomb.json.zst",
];

fn fixture(name: &str) -> std::path::PathBuf {
    repo_root().join("fixtures").join(name)
}

fn write(path: &Path, body: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

/// The layout under s3://public/find/.
fn layout(server: &S3Server) {
    let find = server.bucket_dir(PUBLIC).join("find");
    copy_dir(
        &fixture("nested-v2.zarr"),
        &find.join("a/consolidated.zarr"),
    );
    // A chunk key in a consolidated store and in a lone array: never read.
    write(&find.join("a/consolidated.zarr/time/0"), b"chunk");
    copy_dir(
        &fixture("nested-unconsolidated-v2.zarr"),
        &find.join("a/unconsolidated.zarr"),
    );
    copy_dir(&fixture("xarray-cf-v3.zarr"), &find.join("a/b/cf.zarr"));
    copy_dir(&fixture("nested-v2.zarr/time"), &find.join("a/b/lone.zarr"));
    write(&find.join("a/b/lone.zarr/0"), b"chunk");
    copy_dir(&fixture("cf-small-v2.zarr"), &find.join("a/b/c/deep.zarr"));
    copy_dir(
        &fixture("icechunk/history.icechunk"),
        &find.join("repos/history.icechunk"),
    );
    std::fs::copy(fixture("references/single-v1.json"), find.join("top.json")).unwrap();
    write(
        &find.join("notes.json"),
        br#"{"title": "not a reference set", "items": [1, 2, 3]}"#,
    );
    std::fs::create_dir_all(find.join("refs")).unwrap();
    std::fs::copy(
        fixture("references/multi-v1.json.zst"),
        find.join("refs/multi-v1.json.zst"),
    )
    .unwrap();
    copy_dir(
        &fixture("references/multi-parquet"),
        &find.join("refs/multi-parquet"),
    );
    // Hostile: 8 MB of JSON that is no reference set, and a zstd bomb
    // (64 MB of zeros in a few kilobytes).
    let mut huge = String::from("[");
    while huge.len() < 8 << 20 {
        huge.push_str("1234567890,");
    }
    huge.push_str("0]");
    write(&find.join("refs/huge.json"), huge);
    let bomb = zstd::encode_all(&vec![0u8; 64 << 20][..], 19).unwrap();
    write(&find.join("refs/bomb.json.zst"), bomb);
    copy_dir(&fixture("stale-v2.zarr"), &find.join("stale/stale.zarr"));
    // Awkward keys: a folder marker, and a reference set under `odd//`.
    server.add_awkward(PUBLIC, "find/a/", b"");
    server.add_awkward(
        PUBLIC,
        "find/odd//weird.json",
        &std::fs::read(fixture("references/single-v0.json")).unwrap(),
    );
}

fn start() -> (S3Server, Home) {
    let server = S3Server::start();
    layout(&server);
    let home = Home::new(&server.endpoint);
    (server, home)
}

/// The URLs of the datasets `find --json` printed, sorted, and the lines.
fn json_lines(out: &std::process::Output) -> (Vec<String>, Vec<Value>) {
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let mut urls: Vec<String> = lines
        .iter()
        .map(|l| l["url"].as_str().unwrap().to_string())
        .collect();
    urls.sort();
    (urls, lines)
}

/// The prefixes listed (bucket-relative, without the trailing `/`).
fn listed_prefixes(server: &S3Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.query.contains("list-type=2"))
        .map(|r| {
            let prefix = r
                .query
                .split('&')
                .find_map(|p| p.strip_prefix("prefix="))
                .unwrap_or("");
            let prefix = percent_decode(prefix);
            prefix.strip_suffix('/').unwrap_or(&prefix).to_string()
        })
        .collect()
}

/// Object GETs: (key, bytes answered, Range header).
fn gets(server: &S3Server) -> Vec<(String, u64, Option<String>)> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && !r.query.contains("list-type=2"))
        .map(|r| {
            (
                r.key().unwrap().to_string(),
                r.bytes,
                r.header("range").map(str::to_string),
            )
        })
        .collect()
}

fn below(key: &str, root: &str) -> bool {
    key.strip_prefix(root)
        .is_some_and(|rest| rest.starts_with('/'))
}

#[test]
fn find_lists_every_dataset_and_requests_nothing_but_listings_and_metadata() {
    let (server, home) = start();
    let out = run(&home, &anon(&server, &["find", ROOT, "--json"]));
    // The zarr fixture stale-v2 is consolidated without --check: all well.
    assert_code(&out, 0);
    let (urls, lines) = json_lines(&out);
    assert_eq!(urls, EXPECTED, "stderr: {}", text(&out.stderr));
    let err = text(&out.stderr);
    let requests = server.requests().len();
    assert!(
        err.contains(&format!(
            "11 datasets; 17 directories listed, {requests} requests"
        )),
        "{err}"
    );
    assert!(
        err.contains("3 .json files skipped: not kerchunk reference sets"),
        "{err}"
    );

    let by_url = |url: &str| lines.iter().find(|l| l["url"] == url).unwrap();
    let consolidated = by_url("s3://public/find/a/consolidated.zarr");
    assert_eq!(consolidated["kind"], "zarr");
    assert_eq!(consolidated["metadata"], "consolidated");
    assert_eq!(consolidated["zarr_format"], 2);
    assert_eq!(
        by_url("s3://public/find/a/unconsolidated.zarr")["metadata"],
        "unconsolidated"
    );
    assert_eq!(by_url("s3://public/find/a/b/cf.zarr")["zarr_format"], 3);
    assert_eq!(by_url("s3://public/find/a/b/lone.zarr")["arrays"], 1);
    assert_eq!(
        by_url("s3://public/find/repos/history.icechunk")["kind"],
        "icechunk"
    );
    assert_eq!(
        by_url("s3://public/find/refs/multi-parquet")["kind"],
        "kerchunk-parquet"
    );
    assert_eq!(by_url("s3://public/find/top.json")["kind"], "kerchunk-json");
    assert_eq!(
        by_url("s3://public/find/odd//weird.json")["kind"],
        "kerchunk-json"
    );
    assert_eq!(
        by_url("s3://public/find/refs/multi-v1.json.zst")["arrays"],
        5
    );
    for line in &lines {
        assert!(line["error"].is_null(), "{line}");
        assert!(line["last_modified"].is_string(), "{line}");
    }

    // No listing below a dataset root (the unconsolidated store's groups
    // are its crawl), and no root listed twice.
    let listed = listed_prefixes(&server);
    for root in ROOTS {
        if root == "find/a/unconsolidated.zarr" {
            continue;
        }
        assert!(
            !listed.iter().any(|p| below(p, root)),
            "listed inside {root}: {listed:?}"
        );
        assert_eq!(
            listed.iter().filter(|p| *p == root).count(),
            1,
            "{root}: {listed:?}"
        );
    }
    // Seeded with the walk's listing: the crawl does not list the root again.
    assert_eq!(
        listed
            .iter()
            .filter(|p| *p == "find/a/unconsolidated.zarr")
            .count(),
        1,
        "{listed:?}"
    );

    // Only metadata documents, Icechunk's ref and snapshot, and the JSON
    // candidates: never a chunk, a manifest, a Parquet file.
    let gets = gets(&server);
    for (key, _, _) in &gets {
        let name = key.rsplit('/').next().unwrap();
        let metadata = zarrscope::source::ZARR_KEYS.contains(key);
        let icechunk = key.starts_with("find/repos/history.icechunk/refs/")
            || key.starts_with("find/repos/history.icechunk/snapshots/");
        let candidate = name.contains(".json");
        assert!(metadata || icechunk || candidate, "requested {key}");
        assert!(!key.ends_with("/0") && !name.ends_with(".parq"), "{key}");
    }
    // A consolidated store: its listing and exactly one GET.
    let store_gets: Vec<&String> = gets
        .iter()
        .map(|(k, _, _)| k)
        .filter(|k| below(k, "find/a/consolidated.zarr"))
        .collect();
    assert_eq!(store_gets, ["find/a/consolidated.zarr/.zmetadata"]);
    // The candidates that are not reference sets: one ranged GET of their
    // first bytes each, nothing more.
    for key in NOT_REFERENCES {
        let asked: Vec<_> = gets.iter().filter(|(k, _, _)| k == key).collect();
        assert_eq!(asked.len(), 1, "{key}: {asked:?}");
        let (_, bytes, range) = asked[0];
        assert!(*bytes <= 4096, "{key}: {bytes} bytes");
        assert!(
            range.as_deref().is_some_and(|r| r.starts_with("bytes=0-")),
            "{key}: {range:?}"
        );
    }
}

#[test]
fn text_output_is_one_sorted_line_per_dataset() {
    let (server, home) = start();
    let out = run(&home, &anon(&server, &["find", ROOT]));
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("URL "), "{stdout}");
    let urls: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(urls, EXPECTED, "{stdout}");
    let cf = lines
        .iter()
        .find(|l| l.starts_with("s3://public/find/a/b/c/deep.zarr "))
        .unwrap();
    for column in ["zarr", "v2", "consolidated", "time=8760 station=50", "MiB"] {
        assert!(cf.contains(column), "{column}: {cf}");
    }
    let unconsolidated = lines
        .iter()
        .find(|l| l.starts_with("s3://public/find/a/unconsolidated.zarr "))
        .unwrap();
    assert!(
        unconsolidated.contains(" unconsolidated "),
        "{unconsolidated}"
    );
}

#[test]
fn json_lines_have_the_documented_keys() {
    let (server, home) = start();
    let out = run(&home, &anon(&server, &["find", ROOT, "--json"]));
    assert_code(&out, 0);
    let (_, lines) = json_lines(&out);
    let documented = [
        "url",
        "kind",
        "zarr_format",
        "metadata",
        "arrays",
        "groups",
        "dimensions",
        "nbytes",
        "last_modified",
        "error",
    ];
    for line in &lines {
        let keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, documented, "{line}");
        for dimension in line["dimensions"].as_array().unwrap() {
            assert!(
                dimension["name"].is_string() && dimension["size"].is_u64(),
                "{line}"
            );
        }
    }
}

/// Each dataset's kind, format and metadata as the layout was written, and
/// its array and group counts as `tree --json` of that URL reads them.
#[test]
fn each_line_says_what_the_dataset_is_and_agrees_with_tree() {
    let (server, home) = start();
    let out = run(&home, &anon(&server, &["find", ROOT, "--json"]));
    assert_code(&out, 0);
    let (_, lines) = json_lines(&out);
    let expected: [(&str, &str, u64, &str); 11] = [
        ("a/b/c/deep.zarr", "zarr", 2, "consolidated"),
        ("a/b/cf.zarr", "zarr", 3, "consolidated"),
        ("a/b/lone.zarr", "zarr", 2, "lone-array"),
        ("a/consolidated.zarr", "zarr", 2, "consolidated"),
        ("a/unconsolidated.zarr", "zarr", 2, "unconsolidated"),
        ("odd//weird.json", "kerchunk-json", 2, "listed"),
        ("refs/multi-parquet", "kerchunk-parquet", 2, "listed"),
        ("refs/multi-v1.json.zst", "kerchunk-json", 2, "listed"),
        ("repos/history.icechunk", "icechunk", 3, "listed"),
        // Without --check nothing says it is stale.
        ("stale/stale.zarr", "zarr", 2, "consolidated"),
        ("top.json", "kerchunk-json", 2, "listed"),
    ];
    assert_eq!(lines.len(), expected.len());
    for (path, kind, format, metadata) in expected {
        let url = format!("{ROOT}/{path}");
        let line = lines
            .iter()
            .find(|l| l["url"] == url.as_str())
            .unwrap_or_else(|| panic!("no line for {url}"));
        assert_eq!(line["kind"], kind, "{line}");
        assert_eq!(line["zarr_format"], format, "{line}");
        assert_eq!(line["metadata"], metadata, "{line}");
        assert!(line["error"].is_null(), "{line}");
        let tree = run(&home, &anon(&server, &["tree", &url, "--json"]));
        assert_code(&tree, 0);
        let tree: Value = serde_json::from_slice(&tree.stdout).unwrap();
        let nodes = tree["nodes"].as_array().unwrap();
        let arrays = nodes.iter().filter(|n| n["kind"] != "group").count();
        assert_eq!(line["arrays"], arrays, "{url}");
        assert_eq!(line["groups"], nodes.len() - arrays, "{url}");
    }
}

#[test]
fn depth_limits_the_levels_listed() {
    let (server, home) = start();
    let out = run(
        &home,
        &anon(&server, &["find", ROOT, "--json", "--depth", "2"]),
    );
    assert_code(&out, 0);
    let (urls, _) = json_lines(&out);
    let shallow: Vec<&str> = EXPECTED
        .iter()
        .copied()
        .filter(|u| !u.starts_with("s3://public/find/a/b/"))
        .collect();
    assert_eq!(urls, shallow);
    let listed = listed_prefixes(&server);
    // find/a/b is two levels down: listed, but not what it holds.
    assert!(listed.iter().any(|p| p == "find/a/b"), "{listed:?}");
    assert!(
        !listed.iter().any(|p| p.starts_with("find/a/b/")),
        "{listed:?}"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("note: 3 directories below --depth 2 not listed"),
        "{err}"
    );
}

#[test]
fn the_request_cap_stops_the_walk_with_a_warning_naming_the_flag() {
    let (server, home) = start();
    // One at a time, and many at once: the cap holds over all in flight.
    for concurrency in ["1", "256"] {
        server.reset();
        let out = run(
            &home,
            &anon(
                &server,
                &[
                    "find",
                    ROOT,
                    "--json",
                    "--max-requests",
                    "12",
                    "--concurrency",
                    concurrency,
                ],
            ),
        );
        assert_code(&out, 1);
        assert!(server.requests().len() <= 12, "{:?}", server.requests());
        let err = text(&out.stderr);
        assert!(
            err.contains("warning: stopped at the request cap (--max-requests 12)"),
            "{err}"
        );
        let (urls, lines) = json_lines(&out);
        assert!(urls.len() < EXPECTED.len(), "{urls:?}");
        assert!(
            urls.iter().all(|u| EXPECTED.contains(&u.as_str())),
            "{urls:?}"
        );
        if concurrency == "1" {
            // What was found is still printed, even found by listing and
            // not read (which ones, at 256 at once, depends on who
            // answered first).
            assert!(
                lines
                    .iter()
                    .any(|l| l["metadata"].is_null() && l["error"].is_null()),
                "{lines:?}"
            );
        }
    }
}

#[test]
fn check_marks_stale_consolidated_metadata_and_exits_1() {
    let (server, home) = start();
    let out = run(&home, &anon(&server, &["find", ROOT, "--json", "--check"]));
    assert_code(&out, 1);
    let (urls, lines) = json_lines(&out);
    assert_eq!(urls, EXPECTED);
    for line in &lines {
        let stale = line["metadata"] == "stale";
        assert_eq!(
            stale,
            line["url"] == "s3://public/find/stale/stale.zarr",
            "{line}"
        );
    }
    let err = text(&out.stderr);
    assert!(err.contains("(1 stale)"), "{err}");
}

#[test]
fn a_broken_dataset_gets_an_error_line_and_the_walk_goes_on() {
    let (server, home) = start();
    write(
        &server
            .bucket_dir(PUBLIC)
            .join("find/a/consolidated.zarr/.zmetadata"),
        b"{\"metadata\": ",
    );
    let out = run(&home, &anon(&server, &["find", ROOT, "--json"]));
    assert_code(&out, 1);
    let (urls, lines) = json_lines(&out);
    assert_eq!(urls, EXPECTED);
    let broken: Vec<&Value> = lines.iter().filter(|l| !l["error"].is_null()).collect();
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(broken[0]["url"], "s3://public/find/a/consolidated.zarr");
    assert!(text(&out.stderr).contains("(1 broken)"));
}

#[test]
fn nothing_found_and_a_missing_bucket_are_said_plainly() {
    let (server, home) = start();
    let out = run(
        &home,
        &anon(&server, &["find", "s3://public/nothing-here/"]),
    );
    assert_code(&out, 0);
    assert!(out.stdout.is_empty());
    let err = text(&out.stderr);
    assert!(
        err.contains("no datasets found under s3://public/nothing-here (1 directory listed)"),
        "{err}"
    );
    // Signed: an anonymous caller is refused (403) before the bucket is looked up.
    let out = run(&home, &["find", "s3://no-such-bucket/", "--profile", "zs"]);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("no such bucket: no-such-bucket"), "{err}");
}

#[test]
fn requests_in_flight_stay_within_concurrency() {
    // Each request waits 20 ms: those started together are in flight
    // together, so the server's own count of the most at once is the bound
    // the client kept.
    let server = S3Server::start_with_delay(std::time::Duration::from_millis(20));
    layout(&server);
    let home = Home::new(&server.endpoint);
    for concurrency in ["1", "3"] {
        server.reset();
        let out = run(
            &home,
            &anon(
                &server,
                &["find", ROOT, "--json", "--concurrency", concurrency],
            ),
        );
        assert_code(&out, 0);
        assert_eq!(json_lines(&out).0, EXPECTED);
        let most = server.max_in_flight();
        assert!(
            most <= concurrency.parse().unwrap(),
            "--concurrency {concurrency}: {most} in flight"
        );
    }
}

#[test]
fn jobs_run_concurrently() {
    // The two JSON candidates at the top are sniffed together: the gate
    // holds each until both are in flight (a client that sends one at a
    // time never fills it).
    let gate = common::gate::Gate::new(2, |path| {
        path == "/public/find/top.json" || path == "/public/find/notes.json"
    });
    let server = S3Server::start_with_gate(std::sync::Arc::clone(&gate));
    layout(&server);
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(&server, &["find", ROOT, "--json", "--concurrency", "2"]),
    );
    assert_code(&out, 0);
    assert_eq!(json_lines(&out).0, EXPECTED);
    assert!(
        gate.opened(),
        "the two sniffs were never in flight together"
    );
}

#[test]
fn a_reference_set_that_decompresses_without_end_stays_within_the_byte_budget() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // It starts as a reference set, then one value grows to 256 MiB.
    let mut encoder = zstd::Encoder::new(Vec::new(), 1).unwrap();
    std::io::Write::write_all(&mut encoder, br#"{"version": 1, "refs": {"a": ""#).unwrap();
    let block = vec![b'x'; 1 << 20];
    for _ in 0..256 {
        std::io::Write::write_all(&mut encoder, &block).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    write(
        &server.bucket_dir(PUBLIC).join("bombs/refs.json.zst"),
        &bomb,
    );
    let out = run(
        &home,
        &anon(
            &server,
            &["find", "s3://public/bombs", "--json", "--max-bytes", "1MiB"],
        ),
    );
    assert_code(&out, 1);
    let (urls, lines) = json_lines(&out);
    assert_eq!(urls, ["s3://public/bombs/refs.json.zst"]);
    let error = lines[0]["error"].as_str().unwrap();
    assert!(error.contains("more than 1048576 bytes of JSON"), "{error}");
    // Its compressed bytes, at most: a sniff and one read.
    let read: u64 = gets(&server).iter().map(|(_, bytes, _)| bytes).sum();
    assert!(read <= 4096 + bomb.len() as u64, "{read} bytes read");
}

#[test]
fn a_dataset_root_is_listed_one_page_deep_and_a_plain_directory_to_the_end() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let pages = server.bucket_dir(PUBLIC).join("pages");
    // A lone array with 2,500 chunk keys beside its `.zarray`: three
    // listing pages, of which the first shows what it is.
    copy_dir(&fixture("nested-v2.zarr/time"), &pages.join("big.zarr"));
    for i in 0..2500 {
        write(&pages.join(format!("big.zarr/{i}")), b"c");
    }
    // A plain directory whose store shows only on its second page.
    for i in 0..1500 {
        write(&pages.join(format!("plain/f{i:05}.txt")), b"z");
    }
    copy_dir(&fixture("cf-small-v2.zarr"), &pages.join("plain/zz.zarr"));
    let out = run(
        &home,
        &anon(&server, &["find", "s3://public/pages", "--json", "--stats"]),
    );
    assert_code(&out, 0);
    assert_eq!(
        json_lines(&out).0,
        [
            "s3://public/pages/big.zarr",
            "s3://public/pages/plain/zz.zarr"
        ]
    );
    let listed = listed_prefixes(&server);
    let pages_of = |prefix: &str| listed.iter().filter(|p| *p == prefix).count();
    assert_eq!(pages_of("pages/big.zarr"), 1, "{listed:?}");
    assert_eq!(pages_of("pages/plain"), 2, "{listed:?}");
    common::inspect::assert_counted(&server, &text(&out.stderr));
}

#[test]
fn a_server_throttling_past_100_in_flight_slows_find_without_losing_a_dataset() {
    // 600 consolidated stores side by side: their listings and then their
    // documents are all ready at once. Each request waits 50 ms, and one
    // arriving while more than 100 are out is answered 503 SlowDown. With
    // a ceiling of 1,024, find must be throttled, back off, and read every
    // store, no request refused more often than the 2 retries absorb.
    let server = S3Server::start_with_delay(std::time::Duration::from_millis(50));
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PUBLIC);
    for i in 0..600 {
        let store = bucket.join(format!("busy/s{i:03}.zarr"));
        write(&store.join(".zgroup"), r#"{"zarr_format":2}"#);
        write(
            &store.join(".zmetadata"),
            r#"{"zarr_consolidated_format":1,"metadata":{".zgroup":{"zarr_format":2}}}"#,
        );
    }
    server.throttle_above(100);
    let out = run(
        &home,
        &anon(
            &server,
            &[
                "find",
                "s3://public/busy",
                "--json",
                "--concurrency",
                "1024",
            ],
        ),
    );
    assert_code(&out, 0);
    let (urls, lines) = json_lines(&out);
    assert_eq!(urls.len(), 600, "{}", text(&out.stderr));
    assert!(lines.iter().all(|l| l["error"].is_null()));
    server.assert_throttling_absorbed();
}
