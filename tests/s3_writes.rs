//! Writes never lose data, against the in-process S3 server (and the fault
//! server for slow and broken bodies): a copy into its own subtree is
//! refused, the dry run names what an overwrite replaces, `mkdir` works on a
//! server that wants a Content-Length, every request is counted, a slow
//! transfer is not cut off by the interactive timeout, `head -c` never
//! truncates silently, and symlinks out of a local source are not followed.

mod common;

use std::path::Path;
use std::time::Duration;

use common::cli::signed;
use common::fault::{FaultServer, Reply};
use common::inspect::{assert_counted, log_lines, many_objects, write_file, writes_seen};
use common::{Home, PRIVATE, PUBLIC, S3Server, assert_code, assert_ok, run, stats_figure, text};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ------------------------------------------------- a copy into its own subtree

#[test]
fn a_move_or_copy_into_its_own_subtree_is_refused_before_any_write() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PRIVATE);
    write_file(&bucket.join("dir/a"), "outer a");
    write_file(&bucket.join("dir/sub/a"), "inner a");

    for (command, src, dst, says) in [
        (
            "mv",
            "s3://private/dir",
            "s3://private/dir/sub",
            "a subdirectory of itself",
        ),
        (
            "cp",
            "s3://private/dir/",
            "s3://private/dir/sub/",
            "a subdirectory of itself",
        ),
        // The reverse: out of a subtree into the prefix that holds it.
        (
            "mv",
            "s3://private/dir/sub",
            "s3://private/dir",
            "contains it",
        ),
        ("cp", "s3://private/dir", "s3://private/dir/", "onto itself"),
        // The bucket root holds everything in the bucket.
        (
            "cp",
            "s3://private",
            "s3://private/backup",
            "a subdirectory of itself",
        ),
    ] {
        server.reset();
        let out = run(
            &home,
            &[command, "-r", src, dst, "--profile", "zs", "--yes"],
        );
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains(says), "{command} {src} {dst}: {err}");
        assert!(err.contains(src.trim_end_matches('/')), "{err}");
        assert!(writes_seen(&server).is_empty(), "{:?}", log_lines(&server));
        assert_eq!(read(&bucket.join("dir/a")), "outer a");
        assert_eq!(read(&bucket.join("dir/sub/a")), "inner a");
    }

    // Prefix boundaries: `dir2` is not inside `dir`.
    let out = run(
        &home,
        &signed(&["mv", "-r", "s3://private/dir", "s3://private/dir2", "--yes"]),
    );
    assert_ok(&out);
    assert_eq!(read(&bucket.join("dir2/a")), "outer a");
    assert_eq!(read(&bucket.join("dir2/sub/a")), "inner a");
    assert!(!bucket.join("dir/a").exists());
}

// ------------------------------------------------- what an overwrite destroys

#[test]
fn the_dry_run_names_every_object_an_overwrite_replaces_with_both_sizes() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PRIVATE);
    write_file(&bucket.join("src/a.txt"), "alpha");
    write_file(&bucket.join("src/b.txt"), "bravo!!");
    write_file(&bucket.join("src/c.txt"), "charlie");
    write_file(&bucket.join("dst/a.txt"), "x".repeat(30));
    write_file(&bucket.join("dst/b.txt"), "bb");
    write_file(&bucket.join("dst/other.txt"), "kept");

    let out = run(
        &home,
        &signed(&["cp", "-r", "s3://private/src", "s3://private/dst"]),
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("2 existing objects would be replaced (32 B there now)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  s3://private/dst/a.txt  (30 B now, 5 B after)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  s3://private/dst/b.txt  (2 B now, 7 B after)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("\n  s3://private/dst/c.txt  ("),
        "{stdout}"
    );
    // One listing of each side, no HEAD per object.
    let log = server.requests();
    assert_eq!(log.len(), 2, "{:?}", log_lines(&server));
    assert!(
        log.iter()
            .all(|r| r.method == "GET" && r.query.contains("list-type=2"))
    );
    // Nothing changed.
    assert_eq!(read(&bucket.join("dst/a.txt")), "x".repeat(30));

    // --json carries the same: which item replaces what, and its size.
    let out = run(
        &home,
        &signed(&["cp", "-r", "s3://private/src", "s3://private/dst", "--json"]),
    );
    assert_ok(&out);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = plan["plan"]["items"].as_array().unwrap();
    let a = items
        .iter()
        .find(|i| i["to"] == "s3://private/dst/a.txt")
        .unwrap();
    assert_eq!(a["overwrites"], true);
    assert_eq!(a["replaced_size"], 30);

    // One object: one HEAD of the destination.
    server.reset();
    let out = run(
        &home,
        &signed(&["cp", "s3://private/src/a.txt", "s3://private/dst/b.txt"]),
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("(5 B, replaces 2 B there now)"), "{stdout}");
    assert!(
        stdout.contains("1 existing object would be replaced"),
        "{stdout}"
    );

    // When the destination cannot be checked, the dry run says so instead of
    // implying nothing is replaced.
    let local = home.dir.path().join("up.txt");
    std::fs::write(&local, "up").unwrap();
    server.deny("HeadObject");
    let out = run(
        &home,
        &signed(&["cp", local.to_str().unwrap(), "s3://private/dst/a.txt"]),
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("could not check what exists at the destination"),
        "{stdout}"
    );
    assert!(stdout.contains("403"), "{stdout}");
}

// ------------------------------------------------- mkdir

#[test]
fn mkdir_sends_a_content_length_and_its_dry_run_checks_the_bucket_once() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);

    // An existing bucket: one HEAD, and the plan says there is nothing to do.
    let out = run(&home, &["mkdir", "s3://private", "--profile", "zs"]);
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("already exists"), "{stdout}");
    assert!(!stdout.contains("would create"), "{stdout}");
    let log = server.requests();
    assert_eq!(log.len(), 1, "{:?}", log_lines(&server));
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str()),
        ("HEAD", "/private/")
    );

    // A missing one: would be created.
    server.reset();
    let out = run(
        &home,
        &["mkdir", "s3://new-bucket", "--profile", "zs", "--stats"],
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("would create bucket s3://new-bucket"));
    assert_eq!(server.requests().len(), 1);
    assert_eq!(stats_figure(&text(&out.stderr), "requests"), 1);
    assert!(!server.bucket_dir("new-bucket").exists());

    // --yes: the server (like S3) refuses a PUT without Content-Length.
    server.reset();
    let out = run(
        &home,
        &["mkdir", "s3://new-bucket", "--profile", "zs", "--yes"],
    );
    assert_ok(&out);
    assert!(server.bucket_dir("new-bucket").is_dir());
    let log = server.requests();
    assert_eq!(log.len(), 1, "{:?}", log_lines(&server));
    assert_eq!((log[0].method.as_str(), log[0].status), ("PUT", 200));
}

// ------------------------------------------------- every request counted

#[test]
fn every_request_is_counted_and_logged_batch_deletes_and_upload_parts_too() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    many_objects(&server, PRIVATE);
    let out = run(
        &home,
        &signed(&["rm", "-r", "s3://private/many", "--yes", "--stats", "-v"]),
    );
    assert_ok(&out);
    assert!(text(&out.stdout).contains("deleted 2500 of 2500 objects"));
    let log = server.requests();
    // 3 listing pages, then DeleteObjects of at most 1000 keys each.
    let posts = log.iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 3, "{:?}", log_lines(&server));
    let err = text(&out.stderr);
    assert_counted(&server, &err);
    assert_eq!(
        err.lines().filter(|l| l.contains("POST (delete)")).count(),
        3,
        "{err}"
    );
    assert!(err.contains("(1000 keys, 1000 deleted)"), "{err}");
    assert!(err.contains("(500 keys, 500 deleted)"), "{err}");

    // A multipart copy between buckets: create, each part, complete.
    let big: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(server.bucket_dir(PUBLIC).join("big.bin"), &big).unwrap();
    server.reset();
    let out = run(
        &home,
        &signed(&[
            "cp",
            "s3://public/big.bin",
            "s3://private/big.bin",
            "--yes",
            "--stats",
            "-v",
        ]),
    );
    assert_ok(&out);
    assert_eq!(
        std::fs::read(server.bucket_dir(PRIVATE).join("big.bin")).unwrap(),
        big
    );
    let log = server.requests();
    let parts = log
        .iter()
        .filter(|r| r.method == "PUT" && r.query.contains("partNumber"))
        .count();
    assert_eq!(parts, 2, "{:?}", log_lines(&server));
    let err = text(&out.stderr);
    assert_counted(&server, &err);
    assert_eq!(
        err.lines().filter(|l| l.contains("PUT (part)")).count(),
        2,
        "{err}"
    );
    assert!(err.contains("POST (complete)"), "{err}");
}

// ------------------------------------------------- slow transfers, failing sides

/// `b/slow.bin`: 1 MiB in 64 KiB pieces, one every 100 ms (1.6 s in all);
/// `b/stall.bin`: the first piece, then nothing for an hour (only the
/// command's timeout can end it); `b/cut.bin`: cut off after 100 KB.
fn slow_server() -> FaultServer {
    let body: Vec<u8> = (0..1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    FaultServer::start(move |path, _| match path {
        "/b/slow.bin" => Reply::Body {
            declared: Some(body.len() as u64),
            body: body.clone(),
            cut_after: None,
            pace: Some((64 * 1024, Duration::from_millis(100))),
        },
        "/b/stall.bin" => Reply::Body {
            declared: Some(body.len() as u64),
            body: body.clone(),
            cut_after: None,
            pace: Some((512 * 1024, Duration::from_secs(3600))),
        },
        "/b/cut.bin" => Reply::Body {
            declared: Some(body.len() as u64),
            body: body.clone(),
            cut_after: Some(100_000),
            pace: None,
        },
        _ => Reply::Status(404),
    })
}

#[test]
fn a_slow_transfer_outlives_the_timeout_while_bytes_arrive_and_errors_name_the_side() {
    let server = slow_server();
    let home = Home::new(&server.endpoint);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let cp = |key: &str| {
        run(
            &home,
            &[
                "cp",
                &format!("s3://b/{key}"),
                to,
                "--endpoint-url",
                &server.endpoint,
                "--timeout",
                "1s",
                "--retries",
                "0",
                "--yes",
                "-q",
            ],
        )
    };

    // 1.6 s of steady bytes with a 1 s timeout: the copy completes.
    let out = cp("slow.bin");
    assert_ok(&out);
    assert_eq!(
        std::fs::metadata(dir.path().join("slow.bin"))
            .unwrap()
            .len(),
        1024 * 1024
    );

    // A stalled body still ends at the timeout, and the error names the
    // source, not the destination.
    let out = cp("stall.bin");
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("reading the source failed"), "{err}");
    assert!(err.contains("s3://b/stall.bin"), "{err}");
    assert!(err.contains("timed out"), "{err}");

    let out = cp("cut.bin");
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("reading the source failed"), "{err}");
    assert!(err.contains("s3://b/cut.bin"), "{err}");
}

#[test]
fn a_refused_upload_names_the_destination() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let local = home.dir.path().join("up.txt");
    std::fs::write(&local, "up").unwrap();
    server.deny("PutObject");
    let out = run(
        &home,
        &signed(&[
            "cp",
            local.to_str().unwrap(),
            "s3://private/up.txt",
            "--yes",
        ]),
    );
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("writing the destination failed"), "{err}");
    assert!(err.contains("s3://private/up.txt"), "{err}");
}

// ------------------------------------------------- head -c and the budget

#[test]
fn head_c_beyond_the_byte_budget_says_so_instead_of_truncating() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let body: Vec<u8> = (0..1024 * 1024u32).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(server.bucket_dir(PUBLIC).join("m.txt"), &body).unwrap();
    let e = server.endpoint.as_str();
    let head = |extra: &[&str]| {
        let mut args = vec!["head", "s3://public/m.txt", "--anon", "--endpoint-url", e];
        args.extend_from_slice(extra);
        run(&home, &args)
    };

    // More than the budget, and the object holds more than the budget.
    let out = head(&["-c", "2MiB", "--max-bytes", "512KiB", "--stats"]);
    assert_code(&out, 2);
    assert!(out.stdout.is_empty(), "nothing printed");
    let err = text(&out.stderr);
    assert!(err.contains("byte budget"), "{err}");
    assert!(err.contains("--max-bytes 1048576"), "{err}");
    assert!(err.contains("bytes: 0 "), "the body is not read: {err}");

    // Within the budget: exactly what was asked.
    let out = head(&["-c", "100KiB", "--max-bytes", "512KiB"]);
    assert_ok(&out);
    assert_eq!(out.stdout, body[..100 * 1024]);

    // More than the object, within the budget: the whole object.
    let out = head(&["-c", "2MiB", "--max-bytes", "4MiB"]);
    assert_ok(&out);
    assert_eq!(out.stdout, body);

    // The default budget (64 MiB) is the limit for -c 100MiB of a larger object.
    let big = std::fs::File::create(server.bucket_dir(PUBLIC).join("big.bin")).unwrap();
    big.set_len(80 * 1024 * 1024).unwrap();
    let out = run(
        &home,
        &[
            "head",
            "-c",
            "100MiB",
            "s3://public/big.bin",
            "--anon",
            "--endpoint-url",
            e,
        ],
    );
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("byte budget of 64.0 MiB"), "{err}");
    assert!(err.contains("--max-bytes 83886080"), "{err}");
}

// ------------------------------------------------- symlinks in local uploads

#[cfg(unix)]
#[test]
fn a_local_upload_does_not_follow_symlinks_out_of_the_source_and_names_them() {
    use std::os::unix::fs::symlink;
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    write_file(&outside.join("secret.txt"), "SECRET");
    let up = tmp.path().join("up");
    write_file(&up.join("a.txt"), "a");
    symlink(outside.join("secret.txt"), up.join("secret-link")).unwrap();
    symlink(&outside, up.join("dir-link")).unwrap();
    // A link that stays inside the tree is followed as before.
    symlink(up.join("a.txt"), up.join("alias.txt")).unwrap();
    let up_arg = up.to_str().unwrap();

    let out = run(
        &home,
        &["cp", "-r", up_arg, "s3://private/up", "--profile", "zs"],
    );
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("would copy 2 objects"), "{stdout}");
    assert!(
        stdout.contains("2 files not copied: reached through a symlink"),
        "{stdout}"
    );
    assert!(stdout.contains("up/secret-link -> "), "{stdout}");
    assert!(stdout.contains("up/dir-link/secret.txt -> "), "{stdout}");

    let out = run(
        &home,
        &signed(&["cp", "-r", up_arg, "s3://private/up", "--yes"]),
    );
    assert_ok(&out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("secret-link"), "{stderr}");
    // The same lines as the dry run's, as one warning: no blank line after.
    assert!(
        stderr.contains(
            "warning: 2 files not copied: reached through a symlink that leads out of the source:\n  "
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("\n\n"), "{stderr}");
    let bucket = server.bucket_dir(PRIVATE);
    assert_eq!(read(&bucket.join("up/a.txt")), "a");
    assert_eq!(read(&bucket.join("up/alias.txt")), "a");
    assert!(!bucket.join("up/secret-link").exists());
    assert!(!bucket.join("up/dir-link").exists());
}

#[test]
fn a_fifo_in_a_local_source_is_refused_by_name_not_waited_on() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let tmp = tempfile::tempdir().unwrap();
    let up = tmp.path().join("up");
    write_file(&up.join("a.txt"), "a");
    let fifo = tmp.path().join("pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo_arg = fifo.to_str().unwrap();
    // A lone FIFO as the source: nobody ever writes to it, so opening it for
    // reading would block forever.
    // A hang is killed by the runner's limit and fails the exit code check.
    let out = home
        .zarrscope()
        .args(["cp", fifo_arg, "s3://private/pipe", "--profile", "zs"])
        .args(["--yes", "--timeout", "2s"])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    let status = out.status;
    let err = text(&out.stderr);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("pipe"), "{err}");
    assert!(!server.bucket_dir(PRIVATE).join("pipe").exists());
}

// ------------------------------------- copies past S3's CopyObject cap

/// The stand-in cap for these tests (S3: 5 GiB). Parts other than the last
/// must hold at least 5 MiB, as on S3, so the cap stays above that.
const CAP: u64 = 6 * 1024 * 1024;

/// The size the copies in parts use: three part copies under [`CAP`].
const OVER_CAP: u64 = 15 * 1024 * 1024 + 37;

/// A body of `len` bytes that no shifted copy of itself equals.
fn patterned(len: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i % 251) as u8 ^ (i >> 20) as u8)
        .collect()
}

/// The test's own S3 client on `server` (signed), for what the CLI does not
/// show: writing an object with headers, reading them back.
fn s3_client(server: &S3Server, bucket: &str) -> object_store::aws::AmazonS3 {
    object_store::aws::AmazonS3Builder::new()
        .with_endpoint(&server.endpoint)
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id(common::ACCESS_KEY)
        .with_secret_access_key(common::SECRET_KEY)
        .with_allow_http(true)
        .build()
        .unwrap()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

/// The content type and `x-amz-meta-origin` of `bucket/key`, via HEAD.
fn headers_of(server: &S3Server, bucket: &str, key: &str) -> (Option<String>, Option<String>) {
    use object_store::{Attribute, GetOptions, ObjectStore};
    let client = s3_client(server, bucket);
    let path = zarrscope::keys::path(key).unwrap();
    let got = block_on(client.get_opts(
        &path,
        GetOptions {
            head: true,
            ..GetOptions::default()
        },
    ))
    .unwrap();
    let get = |a: &Attribute| got.attributes.get(a).map(|v| v.to_string());
    (
        get(&Attribute::ContentType),
        get(&Attribute::Metadata("origin".into())),
    )
}

/// The UploadPartCopy ranges the server was asked for, sorted.
fn part_ranges(server: &S3Server) -> Vec<String> {
    use common::copy_cap::CopyCall;
    let mut ranges: Vec<String> = server
        .copy_calls()
        .into_iter()
        .filter_map(|c| match c {
            CopyCall::UploadPartCopy { range, .. } => Some(range.unwrap_or_default()),
            _ => None,
        })
        .collect();
    ranges.sort_by_key(|r| {
        r.trim_start_matches("bytes=")
            .split('-')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
    });
    ranges
}

/// The ranges a 6 MiB cap gives for [`OVER_CAP`] bytes.
fn expected_ranges() -> Vec<String> {
    const MIB: u64 = 1024 * 1024;
    let size = OVER_CAP;
    vec![
        format!("bytes=0-{}", 6 * MIB - 1),
        format!("bytes={}-{}", 6 * MIB, 12 * MIB - 1),
        format!("bytes={}-{}", 12 * MIB, size - 1),
    ]
}

/// A server whose CopyObject refuses more than [`CAP`], holding
/// `private/big.bin` of [`OVER_CAP`] bytes; that body.
fn server_with_big_object() -> (S3Server, Vec<u8>) {
    let server = S3Server::start();
    server.set_copy_limit(CAP);
    let body = patterned(OVER_CAP);
    std::fs::write(server.bucket_dir(PRIVATE).join("big.bin"), &body).unwrap();
    (server, body)
}

/// `mv` of `private/big.bin` into `moved/`, signed, confirmed, with --stats.
fn mv_big_object(server: &S3Server) -> std::process::Output {
    let home = Home::new(&server.endpoint);
    run(
        &home,
        &signed(&[
            "mv",
            "s3://private/big.bin",
            "s3://private/moved/big.bin",
            "--yes",
            "--stats",
        ]),
    )
}

#[test]
fn a_copy_refused_as_too_large_is_made_in_parts_with_the_same_bytes_and_headers() {
    use common::copy_cap::CopyCall;
    use object_store::{Attribute, Attributes, ObjectStore, PutOptions};
    let server = S3Server::start();
    server.set_copy_limit(CAP);
    let home = Home::new(&server.endpoint);
    // An awkward key: a space, non-ASCII, '%' and '+' must reach the server
    // as themselves in the URL and in x-amz-copy-source.
    let key = "big dir/ünï +%41.bin";
    let body = patterned(OVER_CAP);
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, "application/x-zs-test".into());
    attributes.insert(Attribute::Metadata("origin".into()), "zs".into());
    block_on(s3_client(&server, PRIVATE).put_opts(
        &zarrscope::keys::path(key).unwrap(),
        body.clone().into(),
        PutOptions {
            attributes,
            ..PutOptions::default()
        },
    ))
    .unwrap();
    server.reset();

    let out = run(
        &home,
        &signed(&[
            "cp",
            &format!("s3://private/{key}"),
            "s3://private/copied/ünï +%41.bin",
            "--yes",
            "--stats",
            "-v",
        ]),
    );
    assert_ok(&out);
    let copied = server.bucket_dir(PRIVATE).join("copied/ünï +%41.bin");
    assert!(std::fs::read(&copied).unwrap() == body, "the bytes differ");

    // One CopyObject refused at the cap, then create, three part copies of
    // at most the cap, complete.
    let source = format!("private/{key}");
    let to = "private/copied/ünï +%41.bin".to_string();
    let calls = server.copy_calls();
    assert_eq!(
        calls.first(),
        Some(&CopyCall::CopyObject {
            source: source.clone(),
            to: to.clone(),
            refused: true
        }),
        "{calls:?}"
    );
    assert_eq!(
        calls[1],
        CopyCall::CreateMultipartUpload { to: to.clone() },
        "{calls:?}"
    );
    assert_eq!(part_ranges(&server), expected_ranges(), "{calls:?}");
    assert!(
        calls.iter().all(|c| match c {
            CopyCall::UploadPartCopy {
                source: s, refused, ..
            } => *s == source && !refused,
            _ => true,
        }),
        "{calls:?}"
    );
    assert_eq!(
        calls.last(),
        Some(&CopyCall::CompleteMultipartUpload { to, parts: 3 }),
        "{calls:?}"
    );
    assert_eq!(calls.len(), 6, "{calls:?}");
    assert_eq!(server.open_uploads(), 0);

    // Every request counted and logged, as the server saw them.
    let log = server.requests();
    let err = text(&out.stderr);
    assert_counted(&server, &err);
    assert_eq!(
        err.lines()
            .filter(|l| l.contains("PUT (part copy)"))
            .count(),
        3,
        "{err}"
    );
    assert!(
        log.iter().all(|r| r.status < 300 || r.query.is_empty()),
        "{:?}",
        log_lines(&server)
    );
    // What CopyObject would have kept: the content type, user metadata.
    assert_eq!(
        headers_of(&server, PRIVATE, "copied/ünï +%41.bin"),
        (Some("application/x-zs-test".into()), Some("zs".into()))
    );
}

#[test]
fn mv_in_parts_deletes_the_source_only_after_the_upload_completed_and_was_checked() {
    let (server, body) = server_with_big_object();
    let out = mv_big_object(&server);
    assert_ok(&out);
    assert!(!server.bucket_dir(PRIVATE).join("big.bin").exists());
    assert!(std::fs::read(server.bucket_dir(PRIVATE).join("moved/big.bin")).unwrap() == body);
    assert_eq!(part_ranges(&server), expected_ranges());
    let log = server.requests();
    let at = |what: &dyn Fn(&common::LoggedRequest) -> bool| {
        log.iter()
            .position(what)
            .unwrap_or_else(|| panic!("not in the log: {:?}", log_lines(&server)))
    };
    let complete = at(&|r| r.method == "POST" && r.query.starts_with("uploadId="));
    let checked = at(&|r| r.method == "HEAD" && r.path == "/private/moved/big.bin");
    // object_store deletes with DeleteObjects.
    let deleted = at(&|r| r.method == "POST" && r.query == "delete");
    assert!(
        complete < checked && checked < deleted,
        "{:?}",
        log_lines(&server)
    );
    assert_counted(&server, &text(&out.stderr));
}

#[test]
fn an_object_at_the_copy_cap_is_copied_by_one_copy_object() {
    use common::copy_cap::CopyCall;
    let server = S3Server::start();
    server.set_copy_limit(CAP);
    let home = Home::new(&server.endpoint);
    let body = patterned(CAP);
    std::fs::write(server.bucket_dir(PRIVATE).join("at-cap.bin"), &body).unwrap();
    let out = run(
        &home,
        &signed(&[
            "cp",
            "s3://private/at-cap.bin",
            "s3://private/at-cap-copy.bin",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert!(std::fs::read(server.bucket_dir(PRIVATE).join("at-cap-copy.bin")).unwrap() == body);
    assert_eq!(
        server.copy_calls(),
        [CopyCall::CopyObject {
            source: "private/at-cap.bin".into(),
            to: "private/at-cap-copy.bin".into(),
            refused: false
        }]
    );
    assert_eq!(
        writes_seen(&server),
        ["PUT /private/at-cap-copy.bin?"],
        "{:?}",
        log_lines(&server)
    );
}

#[test]
fn a_failing_part_aborts_the_upload_and_mv_keeps_its_source() {
    use common::copy_cap::CopyCall;
    let (server, body) = server_with_big_object();
    server.deny("UploadPartCopy");
    let out = mv_big_object(&server);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("failed at UploadPartCopy of part"), "{err}");
    assert!(err.contains("access denied (403)"), "{err}");
    assert!(err.contains("the unfinished upload was aborted"), "{err}");
    assert!(err.contains("source kept"), "{err}");
    // The source is whole; nothing was written; no upload is left open.
    assert!(std::fs::read(server.bucket_dir(PRIVATE).join("big.bin")).unwrap() == body);
    assert!(!server.bucket_dir(PRIVATE).join("moved/big.bin").exists());
    assert_eq!(server.open_uploads(), 0);
    let calls = server.copy_calls();
    assert_eq!(
        calls.last(),
        Some(&CopyCall::AbortMultipartUpload {
            to: "private/moved/big.bin".into()
        }),
        "{calls:?}"
    );
    let log = server.requests();
    let deletes: Vec<String> = log
        .iter()
        .filter(|r| r.method == "DELETE" || r.query == "delete")
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect();
    assert_eq!(deletes.len(), 1, "{:?}", log_lines(&server));
    assert!(
        deletes[0].starts_with("DELETE /private/moved/big.bin?uploadId="),
        "only the abort deletes: {deletes:?}"
    );
    assert_counted(&server, &err);
}

/// Between buckets, an object over S3's 5 GiB CopyObject cap is copied by
/// the server in parts, not streamed: the dry run says so for that object
/// alone. (A sparse file: 5 GiB + 1 byte that takes no disk.)
#[test]
fn the_dry_run_names_an_object_the_server_will_copy_in_parts() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let dir = server.bucket_dir(PUBLIC).join("sizes");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::File::create(dir.join("huge.bin"))
        .unwrap()
        .set_len(5 * 1024 * 1024 * 1024 + 1)
        .unwrap();
    std::fs::write(dir.join("small.bin"), b"small").unwrap();
    let out = run(
        &home,
        &signed(&["cp", "-r", "s3://public/sizes/", "s3://private/sizes/"]),
    );
    let plan = assert_ok(&out);
    assert!(plan.contains("by download and upload (streamed)"), "{plan}");
    let huge = plan.lines().find(|l| l.contains("huge.bin")).unwrap();
    assert!(huge.ends_with(", copied by the server in parts)"), "{plan}");
    let small = plan.lines().find(|l| l.contains("small.bin")).unwrap();
    assert!(!small.contains("in parts"), "{plan}");
    // A dry run: nothing was written.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| matches!(r.method.as_str(), "GET" | "HEAD")),
        "{:?}",
        server.requests()
    );
}
