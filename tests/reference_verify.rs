//! `refs --verify`'s library part against the S3 test server: one HEAD per
//! distinct target file, never a GET; missing, short and unreadable targets
//! found; the request cap and the concurrency bound kept; each store root
//! opened once.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::gate::Gate;
use common::{PUBLIC, S3Server};
use zarrscope::error::Error;
use zarrscope::location::Location;
use zarrscope::source::reference::model::TargetUse;
use zarrscope::source::reference::verify::{
    TargetCheck, TargetState, VerifyOptions, broken, verify,
};
use zarrscope::store::StoreHandle;
use zarrscope::store::StoreOptions;
use zarrscope::store::credentials::S3Flags;
use zarrscope::store::guard::{Keys, Policy, Writes};

/// What the CLI opens targets with: HEAD requests only, no writes.
const HEADS_ONLY: Policy = Policy {
    keys: Keys::HeadsOnly,
    writes: Writes::None,
};

/// Open a target's store root on the test server, unsigned, as the CLI does
/// with `--anon --endpoint-url`; counts the stores opened.
async fn open_anon(
    endpoint: String,
    location: Location,
    opened: Arc<AtomicUsize>,
) -> zarrscope::error::Result<Arc<StoreHandle>> {
    open(anon_options(endpoint), &[], location, opened).await
}

fn anon_options(endpoint: String) -> StoreOptions {
    StoreOptions {
        s3: S3Flags {
            anon: true,
            endpoint_url: Some(endpoint),
            ..S3Flags::default()
        },
        retries: 0,
        ..StoreOptions::default()
    }
}

/// Open a target's store root behind the HEAD-only guard with `env` as the
/// environment; counts the stores opened.
async fn open(
    options: StoreOptions,
    env: &[(&str, &str)],
    location: Location,
    opened: Arc<AtomicUsize>,
) -> zarrscope::error::Result<Arc<StoreHandle>> {
    opened.fetch_add(1, Ordering::SeqCst);
    let env: std::collections::HashMap<&str, &str> = env.iter().copied().collect();
    StoreHandle::open_with(location, &options, &env, None, HEADS_ONLY)
        .await
        .map(Arc::new)
}

/// A target file of `len` bytes in the public bucket.
fn put(server: &S3Server, key: &str, len: usize) {
    let path = server.bucket_dir(PUBLIC).join(key);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, vec![7u8; len]).unwrap();
}

/// Used by `references` ranges ending at most at `max_end`.
fn ranges(max_end: u64) -> TargetUse {
    TargetUse {
        references: 2,
        whole_file: 0,
        bytes: max_end / 2,
        max_end,
    }
}

fn state_of<'a>(checks: &'a [TargetCheck], url: &str) -> &'a TargetState {
    &checks
        .iter()
        .find(|c| c.url == url)
        .unwrap_or_else(|| panic!("no check for {url}"))
        .state
}

/// Every request the server saw was a HEAD; the keys HEADed, sorted.
fn heads_only(server: &S3Server) -> Vec<String> {
    let log = server.requests();
    let other: Vec<_> = log.iter().filter(|r| r.method != "HEAD").collect();
    assert!(other.is_empty(), "requests besides HEAD: {other:?}");
    let mut keys: Vec<String> = log.iter().map(|r| r.path.clone()).collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn verify_finds_missing_short_and_unreadable_targets_with_heads_only() {
    let server = S3Server::start();
    put(&server, "refs/ok.nc", 100);
    put(&server, "refs/short.nc", 50);
    put(&server, "refs/whole.nc", 10);
    put(&server, "refs/deleted.nc", 100);
    std::fs::remove_file(server.bucket_dir(PUBLIC).join("refs/deleted.nc")).unwrap();
    put(&server, "refs/failing.nc", 100);
    server.fail_next("HEAD", "refs/failing.nc", 500, 5);
    server.reset();

    let targets = vec![
        ("s3://public/refs/ok.nc".to_string(), ranges(100)),
        ("s3://public/refs/short.nc".to_string(), ranges(80)),
        (
            "s3://public/refs/whole.nc".to_string(),
            TargetUse {
                whole_file: 1,
                ..TargetUse::default()
            },
        ),
        ("s3://public/refs/deleted.nc".to_string(), ranges(10)),
        ("s3://public/refs/failing.nc".to_string(), ranges(10)),
        ("s3://no-such-bucket/day1.nc".to_string(), ranges(10)),
        ("{{u}}/day2.nc".to_string(), ranges(10)),
        ("data/day3.nc".to_string(), ranges(10)),
    ];
    let urls: Vec<String> = targets.iter().map(|(u, _)| u.clone()).collect();
    let opened = Arc::new(AtomicUsize::new(0));
    let endpoint = server.endpoint.clone();
    let checks = verify(
        targets,
        |location| open_anon(endpoint.clone(), location, Arc::clone(&opened)),
        &VerifyOptions::default(),
    )
    .await;

    // In input order.
    assert_eq!(
        checks.iter().map(|c| c.url.clone()).collect::<Vec<_>>(),
        urls
    );
    assert_eq!(state_of(&checks, &urls[0]), &TargetState::Ok { size: 100 });
    assert_eq!(
        state_of(&checks, &urls[1]),
        &TargetState::Short {
            size: 50,
            needed: 80
        }
    );
    assert_eq!(state_of(&checks, &urls[2]), &TargetState::Ok { size: 10 });
    assert_eq!(state_of(&checks, &urls[3]), &TargetState::Missing);
    match state_of(&checks, &urls[4]) {
        TargetState::Unreadable(why) => assert!(
            why.contains("s3://public/refs/failing.nc") && why.contains("500"),
            "{why}"
        ),
        other => panic!("a 500 is unreadable, not {other:?}"),
    }
    // The server refuses an unsigned HEAD in a bucket that does not exist
    // with 403 (AWS answers 404 without a body): missing either way.
    assert_eq!(state_of(&checks, &urls[5]), &TargetState::Missing);
    match state_of(&checks, &urls[6]) {
        TargetState::Unreadable(why) => {
            assert!(
                why.contains("template") && why.contains("\"templates\""),
                "{why}"
            )
        }
        other => panic!("an unexpanded template is unreadable, not {other:?}"),
    }
    match state_of(&checks, &urls[7]) {
        TargetState::Unreadable(why) => {
            assert!(
                why.contains("relative path") && why.contains("absolute"),
                "{why}"
            )
        }
        other => panic!("a relative path is unreadable, not {other:?}"),
    }
    // short, deleted, failing, no-such-bucket, template, relative.
    assert_eq!(broken(&checks), 6);

    // One HEAD per file-naming target, nothing else; one opening per bucket.
    assert_eq!(
        heads_only(&server),
        [
            "/no-such-bucket/day1.nc",
            "/public/refs/deleted.nc",
            "/public/refs/failing.nc",
            "/public/refs/ok.nc",
            "/public/refs/short.nc",
            "/public/refs/whole.nc",
        ]
    );
    assert_eq!(opened.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_store_that_does_not_open_makes_its_targets_unreadable_without_a_request() {
    let server = S3Server::start();
    put(&server, "refs/ok.nc", 100);
    server.reset();
    let targets = vec![
        ("s3://locked/a.nc".to_string(), ranges(10)),
        ("s3://public/refs/ok.nc".to_string(), ranges(10)),
        ("s3://locked/b.nc".to_string(), ranges(10)),
    ];
    let opened = Arc::new(AtomicUsize::new(0));
    let endpoint = server.endpoint.clone();
    let checks = verify(
        targets,
        |location: Location| {
            let locked = location.url == "s3://locked";
            let opening = open_anon(endpoint.clone(), location, Arc::clone(&opened));
            async move {
                if locked {
                    return Err(
                        Error::new("no credentials for s3://locked").with_hint("give --profile")
                    );
                }
                opening.await
            }
        },
        &VerifyOptions::default(),
    )
    .await;
    for i in [0, 2] {
        match &checks[i].state {
            TargetState::Unreadable(why) => assert!(
                why.contains("could not open s3://locked")
                    && why.contains("no credentials for s3://locked")
                    && why.contains("hint: give --profile"),
                "{why}"
            ),
            other => panic!("{}: {other:?}", checks[i].url),
        }
    }
    assert_eq!(checks[1].state, TargetState::Ok { size: 100 });
    assert_eq!(broken(&checks), 2);
    assert_eq!(heads_only(&server), ["/public/refs/ok.nc"]);
}

#[tokio::test]
async fn the_request_cap_leaves_the_rest_not_checked_and_concurrency_is_bounded() {
    // Held until two HEADs wait together: proves they are sent concurrently.
    let gate = Gate::new(2, |path| path.starts_with("/public/refs/"));
    let server = S3Server::start_with_gate(gate.clone());
    for i in 0..8 {
        put(&server, &format!("refs/day{i}.nc"), 100);
    }
    server.reset();
    let targets: Vec<(String, TargetUse)> = (0..8)
        .map(|i| (format!("s3://public/refs/day{i}.nc"), ranges(100)))
        .collect();
    let opened = Arc::new(AtomicUsize::new(0));
    let endpoint = server.endpoint.clone();
    let options = VerifyOptions {
        concurrency: 2,
        max_requests: 5,
        progress: false,
    };
    let checks = verify(
        targets,
        |location| open_anon(endpoint.clone(), location, Arc::clone(&opened)),
        &options,
    )
    .await;
    let states: Vec<&TargetState> = checks.iter().map(|c| &c.state).collect();
    let ok = TargetState::Ok { size: 100 };
    let not = TargetState::NotChecked;
    assert_eq!(states, [&ok, &ok, &ok, &ok, &ok, &not, &not, &not]);
    // Not checked is not broken.
    assert_eq!(broken(&checks), 0);
    assert_eq!(
        heads_only(&server),
        (0..5)
            .map(|i| format!("/public/refs/day{i}.nc"))
            .collect::<Vec<_>>()
    );
    assert!(gate.opened(), "the HEADs were sent one at a time");
    assert!(
        server.max_in_flight() <= 2,
        "{} HEADs in flight at once",
        server.max_in_flight()
    );
}

#[tokio::test]
async fn a_signed_head_in_a_bucket_that_does_not_exist_finds_the_target_missing() {
    let server = S3Server::start();
    server.reset();
    let mut options = anon_options(server.endpoint.clone());
    options.s3.anon = false;
    let env = [
        ("AWS_ACCESS_KEY_ID", common::ACCESS_KEY),
        ("AWS_SECRET_ACCESS_KEY", common::SECRET_KEY),
    ];
    let opened = Arc::new(AtomicUsize::new(0));
    let checks = verify(
        vec![("s3://no-such-bucket/day1.nc".to_string(), ranges(10))],
        |location| open(options.clone(), &env, location, Arc::clone(&opened)),
        &VerifyOptions::default(),
    )
    .await;
    // A HEAD's 404 has no body to say NoSuchBucket: the file is missing.
    assert_eq!(checks[0].state, TargetState::Missing);
    let log = server.requests();
    assert_eq!(
        log.iter()
            .map(|r| (r.method.as_str(), r.path.as_str(), r.status, r.signed))
            .collect::<Vec<_>>(),
        [("HEAD", "/no-such-bucket/day1.nc", 404, true)]
    );
}

#[tokio::test]
async fn local_targets_are_checked_in_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("day1.nc");
    let short = dir.path().join("day2.nc");
    std::fs::write(&ok, [1u8; 64]).unwrap();
    std::fs::write(&short, [1u8; 16]).unwrap();
    let missing = dir.path().join("day3.nc");
    let ok_url = format!("file://{}", ok.display());
    let targets = vec![
        (ok_url.clone(), ranges(64)),
        (short.display().to_string(), ranges(17)),
        (missing.display().to_string(), ranges(1)),
    ];
    let opened = Arc::new(AtomicUsize::new(0));
    let checks = verify(
        targets,
        |location| open(StoreOptions::default(), &[], location, Arc::clone(&opened)),
        &VerifyOptions::default(),
    )
    .await;
    assert_eq!(checks[0].state, TargetState::Ok { size: 64 });
    assert_eq!(
        checks[1].state,
        TargetState::Short {
            size: 16,
            needed: 17
        }
    );
    assert_eq!(checks[2].state, TargetState::Missing);
    // A file:// URL and a path share the file system's root.
    assert_eq!(opened.load(Ordering::SeqCst), 1);
}
