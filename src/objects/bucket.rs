//! `mkdir`: create an S3 bucket. (A "directory" inside a bucket needs
//! nothing: S3 has no directories, a key's prefix exists once an object has
//! it.)
//!
//! object_store has no CreateBucket or HeadBucket call, so those requests are
//! presigned by the same client that signs every other request (object_store's
//! `Signer`) and sent as plain HTTP requests: no signing code of our own.

use std::time::{Duration, Instant};

use object_store::path::Path;
use object_store::signer::Signer;

use crate::error::{Error, ErrorKind, Result};
use crate::render::text::first_chars;
use crate::store::backend::s3::BucketAdmin;
use crate::store::backend::s3::answer::truncated_body;
use crate::store::failure::root_message;
use crate::store::instrument::RequestRecord;
use crate::store::{Doing, StoreHandle};

/// The body AWS needs for a bucket outside us-east-1.
fn location_constraint(admin: &BucketAdmin) -> Option<String> {
    (admin.aws && admin.region != "us-east-1").then(|| {
        format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            admin.region
        )
    })
}

fn admin_of(handle: &StoreHandle) -> Result<&BucketAdmin> {
    handle.bucket_admin.as_ref().ok_or_else(|| {
        Error::new("mkdir creates S3 buckets only")
            .with_hint("for GCS and Azure, create buckets/containers with gcloud or az")
    })
}

/// Send one presigned request about the bucket itself, counted and logged
/// like every other request; returns the status and the body text.
async fn send_bucket_request(
    handle: &StoreHandle,
    method: reqwest::Method,
    body: String,
    what: &str,
) -> Result<(u16, String)> {
    let admin = admin_of(handle)?;
    let url = handle.location.url_of("");
    let signed = admin
        .signer
        .signed_url(method.clone(), &Path::ROOT, Duration::from_secs(300))
        .await
        .map_err(|e| handle.explain_url(&url, &e))?;
    // The presigned URL is a credential: it never follows a redirect to
    // another host, nor leaves in a Referer.
    let client = crate::store::client::client_builder(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::new(format!("cannot set up the HTTP client: {e}")))?;
    // S3 wants a Content-Length on every PUT, even an empty one (411
    // MissingContentLength otherwise); reqwest sends none for an empty body.
    let mut request = client.request(method.clone(), signed.as_str());
    if method == reqwest::Method::PUT {
        request = request
            .header(reqwest::header::CONTENT_LENGTH, body.len())
            .body(body);
    }
    let t0 = Instant::now();
    let response = request.send().await;
    // Counted unless it never reached the server (it is sent once).
    if !matches!(&response, Err(e) if e.is_connect()) {
        handle.stats.record_request(0);
    }
    let status = response
        .as_ref()
        .map_or_else(|_| "error".to_string(), |r| r.status().as_u16().to_string());
    if let Some(logger) = handle.logger() {
        logger(&RequestRecord {
            method: if method == reqwest::Method::HEAD {
                "HEAD"
            } else {
                "PUT"
            },
            key: format!("({what} {})", admin.bucket),
            status,
            bytes: 0,
            millis: t0.elapsed().as_millis(),
        });
    }
    let response = response.map_err(|e| {
        // The error may carry the presigned URL: name only its cause.
        let e = e.without_url();
        let doing = if method == reqwest::Method::PUT {
            Doing::Creating
        } else {
            Doing::Reading
        };
        handle
            .explain_transport(doing, &url, &e)
            .unwrap_or_else(|| {
                Error::new(format!(
                    "{what} {url} failed: the request did not complete ({})",
                    handle.redact(&root_message(&e))
                ))
                .with_hint("check the endpoint and network")
            })
    })?;
    let code = response.status().as_u16();
    let text = String::from_utf8_lossy(&truncated_body(response, MAX_ANSWER).await).into_owned();
    Ok((code, handle.redact(&text)))
}

/// Bucket answers are short XML documents: read at most this much of one.
const MAX_ANSWER: usize = 64 * 1024;

/// Whether the bucket exists, as HeadBucket says (one request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketState {
    /// 200: it exists and these credentials may use it.
    Yours,
    /// 403: it exists (on AWS, bucket names are global) but is not usable
    /// with these credentials.
    Forbidden,
    /// 301: it exists, in another region (AWS).
    OtherRegion,
    /// 404: no such bucket.
    Absent,
}

pub async fn bucket_state(handle: &StoreHandle) -> Result<BucketState> {
    let (code, text) = send_bucket_request(
        handle,
        reqwest::Method::HEAD,
        String::new(),
        "checking bucket",
    )
    .await?;
    match code {
        200..=299 => Ok(BucketState::Yours),
        403 => Ok(BucketState::Forbidden),
        301 => Ok(BucketState::OtherRegion),
        404 => Ok(BucketState::Absent),
        _ => Err(Error::new(format!(
            "checking bucket {} failed with status {code}: {}",
            handle.location.url_of(""),
            first_chars(&text, 300)
        ))),
    }
}

pub async fn create_bucket(handle: &StoreHandle) -> Result<()> {
    let admin = admin_of(handle)?;
    let url = handle.location.url_of("");
    let body = location_constraint(admin).unwrap_or_default();
    let (code, text) =
        send_bucket_request(handle, reqwest::Method::PUT, body, "creating bucket").await?;
    if (200..300).contains(&code) {
        return Ok(());
    }
    let error = if text.contains("BucketAlreadyOwnedByYou") {
        Error::new(format!("bucket {url} already exists and is yours"))
            .with_hint("nothing to do")
            .with_kind(ErrorKind::Conflict)
    } else if text.contains("BucketAlreadyExists") {
        Error::new(format!(
            "bucket {url} already exists (the server does not say it is yours)"
        ))
        .with_hint("bucket names are global on AWS; if it is not yours, pick another name")
        .with_kind(ErrorKind::Conflict)
    } else if code == 403 {
        Error::new(format!(
            "creating bucket {url} was refused (403) for {}",
            handle.credential_source
        ))
        .with_hint("these credentials may not create buckets; try another --profile")
        .with_kind(ErrorKind::AccessDenied)
    } else {
        Error::new(format!(
            "creating bucket {url} failed with status {code}: {}",
            first_chars(&text, 300)
        ))
    };
    Err(error)
}
