//! S3 listings with the keys exactly as the bucket names them.
//!
//! object_store's S3 listing runs `Path::parse` on every key of a page: one
//! key S3 allows but a `Path` cannot hold (`a/../b`, `a//b`, `a/./b`) fails
//! the whole listing, and a folder marker `x/sub/` comes back as `x/sub` — a
//! different key, so `rm -r` would "delete" a key that does not exist and
//! leave the marker. So S3 listings are made here: the ListObjectsV2 request
//! is presigned by the same object_store client that signs every other
//! request (`Signer::signed_url_opts`, the query folded into the signature;
//! unsigned when anonymous), sent with reqwest, and its XML read with
//! quick-xml (both already under object_store). No signing code of our own.
//! With `--requester-pays` the signer adds `x-amz-request-payer=requester`
//! to the query before signing it, which is how S3 takes that header in a
//! presigned request.
//!
//! These requests bypass object_store's counting HTTP layer, so each page
//! counts itself (each attempt), as does a region lookup. A page answered
//! 5xx or 429 is asked again as object_store asks again for other requests
//! (`--retries` times, backing off with jitter); a throttling answer (503,
//! 429) is noted for the crawl's limiter.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::signer::{SignedUrlOptions, Signer};
use serde::Deserialize;

use super::answer::{status_text, xml_text};
use crate::store::instrument::{RequestLogger, RequestRecord, RequestStats};

/// Bytes one listing page may hold (1000 keys of up to 1024 bytes, escaped).
const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;
/// Pages one listing may take before it stops (10 million keys).
const MAX_PAGES: usize = 10_000;

/// One object as the bucket listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawObject {
    pub key: String,
    pub size: u64,
    /// As the server wrote it (RFC 3339).
    pub last_modified: String,
    pub e_tag: Option<String>,
}

/// One listing: objects, and with a delimiter the common prefixes (each
/// ending in the delimiter, as S3 returns them).
#[derive(Debug, Default)]
pub struct RawListing {
    pub objects: Vec<RawObject>,
    pub common_prefixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListBucketResult {
    #[serde(default)]
    contents: Vec<Contents>,
    #[serde(default)]
    common_prefixes: Vec<CommonPrefix>,
    #[serde(default)]
    next_continuation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Contents {
    key: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    last_modified: String,
    #[serde(rename = "ETag", default)]
    e_tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CommonPrefix {
    prefix: String,
}

/// Where and how to send ListObjectsV2 for one bucket and region.
pub struct Target {
    /// Signs the request; `None` sends it unsigned (anonymous).
    pub signer: Option<Arc<AmazonS3>>,
    /// The bucket's URL (`http://host:port/bucket`), for unsigned requests.
    pub bucket_endpoint: String,
}

/// Builds the target for a region (after a wrong-region answer).
pub type TargetForRegion = Arc<dyn Fn(&str) -> object_store::Result<Target> + Send + Sync>;

/// How to move to the bucket's region: build a target for a region, find
/// the region, and where to note it for the user.
type RegionLookup = (
    TargetForRegion,
    super::region::ResolveRegion,
    Arc<std::sync::Mutex<Vec<String>>>,
);

pub struct S3Lister {
    /// Built on the first listing: a TLS client costs milliseconds at
    /// start-up, and most commands (a consolidated `tree`) never list.
    client: std::sync::OnceLock<reqwest::Client>,
    timeout: Duration,
    connect_timeout: Duration,
    target: Mutex<Arc<Target>>,
    /// Set when the bucket's region is unknown (no --region): builds the
    /// target for a region, and finds the bucket's region.
    for_region: Option<RegionLookup>,
    stats: Arc<RequestStats>,
    logger: Option<RequestLogger>,
    /// Times a page answered 5xx or 429 is asked again.
    retries: usize,
}

/// The first wait before a page is asked again, doubled each time up to
/// [`MAX_BACKOFF`] (object_store's figures for every other request).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A listing request that got no response; its source is reqwest's error
/// without the (possibly presigned) URL.
#[derive(Debug)]
struct SendFailed {
    prefix: String,
    source: reqwest::Error,
}

impl std::fmt::Display for SendFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "error sending request: listing {:?}", self.prefix)
    }
}

impl std::error::Error for SendFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

fn generic(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    }
}

impl S3Lister {
    pub fn new(
        target: Target,
        timeout: Duration,
        connect_timeout: Duration,
        stats: Arc<RequestStats>,
        logger: Option<RequestLogger>,
    ) -> object_store::Result<Self> {
        Ok(Self {
            client: std::sync::OnceLock::new(),
            timeout,
            connect_timeout,
            target: Mutex::new(Arc::new(target)),
            for_region: None,
            stats,
            logger,
            retries: 0,
        })
    }

    /// Ask a page answered 5xx or 429 again, up to `retries` times.
    pub fn with_retries(mut self, retries: usize) -> Self {
        self.retries = retries;
        self
    }

    fn client(&self) -> object_store::Result<&reqwest::Client> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        // The client every backend uses (no Referer, bodies as sent), with
        // redirects off altogether: wrong-region answers are handled below.
        let client = crate::store::client::client_builder(true)
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            // A presigned URL must never travel to another host.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| generic(format!("cannot set up the HTTP client: {e}")))?;
        Ok(self.client.get_or_init(|| client))
    }

    /// On a wrong-region answer, find the bucket's region with `resolve`,
    /// list there with the target `build` makes, and say so in `notices`.
    pub fn with_region_lookup(
        mut self,
        build: TargetForRegion,
        resolve: super::region::ResolveRegion,
        notices: Arc<std::sync::Mutex<Vec<String>>>,
    ) -> Self {
        self.for_region = Some((build, resolve, notices));
        self
    }

    fn target(&self) -> Arc<Target> {
        match self.target.lock() {
            Ok(t) => Arc::clone(&t),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Every key below `prefix` (a directory: `""` is the bucket root, else
    /// listed as `prefix/`), following pagination; with `delimited` only the
    /// immediate children and the common prefixes.
    pub async fn list(&self, prefix: &str, delimited: bool) -> object_store::Result<RawListing> {
        self.list_until(prefix, delimited, &mut |_| false)
            .await
            .map(|(listing, _)| listing)
    }

    /// [`S3Lister::list`], asking `stop` after each page but the last (with
    /// that page's objects and prefixes) whether to stop before the next:
    /// `true` in the second place when it stopped with pages left.
    pub async fn list_until(
        &self,
        prefix: &str,
        delimited: bool,
        stop: &mut (dyn FnMut(&RawListing) -> bool + Send),
    ) -> object_store::Result<(RawListing, bool)> {
        let wire_prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let mut out = RawListing::default();
        let mut token: Option<String> = None;
        let mut switched_region = false;
        let mut retried = 0;
        let mut pages = 0;
        while pages < MAX_PAGES {
            let page = match self.page(&wire_prefix, delimited, token.as_deref()).await {
                Err(PageError::Retryable(_)) if retried < self.retries => {
                    let backoff = FIRST_BACKOFF
                        .saturating_mul(1u32 << retried.min(16))
                        .min(MAX_BACKOFF);
                    retried += 1;
                    tokio::time::sleep(backoff.mul_f64(crate::store::limiter::jitter_factor()))
                        .await;
                    continue;
                }
                Err(PageError::Retryable(e)) => return Err(e),
                Err(PageError::WrongRegion(detail)) if !switched_region => {
                    switched_region = true;
                    if self.switch_region().await {
                        continue;
                    }
                    return Err(generic(detail));
                }
                Err(PageError::WrongRegion(detail)) => return Err(generic(detail)),
                Err(PageError::Other(e)) => return Err(e),
                Ok(page) => page,
            };
            pages += 1;
            retried = 0;
            let listed = RawListing {
                objects: page
                    .contents
                    .into_iter()
                    .map(|c| RawObject {
                        key: c.key,
                        size: c.size,
                        last_modified: c.last_modified,
                        e_tag: c.e_tag,
                    })
                    .collect(),
                common_prefixes: page.common_prefixes.into_iter().map(|p| p.prefix).collect(),
            };
            let more = page.next_continuation_token.filter(|next| !next.is_empty());
            let stopped = more.is_some() && stop(&listed);
            out.objects.extend(listed.objects);
            out.common_prefixes.extend(listed.common_prefixes);
            match more {
                Some(_) if stopped => return Ok((out, true)),
                Some(next) => token = Some(next),
                _ => return Ok((out, false)),
            }
        }
        Err(generic(format!(
            "the listing of {prefix:?} went on for more than {MAX_PAGES} pages; stopped"
        )))
    }

    async fn switch_region(&self) -> bool {
        let Some((build, resolve, notices)) = &self.for_region else {
            return false;
        };
        let Ok(region) = resolve().await else {
            return false;
        };
        match build(&region) {
            Ok(target) => {
                match self.target.lock() {
                    Ok(mut t) => *t = Arc::new(target),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(target),
                }
                super::region::note_region(notices, &region);
                true
            }
            Err(_) => false,
        }
    }

    async fn page(
        &self,
        prefix: &str,
        delimited: bool,
        token: Option<&str>,
    ) -> Result<ListBucketResult, PageError> {
        let mut query: Vec<(&str, &str)> = vec![("list-type", "2")];
        if !prefix.is_empty() {
            query.push(("prefix", prefix));
        }
        if delimited {
            query.push(("delimiter", "/"));
        }
        if let Some(token) = token {
            query.push(("continuation-token", token));
        }
        let target = self.target();
        let url = match &target.signer {
            Some(signer) => {
                let options = SignedUrlOptions::new().with_query(query.iter().copied());
                signer
                    .signed_url_opts(
                        reqwest::Method::GET,
                        &Path::ROOT,
                        Duration::from_secs(900),
                        &options,
                    )
                    .await
                    .map_err(PageError::Other)?
            }
            None => {
                let mut url = url::Url::parse(&format!("{}/", target.bucket_endpoint))
                    .map_err(|e| PageError::Other(generic(format!("bad bucket URL: {e}"))))?;
                url.query_pairs_mut().extend_pairs(query.iter().copied());
                url
            }
        };
        let t0 = Instant::now();
        let method = if delimited {
            "LIST (delimited)"
        } else {
            "LIST"
        };
        let log = |status: String, bytes: u64| {
            if let Some(logger) = &self.logger {
                logger(&RequestRecord {
                    method,
                    key: prefix.trim_end_matches('/').to_string(),
                    status,
                    bytes,
                    millis: t0.elapsed().as_millis(),
                });
            }
        };
        let client = self.client().map_err(PageError::Other)?;
        let response = client.get(url).send().await;
        // Counted unless it never reached the server (one page, no retries).
        if !matches!(&response, Err(e) if e.is_connect()) {
            self.stats.record_request(0);
        }
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                log("error".into(), 0);
                // The URL may be presigned: drop it, and keep the rest of
                // the error so its cause (refused, timed out, …) is named.
                return Err(PageError::Other(object_store::Error::Generic {
                    store: "S3",
                    source: Box::new(SendFailed {
                        prefix: prefix.to_string(),
                        source: e.without_url(),
                    }),
                }));
            }
        };
        let status = response.status();
        let body = read_bounded(response).await;
        let (body, bytes) = match body {
            Ok(b) => {
                let n = b.len() as u64;
                (b, n)
            }
            Err(e) => {
                log("error".into(), 0);
                return Err(PageError::Other(e));
            }
        };
        log(status.as_u16().to_string(), bytes);
        if crate::store::limiter::is_throttling(status.as_u16()) {
            self.stats.record_throttled();
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let code = xml_text(&text, "Code").unwrap_or_default();
            let detail = format!(
                "Error performing list request: {}",
                status_text(status, &text)
            );
            if status.as_u16() == 301
                || ["PermanentRedirect", "AuthorizationHeaderMalformed"].contains(&code.as_str())
            {
                return Err(PageError::WrongRegion(detail));
            }
            let retryable = status.is_server_error() || status.as_u16() == 429;
            let wrap = if retryable {
                PageError::Retryable
            } else {
                PageError::Other
            };
            return Err(wrap(match status.as_u16() {
                404 if code == "NoSuchBucket" || code.is_empty() => object_store::Error::NotFound {
                    path: prefix.to_string(),
                    source: detail.into(),
                },
                403 => object_store::Error::PermissionDenied {
                    path: prefix.to_string(),
                    source: detail.into(),
                },
                401 => object_store::Error::Unauthenticated {
                    path: prefix.to_string(),
                    source: detail.into(),
                },
                _ => generic(detail),
            }));
        }
        parse_page(&body).map_err(PageError::Other)
    }
}

enum PageError {
    WrongRegion(String),
    /// 5xx or 429: asked again while retries remain.
    Retryable(object_store::Error),
    Other(object_store::Error),
}

/// The response body, refused past [`MAX_PAGE_BYTES`].
async fn read_bounded(response: reqwest::Response) -> object_store::Result<Vec<u8>> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_PAGE_BYTES as u64)
    {
        return Err(generic(format!(
            "a listing page larger than {MAX_PAGE_BYTES} bytes was refused"
        )));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| generic("the listing response was cut off".into()))?;
        if body.len() + chunk.len() > MAX_PAGE_BYTES {
            return Err(generic(format!(
                "a listing page larger than {MAX_PAGE_BYTES} bytes was refused"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn parse_page(body: &[u8]) -> object_store::Result<ListBucketResult> {
    let text = std::str::from_utf8(body)
        .map_err(|_| generic("the listing response is not UTF-8".into()))?;
    quick_xml::de::from_str(text).map_err(|e| {
        generic(format!(
            "the listing response is not valid ListObjectsV2 XML: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_back_exactly() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<Name>b</Name><Prefix></Prefix><KeyCount>5</KeyCount>
<Contents><Key>a/../b</Key><Size>3</Size><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"e"</ETag></Contents>
<Contents><Key>x/sub/</Key><Size>0</Size><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>
<Contents><Key> lead and trail </Key><Size>1</Size><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>
<Contents><Key>a&amp;b&lt;c&gt;%41</Key><Size>1</Size><LastModified>2026-01-01T00:00:00.000Z</LastModified></Contents>
<CommonPrefixes><Prefix>a//</Prefix></CommonPrefixes>
<NextContinuationToken>tok</NextContinuationToken>
</ListBucketResult>"#;
        let page = parse_page(xml.as_bytes()).unwrap();
        let keys: Vec<&str> = page.contents.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["a/../b", "x/sub/", " lead and trail ", "a&b<c>%41"]);
        assert_eq!(page.contents[0].size, 3);
        assert_eq!(page.common_prefixes[0].prefix, "a//");
        assert_eq!(page.next_continuation_token.as_deref(), Some("tok"));
        assert_eq!(
            xml_text("<Error><Code>NoSuchBucket</Code></Error>", "Code").as_deref(),
            Some("NoSuchBucket")
        );
    }
}
