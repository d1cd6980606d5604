//! Errors say what happened, and nothing panics: bad endpoint forms are
//! refused before any request (exit 2, never 101); the headline names the
//! cause — no such bucket, access denied, connection refused, TLS, DNS,
//! timeout, a profile without credentials, a cross-host redirect (which is
//! never followed with credentials); hints that suggest a command repeat the
//! access flags the user gave. Against the in-process S3 server and small
//! loopback servers; nothing leaves the machine.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::cli::{with_keys, zarrscope};
use common::{Home, PUBLIC, S3Server, SECRET_KEY, text};

const STORE: &str = "nwm-chrtout-v2.zarr";
const TOKEN: &str = "zs-session-TOKEN-MARKER-77";

/// A loopback HTTP/1.1 server on `ip` that records each request's head and
/// answers with `reply(head)`. Stops with the test process.
struct Recorder {
    endpoint: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(ip: &str, reply: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let log = heads.clone();
        let reply = Arc::new(reply);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (log, reply) = (log.clone(), reply.clone());
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                    loop {
                        let mut head = Vec::new();
                        let mut byte = [0u8; 1];
                        while !head.ends_with(b"\r\n\r\n") {
                            match stream.read(&mut byte) {
                                Ok(1) => head.push(byte[0]),
                                _ => return,
                            }
                        }
                        let head = String::from_utf8_lossy(&head).into_owned();
                        // Skip a request body (mkdir sends one).
                        let length = head
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        let mut body = vec![0u8; length];
                        if stream.read_exact(&mut body).is_err() {
                            return;
                        }
                        log.lock().unwrap().push(head.clone());
                        if stream.write_all(reply(&head).as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            endpoint: format!("http://{addr}"),
            heads,
        }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

fn response(status: &str, headers: &str) -> String {
    format!("HTTP/1.1 {status}\r\n{headers}Content-Length: 0\r\n\r\n")
}

/// Static keys and a session token in the environment.
fn with_session(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    with_keys(cmd).env("AWS_SESSION_TOKEN", TOKEN)
}

/// Run `cmd` with `args` against the server at `endpoint`.
fn run_at(cmd: &mut assert_cmd::Command, endpoint: &str, args: &[&str]) -> std::process::Output {
    cmd.args(args)
        .args(["--endpoint-url", endpoint])
        .output()
        .unwrap()
}

/// Exit 2 with `needle` in stderr, and no secret anywhere.
fn fails_with(out: &std::process::Output, needle: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
    for secret in [SECRET_KEY, TOKEN] {
        assert!(!err.contains(secret) && !text(&out.stdout).contains(secret));
    }
    err
}

fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn endpoint_flags_without_a_scheme_or_host_are_refused_before_any_request() {
    for (bad, says) in [
        ("127.0.0.1:5623", "scheme is missing"),
        ("localhost:1", "scheme is missing"),
        ("http://", "host"),
        ("http://exa mple:1", "contains ' '"),
        ("ftp://host", "not http or https"),
    ] {
        let out = zarrscope()
            .args(["tree", "s3://b/s.zarr", "--anon", "--endpoint-url", bad])
            .output()
            .unwrap();
        let err = fails_with(&out, says);
        assert!(err.contains("--endpoint-url"), "{err}");
    }
}

#[test]
fn a_trailing_space_in_the_endpoint_is_trimmed() {
    let server = S3Server::start();
    let spaced = format!("{} ", server.endpoint);
    let out = run_at(
        &mut zarrscope(),
        &spaced,
        &["tree", &format!("s3://{PUBLIC}/{STORE}"), "--anon"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("streamflow"));
}

#[test]
fn endpoints_from_the_environment_and_profiles_are_checked_the_same_way() {
    let out = zarrscope()
        .args(["tree", "s3://b/s.zarr", "--anon"])
        .env("AWS_ENDPOINT_URL", "localhost:1")
        .output()
        .unwrap();
    let err = fails_with(&out, "scheme is missing");
    assert!(err.contains("AWS_ENDPOINT_URL"), "{err}");

    let home = Home::new("localhost:9000");
    let out = home
        .zarrscope()
        .args(["tree", "s3://b/s.zarr", "--profile", "zs"])
        .output()
        .unwrap();
    let err = fails_with(&out, "scheme is missing");
    assert!(err.contains("endpoint_url of profile zs"), "{err}");
}

#[test]
fn a_missing_bucket_says_no_such_bucket() {
    // Listing: the S3 test server answers NoSuchBucket.
    let server = S3Server::start();
    let out = run_at(
        with_session(&mut zarrscope()),
        &server.endpoint,
        &["ls", "s3://no-such-bucket/"],
    );
    fails_with(&out, "no such bucket: no-such-bucket");
    // Reading a store: s3s-fs answers a GET in a missing bucket with
    // NoSuchKey, so answer as AWS, MinIO and Ceph do.
    let aws = Recorder::start("127.0.0.1", |_| {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>no-such-bucket</BucketName></Error>";
        format!(
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    });
    let out = run_at(
        with_session(&mut zarrscope()),
        &aws.endpoint,
        &["tree", "s3://no-such-bucket/store.zarr"],
    );
    let err = fails_with(&out, "no such bucket: no-such-bucket");
    assert!(!err.contains("no Zarr metadata found"), "{err}");
    // `rm -f` passes over a URL with nothing at it, never a missing bucket.
    let out = run_at(
        with_session(&mut zarrscope()),
        &aws.endpoint,
        &["rm", "-f", "s3://no-such-bucket/x.txt"],
    );
    let err = fails_with(&out, "no such bucket: no-such-bucket");
    assert!(!err.contains("ignored with -f"), "{err}");
}

#[test]
fn a_private_store_without_credentials_says_access_denied() {
    let server = S3Server::start();
    let out = run_at(
        &mut zarrscope(),
        &server.endpoint,
        &["tree", &format!("s3://private/{STORE}")],
    );
    let err = fails_with(&out, "error: access denied (403)");
    assert!(!err.contains("no Zarr metadata found"), "{err}");
    assert!(err.contains("--profile"), "{err}");
}

#[test]
fn a_refused_port_says_connection_refused() {
    let endpoint = format!("http://127.0.0.1:{}", dead_port());
    let out = zarrscope()
        .args([
            "tree",
            "s3://b/s.zarr",
            "--anon",
            "--endpoint-url",
            &endpoint,
        ])
        .output()
        .unwrap();
    let err = fails_with(&out, "connection refused");
    assert!(err.contains(&endpoint), "{err}");
}

#[test]
fn https_against_a_plain_http_port_says_tls() {
    let server = S3Server::start();
    let https = server.endpoint.replace("http://", "https://");
    let out = run_at(
        &mut zarrscope(),
        &https,
        &["tree", &format!("s3://{PUBLIC}/{STORE}"), "--anon"],
    );
    let err = fails_with(&out, "TLS handshake");
    assert!(err.contains("http://"), "the hint suggests http://: {err}");
}

#[test]
fn an_unresolvable_host_says_dns_quickly() {
    // Under `.invalid` (RFC 6761), with a label longer than DNS allows (63),
    // so the resolver refuses it locally: no query leaves the machine.
    let host = format!("{}.invalid", "a".repeat(70));
    // "Quickly": the cause is the lookup itself, not a timeout reached
    // while retrying (the runner's limit guards against a hang).
    let out = run_at(
        &mut zarrscope(),
        &format!("http://{host}:9000"),
        &["tree", "s3://b/s.zarr", "--anon", "--retries", "0"],
    );
    let err = fails_with(
        &out,
        &format!("DNS lookup failed: the host of http://{host}:9000 does not resolve"),
    );
    assert!(!err.contains("timed out"), "{err}");
}

#[test]
fn a_stalling_server_says_timed_out() {
    // Accepts connections and never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    // It never answers: only the command's own timeout can end the run
    // (the runner's limit guards against a hang).
    let out = zarrscope()
        .args(["tree", "s3://b/s.zarr", "--anon", "--retries", "0"])
        .args(["--timeout", "1s", "--endpoint-url", &endpoint])
        .output()
        .unwrap();
    let err = fails_with(
        &out,
        &format!("timed out waiting for {endpoint} (reading s3://b/s.zarr/"),
    );
    assert!(err.contains("; --timeout 1s, --connect-timeout"), "{err}");
    assert!(
        err.contains("hint: a slow server or link may need a longer --timeout"),
        "{err}"
    );
}

#[test]
fn a_profile_with_an_endpoint_and_no_keys_says_it_has_no_credentials() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    std::fs::write(
        home.dir.path().join(".aws/config"),
        format!("[profile osn]\nendpoint_url = {}\n", server.endpoint),
    )
    .unwrap();
    let out = home
        .zarrscope()
        .args([
            "tree",
            &format!("s3://{PUBLIC}/{STORE}"),
            "--profile",
            "osn",
        ])
        .output()
        .unwrap();
    let err = fails_with(&out, "profile osn has no credentials");
    assert!(err.contains("--anon"), "{err}");
    assert!(server.requests().is_empty(), "{:?}", server.requests());
    // With --anon the profile's endpoint still applies, as in aws-cli.
    let out = home
        .zarrscope()
        .args([
            "tree",
            &format!("s3://{PUBLIC}/{STORE}"),
            "--profile",
            "osn",
        ])
        .arg("--anon")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_profile_whose_credentials_cannot_load_says_so_not_the_network() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // A role without a source profile: aws-config cannot build credentials.
    std::fs::write(
        home.dir.path().join(".aws/config"),
        format!(
            "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nendpoint_url = {}\n",
            server.endpoint
        ),
    )
    .unwrap();
    let out = home
        .zarrscope()
        .args([
            "tree",
            &format!("s3://{PUBLIC}/{STORE}"),
            "--profile",
            "role",
        ])
        .output()
        .unwrap();
    let err = fails_with(&out, "error: cannot load credentials for profile role");
    assert!(!err.contains("network"), "{err}");
}

#[test]
fn hints_repeat_the_access_flags_given() {
    let server = S3Server::start();
    let out = run_at(
        &mut zarrscope(),
        &server.endpoint,
        &["head", &format!("s3://{PUBLIC}/dir/nope.txt"), "--anon"],
    );
    let err = fails_with(&out, "not found");
    assert!(
        err.contains(&format!(
            "`zarrscope ls s3://{PUBLIC}/dir/ --anon --endpoint-url {}`",
            server.endpoint
        )),
        "{err}"
    );

    let home = Home::new(&server.endpoint);
    let out = home
        .zarrscope()
        .args(["head", "s3://private/nope.txt", "--profile", "zs"])
        .output()
        .unwrap();
    let err = fails_with(&out, "not found");
    assert!(
        err.contains("`zarrscope ls s3://private/ --profile zs`"),
        "{err}"
    );

    // Every chore's "nothing there" hint carries the same flags.
    let flags = format!("--anon --endpoint-url {}", server.endpoint);
    for (command, url) in [
        ("du", format!("s3://{PUBLIC}/dir/nope")),
        ("info", format!("s3://{PUBLIC}/dir/nope")),
    ] {
        let out = zarrscope()
            .args([command, &url, "--anon", "--endpoint-url", &server.endpoint])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        assert!(
            err.contains(&format!("`zarrscope ls s3://{PUBLIC}/dir/ {flags}`")),
            "{command}: {err}"
        );
    }
    let out = home
        .zarrscope()
        .args(["rm", "s3://private/dir/nope.txt", "--profile", "zs"])
        .output()
        .unwrap();
    let err = fails_with(&out, "nothing to delete");
    assert!(
        err.contains("`zarrscope ls s3://private/dir/ --profile zs`"),
        "{err}"
    );
    // The automatic crawl's notice suggests consolidate with the same flags.
    let out = zarrscope()
        .args([
            "tree",
            &format!("s3://{PUBLIC}/nested-unconsolidated-v2.zarr"),
        ])
        .args(["--anon", "--endpoint-url", &server.endpoint])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "`zarrscope consolidate s3://{PUBLIC}/nested-unconsolidated-v2.zarr --yes {flags}`"
        )),
        "{err}"
    );
}

/// An endpoint whose every answer is a 307 to `target` on another loopback
/// address (a different host), as a hostile or misconfigured server would.
fn redirecting_to(target: &Recorder) -> Recorder {
    let target = target.endpoint.clone();
    Recorder::start("127.0.0.1", move |head| {
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
        response(
            "307 Temporary Redirect",
            &format!("Location: {target}{path}\r\n"),
        )
    })
}

#[test]
fn credentials_never_follow_a_redirect_to_another_host() {
    let target = Recorder::start("127.0.0.2", |_| response("404 Not Found", ""));
    let source = redirecting_to(&target);
    let out = with_session(&mut zarrscope())
        .args(["tree", "s3://b/s.zarr", "--endpoint-url", &source.endpoint])
        .output()
        .unwrap();
    let err = fails_with(&out, "redirected to another host");
    assert!(err.contains(&source.endpoint), "{err}");
    assert!(err.contains(&target.endpoint), "{err}");
    assert!(
        err.contains("does not follow cross-host redirects with credentials"),
        "{err}"
    );
    assert!(!source.heads().is_empty());
    assert!(
        target.heads().is_empty(),
        "the other host was sent: {:?}",
        target.heads()
    );
}

#[test]
fn a_presigned_request_never_follows_a_redirect_to_another_host() {
    let target = Recorder::start("127.0.0.2", |_| response("200 OK", ""));
    let source = redirecting_to(&target);
    let out = run_at(
        with_session(&mut zarrscope()),
        &source.endpoint,
        &["mkdir", "s3://new-bucket", "--yes"],
    );
    fails_with(&out, "redirected to another host");
    assert!(
        target.heads().is_empty(),
        "the other host was sent: {:?}",
        target.heads()
    );
}

#[test]
fn unsigned_requests_still_follow_a_redirect_to_another_host() {
    // No credential rides along, so a public mirror's redirect works.
    let doc =
        std::fs::read(common::repo_root().join(format!("fixtures/{STORE}/.zmetadata"))).unwrap();
    let doc = String::from_utf8(doc).unwrap();
    let target = Recorder::start("127.0.0.2", move |head| {
        if head.starts_with("GET /b/s.zarr/.zmetadata ") {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{doc}",
                doc.len()
            )
        } else {
            response("404 Not Found", "")
        }
    });
    let source = redirecting_to(&target);
    let out = zarrscope()
        .args([
            "tree",
            "s3://b/s.zarr",
            "--anon",
            "--endpoint-url",
            &source.endpoint,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("streamflow"));
    assert!(
        target
            .heads()
            .iter()
            .all(|h| !h.to_ascii_lowercase().contains("referer")),
        "{:?}",
        target.heads()
    );
}

/// A write that cannot reach the server says it was writing (not reading),
/// and why: nothing listens, or the name does not resolve.
#[test]
fn write_failures_say_writing_and_the_cause() {
    let refused = format!("http://127.0.0.1:{}", dead_port());
    // Under `.invalid`, too long a label to be asked about (see above).
    let unresolvable = format!("http://{}.invalid:9000", "a".repeat(70));
    let file = common::cli::fixture(&format!("{STORE}/.zattrs"));
    for (endpoint, cause) in [
        (&refused, "connection refused"),
        (&unresolvable, "DNS lookup failed"),
    ] {
        for (to, env) in [
            (
                "s3://b/dir/.zattrs",
                [
                    ("AWS_ACCESS_KEY_ID", "AKID"),
                    ("AWS_SECRET_ACCESS_KEY", "zs"),
                ],
            ),
            (
                "az://c/dir/.zattrs",
                [
                    ("AZURE_STORAGE_ACCOUNT_NAME", "acct"),
                    ("AZURE_STORAGE_ACCOUNT_KEY", "c2VjcmV0"),
                ],
            ),
        ] {
            let mut cmd = zarrscope();
            cmd.envs(env);
            let out = run_at(
                &mut cmd,
                endpoint,
                &["cp", &file, to, "--yes", "--retries", "0"],
            );
            let err = fails_with(&out, "writing the destination failed");
            assert!(err.contains(cause), "{to}: {err}");
            assert!(err.contains(&format!("(writing {to}")), "{to}: {err}");
            assert!(!err.contains("reading"), "{to}: {err}");
        }
        // mkdir's own request (a presigned CreateBucket) names its cause too.
        let out = run_at(
            with_keys(&mut zarrscope()),
            endpoint,
            &["mkdir", "s3://new-bucket", "--yes"],
        );
        let err = fails_with(&out, cause);
        assert!(err.contains("(creating s3://new-bucket"), "{err}");
    }
}
