//! Step 2 of the flow: open a [`Location`] as a store that can read metadata
//! and nothing else.
//!
//! The layers, outermost first — each one an `ObjectStore` wrapping the next:
//! `Guard` (metadata keys only, byte budget) → `InstrumentedStore` (counts,
//! `-v` log) → backend. Keys are bucket-relative throughout;
//! [`StoreHandle::path`] maps a key relative to the location.

mod body;
mod bridge;
pub mod credentials;
pub mod failure;
pub mod guard;
pub mod http;
pub mod instrument;
pub mod local;
pub mod profile;
pub mod region;
pub mod s3_answer;
pub mod s3_list;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::error::{Error, ErrorKind, Result};
use crate::location::{Backend, Location};
use credentials::{Env, S3Credentials, S3Flags, S3Settings};
use guard::{ByteBudget, Guard, GuardError, Policy};
use instrument::{InstrumentedStore, RequestLogger, RequestStats};
use local::LocalFiles;
use profile::Profiles;

/// How to reach a store; built from command-line flags.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub s3: S3Flags,
    /// Request timeout; what it bounds is `timeout_kind`.
    pub timeout: Duration,
    pub timeout_kind: TimeoutKind,
    pub connect_timeout: Duration,
    /// Retries after the first attempt, for transient errors (5xx, resets).
    pub retries: usize,
    /// Byte budget for the whole command.
    pub max_bytes: u64,
    /// The command's budget when it opens more than one store (`diff`, a
    /// write after a plan): every store draws from it. `None` starts a new
    /// budget of `max_bytes`.
    pub budget: Option<Arc<ByteBudget>>,
}

pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// What `StoreOptions::timeout` bounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeoutKind {
    /// The whole request, body included: metadata reads, interactive use.
    #[default]
    WholeRequest,
    /// Each wait for the server (for the response, then between body reads),
    /// so a large transfer through a slow link is not cut off while bytes
    /// keep arriving; a stalled one still is.
    Idle,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            s3: S3Flags::default(),
            timeout: Duration::from_secs(30),
            timeout_kind: TimeoutKind::WholeRequest,
            connect_timeout: Duration::from_secs(5),
            retries: 2,
            max_bytes: DEFAULT_MAX_BYTES,
            budget: None,
        }
    }
}

/// What `mkdir` needs to create an S3 bucket: a client that can presign the
/// CreateBucket request, and where it goes.
pub struct BucketAdmin {
    pub signer: Arc<object_store::aws::AmazonS3>,
    pub bucket: String,
    pub region: String,
    /// True for AWS itself (where a region other than us-east-1 must be named
    /// in the request body); false for a custom endpoint.
    pub aws: bool,
    /// The custom endpoint, for messages.
    pub endpoint: Option<String>,
}

impl BucketAdmin {
    /// The bucket's URL (`http://host:port/bucket`) in `region`, as
    /// object_store forms it.
    pub fn bucket_endpoint(&self, region: &str) -> String {
        s3_bucket_endpoint(self.endpoint.as_deref(), &self.bucket, region)
    }
}

/// An opened store: the guarded `ObjectStore` plus what a command needs to
/// report on it.
pub struct StoreHandle {
    pub location: Location,
    pub store: Arc<dyn ObjectStore>,
    pub stats: Arc<RequestStats>,
    pub budget: Arc<ByteBudget>,
    /// True when requests are unsigned.
    pub anonymous: bool,
    /// Where credentials came from, for messages ("profile osn").
    pub credential_source: String,
    /// S3 only: for creating buckets.
    pub bucket_admin: Option<BucketAdmin>,
    /// The access flags the user gave, repeated in suggested commands.
    access: S3Flags,
    /// The server requests go to, for messages ("http://127.0.0.1:9000").
    server: String,
    timeout: Duration,
    connect_timeout: Duration,
    /// One-line notices for stderr; some arrive later (a discovered region).
    notices: Arc<Mutex<Vec<String>>>,
    /// Values to scrub from any message we print (grows as a profile's
    /// credentials are loaded).
    secrets: Arc<Mutex<Vec<String>>>,
    logger: Option<RequestLogger>,
    /// The instrumented backend under the guard, for [`StoreHandle::guarded`].
    backend: Arc<dyn ObjectStore>,
    /// S3 only: listings with every key as the bucket names it.
    pub s3_lister: Option<Arc<s3_list::S3Lister>>,
}

impl StoreHandle {
    /// Open a Zarr store for metadata reads: metadata keys only, no writes.
    /// Keys are bucket-relative, so the store's ancestors can be read too
    /// (a URL inside a store); [`StoreHandle::path`] maps a store-relative key.
    pub async fn open(
        location: Location,
        options: &StoreOptions,
        env: &dyn Env,
        logger: Option<RequestLogger>,
    ) -> Result<Self> {
        Self::open_with(location, options, env, logger, Policy::METADATA_ONLY).await
    }

    /// The request path of `relative`, a key relative to the location.
    pub fn path(&self, relative: &str) -> Result<object_store::path::Path> {
        Ok(crate::keys::path(&self.location.key(relative))?)
    }

    /// Open with an explicit guard policy (keys bucket-relative, as for
    /// [`StoreHandle::open`]).
    pub async fn open_with(
        location: Location,
        options: &StoreOptions,
        env: &dyn Env,
        logger: Option<RequestLogger>,
        policy: Policy,
    ) -> Result<Self> {
        let stats = Arc::new(RequestStats::default());
        let notices = Arc::new(Mutex::new(Vec::new()));
        let backend = Backend::build(&location, options, env, &stats, &logger, &notices).await?;
        let budget = match &options.budget {
            Some(shared) => Arc::clone(shared),
            None => ByteBudget::new(options.max_bytes),
        };
        let inner = Arc::clone(&backend.store);
        let store: Arc<dyn ObjectStore> =
            Arc::new(Guard::new(backend.store, Arc::clone(&budget), policy));
        Ok(Self {
            location,
            store,
            stats,
            budget,
            anonymous: backend.anonymous,
            credential_source: backend.credential_source,
            bucket_admin: backend.bucket_admin,
            access: options.s3.clone(),
            server: backend.server,
            timeout: options.timeout,
            connect_timeout: options.connect_timeout,
            notices,
            secrets: backend.secrets,
            logger,
            backend: inner,
            s3_lister: backend.s3_lister,
        })
    }

    /// The same bucket (same client, counters, budget) behind a guard with
    /// another policy — for a command that was asked to read more, e.g.
    /// coordinate chunks.
    pub fn guarded(&self, policy: Policy) -> Arc<dyn ObjectStore> {
        Arc::new(Guard::new(
            Arc::clone(&self.backend),
            Arc::clone(&self.budget),
            policy,
        ))
    }

    /// Add a one-line notice (or warning) for stderr.
    pub fn notice(&self, text: impl Into<String>) {
        push_notice(&self.notices, text);
    }

    /// Notices not shown yet (each is returned once).
    pub fn take_notices(&self) -> Vec<String> {
        match self.notices.lock() {
            Ok(mut n) => std::mem::take(&mut *n),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    /// A zarrscope command line for a hint: `args` followed by the access
    /// flags the user gave (`--anon`, `--profile`, `--endpoint-url`,
    /// `--region`), so that the suggestion works as typed.
    pub fn command(&self, args: &str) -> String {
        format!("zarrscope {args}{}", self.access.to_args())
    }

    /// How to give credentials for this backend, for hints: `--profile` and
    /// AWS variables mean nothing to gs:// or az://.
    pub fn credentials_advice(&self) -> &'static str {
        match self.location.backend {
            Backend::S3 { .. } => "--profile NAME, AWS_PROFILE or AWS_ACCESS_KEY_ID",
            Backend::Gcs { .. } => "GOOGLE_APPLICATION_CREDENTIALS",
            Backend::Azure { .. } => "AZURE_STORAGE_ACCOUNT_KEY",
            Backend::Http { .. } | Backend::Local { .. } => {
                "an s3://, gs:// or az:// URL; zarrscope sends none to plain HTTP(S) servers"
            }
        }
    }

    /// The permissions to read objects and to list the bucket, as this
    /// backend names them, for messages about refusals.
    pub fn permissions(&self) -> (&'static str, &'static str) {
        match self.location.backend {
            Backend::S3 { .. } => ("s3:GetObject", "s3:ListBucket on the bucket"),
            _ => (
                "permission to read objects",
                "permission to list the bucket",
            ),
        }
    }

    /// Why an unsigned 403 may mean a missing key, for messages.
    pub fn missing_key_403_note(&self) -> &'static str {
        match self.location.backend {
            Backend::S3 { .. } => "public AWS buckets answer 403 for missing keys",
            _ => "servers that keep listings private answer 403 for missing keys",
        }
    }

    /// `--timeout` and `--connect-timeout`, for requests made outside the
    /// `ObjectStore` trait.
    pub fn timeouts(&self) -> (Duration, Duration) {
        (self.timeout, self.connect_timeout)
    }

    /// The `-v` logger, for requests made outside the `ObjectStore` trait.
    pub fn logger(&self) -> Option<&RequestLogger> {
        self.logger.as_ref()
    }

    /// Remove any secret from a message before it is shown.
    pub fn redact(&self, message: &str) -> String {
        let secrets = match self.secrets.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        secrets
            .iter()
            .filter(|s| !s.is_empty())
            .fold(message.to_string(), |m, s| {
                m.replace(s.as_str(), "<redacted>")
            })
    }

    /// Explain a failed read of `key` (relative to the store root).
    pub fn explain(&self, key: &str, err: &object_store::Error) -> Error {
        self.explain_url(&format!("{}/{key}", self.location.url), err)
    }

    /// Explain a failed request about `url`.
    pub fn explain_url(&self, url: &str, err: &object_store::Error) -> Error {
        if let Some(refusal) = GuardError::from_store_error(err) {
            let hint = match refusal {
                GuardError::OverBudget { .. } | GuardError::BudgetExhausted { .. } => format!(
                    "raise the budget with --max-bytes (now {} bytes)",
                    self.budget.max()
                ),
                GuardError::NotMetadata { .. } | GuardError::ReadOnly { .. } => {
                    "this command may not do that; this is a bug if you see it".into()
                }
                GuardError::NotRegularFile { .. } => {
                    "zarrscope reads regular files only (a FIFO or device could block forever); remove or rename that file".into()
                }
                GuardError::TimedOut { .. } => {
                    "the file system may be hung; a slow one may need a longer --timeout".into()
                }
            };
            let message = match refusal {
                // These name the file themselves.
                GuardError::NotRegularFile { .. } | GuardError::TimedOut { .. } => {
                    refusal.to_string()
                }
                _ => format!("reading {url}: {refusal}"),
            };
            let kind = match refusal {
                GuardError::OverBudget { .. } | GuardError::BudgetExhausted { .. } => {
                    ErrorKind::BudgetExceeded
                }
                _ => ErrorKind::GuardRefusal,
            };
            return Error::of_kind(kind, message).with_hint(hint);
        }
        let detail = self.redact(&err.to_string());
        // Listing errors arrive as Generic with the status in the text.
        let status = match err {
            object_store::Error::NotFound { .. } => 404,
            object_store::Error::PermissionDenied { .. } => 403,
            object_store::Error::Unauthenticated { .. } => 401,
            _ if detail.contains("403 Forbidden") => 403,
            _ if detail.contains("404 Not Found") => 404,
            _ if detail.contains("401 Unauthorized") => 401,
            _ => 0,
        };
        let http_server = matches!(self.location.backend, Backend::Http { .. });
        if http_server && detail.contains("PROPFIND") {
            return Error::new(format!(
                "{url}: this HTTP server cannot list (listing needs WebDAV PROPFIND, which it refused)"
            ))
            .with_hint("give an object's URL to info, head or cat, or a store's root to tree; listing works on s3://, gs:// and az://");
        }
        if status == 0
            && let Some(cause) = failure::classify(err)
        {
            return self
                .explain_cause(url, &cause, err)
                .with_kind(ErrorKind::Network);
        }
        // The profile bridge's own failure (an expired SSO session, a
        // failing credential_process): not the network.
        if let Some(at) = detail.find("cannot load credentials for profile") {
            return Error::new(format!("{} (reading {url})", &detail[at..])).with_hint(
                "check the profile in ~/.aws/config and ~/.aws/credentials (for SSO: aws sso login); for a public bucket use --anon",
            );
        }
        // Every 404, 403 and 401 is answered by its own arm below.
        let kind = match status {
            404 => ErrorKind::NotFound,
            403 | 401 => ErrorKind::AccessDenied,
            _ => ErrorKind::Other,
        };
        let explained = match status {
            404 if let Some(code) = missing_bucket_code(&detail) => {
                let (what, name, hint) = match &self.location.backend {
                    Backend::Azure { container } => (
                        "container",
                        container.as_str(),
                        "check the container name and the storage account (AZURE_STORAGE_ACCOUNT_NAME)",
                    ),
                    Backend::S3 { bucket } | Backend::Gcs { bucket } => (
                        "bucket",
                        bucket.as_str(),
                        "check the bucket name (and the endpoint: another server may hold it)",
                    ),
                    _ => ("bucket", "", "check the URL"),
                };
                Error::new(format!(
                    "no such {what}: {name} (the server at {} answered {code} for {url})",
                    self.server
                ))
                .with_hint(hint)
            }
            404 => Error::new(format!("not found: {url}")).with_hint(format!(
                "check the path; `{}` shows what is there",
                self.command(&format!("ls {}", parent_url(url)))
            )),
            403 if detail.contains("SignatureDoesNotMatch") => {
                Error::new(format!("signature rejected by the server for {url}"))
                    .with_hint(format!("check the secret key for {} (it must match the access key)", self.credential_source))
            }
            // Azure's answer to a Shared Key signature made with a wrong key.
            403 if detail.contains("AuthenticationFailed") => {
                Error::new(format!("signature rejected by the server for {url}"))
                    .with_hint(format!("check {} (it must be the key of the storage account)", self.credentials_advice()))
            }
            // S3 governs listing (s3:ListBucket) apart from reading objects.
            403 if detail.contains("Error performing list request") => {
                let permission = match self.location.backend {
                    Backend::S3 { .. } => "s3:ListBucket on the bucket",
                    _ => "the permission to list the bucket",
                };
                let next = if self.anonymous {
                    format!(
                        "or use credentials that may list it ({}) instead of --anon",
                        self.credentials_advice()
                    )
                } else {
                    "or ask for that permission for these credentials; for a public bucket try --anon"
                        .to_string()
                };
                Error::new(format!(
                    "access denied (403) to the listing of {url} with {}: listing needs {permission}",
                    self.credential_source
                ))
                .with_hint(format!(
                    "objects may still be readable by their exact key (cat, info, or tree of a store's root); {next}"
                ))
            }
            403 if self.anonymous => Error::new(format!(
                "access denied (403) to {url} with unsigned requests: the bucket may be private, or the key may not exist ({})",
                self.missing_key_403_note()
            ))
            .with_hint(format!("check the path, or use credentials ({}) instead of --anon", self.credentials_advice())),
            403 => Error::new(format!(
                "access denied (403) to {url} with {}",
                self.credential_source
            ))
            .with_hint("check that these credentials may do this; for a public bucket try --anon"),
            401 if self.anonymous => Error::new(format!(
                "the server wants credentials (401) for {url}: it is not public"
            ))
            .with_hint(format!("use credentials ({}) instead of --anon", self.credentials_advice())),
            401 => Error::new(format!(
                "the server rejected the credentials (401) for {url}"
            ))
            .with_hint(match self.location.backend {
                Backend::S3 { .. } => "check the access key, secret and session token".to_string(),
                _ => format!("check {}", self.credentials_advice()),
            }),
            // The same signs the region switch looks for: a bare "301" would
            // also match a port number in the URL.
            _ if region::is_wrong_region(err) => {
                Error::new(
                format!("reading {url} failed: the bucket answered with a redirect (301): it lives in another region"),
            )
                .with_hint("pass the bucket's region with --region (or AWS_REGION)")
            }
            _ => Error::new(format!("reading {url} failed: {detail}")).with_hint(
                "check the endpoint and network; slow servers may need --timeout or --retries",
            ),
        };
        explained.with_kind(kind)
    }

    /// The headline for a transport failure whose cause is known.
    fn explain_cause(&self, url: &str, cause: &failure::Cause, err: &object_store::Error) -> Error {
        let server = &self.server;
        let root = self.redact(&failure::root_message(err));
        let endpoint_flag = if self.access.endpoint_url.is_some() {
            "--endpoint-url"
        } else {
            "the URL"
        };
        match cause {
            failure::Cause::CrossHostRedirect(redirect) => {
                Error::new(format!("{redirect} (reading {url})")).with_hint(format!(
                    "if you trust {}, point {endpoint_flag} at it directly",
                    redirect.to
                ))
            }
            failure::Cause::Dns => Error::new(format!(
                "DNS lookup failed: the host of {server} does not resolve (reading {url}: {root})"
            ))
            .with_hint(format!("check the host name in {endpoint_flag}")),
            failure::Cause::Tls => Error::new(format!(
                "TLS handshake with {server} failed (reading {url}: {root})"
            ))
            .with_hint(format!(
                "if the server speaks plain HTTP, use http:// in {endpoint_flag}; otherwise check its certificate"
            )),
            failure::Cause::ConnectionRefused => Error::new(format!(
                "connection refused by {server}: nothing listens there (reading {url})"
            ))
            .with_hint(format!(
                "check the host and port in {endpoint_flag}, and that the server is running"
            )),
            failure::Cause::ConnectTimeout => Error::new(format!(
                "timed out connecting to {server}: no connection within --connect-timeout {} (reading {url})",
                humantime::format_duration(self.connect_timeout)
            ))
            .with_hint(format!(
                "check the host and port in {endpoint_flag} and that the server is reachable; a slow network may need a longer --connect-timeout"
            )),
            failure::Cause::Timeout => Error::new(format!(
                "timed out waiting for {server} (reading {url}; --timeout {}, --connect-timeout {})",
                humantime::format_duration(self.timeout),
                humantime::format_duration(self.connect_timeout)
            ))
            .with_hint("a slow server or link may need a longer --timeout or more --retries"),
        }
    }
}

/// The error code in `detail` (an error's text) with which a service says
/// the bucket itself is missing, not a key: S3's and the GCS XML API's
/// `NoSuchBucket`, Azure's `ContainerNotFound`.
pub fn missing_bucket_code(detail: &str) -> Option<&'static str> {
    ["NoSuchBucket", "ContainerNotFound"]
        .into_iter()
        .find(|code| detail.contains(code))
}

/// The URL of the "directory" above `url` (itself for a bucket's root).
fn parent_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, _)) if !parent.ends_with('/') && parent.contains("://") => {
            format!("{parent}/")
        }
        _ => format!("{trimmed}/"),
    }
}

struct BuiltBackend {
    /// The backend with instrumentation on top.
    store: Arc<dyn ObjectStore>,
    anonymous: bool,
    credential_source: String,
    secrets: Arc<Mutex<Vec<String>>>,
    bucket_admin: Option<BucketAdmin>,
    s3_lister: Option<Arc<s3_list::S3Lister>>,
    /// Where requests go, for messages.
    server: String,
}

impl BuiltBackend {
    fn new(store: Arc<dyn ObjectStore>, anonymous: bool, server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            store,
            anonymous,
            credential_source: if anonymous {
                "unsigned requests"
            } else {
                "the configured credentials"
            }
            .into(),
            secrets: Arc::default(),
            bucket_admin: None,
            s3_lister: None,
        }
    }
}

/// The bucket's URL as object_store's S3 client forms it for the addressing
/// style chosen above: path style on a custom endpoint; on AWS the bucket in
/// the host unless its name has a dot.
fn s3_bucket_endpoint(endpoint: Option<&str>, bucket: &str, region: &str) -> String {
    match endpoint {
        Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        None if bucket.contains('.') => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
    }
}

fn push_notice(notices: &Mutex<Vec<String>>, notice: impl Into<String>) {
    if let Ok(mut n) = notices.lock() {
        n.push(notice.into());
    }
}

/// A bucket (or container) name goes into request URLs as is: letters,
/// digits, `.`, `-` and `_` only (what S3, GCS and Azure allow), so that a
/// typo is an error here rather than an invalid request deep in the client.
pub fn check_bucket_name(bucket: &str) -> Result<()> {
    let valid = !bucket.is_empty()
        && bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if valid {
        Ok(())
    } else {
        Err(Error::new(format!(
            "invalid bucket name {bucket:?}: bucket names are letters, digits, '.', '-' and '_'"
        ))
        .with_hint("check the URL, e.g. s3://bucket/path/store.zarr"))
    }
}

impl Backend {
    async fn build(
        location: &Location,
        options: &StoreOptions,
        env: &dyn Env,
        stats: &Arc<RequestStats>,
        logger: &Option<RequestLogger>,
        notices: &Arc<Mutex<Vec<String>>>,
    ) -> Result<BuiltBackend> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: options.retries,
            // No retry starts after this long from the first attempt. A
            // transfer may rightly run for minutes before a transient failure:
            // it keeps object_store's default window (below the 5 minutes
            // after which a signature may expire); --retries still bounds it.
            retry_timeout: match options.timeout_kind {
                TimeoutKind::WholeRequest => options.timeout,
                TimeoutKind::Idle => options.timeout.max(Duration::from_secs(180)),
            },
        };
        let client = |allow_http: bool| {
            let client = ClientOptions::new()
                .with_connect_timeout(options.connect_timeout)
                .with_allow_http(allow_http);
            match options.timeout_kind {
                TimeoutKind::WholeRequest => client.with_timeout(options.timeout),
                TimeoutKind::Idle => client
                    .with_timeout_disabled()
                    .with_read_timeout(options.timeout),
            }
        };
        // Our HTTP client: no credentials follow a redirect to another host.
        let (whole, idle) = match options.timeout_kind {
            TimeoutKind::WholeRequest => (Some(options.timeout), None),
            TimeoutKind::Idle => (None, Some(options.timeout)),
        };
        let connector = |allow_http: bool, signed: bool| http::Connector {
            timeout: whole,
            read_timeout: idle,
            connect_timeout: options.connect_timeout,
            allow_http,
            signed,
            stats: Arc::clone(stats),
            logger: logger.clone(),
        };
        let config_error = |what: &str, e: object_store::Error| {
            Error::new(format!("cannot set up the {what} client: {e}"))
        };
        // Listing page sizes: S3 and GCS 1000 entries, Azure 5000.
        let page_size = match &location.backend {
            Backend::Azure { .. } => Some(5000),
            Backend::S3 { .. } | Backend::Gcs { .. } => Some(1000),
            Backend::Http { .. } | Backend::Local { .. } => None,
        };
        // Keys per delete request: S3 DeleteObjects 1000, Azure batches 256.
        let delete_batch = match &location.backend {
            Backend::S3 { .. } => Some(1000),
            Backend::Azure { .. } => Some(256),
            Backend::Gcs { .. } | Backend::Http { .. } | Backend::Local { .. } => None,
        };
        // The HTTP layer (the connector above) counts every request it sends.
        let counted_below = !matches!(location.backend, Backend::Local { .. });
        let instrument = {
            let (stats, logger) = (Arc::clone(stats), logger.clone());
            move |store: Arc<dyn ObjectStore>| -> Arc<dyn ObjectStore> {
                let mut counted = InstrumentedStore::new(store, Arc::clone(&stats), logger.clone());
                if counted_below {
                    counted = counted.counted_below();
                }
                if let Some(keys) = delete_batch {
                    counted = counted.with_delete_batch(keys);
                }
                match page_size {
                    Some(size) => Arc::new(counted.with_page_size(size)),
                    None => Arc::new(counted),
                }
            }
        };
        if let Backend::S3 { bucket }
        | Backend::Gcs { bucket }
        | Backend::Azure { container: bucket } = &location.backend
        {
            check_bucket_name(bucket)?;
        }
        match &location.backend {
            Backend::S3 { bucket } => {
                let profiles = Profiles::load(env).await?;
                let settings = S3Settings::resolve(&options.s3, env, &profiles)?;
                let secrets: Arc<Mutex<Vec<String>>> =
                    Arc::new(Mutex::new(settings.credentials.secrets()));
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_retry(retry);
                let allow_http = settings
                    .endpoint
                    .as_ref()
                    .is_some_and(|e| e.starts_with("http://"));
                match &settings.endpoint {
                    Some(endpoint) => {
                        builder = builder
                            .with_client_options(client(allow_http))
                            .with_endpoint(endpoint.trim_end_matches('/'))
                            .with_virtual_hosted_style_request(false);
                    }
                    None => {
                        // AWS proper: bucket-in-host unless a dot would break TLS.
                        builder = builder
                            .with_client_options(client(false))
                            .with_virtual_hosted_style_request(!bucket.contains('.'));
                    }
                }
                let anonymous = match &settings.credentials {
                    S3Credentials::Anonymous { notice } => {
                        if *notice {
                            push_notice(
                                notices,
                                "note: no AWS credentials found; sending unsigned (anonymous) requests (--anon silences this)",
                            );
                        }
                        builder = builder.with_skip_signature(true);
                        true
                    }
                    S3Credentials::Static {
                        key_id,
                        secret,
                        token,
                    } => {
                        builder = builder
                            .with_access_key_id(key_id)
                            .with_secret_access_key(secret.expose());
                        if let Some(token) = token {
                            builder = builder.with_token(token.expose());
                        }
                        false
                    }
                    S3Credentials::Profile { name } => {
                        let provider = bridge::ProfileCredentials::new(name, Arc::clone(&secrets));
                        builder = builder.with_credentials(Arc::new(provider));
                        false
                    }
                };
                // object_store must never look for instance credentials (see
                // credentials.rs); should it ever, it asks where aws-cli and the
                // SDKs would, so the variable that redirects their IMDS client
                // also redirects (and exposes) it.
                if let Some(imds) = env.first(&["AWS_EC2_METADATA_SERVICE_ENDPOINT"]) {
                    builder = builder.with_metadata_endpoint(imds.trim_end_matches('/'));
                }
                builder = builder.with_http_connector(connector(allow_http, !anonymous));
                let for_region = move |region: &str| {
                    builder
                        .clone()
                        .with_region(region)
                        .build()
                        .map_err(|e| config_error("S3", e))
                };
                let first = Arc::new(for_region(&settings.region)?);
                let instrumented = instrument(Arc::clone(&first) as Arc<dyn ObjectStore>);
                let aws = settings.endpoint.is_none();
                let lister_target = {
                    let (endpoint, bucket) = (settings.endpoint.clone(), bucket.clone());
                    let for_region = for_region.clone();
                    move |region: &str, signer: Option<Arc<object_store::aws::AmazonS3>>| {
                        let signer = match signer {
                            Some(s) => Some(s),
                            None if anonymous => None,
                            None => Some(Arc::new(for_region(region).map_err(|e| {
                                object_store::Error::Generic {
                                    store: "S3",
                                    source: e.to_string().into(),
                                }
                            })?)),
                        };
                        Ok::<_, object_store::Error>(s3_list::Target {
                            signer,
                            bucket_endpoint: s3_bucket_endpoint(
                                endpoint.as_deref(),
                                &bucket,
                                region,
                            ),
                        })
                    }
                };
                let mut lister =
                    lister_target(&settings.region, (!anonymous).then(|| Arc::clone(&first)))
                        .and_then(|target| {
                            s3_list::S3Lister::new(
                                target,
                                options.timeout,
                                options.connect_timeout,
                                Arc::clone(stats),
                                logger.clone(),
                            )
                        })
                        .map_err(|e| config_error("S3 listing", e))?;
                // With no region given, a wrong-region answer switches to the
                // bucket's region: on AWS, and on a custom endpoint when requests
                // are signed (its URL does not name the region; only a signature
                // does, so an unsigned request has nothing to switch).
                let switch_region = !settings.region_given && (aws || !anonymous);
                let resolve: region::ResolveRegion = {
                    let (endpoint, bucket) = (settings.endpoint.clone(), bucket.clone());
                    let (timeout, connect_timeout) = (options.timeout, options.connect_timeout);
                    let (stats, logger) = (Arc::clone(stats), logger.clone());
                    Arc::new(move || {
                        let (endpoint, bucket) = (endpoint.clone(), bucket.clone());
                        let (stats, logger) = (Arc::clone(&stats), logger.clone());
                        Box::pin(async move {
                            let found = region::lookup(
                                endpoint.as_deref(),
                                &bucket,
                                timeout,
                                connect_timeout,
                            );
                            region::counted(&bucket, &stats, logger.as_ref(), found).await
                        })
                    })
                };
                if switch_region {
                    let build: s3_list::TargetForRegion =
                        Arc::new(move |region: &str| lister_target(region, None));
                    lister =
                        lister.with_region_lookup(build, Arc::clone(&resolve), Arc::clone(notices));
                }
                let store = if switch_region {
                    let rebuild: region::BuildForRegion = Arc::new(move |region: &str| {
                        let store =
                            for_region(region).map_err(|e| object_store::Error::Generic {
                                store: "S3",
                                source: e.to_string().into(),
                            })?;
                        Ok(instrument(Arc::new(store)))
                    });
                    Arc::new(region::RegionRedirect::new(
                        instrumented,
                        resolve,
                        rebuild,
                        Arc::clone(notices),
                    ))
                } else {
                    instrumented
                };
                Ok(BuiltBackend {
                    server: settings
                        .endpoint
                        .clone()
                        .unwrap_or_else(|| format!("AWS S3 (bucket {bucket})")),
                    store,
                    anonymous,
                    credential_source: settings.credentials.source(),
                    secrets,
                    bucket_admin: Some(BucketAdmin {
                        signer: first,
                        bucket: bucket.clone(),
                        region: settings.region.clone(),
                        aws,
                        endpoint: settings.endpoint.clone(),
                    }),
                    s3_lister: Some(Arc::new(lister)),
                })
            }
            Backend::Gcs { bucket } => {
                // --endpoint-url points gs:// at another GCS API server (an
                // emulator such as fake-gcs-server); AWS_ENDPOINT_URL does not.
                let endpoint = options.s3.endpoint_url.as_deref();
                let allow_http = endpoint.is_some_and(|e| e.starts_with("http://"));
                let mut builder = GoogleCloudStorageBuilder::new()
                    .with_bucket_name(bucket)
                    .with_client_options(client(allow_http))
                    .with_retry(retry);
                if let Some(endpoint) = endpoint {
                    builder = builder.with_base_url(endpoint);
                }
                let anonymous = match env.first(&["GOOGLE_APPLICATION_CREDENTIALS"]) {
                    Some(path) if !options.s3.anon => {
                        builder = builder.with_application_credentials(path);
                        false
                    }
                    _ => {
                        if !options.s3.anon {
                            push_notice(
                                notices,
                                "note: no Google credentials found (GOOGLE_APPLICATION_CREDENTIALS); sending anonymous requests",
                            );
                        }
                        builder = builder.with_skip_signature(true);
                        true
                    }
                };
                let store = builder
                    .with_http_connector(connector(allow_http, !anonymous))
                    .build()
                    .map_err(|e| config_error("GCS", e))?;
                Ok(BuiltBackend::new(
                    instrument(Arc::new(store)),
                    anonymous,
                    endpoint.unwrap_or("https://storage.googleapis.com"),
                ))
            }
            Backend::Azure { container } => {
                let account = env
                    .first(&["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"])
                    .ok_or_else(|| {
                        Error::new("az:// URLs need the storage account name")
                            .with_hint("set AZURE_STORAGE_ACCOUNT_NAME, or use the https://ACCOUNT.blob.core.windows.net/CONTAINER/... form")
                    })?;
                // --endpoint-url replaces https://ACCOUNT.blob.core.windows.net
                // (Azurite: http://127.0.0.1:10000/devstoreaccount1).
                let endpoint = options.s3.endpoint_url.clone();
                let allow_http = endpoint
                    .as_deref()
                    .is_some_and(|e| e.starts_with("http://"));
                let mut builder = MicrosoftAzureBuilder::new()
                    .with_account(&account)
                    .with_container_name(container)
                    .with_client_options(client(allow_http))
                    .with_retry(retry);
                if let Some(endpoint) = &endpoint {
                    builder = builder.with_endpoint(endpoint.clone());
                }
                let mut key_secret = None;
                let anonymous = match env.first(&["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"])
                {
                    Some(key) if !options.s3.anon => {
                        key_secret = Some(key.clone());
                        builder = builder.with_access_key(key);
                        false
                    }
                    _ => {
                        if !options.s3.anon {
                            push_notice(
                                notices,
                                "note: no Azure key found (AZURE_STORAGE_ACCOUNT_KEY); sending anonymous requests",
                            );
                        }
                        builder = builder.with_skip_signature(true);
                        true
                    }
                };
                let server =
                    endpoint.unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
                let store = builder
                    .with_http_connector(connector(allow_http, !anonymous))
                    .build()
                    .map_err(|e| config_error("Azure", e))?;
                let built = BuiltBackend::new(instrument(Arc::new(store)), anonymous, server);
                if let Ok(mut secrets) = built.secrets.lock() {
                    secrets.extend(key_secret);
                }
                Ok(built)
            }
            Backend::Http { base } => {
                let store = HttpBuilder::new()
                    .with_url(base)
                    .with_client_options(client(base.starts_with("http://")))
                    .with_http_connector(connector(base.starts_with("http://"), false))
                    .with_retry(retry)
                    .build()
                    .map_err(|e| config_error("HTTP", e))?;
                Ok(BuiltBackend::new(instrument(Arc::new(store)), true, base))
            }
            Backend::Local { root } => {
                let store = LocalFileSystem::new_with_prefix(root)
                    .map_err(|e| Error::new(format!("cannot open {}: {e}", root.display())))?;
                let store = LocalFiles::new(store, options.timeout);
                Ok(BuiltBackend::new(
                    instrument(Arc::new(store)),
                    false,
                    "the local file system",
                ))
            }
        }
    }
}
