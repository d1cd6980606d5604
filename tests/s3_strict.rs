//! The test server's strict mode, and zarrscope against what real S3 does:
//! PUTs without Content-Length are refused (411) and zarrscope always sends
//! one; a bucket whose caller lacks s3:ListBucket answers 403 (not 404) for
//! a missing key and refuses listings, and zarrscope still reads v2 and v3
//! stores there, signed and unsigned, and says which permission is missing
//! when it cannot.

mod common;

use common::inspect::log_lines;
use common::{Home, PRIVATE, PUBLIC, S3Server, anon, assert_code, assert_ok, run, text};

/// A server whose buckets both refuse listings (no s3:ListBucket), and a
/// home for it.
fn no_list_server() -> (S3Server, Home) {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    server.deny_list(PUBLIC);
    server.deny_list(PRIVATE);
    (server, home)
}

/// Each bucket with the arguments that read it: unsigned for the public
/// one, signed (profile zs) for the private one.
fn buckets_unsigned_and_signed(server: &S3Server) -> [(&'static str, Vec<&str>); 2] {
    [
        (PUBLIC, anon(server, &[])),
        (PRIVATE, vec!["--profile", "zs"]),
    ]
}

/// A raw HTTP/1.1 exchange with the server; the status code it answered.
fn raw_status(server: &S3Server, request: &str) -> u16 {
    use std::io::{Read, Write};
    let addr = server.endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // The status line is all we need; stop at the end of the headers.
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = text(&answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {answer:?}"))
}

#[test]
fn the_strict_server_refuses_a_put_without_length_and_zarrscope_always_sends_one() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);

    // The server: a chunked PUT (no Content-Length) is refused as S3 does.
    let chunked = "PUT /private/no-length.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\
                   Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    assert_eq!(raw_status(&server, chunked), 411);
    assert!(!server.bucket_dir(PRIVATE).join("no-length.txt").exists());

    // zarrscope: mkdir's PUT declares an empty body.
    server.reset();
    let out = run(
        &home,
        &["mkdir", "s3://new-bucket", "--profile", "zs", "--yes"],
    );
    assert_ok(&out);
    let log = server.requests();
    let put = log
        .iter()
        .find(|r| r.method == "PUT")
        .unwrap_or_else(|| panic!("no PUT: {:?}", log_lines(&server)));
    assert_eq!(put.header("Content-Length"), Some("0"), "{put:?}");
    assert_eq!(put.status, 200);

    // An upload declares the file's size.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("up.bin");
    std::fs::write(&file, vec![7u8; 12345]).unwrap();
    server.reset();
    let out = run(
        &home,
        &[
            "cp",
            file.to_str().unwrap(),
            "s3://private/up/up.bin",
            "--profile",
            "zs",
            "--yes",
        ],
    );
    assert_ok(&out);
    let log = server.requests();
    let puts: Vec<_> = log.iter().filter(|r| r.method == "PUT").collect();
    assert_eq!(puts.len(), 1, "{:?}", log_lines(&server));
    assert_eq!(puts[0].header("content-length"), Some("12345"));
    assert_eq!(puts[0].status, 200);
    // A batch delete carries the checksum S3 requires of it.
    server.reset();
    let out = run(
        &home,
        &["rm", "-r", "s3://private/up", "--profile", "zs", "--yes"],
    );
    assert_ok(&out);
    let log = server.requests();
    let post = log
        .iter()
        .find(|r| r.method == "POST" && r.query.contains("delete"))
        .unwrap_or_else(|| panic!("no DeleteObjects: {:?}", log_lines(&server)));
    assert!(post.header("content-md5").is_some(), "{post:?}");
    assert_eq!(post.status, 200);
    // Nothing a browser would add leaks out of a CLI.
    assert!(
        log.iter()
            .all(|r| r.header("referer").is_none() && r.header("cookie").is_none()),
        "{log:?}"
    );
}

#[test]
fn a_no_list_bucket_refuses_listings_and_answers_403_for_missing_keys_only() {
    // The server's switch, and `ls` naming the permission it lacks.
    let (server, home) = no_list_server();

    for (bucket, access) in buckets_unsigned_and_signed(&server) {
        // `command` on a path in the store, after a fresh log.
        let on_store = |command: &str, path: &str| {
            server.reset();
            let url = format!("s3://{bucket}/nwm-chrtout-v2.zarr/{path}");
            run(&home, &[&[command, url.as_str()][..], &access].concat())
        };
        // An existing key is served.
        assert_ok(&on_store("cat", ".zgroup"));
        // A missing one answers 403 AccessDenied, not 404.
        let out = on_store("cat", "no-such-key");
        assert_code(&out, 2);
        let log = server.requests();
        assert!(
            log.iter()
                .any(|r| r.key() == Some("nwm-chrtout-v2.zarr/no-such-key") && r.status == 403),
            "{:?}",
            log_lines(&server)
        );
        assert!(
            log.iter().all(|r| r.status != 404),
            "{:?}",
            log_lines(&server)
        );
        // A listing is refused.
        let out = on_store("ls", "");
        assert_code(&out, 2);
        // The error says it was the listing, and what listing needs.
        let err = text(&out.stderr);
        assert!(
            err.contains("listing of") && err.contains("s3:ListBucket"),
            "{err}"
        );
        let log = server.requests();
        assert!(
            log.iter()
                .any(|r| r.query.contains("list-type") && r.status == 403),
            "{:?}",
            log_lines(&server)
        );
    }
}

/// `tree` of each consolidated store in a no-list bucket, signed and unsigned.
#[test]
fn consolidated_v2_and_v3_stores_read_in_a_no_list_bucket_signed_and_unsigned() {
    let (server, home) = no_list_server();
    // (store, the probe that must have been refused, a node in the tree)
    let stores = [
        ("nwm-chrtout-v2.zarr", "zarr.json", "streamflow"),
        ("cf-small-v3.zarr", ".zmetadata", "flow"),
        // A URL inside a store: both first probes are refused, and the
        // second round trip finds the store's .zmetadata above it.
        ("nwm-chrtout-v2.zarr/streamflow", "zarr.json", "streamflow"),
    ];
    for (bucket, access) in buckets_unsigned_and_signed(&server) {
        for (store, refused, node) in stores {
            server.reset();
            let url = format!("s3://{bucket}/{store}");
            let args = [&["tree", url.as_str(), "--json"][..], &access].concat();
            let out = run(&home, &args);
            let stdout = assert_ok(&out);
            assert!(stdout.contains(node), "{url}: {stdout}");
            let log = server.requests();
            assert!(
                log.iter().any(|r| r.status == 403
                    && r.key().is_some_and(|k| k == format!("{store}/{refused}"))),
                "{url}: the {refused} probe was not refused: {:?}",
                log_lines(&server)
            );
            assert!(
                !log.iter().any(|r| r.query.contains("list-type")),
                "{url}: a consolidated store was listed: {:?}",
                log_lines(&server)
            );
        }
    }
}

#[test]
fn when_every_probe_is_refused_the_error_names_the_missing_permissions() {
    let (server, home) = no_list_server();
    let signers = ["unsigned requests", "profile zs"];
    for ((bucket, access), who) in buckets_unsigned_and_signed(&server)
        .into_iter()
        .zip(signers)
    {
        // The probes, and with --crawl the crawl's own first requests.
        for crawl in [None, Some("--crawl")] {
            let url = format!("s3://{bucket}/no-such-store.zarr");
            let mut args = [&["tree", url.as_str()][..], &access].concat();
            args.extend(crawl);
            let out = run(&home, &args);
            assert_code(&out, 2);
            let err = text(&out.stderr);
            for needle in [
                "access denied (403)",
                who,
                "s3:GetObject",
                "s3:ListBucket",
                "403 instead of 404",
            ] {
                assert!(err.contains(needle), "{args:?}: no {needle:?} in: {err}");
            }
        }
    }
}

/// A store without consolidated metadata must be listed to be read: in a
/// no-list bucket the error says so, signed and unsigned, v2 and v3, with
/// and without --crawl.
#[test]
fn a_crawl_in_a_no_list_bucket_says_listing_was_refused_and_needs_list_bucket() {
    let (server, home) = no_list_server();
    for (bucket, access) in buckets_unsigned_and_signed(&server) {
        for store in [
            "nested-unconsolidated-v2.zarr",
            "v3-nested-unconsolidated.zarr",
        ] {
            for crawl in [false, true] {
                let url = format!("s3://{bucket}/{store}");
                let mut args = [&["tree", url.as_str()][..], &access].concat();
                if crawl {
                    args.push("--crawl");
                }
                let out = run(&home, &args);
                assert_code(&out, 2);
                let err = text(&out.stderr);
                assert!(
                    err.contains("listing") && err.contains("refused (403)"),
                    "{args:?}: {err}"
                );
                assert!(err.contains("s3:ListBucket"), "{args:?}: {err}");
                assert!(err.contains("consolidate"), "{args:?}: {err}");
            }
        }
    }
}

/// Node names with punctuation, spaces, non-ASCII and literal percent
/// sequences (fixtures/make_awkward_fixtures.py): `tree` lists exactly the
/// nodes zarr-python lists (recorded when the stores were written), from
/// the consolidated metadata and by a crawl (listing, then a GET of every
/// such key), signed and unsigned.
#[test]
fn awkward_node_names_come_out_as_zarr_python_lists_them() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let recorded: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_root().join("fixtures/awkward-names.expected.json"))
            .unwrap(),
    )
    .unwrap();
    for store in ["awkward-names-v2.zarr", "awkward-names-v3.zarr"] {
        let expected: Vec<String> = recorded[store]
            .as_array()
            .unwrap_or_else(|| panic!("{store} not recorded"))
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        assert!(expected.iter().any(|p| p.contains("pct%41")));
        for (bucket, access) in buckets_unsigned_and_signed(&server) {
            for crawl in [false, true] {
                let url = format!("s3://{bucket}/{store}");
                let mut args = [&["tree", url.as_str(), "--json"][..], &access].concat();
                if crawl {
                    args.push("--crawl");
                }
                let doc = common::json(&run(&home, &args));
                let mut paths: Vec<String> = doc["nodes"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{args:?}: no nodes in {doc}"))
                    .iter()
                    .map(|n| n["path"].as_str().unwrap().to_string())
                    .collect();
                paths.sort();
                assert_eq!(paths, expected, "{args:?}");
            }
        }
    }
}

/// The strict server refuses a batch delete without a checksum, as S3 does
/// (zarrscope's batch deletes carry one: see the test above).
#[test]
fn the_strict_server_refuses_an_unchecked_batch_delete() {
    let server = S3Server::start();
    let body = "<Delete><Object><Key>nwm-chrtout-v2.zarr/.zgroup</Key></Object></Delete>";
    let unchecked = format!(
        "POST /private/?delete HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(raw_status(&server, &unchecked), 400);
    assert!(
        server
            .bucket_dir(PRIVATE)
            .join("nwm-chrtout-v2.zarr/.zgroup")
            .exists()
    );
}
