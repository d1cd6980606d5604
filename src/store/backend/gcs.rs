//! Google Cloud Storage (`gs://`): a service account's key, application
//! default credentials, or anonymous requests; at Google's servers, or at
//! an emulator named by `--endpoint-url` or `STORAGE_EMULATOR_HOST`.

use std::sync::Arc;

use object_store::gcp::{GcpCredential, GoogleCloudStorageBuilder};
use object_store::path::Path;
use object_store::{PutMode, StaticCredentialProvider, UpdateVersion};

use super::{BuiltBackend, CHECK_BUCKET_NAME, GENERIC, Setup, Vocabulary, config_error};
use crate::error::{Error, Result};
use crate::store::credentials::check_endpoint;

/// Entries per listing page.
const PAGE_SIZE: u64 = 1000;

const DEFAULT_SERVER: &str = "https://storage.googleapis.com";

/// Where fake-gcs-server (and Google's own client libraries) look for an
/// emulator: `host:port` or a URL.
const EMULATOR_VARIABLE: &str = "STORAGE_EMULATOR_HOST";

/// A service account's key file, as object_store's `from_env` reads them.
const SERVICE_ACCOUNT_PATH_VARIABLES: &[&str] = &[
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_PATH",
    "SERVICE_ACCOUNT",
];
/// A service account's key itself (JSON).
const SERVICE_ACCOUNT_KEY_VARIABLE: &str = "GOOGLE_SERVICE_ACCOUNT_KEY";
/// An application-default-credentials file (a service account's key or a
/// user's refresh token).
const APPLICATION_CREDENTIALS_VARIABLE: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// Where `gcloud auth application-default login` writes them, under HOME.
const ADC_FILE: &str = if cfg!(windows) {
    "gcloud/application_default_credentials.json"
} else {
    ".config/gcloud/application_default_credentials.json"
};

pub const VOCABULARY: Vocabulary = Vocabulary {
    service: "Google Cloud Storage",
    scheme: "gs://",
    credentials_advice: "GOOGLE_APPLICATION_CREDENTIALS or gcloud auth application-default login",
    read_permission: "storage.objects.get",
    list_permission: "storage.objects.list",
    listing_needs: "storage.objects.list",
    missing_key_403_note: "GCS buckets that grant storage.objects.get but not storage.objects.list answer 403 for missing keys",
    missing_bucket_hint: CHECK_BUCKET_NAME,
    rejected_credentials_hint: Some(
        "check the key file in GOOGLE_APPLICATION_CREDENTIALS (or run gcloud auth application-default login again); for a public bucket try --anon",
    ),
    create_bucket_hint: Some("create GCS buckets with gcloud storage buckets create gs://NAME"),
    ..GENERIC
};

/// The credentials found, and how messages name them (never their content).
enum Credentials {
    ServiceAccountPath { variable: String, path: String },
    ServiceAccountKey(String),
    ApplicationDefault { source: String, path: String },
}

impl Credentials {
    fn source(&self) -> String {
        match self {
            Credentials::ServiceAccountPath { variable, .. } => {
                format!("the service account in {variable}")
            }
            Credentials::ServiceAccountKey(_) => {
                format!("the service account key in {SERVICE_ACCOUNT_KEY_VARIABLE}")
            }
            Credentials::ApplicationDefault { source, .. } => {
                format!("the application default credentials in {source}")
            }
        }
    }
}

/// The first credentials configured, in object_store's order: a service
/// account (path, then key), `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's
/// well-known file (only if it exists: a missing file means anonymous, with
/// no metadata-server lookup that could stall).
fn find_credentials(setup: &Setup<'_>) -> Option<Credentials> {
    let env = setup.env;
    for variable in SERVICE_ACCOUNT_PATH_VARIABLES {
        if let Some(path) = env.first(&[variable]) {
            let variable = variable.to_string();
            return Some(Credentials::ServiceAccountPath { variable, path });
        }
    }
    if let Some(key) = env.first(&[SERVICE_ACCOUNT_KEY_VARIABLE]) {
        return Some(Credentials::ServiceAccountKey(key));
    }
    if let Some(path) = env.first(&[APPLICATION_CREDENTIALS_VARIABLE]) {
        let source = APPLICATION_CREDENTIALS_VARIABLE.to_string();
        return Some(Credentials::ApplicationDefault { source, path });
    }
    let home = env.first(&[if cfg!(windows) { "APPDATA" } else { "HOME" }])?;
    let file = std::path::Path::new(&home).join(ADC_FILE);
    file.is_file().then(|| Credentials::ApplicationDefault {
        source: file.display().to_string(),
        path: file.display().to_string(),
    })
}

/// The API server: `--endpoint-url`, else `STORAGE_EMULATOR_HOST` (a bare
/// `host:port` is plain HTTP, as Google's client libraries read it), else
/// Google's (`None`).
fn server(setup: &Setup<'_>) -> Result<Option<String>> {
    if let Some(endpoint) = &setup.options.s3.endpoint_url {
        return Ok(Some(endpoint.clone()));
    }
    let Some(host) = setup.env.first(&[EMULATOR_VARIABLE]) else {
        return Ok(None);
    };
    let trimmed = host.trim();
    let url = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("http://{trimmed}")
    };
    // Checked as --endpoint-url is: the client cannot send to a malformed URL.
    check_endpoint(&url).map(Some).map_err(|reason| {
        Error::new(format!("{EMULATOR_VARIABLE}={host:?} is not usable: {reason}"))
            .with_hint("give the emulator's host:port (e.g. 127.0.0.1:4443) or its URL (http://127.0.0.1:4443)")
    })
}

pub(super) fn build(bucket: &str, setup: &Setup<'_>) -> Result<BuiltBackend> {
    // --endpoint-url points gs:// at another GCS API server (an emulator
    // such as fake-gcs-server); AWS_ENDPOINT_URL does not.
    let endpoint = server(setup)?;
    let allow_http = endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_client_options(setup.client(allow_http))
        .with_retry(setup.retry());
    if let Some(endpoint) = &endpoint {
        builder = builder.with_base_url(endpoint);
    }
    let credentials = if setup.options.s3.anon {
        None
    } else {
        find_credentials(setup)
    };
    if credentials.is_none() && !setup.options.s3.anon {
        setup.notice(format!(
            "note: no Google credentials found ({}, {SERVICE_ACCOUNT_KEY_VARIABLE}, {APPLICATION_CREDENTIALS_VARIABLE} or ~/{ADC_FILE}); sending anonymous requests",
            SERVICE_ACCOUNT_PATH_VARIABLES.join(", ")
        ));
    }
    let anonymous = credentials.is_none();
    let credential_source = credentials.as_ref().map(Credentials::source);
    // A key given inline is a secret: its private key is redacted from
    // output, and a key that cannot be read is not quoted.
    let inline_key = match &credentials {
        Some(Credentials::ServiceAccountKey(key)) => Some(key.clone()),
        _ => None,
    };
    builder = match credentials {
        Some(Credentials::ServiceAccountPath { path, .. }) => {
            builder.with_service_account_path(path)
        }
        Some(Credentials::ServiceAccountKey(key)) => builder.with_service_account_key(key),
        Some(Credentials::ApplicationDefault { path, .. }) => {
            builder.with_application_credentials(path)
        }
        // Unsigned, and an explicit (empty) provider, so that object_store
        // reads no credentials file of its own (one it cannot parse would
        // fail an anonymous read) and never asks a metadata server.
        None => builder.with_skip_signature(true).with_credentials(Arc::new(
            StaticCredentialProvider::new(GcpCredential {
                bearer: String::new(),
            }),
        )),
    };
    let store = builder
        .with_http_connector(setup.connector(allow_http, !anonymous))
        .build()
        .map_err(|e| match &credential_source {
            Some(source) if inline_key.is_some() => Error::new(format!(
                "cannot set up the GCS client with {source}: it is not a service account's JSON key"
            ))
            .with_hint("give the key file's content, or its path in GOOGLE_SERVICE_ACCOUNT"),
            // Name the credentials that could not be read (never their content).
            Some(source) => Error::new(format!("cannot set up the GCS client with {source}: {e}"))
                .with_hint(
                    "check those credentials; for a public bucket, --anon reads without any",
                ),
            None => config_error("GCS", e),
        })?;
    let mut built = BuiltBackend::new(
        setup
            .instrument(Some(PAGE_SIZE), None)
            .wrap(Arc::new(store)),
        anonymous,
        endpoint.as_deref().unwrap_or(DEFAULT_SERVER),
    );
    if let Some(source) = credential_source {
        built.credential_source = source;
    }
    let private_key = inline_key
        .and_then(|key| serde_json::from_str::<serde_json::Value>(&key).ok())
        .and_then(|key| key["private_key"].as_str().map(str::to_string))
        .filter(|k| !k.is_empty());
    if let (Some(private_key), Ok(mut secrets)) = (private_key, built.secrets.lock()) {
        secrets.push(private_key);
    }
    Ok(built)
}

/// The update `read` allows on GCS: conditioned on the generation read
/// (object_store sends it as x-goog-if-generation-match and ignores the
/// ETag), which the server must have given.
pub(super) fn update_mode(path: &Path, read: UpdateVersion) -> object_store::Result<PutMode> {
    if read.version.is_none() {
        return Err(object_store::Error::Generic {
            store: "GCS",
            source: format!(
                "the server gave no generation (x-goog-generation) for {path}, so the write cannot be made safe"
            )
            .into(),
        });
    }
    Ok(PutMode::Update(read))
}
