//! Step 2 of the flow: open a [`Location`] as a store that can read metadata
//! and nothing else.
//!
//! The layers, outermost first — each one an `ObjectStore` wrapping the next:
//! `Guard` (metadata keys only, byte budget) → `InstrumentedStore` (counts,
//! `-v` log) → backend. Keys are bucket-relative throughout;
//! [`StoreHandle::path`] maps a key relative to the location.

pub mod backend;
mod body;
pub mod client;
pub mod credentials;
pub mod env;
pub mod failure;
pub mod guard;
pub mod instrument;
pub mod limiter;
pub mod listing;
pub mod profile;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::path::Path;
use object_store::{ObjectStore, PutPayload, PutResult};

use crate::error::{Error, ErrorKind, Result};
use crate::location::{Backend, Location};
use backend::s3::{BucketAdmin, region};
use credentials::S3Flags;
use env::Env;
use guard::{ByteBudget, Guard, GuardError, Policy};
use instrument::{RequestLogger, RequestStats};

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
    /// `--sas-token`: a SAS token for az:// (Azure Blob Storage).
    pub sas_token: Option<crate::location::SasToken>,
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
            sas_token: None,
        }
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
    /// S3 only: listings with every key as the bucket names it (see [`listing`]).
    s3_lister: Option<Arc<backend::s3::list::S3Lister>>,
}

impl StoreHandle {
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
        let backend = backend::build(
            &location,
            options,
            env,
            &stats,
            &logger,
            &notices,
            policy.writes(),
        )
        .await?;
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

    /// The same bucket, client, guard, counters and budget, located at
    /// `prefix` (bucket-relative): for a command that reads many stores of
    /// one bucket (`find`) without building a client per store. Bucket
    /// creation is not carried over.
    pub fn at(&self, prefix: &str) -> StoreHandle {
        let prefix = prefix.trim_matches('/').to_string();
        let location = Location {
            url: self.location.url_of(&prefix),
            backend: self.location.backend.clone(),
            prefix,
            reference: false,
            version: None,
        };
        StoreHandle {
            location,
            store: Arc::clone(&self.store),
            stats: Arc::clone(&self.stats),
            budget: Arc::clone(&self.budget),
            anonymous: self.anonymous,
            credential_source: self.credential_source.clone(),
            bucket_admin: None,
            access: self.access.clone(),
            server: self.server.clone(),
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            notices: Arc::clone(&self.notices),
            secrets: Arc::clone(&self.secrets),
            logger: self.logger.clone(),
            backend: Arc::clone(&self.backend),
            s3_lister: self.s3_lister.clone(),
        }
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
        // `args` may repeat the URL as typed: a SAS token in its query.
        self.redact(&format!("zarrscope {args}{}", self.access.to_args()))
    }

    /// Write `payload` at `path` only if the object there is still the
    /// version read (`expected`: its ETag, and its generation on GCS), or is
    /// absent when `expected` is `None`; a change in between is a
    /// `Precondition` or `AlreadyExists` error, never an overwrite. Each
    /// backend does this its own way.
    pub async fn put_if_unchanged(
        &self,
        path: &Path,
        payload: PutPayload,
        expected: Option<object_store::UpdateVersion>,
    ) -> object_store::Result<PutResult> {
        backend::put_if_unchanged(
            &self.location.backend,
            self.store.as_ref(),
            path,
            payload,
            expected,
        )
        .await
    }

    /// How this backend names things in messages.
    fn vocabulary(&self) -> &'static backend::Vocabulary {
        backend::vocabulary(&self.location.backend)
    }

    /// How to give credentials for this backend, for hints: `--profile` and
    /// AWS variables mean nothing to gs:// or az://.
    pub fn credentials_advice(&self) -> &'static str {
        self.vocabulary().credentials_advice
    }

    /// The permissions to read objects and to list the bucket, as this
    /// backend names them, for messages about refusals.
    pub fn permissions(&self) -> (&'static str, &'static str) {
        let words = self.vocabulary();
        (words.read_permission, words.list_permission)
    }

    /// Why an unsigned 403 may mean a missing key, for messages.
    pub fn missing_key_403_note(&self) -> &'static str {
        self.vocabulary().missing_key_403_note
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

    /// `hint` for a 403, with `--requester-pays` named as one more possible
    /// cause where it may be one: a signed S3 request without the flag.
    pub fn hint_for_403(&self, hint: String) -> String {
        match self.location.backend {
            Backend::S3 { .. } => {
                backend::s3::with_requester_pays_cause(hint, !self.anonymous, &self.access)
            }
            _ => hint,
        }
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

    /// Explain a failed read about `url`.
    pub fn explain_url(&self, url: &str, err: &object_store::Error) -> Error {
        self.explain_request(Doing::Reading, url, err)
    }

    /// Explain a failed request about `url` that was `doing` something.
    pub fn explain_request(&self, doing: Doing, url: &str, err: &object_store::Error) -> Error {
        let verb = doing.verb();
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
                _ => format!("{verb} {url}: {refusal}"),
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
        if matches!(self.location.backend, Backend::Http { .. })
            && let Some(refused) = backend::http::explain_listing_refused(url, &detail)
        {
            return refused;
        }
        if status == 0
            && let Some(cause) = failure::classify(err)
        {
            return self
                .explain_cause(doing, url, &cause, err)
                .with_kind(ErrorKind::Network);
        }
        if let Some(profile_failure) = backend::s3::explain_profile_failure(url, &detail) {
            return profile_failure;
        }
        // Every 404, 403 and 401 is answered by its own arm below.
        let kind = match status {
            404 => ErrorKind::NotFound,
            403 | 401 => ErrorKind::AccessDenied,
            _ => ErrorKind::Other,
        };
        let explained = match status {
            404 if let Some(code) = missing_bucket_code(&detail) => {
                let words = self.vocabulary();
                Error::new(format!(
                    "no such {}: {} (the server at {} answered {code} for {url})",
                    words.bucket_noun,
                    backend::bucket_of(&self.location.backend).unwrap_or_default(),
                    self.server
                ))
                .with_hint(words.missing_bucket_hint)
            }
            404 => Error::new(format!("not found: {url}")).with_hint(format!(
                "check the path; `{}` shows what is there",
                self.command(&format!("ls {}", parent_url(url)))
            )),
            // Azure answers AuthenticationFailed to a Shared Key signature
            // made with a wrong key, and to an expired SAS.
            403 if detail.contains("SignatureDoesNotMatch")
                || detail.contains("AuthenticationFailed") =>
            {
                Error::new(format!("signature rejected by the server for {url}"))
                    .with_hint(match self.vocabulary().rejected_signature_hint {
                        Some(hint) => hint.to_string(),
                        None => format!("check the secret key for {} (it must match the access key)", self.credential_source),
                    })
            }
            // S3 governs listing (s3:ListBucket) apart from reading objects.
            403 if detail.contains("Error performing list request") => {
                let permission = self.vocabulary().listing_needs;
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
                .with_hint(self.hint_for_403(format!(
                    "objects may still be readable by their exact key (cat, info, or tree of a store's root); {next}"
                )))
            }
            403 if self.anonymous => Error::new(format!(
                "access denied (403) to {url} with unsigned requests: the {} may be private, or the key may not exist ({})",
                self.vocabulary().bucket_noun,
                self.missing_key_403_note()
            ))
            .with_hint(format!("check the path, or use credentials ({}) instead of --anon", self.credentials_advice())),
            403 if doing != Doing::Reading => Error::new(format!(
                "access denied (403) {verb} {url} with {}",
                self.credential_source
            ))
            .with_hint(format!("these credentials may read but not change this {}: use credentials that may ({})", self.vocabulary().bucket_noun, self.credentials_advice())),
            403 => Error::new(format!(
                "access denied (403) to {url} with {}",
                self.credential_source
            ))
            .with_hint(self.hint_for_403(format!("check that these credentials may do this; for a public {} try --anon", self.vocabulary().bucket_noun))),
            401 if self.anonymous => Error::new(format!(
                "the server wants credentials (401) for {url}: it is not public"
            ))
            .with_hint(format!("use credentials ({}) instead of --anon", self.credentials_advice())),
            401 => Error::new(format!(
                "the server rejected the credentials (401) for {url}"
            ))
            .with_hint(match self.vocabulary().rejected_credentials_hint {
                Some(hint) => hint.to_string(),
                None => format!("check {}", self.credentials_advice()),
            }),
            // The same signs the region switch looks for: a bare "301" would
            // also match a port number in the URL.
            _ if matches!(self.location.backend, Backend::S3 { .. })
                && region::is_wrong_region(err) =>
            {
                Error::new(
                format!("{verb} {url} failed: the bucket answered with a redirect (301): it lives in another region"),
            )
                .with_hint("pass the bucket's region with --region (or AWS_REGION)")
            }
            _ => Error::new(format!("{verb} {url} failed: {detail}")).with_hint(
                "check the endpoint and network; slow servers may need --timeout or --retries",
            ),
        };
        explained.with_kind(kind)
    }

    /// The headline for a transport failure (a request made outside the
    /// `ObjectStore` trait), when its cause is known.
    pub fn explain_transport(
        &self,
        doing: Doing,
        url: &str,
        err: &(dyn std::error::Error + 'static),
    ) -> Option<Error> {
        let cause = failure::classify(err)?;
        Some(
            self.explain_cause(doing, url, &cause, err)
                .with_kind(ErrorKind::Network),
        )
    }

    /// The headline for a transport failure whose cause is known.
    fn explain_cause(
        &self,
        doing: Doing,
        url: &str,
        cause: &failure::Cause,
        err: &(dyn std::error::Error + 'static),
    ) -> Error {
        let verb = doing.verb();
        let server = &self.server;
        let root = self.redact(&failure::root_message(err));
        // --endpoint-url is ignored (with a warning) where no bucket is named.
        let endpoint_flag = if self.access.endpoint_url.is_some()
            && backend::bucket_of(&self.location.backend).is_some()
        {
            "--endpoint-url"
        } else {
            "the URL"
        };
        match cause {
            failure::Cause::CrossHostRedirect(redirect) => {
                Error::new(format!("{redirect} ({verb} {url})")).with_hint(format!(
                    "if you trust {}, point {endpoint_flag} at it directly",
                    redirect.to
                ))
            }
            failure::Cause::Dns => Error::new(format!(
                "DNS lookup failed: the host of {server} does not resolve ({verb} {url}: {root})"
            ))
            .with_hint(format!("check the host name in {endpoint_flag}")),
            failure::Cause::Tls => Error::new(format!(
                "TLS handshake with {server} failed ({verb} {url}: {root})"
            ))
            .with_hint(format!(
                "if the server speaks plain HTTP, use http:// in {endpoint_flag}; otherwise check its certificate"
            )),
            failure::Cause::ConnectionRefused => Error::new(format!(
                "connection refused by {server}: nothing listens there ({verb} {url})"
            ))
            .with_hint(format!(
                "check the host and port in {endpoint_flag}, and that the server is running"
            )),
            failure::Cause::ConnectTimeout => Error::new(format!(
                "timed out connecting to {server}: no connection within --connect-timeout {} ({verb} {url})",
                humantime::format_duration(self.connect_timeout)
            ))
            .with_hint(format!(
                "check the host and port in {endpoint_flag} and that the server is reachable; a slow network may need a longer --connect-timeout"
            )),
            failure::Cause::Timeout => Error::new(format!(
                "timed out waiting for {server} ({verb} {url}; --timeout {}, --connect-timeout {})",
                humantime::format_duration(self.timeout),
                humantime::format_duration(self.connect_timeout)
            ))
            .with_hint("a slow server or link may need a longer --timeout or more --retries"),
        }
    }
}

/// What a failed request was doing, for the headline that explains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doing {
    Reading,
    Writing,
    Deleting,
    Creating,
}

impl Doing {
    fn verb(self) -> &'static str {
        match self {
            Doing::Reading => "reading",
            Doing::Writing => "writing",
            Doing::Deleting => "deleting",
            Doing::Creating => "creating",
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

fn push_notice(notices: &Mutex<Vec<String>>, notice: impl Into<String>) {
    if let Ok(mut n) = notices.lock() {
        n.push(notice.into());
    }
}
