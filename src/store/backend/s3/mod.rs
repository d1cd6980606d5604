//! S3 (AWS and S3-compatible servers): credentials resolved up front
//! (`store::credentials`), the bucket's region found on a redirect
//! (`region`), listings with keys as the bucket names them (`list`), and
//! what `mkdir` needs to create a bucket ([`BucketAdmin`]).

pub mod answer;
mod bridge;
pub mod list;
pub mod region;

use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;

use super::{BuiltBackend, CHECK_BUCKET_NAME, GENERIC, Setup, Vocabulary, config_error};
use crate::error::{Error, Result};
use crate::store::credentials::{S3Credentials, S3Flags, S3Settings};
use crate::store::profile::Profiles;

/// Entries per listing page.
const PAGE_SIZE: u64 = 1000;
/// Keys per DeleteObjects request.
const DELETE_BATCH: usize = 1000;

/// S3 governs listing apart from reading objects.
const LIST_BUCKET: &str = "s3:ListBucket on the bucket";

pub const VOCABULARY: Vocabulary = Vocabulary {
    service: "S3",
    scheme: "s3://",
    credentials_advice: "--profile NAME, AWS_PROFILE or AWS_ACCESS_KEY_ID",
    read_permission: "s3:GetObject",
    list_permission: LIST_BUCKET,
    listing_needs: LIST_BUCKET,
    missing_key_403_note: "public AWS buckets answer 403 for missing keys",
    missing_bucket_hint: CHECK_BUCKET_NAME,
    rejected_credentials_hint: Some("check the access key, secret and session token"),
    ..GENERIC
};

/// What `mkdir` needs to create an S3 bucket: a client that can presign the
/// CreateBucket request, and where it goes. (Its signer never adds
/// `x-amz-request-payer`: bucket requests take none.)
pub struct BucketAdmin {
    pub signer: Arc<object_store::aws::AmazonS3>,
    pub bucket: String,
    pub region: String,
    /// True for AWS itself (where a region other than us-east-1 must be named
    /// in the request body); false for a custom endpoint.
    pub aws: bool,
    /// The custom endpoint, for messages.
    pub endpoint: Option<String>,
    /// `--requester-pays`: requests signed outside object_store (the parts
    /// of a multipart copy) carry `x-amz-request-payer: requester` too.
    pub requester_pays: bool,
}

impl BucketAdmin {
    /// The bucket's URL (`http://host:port/bucket`) in `region`, as
    /// object_store forms it.
    pub fn bucket_endpoint(&self, region: &str) -> String {
        s3_bucket_endpoint(self.endpoint.as_deref(), &self.bucket, region)
    }
}

/// The bucket's URL as object_store's S3 client forms it for the addressing
/// style chosen in [`build`]: path style on a custom endpoint; on AWS the
/// bucket in the host unless its name has a dot.
fn s3_bucket_endpoint(endpoint: Option<&str>, bucket: &str, region: &str) -> String {
    match endpoint {
        Some(endpoint) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        None if bucket.contains('.') => format!("https://s3.{region}.amazonaws.com/{bucket}"),
        None => format!("https://{bucket}.s3.{region}.amazonaws.com"),
    }
}

pub(super) async fn build(bucket: &str, setup: &Setup<'_>) -> Result<BuiltBackend> {
    let instrument = setup.instrument(Some(PAGE_SIZE), Some(DELETE_BATCH));
    let profiles = Profiles::load(setup.env).await?;
    let settings = S3Settings::resolve(&setup.options.s3, setup.env, &profiles)?;
    let secrets: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(settings.credentials.secrets()));
    // Requester Pays: object_store puts `x-amz-request-payer: requester` in
    // every request it signs (the header signed with it) and in every URL
    // it presigns (the listing) as a signed query parameter, as S3
    // documents for presigned requests. Anonymous requests
    // carry nothing, and cannot pay: S3Settings::resolve refuses them with
    // the flag.
    let requester_pays = setup.options.s3.requester_pays;
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_retry(setup.retry())
        .with_request_payer(requester_pays);
    let allow_http = settings
        .endpoint
        .as_ref()
        .is_some_and(|e| e.starts_with("http://"));
    match &settings.endpoint {
        Some(endpoint) => {
            builder = builder
                .with_client_options(setup.client(allow_http))
                .with_endpoint(endpoint.trim_end_matches('/'))
                .with_virtual_hosted_style_request(false);
        }
        None => {
            // AWS proper: bucket-in-host unless a dot would break TLS.
            builder = builder
                .with_client_options(setup.client(false))
                .with_virtual_hosted_style_request(!bucket.contains('.'));
        }
    }
    let anonymous = match &settings.credentials {
        S3Credentials::Anonymous { notice } => {
            if *notice {
                setup.notice(
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
    if let Some(imds) = setup.env.first(&["AWS_EC2_METADATA_SERVICE_ENDPOINT"]) {
        builder = builder.with_metadata_endpoint(imds.trim_end_matches('/'));
    }
    builder = builder.with_http_connector(setup.connector(allow_http, !anonymous));
    // The bucket's own requests (mkdir's HeadBucket and CreateBucket) have
    // no RequestPayer parameter in S3's API: presigned without it.
    let admin_builder = requester_pays.then(|| builder.clone().with_request_payer(false));
    let for_region = move |region: &str| {
        builder
            .clone()
            .with_region(region)
            .build()
            .map_err(|e| config_error("S3", e))
    };
    let first = Arc::new(for_region(&settings.region)?);
    let admin_signer = match admin_builder {
        Some(builder) => Arc::new(
            builder
                .with_region(&settings.region)
                .build()
                .map_err(|e| config_error("S3", e))?,
        ),
        None => Arc::clone(&first),
    };
    let instrumented = instrument.wrap(Arc::clone(&first) as Arc<dyn ObjectStore>);
    let aws = settings.endpoint.is_none();
    let lister_target = {
        let (endpoint, bucket) = (settings.endpoint.clone(), bucket.to_string());
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
            Ok::<_, object_store::Error>(list::Target {
                signer,
                bucket_endpoint: s3_bucket_endpoint(endpoint.as_deref(), &bucket, region),
            })
        }
    };
    let mut lister = lister_target(&settings.region, (!anonymous).then(|| Arc::clone(&first)))
        .and_then(|target| {
            list::S3Lister::new(
                target,
                setup.options.timeout,
                setup.options.connect_timeout,
                Arc::clone(setup.stats),
                setup.logger.clone(),
            )
            .map(|lister| lister.with_retries(setup.options.retries))
        })
        .map_err(|e| config_error("S3 listing", e))?;
    // With no region given, a wrong-region answer switches to the
    // bucket's region: on AWS, and on a custom endpoint when requests
    // are signed (its URL does not name the region; only a signature
    // does, so an unsigned request has nothing to switch).
    let switch_region = !settings.region_given && (aws || !anonymous);
    let resolve: region::ResolveRegion = {
        let (endpoint, bucket) = (settings.endpoint.clone(), bucket.to_string());
        let (timeout, connect_timeout) = (setup.options.timeout, setup.options.connect_timeout);
        let (stats, logger) = (Arc::clone(setup.stats), setup.logger.clone());
        Arc::new(move || {
            let (endpoint, bucket) = (endpoint.clone(), bucket.to_string());
            let (stats, logger) = (Arc::clone(&stats), logger.clone());
            Box::pin(async move {
                let found = region::lookup(endpoint.as_deref(), &bucket, timeout, connect_timeout);
                region::counted(&bucket, &stats, logger.as_ref(), found).await
            })
        })
    };
    if switch_region {
        let build: list::TargetForRegion =
            Arc::new(move |region: &str| lister_target(region, None));
        lister = lister.with_region_lookup(build, Arc::clone(&resolve), Arc::clone(setup.notices));
    }
    let store = if switch_region {
        let rebuild: region::BuildForRegion = Arc::new(move |region: &str| {
            let store = for_region(region).map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: e.to_string().into(),
            })?;
            Ok(instrument.wrap(Arc::new(store)))
        });
        Arc::new(region::RegionRedirect::new(
            instrumented,
            resolve,
            rebuild,
            Arc::clone(setup.notices),
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
            signer: admin_signer,
            bucket: bucket.to_string(),
            region: settings.region.clone(),
            aws,
            endpoint: settings.endpoint.clone(),
            requester_pays,
        }),
        s3_lister: Some(Arc::new(lister)),
    })
}

/// A signed S3 request refused with 403 may be a Requester Pays bucket
/// refusing a requester who did not agree to pay: said in the hint, after
/// the other causes, when `--requester-pays` was not given.
pub(crate) fn with_requester_pays_cause(hint: String, signed: bool, flags: &S3Flags) -> String {
    if signed && !flags.requester_pays {
        format!(
            "{hint}; or the bucket is Requester Pays: add --requester-pays (its requests and bytes are then billed to you)"
        )
    } else {
        hint
    }
}

/// The profile bridge's own failure (an expired SSO session, a failing
/// credential_process) in `detail`, an error's text: not the network.
pub(crate) fn explain_profile_failure(url: &str, detail: &str) -> Option<Error> {
    let at = detail.find("cannot load credentials for profile")?;
    Some(
        Error::new(format!("{} (reading {url})", &detail[at..])).with_hint(
            "check the profile in ~/.aws/config and ~/.aws/credentials (for SSO: aws sso login); for a public bucket use --anon",
        ),
    )
}
