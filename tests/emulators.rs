//! gs:// and az:// end to end against the real emulators, fake-gcs-server
//! and Azurite (tests/common/fakegcs.rs, azurite.rs), reached as a user
//! would with `--endpoint-url`. Assertions are on the emulators' own access
//! logs. Without the emulators installed these tests say so loudly and
//! pass, except in CI (`CI` set), where they fail: `.ci/run` installs both.

mod common;

use common::emulator::{Access, Emulator, Session};
use common::{assert_code, assert_ok, azurite, fakegcs, json, stats_figure, text};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Gcs,
    Azure,
}

/// One emulator, with what differs between the two backends.
struct Backend {
    kind: Kind,
    server: &'static Emulator,
}

impl Backend {
    fn get(kind: Kind) -> Option<Self> {
        let server = match kind {
            Kind::Gcs => fakegcs::shared()?,
            Kind::Azure => azurite::shared()?,
        };
        Some(Backend { kind, server })
    }

    fn endpoint(&self) -> String {
        match self.kind {
            Kind::Gcs => self.server.endpoint(),
            Kind::Azure => azurite::endpoint(self.server),
        }
    }

    /// The bucket or container holding the fixture stores (anonymous reads).
    fn fixtures(&self) -> &'static str {
        match self.kind {
            Kind::Gcs => fakegcs::BUCKET,
            Kind::Azure => azurite::PUBLIC,
        }
    }

    /// The bucket or container of write test `n` (0: consolidate, 1: conflict).
    fn writable(&self, n: usize) -> &'static str {
        match self.kind {
            Kind::Gcs => fakegcs::WRITE_BUCKETS[n],
            Kind::Azure => azurite::WRITE_CONTAINERS[n],
        }
    }

    fn url(&self, bucket: &str, path: &str) -> String {
        match self.kind {
            Kind::Gcs => format!("gs://{bucket}/{path}"),
            Kind::Azure => format!("az://{bucket}/{path}"),
        }
    }

    /// A fixture store's (or key's) URL.
    fn fixture(&self, path: &str) -> String {
        self.url(self.fixtures(), path)
    }

    /// zarrscope with an empty environment, pointed at the emulator; for
    /// Azure with the account name (the key is [`Backend::credentialed`]'s).
    fn zarrscope(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = common::cli::zarrscope();
        cmd.args(args).args(["--endpoint-url", &self.endpoint()]);
        if self.kind == Kind::Azure {
            cmd.env("AZURE_STORAGE_ACCOUNT_NAME", azurite::ACCOUNT);
        }
        cmd
    }

    /// [`Backend::zarrscope`] with this backend's credentials.
    fn credentialed(&self, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = self.zarrscope(args);
        match self.kind {
            Kind::Azure => {
                cmd.env("AZURE_STORAGE_ACCOUNT_KEY", azurite::KEY);
            }
            Kind::Gcs => {
                cmd.env("GOOGLE_APPLICATION_CREDENTIALS", gcs_credentials_file());
            }
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.zarrscope(args).output().unwrap()
    }

    /// The object key of a logged request (`None` for a bucket-level one).
    fn key<'a>(&self, access: &'a Access) -> Option<&'a str> {
        let path = match self.kind {
            Kind::Gcs => access.path.as_str(),
            Kind::Azure => access
                .path
                .strip_prefix(&format!("/{}", azurite::ACCOUNT))?,
        };
        let (_bucket, key) = path.strip_prefix('/')?.split_once('/')?;
        (!key.is_empty()).then_some(key)
    }
}

/// A service-account file with a fresh RSA key (openssl): object_store
/// signs its own token with it (a self-signed JWT), so no token request
/// leaves loopback. fake-gcs-server accepts any token.
fn gcs_credentials_file() -> std::path::PathBuf {
    let dir = fakegcs::shared().expect("checked by the caller").dir.path();
    let path = dir.join("service-account.json");
    if !path.exists() {
        let out = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output()
            .expect("openssl makes the test service account's key");
        assert!(out.status.success(), "{}", text(&out.stderr));
        let body = serde_json::json!({
            "type": "service_account",
            "client_email": "zarrscope-test@example.iam.gserviceaccount.com",
            "private_key": text(&out.stdout),
            "private_key_id": "zarrscope-test",
        });
        let partial = dir.join("service-account.json.partial");
        std::fs::write(&partial, body.to_string()).unwrap();
        std::fs::rename(&partial, &path).unwrap();
    }
    path
}

/// Each backend's test of `$name(backend, session)`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn gcs() {
                if let Some(b) = super::Backend::get(super::Kind::Gcs) {
                    let session = b.server.session();
                    super::$name(&b, session);
                }
            }
            #[test]
            fn azure() {
                if let Some(b) = super::Backend::get(super::Kind::Azure) {
                    let session = b.server.session();
                    super::$name(&b, session);
                }
            }
        }
    )*};
}

on_both!(
    tree_of_a_consolidated_v2_store_is_its_two_probes,
    tree_of_a_consolidated_v3_store_is_its_two_probes,
    show_reads_only_metadata,
    crawl_reads_only_metadata_keys_and_listings,
    ls_lists_a_prefix,
    glob_matches_keys,
    info_is_one_head,
    head_reads_a_range,
    du_counts_every_object,
    check_compares_consolidated_with_the_nodes,
    consolidate_dry_run_writes_nothing_and_yes_writes_one_key,
);

/// Every request a GET of a Zarr metadata key or a listing (no chunk key,
/// no write); the object keys, sorted.
fn assert_only_metadata(b: &Backend, log: &[Access]) -> Vec<String> {
    assert!(!log.is_empty(), "no request reached {}", b.server.name);
    let mut keys = Vec::new();
    for access in log {
        assert_eq!(access.method, "GET", "unexpected request {access:?}");
        if let Some(key) = b.key(access) {
            assert!(
                zarrscope::source::probed_metadata_key(key),
                "non-metadata key requested: {access:?}"
            );
            keys.push(key.to_string());
        }
    }
    keys.sort();
    keys
}

/// `--stats`' request count is the number the emulator logged.
fn assert_counted(stderr: &str, log: &[Access]) {
    assert_eq!(
        stats_figure(stderr, "requests"),
        log.len() as u64,
        "{stderr}\n{log:#?}"
    );
}

fn tree_of_a_consolidated_v2_store_is_its_two_probes(b: &Backend, mut s: Session) {
    let out = b.run(&["tree", &b.fixture("nwm-chrtout-v2.zarr"), "--stats"]);
    let stdout = assert_ok(&out);
    assert!(stdout.starts_with("/\n"), "{stdout}");
    assert!(
        stdout.contains("streamflow  (367439, 2776738)  int32"),
        "{stdout}"
    );
    let log = s.requests();
    assert_eq!(
        assert_only_metadata(b, &log),
        [
            "nwm-chrtout-v2.zarr/.zmetadata",
            "nwm-chrtout-v2.zarr/zarr.json"
        ]
    );
    let mut statuses: Vec<u16> = log.iter().map(|a| a.status).collect();
    statuses.sort();
    assert_eq!(statuses, [200, 404], "{log:#?}");
    assert_counted(&text(&out.stderr), &log);
}

fn tree_of_a_consolidated_v3_store_is_its_two_probes(b: &Backend, mut s: Session) {
    let v = json(&b.run(&["tree", &b.fixture("cf-small-v3.zarr"), "--json"]));
    let paths: Vec<&str> = v["nodes"]
        .as_array()
        .map(|n| n.iter().filter_map(|n| n["path"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        paths,
        ["/", "/flow", "/lat", "/lon", "/station", "/time"],
        "{v}"
    );
    assert_eq!(
        assert_only_metadata(b, &s.requests()),
        ["cf-small-v3.zarr/.zmetadata", "cf-small-v3.zarr/zarr.json"]
    );
}

fn show_reads_only_metadata(b: &Backend, mut s: Session) {
    let out = assert_ok(&b.run(&["show", &b.fixture("cf-small-v3.zarr")]));
    assert!(
        out.contains("Dimensions:  (time: 8760, station: 50)"),
        "{out}"
    );
    assert!(out.contains("flow  (time, station)"), "{out}");
    assert!(out.contains("Conventions:  CF-1.8"), "{out}");
    assert_only_metadata(b, &s.requests());
}

fn crawl_reads_only_metadata_keys_and_listings(b: &Backend, mut s: Session) {
    let out = b.run(&[
        "tree",
        &b.fixture("nested-unconsolidated-v2.zarr"),
        "--crawl",
        "--json",
        "--stats",
    ]);
    let v = json(&out);
    let paths: Vec<&str> = v["nodes"]
        .as_array()
        .map(|n| n.iter().filter_map(|n| n["path"].as_str()).collect())
        .unwrap_or_default();
    for path in [
        "/forcing/precip",
        "/forcing/temp",
        "/forcing/hourly/station/flow",
        "/empty_parent/empty_child",
        "/time",
    ] {
        assert!(paths.contains(&path), "{path} missing from {v}");
    }
    let log = s.requests();
    let keys = assert_only_metadata(b, &log);
    assert!(
        keys.contains(
            &"nested-unconsolidated-v2.zarr/forcing/hourly/station/flow/.zarray".to_string()
        ),
        "{keys:?}"
    );
    let listings = log.iter().filter(|a| b.key(a).is_none()).count();
    assert!(listings > 0, "a crawl lists: {log:#?}");
    assert_counted(&text(&out.stderr), &log);
}

fn ls_lists_a_prefix(b: &Backend, mut s: Session) {
    let out = assert_ok(&b.run(&["ls", "-1", &b.fixture("nwm-chrtout-v2.zarr/")]));
    let mut names: Vec<&str> = out.lines().collect();
    names.sort();
    assert_eq!(names, common::NWM_LISTING, "{out}");
    let log = s.requests();
    assert_eq!(log.len(), 1, "one listing: {log:#?}");
    assert_eq!(b.key(&log[0]), None, "{log:#?}");
}

fn glob_matches_keys(b: &Backend, mut s: Session) {
    let out = assert_ok(&b.run(&["glob", &b.fixture("nwm-chrtout-v2.zarr/*/.zarray")]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 10, "{out}");
    assert!(lines.iter().all(|l| l.ends_with("/.zarray")), "{out}");
    let log = s.requests();
    assert!(
        log.iter().all(|a| b.key(a).is_none()),
        "only listings: {log:#?}"
    );
}

fn info_is_one_head(b: &Backend, mut s: Session) {
    let key = "nwm-chrtout-v2.zarr/.zmetadata";
    let size = std::fs::metadata(common::repo_root().join("fixtures").join(key))
        .unwrap()
        .len();
    let v = json(&b.run(&["info", &b.fixture(key), "--json"]));
    assert_eq!(v["size"], size, "{v}");
    let log = s.requests();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(
        (log[0].method.as_str(), b.key(&log[0]), log[0].status),
        ("HEAD", Some(key), 200)
    );
}

fn head_reads_a_range(b: &Backend, mut s: Session) {
    let key = "nwm-chrtout-v2.zarr/.zmetadata";
    let whole = std::fs::read(common::repo_root().join("fixtures").join(key)).unwrap();
    let out = b.run(&["head", "-c", "100", &b.fixture(key)]);
    assert_ok(&out);
    assert_eq!(out.stdout, whole[..100]);
    let log = s.requests();
    assert!(!log.is_empty());
    for access in &log {
        assert_eq!(
            (access.method.as_str(), b.key(access)),
            ("GET", Some(key)),
            "{log:#?}"
        );
    }
}

fn du_counts_every_object(b: &Backend, mut s: Session) {
    let store = "nested-unconsolidated-v2.zarr";
    let (objects, bytes) =
        common::inspect::disk_usage(&common::repo_root().join("fixtures").join(store));
    let v = json(&b.run(&["du", &b.fixture(store), "--json"]));
    assert_eq!(
        (v["objects"].as_u64(), v["bytes"].as_u64()),
        (Some(objects), Some(bytes)),
        "{v}"
    );
    let log = s.requests();
    assert!(
        log.iter().all(|a| b.key(a).is_none()),
        "only listings: {log:#?}"
    );
}

fn check_compares_consolidated_with_the_nodes(b: &Backend, mut s: Session) {
    let out = assert_ok(&b.run(&["check", &b.fixture("nwm-chrtout-v2.zarr")]));
    assert!(
        out.contains("consistent — the consolidated metadata of"),
        "{out}"
    );
    assert!(out.contains("matches all 11 nodes"), "{out}");
    assert_only_metadata(b, &s.requests());
}

fn consolidate_dry_run_writes_nothing_and_yes_writes_one_key(b: &Backend, mut s: Session) {
    let store = b.url(b.writable(0), fakegcs::WRITABLE);
    let out = b.credentialed(&["consolidate", &store]).output().unwrap();
    assert_ok(&out);
    let log = s.requests();
    assert_only_metadata(b, &log);
    s.restart();

    let out = b
        .credentialed(&["consolidate", &store, "--yes"])
        .output()
        .unwrap();
    let log = s.requests();
    let writes: Vec<&Access> = log.iter().filter(|a| a.method != "GET").collect();
    assert_eq!(writes.len(), 1, "{log:#?}");
    assert_eq!(
        (writes[0].method.as_str(), b.key(writes[0])),
        ("PUT", Some("nested-unconsolidated-v2.zarr/.zmetadata")),
        "{log:#?}"
    );
    if b.kind == Kind::Gcs {
        // fake-gcs-server takes uploads through its JSON API only: object_store's
        // XML API PUT (with x-goog-if-generation-match) is refused, so the
        // conditional write cannot be shown on it. This pins today's error.
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains("400 Bad Request"), "{err}");
        assert!(err.contains("invalid uploadType"), "{err}");
        // A failed write says so (not "reading").
        assert!(err.contains("writing") && !err.contains("reading"), "{err}");
        assert_eq!(writes[0].status, 400);
        return;
    }
    assert_ok(&out);
    assert_eq!(writes[0].status, 201, "{log:#?}");
    s.restart();

    // Now a consolidated store: its tree is the two probes.
    let v = json(
        &b.credentialed(&["tree", &store, "--json"])
            .output()
            .unwrap(),
    );
    assert!(
        v["nodes"]
            .to_string()
            .contains("/forcing/hourly/station/flow"),
        "{v}"
    );
    assert_eq!(
        assert_only_metadata(b, &s.requests()),
        [
            "nested-unconsolidated-v2.zarr/.zmetadata",
            "nested-unconsolidated-v2.zarr/zarr.json"
        ]
    );
}

#[test]
fn azure_a_private_container_needs_the_key_and_checks_it() {
    let Some(b) = Backend::get(Kind::Azure) else {
        return;
    };
    let mut s = b.server.session();
    let store = b.url(azurite::PRIVATE, "nwm-chrtout-v2.zarr");
    // Anonymous: Azurite refuses, as Azure does for a private container.
    let out = b.run(&["tree", &store]);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("AZURE_STORAGE_ACCOUNT_KEY"), "{err}");
    let log = s.requests();
    assert!(
        !log.is_empty() && log.iter().all(|a| a.status >= 400),
        "{log:#?}"
    );
    s.restart();
    // With the account's key: the same tree as from the public container.
    let signed = assert_ok(&b.credentialed(&["tree", &store]).output().unwrap());
    let public = assert_ok(&b.run(&["tree", &b.fixture("nwm-chrtout-v2.zarr")]));
    assert_eq!(signed, public);
    s.restart();
    // A wrong key: Azurite checks the signature.
    let wrong = "d3Jvbmcta2V5LU1BUktFUi1lbXVsYXRvcg==";
    let out = b
        .zarrscope(&["tree", &store])
        .env("AZURE_STORAGE_ACCOUNT_KEY", wrong)
        .output()
        .unwrap();
    assert_code(&out, 2);
    let err = text(&out.stderr);
    // Azurite answers a bad signature with 403 AuthorizationFailure (Azure:
    // AuthenticationFailed), which zarrscope reports as a plain denial.
    assert!(err.contains("access denied (403)"), "{err}");
    // Real Azure uses AuthorizationFailure for refusals that are not about
    // the signature (a firewall, a missing role), so it is not read as
    // "wrong key"; the hint still names Azure's credentials, never AWS's.
    assert!(err.contains("AZURE_STORAGE_ACCOUNT_KEY"), "{err}");
    assert!(!err.contains("--profile") && !err.contains("AWS"), "{err}");
    assert!(!err.contains(wrong), "the key leaked: {err}");
    assert!(s.requests().iter().all(|a| a.status == 403));
}

#[test]
fn gcs_serves_unsigned_and_signed_requests_alike() {
    // fake-gcs-server checks no credentials: anonymous and credentialed
    // reads give the same tree; what it cannot show is a refusal.
    let Some(b) = Backend::get(Kind::Gcs) else {
        return;
    };
    let _s = b.server.session();
    let store = b.fixture("nwm-chrtout-v2.zarr");
    let anonymous = b.run(&["tree", &store]);
    let err = text(&anonymous.stderr);
    assert!(err.contains("sending anonymous requests"), "{err}");
    let signed = b.credentialed(&["tree", &store]).output().unwrap();
    assert!(
        !text(&signed.stderr).contains("anonymous"),
        "{}",
        text(&signed.stderr)
    );
    assert_eq!(assert_ok(&anonymous), assert_ok(&signed));
}

#[test]
fn azure_consolidate_reports_a_concurrent_write_and_keeps_it() {
    let Some(b) = Backend::get(Kind::Azure) else {
        return;
    };
    let mut s = b.server.session();
    let container = b.writable(1);
    let key = format!("{}/.zmetadata", fakegcs::WRITABLE);
    let theirs = b"{\"written by\": \"another writer\"}";
    // Another writer creates the key between zarrscope's read and its
    // write: a proxy in front of Azurite does that write when zarrscope's
    // PUT arrives, then forwards the PUT, whose If-None-Match: * Azurite
    // must now refuse.
    let server = b.server;
    let target = format!("/{}/{container}/{key}", azurite::ACCOUNT);
    let done = std::sync::atomic::AtomicBool::new(false);
    let proxy = common::proxy::Proxy::start(&server.endpoint(), move |seen| {
        if seen.method == "PUT"
            && seen.path == target
            && !done.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            azurite::put_blob(server, container, &key, theirs);
        }
        common::proxy::Action::Forward
    });
    let store = b.url(container, fakegcs::WRITABLE);
    let out = common::cli::zarrscope()
        .args(["consolidate", &store, "--yes"])
        .args([
            "--endpoint-url",
            &format!("{}/{}", proxy.endpoint, azurite::ACCOUNT),
        ])
        .env("AZURE_STORAGE_ACCOUNT_NAME", azurite::ACCOUNT)
        .env("AZURE_STORAGE_ACCOUNT_KEY", azurite::KEY)
        .output()
        .unwrap();
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("changed since it was read; nothing was written"),
        "{err}"
    );
    let puts: Vec<Access> = s
        .requests()
        .into_iter()
        .filter(|a| a.method == "PUT")
        .collect();
    assert_eq!(puts.len(), 2, "theirs, then zarrscope's: {puts:#?}");
    assert!(puts[0].status < 300 && puts[1].status >= 400, "{puts:#?}");
    // Their object stands.
    let cat = b
        .credentialed(&[
            "cat",
            &b.url(container, &format!("{}/.zmetadata", fakegcs::WRITABLE)),
        ])
        .output()
        .unwrap();
    assert_eq!(assert_ok(&cat).as_bytes(), theirs);
}

/// What the README documents besides --endpoint-url reaches the real
/// emulators and gives the same view: `STORAGE_EMULATOR_HOST` (host:port)
/// for fake-gcs-server, and for Azurite a connection string (its endpoint,
/// account and key) and `AZURE_STORAGE_ENDPOINT` with the account name.
#[test]
fn the_documented_variables_reach_the_emulators_without_endpoint_url() {
    for kind in [Kind::Gcs, Kind::Azure] {
        let Some(b) = Backend::get(kind) else {
            continue;
        };
        let mut s = b.server.session();
        let (store, private) = match kind {
            Kind::Gcs => (b.fixture("nwm-chrtout-v2.zarr"), None),
            Kind::Azure => (
                b.fixture("nwm-chrtout-v2.zarr"),
                Some(b.url(azurite::PRIVATE, "nwm-chrtout-v2.zarr")),
            ),
        };
        let expected = assert_ok(&b.run(&["tree", &store]));
        s.restart();
        let endpoint = b.endpoint();
        let mut runs: Vec<(String, assert_cmd::Command)> = Vec::new();
        match kind {
            Kind::Gcs => {
                let host = endpoint.trim_start_matches("http://").to_string();
                let mut cmd = common::cli::zarrscope();
                cmd.args(["tree", &store])
                    .env("STORAGE_EMULATOR_HOST", &host);
                runs.push(("STORAGE_EMULATOR_HOST".into(), cmd));
            }
            Kind::Azure => {
                let private = private.as_deref().unwrap_or_default();
                let mut cmd = common::cli::zarrscope();
                cmd.args(["tree", private]).env(
                    "AZURE_STORAGE_CONNECTION_STRING",
                    format!(
                        "DefaultEndpointsProtocol=http;AccountName={};AccountKey={};BlobEndpoint={endpoint};",
                        azurite::ACCOUNT,
                        azurite::KEY
                    ),
                );
                runs.push(("AZURE_STORAGE_CONNECTION_STRING".into(), cmd));
                let mut cmd = common::cli::zarrscope();
                cmd.args(["tree", &store])
                    .env("AZURE_STORAGE_ENDPOINT", &endpoint)
                    .env("AZURE_STORAGE_ACCOUNT_NAME", azurite::ACCOUNT);
                runs.push(("AZURE_STORAGE_ENDPOINT".into(), cmd));
            }
        }
        for (how, mut cmd) in runs {
            let out = cmd.output().unwrap();
            assert_eq!(assert_ok(&out), expected, "{how}");
            let err = text(&out.stderr);
            assert!(!err.contains(azurite::KEY), "{how}: the key leaked: {err}");
            // The emulator itself answered (not a public cloud host).
            let log = s.requests();
            assert!(
                log.iter().any(|a| a.status == 200),
                "{how}: no request reached the emulator: {log:#?}"
            );
            assert_only_metadata(&b, &log);
            s.restart();
        }
    }
}
