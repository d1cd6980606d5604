//! Azure Blob Storage (`az://`, `abfs(s)://`, `https://ACCOUNT.blob.core.windows.net`):
//! where the account's blob service is, which account, and how requests
//! are authorised — from the URL, the flags and the environment, read here
//! and nowhere else (object_store's own `from_env` is never called, so
//! nothing it reads can surprise us).
//!
//! Credentials, first found wins (none with `--anon`): a SAS token in the
//! URL, `--sas-token`, the key or SAS of `AZURE_STORAGE_CONNECTION_STRING`,
//! `AZURE_STORAGE_ACCOUNT_KEY`, `AZURE_STORAGE_SAS_TOKEN`, an Entra ID
//! service principal (`AZURE_CLIENT_ID`, `AZURE_TENANT_ID` and
//! `AZURE_CLIENT_SECRET` or `AZURE_FEDERATED_TOKEN_FILE`; its token is
//! fetched at the first request, not at start-up), Azurite's well-known key
//! under `AZURE_STORAGE_USE_EMULATOR`; else anonymous requests with a
//! notice. Managed identity is never tried: its metadata endpoint does not
//! answer off Azure, and waiting for it would stall every anonymous read.

use std::sync::Arc;

use object_store::azure::{MicrosoftAzureBuilder, split_sas};

use super::{BuiltBackend, GENERIC, Setup, Vocabulary};
use crate::error::{Error, Result};
use crate::location::SasToken;
use crate::store::credentials::check_endpoint;

/// Entries per listing page.
const PAGE_SIZE: u64 = 5000;
/// Keys per delete batch.
const DELETE_BATCH: usize = 256;

/// Azurite's (and the old Storage Emulator's) well-known account and key,
/// published by Microsoft; object_store keeps its copy private.
const EMULATOR_ACCOUNT: &str = "devstoreaccount1";
const EMULATOR_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Azurite's blob service on its default port; the account follows in the
/// path.
const EMULATOR_BLOB_SERVICE: &str = "http://127.0.0.1:10000";

/// Bounds on AZURE_STORAGE_CONNECTION_STRING: real ones are a few hundred
/// bytes of a handful of fields.
const CONNECTION_STRING_MAX_BYTES: usize = 8 * 1024;
const CONNECTION_STRING_MAX_FIELDS: usize = 32;

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

/// How requests are authorised, and what messages call it.
enum Credential {
    Key {
        key: String,
        source: &'static str,
    },
    Sas {
        token: String,
        source: &'static str,
    },
    ServicePrincipal {
        client_id: String,
        tenant_id: String,
        secret: ServicePrincipalSecret,
    },
}

enum ServicePrincipalSecret {
    ClientSecret(String),
    FederatedTokenFile(String),
}

impl Credential {
    fn describe(&self) -> String {
        match self {
            Credential::Key { source, .. } => format!("the account key ({source})"),
            Credential::Sas { source, .. } => format!("the SAS token ({source})"),
            Credential::ServicePrincipal { .. } => {
                "the Entra ID service principal (AZURE_CLIENT_ID)".into()
            }
        }
    }
}

pub(super) fn build(
    container: &str,
    url_account: Option<&str>,
    url_sas: Option<&SasToken>,
    setup: &Setup<'_>,
) -> Result<BuiltBackend> {
    let options = setup.options;
    let env = setup.env;
    let emulator = use_emulator(env.var("AZURE_STORAGE_USE_EMULATOR"))?;
    let connection = match env.first(&["AZURE_STORAGE_CONNECTION_STRING"]) {
        Some(text) => Some(ConnectionString::parse(&text)?),
        None => None,
    };
    let emulator = emulator || connection.as_ref().is_some_and(|c| c.development_storage);
    let named_account = url_account
        .map(str::to_string)
        .or_else(|| connection.as_ref().and_then(|c| c.account_name.clone()))
        .or_else(|| env.first(&["AZURE_STORAGE_ACCOUNT_NAME", "AZURE_STORAGE_ACCOUNT"]))
        .or_else(|| emulator.then(|| EMULATOR_ACCOUNT.to_string()));

    // Where the account's blob service is: http:// only when the user gave
    // it (or asked for the emulator, which speaks nothing else).
    let endpoint = match &options.s3.endpoint_url {
        Some(endpoint) => Some(endpoint.trim_end_matches('/').to_string()),
        None => match env.first(&["AZURE_STORAGE_ENDPOINT"]) {
            Some(endpoint) => Some(checked_endpoint(&endpoint, "AZURE_STORAGE_ENDPOINT")?),
            None => match &connection {
                Some(c) => c.endpoint(named_account.as_deref())?,
                None => None,
            },
        },
    };
    let endpoint = endpoint.or_else(|| {
        let account = named_account.as_deref().filter(|_| emulator)?;
        Some(format!("{EMULATOR_BLOB_SERVICE}/{account}"))
    });
    // A SAS or a token does not sign with the account name, so an endpoint
    // alone (a connection string's BlobEndpoint) may name it.
    let account = named_account
        .or_else(|| endpoint.as_deref().and_then(account_of_endpoint))
        .ok_or_else(|| {
            Error::new("az:// URLs need the storage account name")
                .with_hint("set AZURE_STORAGE_ACCOUNT_NAME, or use the https://ACCOUNT.blob.core.windows.net/CONTAINER/... form")
        })?;
    let allow_http = endpoint
        .as_deref()
        .is_some_and(|e| e.to_ascii_lowercase().starts_with("http://"));

    let credential = if options.s3.anon {
        None
    } else {
        find_credential(
            url_sas,
            options.sas_token.as_ref(),
            connection,
            env,
            emulator,
        )
    };
    if credential.is_none() && !options.s3.anon {
        setup.notice(
            "note: no Azure credentials found (AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN or --sas-token); sending anonymous requests",
        );
    }

    let mut secrets = Vec::new();
    let mut builder = MicrosoftAzureBuilder::new()
        .with_account(&account)
        .with_container_name(container)
        .with_client_options(setup.client(allow_http))
        .with_retry(setup.retry());
    if let Some(endpoint) = &endpoint {
        builder = builder.with_endpoint(endpoint.clone());
    }
    builder = match &credential {
        None => builder.with_skip_signature(true),
        Some(Credential::Key { key, .. }) => {
            secrets.push(key.clone());
            builder.with_access_key(key)
        }
        Some(Credential::Sas { token, source }) => {
            secrets.extend(sas_secrets(token));
            builder.with_sas_authorization(sas_pairs(token, source)?)
        }
        Some(Credential::ServicePrincipal {
            client_id,
            tenant_id,
            secret,
        }) => {
            if let Some(host) = env.first(&["AZURE_AUTHORITY_HOST"]) {
                builder = builder.with_authority_host(host);
            }
            match secret {
                ServicePrincipalSecret::ClientSecret(secret) => {
                    secrets.push(secret.clone());
                    builder.with_client_secret_authorization(client_id, secret, tenant_id)
                }
                ServicePrincipalSecret::FederatedTokenFile(file) => builder
                    .with_client_id(client_id)
                    .with_tenant_id(tenant_id)
                    .with_federated_token_file(file),
            }
        }
    };
    let anonymous = credential.is_none();
    let server = endpoint.unwrap_or_else(|| format!("https://{account}.blob.core.windows.net"));
    let store = builder
        .with_http_connector(setup.connector(allow_http, !anonymous))
        .build()
        .map_err(|e| {
            // object_store's message may quote what it could not use.
            let message = redact(&e.to_string(), &secrets);
            Error::new(format!("cannot set up the Azure client: {message}"))
        })?;
    let instrument = setup.instrument(Some(PAGE_SIZE), Some(DELETE_BATCH));
    let mut built = BuiltBackend::new(instrument.wrap(Arc::new(store)), anonymous, server);
    if let Some(credential) = &credential {
        built.credential_source = credential.describe();
    }
    if let Ok(mut registered) = built.secrets.lock() {
        registered.extend(secrets);
    }
    Ok(built)
}

/// The first credential configured, in the order the module doc gives.
fn find_credential(
    url_sas: Option<&SasToken>,
    flag_sas: Option<&SasToken>,
    connection: Option<ConnectionString>,
    env: &dyn crate::store::env::Env,
    emulator: bool,
) -> Option<Credential> {
    if let Some(token) = url_sas {
        return Some(Credential::Sas {
            token: token.expose().to_string(),
            source: "in the URL",
        });
    }
    if let Some(token) = flag_sas {
        return Some(Credential::Sas {
            token: token.expose().to_string(),
            source: "--sas-token",
        });
    }
    if let Some(connection) = connection {
        if let Some(key) = connection.account_key {
            return Some(Credential::Key {
                key,
                source: "AZURE_STORAGE_CONNECTION_STRING",
            });
        }
        if let Some(token) = connection.shared_access_signature {
            return Some(Credential::Sas {
                token,
                source: "AZURE_STORAGE_CONNECTION_STRING",
            });
        }
    }
    if let Some(key) = env.first(&["AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_KEY"]) {
        return Some(Credential::Key {
            key,
            source: "AZURE_STORAGE_ACCOUNT_KEY",
        });
    }
    if let Some(token) = env.first(&["AZURE_STORAGE_SAS_TOKEN"]) {
        return Some(Credential::Sas {
            token: SasToken::new(&token).expose().to_string(),
            source: "AZURE_STORAGE_SAS_TOKEN",
        });
    }
    if let (Some(client_id), Some(tenant_id)) = (
        env.first(&["AZURE_CLIENT_ID"]),
        env.first(&["AZURE_TENANT_ID"]),
    ) {
        let secret = env
            .first(&["AZURE_CLIENT_SECRET"])
            .map(ServicePrincipalSecret::ClientSecret)
            .or_else(|| {
                env.first(&["AZURE_FEDERATED_TOKEN_FILE"])
                    .map(ServicePrincipalSecret::FederatedTokenFile)
            });
        if let Some(secret) = secret {
            return Some(Credential::ServicePrincipal {
                client_id,
                tenant_id,
                secret,
            });
        }
    }
    emulator.then(|| Credential::Key {
        key: EMULATOR_KEY.to_string(),
        source: "Azurite's well-known key, AZURE_STORAGE_USE_EMULATOR",
    })
}

/// The account a blob service root names: `https://ACCOUNT.blob.…`, or
/// the last path segment (`http://127.0.0.1:10000/ACCOUNT`, as Azurite).
fn account_of_endpoint(endpoint: &str) -> Option<String> {
    let url = url::Url::parse(endpoint).ok()?;
    let host = url.host_str()?;
    let account = match host.split_once(".blob.") {
        Some((account, _)) => account.to_string(),
        None => url.path_segments()?.rfind(|s| !s.is_empty())?.to_string(),
    };
    account
        .chars()
        .all(|c| c.is_ascii_alphanumeric())
        .then_some(account)
}

/// AZURE_STORAGE_USE_EMULATOR as object_store and the Azure SDKs read it.
fn use_emulator(value: Option<String>) -> Result<bool> {
    let Some(value) = value else {
        return Ok(false);
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "0" | "false" | "no" | "off" => Ok(false),
        "1" | "true" | "yes" | "on" => Ok(true),
        _ => Err(
            Error::new("AZURE_STORAGE_USE_EMULATOR is neither true nor false")
                .with_hint("set AZURE_STORAGE_USE_EMULATOR=true to reach Azurite on 127.0.0.1:10000, or unset it"),
        ),
    }
}

fn checked_endpoint(endpoint: &str, source: &str) -> Result<String> {
    check_endpoint(endpoint)
        .map(|e| e.trim_end_matches('/').to_string())
        .map_err(|reason| {
            Error::new(format!("{source} is not a usable endpoint: {reason}")).with_hint(
                "give the blob service root, e.g. https://ACCOUNT.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1",
            )
        })
}

/// The query pairs of a SAS token; an error names where the token came
/// from, never its text.
fn sas_pairs(token: &str, source: &str) -> Result<Vec<(String, String)>> {
    let malformed = |why: &str| {
        Error::new(format!("the SAS token {source} {why}")).with_hint(
            "give the token's query string as the portal or `az storage container generate-sas` prints it: sv=…&sp=…&sig=…",
        )
    };
    let pairs =
        split_sas(token).map_err(|_| malformed("is not a query string of name=value pairs"))?;
    if !pairs
        .iter()
        .any(|(name, value)| name == "sig" && !value.is_empty())
    {
        return Err(malformed("has no signature (its sig= field is missing)"));
    }
    Ok(pairs)
}

/// What of a SAS token could show up in a message: the token as given,
/// and its signature encoded and decoded (a request URL carries it
/// percent-encoded).
fn sas_secrets(token: &str) -> Vec<String> {
    let mut secrets = vec![token.to_string()];
    for pair in token.split('&') {
        if let Some(sig) = pair.trim().strip_prefix("sig=") {
            let decoded = percent_encoding::percent_decode_str(sig)
                .decode_utf8_lossy()
                .into_owned();
            let encoded =
                percent_encoding::utf8_percent_encode(&decoded, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            secrets.extend([sig.to_string(), decoded, encoded]);
        }
    }
    secrets.retain(|s| !s.is_empty());
    secrets
}

fn redact(message: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(message.to_string(), |m, s| {
            m.replace(s.as_str(), "<redacted>")
        })
}

/// The fields of AZURE_STORAGE_CONNECTION_STRING that say where the blob
/// service is and how to authorise; the others (queues, tables, files)
/// are ignored.
#[derive(Default)]
struct ConnectionString {
    account_name: Option<String>,
    account_key: Option<String>,
    shared_access_signature: Option<String>,
    blob_endpoint: Option<String>,
    protocol: Option<String>,
    endpoint_suffix: Option<String>,
    development_storage: bool,
}

impl ConnectionString {
    /// `Name=value;Name=value`; a value may hold `=` (base64 keys end in
    /// it). Errors name the field, never a value: the key is in there.
    fn parse(text: &str) -> Result<Self> {
        let bad = |why: String| {
            Error::new(format!("AZURE_STORAGE_CONNECTION_STRING: {why}")).with_hint(
                "copy it from the storage account's \"Access keys\" page: AccountName=…;AccountKey=…;EndpointSuffix=core.windows.net, or BlobEndpoint=…;SharedAccessSignature=…",
            )
        };
        if text.len() > CONNECTION_STRING_MAX_BYTES {
            return Err(bad(format!(
                "longer than {CONNECTION_STRING_MAX_BYTES} bytes"
            )));
        }
        let fields: Vec<&str> = text
            .split(';')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .collect();
        if fields.len() > CONNECTION_STRING_MAX_FIELDS {
            return Err(bad(format!(
                "more than {CONNECTION_STRING_MAX_FIELDS} fields"
            )));
        }
        let mut parsed = Self::default();
        for (n, field) in fields.iter().enumerate() {
            let Some((name, value)) = field.split_once('=') else {
                return Err(bad(format!("field {} is not Name=value", n + 1)));
            };
            let (name, value) = (name.trim(), value.trim().to_string());
            let slot = match name.to_ascii_lowercase().as_str() {
                "accountname" => &mut parsed.account_name,
                "accountkey" => &mut parsed.account_key,
                "sharedaccesssignature" => &mut parsed.shared_access_signature,
                "blobendpoint" => &mut parsed.blob_endpoint,
                "defaultendpointsprotocol" => &mut parsed.protocol,
                "endpointsuffix" => &mut parsed.endpoint_suffix,
                "usedevelopmentstorage" => {
                    parsed.development_storage = use_emulator(Some(value)).map_err(|_| {
                        bad("UseDevelopmentStorage is neither true nor false".into())
                    })?;
                    continue;
                }
                _ => continue,
            };
            if value.is_empty() {
                return Err(bad(format!("{name} is empty")));
            }
            if slot.replace(value).is_some() {
                return Err(bad(format!("{name} is given twice")));
            }
        }
        if let Some(name) = &parsed.account_name
            && !(name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(bad(
                "AccountName is not a storage account name (letters and digits)".into(),
            ));
        }
        if let Some(protocol) = &parsed.protocol
            && !matches!(protocol.to_ascii_lowercase().as_str(), "http" | "https")
        {
            return Err(bad(
                "DefaultEndpointsProtocol is neither http nor https".into()
            ));
        }
        if parsed.account_name.is_none()
            && parsed.blob_endpoint.is_none()
            && !parsed.development_storage
        {
            return Err(bad("neither AccountName nor BlobEndpoint is given".into()));
        }
        if parsed.account_key.is_some() && parsed.account_name.is_none() {
            return Err(bad("AccountKey is given without AccountName".into()));
        }
        Ok(parsed)
    }

    /// The blob service root the string names, if it names one:
    /// BlobEndpoint, else DefaultEndpointsProtocol and EndpointSuffix
    /// around the account.
    fn endpoint(&self, account: Option<&str>) -> Result<Option<String>> {
        if let Some(endpoint) = &self.blob_endpoint {
            return checked_endpoint(endpoint, "BlobEndpoint in AZURE_STORAGE_CONNECTION_STRING")
                .map(Some);
        }
        let Some(account) = account else {
            return Ok(None);
        };
        if self.protocol.is_none() && self.endpoint_suffix.is_none() {
            return Ok(None);
        }
        let protocol = self
            .protocol
            .as_deref()
            .unwrap_or("https")
            .to_ascii_lowercase();
        let suffix = self
            .endpoint_suffix
            .as_deref()
            .unwrap_or("core.windows.net");
        checked_endpoint(
            &format!("{protocol}://{account}.blob.{suffix}"),
            "EndpointSuffix in AZURE_STORAGE_CONNECTION_STRING",
        )
        .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "S0VZLU1BUktFUi1zZWNyZXQ=";

    #[test]
    fn connection_strings_parse_and_errors_name_the_field_not_the_key() {
        let c = ConnectionString::parse(&format!(
            "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={KEY};EndpointSuffix=core.windows.net"
        ))
        .unwrap();
        assert_eq!(c.account_key.as_deref(), Some(KEY), "a key keeps its '='");
        assert_eq!(
            c.endpoint(Some("acct")).unwrap().as_deref(),
            Some("https://acct.blob.core.windows.net")
        );
        let c = ConnectionString::parse(
            "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;SharedAccessSignature=sv=1&sig=abc",
        )
        .unwrap();
        assert_eq!(c.shared_access_signature.as_deref(), Some("sv=1&sig=abc"));
        assert_eq!(
            c.endpoint(None).unwrap().as_deref(),
            Some("http://127.0.0.1:10000/devstoreaccount1")
        );
        assert!(
            ConnectionString::parse("UseDevelopmentStorage=true")
                .unwrap()
                .development_storage
        );
        for (text, names) in [
            (
                format!("AccountName=a;S0VZ{KEY};AccountKey"),
                "field 3 is not Name=value",
            ),
            (
                format!("AccountName=a;AccountKey={KEY};AccountKey={KEY}"),
                "AccountKey is given twice",
            ),
            (
                format!("AccountKey={KEY}"),
                "neither AccountName nor BlobEndpoint",
            ),
            (
                format!("AccountName=a b;AccountKey={KEY}"),
                "AccountName is not",
            ),
            (
                format!("AccountName=a;AccountKey={KEY};BlobEndpoint=ftp://x"),
                "BlobEndpoint",
            ),
            ("x=1;".repeat(40), "more than 32 fields"),
            ("x".repeat(9000), "longer than"),
        ] {
            let parsed = ConnectionString::parse(&text).and_then(|c| c.endpoint(Some("a")));
            let e = match parsed {
                Err(e) => e.to_string(),
                Ok(_) => panic!("accepted: {names}"),
            };
            assert!(e.contains(names), "{e}");
            assert!(!e.contains("S0VZ"), "the key leaked: {e}");
        }
    }

    #[test]
    fn a_sas_token_without_a_signature_is_refused_without_showing_it() {
        let e = sas_pairs("sv=2022-11-02&sp=rl&se=SECRET-MARKER", "(--sas-token)").unwrap_err();
        assert!(e.to_string().contains("sig= field is missing"), "{e}");
        assert!(!e.to_string().contains("SECRET-MARKER"), "{e}");
        assert!(sas_pairs("sv=1&sig=a%2Bb%3D", "x").is_ok());
        let secrets = sas_secrets("sv=1&sig=a%2Bb%3D");
        for form in ["sv=1&sig=a%2Bb%3D", "a%2Bb%3D", "a+b="] {
            assert!(secrets.iter().any(|s| s == form), "{form}: {secrets:?}");
        }
    }

    #[test]
    fn the_emulator_switch_reads_as_object_store_does() {
        assert!(use_emulator(Some("true".into())).unwrap());
        assert!(use_emulator(Some("1".into())).unwrap());
        assert!(!use_emulator(Some("false".into())).unwrap());
        assert!(!use_emulator(None).unwrap());
        assert!(use_emulator(Some("maybe".into())).is_err());
    }
}

#[cfg(test)]
mod endpoint_tests {
    use std::collections::HashMap;

    use crate::location::Location;
    use crate::store::guard::Policy;
    use crate::store::{StoreHandle, StoreOptions};

    /// The server and credentials a URL and an environment resolve to
    /// (nothing is sent: opening makes no request).
    async fn resolved(url: &str, vars: &[(&str, &str)]) -> (String, String, bool) {
        let env: HashMap<&str, &str> = vars.iter().copied().collect();
        let location = Location::parse(url).unwrap();
        let handle = StoreHandle::open_with(
            location,
            &StoreOptions::default(),
            &env,
            None,
            Policy::READ_ONLY,
        )
        .await
        .unwrap();
        (handle.server, handle.credential_source, handle.anonymous)
    }

    #[tokio::test]
    async fn each_way_of_naming_the_account_and_service_resolves() {
        let (server, _, anonymous) = resolved("abfss://c@acct.dfs.core.windows.net/p", &[]).await;
        assert_eq!(server, "https://acct.blob.core.windows.net");
        assert!(anonymous);
        let (server, _, _) = resolved("https://acct2.blob.core.windows.net/c/p", &[]).await;
        assert_eq!(server, "https://acct2.blob.core.windows.net");
        let (server, source, anonymous) =
            resolved("az://c/p", &[("AZURE_STORAGE_USE_EMULATOR", "true")]).await;
        assert_eq!(server, "http://127.0.0.1:10000/devstoreaccount1");
        assert!(!anonymous, "Azurite's well-known key signs");
        assert!(source.contains("AZURE_STORAGE_USE_EMULATOR"), "{source}");
        let (server, source, _) = resolved(
            "az://c/p",
            &[(
                "AZURE_STORAGE_CONNECTION_STRING",
                "DefaultEndpointsProtocol=https;AccountName=cs;AccountKey=a2V5;EndpointSuffix=core.chinacloudapi.cn",
            )],
        )
        .await;
        assert_eq!(server, "https://cs.blob.core.chinacloudapi.cn");
        assert!(
            source.contains("AZURE_STORAGE_CONNECTION_STRING"),
            "{source}"
        );
        let (server, _, _) = resolved(
            "az://c/p",
            &[
                ("AZURE_STORAGE_ACCOUNT_NAME", "named"),
                ("AZURE_STORAGE_ENDPOINT", "https://proxy.example.org/blob"),
            ],
        )
        .await;
        assert_eq!(server, "https://proxy.example.org/blob");
    }

    #[tokio::test]
    async fn a_service_principal_is_configured_without_a_request() {
        let (_, source, anonymous) = resolved(
            "az://c/p",
            &[
                ("AZURE_STORAGE_ACCOUNT_NAME", "acct"),
                ("AZURE_CLIENT_ID", "id"),
                ("AZURE_TENANT_ID", "tenant"),
                ("AZURE_CLIENT_SECRET", "secret"),
            ],
        )
        .await;
        assert!(!anonymous);
        assert!(source.contains("Entra ID"), "{source}");
    }
}
