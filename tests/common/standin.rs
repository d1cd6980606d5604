//! What the GCS and Azure stand-ins (gcs.rs, azure.rs) share: a copy of
//! `fixtures/` as one bucket, listings with a delimiter and pages, byte
//! ranges, and an HTTP/1 server on 127.0.0.1 that logs every request as
//! [`LoggedRequest`]s. Each stand-in supplies only its wire format.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;

use super::loopback::Loopback;
use super::{LoggedRequest, copy_dir, percent_decode, repo_root};

pub type Response = hyper::Response<Full<Bytes>>;

/// One request as a stand-in sees it: path and query percent-decoded.
pub struct Request {
    pub method: String,
    /// `/bucket/key`, decoded.
    pub path: String,
    /// Query pairs, decoded.
    pub query: Vec<(String, String)>,
    pub headers: hyper::HeaderMap,
    /// The request body (a PUT's object).
    pub body: Bytes,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The bucket and the key (empty for a bucket-level request).
    pub fn bucket_and_key(&self) -> (&str, &str) {
        let rest = self.path.trim_start_matches('/');
        rest.split_once('/').unwrap_or((rest, ""))
    }
}

/// The bucket: a directory whose files are the objects.
pub struct Objects {
    root: PathBuf,
}

pub struct Object {
    pub body: Vec<u8>,
    pub last_modified: chrono::DateTime<chrono::Utc>,
}

impl Object {
    /// A stable entity tag: a hash of the content.
    pub fn etag(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.body.hash(&mut h);
        format!("{:016x}", h.finish())
    }
}

/// A listing entry: an object (key, size) or a common prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Object { key: String, size: u64 },
    Prefix(String),
}

impl Entry {
    pub fn name(&self) -> &str {
        match self {
            Entry::Object { key, .. } => key,
            Entry::Prefix(p) => p,
        }
    }
}

/// One page of a listing; `next` is the opaque token of the next page.
pub struct Page {
    pub entries: Vec<Entry>,
    pub next: Option<String>,
}

impl Objects {
    pub fn has_bucket(&self, bucket: &str) -> bool {
        !bucket.is_empty() && !bucket.contains("..") && self.root.join(bucket).is_dir()
    }

    /// The object at `key`; `None` when absent (a directory is not an object).
    pub fn get(&self, bucket: &str, key: &str) -> Option<Object> {
        if key.is_empty() || key.split('/').any(|s| s == ".." || s.is_empty()) {
            return None;
        }
        let path = self.root.join(bucket).join(key);
        if !path.is_file() {
            return None;
        }
        let body = std::fs::read(&path).ok()?;
        let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
        Some(Object {
            body,
            last_modified: modified.into(),
        })
    }

    /// Write the object at `key` (a PUT the stand-in accepted).
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) -> std::io::Result<()> {
        if key.is_empty() || key.split('/').any(|s| s == ".." || s.is_empty()) {
            return Err(std::io::Error::other(format!("invalid key {key:?}")));
        }
        let path = self.root.join(bucket).join(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, body)
    }

    /// Every key of `bucket`, sorted bytewise as object stores sort them.
    fn keys(&self, bucket: &str) -> Vec<(String, u64)> {
        fn walk(dir: &Path, base: &str, out: &mut Vec<(String, u64)>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let key = if base.is_empty() {
                    name
                } else {
                    format!("{base}/{name}")
                };
                match entry.file_type() {
                    Ok(t) if t.is_dir() => walk(&entry.path(), &key, out),
                    Ok(_) => {
                        let size = entry.metadata().map_or(0, |m| m.len());
                        out.push((key, size));
                    }
                    Err(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root.join(bucket), "", &mut out);
        out.sort();
        out
    }

    /// Keys under `prefix`, those past `delimiter` folded into common
    /// prefixes, in order, after `after` (exclusive), at most `max` of them.
    pub fn list(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<&str>,
        max: usize,
    ) -> Page {
        let mut all: Vec<Entry> = Vec::new();
        for (key, size) in self.keys(bucket) {
            let Some(rest) = key.strip_prefix(prefix) else {
                continue;
            };
            let entry = match delimiter.filter(|d| !d.is_empty()).and_then(|d| {
                rest.find(d)
                    .map(|at| format!("{prefix}{}", &rest[..at + d.len()]))
            }) {
                Some(common) => Entry::Prefix(common),
                None => Entry::Object { key, size },
            };
            if all.last() != Some(&entry) {
                all.push(entry);
            }
        }
        let mut remaining = all
            .into_iter()
            .filter(|e| after.is_none_or(|a| e.name() > a))
            .peekable();
        let entries: Vec<Entry> = remaining.by_ref().take(max.max(1)).collect();
        let next = remaining
            .peek()
            .and(entries.last())
            .map(|last| encode_token(last.name()));
        Page { entries, next }
    }
}

/// Page tokens are opaque to clients: the hex of the last name served.
fn encode_token(name: &str) -> String {
    name.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The name a page token stands for; `None` for a token we never issued.
pub fn decode_token(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// A `bytes=` range against an object of `len` bytes: `Ok(None)` for no
/// range, `Ok(Some((first, last)))` inclusive, `Err(())` unsatisfiable.
pub fn byte_range(header: Option<&str>, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = if first.is_empty() {
        // A suffix: the last N bytes.
        let n: u64 = last.parse().map_err(|_| ())?;
        (len.saturating_sub(n), len.checked_sub(1).ok_or(())?)
    } else {
        let first: u64 = first.parse().map_err(|_| ())?;
        let last = if last.is_empty() {
            len.saturating_sub(1)
        } else {
            last.parse::<u64>()
                .map_err(|_| ())?
                .min(len.saturating_sub(1))
        };
        (first, last)
    };
    if first >= len || first > last {
        return Err(());
    }
    Ok(Some((first, last)))
}

/// HTTP dates (RFC 7231), as Last-Modified carries them.
pub fn http_date(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub fn response(status: u16, headers: &[(&str, String)], body: impl Into<Bytes>) -> Response {
    let mut response = hyper::Response::new(Full::new(body.into()));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    for (name, value) in headers {
        response.headers_mut().insert(
            hyper::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

/// Text safe inside an XML element.
/// An object's answer to GET or HEAD: the whole body (200) or the `range`
/// asked for (206, with Content-Range), after the service's own `headers`;
/// HEAD sends the headers alone.
pub fn object_response(
    method: &str,
    object: Object,
    range: Option<(u64, u64)>,
    mut headers: Vec<(&str, String)>,
) -> Response {
    let len = object.body.len();
    let (status, body) = match range {
        Some((first, last)) => {
            headers.push(("content-range", format!("bytes {first}-{last}/{len}")));
            (206, object.body[first as usize..=last as usize].to_vec())
        }
        None => (200, object.body),
    };
    headers.push(("content-length", body.len().to_string()));
    if method == "HEAD" {
        return response(status, &headers, Vec::new());
    }
    response(status, &headers, body)
}

pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub type Handler = Arc<dyn Fn(&Request, &Objects, usize) -> Response + Send + Sync>;
/// The stand-in's error response for (status, service error code).
pub type ErrorResponse = fn(u16, &str, &str) -> Response;

/// A stand-in server: `bucket` holds a copy of `fixtures/`; `handler`
/// answers each request given the objects and the current page size.
pub struct StandIn {
    pub endpoint: String,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    page_size: Arc<AtomicUsize>,
    refusal: Arc<Mutex<Option<(u16, String)>>>,
    _server: Loopback,
    root: tempfile::TempDir,
}

impl StandIn {
    pub fn start(bucket: &str, page_size: usize, handler: Handler, error: ErrorResponse) -> Self {
        let root = tempfile::tempdir().unwrap();
        copy_dir(&repo_root().join("fixtures"), &root.path().join(bucket));
        let objects = Arc::new(Objects {
            root: root.path().to_path_buf(),
        });
        let log = Arc::new(Mutex::new(Vec::new()));
        let page_size = Arc::new(AtomicUsize::new(page_size));
        let refusal: Arc<Mutex<Option<(u16, String)>>> = Arc::default();
        let (log2, page, refusal2) = (log.clone(), page_size.clone(), refusal.clone());
        let server = Loopback::serve(move |req: hyper::Request<hyper::body::Incoming>| {
            let (objects, log, refusal) = (objects.clone(), log2.clone(), refusal2.clone());
            let (handler, page) = (handler.clone(), page.clone());
            async move {
                let (parts, body) = req.into_parts();
                let body = http_body_util::BodyExt::collect(body)
                    .await
                    .map(|b| b.to_bytes())
                    .unwrap_or_default();
                let request = Request {
                    method: parts.method.to_string(),
                    path: percent_decode(parts.uri.path()),
                    query: url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                        .into_owned()
                        .collect(),
                    headers: parts.headers.clone(),
                    body,
                };
                let refused = refusal.lock().unwrap().clone();
                let response = match refused {
                    Some((status, code)) => error(status, &code, "Refused by the test."),
                    None => handler(&request, &objects, page.load(Ordering::SeqCst)),
                };
                // A HEAD's Content-Length describes the object, not a body sent.
                let bytes = match request.method.as_str() {
                    "HEAD" => 0,
                    _ => response
                        .headers()
                        .get(hyper::header::CONTENT_LENGTH)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0),
                };
                log.lock().unwrap().push(LoggedRequest {
                    method: request.method,
                    path: request.path,
                    query: parts.uri.query().unwrap_or("").to_string(),
                    status: response.status().as_u16(),
                    signed: request.headers.contains_key("authorization"),
                    bytes,
                    headers: super::header_list(&request.headers),
                    // GCS and Azure have no session-token header.
                    security_token: None,
                });
                Ok::<_, Infallible>(response)
            }
        });
        Self {
            endpoint: server.endpoint.clone(),
            log,
            page_size,
            refusal,
            _server: server,
            root,
        }
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap().clone()
    }

    pub fn reset(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Entries per listing page from now on (a client's smaller
    /// max-keys/maxresults still wins).
    pub fn set_page_size(&self, entries: usize) {
        self.page_size.store(entries.max(1), Ordering::SeqCst);
    }

    /// Answer every request from now on with this status and service error
    /// code (a private bucket, a rejected signature).
    pub fn refuse(&self, status: u16, code: &str) {
        *self.refusal.lock().unwrap() = Some((status, code.to_string()));
    }

    /// Where bucket `bucket` lives on disk (to add or remove objects).
    pub fn bucket_dir(&self, bucket: &str) -> PathBuf {
        self.root.path().join(bucket)
    }
}
