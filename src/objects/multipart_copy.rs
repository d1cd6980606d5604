//! Server-side copies past S3's CopyObject cap.
//!
//! One CopyObject copies at most 5 GiB; S3 refuses a larger source with 400
//! InvalidRequest, "The specified copy source is larger than the maximum
//! allowable size for a copy source: N". A larger object is copied by a
//! multipart upload whose parts are UploadPartCopy requests (each names a
//! byte range of the source in `x-amz-copy-source-range`), then
//! CompleteMultipartUpload; any failure aborts the upload, so none is left
//! holding storage.
//!
//! object_store has no UploadPartCopy, so these requests are made here:
//! signed by object_store's own `AwsAuthorizer` with the store's credential
//! provider (no signing code of our own), sent with the client every backend
//! uses (same redirect policy and timeouts), counted in the destination's
//! `RequestStats` and logged with `-v` like every other request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, stream};
use object_store::aws::{AwsAuthorizer, AwsCredential};
use object_store::client::{HttpRequest, HttpRequestBody};
use object_store::{Attribute, GetOptions, ObjectStore};
use reqwest::header::{CONTENT_LENGTH, HeaderMap, HeaderName, HeaderValue};

use crate::keys;
use crate::progress::Progress;
use crate::store::StoreHandle;
use crate::store::backend::s3::BucketAdmin;
use crate::store::backend::s3::answer::{status_text, truncated_body, xml_text};
use crate::store::instrument::RequestRecord;

/// S3's largest source for one CopyObject, and for one UploadPartCopy.
pub const COPY_OBJECT_MAX: u64 = 5 * 1024 * 1024 * 1024;
/// S3's most parts in one multipart upload.
const MAX_PARTS: u64 = 10_000;
/// S3's smallest part (but the last): a cap named below it cannot be copied
/// in parts, and would only make a lying server's copy cost many requests.
const MIN_PART: u64 = 5 * 1024 * 1024;
/// Parts this large unless the object needs larger ones (10,000 parts at
/// most) or the server caps them lower: few requests, each short enough
/// to retry.
const PREFERRED_PART: u64 = 512 * 1024 * 1024;
/// UploadPartCopy requests in flight at once.
const PARTS_IN_FLIGHT: usize = 4;
/// Further attempts for a part copy or an abort after a 500/503 or a broken
/// connection (both are safe to repeat).
const RETRIES: usize = 2;
/// S3's answers here are short XML documents: read at most this much.
const MAX_ANSWER: usize = 1024 * 1024;

/// A query value as SigV4 canonicalises it (all but `A-Z a-z 0-9 - . _ ~`
/// encoded), so that the URL sent is the one signed.
const QUERY_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// What S3 says when a copy source is over the cap (followed by ": N").
const TOO_LARGE: &str = "larger than the maximum allowable size for a copy source";

/// The cap N from S3's refusal of a too-large copy, if `err` is one.
pub fn refused_limit(err: &object_store::Error) -> Option<u64> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        let text = e.to_string();
        if let Some(at) = text.find(TOO_LARGE) {
            let digits: String = text[at + TOO_LARGE.len()..]
                .trim_start_matches([':', ' '])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            return digits.parse().ok().filter(|n| *n > 0);
        }
        cause = e.source();
    }
    None
}

/// The part size for copying `size` bytes in parts of at most `limit`
/// (and of S3's 5 GiB), in at most 10,000 parts.
pub fn part_size(size: u64, limit: u64) -> Result<u64, String> {
    let cap = limit.min(COPY_OBJECT_MAX);
    if cap < MIN_PART {
        return Err(format!(
            "the server's copy cap of {cap} bytes is below S3's smallest part ({MIN_PART} bytes)"
        ));
    }
    let smallest = size.div_ceil(MAX_PARTS);
    let part = PREFERRED_PART.max(smallest).min(cap);
    if part == 0 || part < smallest {
        return Err(format!(
            "{size} bytes cannot be copied in at most {MAX_PARTS} parts of at most {cap} bytes"
        ));
    }
    Ok(part)
}

/// Inclusive byte ranges of `size` bytes in parts of `part` bytes.
pub fn ranges(size: u64, part: u64) -> Vec<(u64, u64)> {
    let part = part.max(1);
    (0..size.div_ceil(part))
        .map(|i| {
            let start = i * part;
            (start, (start + part).min(size) - 1)
        })
        .collect()
}

/// What became of the multipart upload when the copy failed.
#[derive(Debug)]
pub enum UploadLeft {
    /// None was started.
    NotStarted,
    Aborted,
    /// The abort failed too (why): the upload may remain.
    AbortFailed(String),
}

/// A failed multipart copy.
#[derive(Debug)]
pub struct CopyFailure {
    /// The request that failed ("UploadPartCopy of part 2 of 3").
    pub step: String,
    pub error: object_store::Error,
    /// The failure was reading the source (its HEAD), not a copy request.
    pub at_source: bool,
    pub upload: UploadLeft,
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    }
}

/// The S3 bucket behind a handle, for requests made here.
fn admin_of(handle: &StoreHandle) -> Result<&BucketAdmin, object_store::Error> {
    handle
        .bucket_admin
        .as_ref()
        .ok_or_else(|| generic("a multipart copy needs an S3 bucket on both sides".into()))
}

/// Both handles are S3 buckets on one service with one identity: the
/// destination's credentials can name the source in a copy.
pub fn same_service(src: &StoreHandle, dst: &StoreHandle) -> bool {
    match (&src.bucket_admin, &dst.bucket_admin) {
        (Some(a), Some(b)) => {
            a.endpoint == b.endpoint
                && a.aws == b.aws
                && src.credential_source == dst.credential_source
                && !src.anonymous
                && !dst.anonymous
        }
        _ => false,
    }
}

/// One request of a copy: what to send, how to log it, whether a failed
/// attempt may be repeated.
struct Call<'a> {
    method: reqwest::Method,
    query: &'a str,
    headers: &'a HeaderMap,
    body: Bytes,
    log_method: &'static str,
    log_key: &'a str,
    retry: bool,
}

/// One copy's requests, all to the destination bucket.
struct Requests<'a> {
    dst: &'a StoreHandle,
    admin: &'a BucketAdmin,
    client: reqwest::Client,
    credential: Option<Arc<AwsCredential>>,
    /// The region requests are signed for.
    region: String,
    /// `http://host:port/bucket/key`, the key URL-encoded.
    object_url: String,
    to_key: &'a str,
}

impl Requests<'_> {
    fn set_region(&mut self, region: String) {
        self.object_url = format!(
            "{}/{}",
            self.admin.bucket_endpoint(&region),
            keys::url_encoded(self.to_key)
        );
        self.region = region;
    }

    /// Send one signed request (again after a 500/503 or a broken connection
    /// when `retry`); its status and body. Every attempt is counted and
    /// logged. A non-2xx answer, or a 200 holding an `<Error>` (S3 may send
    /// that for a copy that failed after it began answering), is an error.
    async fn send(&self, call: Call<'_>) -> Result<String, object_store::Error> {
        let Call {
            method,
            query,
            headers,
            body,
            log_method,
            log_key,
            retry,
        } = call;
        let url = format!("{}?{query}", self.object_url);
        let mut attempt = 0;
        loop {
            let signed = self.sign(&method, &url, headers, &body)?;
            let t0 = Instant::now();
            self.dst.stats.record_request(0);
            let log = |status: String| {
                if let Some(logger) = self.dst.logger() {
                    logger(&RequestRecord {
                        method: log_method,
                        key: log_key.to_string(),
                        status,
                        bytes: 0,
                        millis: t0.elapsed().as_millis(),
                    });
                }
            };
            let sent = self
                .client
                .request(method.clone(), &url)
                .headers(signed)
                .header(CONTENT_LENGTH, body.len())
                .body(body.clone())
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    log("error".into());
                    if retry && attempt < RETRIES {
                        attempt += 1;
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                    // The error may hold the URL: name only the cause.
                    let cause = if e.is_timeout() {
                        "timed out"
                    } else if e.is_connect() {
                        "could not connect"
                    } else {
                        "the request did not complete"
                    };
                    return Err(generic(format!("{log_method} {log_key}: {cause}")));
                }
            };
            let status = response.status();
            let text =
                String::from_utf8_lossy(&truncated_body(response, MAX_ANSWER).await).into_owned();
            log(status.as_u16().to_string());
            let failed_late = status.is_success() && text.contains("<Error>");
            if status.is_success() && !failed_late {
                return Ok(text);
            }
            let transient = matches!(status.as_u16(), 500 | 503) || failed_late;
            if retry && transient && attempt < RETRIES {
                attempt += 1;
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            return Err(self.error(status, &text));
        }
    }

    /// The request's headers with a SigV4 signature (none when anonymous).
    fn sign(
        &self,
        method: &reqwest::Method,
        url: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<HeaderMap, object_store::Error> {
        let Some(credential) = &self.credential else {
            return Ok(headers.clone());
        };
        let mut request = HttpRequest::new(HttpRequestBody::from(body.clone()));
        *request.method_mut() = method.clone();
        *request.uri_mut() = url
            .parse()
            .map_err(|e| generic(format!("cannot form the request URL: {e}")))?;
        *request.headers_mut() = headers.clone();
        AwsAuthorizer::new(credential, "s3", &self.region)
            .with_request_payer(self.admin.requester_pays)
            .try_authorize(&mut request, None)?;
        Ok(request.headers().clone())
    }

    /// An S3 error answer as object_store's error kinds, so that it is
    /// explained like any other failed request.
    fn error(&self, status: reqwest::StatusCode, text: &str) -> object_store::Error {
        let message = xml_text(text, "Message").unwrap_or_default();
        let detail = self.dst.redact(&format!(
            "{}{}",
            status_text(status, text),
            if message.is_empty() {
                String::new()
            } else {
                format!(": {message}")
            }
        ));
        let path = self.to_key.to_string();
        match status.as_u16() {
            404 => object_store::Error::NotFound {
                path,
                source: detail.into(),
            },
            403 => object_store::Error::PermissionDenied {
                path,
                source: detail.into(),
            },
            401 => object_store::Error::Unauthenticated {
                path,
                source: detail.into(),
            },
            _ => generic(detail),
        }
    }
}

fn backoff(attempt: usize) -> Duration {
    Duration::from_millis(200 << attempt.min(4))
}

/// The headers a CopyObject would carry over from the source (its content
/// headers and user metadata), for CreateMultipartUpload, which copies none.
fn preserved_headers(attributes: &object_store::Attributes) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (attribute, value) in attributes {
        let name = match attribute {
            Attribute::ContentType => "content-type".to_string(),
            Attribute::ContentEncoding => "content-encoding".to_string(),
            Attribute::ContentDisposition => "content-disposition".to_string(),
            Attribute::ContentLanguage => "content-language".to_string(),
            Attribute::CacheControl => "cache-control".to_string(),
            Attribute::Metadata(key) => format!("x-amz-meta-{key}"),
            // CopyObject does not keep a storage class either.
            _ => continue,
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value.as_ref()),
        ) {
            headers.insert(name, value);
        }
    }
    headers
}

/// Copy `from_key` of `src`'s bucket to `to_key` of `dst`'s bucket on the
/// server, in parts of at most `limit` bytes. On failure the upload is
/// aborted; the error says what failed and what was left.
pub async fn copy(
    src: &StoreHandle,
    from_key: &str,
    dst: &StoreHandle,
    to_key: &str,
    limit: u64,
    progress: &Progress,
) -> Result<(), CopyFailure> {
    let fail = |step: &str, error: object_store::Error, upload: UploadLeft| CopyFailure {
        step: step.to_string(),
        error,
        at_source: false,
        upload,
    };
    let (src_admin, admin) = match (admin_of(src), admin_of(dst)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            return Err(fail("planning the copy", e, UploadLeft::NotStarted));
        }
    };
    // The source's size and the headers a CopyObject would have kept.
    let source = keys::path(from_key).map_err(|e| CopyFailure {
        step: "HEAD of the source".into(),
        error: e.into(),
        at_source: true,
        upload: UploadLeft::NotStarted,
    })?;
    let head = GetOptions {
        head: true,
        ..GetOptions::default()
    };
    let (size, headers) = match src.store.get_opts(&source, head).await {
        Ok(got) => (got.meta.size, preserved_headers(&got.attributes)),
        Err(error) => {
            return Err(CopyFailure {
                step: "HEAD of the source".into(),
                error,
                at_source: true,
                upload: UploadLeft::NotStarted,
            });
        }
    };
    let part = part_size(size, limit)
        .map_err(|why| fail("planning the parts", generic(why), UploadLeft::NotStarted))?;
    let parts = ranges(size, part);

    let (timeout, connect_timeout) = dst.timeouts();
    let allow_http = admin
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    // Idle timeout, as for every transfer: a large part may take a while.
    let client = crate::store::client::client_builder(true)
        .connect_timeout(connect_timeout)
        .read_timeout(timeout)
        .https_only(!allow_http)
        .build()
        .map_err(|e| {
            fail(
                "setting up the HTTP client",
                generic(e.to_string()),
                UploadLeft::NotStarted,
            )
        })?;
    let credential = if dst.anonymous {
        None
    } else {
        match admin.signer.credentials().get_credential().await {
            Ok(c) => Some(c),
            Err(e) => return Err(fail("loading credentials", e, UploadLeft::NotStarted)),
        }
    };
    let mut requests = Requests {
        dst,
        admin,
        client,
        credential,
        region: String::new(),
        object_url: String::new(),
        to_key,
    };
    requests.set_region(admin.region.clone());

    let create = || Call {
        method: reqwest::Method::POST,
        query: "uploads",
        headers: &headers,
        body: Bytes::new(),
        log_method: "POST (create multipart)",
        log_key: to_key,
        retry: false,
    };
    let mut created = requests.send(create()).await;
    // On AWS with no region given, the bucket may live elsewhere: find its
    // region once (as every other request does) and ask there.
    if let Err(e) = &created
        && admin.aws
        && crate::store::backend::s3::region::is_wrong_region(e)
        && let Ok(region) = {
            let (timeout, connect_timeout) = requests.dst.timeouts();
            let lookup = crate::store::backend::s3::region::lookup(
                None,
                &admin.bucket,
                timeout,
                connect_timeout,
            );
            crate::store::backend::s3::region::counted(
                &admin.bucket,
                &requests.dst.stats,
                requests.dst.logger(),
                lookup,
            )
            .await
        }
    {
        requests.set_region(region);
        created = requests.send(create()).await;
    }
    let created = created.and_then(|text| {
        xml_text(&text, "UploadId")
            .filter(|id| !id.is_empty())
            .ok_or_else(|| generic("CreateMultipartUpload answered without an UploadId".into()))
    });
    let upload_id = match created {
        Ok(id) => id,
        Err(e) => return Err(fail("CreateMultipartUpload", e, UploadLeft::NotStarted)),
    };
    let id_query = format!(
        "uploadId={}",
        percent_encoding::utf8_percent_encode(&upload_id, QUERY_ENCODE)
    );

    let copy_source = format!("{}/{}", src_admin.bucket, keys::url_encoded(from_key));
    let total = parts.len();
    let failed = AtomicBool::new(false);
    let copies = stream::iter(parts.iter().copied().enumerate())
        // After a failure no further part starts; those in flight finish, so
        // that the abort below is not overtaken by a part still being copied.
        .take_while(|_| futures::future::ready(!failed.load(Ordering::SeqCst)))
        .map(|(i, (first, last))| {
            let (requests, copy_source, id_query, failed) =
                (&requests, &copy_source, &id_query, &failed);
            async move {
                let mut headers = HeaderMap::new();
                let range = format!("bytes={first}-{last}");
                let values = [
                    ("x-amz-copy-source", copy_source.as_str()),
                    ("x-amz-copy-source-range", range.as_str()),
                ];
                for (name, value) in values {
                    let value = HeaderValue::from_str(value)
                        .map_err(|e| (i, generic(format!("bad header {name}: {e}"))))?;
                    headers.insert(name, value);
                }
                let number = i + 1;
                let answer = requests
                    .send(Call {
                        method: reqwest::Method::PUT,
                        query: &format!("partNumber={number}&{id_query}"),
                        headers: &headers,
                        body: Bytes::new(),
                        log_method: "PUT (part copy)",
                        log_key: &format!("{to_key} (part {number}/{total}, {range})"),
                        retry: true,
                    })
                    .await
                    .and_then(|text| {
                        xml_text(&text, "ETag").ok_or_else(|| {
                            generic("UploadPartCopy answered without an ETag".into())
                        })
                    });
                match answer {
                    Ok(etag) => {
                        progress.advance(last - first + 1);
                        Ok((i, etag))
                    }
                    Err(e) => {
                        failed.store(true, Ordering::SeqCst);
                        Err((i, e))
                    }
                }
            }
        })
        .buffer_unordered(PARTS_IN_FLIGHT);
    let mut etags: Vec<Option<String>> = vec![None; total];
    let mut first_failure: Option<(usize, object_store::Error)> = None;
    futures::pin_mut!(copies);
    while let Some(result) = copies.next().await {
        match result {
            Ok((i, etag)) => etags[i] = Some(etag),
            Err((i, e)) => {
                if first_failure.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_failure = Some((i, e));
                }
            }
        }
    }

    let completed = match first_failure {
        Some((i, e)) => Err((format!("UploadPartCopy of part {} of {total}", i + 1), e)),
        None => {
            let mut xml = String::from("<CompleteMultipartUpload>");
            for (i, etag) in etags.iter().enumerate() {
                xml.push_str(&format!(
                    "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                    i + 1,
                    quick_xml::escape::escape(etag.as_deref().unwrap_or_default())
                ));
            }
            xml.push_str("</CompleteMultipartUpload>");
            let mut headers = HeaderMap::new();
            headers.insert(
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
            requests
                .send(Call {
                    method: reqwest::Method::POST,
                    query: &id_query,
                    headers: &headers,
                    body: Bytes::from(xml),
                    log_method: "POST (complete multipart)",
                    log_key: to_key,
                    retry: false,
                })
                .await
                .map(|_| ())
                .map_err(|e| ("CompleteMultipartUpload".to_string(), e))
        }
    };
    let Err((step, error)) = completed else {
        return Ok(());
    };
    // Leave no unfinished upload behind: it would hold the copied parts.
    let aborted = requests
        .send(Call {
            method: reqwest::Method::DELETE,
            query: &id_query,
            headers: &HeaderMap::new(),
            body: Bytes::new(),
            log_method: "DELETE (abort multipart)",
            log_key: to_key,
            retry: true,
        })
        .await;
    let upload = match aborted {
        Ok(_) => UploadLeft::Aborted,
        // S3 answers 404 NoSuchUpload for an upload that is already gone.
        Err(object_store::Error::NotFound { .. }) => UploadLeft::Aborted,
        Err(e) => UploadLeft::AbortFailed(dst.redact(&e.to_string())),
    };
    Err(CopyFailure {
        step,
        error,
        at_source: false,
        upload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_s3_rules() {
        const GIB: u64 = 1024 * 1024 * 1024;
        const MIB: u64 = 1024 * 1024;
        // 6 GiB under the 5 GiB cap: 512 MiB parts.
        assert_eq!(part_size(6 * GIB, COPY_OBJECT_MAX).unwrap(), 512 * MIB);
        // 5 TiB: 10,000 parts at most.
        let huge = 5 * 1024 * GIB;
        let part = part_size(huge, COPY_OBJECT_MAX).unwrap();
        assert!(huge.div_ceil(part) <= MAX_PARTS, "{part}");
        assert!(part <= COPY_OBJECT_MAX);
        // A server's lower cap wins; a higher one is held to S3's 5 GiB.
        assert_eq!(part_size(15 * MIB, 6 * MIB).unwrap(), 6 * MIB);
        assert_eq!(part_size(100 * GIB, 50 * GIB).unwrap(), 512 * MIB);
        // Impossible: too many parts, or parts below S3's 5 MiB.
        assert!(part_size(10_001 * 6 * MIB, 6 * MIB).is_err());
        assert!(part_size(20_001, 2).is_err());
        assert!(part_size(15 * MIB, 5 * MIB - 1).is_err());
        assert_eq!(
            ranges(15 * MIB, 6 * MIB),
            [
                (0, 6 * MIB - 1),
                (6 * MIB, 12 * MIB - 1),
                (12 * MIB, 15 * MIB - 1)
            ]
        );
        assert_eq!(ranges(12, 6), [(0, 5), (6, 11)]);
    }

    #[test]
    fn s3_refusal_names_the_cap() {
        let err = generic(
            "Error performing PUT http://x/b/k - Server returned non-2xx status code: 400 Bad Request: <Error><Code>InvalidRequest</Code><Message>The specified copy source is larger than the maximum allowable size for a copy source: 5368709120</Message></Error>".into(),
        );
        assert_eq!(refused_limit(&err), Some(COPY_OBJECT_MAX));
        assert_eq!(refused_limit(&generic("400 Bad Request".into())), None);
    }
}
