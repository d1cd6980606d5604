//! Google Cloud Storage (`gs://`): a service account's key file, or
//! anonymous requests.

use std::sync::Arc;

use object_store::gcp::GoogleCloudStorageBuilder;

use super::{BuiltBackend, CHECK_BUCKET_NAME, GENERIC, Setup, Vocabulary, config_error};
use crate::error::Result;

/// Entries per listing page.
const PAGE_SIZE: u64 = 1000;

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

pub(super) fn build(bucket: &str, setup: &Setup<'_>) -> Result<BuiltBackend> {
    let options = setup.options;
    // --endpoint-url points gs:// at another GCS API server (an
    // emulator such as fake-gcs-server); AWS_ENDPOINT_URL does not.
    let endpoint = options.s3.endpoint_url.as_deref();
    let allow_http = endpoint.is_some_and(|e| e.starts_with("http://"));
    let mut builder = GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_client_options(setup.client(allow_http))
        .with_retry(setup.retry());
    if let Some(endpoint) = endpoint {
        builder = builder.with_base_url(endpoint);
    }
    let key_file = setup.credential(
        &["GOOGLE_APPLICATION_CREDENTIALS"],
        "note: no Google credentials found (GOOGLE_APPLICATION_CREDENTIALS); sending anonymous requests",
    );
    let anonymous = key_file.is_none();
    builder = match key_file {
        Some(path) => builder.with_application_credentials(path),
        None => builder.with_skip_signature(true),
    };
    let store = builder
        .with_http_connector(setup.connector(allow_http, !anonymous))
        .build()
        .map_err(|e| config_error("GCS", e))?;
    Ok(BuiltBackend::new(
        setup
            .instrument(Some(PAGE_SIZE), None)
            .wrap(Arc::new(store)),
        anonymous,
        endpoint.unwrap_or("https://storage.googleapis.com"),
    ))
}
