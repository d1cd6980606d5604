//! Azure Blob Storage (`az://`): the storage account from the environment,
//! its key or anonymous requests.

use std::sync::Arc;

use object_store::azure::MicrosoftAzureBuilder;

use super::{BuiltBackend, GENERIC, Setup, Vocabulary, config_error};
use crate::error::{Error, Result};

/// Entries per listing page.
const PAGE_SIZE: u64 = 5000;
/// Keys per delete batch.
const DELETE_BATCH: usize = 256;

pub const VOCABULARY: Vocabulary = Vocabulary {
    service: "Azure Blob Storage",
    scheme: "az://",
    credentials_advice: "AZURE_STORAGE_ACCOUNT_KEY, a SAS token in --sas-token or AZURE_STORAGE_SAS_TOKEN, or AZURE_STORAGE_CONNECTION_STRING",
    read_permission: "read access to the blobs (a SAS with r, or the Storage Blob Data Reader role)",
    list_permission: "list access to the container (a SAS with l, or the Storage Blob Data Reader role)",
    listing_needs: "list access to the container (a SAS with l, or the Storage Blob Data Reader role)",
    bucket_noun: "container",
    missing_bucket_hint: "check the container name and the storage account (AZURE_STORAGE_ACCOUNT_NAME)",
    rejected_credentials_hint: Some(
        "check AZURE_STORAGE_ACCOUNT_KEY (the key of this storage account), the SAS token (--sas-token or AZURE_STORAGE_SAS_TOKEN: it may have expired) or AZURE_STORAGE_CONNECTION_STRING",
    ),
    rejected_signature_hint: Some(
        "check AZURE_STORAGE_ACCOUNT_KEY (it must be the key of the storage account), or the SAS token (it may have expired, or not grant this)",
    ),
    create_bucket_hint: Some(
        "create Azure containers with az storage container create --name NAME",
    ),
    ..GENERIC
};

pub(super) fn build(container: &str, setup: &Setup<'_>) -> Result<BuiltBackend> {
    let options = setup.options;
    let account = setup
        .env
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
        .with_client_options(setup.client(allow_http))
        .with_retry(setup.retry());
    if let Some(endpoint) = &endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    let key = setup.credential(
        &["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"],
        "note: no Azure key found (AZURE_STORAGE_ACCOUNT_KEY); sending anonymous requests",
    );
    let anonymous = key.is_none();
    builder = match &key {
        Some(key) => builder.with_access_key(key),
        None => builder.with_skip_signature(true),
    };
    let server = endpoint.unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
    let store = builder
        .with_http_connector(setup.connector(allow_http, !anonymous))
        .build()
        .map_err(|e| config_error("Azure", e))?;
    let instrument = setup.instrument(Some(PAGE_SIZE), Some(DELETE_BATCH));
    let built = BuiltBackend::new(instrument.wrap(Arc::new(store)), anonymous, server);
    if let Ok(mut secrets) = built.secrets.lock() {
        secrets.extend(key);
    }
    Ok(built)
}
