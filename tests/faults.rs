//! Faults on the wire, injected by a test HTTP server speaking path-style S3:
//! 5xx then success (retried), a connection reset mid-body, a body shorter
//! than its Content-Length, a slow drip (the timeout fires), 500 forever
//! (bounded retries), and a `.zmetadata` larger than the byte budget (refused
//! before download from its Content-Length; without one, object_store refuses
//! the response). Every case ends in output or its own clear error, within
//! bounded requests; time is bounded by the command's own timeout, not
//! measured.

mod common;

use std::time::Duration;

use common::fault::{FaultServer, Reply};
use common::{Home, assert_code, repo_root, run, text};

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

fn tree(server: &FaultServer, extra: &[&str]) -> std::process::Output {
    let home = Home::new(&server.endpoint);
    let mut args = vec![
        "tree",
        "s3://b/s.zarr",
        "--anon",
        "--endpoint-url",
        &server.endpoint,
        "--stats",
    ];
    args.extend(extra);
    run(&home, &args)
}

/// Assert exit 2 with nothing on stdout; the error text.
fn failed(out: &std::process::Output) -> String {
    assert_code(out, 2);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    text(&out.stderr)
}

/// Assert `err` holds every piece of `needles`.
fn says(err: &str, needles: &[&str]) {
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} missing from:\n{err}");
    }
}

fn zmetadata_requests(server: &FaultServer) -> usize {
    server
        .requests()
        .iter()
        .filter(|r| r.ends_with("/.zmetadata"))
        .count()
}

/// `tree --retries 1` fails on a broken body: both tries were made, and
/// the error names the document, the retry and what to check.
fn fails_after_one_retry_with_an_http_error(s: &FaultServer) {
    let err = failed(&tree(s, &["--retries", "1"]));
    says(
        &err,
        &[
            "error: reading s3://b/s.zarr/.zmetadata failed",
            "after 1 retries",
            "HTTP error",
            "hint: check the endpoint and network",
        ],
    );
    assert_eq!(zmetadata_requests(s), 2, "{:?}", s.requests());
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
    let out = tree(&s, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("streamflow"));
    assert_eq!(zmetadata_requests(&s), 2);
}

#[test]
fn a_500_forever_gives_up_after_the_retries_with_a_clear_error() {
    let s = server(|_, _| Reply::Status(500));
    let err = failed(&tree(&s, &["--retries", "2"]));
    says(
        &err,
        &[
            "error: reading s3://b/s.zarr/.zmetadata failed",
            "after 2 retries",
            "non-2xx status code: 500 Internal Server Error",
            "Fault500",
            "hint: check the endpoint and network; slow servers may need --timeout or --retries",
        ],
    );
    assert_eq!(zmetadata_requests(&s), 3, "the first try and 2 retries");
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
    let out = tree(&s, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("streamflow"));
    assert_eq!(zmetadata_requests(&s), 2);

    let s = server(|_, doc| Reply::Body {
        declared: Some(doc.len() as u64),
        body: doc,
        cut_after: Some(100),
        pace: None,
    });
    fails_after_one_retry_with_an_http_error(&s);
}

#[test]
fn a_body_shorter_than_its_content_length_is_an_error_not_garbage() {
    let s = server(|_, doc| Reply::Body {
        declared: Some(doc.len() as u64 + 5000),
        body: doc,
        cut_after: None,
        pace: None,
    });
    fails_after_one_retry_with_an_http_error(&s);
}

#[test]
fn a_slow_drip_hits_the_timeout() {
    let s = server(|_, doc| Reply::Body {
        declared: Some(doc.len() as u64),
        body: doc,
        cut_after: None,
        pace: Some((16, Duration::from_millis(200))),
    });
    // The whole body would take 76 s; the 1 s timeout ends it, and the
    // error says so (the runner's 60 s limit guards against a hang).
    let err = failed(&tree(&s, &["--timeout", "1s", "--retries", "0"]));
    says(
        &err,
        &[
            &format!(
                "error: timed out waiting for {} (reading s3://b/s.zarr/.zmetadata; --timeout 1s",
                s.endpoint
            ),
            "hint: a slow server or link may need a longer --timeout or more --retries",
        ],
    );
    assert_eq!(zmetadata_requests(&s), 1);
}

#[test]
fn a_document_over_the_budget_is_refused_before_download_when_its_size_is_known() {
    let big = vec![b' '; 4 * 1024 * 1024];
    let s = server(move |_, _| Reply::ok(big.clone()));
    let err = failed(&tree(&s, &["--max-bytes", "100KB"]));
    says(
        &err,
        &[
            "refused to read \"s.zarr/.zmetadata\": its 4194304 bytes would exceed the byte budget",
            "hint: raise the budget with --max-bytes (now 100000 bytes)",
        ],
    );
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
    let err = failed(&tree(&s, &["--max-bytes", "100KB"]));
    says(
        &err,
        &[
            "error: reading s3://b/s.zarr/.zmetadata failed",
            "Content-Length Header missing from response",
        ],
    );
    assert!(err.contains("bytes: 0 "), "{err}");
}
