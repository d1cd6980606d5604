//! Finding an AWS bucket's region instead of failing on a redirect.
//!
//! When no region was given (flag, environment or profile), requests go to
//! us-east-1 first. A bucket elsewhere answers 301 PermanentRedirect (or,
//! signed, "the region … is wrong"). This wrapper then asks once for the
//! bucket's region ([`lookup`]: one unsigned HEAD reading
//! `x-amz-bucket-region`), rebuilds the client for that region and repeats
//! the request; every later request goes straight to the right region.
//!
//! On AWS the region is in the URL and the signature; on a custom endpoint
//! (MinIO, Ceph) only in the signature, so there the switch applies to
//! signed requests only.

use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use bytes::Bytes;
use std::future::Future;

use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;

use crate::store::failure::Cause;
use crate::store::instrument::{RequestLogger, RequestRecord, RequestStats, status_of};
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// A region lookup ([`lookup`]: one HEAD, with a client of its own, outside
/// the counting HTTP layer), counted and logged here unless it never reached
/// the server.
pub async fn counted(
    bucket: &str,
    stats: &RequestStats,
    logger: Option<&RequestLogger>,
    lookup: impl Future<Output = Result<String>>,
) -> Result<String> {
    let t0 = std::time::Instant::now();
    let found = lookup.await;
    let unreached = found
        .as_ref()
        .err()
        .and_then(|e| crate::store::failure::classify(e));
    if !matches!(
        unreached,
        Some(Cause::Dns | Cause::Tls | Cause::ConnectionRefused)
    ) {
        stats.record_request(0);
    }
    if let Some(logger) = logger {
        logger(&RequestRecord {
            method: "HEAD (region)",
            key: bucket.to_string(),
            status: match &found {
                Ok(region) => format!("200 ({region})"),
                Err(e) => status_of(e),
            },
            bytes: 0,
            millis: t0.elapsed().as_millis(),
        });
    }
    found
}

/// Looks up the region of a bucket.
pub type ResolveRegion = Arc<dyn Fn() -> BoxFuture<'static, Result<String>> + Send + Sync>;
/// Builds the (instrumented) client for a region.
pub type BuildForRegion = Arc<dyn Fn(&str) -> Result<Arc<dyn ObjectStore>> + Send + Sync>;

/// The region of `bucket`: on AWS (`endpoint` `None`) object_store's
/// `resolve_bucket_region`; on a custom endpoint the same question put to it,
/// an unsigned HEAD of the bucket reading `x-amz-bucket-region` (which AWS
/// and MinIO send), without following redirects.
pub async fn lookup(
    endpoint: Option<&str>,
    bucket: &str,
    timeout: std::time::Duration,
    connect_timeout: std::time::Duration,
) -> Result<String> {
    let generic = |message: String| object_store::Error::Generic {
        store: "S3",
        source: message.into(),
    };
    let Some(endpoint) = endpoint else {
        let options = object_store::ClientOptions::new()
            .with_timeout(timeout)
            .with_connect_timeout(connect_timeout);
        return object_store::aws::resolve_bucket_region(bucket, &options).await;
    };
    let client = crate::store::client::client_builder(false)
        .timeout(timeout)
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| generic(format!("cannot set up the HTTP client: {e}")))?;
    let url = format!("{}/{bucket}", endpoint.trim_end_matches('/'));
    let response = client
        .head(&url)
        .send()
        .await
        .map_err(|e| generic(format!("cannot look up the region of bucket {bucket}: {e}")))?;
    response
        .headers()
        .get("x-amz-bucket-region")
        .and_then(|v| v.to_str().ok())
        // It goes into a host name on AWS and into the signature: a region
        // is letters, digits and '-'.
        .filter(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .map(str::to_string)
        .ok_or_else(|| {
            generic(format!(
                "{url} did not name the bucket's region (no x-amz-bucket-region header)"
            ))
        })
}

/// Tell the user the region found, once per command (the object client and
/// the lister each find it on their own).
pub fn note_region(notices: &Mutex<Vec<String>>, region: &str) {
    let note = format!(
        "note: the bucket is in region {region}; pass --region {region} to skip the lookup"
    );
    if let Ok(mut notices) = notices.lock()
        && !notices.contains(&note)
    {
        notices.push(note);
    }
}

/// Does this error mean "the bucket is in another region"?
pub fn is_wrong_region(err: &object_store::Error) -> bool {
    let text = err.to_string();
    [
        "301 Moved Permanently",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "incorrectly configured region",
    ]
    .iter()
    .any(|sign| text.contains(sign))
}

struct Shared {
    current: RwLock<Arc<dyn ObjectStore>>,
    resolve: ResolveRegion,
    build: BuildForRegion,
    /// The region found, once found (or why it could not be).
    found: tokio::sync::Mutex<Option<std::result::Result<String, String>>>,
    notices: Arc<Mutex<Vec<String>>>,
}

impl Shared {
    fn current(&self) -> Arc<dyn ObjectStore> {
        match self.current.read() {
            Ok(store) => Arc::clone(&store),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// After a wrong-region error: find the region (once), switch to it and
    /// return the new client; `None` when the region cannot be found (the
    /// caller then reports the original error).
    async fn switch(&self, failed: &Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        let mut found = self.found.lock().await;
        if found.is_none() {
            let outcome = match (self.resolve)().await {
                Ok(region) => match (self.build)(&region) {
                    Ok(store) => {
                        match self.current.write() {
                            Ok(mut current) => *current = store,
                            Err(poisoned) => *poisoned.into_inner() = store,
                        }
                        note_region(&self.notices, &region);
                        Ok(region)
                    }
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            *found = Some(outcome);
        }
        match found.as_ref() {
            Some(Ok(_)) => {
                let now = self.current();
                // A second wrong-region answer from the new client: give up.
                (!Arc::ptr_eq(&now, failed)).then_some(now)
            }
            _ => None,
        }
    }
}

/// Sends requests to the bucket's region, discovering it on the first
/// wrong-region answer.
pub struct RegionRedirect {
    shared: Arc<Shared>,
}

impl RegionRedirect {
    pub fn new(
        first: Arc<dyn ObjectStore>,
        resolve: ResolveRegion,
        build: BuildForRegion,
        notices: Arc<Mutex<Vec<String>>>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                current: RwLock::new(first),
                resolve,
                build,
                found: tokio::sync::Mutex::new(None),
                notices,
            }),
        }
    }

    /// Run `op` on the current client; on a wrong-region error, switch and
    /// run it once more.
    async fn retry<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let store = self.shared.current();
        match op(Arc::clone(&store)).await {
            Err(e) if is_wrong_region(&e) => match self.shared.switch(&store).await {
                Some(next) => op(next).await,
                None => Err(e),
            },
            other => other,
        }
    }

    /// Like `retry`, for listings: a wrong-region answer comes as the first item.
    fn retry_stream<F>(&self, open: F) -> BoxStream<'static, Result<ObjectMeta>>
    where
        F: Fn(&Arc<dyn ObjectStore>) -> BoxStream<'static, Result<ObjectMeta>> + Send + 'static,
    {
        let shared = Arc::clone(&self.shared);
        stream::once(async move {
            let store = shared.current();
            let mut items = open(&store);
            match items.next().await {
                Some(Err(e)) if is_wrong_region(&e) => match shared.switch(&store).await {
                    Some(next) => open(&next),
                    None => stream::iter([Err(e)]).boxed(),
                },
                first => stream::iter(first).chain(items).boxed(),
            }
        })
        .flatten()
        .boxed()
    }
}

impl fmt::Display for RegionRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionRedirect({})", self.shared.current())
    }
}

impl fmt::Debug for RegionRedirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionRedirect({:?})", self.shared.current())
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for RegionRedirect {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.retry(|s| {
            let (payload, options) = (payload.clone(), options.clone());
            async move { s.put_opts(location, payload, options).await }
        })
        .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        options: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.retry(|s| {
            let options = options.clone();
            async move { s.put_multipart_opts(location, options).await }
        })
        .await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.retry(|s| {
            let options = options.clone();
            async move { s.get_opts(location, options).await }
        })
        .await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.retry(|s| async move { s.get_ranges(location, ranges).await })
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        // A stream of keys cannot be replayed; deletes follow a listing that
        // has already found the region.
        self.shared.current().delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let prefix = prefix.cloned();
        self.retry_stream(move |s| s.list(prefix.as_ref()))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let (prefix, offset) = (prefix.cloned(), offset.clone());
        self.retry_stream(move |s| s.list_with_offset(prefix.as_ref(), &offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.retry(|s| async move { s.list_with_delimiter(prefix).await })
            .await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.retry(|s| {
            let options = options.clone();
            async move { s.copy_opts(from, to, options).await }
        })
        .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.retry(|s| {
            let options = options.clone();
            async move { s.rename_opts(from, to, options).await }
        })
        .await
    }
}
