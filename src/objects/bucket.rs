//! `mkdir`: create an S3 bucket. (A "directory" inside a bucket needs
//! nothing: S3 has no directories, a key's prefix exists once an object has
//! it.)
//!
//! object_store has no CreateBucket call, so the request is presigned by the
//! same client that signs every other request (object_store's `Signer`) and
//! sent as a plain HTTP PUT: no signing code of our own.

use std::time::{Duration, Instant};

use object_store::path::Path;
use object_store::signer::Signer;

use crate::error::{Error, Result};
use crate::store::instrument::RequestRecord;
use crate::store::{BucketAdmin, StoreHandle};

/// The body AWS needs for a bucket outside us-east-1.
fn location_constraint(admin: &BucketAdmin) -> Option<String> {
    (admin.aws && admin.region != "us-east-1").then(|| {
        format!(
            "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            admin.region
        )
    })
}

pub async fn create_bucket(handle: &StoreHandle) -> Result<()> {
    let Some(admin) = &handle.bucket_admin else {
        return Err(Error::new("mkdir creates S3 buckets only")
            .with_hint("for GCS and Azure, create buckets/containers with gcloud or az"));
    };
    let url = handle.location.url_of("");
    let signed = admin
        .signer
        .signed_url(
            reqwest_method_put(),
            &Path::from(""),
            Duration::from_secs(300),
        )
        .await
        .map_err(|e| handle.explain_url(&url, &e))?;
    // The presigned URL is a credential: it never follows a redirect to
    // another host, nor leaves in a Referer.
    let client = crate::store::http::client_builder(true)
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| Error::new(format!("cannot set up the HTTP client: {e}")))?;
    let mut request = client.put(signed.as_str());
    if let Some(body) = location_constraint(admin) {
        request = request.body(body);
    }
    let t0 = Instant::now();
    let response = request.send().await;
    handle.stats.record_request(0);
    let status = response
        .as_ref()
        .map_or_else(|_| "error".to_string(), |r| r.status().as_u16().to_string());
    if let Some(logger) = handle.logger() {
        logger(&RequestRecord {
            method: "PUT",
            key: format!("(create bucket {})", admin.bucket),
            status: status.clone(),
            bytes: 0,
            millis: t0.elapsed().as_millis(),
        });
    }
    let response = response.map_err(|e| {
        // The error may carry the presigned URL: name only its cause.
        let e = e.without_url();
        match crate::store::failure::classify(&e) {
            Some(crate::store::failure::Cause::CrossHostRedirect(redirect)) => {
                Error::new(format!("creating bucket {url} failed: {redirect}"))
            }
            _ => Error::new(format!(
                "creating bucket {url} failed: the request did not complete"
            ))
            .with_hint("check the endpoint and network"),
        }
    })?;
    let code = response.status().as_u16();
    if (200..300).contains(&code) {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let text = handle.redact(&body);
    let error = if text.contains("BucketAlreadyOwnedByYou") {
        Error::new(format!("bucket {url} already exists and is yours")).with_hint("nothing to do")
    } else if text.contains("BucketAlreadyExists") {
        Error::new(format!(
            "bucket {url} already exists (the server does not say it is yours)"
        ))
        .with_hint("bucket names are global on AWS; if it is not yours, pick another name")
    } else if code == 403 {
        Error::new(format!(
            "creating bucket {url} was refused (403) for {}",
            handle.credential_source
        ))
        .with_hint("these credentials may not create buckets; try another --profile")
    } else {
        Error::new(format!(
            "creating bucket {url} failed with status {code}: {}",
            text.chars().take(300).collect::<String>()
        ))
    };
    Err(error)
}

fn reqwest_method_put() -> reqwest::Method {
    reqwest::Method::PUT
}
