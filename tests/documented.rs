//! Features the README and --help document, each held to its documented
//! behaviour against the real S3 test server or the bundled fixtures:
//! --connect-timeout, glob's `?`/`[…]`/`{a,b}`, `du -d 2`, the abort of a
//! failed multipart upload, `mv -r`, the JSON key order, the old `zmetadata`
//! spelling, bare NaN through `consolidate`, `check --strict`, and session
//! tokens (environment and credential_process) that never reach the output.

mod common;

use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use common::cli::signed;
use common::inspect::write_file;
use common::{
    ACCESS_KEY, Home, PRIVATE, PUBLIC, S3Server, SECRET_KEY, WRONG_SECRET, anon, assert_code,
    assert_ok, json, run, text,
};
use serde_json::Value;

/// Every file below `dir`, relative path → contents.
fn tree_of(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

// ------------------------------------------------------- --connect-timeout

/// A listener on 127.0.0.1 whose accept queue is full and never drained:
/// Linux drops further SYNs, so a new connection hangs in connect(2). The
/// returned streams hold the queue full; drop them after the test.
fn listener_that_never_accepts() -> (std::net::TcpListener, Vec<std::net::TcpStream>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // listen(2) again on a listening socket sets its backlog: 0 leaves room
    // for one queued connection.
    // SAFETY: a valid socket descriptor owned by `listener`.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..16 {
        // Loopback answers a SYN at once; no answer within 500 ms means the
        // SYN was dropped, i.e. the queue is full.
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(stream) => held.push(stream),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (listener, held),
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    panic!(
        "the accept queue never filled ({} connections queued)",
        held.len()
    );
}

#[test]
fn connect_timeout_is_named_when_nothing_accepts_the_connection() {
    let (listener, _held) = listener_that_never_accepts();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let home = Home::new(&endpoint);
    // A read (GET through object_store) and a listing (zarrscope's own LIST).
    for args in [
        vec!["tree", "s3://b/s.zarr"],
        vec!["ls", "s3://b/"],
        vec!["ls", "s3://b/", "-v"],
    ] {
        let mut args = args;
        args.extend(["--anon", "--retries", "0", "--connect-timeout", "1s"]);
        args.extend(["--endpoint-url", &endpoint]);
        let out = run(&home, &args);
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "error: timed out connecting to {endpoint}: no connection within --connect-timeout 1s"
            )),
            "{args:?}: {err}"
        );
        assert!(err.contains("longer --connect-timeout"), "{err}");
        assert!(out.stdout.is_empty());
    }
    // Signed with a session token: the presigned listing URL that failed
    // holds the token, and the error must not show it.
    let out = home
        .zarrscope()
        .args([
            "ls",
            "s3://b/",
            "-v",
            "--retries",
            "0",
            "--connect-timeout",
            "1s",
        ])
        .args(["--endpoint-url", &endpoint])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("timed out connecting to"),
        "{}",
        text(&out.stderr)
    );
    assert_no_secrets(&out, "signed ls at a full accept queue");
    assert!(
        !text(&out.stderr).contains("X-Amz-"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_listing_at_a_refused_port_says_connection_refused() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let home = Home::new(&endpoint);
    let out = run(
        &home,
        &["ls", "s3://b/", "--anon", "--retries", "0"]
            .into_iter()
            .chain(["--endpoint-url", endpoint.as_str()])
            .collect::<Vec<_>>(),
    );
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("error: connection refused by {endpoint}")),
        "{err}"
    );
}

// ---------------------------------------------------------------- glob

#[test]
fn glob_question_mark_classes_and_alternatives_match_exactly() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let g = server.bucket_dir(PUBLIC).join("g");
    for name in [
        "a1.txt", "a2.txt", "a10.txt", "b1.txt", "c1.csv", "c1.txt", "x/k.txt", "y/k.txt",
        "z/k.txt",
    ] {
        write_file(&g.join(name), name.as_bytes());
    }
    for (pattern, expected) in [
        // `?` is exactly one character: not a10.txt.
        ("a?.txt", vec!["a1.txt", "a2.txt"]),
        ("[ab]1.txt", vec!["a1.txt", "b1.txt"]),
        ("[!a]1.*", vec!["b1.txt", "c1.csv", "c1.txt"]),
        ("[a-b]?.txt", vec!["a1.txt", "a2.txt", "b1.txt"]),
        ("c1.{csv,txt}", vec!["c1.csv", "c1.txt"]),
        ("{a,b}1.txt", vec!["a1.txt", "b1.txt"]),
        // In a directory segment: each alternative's directory is listed.
        ("{x,y}/*.txt", vec!["x/k.txt", "y/k.txt"]),
        ("[xz]", vec!["x/", "z/"]),
    ] {
        let url = format!("s3://public/g/{pattern}");
        let out = run(&home, &anon(&server, &["glob", &url]));
        let stdout = assert_ok(&out);
        let got: Vec<&str> = stdout.lines().collect();
        let want: Vec<String> = expected
            .iter()
            .map(|k| format!("s3://public/g/{k}"))
            .collect();
        assert_eq!(got, want, "{pattern}");
    }
}

// ---------------------------------------------------------------- du

#[test]
fn du_depth_two_prints_each_path_two_levels_down() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let d = server.bucket_dir(PUBLIC).join("d");
    for (name, body) in [
        ("p/q/f1", "1234567"),
        ("p/q/f2", "123456789"),
        ("p/r/f3", "12345678"),
        ("s/f4", "123456"),
        ("top", "12345"),
    ] {
        write_file(&d.join(name), body.as_bytes());
    }
    let out = run(&home, &anon(&server, &["du", "-d", "2", "s3://public/d"]));
    assert_eq!(
        assert_ok(&out),
        "          16           2 objects  s3://public/d/p/q/\n\
         \x20          8            1 object  s3://public/d/p/r/\n\
         \x20          6            1 object  s3://public/d/s/f4\n\
         \x20          5            1 object  s3://public/d/top\n\
         \x20         35           5 objects  s3://public/d  (total)\n"
    );
    let out = run(
        &home,
        &anon(&server, &["du", "-d", "2", "--json", "s3://public/d"]),
    );
    let doc = json(&out);
    assert_eq!(
        (doc["objects"].as_u64(), doc["bytes"].as_u64()),
        (Some(5), Some(35))
    );
    assert_eq!(
        doc["children"],
        serde_json::json!([
            {"name": "p/q/", "objects": 2, "bytes": 16},
            {"name": "p/r/", "objects": 1, "bytes": 8},
            {"name": "s/f4", "objects": 1, "bytes": 6},
            {"name": "top", "objects": 1, "bytes": 5}
        ])
    );
}

// ---------------------------------------------------- multipart abort, mv -r

/// Files the server keeps for multipart uploads not completed or aborted
/// (s3s-fs: `.upload-ID.json` and `.upload_id-ID.part-N` in its root).
fn pending_uploads(server: &S3Server) -> Vec<String> {
    let root = server.bucket_dir(PRIVATE).parent().unwrap().to_path_buf();
    std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".upload"))
        .collect()
}

#[test]
fn a_multipart_upload_that_fails_midway_is_aborted_and_leaves_nothing() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // Six 16 MiB parts: more than the four kept in flight, so the failure
    // of the first parts is seen while the source is still being read.
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("big.bin");
    let body: Vec<u8> = (0..90 * 1024 * 1024u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&source, &body).unwrap();
    drop(body);
    server.deny("UploadPart");
    let out = run(
        &home,
        &signed(&[
            "cp",
            source.to_str().unwrap(),
            "s3://private/up/big.bin",
            "--yes",
            "--retries",
            "0",
        ]),
    );
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("writing the destination failed"), "{err}");
    let log = server.requests();
    let created = log
        .iter()
        .filter(|r| r.method == "POST" && r.query.contains("uploads"))
        .count();
    assert_eq!(created, 1, "{log:?}");
    let aborts: Vec<_> = log
        .iter()
        .filter(|r| r.method == "DELETE" && r.query.contains("uploadId="))
        .collect();
    assert_eq!(aborts.len(), 1, "AbortMultipartUpload: {log:?}");
    assert_eq!(aborts[0].key(), Some("up/big.bin"));
    assert_eq!(aborts[0].status, 204, "{:?}", aborts[0]);
    assert!(
        !log.iter()
            .any(|r| r.method == "POST" && r.query.contains("uploadId=")),
        "never completed: {log:?}"
    );
    assert!(!server.bucket_dir(PRIVATE).join("up/big.bin").exists());
    assert_eq!(pending_uploads(&server), Vec::<String>::new());
}

#[test]
fn mv_recursive_moves_every_byte_and_removes_the_source() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PRIVATE);
    let before = tree_of(&bucket.join("nested-v2.zarr"));
    assert!(before.len() > 10);
    let out = run(
        &home,
        &signed(&[
            "mv",
            "-r",
            "s3://private/nested-v2.zarr",
            "s3://private/moved/nested.zarr",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert_eq!(tree_of(&bucket.join("moved/nested.zarr")), before);
    assert!(
        !bucket.join("nested-v2.zarr").exists()
            || tree_of(&bucket.join("nested-v2.zarr")).is_empty(),
        "left behind: {:?}",
        tree_of(&bucket.join("nested-v2.zarr")).keys()
    );
    // Nothing else in the bucket was touched.
    assert_eq!(
        tree_of(&bucket.join("nwm-chrtout-v2.zarr")),
        tree_of(&common::repo_root().join("fixtures/nwm-chrtout-v2.zarr"))
    );
}

// ------------------------------------------------------- JSON key order

#[test]
fn tree_json_keeps_its_documented_key_order() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &anon(&server, &["tree", "--json", "s3://public/cf-small-v2.zarr"]),
    );
    let doc: Value = json(&out);
    assert_eq!(doc["url"], "s3://public/cf-small-v2.zarr");
    // The output itself is the snapshot: a key moved is a changed line.
    insta::assert_snapshot!("tree_json_cf_small_v2", text(&out.stdout));
}

// ------------------------------------------------------- zmetadata

#[test]
fn consolidated_metadata_named_zmetadata_without_the_dot_is_read() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = server.bucket_dir(PUBLIC).join("old-spelling.zarr");
    common::copy_dir(&common::repo_root().join("fixtures/nested-v2.zarr"), &store);
    std::fs::rename(store.join(".zmetadata"), store.join("zmetadata")).unwrap();
    let expected = json(&run(
        &home,
        &anon(&server, &["tree", "--json", "s3://public/nested-v2.zarr"]),
    ));
    server.reset();
    let out = run(
        &home,
        &anon(
            &server,
            &["tree", "--json", "s3://public/old-spelling.zarr"],
        ),
    );
    let doc = json(&out);
    assert_eq!(doc["consolidated"], true);
    assert_eq!(doc["crawled"], false);
    assert_eq!(doc["nodes"], expected["nodes"]);
    assert!(
        text(&out.stderr)
            .contains("read consolidated metadata from \"zmetadata\" (no leading dot)"),
        "{}",
        text(&out.stderr)
    );
    // The probes, then the old name: no node's own document was read.
    let keys: Vec<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.key().map(str::to_string))
        .collect();
    assert!(
        keys.contains(&"old-spelling.zarr/zmetadata".to_string()),
        "{keys:?}"
    );
    assert!(
        keys.iter().all(|k| k.matches('/').count() <= 1),
        "a node's own document was read: {keys:?}"
    );
}

// ------------------------------------------------------- bare NaN

#[test]
fn bare_nan_survives_consolidate_exactly_as_written() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = server.bucket_dir(PRIVATE).join("nan.zarr");
    // As zarr-python writes them: json.dumps(allow_nan=True) gives bare
    // NaN/Infinity tokens in attributes; fill values are the string "NaN",
    // or bare NaN from older writers.
    let documents = [
        (".zgroup", "{\n    \"zarr_format\": 2\n}"),
        (
            ".zattrs",
            "{\n    \"missing\": NaN,\n    \"range\": [\n        -Infinity,\n        Infinity\n    ],\n    \"title\": \"nan store\"\n}",
        ),
        (
            "a/.zarray",
            "{\n    \"chunks\": [\n        10\n    ],\n    \"compressor\": null,\n    \"dtype\": \"<f8\",\n    \"fill_value\": NaN,\n    \"filters\": null,\n    \"order\": \"C\",\n    \"shape\": [\n        10\n    ],\n    \"zarr_format\": 2\n}",
        ),
        (
            "a/.zattrs",
            "{\n    \"_ARRAY_DIMENSIONS\": [\n        \"x\"\n    ],\n    \"valid_max\": NaN\n}",
        ),
        (
            "b/.zarray",
            "{\n    \"chunks\": [\n        10\n    ],\n    \"compressor\": null,\n    \"dtype\": \"<f4\",\n    \"fill_value\": \"NaN\",\n    \"filters\": null,\n    \"order\": \"C\",\n    \"shape\": [\n        10\n    ],\n    \"zarr_format\": 2\n}",
        ),
    ];
    for (key, body) in documents {
        write_file(&store.join(key), body.as_bytes());
    }
    let url = "s3://private/nan.zarr";
    let out = run(&home, &signed(&["consolidate", url, "--yes"]));
    assert_ok(&out);
    let written = std::fs::read_to_string(store.join(".zmetadata")).unwrap();
    // Every document's own text is in it, bare NaN and all.
    for (key, body) in documents {
        assert!(
            written.contains(&format!("\"{key}\":{body}")),
            "{key} not spliced as written:\n{written}"
        );
    }
    // And it reads back: the tree is consolidated, NaN shown as the string.
    let tree = json(&run(&home, &signed(&["tree", "--json", url])));
    assert_eq!(tree["consolidated"], true);
    let node = |path: &str| {
        tree["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["path"] == path)
            .unwrap()
            .clone()
    };
    assert_eq!(node("/")["attributes"]["missing"], "NaN");
    assert_eq!(
        node("/")["attributes"]["range"],
        serde_json::json!(["-Infinity", "Infinity"])
    );
    assert_eq!(node("/a")["fill_value"], "NaN");
    assert_eq!(node("/a")["attributes"]["valid_max"], "NaN");
    assert_eq!(node("/b")["fill_value"], "NaN");
    let out = run(&home, &signed(&["check", url]));
    assert_code(&out, 0);
}

// ---------------------------------------------------------------- check --strict

#[test]
fn check_strict_fails_on_lint_warnings_only() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let warned = "s3://public/conflicting-dims-v2.zarr";
    let report = format!(
        "{warned}: consistent — the consolidated metadata of {warned} matches all 4 nodes\n\
         lint:\n  warning  /  dimension-size-conflict: dimension \"x\" has different sizes: \
         10 in /a, /c; 20 in /b; xarray refuses to open such a group\n"
    );
    // Without --strict a warning is reported and the store is consistent.
    let out = run(&home, &anon(&server, &["check", warned]));
    assert_code(&out, 0);
    assert_eq!(text(&out.stdout), report);
    // With --strict the same report, exit 1.
    let out = run(&home, &anon(&server, &["check", "--strict", warned]));
    assert_code(&out, 1);
    assert_eq!(text(&out.stdout), report);
    let out = run(
        &home,
        &anon(&server, &["check", "--strict", "--json", warned]),
    );
    assert_code(&out, 1);
    let doc = json(&out);
    assert_eq!(doc["stale"], false);
    assert_eq!(doc["findings"][0]["severity"], "warning");
    // Info findings only: --strict passes.
    let clean = "s3://public/nwm-chrtout-v2.zarr";
    let out = run(&home, &anon(&server, &["check", "--strict", clean]));
    assert_code(&out, 0);
    assert_eq!(
        text(&out.stdout),
        format!(
            "{clean}: consistent — the consolidated metadata of {clean} matches all 11 nodes\n\
             lint:\n  info     /time  small-chunks: uncompressed chunks of 5.2 KiB (< 1 MiB) \
             across 547 chunks: reads need many requests\n"
        )
    );
}

// ------------------------------------------------------- session tokens

const TOKEN: &str = "zs-token-MARKER-9d2e7a51c3";
const PROCESS_TOKEN: &str = "zs-proc-token-MARKER-5b8f0c";

/// No marker of a secret in either stream.
fn assert_no_secrets(out: &std::process::Output, context: &str) {
    for stream in [text(&out.stdout), text(&out.stderr)] {
        for secret in [SECRET_KEY, WRONG_SECRET, TOKEN, PROCESS_TOKEN] {
            assert!(
                !stream.contains(secret),
                "{context}: {secret} in:\n{stream}"
            );
        }
    }
}

/// The session tokens the server received, one per request.
fn tokens_received(server: &S3Server) -> Vec<Option<String>> {
    server
        .requests()
        .into_iter()
        .map(|r| r.security_token)
        .collect()
}

/// Commands that sign a GET, a presigned LIST, a HEAD.
fn signed_commands() -> Vec<Vec<&'static str>> {
    vec![
        vec!["tree", "s3://private/nwm-chrtout-v2.zarr", "-v", "--stats"],
        vec!["ls", "-l", "s3://private/nwm-chrtout-v2.zarr/", "-v"],
        vec!["info", "s3://private/nwm-chrtout-v2.zarr/.zmetadata", "-v"],
    ]
}

#[test]
fn a_session_token_from_the_environment_is_sent_and_never_printed() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    for (secret, ok) in [(SECRET_KEY, true), (WRONG_SECRET, false)] {
        for args in signed_commands() {
            server.reset();
            let out = home
                .zarrscope()
                .args(&args)
                .args(["--retries", "0", "--endpoint-url", &server.endpoint])
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", secret)
                .env("AWS_SESSION_TOKEN", TOKEN)
                .output()
                .unwrap();
            let context = format!("{args:?} with {secret}");
            if ok {
                assert_ok(&out);
            } else {
                assert_code(&out, 2);
                assert!(
                    text(&out.stderr).contains("signature rejected"),
                    "{context}: {}",
                    text(&out.stderr)
                );
            }
            assert_no_secrets(&out, &context);
            let tokens = tokens_received(&server);
            assert!(!tokens.is_empty(), "{context}");
            assert!(
                tokens.iter().all(|t| t.as_deref() == Some(TOKEN)),
                "{context}: {tokens:?}"
            );
        }
    }
}

#[test]
fn credentials_from_credential_process_are_used_and_never_printed() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let aws = home.dir.path().join(".aws");
    for (profile, secret) in [("proc", SECRET_KEY), ("proc-wrong", WRONG_SECRET)] {
        let script = aws.join(format!("{profile}.sh"));
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"{ACCESS_KEY}\", \
                 \"SecretAccessKey\": \"{secret}\", \"SessionToken\": \"{PROCESS_TOKEN}\"}}'\n"
            ),
        )
        .unwrap();
        let mut config = std::fs::OpenOptions::new()
            .append(true)
            .open(aws.join("config"))
            .unwrap();
        std::io::Write::write_all(
            &mut config,
            format!(
                "\n[profile {profile}]\nendpoint_url = {}\ncredential_process = sh {}\n",
                server.endpoint,
                script.display()
            )
            .as_bytes(),
        )
        .unwrap();
    }
    for (profile, ok) in [("proc", true), ("proc-wrong", false)] {
        for args in signed_commands() {
            server.reset();
            let out = home
                .zarrscope()
                .args(&args)
                .args(["--profile", profile, "--retries", "0"])
                .output()
                .unwrap();
            let context = format!("{args:?} --profile {profile}");
            if ok {
                assert_ok(&out);
            } else {
                assert_code(&out, 2);
                let err = text(&out.stderr);
                assert!(err.contains("signature rejected"), "{context}: {err}");
                assert!(err.contains(profile), "names the profile: {err}");
            }
            assert_no_secrets(&out, &context);
            let tokens = tokens_received(&server);
            assert!(!tokens.is_empty(), "{context}");
            assert!(
                tokens.iter().all(|t| t.as_deref() == Some(PROCESS_TOKEN)),
                "{context}: {tokens:?}"
            );
        }
    }
}
