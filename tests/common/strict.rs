//! Real-S3 behaviour that s3s-fs does not have, for the test server.
//!
//! Strict mode (the default of `S3Server::start()`), as S3 does: a PUT that
//! declares no Content-Length is refused with 411 MissingContentLength, a
//! DeleteObjects without Content-MD5 or an x-amz-checksum-* header with 400
//! InvalidRequest. (s3s itself refuses keys over 1024 bytes, and s3s-fs
//! parts under 5 MiB but the last.)
//!
//! No-list buckets (`S3Server::deny_list`, in either mode): the caller lacks
//! s3:ListBucket, so every listing (and HeadBucket, which S3 also governs by
//! s3:ListBucket) is refused with 403, and a GET or HEAD of a missing key
//! answers 403 AccessDenied instead of 404, signed or not: S3 will not tell
//! such a caller whether a key exists. Existing keys are still served.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Operations S3 allows only with s3:ListBucket on the bucket.
const NEEDS_LIST_BUCKET: [&str; 4] = [
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "HeadBucket",
];

#[derive(Clone)]
pub struct Strict {
    /// Off: s3s-fs as it is (takes a PUT without length, an unchecked
    /// batch delete).
    pub enabled: bool,
    no_list: Arc<Mutex<BTreeSet<String>>>,
    /// s3s-fs's root: a bucket is a directory there.
    root: PathBuf,
}

impl Strict {
    pub fn new(enabled: bool, root: PathBuf) -> Self {
        Self {
            enabled,
            no_list: Arc::default(),
            root,
        }
    }

    /// From now on the caller lacks s3:ListBucket on `bucket`.
    pub fn deny_list(&self, bucket: &str) {
        self.no_list.lock().unwrap().insert(bucket.to_string());
    }

    fn lists_denied(&self, bucket: &str) -> bool {
        self.no_list.lock().unwrap().contains(bucket)
    }

    /// For the access check: whether operation `op` on `bucket` is refused
    /// because the caller may not list it.
    pub fn refuses(&self, op: &str, bucket: Option<&str>) -> bool {
        bucket.is_some_and(|b| self.lists_denied(b)) && NEEDS_LIST_BUCKET.contains(&op)
    }

    /// The answer S3 gives before looking at the request's operation, if any.
    pub fn refuse_early(
        &self,
        method: &str,
        query: &str,
        headers: &hyper::HeaderMap,
    ) -> Option<hyper::Response<s3s::Body>> {
        if !self.enabled {
            return None;
        }
        let param = |name: &str| {
            query.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k == name).then_some(v)
            })
        };
        if method == "POST"
            && param("delete").is_some()
            && !headers.contains_key("content-md5")
            && !headers
                .keys()
                .any(|n| n.as_str().starts_with("x-amz-checksum-"))
        {
            return Some(error(
                hyper::StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Missing required header for this request: Content-MD5",
            ));
        }
        // A CopyObject has no body: object_store sends it without a length,
        // and S3 takes it.
        let no_length = method == "PUT"
            && !headers.contains_key(hyper::header::CONTENT_LENGTH)
            && !headers.contains_key("x-amz-copy-source");
        no_length.then(|| {
            error(
                hyper::StatusCode::LENGTH_REQUIRED,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
            )
        })
    }

    /// A 404 for a missing key becomes 403 AccessDenied in a no-list bucket.
    pub fn hide_missing(
        &self,
        method: &str,
        path: &str,
        response: hyper::Response<s3s::Body>,
    ) -> hyper::Response<s3s::Body> {
        let Some((bucket, key)) = path.trim_start_matches('/').split_once('/') else {
            return response;
        };
        let missing_key = matches!(method, "GET" | "HEAD")
            && !key.is_empty()
            && response.status() == hyper::StatusCode::NOT_FOUND
            // A missing bucket stays NoSuchBucket (404), as on S3.
            && self.root.join(bucket).is_dir();
        if missing_key && self.lists_denied(bucket) {
            access_denied()
        } else {
            response
        }
    }
}

pub fn access_denied() -> hyper::Response<s3s::Body> {
    error(
        hyper::StatusCode::FORBIDDEN,
        "AccessDenied",
        "Access Denied",
    )
}

fn error(status: hyper::StatusCode, code: &str, message: &str) -> hyper::Response<s3s::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = hyper::Response::new(s3s::Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/xml"),
    );
    response
}
