//! The backends under a store, one file each (as object_store has `aws/`,
//! `gcp/`, `azure/`): each builds its client from the command's options and
//! says how it names things in messages. What they share — retries,
//! timeouts, the counting HTTP client, instrumentation — is set up here.

pub mod azure;
pub mod gcs;
pub mod http;
pub mod local;
pub mod s3;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, PutMode, PutOptions, PutPayload, PutResult,
    RetryConfig, UpdateVersion,
};

use super::client::Connector;
use super::env::Env;
use super::instrument::{InstrumentedStore, RequestLogger, RequestStats};
use super::{StoreOptions, TimeoutKind, push_notice};
use crate::error::{Error, Result};
use crate::location::{Backend, Location};

/// A backend's client with instrumentation on top, and what messages say
/// about it.
pub(super) struct BuiltBackend {
    pub(super) store: Arc<dyn ObjectStore>,
    pub(super) anonymous: bool,
    pub(super) credential_source: String,
    pub(super) secrets: Arc<Mutex<Vec<String>>>,
    pub(super) bucket_admin: Option<s3::BucketAdmin>,
    pub(super) s3_lister: Option<Arc<s3::list::S3Lister>>,
    /// Where requests go, for messages.
    pub(super) server: String,
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

/// Build the backend `location` names. `writes`: the command may write
/// (refused up front where the backend cannot).
pub(super) async fn build(
    location: &Location,
    options: &StoreOptions,
    env: &dyn Env,
    stats: &Arc<RequestStats>,
    logger: &Option<RequestLogger>,
    notices: &Arc<Mutex<Vec<String>>>,
    writes: bool,
) -> Result<BuiltBackend> {
    if let Some(bucket) = bucket_of(&location.backend) {
        let words = vocabulary(&location.backend);
        check_bucket_name(bucket).map_err(|e| {
            e.with_hint(format!(
                "check the URL, e.g. {}{}/path/store.zarr",
                words.scheme, words.bucket_noun
            ))
        })?;
    }
    let setup = Setup {
        options,
        env,
        stats,
        logger,
        notices,
    };
    match &location.backend {
        Backend::S3 { bucket } => s3::build(bucket, &setup).await,
        Backend::Gcs { bucket } => gcs::build(bucket, &setup),
        Backend::Azure {
            container,
            account,
            sas,
        } => azure::build(container, account.as_deref(), sas.as_ref(), &setup),
        Backend::Http { base } => http::build(location, base, writes, &setup),
        Backend::Local { root } => local::build(root, &setup),
    }
}

/// What every backend is built from: the command's options and where its
/// requests are counted, logged and noticed.
struct Setup<'a> {
    options: &'a StoreOptions,
    env: &'a dyn Env,
    stats: &'a Arc<RequestStats>,
    logger: &'a Option<RequestLogger>,
    notices: &'a Arc<Mutex<Vec<String>>>,
}

impl Setup<'_> {
    fn retry(&self) -> RetryConfig {
        let options = self.options;
        RetryConfig {
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
        }
    }

    fn client(&self, allow_http: bool) -> ClientOptions {
        let options = self.options;
        let client = ClientOptions::new()
            .with_connect_timeout(options.connect_timeout)
            .with_allow_http(allow_http);
        match options.timeout_kind {
            TimeoutKind::WholeRequest => client.with_timeout(options.timeout),
            TimeoutKind::Idle => client
                .with_timeout_disabled()
                .with_read_timeout(options.timeout),
        }
    }

    /// Our HTTP client: no credentials follow a redirect to another host.
    fn connector(&self, allow_http: bool, signed: bool) -> Connector {
        let options = self.options;
        let (whole, idle) = match options.timeout_kind {
            TimeoutKind::WholeRequest => (Some(options.timeout), None),
            TimeoutKind::Idle => (None, Some(options.timeout)),
        };
        Connector {
            timeout: whole,
            read_timeout: idle,
            connect_timeout: options.connect_timeout,
            allow_http,
            signed,
            stats: Arc::clone(self.stats),
            logger: self.logger.clone(),
        }
    }

    /// Instrumentation for a backend that sends its requests through the
    /// connector above, which counts every one; `page_size` entries per
    /// listing page, `delete_batch` keys per delete request.
    fn instrument(&self, page_size: Option<u64>, delete_batch: Option<usize>) -> Instrument {
        Instrument {
            stats: Arc::clone(self.stats),
            logger: self.logger.clone(),
            counted_below: true,
            page_size,
            delete_batch,
        }
    }

    fn notice(&self, text: impl Into<String>) {
        push_notice(self.notices, text);
    }
}

/// Puts a backend's client under the command's counters and `-v` log.
#[derive(Clone)]
struct Instrument {
    stats: Arc<RequestStats>,
    logger: Option<RequestLogger>,
    /// The HTTP layer (the connector) counts every request it sends.
    counted_below: bool,
    page_size: Option<u64>,
    delete_batch: Option<usize>,
}

impl Instrument {
    fn wrap(&self, store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        let mut counted =
            InstrumentedStore::new(store, Arc::clone(&self.stats), self.logger.clone());
        if self.counted_below {
            counted = counted.counted_below();
        }
        if let Some(keys) = self.delete_batch {
            counted = counted.with_delete_batch(keys);
        }
        match self.page_size {
            Some(size) => Arc::new(counted.with_page_size(size)),
            None => Arc::new(counted),
        }
    }
}

fn config_error(what: &str, e: object_store::Error) -> Error {
    Error::new(format!("cannot set up the {what} client: {e}"))
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

/// Write `payload` at `path` only if the object there is still the version
/// read (`expected`), or is absent when `expected` is `None`. A change in
/// between ends in `Precondition` (or `AlreadyExists`), never in an
/// overwrite. `store` is the guarded store, so that any check a backend
/// needs first is counted, logged and guarded like every request.
///
/// S3 and Azure condition on the ETag (If-Match), GCS on the generation
/// (x-goog-if-generation-match; object_store refuses an update without
/// one), and a create on GCS sends generation 0 (PutMode::Create).
pub(super) async fn put_if_unchanged(
    backend: &Backend,
    store: &dyn ObjectStore,
    path: &Path,
    payload: PutPayload,
    expected: Option<UpdateVersion>,
) -> object_store::Result<PutResult> {
    let mode = match expected {
        Some(read) if matches!(backend, Backend::Local { .. }) => {
            let e_tag = read.e_tag.unwrap_or_default();
            return local::put_if_unchanged(store, path, payload, &e_tag).await;
        }
        Some(read) if matches!(backend, Backend::Gcs { .. }) => gcs::update_mode(path, read)?,
        Some(read) => PutMode::Update(read),
        None => PutMode::Create,
    };
    let options = PutOptions {
        mode,
        ..PutOptions::default()
    };
    store.put_opts(path, payload, options).await
}

/// How a backend names things in messages: its credentials, permissions and
/// buckets.
pub struct Vocabulary {
    /// The service, in sentences: "S3", "Google Cloud Storage".
    pub service: &'static str,
    /// Its URL scheme, for hints that name each backend: "s3://".
    pub scheme: &'static str,
    /// How to give credentials, for hints.
    pub credentials_advice: &'static str,
    /// The permissions to read objects and to list the bucket.
    pub read_permission: &'static str,
    pub list_permission: &'static str,
    /// What a refused listing needs, in "listing needs …".
    pub listing_needs: &'static str,
    /// Why an unsigned 403 may mean a missing key.
    pub missing_key_403_note: &'static str,
    /// "bucket" or "container".
    pub bucket_noun: &'static str,
    /// What to check when the bucket itself is missing.
    pub missing_bucket_hint: &'static str,
    /// What to check when the server rejects the credentials (401); `None`:
    /// check the `credentials_advice`.
    pub rejected_credentials_hint: Option<&'static str>,
    /// What to check when the server rejects a signature (403
    /// SignatureDoesNotMatch, Azure's AuthenticationFailed); `None`: the
    /// secret key of the credentials in use.
    pub rejected_signature_hint: Option<&'static str>,
    /// How to create a bucket, where `mkdir` does not; `None`: it does.
    pub create_bucket_hint: Option<&'static str>,
}

/// Generic words, for backends without names of their own: plain HTTP and
/// local files (which send no credentials) use them all, the clouds replace
/// theirs.
const GENERIC: Vocabulary = Vocabulary {
    service: "the server",
    scheme: "",
    credentials_advice: "an s3://, gs:// or az:// URL; zarrscope sends none to plain HTTP(S) servers",
    read_permission: "permission to read objects",
    list_permission: "permission to list the bucket",
    listing_needs: "the permission to list the bucket",
    missing_key_403_note: "servers that keep listings private answer 403 for missing keys",
    bucket_noun: "bucket",
    missing_bucket_hint: "check the URL",
    rejected_credentials_hint: None,
    rejected_signature_hint: None,
    create_bucket_hint: None,
};

/// The missing-bucket hint of S3 and GCS, whose buckets an endpoint names.
const CHECK_BUCKET_NAME: &str =
    "check the bucket name (and the endpoint: another server may hold it)";

/// The words `backend` uses.
pub fn vocabulary(backend: &Backend) -> &'static Vocabulary {
    match backend {
        Backend::S3 { .. } => &s3::VOCABULARY,
        Backend::Gcs { .. } => &gcs::VOCABULARY,
        Backend::Azure { .. } => &azure::VOCABULARY,
        Backend::Http { .. } => &http::VOCABULARY,
        Backend::Local { .. } => &local::VOCABULARY,
    }
}

/// An access flag that some backends ignore: given for another, the command
/// warns (once) that it does nothing there.
pub struct ScopedFlag {
    pub flag: &'static str,
    /// Where it applies, for the warning: "s3://".
    pub applies_to: &'static str,
    given: fn(&StoreOptions) -> bool,
    honoured_by: fn(&Backend) -> bool,
}

fn is_s3(backend: &Backend) -> bool {
    matches!(backend, Backend::S3 { .. })
}

fn is_cloud(backend: &Backend) -> bool {
    bucket_of(backend).is_some()
}

/// Every flag that not every backend honours (one line each).
pub const SCOPED_FLAGS: &[ScopedFlag] = &[
    ScopedFlag {
        flag: "--profile",
        applies_to: "s3://",
        given: |o| o.s3.profile.is_some(),
        honoured_by: is_s3,
    },
    ScopedFlag {
        flag: "--region",
        applies_to: "s3://",
        given: |o| o.s3.region.is_some(),
        honoured_by: is_s3,
    },
    ScopedFlag {
        flag: "--requester-pays",
        applies_to: "s3://",
        given: |o| o.s3.requester_pays,
        honoured_by: is_s3,
    },
    ScopedFlag {
        flag: "--endpoint-url",
        applies_to: "s3://, gs:// and az://",
        given: |o| o.s3.endpoint_url.is_some(),
        honoured_by: is_cloud,
    },
    ScopedFlag {
        flag: "--sas-token",
        applies_to: "az://",
        given: |o| o.sas_token.is_some(),
        honoured_by: |b| matches!(b, Backend::Azure { .. }),
    },
];

/// The flags in `options` that `backend` ignores.
pub fn ignored_flags(
    options: &StoreOptions,
    backend: &Backend,
) -> impl Iterator<Item = &'static ScopedFlag> {
    SCOPED_FLAGS
        .iter()
        .filter(move |f| (f.given)(options) && !(f.honoured_by)(backend))
}

/// The bucket (or container) `backend` names, if it names one.
pub fn bucket_of(backend: &Backend) -> Option<&str> {
    match backend {
        Backend::S3 { bucket } | Backend::Gcs { bucket } => Some(bucket),
        Backend::Azure { container, .. } => Some(container),
        Backend::Http { .. } | Backend::Local { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use object_store::{ObjectStoreExt, PutPayload, UpdateVersion};

    use crate::location::Location;
    use crate::store::guard::Policy;
    use crate::store::{StoreHandle, StoreOptions};

    /// What consolidate relies on, on local files (which object_store cannot
    /// update conditionally): a changed, existing or missing file is refused
    /// and left as it is; the check goes through the guarded store, counted.
    #[tokio::test]
    async fn local_conditional_writes_refuse_what_changed_since_read() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zarr.json");
        std::fs::write(&file, b"{}").unwrap();
        let location = Location::parse(&dir.path().display().to_string()).unwrap();
        let env: HashMap<&str, &str> = HashMap::new();
        let options = StoreOptions::default();
        let ms = StoreHandle::open_with(location, &options, &env, None, Policy::READ_WRITE)
            .await
            .unwrap();
        let path = ms.path("zarr.json").unwrap();
        let ours = || PutPayload::from_static(b"{\"zarr_format\": 3}");
        let refused = |result: object_store::Result<_>| {
            matches!(
                result,
                Err(object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. })
            )
        };
        let version = |meta: object_store::ObjectMeta| UpdateVersion {
            e_tag: meta.e_tag,
            version: meta.version,
        };
        let read = Some(version(ms.store.head(&path).await.unwrap()));
        let before = ms.stats.requests();
        ms.put_if_unchanged(&path, ours(), read.clone())
            .await
            .unwrap();
        assert_eq!(ms.stats.requests() - before, 2, "the check, then the write");
        // Theirs now (a new size, so the ETag changes whatever the clock).
        std::fs::write(&file, b"theirs").unwrap();
        let now = Some(version(ms.store.head(&path).await.unwrap()));
        assert!(refused(ms.put_if_unchanged(&path, ours(), read).await));
        assert!(refused(ms.put_if_unchanged(&path, ours(), None).await));
        assert_eq!(std::fs::read(&file).unwrap(), b"theirs");
        std::fs::remove_file(&file).unwrap();
        assert!(refused(ms.put_if_unchanged(&path, ours(), now).await));
        assert!(!file.exists(), "a file removed since read is not recreated");
    }
}
