//! The object-store chores end to end against the in-process S3 server (with
//! SigV4 checking): ls, glob, info, head, cat, du, and the write commands
//! with and without --yes. Request counts come from the server's own log.

mod common;

use common::cli::signed;
use common::inspect::{assert_counted, disk_usage, log_lines, many_objects};
use common::{Home, PRIVATE, PUBLIC, S3Server, SECRET_KEY, WRONG_SECRET, assert_ok, text};
use common::{json, run, stats_figure};

// ---------------------------------------------------------------- ls

#[test]
fn ls_of_the_bucket_root_is_one_delimited_list() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &[
            "ls",
            "s3://public/",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.lines().any(|l| l == "nwm-chrtout-v2.zarr/"),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l == "make_fixtures.py"), "{stdout}");
    let log = server.requests();
    assert_eq!(log.len(), 1, "{:?}", log_lines(&server));
    assert_eq!(log[0].method, "GET");
    assert!(log[0].query.contains("delimiter=%2F"), "{:?}", log[0]);
    assert!(!log[0].signed, "--anon must not sign");
    // Nothing extra on a pipe: no progress, no notices.
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
}

#[test]
fn ls_long_human_and_json_point_out_a_zarr_store() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let url = "s3://public/nwm-chrtout-v2.zarr/";
    let out = run(
        &home,
        &[
            "ls",
            "-l",
            "-h",
            url,
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let zmetadata = stdout
        .lines()
        .find(|l| l.ends_with(" .zmetadata"))
        .unwrap_or_else(|| panic!("{stdout}"));
    // last-modified, human size, ETag, name
    assert!(zmetadata.contains("KiB"), "{zmetadata}");
    assert!(
        zmetadata.contains('T') && zmetadata.contains('Z'),
        "{zmetadata}"
    );
    assert!(
        stdout.contains("DIR  ") && stdout.contains("streamflow/"),
        "{stdout}"
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("s3://public/nwm-chrtout-v2.zarr is a Zarr v2 store, consolidated metadata"),
        "{err}"
    );

    let out = run(
        &home,
        &[
            "ls",
            "--json",
            url,
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    let doc = json(&out);
    assert_eq!(doc["prefix"], "nwm-chrtout-v2.zarr");
    assert_eq!(doc["zarr_stores"][0]["format"], "v2");
    assert!(
        doc["directories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "nwm-chrtout-v2.zarr/streamflow")
    );
    let obj = &doc["objects"][0];
    assert!(obj["size"].as_u64().is_some() && obj["last_modified"].is_string());
}

#[test]
fn ls_recursive_finds_every_store_from_the_keys_alone() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &[
            "ls",
            "-r",
            "--json",
            "s3://public",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    let doc = json(&out);
    let stores: Vec<(String, String)> = doc["zarr_stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key"].as_str().unwrap().into(),
                s["format"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        stores.contains(&("nwm-chrtout-v2.zarr".into(), "v2".into())),
        "{stores:?}"
    );
    assert!(
        stores.contains(&("v3-nested-sharded.zarr".into(), "v3".into())),
        "{stores:?}"
    );
    // Nested groups are part of their store, not stores of their own.
    assert!(
        !stores
            .iter()
            .any(|(k, _)| k.starts_with("v3-nested-sharded.zarr/"))
    );
    let (objects, _) = disk_usage(&server.bucket_dir(PUBLIC));
    assert_eq!(doc["objects"].as_array().unwrap().len() as u64, objects);
    // Only listings: never a GET of an object.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.query.contains("list-type=2"))
    );
}

#[test]
fn ls_of_an_object_and_of_nothing() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let e = server.endpoint.as_str();
    let out = run(
        &home,
        &[
            "ls",
            "-l",
            "s3://public/make_fixtures.py",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).trim_end().ends_with(" make_fixtures.py"));
    let out = run(
        &home,
        &[
            "ls",
            "s3://public/no/such/thing",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nothing found at s3://public/no/such/thing"));
}

#[test]
fn anonymous_on_the_private_bucket_suggests_a_profile() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &[
            "ls",
            "s3://private/",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("access denied (403)"), "{err}");
    assert!(err.contains("--profile"), "{err}");
    // With the profile the same listing works.
    let out = run(&home, &["ls", "s3://private/", "--profile", "zs"]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("nwm-chrtout-v2.zarr/"));
}

// ---------------------------------------------------------------- glob

#[test]
fn a_glob_at_the_bucket_root_is_one_delimited_listing() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &[
            "glob",
            "s3://public/*.zarr",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines.contains(&"s3://public/nwm-chrtout-v2.zarr/"),
        "{stdout}"
    );
    assert!(
        lines.contains(&"s3://public/v3-nested-sharded.zarr/"),
        "{stdout}"
    );
    assert!(!stdout.contains("make_fixtures.py"));
    let log = server.requests();
    assert_eq!(log.len(), 1, "not a walk: {:?}", log_lines(&server));
    assert!(log[0].query.contains("delimiter=%2F"));
    assert!(!log[0].query.contains("prefix=") || log[0].query.contains("prefix=&"));
}

#[test]
fn glob_levels_and_double_star() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let e = server.endpoint.as_str();
    // One level of wildcard below a fixed prefix: the prefix is listed, then
    // each matching directory (concurrently).
    let out = run(
        &home,
        &[
            "glob",
            "s3://public/nwm-chrtout-v2.zarr/*/.zarray",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("s3://public/nwm-chrtout-v2.zarr/streamflow/.zarray"),
        "{stdout}"
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.query.contains("prefix=nwm-chrtout-v2.zarr%2F")),
        "nothing outside the fixed prefix is listed: {:?}",
        log_lines(&server)
    );
    server.reset();
    let out = run(
        &home,
        &[
            "glob",
            "s3://public/v3-nested-sharded.zarr/**/zarr.json",
            "--json",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_ok(&out);
    let doc = json(&out);
    // The JSON envelope (README "JSON output"): matches under "matches".
    let keys: Vec<&str> = doc["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert!(keys.len() > 2, "{keys:?}");
    assert!(keys.iter().all(|k| k.ends_with("/zarr.json")), "{keys:?}");
    assert_eq!(
        server.requests().len(),
        1,
        "one recursive listing: {:?}",
        log_lines(&server)
    );
    // A bad pattern is explained.
    let out = run(
        &home,
        &["glob", "s3://public/[", "--anon", "--endpoint-url", e],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid glob pattern"));
}

// ---------------------------------------------------------------- info

#[test]
fn info_is_one_head_for_an_object_and_one_listing_for_a_prefix() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let e = server.endpoint.as_str();
    let key = "nwm-chrtout-v2.zarr/.zmetadata";
    let size = std::fs::metadata(server.bucket_dir(PUBLIC).join(key))
        .unwrap()
        .len();
    let out = run(
        &home,
        &[
            "info",
            &format!("s3://public/{key}"),
            "--json",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_ok(&out);
    let doc = json(&out);
    assert_eq!(doc["type"], "object");
    assert_eq!(doc["size"].as_u64(), Some(size));
    assert!(doc["etag"].is_string() && doc["last_modified"].is_string());
    let log = server.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "HEAD");

    server.reset();
    let out = run(
        &home,
        &[
            "info",
            "s3://public/nwm-chrtout-v2.zarr/",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let (objects, bytes) = disk_usage(&server.bucket_dir(PUBLIC).join("nwm-chrtout-v2.zarr"));
    assert!(stdout.contains("directory"), "{stdout}");
    assert!(
        stdout.contains(&format!("objects:        {objects}")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("size:           {bytes} (")),
        "{stdout}"
    );
    // A trailing slash skips the HEAD: one listing.
    assert_eq!(server.requests().len(), 1, "{:?}", log_lines(&server));
}

// ---------------------------------------------------------------- head, cat

/// A 50 MB object of numbered 100-byte lines.
fn write_big_csv(server: &S3Server) -> std::path::PathBuf {
    let path = server.bucket_dir(PUBLIC).join("big.csv");
    let mut body = Vec::with_capacity(50_000_000);
    let mut i = 0u64;
    while body.len() < 50_000_000 {
        let line = format!("{i:08},{}\n", "x".repeat(90));
        body.extend_from_slice(line.as_bytes());
        i += 1;
    }
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn head_reads_one_small_window_of_a_50_mb_object() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    write_big_csv(&server);
    let out = run(
        &home,
        &[
            "head",
            "-n",
            "5",
            "s3://public/big.csv",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
            "--stats",
        ],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].starts_with("00000000,") && lines[4].starts_with("00000004,"));
    let log = server.requests();
    assert_eq!(log.len(), 1, "{:?}", log_lines(&server));
    assert_eq!(log[0].method, "GET");
    // Bytes received, as counted by zarrscope: at most 64 KiB.
    let err = text(&out.stderr);
    let bytes = stats_figure(&err, "bytes");
    assert!(bytes <= 64 * 1024, "{bytes} bytes moved");

    // -c: exactly the bytes asked for, one GET.
    server.reset();
    let out = run(
        &home,
        &[
            "head",
            "-c",
            "12",
            "s3://public/big.csv",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "00000000,xxx");
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn head_grows_the_window_only_for_long_lines_and_stops_at_the_budget() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // One 100 KB line, then short ones.
    let mut body = "y".repeat(100_000).into_bytes();
    body.extend_from_slice(b"\nsecond\nthird\n");
    std::fs::write(server.bucket_dir(PUBLIC).join("long.txt"), &body).unwrap();
    let e = server.endpoint.as_str();
    let out = run(
        &home,
        &[
            "head",
            "-n",
            "2",
            "s3://public/long.txt",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).ends_with("\nsecond\n"));
    assert_eq!(server.requests().len(), 2, "64 KiB, then the rest");

    let out = run(
        &home,
        &[
            "head",
            "-n",
            "1",
            "s3://public/long.txt",
            "--max-bytes",
            "50KB",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("longer than the byte budget"), "{err}");
    assert!(err.contains("--max-bytes"), "{err}");
}

#[test]
fn cat_prints_small_objects_and_refuses_large_ones_with_their_size() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let e = server.endpoint.as_str();
    let out = run(
        &home,
        &[
            "cat",
            "s3://public/nwm-chrtout-v2.zarr/.zgroup",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("zarr_format"));

    write_big_csv(&server);
    let out = run(
        &home,
        &[
            "cat",
            "s3://public/big.csv",
            "--max-bytes",
            "1MiB",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("more than the byte budget"), "{err}");
    assert!(err.contains("50000"), "says how big: {err}");
    assert!(err.contains("zarrscope head"), "{err}");
    assert!(out.stdout.is_empty());
}

// ---------------------------------------------------------------- du

#[test]
fn du_totals_and_per_child_breakdown_match_the_disk() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &[
            "du",
            "-d",
            "1",
            "--json",
            "s3://public/nwm-chrtout-v2.zarr",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    let doc = json(&out);
    let dir = server.bucket_dir(PUBLIC).join("nwm-chrtout-v2.zarr");
    let (objects, bytes) = disk_usage(&dir);
    assert_eq!(doc["objects"].as_u64(), Some(objects));
    assert_eq!(doc["bytes"].as_u64(), Some(bytes));
    let streamflow = doc["children"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "streamflow/")
        .unwrap();
    let (n, b) = disk_usage(&dir.join("streamflow"));
    assert_eq!(
        (streamflow["objects"].as_u64(), streamflow["bytes"].as_u64()),
        (Some(n), Some(b))
    );

    let out = run(
        &home,
        &[
            "du",
            "-h",
            "s3://public/nwm-chrtout-v2.zarr",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("KiB") && stdout.contains(&format!("{objects} objects")),
        "{stdout}"
    );
}

// ---------------------------------------------------------------- writes

#[test]
fn cp_upload_is_a_dry_run_until_yes() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let local = home.dir.path().join("notes.txt");
    std::fs::write(&local, "hello from zarrscope\n").unwrap();
    let local = local.to_str().unwrap();
    let target = server.bucket_dir(PRIVATE).join("uploads/notes.txt");

    let out = run(
        &home,
        &["cp", local, "s3://private/uploads/", "--profile", "zs"],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("would copy 1 object"), "{stdout}");
    assert!(
        stdout.contains("-> s3://private/uploads/notes.txt"),
        "{stdout}"
    );
    assert!(stdout.contains("dry run"), "{stdout}");
    assert!(!target.exists());
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.method != "PUT" && r.method != "POST")
    );

    let out = run(
        &home,
        &[
            "cp",
            local,
            "s3://private/uploads/",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("copied 1 of 1 object"));
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "hello from zarrscope\n"
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.method == "PUT" && r.signed)
    );
}

#[test]
fn cp_within_a_bucket_is_server_side_and_download_works() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &[
            "cp",
            "-r",
            "s3://private/nwm-chrtout-v2.zarr",
            "s3://private/copy.zarr",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    let (src_n, src_b) = disk_usage(&server.bucket_dir(PRIVATE).join("nwm-chrtout-v2.zarr"));
    assert_eq!(
        disk_usage(&server.bucket_dir(PRIVATE).join("copy.zarr")),
        (src_n, src_b)
    );
    // Server-side: no object was downloaded.
    assert!(
        server
            .requests()
            .iter()
            .filter(|r| r.method == "GET")
            .all(|r| r.query.contains("list-type=2")),
        "{:?}",
        log_lines(&server)
    );
    // The copy is a Zarr store zarrscope can read.
    let out = run(
        &home,
        &["tree", "s3://private/copy.zarr", "--profile", "zs"],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("streamflow"));

    // Download one object to a local directory.
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        &home,
        &[
            "cp",
            "s3://private/copy.zarr/.zmetadata",
            dir.path().to_str().unwrap(),
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    assert_eq!(
        std::fs::read(dir.path().join(".zmetadata")).unwrap(),
        std::fs::read(
            server
                .bucket_dir(PRIVATE)
                .join("nwm-chrtout-v2.zarr/.zmetadata")
        )
        .unwrap()
    );
    // Between buckets the bytes are streamed through (GET, then PUT).
    server.reset();
    let out = run(
        &home,
        &[
            "cp",
            "s3://public/make_fixtures.py",
            "s3://private/from-public/",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    assert_eq!(
        std::fs::read(
            server
                .bucket_dir(PRIVATE)
                .join("from-public/make_fixtures.py")
        )
        .unwrap(),
        std::fs::read(server.bucket_dir(PUBLIC).join("make_fixtures.py")).unwrap()
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path == "/public/make_fixtures.py")
    );

    // A local directory, recursively.
    let up = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(up.path().join("sub")).unwrap();
    std::fs::write(up.path().join("a.txt"), "a").unwrap();
    std::fs::write(up.path().join("sub/b.txt"), "b").unwrap();
    let out = run(
        &home,
        &[
            "cp",
            "-r",
            up.path().to_str().unwrap(),
            "s3://private/upload-dir",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("copied 2 of 2 objects"));
    assert_eq!(
        std::fs::read_to_string(server.bucket_dir(PRIVATE).join("upload-dir/sub/b.txt")).unwrap(),
        "b"
    );

    // Without -r a prefix is explained, not copied.
    let out = run(
        &home,
        &[
            "cp",
            "s3://private/copy.zarr",
            "s3://private/x",
            "--profile",
            "zs",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("add -r"));
}

#[test]
fn mv_moves_after_confirming_and_keeps_the_source_when_delete_is_refused() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PRIVATE);
    std::fs::write(bucket.join("a.txt"), "alpha").unwrap();
    std::fs::write(bucket.join("b.txt"), "bravo").unwrap();

    // `name` moved into moved/, signed, with `extra` arguments.
    let mv = |name: &str, extra: &[&str]| {
        let from = format!("s3://private/{name}");
        let to = format!("s3://private/moved/{name}");
        let args = [&["mv", from.as_str(), to.as_str()][..], extra].concat();
        run(&home, &signed(&args))
    };
    let out = mv("a.txt", &[]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("would move 1 object"));
    assert!(bucket.join("a.txt").exists() && !bucket.join("moved/a.txt").exists());

    let out = mv("a.txt", &["--yes"]);
    assert_ok(&out);
    assert!(!bucket.join("a.txt").exists());
    assert_eq!(
        std::fs::read_to_string(bucket.join("moved/a.txt")).unwrap(),
        "alpha"
    );
    // Confirmed by a HEAD of the copy before the DELETE of the source.
    let log = server.requests();
    let head = log
        .iter()
        .rposition(|r| r.method == "HEAD" && r.path.ends_with("/moved/a.txt"));
    // (object_store deletes with a DeleteObjects POST.)
    let delete = log
        .iter()
        .rposition(|r| (r.method == "DELETE" && r.path.ends_with("/a.txt")) || r.query == "delete");
    assert!(
        head.is_some() && delete.is_some() && head < delete,
        "{:?}",
        log_lines(&server)
    );

    // The server refuses deletes: the copy is made, the source stays, and the
    // report says so.
    server.deny("DeleteObject");
    server.deny("DeleteObjects");
    let out = mv("b.txt", &["--yes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("mv stopped after 0 of 1 objects"), "{err}");
    assert!(err.contains("deleting the source failed"), "{err}");
    assert!(err.contains("both copies exist"), "{err}");
    assert!(bucket.join("b.txt").exists());
    assert_eq!(
        std::fs::read_to_string(bucket.join("moved/b.txt")).unwrap(),
        "bravo"
    );
}

#[test]
fn rm_needs_r_for_a_prefix_shows_the_plan_and_deletes_only_with_yes() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = server.bucket_dir(PRIVATE).join("quirks-v2.zarr");
    let (objects, _) = disk_usage(&store);

    let out = run(
        &home,
        &["rm", "s3://private/quirks-v2.zarr", "--profile", "zs"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains(&format!("holding {objects} objects")), "{err}");
    assert!(err.contains("-r"), "{err}");

    let out = run(
        &home,
        &["rm", "-r", "s3://private/quirks-v2.zarr", "--profile", "zs"],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains(&format!("would delete {objects} objects")));
    assert!(store.join(".zmetadata").exists());
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.method != "DELETE" && r.method != "POST")
    );

    let out = run(
        &home,
        &[
            "rm",
            "-r",
            "s3://private/quirks-v2.zarr",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains(&format!("deleted {objects} of {objects} objects")));
    assert_eq!(disk_usage(&store).0, 0);

    // A refused delete is reported per key, exit 2.
    std::fs::write(server.bucket_dir(PRIVATE).join("keep.txt"), "k").unwrap();
    server.deny("DeleteObject");
    server.deny("DeleteObjects");
    let out = run(
        &home,
        &["rm", "s3://private/keep.txt", "--profile", "zs", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not deleted"),
        "{}",
        text(&out.stderr)
    );
    assert!(server.bucket_dir(PRIVATE).join("keep.txt").exists());
}

#[test]
fn mkdir_creates_a_bucket_only_with_yes_and_explains_prefixes() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(&home, &["mkdir", "s3://fresh-bucket", "--profile", "zs"]);
    assert_ok(&out);
    assert!(text(&out.stdout).contains("would create bucket s3://fresh-bucket"));
    // The dry run checks that the bucket does not exist yet: one HEAD.
    let log = server.requests();
    assert!(
        log.len() == 1 && log[0].method == "HEAD",
        "{:?}",
        log_lines(&server)
    );
    server.reset();

    let out = run(
        &home,
        &[
            "mkdir",
            "s3://fresh-bucket",
            "--profile",
            "zs",
            "--yes",
            "-v",
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("created bucket s3://fresh-bucket"));
    assert!(server.bucket_dir("fresh-bucket").is_dir());
    let log = server.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].method, "PUT");
    // The presigned URL must not leak into the -v log.
    assert!(!text(&out.stderr).contains("X-Amz-Signature"));

    let out = run(
        &home,
        &["mkdir", "s3://fresh-bucket", "--profile", "zs", "--yes"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );

    server.reset();
    let out = run(
        &home,
        &[
            "mkdir",
            "s3://private/some/prefix",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("S3 has no directories"));
    assert!(server.requests().is_empty());
}

#[test]
fn writes_are_refused_with_anon_before_any_request() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let e = server.endpoint.as_str();
    for args in [
        vec![
            "cp",
            "s3://public/make_fixtures.py",
            "s3://public/x.py",
            "--yes",
        ],
        vec![
            "mv",
            "s3://public/make_fixtures.py",
            "s3://public/x.py",
            "--yes",
        ],
        vec!["rm", "s3://public/make_fixtures.py", "--yes"],
        vec!["mkdir", "s3://newb", "--yes"],
    ] {
        let mut full = args.clone();
        full.extend(["--anon", "--endpoint-url", e]);
        let out = run(&home, &full);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains("--anon never writes"), "{args:?}");
        // The hint names the credentials of the backend written to (s3://
        // here), not every backend's (tests/backend_messages.rs has gs://
        // and az://).
        assert!(err.contains("AWS_PROFILE"), "{args:?}: {err}");
        for other in [
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AZURE_STORAGE_ACCOUNT_KEY",
        ] {
            assert!(!err.contains(other), "{args:?}: {err}");
        }
    }
    assert!(server.requests().is_empty());
    // No credentials at all: also refused, with what to configure.
    let empty_home = Home::new(e);
    std::fs::remove_dir_all(empty_home.dir.path().join(".aws")).unwrap();
    let out = run(
        &empty_home,
        &[
            "rm",
            "s3://public/make_fixtures.py",
            "--yes",
            "--endpoint-url",
            e,
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no credentials were found"));
    assert!(server.bucket_dir(PUBLIC).join("make_fixtures.py").exists());
}

// ---------------------------------------------------------------- secrets

#[test]
fn no_secret_appears_in_any_output_even_verbose() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let local = home.dir.path().join("up.txt");
    std::fs::write(&local, "x").unwrap();
    let local = local.to_str().unwrap();
    let download_dir = tempfile::tempdir().unwrap();
    let download = download_dir.path().to_str().unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["tree", "s3://private/nwm-chrtout-v2.zarr"],
        vec!["ls", "-l", "s3://private/"],
        vec!["ls", "-r", "--json", "s3://private/quirks-v2.zarr"],
        vec!["glob", "s3://private/*.zarr"],
        vec!["info", "s3://private/make_fixtures.py"],
        vec!["head", "-n", "2", "s3://private/make_fixtures.py"],
        vec!["cat", "s3://private/nwm-chrtout-v2.zarr/.zgroup"],
        vec!["du", "-d", "1", "s3://private/"],
        vec!["cp", local, "s3://private/up.txt", "--yes"],
        vec!["mv", "s3://private/up.txt", "s3://private/up2.txt", "--yes"],
        vec!["rm", "s3://private/up2.txt", "--yes"],
        vec!["mkdir", "s3://secret-test", "--yes"],
        vec!["ls", "s3://private/definitely-missing"],
        vec![
            "tree",
            "s3://private/nested-unconsolidated-v2.zarr",
            "--crawl",
        ],
        vec!["show", "s3://private/cf-small-v2.zarr", "--coords"],
        vec!["show", "s3://private/nwm-chrtout-v2.zarr", "streamflow"],
        vec!["check", "s3://private/stale-v2.zarr"],
        vec![
            "diff",
            "s3://private/nested-v2.zarr",
            "s3://private/stale-v2.zarr",
        ],
        vec![
            "consolidate",
            "s3://private/nested-unconsolidated-v2.zarr",
            "--yes",
        ],
        vec![
            "cp",
            "s3://private/cf-small-v2.zarr/.zmetadata",
            download,
            "--yes",
        ],
    ];
    let mut seen = server.requests().len();
    for args in runs {
        for profile in ["zs", "wrong"] {
            let mut full = args.clone();
            full.extend(["--profile", profile, "-v"]);
            let out = run(&home, &full);
            let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert!(
                !all.contains(SECRET_KEY),
                "{full:?} printed the secret:\n{all}"
            );
            assert!(
                !all.contains(WRONG_SECRET),
                "{full:?} printed the secret:\n{all}"
            );
            if profile == "wrong" && args[0] != "mkdir" {
                assert_eq!(out.status.code(), Some(2), "{full:?}");
                assert!(all.contains("signature rejected"), "{full:?}: {all}");
            }
            // The signed runs must do their work, or the check above proves
            // nothing about the paths that print results: each reached the
            // server signed and ended as expected (a missing key, a stale
            // store being the two non-zero ones).
            if profile == "zs" {
                let (expected, says) = match args[0] {
                    "ls" if args[1].ends_with("definitely-missing") => {
                        (2, "nothing found at s3://private/definitely-missing")
                    }
                    "check" => (1, "s3://private/stale-v2.zarr: STALE"),
                    _ => (0, ""),
                };
                assert_eq!(out.status.code(), Some(expected), "{full:?}: {all}");
                assert!(all.contains(says), "{full:?}: {all}");
                // Signed in a header, or presigned in the query (listings).
                let answered = server.requests()[seen..].iter().any(|r| {
                    (r.signed || r.query.contains("X-Amz-Signature="))
                        && (200..300).contains(&r.status)
                });
                assert!(answered, "{full:?}: no signed request was answered");
            }
            seen = server.requests().len();
        }
    }
    // Nor in any file written: downloads, and what the server stored.
    let mut written = vec![download_dir.path().join(".zmetadata")];
    written.push(
        server
            .bucket_dir(PRIVATE)
            .join("nested-unconsolidated-v2.zarr/.zmetadata"),
    );
    for file in written {
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let body = String::from_utf8_lossy(&bytes);
        assert!(
            !body.contains(SECRET_KEY) && !body.contains(WRONG_SECRET),
            "{}",
            file.display()
        );
    }
}

// ---------------------------------------------------------------- listing pages

#[test]
fn listing_requests_are_counted_per_page() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    many_objects(&server, PUBLIC);
    let out = run(
        &home,
        &[
            "du",
            "s3://public/many",
            "--stats",
            "-v",
            "-b",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
    );
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("2500 objects"),
        "{}",
        text(&out.stdout)
    );
    let pages = server.requests().len();
    assert_eq!(
        pages,
        3,
        "S3 pages hold 1000 keys: {:?}",
        log_lines(&server)
    );
    // zarrscope's count matches the server's.
    assert_counted(&server, &text(&out.stderr));
}

// ---------------------------------------------------------------- region

/// The region lookup itself (object_store's `resolve_bucket_region`) only
/// talks to AWS; here a stand-in answers it, while the redirect, the switch
/// and the retried requests are real HTTP against a 301 responder and the S3
/// server.
#[tokio::test]
async fn a_wrong_region_answer_switches_to_the_bucket_region_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    use futures::TryStreamExt;
    use object_store::aws::AmazonS3Builder;
    use object_store::path::Path as Key;
    use object_store::{ObjectStore, ObjectStoreExt};
    use zarrscope::store::backend::s3::region::{BuildForRegion, RegionRedirect, ResolveRegion};

    const REDIRECT: &[u8] = b"HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: eu-central-1\r\nContent-Length: 77\r\nConnection: close\r\n\r\n<Error><Code>PermanentRedirect</Code><Message>wrong region</Message></Error>\r\n";
    let server = S3Server::start();
    let client = |endpoint: &str, region: &str| -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_bucket_name(PUBLIC)
                .with_endpoint(endpoint)
                .with_region(region)
                .with_allow_http(true)
                .with_skip_signature(true)
                .build()
                .unwrap(),
        )
    };
    for first_call in ["get", "list"] {
        let wrong = common::fixed_response_server(REDIRECT, 4);
        let lookups = Arc::new(AtomicUsize::new(0));
        let counter = lookups.clone();
        let resolve: ResolveRegion = Arc::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok("eu-central-1".to_string()) })
        });
        let endpoint = server.endpoint.clone();
        let rebuild: BuildForRegion = Arc::new(move |region: &str| {
            assert_eq!(region, "eu-central-1");
            Ok(client(&endpoint, region))
        });
        let notices = Arc::new(Mutex::new(Vec::new()));
        let store = RegionRedirect::new(
            client(&wrong, "us-east-1"),
            resolve,
            rebuild,
            notices.clone(),
        );
        let key = Key::from("nwm-chrtout-v2.zarr/.zgroup");
        if first_call == "list" {
            let listed: Vec<_> = store
                .list(Some(&Key::from("nwm-chrtout-v2.zarr")))
                .try_collect()
                .await
                .unwrap();
            assert!(!listed.is_empty());
        }
        let body = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("zarr_format"));
        store.head(&key).await.unwrap();
        assert_eq!(
            lookups.load(Ordering::SeqCst),
            1,
            "looked up once ({first_call})"
        );
        let notices = notices.lock().unwrap();
        assert!(notices[0].contains("--region eu-central-1"), "{notices:?}");
    }
}

#[test]
fn an_http_server_that_cannot_list_says_so_and_is_never_written() {
    const NOT_ALLOWED: &[u8] =
        b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let base = common::fixed_response_server(NOT_ALLOWED, 4);
    let home = Home::new("http://127.0.0.1:9");
    let out = run(&home, &["ls", &format!("{base}/data/"), "--retries", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("cannot list"), "{err}");
    let out = run(&home, &["rm", &format!("{base}/data/x"), "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("only reads"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_large_object_is_copied_in_parts_between_buckets() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let source = write_big_csv(&server);
    let out = run(
        &home,
        &[
            "cp",
            "s3://public/big.csv",
            "s3://private/big-copy.csv",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    let copy = server.bucket_dir(PRIVATE).join("big-copy.csv");
    assert_eq!(std::fs::read(copy).unwrap(), std::fs::read(source).unwrap());
    // Multipart: initiated with POST ?uploads, parts PUT with partNumber.
    let log = server.requests();
    assert!(
        log.iter()
            .any(|r| r.method == "POST" && r.query.contains("uploads"))
    );
    assert!(
        log.iter()
            .filter(|r| r.query.contains("partNumber"))
            .count()
            >= 3
    );
}
