//! The HTTP client under every backend. object_store would build a reqwest
//! client that follows redirects anywhere, carrying `x-amz-security-token`,
//! `x-amz-content-sha256` and (with `Referer`) a presigned URL to whatever
//! host a server names. This one follows a redirect only to the same origin
//! (scheme, host, port) when requests carry credentials, and refuses the
//! rest with [`CrossHostRedirect`], which the error explanation recognises.

use std::fmt;
use std::time::Duration;

use object_store::ClientOptions;
use object_store::client::{HttpClient, HttpConnector};

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

/// object_store's [`HttpConnector`] with our client.
#[derive(Debug, Clone)]
pub struct Connector {
    /// Whole-request cap (metadata reads, chores).
    pub timeout: Option<Duration>,
    /// Idle cap between bytes (transfers, whose bodies may take minutes).
    pub read_timeout: Option<Duration>,
    pub connect_timeout: Duration,
    pub allow_http: bool,
    /// Requests carry credentials (signed, or a key in the URL).
    pub signed: bool,
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
        Ok(HttpClient::new(client))
    }
}
