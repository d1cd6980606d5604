//! A real S3 HTTP server for tests: s3s + s3s-fs serving a temporary copy of
//! the fixtures on 127.0.0.1, with SigV4 checking, a request log (with
//! headers), an in-flight counter and an optional per-request delay. Strict
//! by default: it refuses what S3 refuses (see `strict.rs`).
//!
//! Buckets: `public` (anonymous reads allowed), `private` (signed requests
//! only) and `payer` (Requester Pays, see `requester_pays.rs`). Each holds a
//! copy of `fixtures/`.

#![allow(dead_code)] // each test binary uses a different part

pub mod awkward;
pub mod azure;
pub mod azurite;
pub mod cli;
pub mod copy_cap;
pub mod emulator;
pub mod fakegcs;
pub mod fault;
pub mod gate;
pub mod gcs;
pub mod imds;
pub mod inject;
pub mod inspect;
pub mod loopback;
pub mod proxy;
pub mod requester_pays;
pub mod shallow_list;
pub mod standin;
pub mod strict;
pub mod suffix_range;
pub mod throttle;
pub mod token;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const ACCESS_KEY: &str = "AKIDZARRSCOPETEST";
/// A marker secret: tests grep every output for it.
pub const SECRET_KEY: &str = "zs-secret-MARKER-4f9c2b7e1d";
/// What `ls -1` of fixtures/nwm-chrtout-v2.zarr/ lists, sorted.
pub const NWM_LISTING: [&str; 13] = [
    ".zattrs",
    ".zgroup",
    ".zmetadata",
    "crs/",
    "elevation/",
    "feature_id/",
    "gage_id/",
    "latitude/",
    "longitude/",
    "order/",
    "streamflow/",
    "time/",
    "velocity/",
];
pub const PUBLIC: &str = "public";
pub const PRIVATE: &str = "private";
/// The bucket the reference sets in fixtures/references point into
/// (`s3://zarrscope-refs/netcdf/dayN.nc`); read anonymously like `public`.
pub const REFS_BUCKET: &str = "zarrscope-refs";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path-style URI path, percent-decoded: `/bucket/key`.
    pub path: String,
    pub query: String,
    pub status: u16,
    pub signed: bool,
    /// Response body bytes, from its Content-Length (0 when none, and for HEAD).
    pub bytes: u64,
    /// The session token sent (header or presigned query), if any.
    pub security_token: Option<String>,
    /// Request headers as sent: lower-case names, values (lossy UTF-8).
    pub headers: Vec<(String, String)>,
}

impl LoggedRequest {
    /// The object key (without bucket), for object requests.
    pub fn key(&self) -> Option<&str> {
        let rest = self.path.strip_prefix('/')?;
        let (_bucket, key) = rest.split_once('/')?;
        (!key.is_empty()).then_some(key)
    }

    /// The first value of request header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

pub struct S3Server {
    pub endpoint: String,
    /// First, so it stops before the buckets' directory is removed.
    server: loopback::Loopback,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    denied: Arc<Mutex<Vec<String>>>,
    strict: strict::Strict,
    max_in_flight: Arc<AtomicUsize>,
    phantoms: awkward::Phantoms,
    copy_cap: copy_cap::CopyCapState,
    faults: inject::Faults,
    throttle: throttle::Throttle,
    root: tempfile::TempDir,
}

/// Anonymous reads on `public`; everything else needs a valid signature.
/// Operations named in `denied` are refused even when signed (a fault).
struct PublicReadAccess {
    denied: Arc<Mutex<Vec<String>>>,
    strict: strict::Strict,
}

#[async_trait::async_trait]
impl S3Access for PublicReadAccess {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> s3s::S3Result<()> {
        let op = cx.s3_op().name();
        if self.denied.lock().unwrap().iter().any(|d| d == op) {
            return Err(s3s::s3_error!(AccessDenied, "Access Denied"));
        }
        if self.strict.refuses(op, cx.s3_path().get_bucket_name()) {
            return Err(s3s::s3_error!(AccessDenied, "Access Denied"));
        }
        if requester_pays::refuses(cx) {
            return Err(s3s::s3_error!(AccessDenied, "Access Denied"));
        }
        if cx.credentials().is_some() {
            return Ok(());
        }
        let read = matches!(
            op,
            "GetObject" | "HeadObject" | "ListObjects" | "ListObjectsV2" | "HeadBucket"
        );
        if read && matches!(cx.s3_path().get_bucket_name(), Some(PUBLIC | REFS_BUCKET)) {
            Ok(())
        } else {
            Err(s3s::s3_error!(AccessDenied, "Access Denied"))
        }
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl S3Server {
    /// A strict server: it refuses what S3 refuses.
    pub fn start() -> Self {
        Self::start_with(Duration::ZERO, true, None)
    }

    /// The bench server (`examples/s3server.rs`): `delay` per request, and
    /// a delimited listing costs one directory read, as on S3 (see
    /// `shallow_list`).
    pub fn start_for_bench(delay: Duration) -> Self {
        Self::start_full(delay, true, None, true)
    }

    /// s3s-fs as it is: it takes a PUT without Content-Length and a batch
    /// delete without a checksum (for a test that needs what S3 refuses).
    pub fn start_lenient() -> Self {
        Self::start_with(Duration::ZERO, false, None)
    }

    /// Every request waits `delay` before it is served (a slow network).
    pub fn start_with_delay(delay: Duration) -> Self {
        Self::start_with(delay, true, None)
    }

    /// Requests `gate` holds wait until enough of them are in flight.
    pub fn start_with_gate(gate: std::sync::Arc<gate::Gate>) -> Self {
        Self::start_with(Duration::ZERO, true, Some(gate))
    }

    fn start_with(delay: Duration, strict: bool, gate: Option<std::sync::Arc<gate::Gate>>) -> Self {
        Self::start_full(delay, strict, gate, false)
    }

    fn start_full(
        delay: Duration,
        strict: bool,
        gate: Option<std::sync::Arc<gate::Gate>>,
        shallow_listing: bool,
    ) -> Self {
        let root = tempfile::tempdir().unwrap();
        for bucket in [PUBLIC, PRIVATE, requester_pays::PAYER] {
            copy_dir(&repo_root().join("fixtures"), &root.path().join(bucket));
        }
        let phantoms = awkward::Phantoms::default();
        let fs = awkward::Awkward {
            fs: s3s_fs::FileSystem::new(root.path()).unwrap(),
            phantoms: phantoms.clone(),
            root: root.path().to_path_buf(),
            shallow_listing,
        };
        let copy_cap = copy_cap::CopyCapState::new();
        let fs = copy_cap::CopyCap {
            inner: fs,
            state: copy_cap.clone(),
            root: root.path().to_path_buf(),
        };
        let mut builder = S3ServiceBuilder::new(fs);
        builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
        let denied = Arc::new(Mutex::new(Vec::new()));
        let strict = strict::Strict::new(strict, root.path().to_path_buf());
        builder.set_access(PublicReadAccess {
            denied: denied.clone(),
            strict: strict.clone(),
        });
        let service = builder.build();

        let log = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (log2, in_flight2, max2) = (log.clone(), in_flight.clone(), max_in_flight.clone());
        let root_dir = root.path().to_path_buf();
        let strict2 = strict.clone();
        let faults = inject::Faults::default();
        let faults2 = faults.clone();
        let throttle = throttle::Throttle::default();
        let throttle2 = throttle.clone();
        let server =
            loopback::Loopback::serve(move |req: hyper::Request<hyper::body::Incoming>| {
                let (service, log, in_flight, max, root_dir, strict, gate) = (
                    service.clone(),
                    log2.clone(),
                    in_flight2.clone(),
                    max2.clone(),
                    root_dir.clone(),
                    strict2.clone(),
                    gate.clone(),
                );
                let faults = faults2.clone();
                let throttle = throttle2.clone();
                async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(now, Ordering::SeqCst);
                    let throttled = throttle.refuses(now);
                    let method = req.method().to_string();
                    let path = percent_decode(req.uri().path());
                    let query = req.uri().query().unwrap_or("").to_string();
                    let signed = req.headers().contains_key("authorization");
                    let security_token = token::security_token(&req);
                    let headers = header_list(req.headers());
                    if !delay.is_zero() && !throttled {
                        tokio::time::sleep(delay).await;
                    }
                    if let Some(gate) = &gate {
                        gate.pass(&path).await;
                    }
                    // S3 has no directories: a key naming a directory on
                    // disk is a missing key (s3s-fs would answer 500).
                    let is_dir_key = matches!(method.as_str(), "GET" | "HEAD")
                        && path.trim_start_matches('/').contains('/')
                        && !path.ends_with('/')
                        && root_dir.join(path.trim_start_matches('/')).is_dir();
                    let refused = strict.refuse_early(&method, &query, req.headers());
                    let mut req = req;
                    suffix_range::as_s3_does(&mut req, &root_dir, &path);
                    let result = match faults.answer(&method, &path, req).await {
                        Ok(_) | Err(_) if throttled => Ok(throttle::slow_down()),
                        Ok(injected) => Ok(injected),
                        Err(_) if is_dir_key => Ok(not_found()),
                        Err(req) => match refused {
                            Some(refused) => Ok(refused),
                            None => hyper::service::Service::call(&service, req).await,
                        },
                    };
                    let result = result.map(|r| strict.hide_missing(&method, &path, r));
                    let status = result.as_ref().map_or(500, |r| r.status().as_u16());
                    // A HEAD's Content-Length describes the object, not a body sent.
                    let bytes = result
                        .as_ref()
                        .ok()
                        .filter(|_| method != "HEAD")
                        .and_then(|r| r.headers().get(hyper::header::CONTENT_LENGTH))
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    log.lock().unwrap().push(LoggedRequest {
                        method,
                        path,
                        query,
                        status,
                        signed,
                        bytes,
                        security_token,
                        headers,
                    });
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    result
                }
            });
        Self {
            endpoint: server.endpoint.clone(),
            server,
            log,
            denied,
            strict,
            max_in_flight,
            phantoms,
            copy_cap,
            faults,
            throttle,
            root,
        }
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap().clone()
    }

    /// Most requests the server was serving at one time.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Answer the next `times` requests of `method` on `key` (object key,
    /// any bucket; `""` for bucket requests) with `status` (503: SlowDown).
    pub fn fail_next(&self, method: &str, key: &str, status: u16, times: usize) {
        self.faults.fail_next(method, key, status, times);
    }

    /// From now on, answer 503 SlowDown to each request that arrives while
    /// more than `above` are in flight (see `throttle`).
    pub fn throttle_above(&self, above: usize) {
        self.throttle.set(above);
    }

    /// After a run against [`S3Server::throttle_above`]: the server did
    /// throttle (or the test proves nothing), no request was refused more
    /// often than the 2 retries absorb, and backing off kept the refusals
    /// under a tenth of what was asked.
    pub fn assert_throttling_absorbed(&self) {
        let log = self.requests();
        let refused = log.iter().filter(|r| r.status == 503).count();
        assert!(refused > 0, "never throttled: the test proves nothing");
        let mut per_request = std::collections::HashMap::new();
        for r in log.iter().filter(|r| r.status == 503) {
            *per_request
                .entry((r.path.clone(), r.query.clone()))
                .or_insert(0) += 1;
        }
        assert!(
            per_request.values().all(|n| *n <= 2),
            "a request was refused more than twice: {per_request:?}"
        );
        assert!(
            refused * 10 < log.len(),
            "{refused} of {} requests refused",
            log.len()
        );
    }

    /// Refuse an S3 operation (e.g. "DeleteObject") from now on, signed or not.
    pub fn deny(&self, operation: &str) {
        self.denied.lock().unwrap().push(operation.to_string());
    }

    /// From now on callers lack s3:ListBucket on `bucket`, as on a private
    /// bucket (or a public one granting only GetObject): listings are refused
    /// (403) and a GET/HEAD of a missing key answers 403 AccessDenied, signed
    /// or not. Existing keys are still served.
    pub fn deny_list(&self, bucket: &str) {
        self.strict.deny_list(bucket);
    }

    pub fn reset(&self) {
        self.log.lock().unwrap().clear();
        self.max_in_flight.store(0, Ordering::SeqCst);
        self.copy_cap.clear();
    }

    /// Open `s3://public/{store}` through the library's guarded store,
    /// unsigned, on this server, with an empty environment.
    pub async fn open_public(&self, store: &str) -> zarrscope::store::StoreHandle {
        use zarrscope::store::credentials::S3Flags;
        use zarrscope::store::{StoreHandle, StoreOptions};
        let options = StoreOptions {
            s3: S3Flags {
                anon: true,
                endpoint_url: Some(self.endpoint.clone()),
                ..S3Flags::default()
            },
            ..StoreOptions::default()
        };
        let location = zarrscope::location::Location::parse(&format!("s3://{PUBLIC}/{store}"))
            .expect("a valid location");
        let no_env = std::collections::HashMap::<&str, &str>::new();
        StoreHandle::open_with(location, &options, &no_env, None, zarrscope::source::POLICY)
            .await
            .expect("the store opens")
    }

    /// Add an object whose key a file system cannot hold (`a//b`, `a/../b`,
    /// a folder marker `x/sub/`); the server lists and serves it from memory.
    pub fn add_awkward(&self, bucket: &str, key: &str, body: &[u8]) {
        assert!(
            awkward::is_awkward(key),
            "{key:?} fits on disk: write a file"
        );
        self.phantoms.lock().unwrap().insert(
            (bucket.to_string(), key.to_string()),
            bytes::Bytes::copy_from_slice(body),
        );
    }

    /// The in-memory keys of `bucket`, sorted.
    pub fn awkward_keys(&self, bucket: &str) -> Vec<String> {
        self.phantoms
            .lock()
            .unwrap()
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Where bucket `bucket` lives on disk (to add objects in a test).
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.path().join(bucket)
    }
}

/// A marker for a wrong secret: tests grep every output for it too.
pub const WRONG_SECRET: &str = "zs-wrong-MARKER-1111";

/// A temporary HOME with ~/.aws/{config,credentials}: profile `zs` (right
/// keys, endpoint_url global), `wrong` (wrong secret), `services-only`
/// (endpoint_url in a services section).
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new(endpoint: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let aws = dir.path().join(".aws");
        std::fs::create_dir_all(&aws).unwrap();
        std::fs::write(
            aws.join("config"),
            format!(
                "[profile zs]\nregion = us-east-1\nendpoint_url = {endpoint}\n\n\
                 [profile wrong]\nendpoint_url = {endpoint}\n\n\
                 [profile services-only]\nservices = local\n\n\
                 [services local]\ns3 =\n  endpoint_url = {endpoint}\n"
            ),
        )
        .unwrap();
        std::fs::write(
            aws.join("credentials"),
            format!(
                "[zs]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n\n\
                 [wrong]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {WRONG_SECRET}\n\n\
                 [services-only]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
            ),
        )
        .unwrap();
        Self { dir }
    }

    /// The binary with an empty environment except PATH and this HOME.
    pub fn zarrscope(&self) -> assert_cmd::Command {
        cli::zarrscope_in(self.dir.path())
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A figure of the `--stats` line (`requests: N  bytes: M  elapsed: T`):
/// `name` is "requests" or "bytes".
pub fn stats_figure(stderr: &str, name: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains("requests: ") && l.contains("elapsed: "))
        .unwrap_or_else(|| panic!("no --stats line in: {stderr}"));
    line.split(&format!("{name}: "))
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the --stats line: {line}"))
}

/// Run zarrscope with `home`'s environment.
pub fn run(home: &Home, args: &[&str]) -> std::process::Output {
    home.zarrscope().args(args).output().unwrap()
}

/// `args` as an anonymous read at `server`.
pub fn anon<'a>(server: &'a S3Server, args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(["--anon", "--endpoint-url", server.endpoint.as_str()]);
    v
}

/// Assert an exit code, showing the output if it differs.
pub fn assert_code(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Stdout as JSON, or a panic showing both streams.
pub fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        )
    })
}

/// Assert a command succeeded, showing its output if not; its stdout.
pub fn assert_ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn not_found() -> hyper::Response<s3s::Body> {
    let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>";
    let mut response = hyper::Response::new(s3s::Body::from(body.to_string()));
    *response.status_mut() = hyper::StatusCode::NOT_FOUND;
    response
}

/// Headers as [`LoggedRequest::headers`] keeps them.
pub fn header_list(headers: &hyper::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// A tiny HTTP server on 127.0.0.1 that answers every request with the same
/// raw response, for faults the S3 server cannot produce. It serves at most
/// `max_requests` connections and stops by itself after 20 seconds.
pub fn fixed_response_server(response: &'static [u8], max_requests: usize) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let mut served = 0;
        while served < max_requests && std::time::Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    let _ = stream.set_nonblocking(false);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut buf = [0u8; 4096];
                    let _ = stream.read(&mut buf);
                    let _ = stream.write_all(response);
                    served += 1;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    format!("http://{addr}")
}
