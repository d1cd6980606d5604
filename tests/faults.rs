//! Faults on the wire, injected by a test HTTP server speaking path-style S3:
//! 5xx then success (retried), a connection reset mid-body, a body shorter
//! than its Content-Length, a slow drip (the timeout fires), 500 forever
//! (bounded retries), and a `.zmetadata` larger than the byte budget (refused
//! before download from its Content-Length; without one, object_store refuses
//! the response). Every case ends in output or a clear error, within bounded
//! requests and time.

mod common;

use std::time::{Duration, Instant};

use common::fault::{FaultServer, Reply};
use common::{repo_root, text};

fn zmetadata() -> Vec<u8> {
    std::fs::read(repo_root().join("fixtures/nwm-chrtout-v2.zarr/.zmetadata")).unwrap()
}

/// Serve `b/s.zarr`: no zarr.json; `.zmetadata` as `fault` says.
fn server(fault: impl Fn(usize, Vec<u8>) -> Reply + Send + Sync + 'static) -> FaultServer {
    let doc = zmetadata();
    FaultServer::start(move |path, attempt| {
        if path.ends_with("/.zmetadata") {
            fault(attempt, doc.clone())
        } else {
            Reply::Status(404)
        }
    })
}

fn tree(server: &FaultServer, extra: &[&str]) -> (std::process::Output, Duration) {
    let t0 = Instant::now();
    let out = assert_cmd::Command::cargo_bin("zarrscope")
        .unwrap()
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-zarrscope-home")
        .timeout(Duration::from_secs(60))
        .args([
            "tree",
            "s3://b/s.zarr",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
            "--stats",
        ])
        .args(extra)
        .output()
        .unwrap();
    (out, t0.elapsed())
}

fn zmetadata_requests(server: &FaultServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.ends_with("/.zmetadata"))
        .count()
}

#[test]
fn a_503_then_success_is_retried() {
    let s = server(|attempt, doc| {
        if attempt == 1 {
            Reply::Status(503)
        } else {
            Reply::ok(doc)
        }
    });
    let (out, _) = tree(&s, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("streamflow"));
    assert_eq!(zmetadata_requests(&s), 2);
}

#[test]
fn a_500_forever_gives_up_after_the_retries_with_a_clear_error() {
    let s = server(|_, _| Reply::Status(500));
    let (out, took) = tree(&s, &["--retries", "2"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("500"), "{err}");
    assert!(err.contains("--retries"), "{err}");
    assert_eq!(zmetadata_requests(&s), 3, "the first try and 2 retries");
    assert!(took < Duration::from_secs(20), "{took:?}");
}

#[test]
fn a_reset_mid_body_is_retried_and_a_persistent_one_is_reported() {
    let s = server(|attempt, doc| {
        let cut = if attempt == 1 { Some(100) } else { None };
        Reply::Body {
            declared: Some(doc.len() as u64),
            body: doc,
            cut_after: cut,
            pace: None,
        }
    });
    let (out, _) = tree(&s, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(zmetadata_requests(&s), 2);

    let s = server(|_, doc| Reply::Body {
        declared: Some(doc.len() as u64),
        body: doc,
        cut_after: Some(100),
        pace: None,
    });
    let (out, took) = tree(&s, &["--retries", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("s3://b/s.zarr/.zmetadata"),
        "{}",
        text(&out.stderr)
    );
    assert!(zmetadata_requests(&s) <= 4, "{:?}", s.requests());
    assert!(took < Duration::from_secs(20));
}

#[test]
fn a_body_shorter_than_its_content_length_is_an_error_not_garbage() {
    let s = server(|_, doc| Reply::Body {
        declared: Some(doc.len() as u64 + 5000),
        body: doc,
        cut_after: None,
        pace: None,
    });
    let (out, took) = tree(&s, &["--retries", "1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(out.stdout.is_empty());
    assert!(took < Duration::from_secs(20));
}

#[test]
fn a_slow_drip_hits_the_timeout() {
    let s = server(|_, doc| Reply::Body {
        declared: Some(doc.len() as u64),
        body: doc,
        cut_after: None,
        pace: Some((16, Duration::from_millis(200))),
    });
    let (out, took) = tree(&s, &["--timeout", "1s", "--retries", "0"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("--timeout"), "{err}");
    assert!(took < Duration::from_secs(15), "{took:?}");
}

#[test]
fn a_document_over_the_budget_is_refused_before_download_when_its_size_is_known() {
    let big = vec![b' '; 4 * 1024 * 1024];
    let s = server(move |_, _| Reply::ok(big.clone()));
    let (out, _) = tree(&s, &["--max-bytes", "100KB"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("would exceed the byte budget"), "{err}");
    assert!(err.contains("--max-bytes"), "{err}");
    // Counted body bytes: none of the 4 MiB.
    assert!(err.contains("bytes: 0 "), "{err}");
}

/// object_store's S3 client refuses a GET body without Content-Length, so
/// over S3 a document's size is always known before its body is read; the
/// guard's cut-off while streaming (for reads that together outgrow the
/// budget) is covered by its unit tests. Here: a clear error, nothing read.
#[test]
fn a_document_of_unknown_length_is_refused_without_reading_it() {
    let big = vec![b' '; 4 * 1024 * 1024];
    let s = server(move |_, _| Reply::Body {
        body: big.clone(),
        declared: None,
        cut_after: None,
        pace: Some((64 * 1024, Duration::ZERO)),
    });
    let (out, took) = tree(&s, &["--max-bytes", "100KB"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("Content-Length"), "{err}");
    assert!(err.contains("bytes: 0 "), "{err}");
    assert!(took < Duration::from_secs(20));
}
