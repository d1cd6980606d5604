//! The HTTP client under every backend. object_store would build a reqwest
//! client that follows redirects anywhere, carrying `x-amz-security-token`,
//! `x-amz-content-sha256` and (with `Referer`) a presigned URL to whatever
//! host a server names. This one follows a redirect only to the same origin
//! (scheme, host, port) when requests carry credentials, and refuses the
//! rest with [`CrossHostRedirect`], which the error explanation recognises.
//!
//! It is also where requests are counted: [`CountingService`] sits between
//! object_store's retry loop and reqwest, so every attempt that goes out —
//! a retry after a 503, a part of an upload, a page of a listing, a batch of
//! a delete, the re-request that resumes a broken download — is counted once
//! in the command's [`RequestStats`], exactly as the server sees them. An
//! attempt that never reached the server (it could not connect: DNS, refused,
//! TLS) is not counted. With `-v`, an attempt that failed in a way
//! object_store retries (5xx, 429, 408, a transport error) gets a line of its
//! own, marked as such; the operation's own line (from
//! [`super::instrument`]) follows with the final outcome. That line names the
//! URL path only, never the query (a presigned query holds a signature), and
//! no header.
//!
//! Every attempt answered 503 or 429 (the store asking to slow down) is
//! also counted as throttled, retried or not, for the crawl's
//! [`super::limiter::Limiter`]: it sees the throttling object_store absorbs
//! in its retries, not only what comes out of them.
//!
//! Requests that do not go through object_store count themselves with
//! [`RequestStats::record_request`]: the S3 lister's pages, the bucket-region
//! lookup, `mkdir`'s CreateBucket/HeadBucket. Credential requests the AWS SDK
//! makes for a profile (SSO, STS, a credential process) go to other servers
//! and are not counted. Those object_store makes itself through this client
//! (a GCS service account's token, an Azure or AWS identity token) are: they
//! are rare (one per token lifetime) and never made for S3 with keys, a
//! profile or `--anon`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use object_store::ClientOptions;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse, HttpService,
};

use super::instrument::{RequestLogger, RequestRecord, RequestStats};

/// As many redirects as reqwest's default policy follows.
const MAX_REDIRECTS: usize = 10;

/// A redirect to another origin that was not followed. Only origins are
/// kept: a path or query may hold a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrossHostRedirect {
    pub from: String,
    pub to: String,
}

impl fmt::Display for CrossHostRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the server at {} redirected to another host {}; zarrscope does not follow cross-host redirects with credentials",
            self.from, self.to
        )
    }
}

impl std::error::Error for CrossHostRedirect {}

#[derive(Debug)]
struct TooManyRedirects;

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "more than {MAX_REDIRECTS} redirects")
    }
}

impl std::error::Error for TooManyRedirects {}

/// `scheme://host[:port]`.
fn origin(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Follow redirects within one origin; across origins only when no
/// credential rides along (`signed` false).
pub fn redirect_policy(signed: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(TooManyRedirects);
        }
        let from = attempt.previous().last().map(origin);
        let to = origin(attempt.url());
        match from {
            Some(from) if signed && from != to => attempt.error(CrossHostRedirect { from, to }),
            _ => attempt.follow(),
        }
    })
}

/// A reqwest client builder set up as object_store sets up its own (no
/// transparent decompression: sizes must match Content-Length), with the
/// redirect policy above and no `Referer`.
pub fn client_builder(signed: bool) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("zarrscope/", env!("CARGO_PKG_VERSION")))
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .no_deflate()
        .referer(false)
        .redirect(redirect_policy(signed))
}

/// The HTTP method as logged.
fn method_name(method: &reqwest::Method) -> &'static str {
    match method.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "PUT" => "PUT",
        "POST" => "POST",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        "PROPFIND" => "PROPFIND",
        _ => "OTHER",
    }
}

/// Why an attempt failed, when object_store answers that failure with a
/// retry (given retries left): `None` for an answer it keeps.
fn retryable_failure(outcome: &Result<HttpResponse, HttpError>) -> Option<String> {
    match outcome {
        Ok(response) => {
            let status = response.status();
            let retried = status.is_server_error()
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status == reqwest::StatusCode::REQUEST_TIMEOUT;
            retried.then(|| status.as_u16().to_string())
        }
        Err(e) => match e.kind() {
            HttpErrorKind::Connect => Some("error (could not connect)".into()),
            HttpErrorKind::Request => Some("error (request failed)".into()),
            HttpErrorKind::Timeout => Some("error (timed out)".into()),
            HttpErrorKind::Interrupted => Some("error (interrupted)".into()),
            _ => None,
        },
    }
}

/// Counts and (with `-v`) logs every attempt object_store sends; see the
/// module docs.
pub struct CountingService {
    client: reqwest::Client,
    stats: Arc<RequestStats>,
    logger: Option<RequestLogger>,
}

impl fmt::Debug for CountingService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountingService({:?})", self.client)
    }
}

#[async_trait]
impl HttpService for CountingService {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        let method = method_name(req.method());
        // The path only: the query may hold a signature.
        let path = req.uri().path().to_string();
        let t0 = Instant::now();
        let outcome = HttpService::call(&self.client, req).await;
        let reached_server = !matches!(&outcome, Err(e) if e.kind() == HttpErrorKind::Connect);
        if reached_server {
            self.stats.record_request(0);
        }
        if let Ok(response) = &outcome
            && super::limiter::is_throttling(response.status().as_u16())
        {
            self.stats.record_throttled();
        }
        if let (Some(logger), Some(status)) = (&self.logger, retryable_failure(&outcome)) {
            logger(&RequestRecord {
                method,
                key: path,
                status: format!("{status} (failed attempt, retried if retries remain)"),
                bytes: 0,
                millis: t0.elapsed().as_millis(),
            });
        }
        outcome
    }
}

/// object_store's [`HttpConnector`] with our client, counting every attempt
/// in `stats`.
#[derive(Clone)]
pub struct Connector {
    /// Whole-request cap (metadata reads, chores).
    pub timeout: Option<Duration>,
    /// Idle cap between bytes (transfers, whose bodies may take minutes).
    pub read_timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub allow_http: bool,
    /// Requests carry credentials (signed, or a key in the URL).
    pub signed: bool,
    /// The command's counters: every attempt is counted here.
    pub stats: Arc<RequestStats>,
    /// The `-v` log, for failed attempts.
    pub logger: Option<RequestLogger>,
}

impl fmt::Debug for Connector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connector")
            .field("timeout", &self.timeout)
            .field("read_timeout", &self.read_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("allow_http", &self.allow_http)
            .field("signed", &self.signed)
            .finish_non_exhaustive()
    }
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let mut builder = client_builder(self.signed).connect_timeout(self.connect_timeout);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if let Some(timeout) = self.read_timeout {
            builder = builder.read_timeout(timeout);
        }
        let client = builder.https_only(!self.allow_http).build().map_err(|e| {
            object_store::Error::Generic {
                store: "HTTP",
                source: Box::new(e),
            }
        })?;
        Ok(HttpClient::new(CountingService {
            client,
            stats: Arc::clone(&self.stats),
            logger: self.logger.clone(),
        }))
    }
}
