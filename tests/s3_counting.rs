//! Counting is part of the contract: `--stats` and JSON `stats.requests`
//! equal the number of requests the server received — attempts that failed
//! and were retried, multipart parts, listing pages and batch deletes
//! included — and `head` reads one 64 KiB window in one GET.

mod common;

use common::cli::signed;
use common::inspect::{assert_counted, log_lines, many_objects};
use common::{
    Home, PRIVATE, PUBLIC, S3Server, SECRET_KEY, anon, assert_ok, json, run, stats_figure, text,
};

const ZMETADATA: &str = "nwm-chrtout-v2.zarr/.zmetadata";

fn statuses_of(server: &S3Server, method: &str, key: &str) -> Vec<u16> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == method && r.key() == Some(key))
        .map(|r| r.status)
        .collect()
}

#[test]
fn a_get_answered_503_then_200_counts_both_attempts() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = "s3://public/nwm-chrtout-v2.zarr";

    server.fail_next("GET", ZMETADATA, 503, 1);
    let out = run(&home, &anon(&server, &["tree", store, "--json"]));
    let doc = json(&out);
    assert_eq!(statuses_of(&server, "GET", ZMETADATA), [503, 200]);
    assert_eq!(
        doc["stats"]["requests"],
        server.requests().len(),
        "{:?}",
        log_lines(&server)
    );

    // --stats says the same, and -v shows the failed attempt: its path
    // without any query string, its status, marked as retried.
    server.reset();
    server.fail_next("GET", ZMETADATA, 503, 1);
    let out = run(&home, &anon(&server, &["tree", store, "--stats", "-v"]));
    assert_ok(&out);
    let err = text(&out.stderr);
    assert_counted(&server, &err);
    let attempt = err
        .lines()
        .find(|l| l.contains(".zmetadata") && l.contains(" 503 "))
        .unwrap_or_else(|| panic!("no line for the failed attempt in: {err}"));
    assert!(attempt.contains("retried"), "{attempt}");
    assert!(!attempt.contains('?'), "{attempt}");
    assert!(
        err.lines()
            .any(|l| l.contains(&format!(" GET {ZMETADATA} 200 "))),
        "the operation's own line is kept: {err}"
    );
}

#[test]
fn a_multipart_upload_counts_create_every_part_a_retried_part_and_complete() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("big.bin");
    let big: Vec<u8> = (0..50 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&local, &big).unwrap();

    // One part upload is refused once; object_store sends it again.
    server.fail_next("PUT", "up/big.bin", 503, 1);
    let out = run(
        &home,
        &signed(&[
            "cp",
            local.to_str().unwrap(),
            "s3://private/up/big.bin",
            "--yes",
            "--stats",
            "-v",
        ]),
    );
    assert_ok(&out);
    assert!(std::fs::read(server.bucket_dir(PRIVATE).join("up/big.bin")).unwrap() == big);
    let log = server.requests();
    let parts: Vec<u16> = log
        .iter()
        .filter(|r| r.method == "PUT" && r.query.contains("partNumber"))
        .map(|r| r.status)
        .collect();
    // 50 MiB in 16 MiB parts: 4 parts, one of them sent twice.
    assert_eq!(parts.len(), 5, "{:?}", log_lines(&server));
    assert_eq!(parts.iter().filter(|s| **s == 503).count(), 1);
    let posts = log.iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 2, "create and complete: {:?}", log_lines(&server));
    let err = text(&out.stderr);
    assert_counted(&server, &err);
    // The refused part has its own -v line, signed request or not: the path
    // only (no uploadId, no signature), and never the secret.
    let attempt = err
        .lines()
        .find(|l| l.contains(" PUT /private/up/big.bin 503 "))
        .unwrap_or_else(|| panic!("no line for the failed attempt in: {err}"));
    assert!(attempt.contains("retried"), "{attempt}");
    for secret in [SECRET_KEY, "uploadId", "X-Amz-", "Signature"] {
        assert!(!err.contains(secret), "{secret} in: {err}");
    }
}

#[test]
fn a_recursive_remove_counts_listing_pages_and_every_delete_batch() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let dir = many_objects(&server, PRIVATE);
    // One DeleteObjects batch is refused once.
    server.fail_next("POST", "", 503, 1);
    let out = run(
        &home,
        &signed(&["rm", "-r", "s3://private/many", "--yes", "--stats"]),
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("deleted 2500 of 2500 objects"));
    assert_eq!(std::fs::read_dir(&dir).map_or(0, |d| d.count()), 0);
    let log = server.requests();
    let lists = log
        .iter()
        .filter(|r| r.method == "GET" && r.query.contains("list-type=2"))
        .count();
    assert_eq!(lists, 3, "2500 keys, 1000 a page: {:?}", log_lines(&server));
    let posts: Vec<u16> = log
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| r.status)
        .collect();
    assert_eq!(posts.len(), 4, "3 batches, one sent twice");
    assert_eq!(posts.iter().filter(|s| **s == 503).count(), 1);
    let err = text(&out.stderr);
    assert_counted(&server, &err);
}

#[test]
fn a_move_of_one_object_counts_the_copy_and_the_delete() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PRIVATE);
    std::fs::write(bucket.join("from.txt"), "moving").unwrap();
    // The delete of the source (a DeleteObjects of one key) is refused once.
    server.fail_next("POST", "", 503, 1);
    let out = run(
        &home,
        &signed(&[
            "mv",
            "s3://private/from.txt",
            "s3://private/to.txt",
            "--yes",
            "--stats",
        ]),
    );
    assert_ok(&out);
    assert_eq!(std::fs::read(bucket.join("to.txt")).unwrap(), b"moving");
    assert!(!bucket.join("from.txt").exists());
    let deletes: Vec<u16> = server
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.query.contains("delete"))
        .map(|r| r.status)
        .collect();
    assert_eq!(deletes, [503, 200], "{:?}", log_lines(&server));
    let err = text(&out.stderr);
    assert_counted(&server, &err);
}

#[test]
fn head_reads_one_64_kib_window_in_one_get() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let lines: String = (0..20_000).map(|i| format!("line {i}\n")).collect();
    assert!(lines.len() > 3 * 65536);
    std::fs::write(server.bucket_dir(PUBLIC).join("lines.txt"), &lines).unwrap();
    let out = run(
        &home,
        &anon(&server, &["head", "s3://public/lines.txt", "--stats"]),
    );
    assert_ok(&out);
    assert!(text(&out.stdout).starts_with("line 0\nline 1\n"));
    let log = server.requests();
    let gets: Vec<u64> = log
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.bytes)
        .collect();
    assert_eq!(gets, [65536], "{:?}", log_lines(&server));
    let err = text(&out.stderr);
    assert_counted(&server, &err);
    assert_eq!(stats_figure(&err, "bytes"), 65536, "{err}");
}

/// Every exit reports what it cost: an error after requests prints the
/// `--stats` line once, before the error, with every request counted.
/// `show` of a missing node and `consolidate` whose crawl fails printed no
/// totals at all before the command session.
#[test]
fn an_error_exit_still_prints_the_stats_line_once_before_the_error() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = "s3://public/nwm-chrtout-v2.zarr";
    let missing_node = anon(&server, &["show", store, "no/such/node", "--stats"]);
    server.deny_list(PUBLIC);
    let refused_crawl = signed(&[
        "consolidate",
        "s3://public/nested-unconsolidated-v2.zarr",
        "--stats",
    ]);
    for args in [missing_node, refused_crawl] {
        server.reset();
        let out = run(&home, &args);
        common::assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(!server.requests().is_empty(), "{args:?}: {err}");
        assert_counted(&server, &err);
        let lines: Vec<&str> = err.lines().collect();
        let stats_at = lines
            .iter()
            .position(|l| l.starts_with("requests: "))
            .unwrap_or_else(|| panic!("{args:?}: no --stats line in {err}"));
        let error_at = lines
            .iter()
            .position(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{args:?}: no error in {err}"));
        assert!(stats_at < error_at, "{args:?}: {err}");
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("requests: ")).count(),
            1,
            "{args:?}: {err}"
        );
    }
}
