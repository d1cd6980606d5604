//! Requester Pays buckets against the test server's `payer` bucket, which
//! refuses (403) any request that is unsigned or does not agree to pay in a
//! way its SigV4 signature covers (see common/requester_pays.rs). With
//! `--requester-pays` every read succeeds and every request agrees to pay
//! (GET/HEAD by a signed header, listings by a presigned query); without it
//! the 403 hints name the flag; `--anon` with it is refused before any
//! request; the caller is told once that they are billed.

mod common;

use common::cli::{assert_failed, signed};
use common::inspect::log_lines;
use common::requester_pays::{PAYER, carries_payment, mentions_payment, presigned};
use common::{
    Home, PRIVATE, S3Server, SECRET_KEY, WRONG_SECRET, assert_code, assert_ok, run, text,
};

/// `args` signed with profile `zs`, agreeing to pay.
fn paying<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = signed(args);
    v.push("--requester-pays");
    v
}

const NOTICE: &str = "note: requester pays: requests and bytes to s3://payer are billed to your account (profile zs)";

/// Every request the server saw agreed to pay, signed, and was not refused;
/// at least one came.
fn assert_all_paid(server: &S3Server, what: &str) {
    let log = server.requests();
    assert!(!log.is_empty(), "{what}: no request");
    for r in &log {
        assert!(
            carries_payment(r),
            "{what}: a request without a signed x-amz-request-payer: {r:?}"
        );
        assert_ne!(r.status, 403, "{what}: {:?}", log_lines(server));
    }
}

// ------------------------------------------------ reads agree to pay, signed

#[test]
fn every_read_of_a_requester_pays_bucket_agrees_to_pay_under_its_signature() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out_dir = tempfile::tempdir().unwrap();
    let local = format!("{}/copy/", out_dir.path().display());
    // (command, kind of requests it must make: listings and/or object reads)
    let cases: [(&[&str], bool, bool); 7] = [
        // Consolidated: GETs of metadata keys only.
        (&["tree", "s3://payer/nwm-chrtout-v2.zarr"], false, true),
        // Without consolidated metadata: crawled, by delimited listings.
        (
            &["tree", "s3://payer/nested-unconsolidated-v2.zarr"],
            true,
            true,
        ),
        (&["ls", "s3://payer/nwm-chrtout-v2.zarr/"], true, false),
        (
            &["head", "s3://payer/nwm-chrtout-v2.zarr/.zattrs"],
            false,
            true,
        ),
        (
            &["info", "s3://payer/nwm-chrtout-v2.zarr/.zmetadata"],
            false,
            true,
        ),
        (&["info", "s3://payer/nwm-chrtout-v2.zarr/"], true, false),
        (
            &[
                "cp",
                "-r",
                "s3://payer/nwm-chrtout-v2.zarr",
                &local,
                "--yes",
            ],
            true,
            true,
        ),
    ];
    for (args, lists, reads) in cases {
        server.reset();
        let what = args.join(" ");
        let out = run(&home, &paying(args));
        let stdout = assert_ok(&out);
        assert!(!stdout.is_empty() || args[0] == "cp", "{what}: no output");
        assert_all_paid(&server, &what);
        let log = server.requests();
        // Listings are presigned (the agreement in the signed query),
        // object requests signed in the header.
        assert_eq!(
            log.iter().any(presigned),
            lists,
            "{what}: {:?}",
            log_lines(&server)
        );
        assert_eq!(
            log.iter().any(|r| !presigned(r) && r.key().is_some()),
            reads,
            "{what}: {:?}",
            log_lines(&server)
        );
        let err = text(&out.stderr);
        assert!(!err.contains(SECRET_KEY) && !stdout.contains(SECRET_KEY));
    }
    let copied = out_dir.path().join("copy/.zmetadata");
    assert_eq!(
        std::fs::read(&copied).unwrap(),
        std::fs::read(
            server
                .bucket_dir(PAYER)
                .join("nwm-chrtout-v2.zarr/.zmetadata")
        )
        .unwrap()
    );
}

#[test]
fn server_side_copies_agree_to_pay_in_one_request_and_in_parts() {
    use common::copy_cap::CopyCall;
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // One CopyObject within the bucket.
    let out = run(
        &home,
        &paying(&[
            "cp",
            "s3://payer/nwm-chrtout-v2.zarr/.zattrs",
            "s3://payer/copied/.zattrs",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert_all_paid(&server, "CopyObject");
    assert!(matches!(
        server.copy_calls().as_slice(),
        [CopyCall::CopyObject { refused: false, .. }]
    ));

    // Over the server's copy cap: a multipart copy, whose requests
    // zarrscope signs itself.
    server.reset();
    let cap = 6 * 1024 * 1024;
    server.set_copy_limit(cap);
    let body: Vec<u8> = (0..2 * cap + 17).map(|i| (i % 251) as u8).collect();
    std::fs::write(server.bucket_dir(PAYER).join("big.bin"), &body).unwrap();
    let out = run(
        &home,
        &paying(&[
            "cp",
            "s3://payer/big.bin",
            "s3://payer/copied/big.bin",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert!(std::fs::read(server.bucket_dir(PAYER).join("copied/big.bin")).unwrap() == body);
    let calls = server.copy_calls();
    assert!(
        calls
            .iter()
            .any(|c| matches!(c, CopyCall::UploadPartCopy { .. })),
        "{calls:?}"
    );
    assert!(
        matches!(calls.last(), Some(CopyCall::CompleteMultipartUpload { .. })),
        "{calls:?}"
    );
    assert_all_paid(&server, "multipart copy");
}

#[test]
fn mkdir_sends_its_bucket_requests_without_the_agreement() {
    // HeadBucket and CreateBucket take no RequestPayer in S3's API.
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(&home, &paying(&["mkdir", "s3://fresh-bucket", "--yes"]));
    assert_ok(&out);
    assert!(server.bucket_dir("fresh-bucket").is_dir());
    let log = server.requests();
    assert!(
        log.iter().any(|r| r.method == "PUT"),
        "{:?}",
        log_lines(&server)
    );
    assert!(
        !log.iter().any(mentions_payment),
        "{:?}",
        log_lines(&server)
    );
}

// ------------------------------------------- without the flag: refused, hinted

#[test]
fn without_the_flag_a_signed_403_names_requester_pays_as_a_cause() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // (command, a phrase of the hint it had before, kept)
    let cases: [(&[&str], &str); 5] = [
        (
            &["tree", "s3://payer/nwm-chrtout-v2.zarr"],
            "for a public bucket try --anon",
        ),
        (
            &[
                "tree",
                "s3://payer/nested-unconsolidated-v2.zarr",
                "--crawl",
            ],
            "for a public bucket try --anon",
        ),
        (
            &["ls", "s3://payer/nwm-chrtout-v2.zarr/"],
            "readable by their exact key",
        ),
        (
            &["head", "s3://payer/nwm-chrtout-v2.zarr/.zattrs"],
            "may do this",
        ),
        (
            &["info", "s3://payer/nwm-chrtout-v2.zarr/.zmetadata"],
            "readable by their exact key",
        ),
    ];
    for (args, kept) in cases {
        server.reset();
        let what = args.join(" ");
        let out = run(&home, &signed(args));
        let err = assert_failed(&out);
        assert!(err.contains("403"), "{what}: {err}");
        let hint = err
            .lines()
            .find(|l| l.trim_start().starts_with("hint:"))
            .unwrap_or_else(|| panic!("{what}: no hint: {err}"));
        assert!(
            hint.contains("Requester Pays: add --requester-pays"),
            "{what}: {err}"
        );
        assert!(hint.contains(kept), "{what}: the old hint is gone: {err}");
        assert!(!err.contains("note: requester pays"), "{what}: {err}");
        let log = server.requests();
        assert!(!log.is_empty() && log.iter().all(|r| r.status == 403));
        assert!(
            !log.iter().any(mentions_payment),
            "{:?}",
            log_lines(&server)
        );
    }

    // A crawl whose listings alone are refused.
    server.deny_list(PRIVATE);
    let out = run(
        &home,
        &signed(&[
            "tree",
            "s3://private/nested-unconsolidated-v2.zarr",
            "--crawl",
        ]),
    );
    let err = assert_failed(&out);
    assert!(
        err.contains("listing s3://private/nested-unconsolidated-v2.zarr/ was refused"),
        "{err}"
    );
    assert!(
        err.contains("ask its owner") && err.contains("add --requester-pays"),
        "{err}"
    );

    // Unsigned, or refused for another reason, the flag is not the cause.
    for (command, url) in [
        ("head", "s3://payer/nwm-chrtout-v2.zarr/.zattrs"),
        ("tree", "s3://payer/nwm-chrtout-v2.zarr"),
    ] {
        let anon = run(
            &home,
            &[command, url, "--anon", "--endpoint-url", &server.endpoint],
        );
        let err = assert_failed(&anon);
        assert!(
            err.contains("403") && !err.contains("--requester-pays"),
            "{command}: {err}"
        );
    }
    let wrong = run(
        &home,
        &[
            "head",
            "s3://private/nwm-chrtout-v2.zarr/.zattrs",
            "--profile",
            "wrong",
        ],
    );
    let err = assert_failed(&wrong);
    assert!(
        err.contains("signature rejected") && !err.contains("--requester-pays"),
        "{err}"
    );
    assert!(!err.contains(WRONG_SECRET), "{err}");
    // Elsewhere than S3 the flag would mean nothing.
    let local = run(
        &home,
        &["head", &common::cli::fixture("nwm-chrtout-v2.zarr/missing")],
    );
    assert!(!text(&local.stderr).contains("--requester-pays"));
}

// ------------------------------------------------- unsigned cannot pay: refused

#[test]
fn requester_pays_without_a_signature_is_refused_before_any_request() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &[
            "tree",
            "s3://payer/nwm-chrtout-v2.zarr",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
            "--requester-pays",
        ],
    );
    let err = assert_failed(&out);
    assert!(err.contains("--anon sends unsigned"), "{err}");
    assert!(
        err.contains("hint: drop --anon and give credentials"),
        "{err}"
    );
    assert!(server.requests().is_empty(), "{:?}", log_lines(&server));

    // No credentials found at all: unsigned too.
    let out = common::cli::zarrscope()
        .args([
            "ls",
            "s3://payer/",
            "--endpoint-url",
            &server.endpoint,
            "--requester-pays",
        ])
        .output()
        .unwrap();
    let err = assert_failed(&out);
    assert!(err.contains("none were found"), "{err}");
    assert!(server.requests().is_empty(), "{:?}", log_lines(&server));

    // Not S3: ignored with a warning, as --profile is.
    let out = run(
        &home,
        &[
            "tree",
            &common::cli::fixture("nwm-chrtout-v2.zarr"),
            "--anon",
            "--requester-pays",
        ],
    );
    assert_ok(&out);
    let err = text(&out.stderr);
    assert!(
        err.contains("warning: --requester-pays applies to s3:// only; ignored for"),
        "{err}"
    );
}

// ---------------------------------------------------------- the billing notice

#[test]
fn the_caller_is_told_once_that_they_pay_and_not_with_quiet() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // A copy within the bucket opens it twice (source and destination).
    for args in [
        &["tree", "s3://payer/nwm-chrtout-v2.zarr"][..],
        &[
            "cp",
            "s3://payer/nwm-chrtout-v2.zarr/.zattrs",
            "s3://payer/again/.zattrs",
            "--yes",
        ],
    ] {
        let out = run(&home, &paying(args));
        assert_ok(&out);
        let err = text(&out.stderr);
        assert_eq!(err.matches("requester pays").count(), 1, "{err}");
        assert!(err.lines().any(|l| l == NOTICE), "{err}");
        let quiet = run(&home, &paying(&[args, &["--quiet"]].concat()));
        assert_ok(&quiet);
        assert!(!text(&quiet.stderr).contains("requester pays"));
    }
    // Keys from the environment are named by where they came from, never
    // shown.
    let out = common::cli::with_keys(&mut home.zarrscope())
        .args([
            "tree",
            "s3://payer/nwm-chrtout-v2.zarr",
            "--endpoint-url",
            &server.endpoint,
            "--requester-pays",
        ])
        .output()
        .unwrap();
    assert_ok(&out);
    let err = text(&out.stderr);
    assert!(
        err.contains("billed to your account (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)"),
        "{err}"
    );
    assert!(
        !err.contains(SECRET_KEY) && !err.contains(common::ACCESS_KEY),
        "{err}"
    );
}

// ---------------------------------------------------- suggested commands

#[test]
fn commands_suggested_in_hints_repeat_requester_pays() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &paying(&["head", "s3://payer/nwm-chrtout-v2.zarr/missing"]),
    );
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "`zarrscope ls s3://payer/nwm-chrtout-v2.zarr/ --profile zs --requester-pays`"
        ),
        "{err}"
    );
    // The suggestion works as typed.
    let ls = run(
        &home,
        &[
            "ls",
            "s3://payer/nwm-chrtout-v2.zarr/",
            "--profile",
            "zs",
            "--requester-pays",
        ],
    );
    assert!(assert_ok(&ls).contains(".zmetadata"));
}

// ------------------------------------------------------- the test server itself

/// GET `payer/nwm-chrtout-v2.zarr/.zattrs` signed by object_store's own
/// SigV4 authorizer (`request_payer`: the header added before signing),
/// then with `extra` headers added after signing; the status.
fn get_signed(server: &S3Server, request_payer: bool, extra: &[(&str, &str)]) -> u16 {
    use object_store::aws::{AwsAuthorizer, AwsCredential};
    use object_store::client::{HttpRequest, HttpRequestBody};
    let url = format!("{}/{PAYER}/nwm-chrtout-v2.zarr/.zattrs", server.endpoint);
    let credential = AwsCredential {
        key_id: common::ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        token: None,
    };
    let mut request = HttpRequest::new(HttpRequestBody::empty());
    *request.uri_mut() = url.parse().unwrap();
    AwsAuthorizer::new(&credential, "s3", "us-east-1")
        .with_request_payer(request_payer)
        .try_authorize(&mut request, None)
        .unwrap();
    let mut headers = request.headers().clone();
    for (name, value) in extra {
        headers.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .get(&url)
            .headers(headers)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn the_payer_bucket_takes_only_an_agreement_the_signature_covers() {
    let server = S3Server::start();
    assert_eq!(get_signed(&server, true, &[]), 200);
    assert_eq!(get_signed(&server, false, &[]), 403);
    // The header, but outside the signature: S3 refuses what is not signed.
    let unsigned = [("x-amz-request-payer", "requester")];
    assert_eq!(get_signed(&server, false, &unsigned), 403);
    // Anonymous with the header: nobody to bill.
    let anonymous = tokio::runtime::Runtime::new().unwrap().block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{}/{PAYER}/nwm-chrtout-v2.zarr/.zattrs",
                server.endpoint
            ))
            .header("x-amz-request-payer", "requester")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    assert_eq!(anonymous, 403);
    // A presigned agreement counts only with its signature.
    use common::requester_pays::agrees_to_pay;
    assert!(agrees_to_pay(
        &[],
        Some("x-amz-request-payer=requester&X-Amz-Signature=s")
    ));
    assert!(!agrees_to_pay(&[], Some("x-amz-request-payer=requester")));
}
