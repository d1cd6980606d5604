//! `zarrscope tree` end to end against a real S3 server on 127.0.0.1,
//! asserting on the server's own request log.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::cli::{with_keys, zarrscope};
use common::gate::Gate;
use common::inspect::assert_only_metadata_gets;
use common::{ACCESS_KEY, PRIVATE, PUBLIC, S3Server, SECRET_KEY, stats_figure, text};
use serde_json::Value;

fn tree(server: &S3Server, url: &str) -> Command {
    let mut cmd = zarrscope();
    cmd.args(["tree", url, "--endpoint-url", &server.endpoint]);
    cmd
}

#[test]
fn v2_consolidated_tree_costs_one_round_trip_of_metadata_gets() {
    // The server holds each probe until both are in flight at once.
    let gate = Gate::new(2, |_| true);
    let server = S3Server::start_with_gate(gate.clone());
    let out = tree(&server, "s3://public/nwm-chrtout-v2.zarr")
        .arg("--anon")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let text = text(&out.stdout);
    assert!(text.starts_with("/\n"), "{text}");
    for name in [
        "streamflow",
        "velocity",
        "feature_id",
        "gage_id",
        "crs",
        "time",
    ] {
        assert!(text.contains(name), "{name} missing from\n{text}");
    }
    assert!(text.contains("(367439, 2776738)  int32"), "{text}");

    let keys = assert_only_metadata_gets(&server.requests());
    assert_eq!(
        keys,
        [
            "nwm-chrtout-v2.zarr/.zmetadata",
            "nwm-chrtout-v2.zarr/zarr.json"
        ]
    );
    assert!(
        gate.opened(),
        "the two probes must overlap (one round trip)"
    );
    assert_eq!(server.max_in_flight(), 2);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&404),
        "{statuses:?}"
    );
}

#[test]
fn v3_consolidated_tree_costs_one_round_trip_of_metadata_gets() {
    let gate = Gate::new(2, |_| true);
    let server = S3Server::start_with_gate(gate.clone());
    let out = tree(&server, "s3://public/v3-nested-sharded.zarr/")
        .arg("--anon")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let text = text(&out.stdout);
    for needle in [
        "observations",
        "quality",
        "flags",
        "qc",
        "temperature",
        "shards (720, 500, 500)",
        "empty_group",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
    let keys = assert_only_metadata_gets(&server.requests());
    assert_eq!(
        keys,
        [
            "v3-nested-sharded.zarr/.zmetadata",
            "v3-nested-sharded.zarr/zarr.json"
        ]
    );
    assert!(
        gate.opened(),
        "the two probes must overlap (one round trip)"
    );
    assert_eq!(server.max_in_flight(), 2);
}

#[test]
fn json_output_over_s3_matches_the_schema_and_counts_requests() {
    let server = S3Server::start();
    let url = "s3a://public/nwm-chrtout-v2.zarr";
    let out = tree(&server, url)
        .args(["--anon", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["url"], "s3://public/nwm-chrtout-v2.zarr");
    assert_eq!(doc["zarr_format"], 2);
    assert_eq!(doc["consolidated"], true);
    assert_eq!(doc["stats"]["requests"], 2);
    let zmetadata_len = std::fs::metadata(
        server
            .bucket_dir(PUBLIC)
            .join("nwm-chrtout-v2.zarr/.zmetadata"),
    )
    .unwrap()
    .len();
    // The 404 for zarr.json carries a small XML error body.
    let bytes = doc["stats"]["bytes"].as_u64().unwrap();
    assert!(
        bytes >= zmetadata_len && bytes < zmetadata_len + 1024,
        "{bytes} vs {zmetadata_len}"
    );
    let nodes = doc["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 11);
    let sf = nodes.iter().find(|n| n["path"] == "/streamflow").unwrap();
    assert_eq!(sf["kind"], "array");
    assert_eq!(sf["shape"], serde_json::json!([367439, 2776738]));
    assert_eq!(sf["nchunks"], 547 * 93);
}

#[test]
fn private_bucket_signed_with_static_keys_from_the_environment() {
    let server = S3Server::start();
    let out = with_keys(&mut tree(
        &server,
        &format!("s3://{PRIVATE}/conus404-hourly-v2.zarr"),
    ))
    .args(["-v", "--stats"])
    .output()
    .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(text(&out.stdout).contains("SMOIS"));
    assert!(
        server.requests().iter().all(|r| r.signed),
        "every request must be signed"
    );
    // -v logs each request; nothing secret shows up anywhere.
    assert!(
        err.contains("GET conus404-hourly-v2.zarr/.zmetadata 200"),
        "{err}"
    );
    assert!(
        err.contains("GET conus404-hourly-v2.zarr/zarr.json 404"),
        "{err}"
    );
    assert!(err.contains("requests: 2  bytes: "), "{err}");
    assert!(!err.contains("no AWS credentials"), "{err}");
    for output in [err.as_str(), &text(&out.stdout)] {
        assert!(!output.contains(SECRET_KEY), "secret leaked");
    }
}

#[test]
fn private_bucket_refuses_anonymous_with_a_hint() {
    let server = S3Server::start();
    let out = with_keys(&mut tree(
        &server,
        &format!("s3://{PRIVATE}/nwm-chrtout-v2.zarr"),
    ))
    .arg("--anon")
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("403"), "{err}");
    assert!(err.contains("credentials"), "{err}");
    // --anon never sends credentials even when they are configured.
    assert!(server.requests().iter().all(|r| !r.signed));
}

#[test]
fn wrong_secret_is_reported_as_a_rejected_signature_without_printing_it() {
    let server = S3Server::start();
    let wrong = "zs-wrong-MARKER-0000";
    let out = tree(&server, &format!("s3://{PRIVATE}/nwm-chrtout-v2.zarr"))
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", wrong)
        .arg("-v")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("signature rejected"), "{err}");
    assert!(!err.contains(wrong) && !text(&out.stdout).contains(wrong));
}

#[test]
fn no_credentials_at_all_reads_a_public_bucket_anonymously_with_one_notice() {
    let server = S3Server::start();
    let out = tree(&server, "s3://public/nwm-chrtout-v2.zarr")
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(err.matches("unsigned").count(), 1, "{err}");
    // Only our two GETs, unsigned. (The S3 server cannot see metadata-service
    // traffic: tests/s3_imds.rs checks "never IMDS" at a metadata listener.)
    assert_eq!(server.requests().len(), 2);
    assert!(server.requests().iter().all(|r| !r.signed));

    let quiet = tree(&server, "s3://public/nwm-chrtout-v2.zarr")
        .arg("-q")
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert_eq!(text(&quiet.stderr), "");
}

#[test]
fn endpoint_from_the_environment() {
    let server = S3Server::start();
    let out = zarrscope()
        .args(["tree", "s3://public/v3-nested-sharded.zarr", "--anon"])
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn missing_store_names_the_url_and_what_was_looked_for() {
    let server = S3Server::start();
    let out = tree(&server, "s3://public/no-such-store.zarr")
        .arg("--anon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("no Zarr metadata found at s3://public/no-such-store.zarr"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert_only_metadata_gets(&server.requests());
}

#[test]
fn store_without_consolidated_metadata_is_an_error_only_with_consolidated_only() {
    let server = S3Server::start();
    for (store, format) in [
        ("broken/not-consolidated-v2.zarr", "v2"),
        ("broken/not-consolidated-v3.zarr", "v3"),
    ] {
        let out = tree(&server, &format!("s3://public/{store}"))
            .args(["--anon", "--consolidated-only"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{store}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "Zarr {format} store without consolidated metadata"
            )),
            "{err}"
        );
        assert!(err.contains("drop --consolidated-only"), "{err}");
    }
    assert_only_metadata_gets(&server.requests());
}

#[test]
fn byte_budget_refuses_a_large_document_before_downloading_it() {
    let server = S3Server::start();
    let out = tree(&server, "s3://public/nwm-chrtout-v2.zarr")
        .args(["--anon", "--max-bytes", "1KiB", "--stats"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("reading s3://public/nwm-chrtout-v2.zarr/.zmetadata: refused to read"),
        "{err}"
    );
    assert!(err.contains("would exceed the byte budget"), "{err}");
    assert!(err.contains("--max-bytes"), "{err}");
    // Only the small 404 body of the zarr.json probe was read.
    let bytes = stats_figure(&err, "bytes");
    assert!(bytes < 1024, "{err}");
}

#[test]
fn malformed_consolidated_metadata_over_s3_names_key_and_position() {
    let server = S3Server::start();
    let out = tree(&server, "s3://public/broken/html-v2.zarr")
        .arg("--anon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "s3://public/broken/html-v2.zarr/.zmetadata is not valid JSON at line 1, column 1"
        ),
        "{err}"
    );
    assert!(err.contains("HTML"), "{err}");
}

#[test]
fn a_dead_endpoint_fails_in_seconds() {
    // Bind and drop a listener: the port is then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = zarrscope()
        .args(["tree", "s3://public/x.zarr", "--anon", "--retries", "1"])
        .args(["--endpoint-url", &format!("http://127.0.0.1:{port}")])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("reading s3://public/x.zarr/"), "{err}");
    // The cause, not a guess: nothing listens there.
    assert!(err.contains("connection refused"), "{err}");
}

#[test]
fn plain_https_style_urls_use_the_http_backend() {
    // The S3 server also answers plain path-style GETs: an HTTP(S) store.
    let server = S3Server::start();
    let url = format!("{}/public/v3-nested-sharded.zarr", server.endpoint);
    let out = zarrscope()
        .args(["tree", &url, "--format", "table"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("/observations/temperature"));
    assert_only_metadata_gets(&server.requests());
}

#[test]
fn the_guard_refuses_chunk_keys_before_any_request_reaches_the_server() {
    use object_store::ObjectStoreExt;
    use zarrscope::store::guard::GuardError;

    let server = S3Server::start();
    // A real chunk object sits in the bucket.
    let store_dir = server.bucket_dir(PUBLIC).join("nwm-chrtout-v2.zarr");
    std::fs::write(store_dir.join("time/0"), vec![7u8; 4096]).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ms = rt.block_on(server.open_public("nwm-chrtout-v2.zarr"));
    rt.block_on(async {
        for key in ["time/0", "streamflow/0.0", "streamflow/c/0/0"] {
            let err = ms.store.get(&ms.path(key).unwrap()).await.unwrap_err();
            assert!(
                matches!(
                    GuardError::from_store_error(&err),
                    Some(GuardError::NotMetadata { .. })
                ),
                "{err}"
            );
        }
        let ok = ms
            .store
            .get(&ms.path("time/.zarray").unwrap())
            .await
            .unwrap();
        assert!(!ok.bytes().await.unwrap().is_empty());
    });
    let log = server.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].key(), Some("nwm-chrtout-v2.zarr/time/.zarray"));
    assert_eq!(ms.stats.requests(), 1);
}

#[test]
fn a_bucket_in_another_region_asks_for_region() {
    const REDIRECT: &[u8] = b"HTTP/1.1 301 Moved Permanently\r\nx-amz-bucket-region: us-west-2\r\nContent-Length: 77\r\nConnection: close\r\n\r\n<Error><Code>PermanentRedirect</Code><Message>wrong region</Message></Error>\r\n";
    let endpoint = common::fixed_response_server(REDIRECT, 8);
    let out = zarrscope()
        .args([
            "tree",
            "s3://b/x.zarr",
            "--anon",
            "--endpoint-url",
            &endpoint,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("another region"), "{err}");
    assert!(err.contains("--region"), "{err}");
}
