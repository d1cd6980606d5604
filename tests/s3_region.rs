//! The region switch end to end: with no region given (flag, environment or
//! profile), requests are signed for us-east-1; a bucket in another region
//! answers 301 PermanentRedirect naming its region, as AWS does. A proxy in
//! front of the S3 server plays that bucket (tests/common/proxy.rs,
//! `bucket_in_region`): it serves only requests signed for eu-west-1. Each
//! command must find the region once, say so, and finish there, whatever its
//! first request: a HEAD (info, rm, cp), a GET (tree, head) or a LIST (ls).

mod common;

use common::proxy::{Proxied, Proxy, bucket_in_region};
use common::{ACCESS_KEY, Home, PRIVATE, S3Server, SECRET_KEY, assert_ok, text};

const REGION: &str = "eu-west-1";

struct Regional {
    server: S3Server,
    proxy: Proxy,
    home: Home,
}

impl Regional {
    fn start() -> Self {
        let server = S3Server::start();
        let proxy = Proxy::start(&server.endpoint, bucket_in_region(PRIVATE, REGION));
        // Home's profiles are not selected: no region comes from a profile.
        let home = Home::new(&proxy.endpoint);
        Self {
            server,
            proxy,
            home,
        }
    }

    /// Run zarrscope signed with static keys, at the proxy, no region given.
    fn run(&self, args: &[&str]) -> std::process::Output {
        self.home
            .zarrscope()
            .args(args)
            .args(["--endpoint-url", &self.proxy.endpoint])
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .output()
            .unwrap()
    }

    /// Run `args`; assert it succeeded by switching to the bucket's region
    /// after a first `first_method` request signed for us-east-1; return the
    /// requests it made (the proxy's log, which is then cleared).
    fn assert_switches(&self, args: &[&str], first_method: &str) -> Vec<Proxied> {
        let before = self.proxy.requests().len();
        let out = self.run(args);
        let stdout = assert_ok(&out);
        let log: Vec<Proxied> = self.proxy.requests().split_off(before);
        let shown = |log: &[Proxied]| {
            log.iter()
                .map(|r| {
                    format!(
                        "{} {}?{} signed_for={:?} -> {}",
                        r.seen.method, r.seen.path, r.seen.query, r.seen.signed_for, r.status
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!("note: the bucket is in region {REGION}")),
            "{args:?}\nstdout: {stdout}\nstderr: {err}\n{}",
            shown(&log)
        );
        let first = &log[0];
        assert_eq!(
            (
                first.seen.method.as_str(),
                first.seen.signed_for.as_deref(),
                first.status
            ),
            (first_method, Some("us-east-1"), 301),
            "{args:?}\n{}",
            shown(&log)
        );
        // Only the first requests (those in flight together, per opened
        // store) go to the wrong region; each is redirected, none is served.
        let wrong: Vec<_> = log
            .iter()
            .filter(|r| r.seen.signed_for.as_deref() == Some("us-east-1"))
            .collect();
        assert!(
            wrong.len() <= 2 && wrong.iter().all(|r| r.status == 301 && !r.forwarded),
            "{args:?}\n{}",
            shown(&log)
        );
        // The lookup: an unsigned HEAD of the bucket, once per client that
        // met the redirect (each opened store, and the lister, find it apart).
        let lookups = log
            .iter()
            .filter(|r| r.seen.signed_for.is_none() && r.seen.path == format!("/{PRIVATE}"))
            .count();
        assert!((1..=2).contains(&lookups), "{args:?}\n{}", shown(&log));
        let served = log.iter().filter(|r| r.forwarded).count();
        assert_eq!(
            log.len(),
            wrong.len() + lookups + served,
            "nothing else: {args:?}\n{}",
            shown(&log)
        );
        // Everything the server behind saw was signed for the bucket's region.
        let served: Vec<_> = log.iter().filter(|r| r.forwarded).collect();
        assert!(!served.is_empty(), "{args:?}\n{}", shown(&log));
        assert!(
            served
                .iter()
                .all(|r| r.seen.signed_for.as_deref() == Some(REGION)),
            "{args:?}\n{}",
            shown(&log)
        );
        log
    }
}

#[test]
fn head_first_commands_find_the_bucket_region() {
    let r = Regional::start();
    let bucket = r.server.bucket_dir(PRIVATE);
    std::fs::write(bucket.join("a.txt"), "alpha").unwrap();
    std::fs::write(bucket.join("gone.txt"), "bye").unwrap();

    let log = r.assert_switches(&["info", "s3://private/a.txt", "--json"], "HEAD");
    assert!(
        log.iter()
            .any(|x| x.seen.method == "HEAD" && x.status == 200)
    );

    r.assert_switches(&["rm", "s3://private/gone.txt", "--yes"], "HEAD");
    assert!(!bucket.join("gone.txt").exists());

    r.assert_switches(
        &["cp", "s3://private/a.txt", "s3://private/b.txt", "--yes"],
        "HEAD",
    );
    assert_eq!(
        std::fs::read_to_string(bucket.join("b.txt")).unwrap(),
        "alpha"
    );
}

#[test]
fn get_first_commands_find_the_bucket_region() {
    let r = Regional::start();
    let log = r.assert_switches(&["tree", "s3://private/nwm-chrtout-v2.zarr"], "GET");
    assert!(
        log.iter()
            .any(|x| x.seen.method == "GET" && x.status == 200)
    );

    r.assert_switches(&["head", "-n", "2", "s3://private/make_fixtures.py"], "GET");
}

#[test]
fn listings_find_the_bucket_region() {
    let r = Regional::start();
    let log = r.assert_switches(&["ls", "s3://private/"], "GET");
    assert!(log[0].seen.query.contains("list-type=2"), "{log:?}");
    assert!(
        log.iter()
            .any(|x| x.seen.query.contains("list-type=2") && x.status == 200)
    );
}

/// Unsigned requests to a custom endpoint carry no region (neither the URL
/// nor a signature names one): there is nothing to switch, and the redirect
/// is reported as it is, with no lookup.
#[test]
fn unsigned_requests_to_a_custom_endpoint_are_not_switched() {
    let r = Regional::start();
    let redirect_all = Proxy::start(&r.server.endpoint, |_seen: &common::proxy::Seen| {
        common::proxy::Action::Answer {
            status: 301,
            headers: vec![("x-amz-bucket-region", REGION.into())],
            body: b"<Error><Code>PermanentRedirect</Code><Message>wrong region</Message></Error>"
                .to_vec(),
        }
    });
    let out = r
        .home
        .zarrscope()
        .args(["tree", "s3://public/nwm-chrtout-v2.zarr", "--anon"])
        .args(["--endpoint-url", &redirect_all.endpoint])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("another region"));
    let log = redirect_all.requests();
    assert!(!log.is_empty());
    assert!(
        log.iter().all(|r| r.seen.method == "GET"),
        "no lookup (HEAD of the bucket): {log:?}"
    );
}
