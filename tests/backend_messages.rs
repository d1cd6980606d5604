//! Messages that depend on the backend: an access flag given for a backend
//! that ignores it is warned about (once per command, silenced by -q);
//! gs:// and az:// refusals name that backend's own way of authenticating,
//! never AWS's; a plain HTTP server is never asked to take a write, and
//! says so. Against the in-process GCS and Azure stand-ins
//! (tests/common/gcs.rs, azure.rs) and the S3 server; nothing leaves
//! loopback.

mod common;

use common::azure::{ACCOUNT, CONTAINER};
use common::cli::{fixture, zarrscope};
use common::gcs::BUCKET;
use common::standin::StandIn;
use common::{Home, PUBLIC, S3Server, assert_code, assert_ok, text};

const STORE: &str = "nwm-chrtout-v2.zarr";
/// A key the Azure stand-in is given (its Shared Key is logged, not checked).
const AZURE_KEY: &str = "c3RhbmQtaW4ta2V5LU1BUktFUg==";

/// The warning lines of `stderr`.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect()
}

/// zarrscope at a stand-in with an empty environment (plus the Azure
/// account name, which az:// URLs need).
fn at(server: &StandIn, home: &Home, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = home.zarrscope();
    cmd.args(args)
        .args(["--endpoint-url", &server.endpoint])
        .env("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT);
    cmd
}

/// Messages about GCS, Azure or plain HTTP must not send the user to AWS.
fn assert_no_aws_talk(err: &str) {
    for aws in ["AWS", "S3", "s3://", "--profile", "aws "] {
        assert!(!err.contains(aws), "{aws:?} in: {err}");
    }
}

#[test]
fn s3_only_flags_given_for_gs_warn_once_each() {
    let gcs = common::gcs::start();
    let home = Home::new("http://127.0.0.1:9");
    let url = format!("gs://{BUCKET}/{STORE}");
    let out = at(&gcs, &home, &["tree", &url, "--anon"])
        .args(["--profile", "zs", "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert!(assert_ok(&out).contains("streamflow"));
    let err = text(&out.stderr);
    assert_eq!(
        warnings(&err),
        [
            format!("warning: --profile applies to s3:// only; ignored for {url}"),
            format!("warning: --region applies to s3:// only; ignored for {url}"),
        ],
        "--endpoint-url is honoured by gs://: {err}"
    );
    // -q silences them; the command is the same.
    let quiet = at(&gcs, &home, &["tree", &url, "--anon", "-q"])
        .args(["--profile", "zs", "--region", "eu-west-1"])
        .output()
        .unwrap();
    assert!(assert_ok(&quiet).contains("streamflow"));
    assert!(warnings(&text(&quiet.stderr)).is_empty(), "{quiet:?}");
}

#[test]
fn flags_a_backend_honours_give_no_warning() {
    let gcs = common::gcs::start();
    let home = Home::new("http://127.0.0.1:9");
    let out = at(
        &gcs,
        &home,
        &["tree", &format!("gs://{BUCKET}/{STORE}"), "--anon"],
    )
    .output()
    .unwrap();
    assert_ok(&out);
    assert!(warnings(&text(&out.stderr)).is_empty(), "{out:?}");
    // s3:// honours all three.
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = home
        .zarrscope()
        .args(["tree", &format!("s3://{PUBLIC}/{STORE}"), "--profile", "zs"])
        .args(["--region", "us-east-1", "--endpoint-url", &server.endpoint])
        .output()
        .unwrap();
    assert!(assert_ok(&out).contains("streamflow"));
    assert!(warnings(&text(&out.stderr)).is_empty(), "{out:?}");
}

#[test]
fn endpoint_url_for_a_local_path_or_http_url_warns() {
    let home = Home::new("http://127.0.0.1:9");
    let store = fixture(STORE);
    let out = home
        .zarrscope()
        .args(["tree", &store, "--endpoint-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert!(assert_ok(&out).contains("streamflow"));
    let canonical = std::fs::canonicalize(&store).unwrap();
    assert_eq!(
        warnings(&text(&out.stderr)),
        [format!(
            "warning: --endpoint-url applies to s3://, gs:// and az:// only; ignored for {}",
            canonical.display()
        )]
    );
    // A plain HTTP URL names its server itself: a failure's hint points at
    // the URL, not at the flag that was ignored.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{dead}/{STORE}/.zattrs");
    let out = home
        .zarrscope()
        .args(["info", &url, "--retries", "0"])
        .args(["--endpoint-url", "http://127.0.0.1:9"])
        .output()
        .unwrap();
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert_eq!(
        warnings(&err),
        [format!(
            "warning: --endpoint-url applies to s3://, gs:// and az:// only; ignored for {url}"
        )]
    );
    assert!(err.contains("connection refused"), "{err}");
    assert!(err.contains("check the host and port in the URL"), "{err}");
}

#[test]
fn a_copy_that_opens_two_stores_warns_once() {
    let azure = common::azure::start();
    let home = Home::new("http://127.0.0.1:9");
    let from = format!("az://{CONTAINER}/{STORE}/.zattrs");
    let to = format!("az://{CONTAINER}/copy/.zattrs");
    // The dry run: both stores are opened, nothing is written.
    let out = at(&azure, &home, &["cp", &from, &to, "--profile", "zs"])
        .env("AZURE_STORAGE_ACCOUNT_KEY", AZURE_KEY)
        .output()
        .unwrap();
    assert!(assert_ok(&out).contains("would copy"), "{out:?}");
    assert_eq!(
        warnings(&text(&out.stderr)),
        [format!(
            "warning: --profile applies to s3:// only; ignored for {from}"
        )]
    );
    assert!(
        azure
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.method == "HEAD")
    );
}

/// The refusals gs:// and az:// answer, and the words each must use.
fn refusals() -> Vec<(StandIn, String, &'static str, u16, &'static str)> {
    vec![
        (
            common::gcs::start(),
            format!("gs://{BUCKET}"),
            "GOOGLE_APPLICATION_CREDENTIALS",
            403,
            "AccessDenied",
        ),
        (
            common::gcs::start(),
            format!("gs://{BUCKET}"),
            "GOOGLE_APPLICATION_CREDENTIALS",
            401,
            "AuthenticationRequired",
        ),
        (
            common::azure::start(),
            format!("az://{CONTAINER}"),
            "AZURE_STORAGE_SAS_TOKEN",
            403,
            "AuthorizationPermissionMismatch",
        ),
        (
            common::azure::start(),
            format!("az://{CONTAINER}"),
            "AZURE_STORAGE_SAS_TOKEN",
            401,
            "NoAuthenticationInformation",
        ),
    ]
}

#[test]
fn gs_and_az_refusals_name_their_own_credentials_never_aws() {
    let home = Home::new("http://127.0.0.1:9");
    for (server, root, way, status, code) in refusals() {
        server.refuse(status, code);
        let store = format!("{root}/{STORE}");
        let object = format!("{root}/{STORE}/.zattrs");
        let listing = format!("{root}/");
        for args in [
            vec!["tree", store.as_str(), "--anon"],
            vec!["tree", store.as_str(), "--crawl", "--anon"],
            vec!["ls", listing.as_str(), "--anon"],
            vec!["info", object.as_str(), "--anon"],
            vec!["ls", listing.as_str()],
        ] {
            let out = at(&server, &home, &args).output().unwrap();
            assert_code(&out, 2);
            let err = text(&out.stderr);
            assert!(err.contains(&format!("({status})")), "{args:?}: {err}");
            assert!(err.contains(way), "{args:?}: {err}");
            assert_no_aws_talk(&err);
        }
    }
}

#[test]
fn a_signed_azure_refusal_names_the_key_and_sas_token() {
    let azure = common::azure::start();
    let home = Home::new("http://127.0.0.1:9");
    for (status, code, says) in [
        (403, "AuthenticationFailed", "signature rejected"),
        (
            401,
            "InvalidAuthenticationInfo",
            "rejected the credentials (401)",
        ),
        (
            403,
            "AuthorizationPermissionMismatch",
            "access denied (403)",
        ),
    ] {
        azure.refuse(status, code);
        let out = at(
            &azure,
            &home,
            &["info", &format!("az://{CONTAINER}/{STORE}/.zattrs")],
        )
        .env("AZURE_STORAGE_ACCOUNT_KEY", AZURE_KEY)
        .output()
        .unwrap();
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains(says), "{code}: {err}");
        assert_no_aws_talk(&err);
        assert!(!err.contains(AZURE_KEY), "the key leaked: {err}");
        if code != "AuthorizationPermissionMismatch" {
            assert!(err.contains("AZURE_STORAGE_ACCOUNT_KEY"), "{code}: {err}");
            assert!(err.contains("SAS token"), "{code}: {err}");
        }
    }
}

#[test]
fn anon_writes_are_refused_naming_the_backends_own_credentials() {
    for (args, way) in [
        (
            vec!["rm", "gs://b/k", "--anon"],
            "GOOGLE_APPLICATION_CREDENTIALS",
        ),
        (vec!["rm", "az://c/k", "--anon"], "AZURE_STORAGE_SAS_TOKEN"),
        (
            vec!["consolidate", "az://c/s.zarr", "--anon"],
            "AZURE_STORAGE_CONNECTION_STRING",
        ),
    ] {
        let out = zarrscope().args(&args).output().unwrap();
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains("--anon never writes"), "{args:?}: {err}");
        assert!(err.contains(way), "{args:?}: {err}");
        assert_no_aws_talk(&err);
    }
    // Two backends: each is named with its own.
    let out = zarrscope()
        .args(["cp", "s3://b/k", "gs://b/k", "--anon"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(
        err.contains("for gs:// GOOGLE_APPLICATION_CREDENTIALS"),
        "{err}"
    );
    assert!(err.contains("for s3:// --profile NAME"), "{err}");
    assert!(!err.contains("AZURE"), "{err}");
}

#[test]
fn writes_to_a_plain_http_server_say_it_only_reads() {
    // Port 9 (discard): nothing is asked of it.
    let url = "http://127.0.0.1:9/data/x.zarr";
    for args in [
        vec!["consolidate", url, "--yes"],
        vec!["consolidate", url],
        vec!["rm", url, "--yes"],
        vec!["mkdir", url, "--yes"],
        vec!["mkdir", "http://127.0.0.1:9/"],
    ] {
        let out = zarrscope().args(&args).output().unwrap();
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(
            err.contains("is a plain HTTP server: zarrscope only reads from those"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("no credentials"), "{args:?}: {err}");
        assert!(
            !err.contains("S3 has") && !err.contains("--profile"),
            "{err}"
        );
    }
}

#[test]
fn mkdir_below_a_gs_or_az_bucket_names_that_service() {
    for (url, service, create) in [
        (
            "gs://b/dir",
            "Google Cloud Storage has no directories",
            "gcloud storage buckets create",
        ),
        (
            "az://c/dir",
            "Azure Blob Storage has no directories",
            "az storage container create",
        ),
    ] {
        let out = zarrscope().args(["mkdir", url]).output().unwrap();
        let said = assert_ok(&out);
        assert!(said.contains(service), "{said}");
        assert_no_aws_talk(&said);
        let root = url.trim_end_matches("/dir");
        let out = zarrscope().args(["mkdir", root]).output().unwrap();
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains(create), "{err}");
    }
}

/// The Azure stand-in only reads: a write or delete it refuses is reported
/// as the write or delete it was, after the reads that planned it.
#[test]
fn refused_writes_and_deletes_say_writing_and_deleting() {
    let azure = common::azure::start();
    let home = Home::new("http://127.0.0.1:9");
    let store = format!("az://{CONTAINER}/{STORE}");
    let out = at(&azure, &home, &["consolidate", &store, "--yes"])
        .env("AZURE_STORAGE_ACCOUNT_KEY", AZURE_KEY)
        .output()
        .unwrap();
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("access denied (403) writing {store}/.zmetadata")),
        "{err}"
    );
    assert!(!err.contains("reading"), "{err}");
    assert_no_aws_talk(&err);
    let out = at(
        &azure,
        &home,
        &[
            "rm",
            "-r",
            &format!("az://{CONTAINER}/cf-small-v3.zarr/"),
            "--yes",
        ],
    )
    .env("AZURE_STORAGE_ACCOUNT_KEY", AZURE_KEY)
    .output()
    .unwrap();
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("were not deleted"), "{err}");
    assert!(err.contains("deleting az://"), "{err}");
    assert!(!err.contains("reading"), "{err}");
    assert_no_aws_talk(&err);
}
