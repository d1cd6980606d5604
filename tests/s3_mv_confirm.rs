//! `mv` deletes a source only after a HEAD of its copy confirms the size.
//! A proxy in front of the S3 server lets the copy succeed, then makes that
//! HEAD report another size, or fail: the source must stay, and no delete
//! may reach the server.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::cli::signed;
use common::proxy::{Action, Proxy, Seen};
use common::{Home, PRIVATE, S3Server, assert_code, run, text};

const DESTINATION: &str = "/private/moved/a.txt";

/// Runs `mv` through a proxy that lets `answer_head` decide the HEAD of the
/// destination once the copy has been written; returns the output.
fn mv_with_head_of_copy(
    server: &S3Server,
    answer_head: impl Fn() -> Action + Send + Sync + 'static,
) -> (std::process::Output, Proxy) {
    std::fs::write(server.bucket_dir(PRIVATE).join("a.txt"), "alpha").unwrap();
    let copied = Arc::new(AtomicBool::new(false));
    let proxy = Proxy::start(&server.endpoint, move |seen: &Seen| {
        if seen.path != DESTINATION {
            return Action::Forward;
        }
        match seen.method.as_str() {
            "PUT" => {
                copied.store(true, Ordering::SeqCst);
                Action::Forward
            }
            "HEAD" if copied.load(Ordering::SeqCst) => answer_head(),
            _ => Action::Forward,
        }
    });
    let home = Home::new(&proxy.endpoint);
    let out = run(
        &home,
        &signed(&[
            "mv",
            "s3://private/a.txt",
            "s3://private/moved/a.txt",
            "--yes",
        ]),
    );
    (out, proxy)
}

/// The source is still there, the copy was made, and no delete of any kind
/// (DELETE, or object_store's DeleteObjects POST ?delete) reached the server.
fn assert_source_kept(server: &S3Server) {
    let bucket = server.bucket_dir(PRIVATE);
    assert_eq!(
        std::fs::read_to_string(bucket.join("a.txt")).unwrap(),
        "alpha"
    );
    assert!(bucket.join("moved/a.txt").exists(), "the copy was made");
    let deletes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE" || r.query.contains("delete"))
        .collect();
    assert!(deletes.is_empty(), "{deletes:?}");
}

/// The HEAD of the destination as the proxy answered it (proof the verifying
/// request was made and met the fault).
fn verifying_head(proxy: &Proxy) -> common::proxy::Proxied {
    proxy
        .requests()
        .into_iter()
        .rfind(|r| r.seen.method == "HEAD" && r.seen.path == DESTINATION)
        .expect("mv sent a HEAD of the copy")
}

#[test]
fn mv_keeps_the_source_when_the_copy_reports_another_size() {
    let server = S3Server::start();
    let (out, proxy) = mv_with_head_of_copy(&server, || Action::Rewrite {
        headers: vec![("content-length", "999".into())],
    });
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("copied, but the copy has 999 bytes instead of 5: source kept"),
        "{err}"
    );
    assert!(err.contains("mv stopped after 0 of 1 objects"), "{err}");
    assert!(verifying_head(&proxy).forwarded);
    assert_source_kept(&server);
}

#[test]
fn mv_keeps_the_source_when_the_copy_cannot_be_confirmed() {
    let server = S3Server::start();
    let (out, proxy) = mv_with_head_of_copy(&server, || Action::Answer {
        status: 500,
        headers: vec![("content-type", "application/xml".into())],
        body: b"<Error><Code>InternalError</Code><Message>injected</Message></Error>".to_vec(),
    });
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("copied, but the copy could not be confirmed ("),
        "{err}"
    );
    assert!(err.contains("): source kept"), "{err}");
    assert_eq!(verifying_head(&proxy).status, 500);
    assert_source_kept(&server);
}
