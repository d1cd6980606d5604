//! Step 2 of the flow: open a [`Location`] as a store that can read metadata
//! and nothing else.
//!
//! The layers, outermost first — each one an `ObjectStore` wrapping the next:
//! `MetadataGuard` (metadata keys only, byte budget) → `PrefixStore` (the store
//! root inside the bucket) → `InstrumentedStore` (counts, `-v` log) → backend.

mod body;
mod bridge;
pub mod credentials;
pub mod guard;
pub mod instrument;
pub mod profile;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::error::{Error, Result};
use crate::location::{Backend, Location};
use credentials::{Env, S3Credentials, S3Flags, S3Settings};
use guard::{ByteBudget, GuardError, MetadataGuard};
use instrument::{InstrumentedStore, RequestLogger, RequestStats};
use profile::Profiles;

/// How to reach a store; built from command-line flags.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub s3: S3Flags,
    /// Whole-request timeout.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Retries after the first attempt, for transient errors (5xx, resets).
    pub retries: usize,
    /// Byte budget for the whole command.
    pub max_bytes: u64,
}

pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            s3: S3Flags::default(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            retries: 2,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// A store opened for metadata reads, with what the command needs to report.
pub struct MetadataStore {
    pub location: Location,
    pub store: Arc<dyn ObjectStore>,
    pub stats: Arc<RequestStats>,
    pub budget: Arc<ByteBudget>,
    /// True when requests are unsigned.
    pub anonymous: bool,
    /// One-line notices for stderr (e.g. "requests are unsigned").
    pub notices: Vec<String>,
    /// Where credentials came from, for messages ("profile osn").
    pub credential_source: String,
    /// Values to scrub from any message we print (grows as a profile's
    /// credentials are loaded).
    secrets: Arc<Mutex<Vec<String>>>,
}

impl MetadataStore {
    pub async fn open(
        location: Location,
        options: &StoreOptions,
        env: &dyn Env,
        logger: Option<RequestLogger>,
    ) -> Result<Self> {
        let backend = Backend::build(&location, options, env).await?;
        let stats = Arc::new(RequestStats::default());
        let budget = ByteBudget::new(options.max_bytes);
        let instrumented = InstrumentedStore::new(backend.store, Arc::clone(&stats), logger);
        let rooted = PrefixStore::new(instrumented, location.prefix.as_str());
        let store: Arc<dyn ObjectStore> = Arc::new(MetadataGuard::new(rooted, Arc::clone(&budget)));
        Ok(Self {
            location,
            store,
            stats,
            budget,
            anonymous: backend.anonymous,
            notices: backend.notices,
            credential_source: backend.credential_source,
            secrets: backend.secrets,
        })
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
        let url = format!("{}/{key}", self.location.url);
        if let Some(refusal) = GuardError::from_store_error(err) {
            let hint = match refusal {
                GuardError::OverBudget { .. } | GuardError::BudgetExhausted { .. } => format!(
                    "raise the budget with --max-bytes (now {} bytes)",
                    self.budget.max()
                ),
                GuardError::NotMetadata { .. } | GuardError::ReadOnly { .. } => {
                    "zarrscope tree reads metadata only; this is a bug if you see it".into()
                }
            };
            return Error::new(format!("reading {url}: {refusal}")).with_hint(hint);
        }
        let detail = self.redact(&err.to_string());
        match err {
            object_store::Error::NotFound { .. } => Error::new(format!("not found: {url}"))
                .with_hint("check the path (zarrscope expects the store's root)"),
            object_store::Error::PermissionDenied { .. } if detail.contains("SignatureDoesNotMatch") => {
                Error::new(format!("signature rejected by the server for {url}"))
                    .with_hint(format!("check the secret key for {} (it must match the access key)", self.credential_source))
            }
            object_store::Error::PermissionDenied { .. } if self.anonymous => Error::new(format!(
                "access denied (403) to {url} with unsigned requests: the bucket may be private, or the key may not exist (public AWS buckets answer 403 for missing keys)"
            ))
            .with_hint("check the path, or set credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) instead of --anon"),
            object_store::Error::PermissionDenied { .. } => Error::new(format!(
                "access denied (403) to {url} with the credentials in use"
            ))
            .with_hint("check that these credentials may read this bucket; for a public bucket try --anon"),
            object_store::Error::Unauthenticated { .. } => Error::new(format!(
                "the server rejected the credentials (401) for {url}"
            ))
            .with_hint("check the access key, secret and session token"),
            _ if ["301", "PermanentRedirect", "incorrectly configured region"]
                .iter()
                .any(|sign| detail.contains(sign)) =>
            {
                Error::new(
                format!("reading {url} failed: the bucket answered with a redirect (301): it lives in another region"),
            )
                .with_hint("pass the bucket's region with --region (or AWS_REGION)")
            }
            _ => Error::new(format!("reading {url} failed: {detail}")).with_hint(
                "check the endpoint and network; slow servers may need --timeout or --retries",
            ),
        }
    }
}

struct BuiltBackend {
    store: Arc<dyn ObjectStore>,
    anonymous: bool,
    notices: Vec<String>,
    credential_source: String,
    secrets: Arc<Mutex<Vec<String>>>,
}

impl BuiltBackend {
    fn new(store: Arc<dyn ObjectStore>, anonymous: bool, notices: Vec<String>) -> Self {
        Self {
            store,
            anonymous,
            notices,
            credential_source: if anonymous {
                "unsigned requests"
            } else {
                "the configured credentials"
            }
            .into(),
            secrets: Arc::default(),
        }
    }
}

impl Backend {
    async fn build(
        location: &Location,
        options: &StoreOptions,
        env: &dyn Env,
    ) -> Result<BuiltBackend> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: options.retries,
            retry_timeout: options.timeout,
        };
        let client = |allow_http: bool| {
            ClientOptions::new()
                .with_timeout(options.timeout)
                .with_connect_timeout(options.connect_timeout)
                .with_allow_http(allow_http)
        };
        let config_error = |what: &str, e: object_store::Error| {
            Error::new(format!("cannot set up the {what} client: {e}"))
        };
        match &location.backend {
            Backend::S3 { bucket } => {
                let profiles = Profiles::load(env).await?;
                let settings = S3Settings::resolve(&options.s3, env, &profiles)?;
                let secrets: Arc<Mutex<Vec<String>>> =
                    Arc::new(Mutex::new(settings.credentials.secrets()));
                let mut notices = Vec::new();
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(&settings.region)
                    .with_retry(retry);
                match &settings.endpoint {
                    Some(endpoint) => {
                        let allow_http = endpoint.starts_with("http://");
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
                            notices.push(
                                "note: no AWS credentials found; sending unsigned (anonymous) requests (--anon silences this)".into(),
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
                let store = builder.build().map_err(|e| config_error("S3", e))?;
                Ok(BuiltBackend {
                    store: Arc::new(store),
                    anonymous,
                    notices,
                    credential_source: settings.credentials.source(),
                    secrets,
                })
            }
            Backend::Gcs { bucket } => {
                let mut builder = GoogleCloudStorageBuilder::new()
                    .with_bucket_name(bucket)
                    .with_client_options(client(false))
                    .with_retry(retry);
                let mut notices = Vec::new();
                let anonymous = match env.first(&["GOOGLE_APPLICATION_CREDENTIALS"]) {
                    Some(path) if !options.s3.anon => {
                        builder = builder.with_application_credentials(path);
                        false
                    }
                    _ => {
                        if !options.s3.anon {
                            notices.push("note: no Google credentials found (GOOGLE_APPLICATION_CREDENTIALS); sending anonymous requests".into());
                        }
                        builder = builder.with_skip_signature(true);
                        true
                    }
                };
                let store = builder.build().map_err(|e| config_error("GCS", e))?;
                Ok(BuiltBackend::new(Arc::new(store), anonymous, notices))
            }
            Backend::Azure { container } => {
                let account = env
                    .first(&["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"])
                    .ok_or_else(|| {
                        Error::new("az:// URLs need the storage account name")
                            .with_hint("set AZURE_STORAGE_ACCOUNT_NAME, or use the https://ACCOUNT.blob.core.windows.net/CONTAINER/... form")
                    })?;
                let mut builder = MicrosoftAzureBuilder::new()
                    .with_account(account)
                    .with_container_name(container)
                    .with_client_options(client(false))
                    .with_retry(retry);
                let mut key_secret = None;
                let mut notices = Vec::new();
                let anonymous = match env.first(&["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"])
                {
                    Some(key) if !options.s3.anon => {
                        key_secret = Some(key.clone());
                        builder = builder.with_access_key(key);
                        false
                    }
                    _ => {
                        if !options.s3.anon {
                            notices.push("note: no Azure key found (AZURE_STORAGE_ACCOUNT_KEY); sending anonymous requests".into());
                        }
                        builder = builder.with_skip_signature(true);
                        true
                    }
                };
                let store = builder.build().map_err(|e| config_error("Azure", e))?;
                let built = BuiltBackend::new(Arc::new(store), anonymous, notices);
                if let Ok(mut secrets) = built.secrets.lock() {
                    secrets.extend(key_secret);
                }
                Ok(built)
            }
            Backend::Http { base } => {
                let store = HttpBuilder::new()
                    .with_url(base)
                    .with_client_options(client(base.starts_with("http://")))
                    .with_retry(retry)
                    .build()
                    .map_err(|e| config_error("HTTP", e))?;
                Ok(BuiltBackend::new(Arc::new(store), true, Vec::new()))
            }
            Backend::Local { root } => {
                let store = LocalFileSystem::new_with_prefix(root)
                    .map_err(|e| Error::new(format!("cannot open {}: {e}", root.display())))?;
                Ok(BuiltBackend::new(Arc::new(store), false, Vec::new()))
            }
        }
    }
}
