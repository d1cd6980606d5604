//! Counts the body bytes received and (with `-v`) logs one line per
//! operation: method, key, status, bytes, milliseconds. It sits directly on
//! the backend so the keys it logs are the real bucket keys. It never sees
//! credentials: signing happens below it, inside the backend.
//!
//! Requests are counted where they are made. For the HTTP backends (S3, GCS,
//! Azure, HTTP) that is the HTTP layer ([`super::client`]), below object_store's
//! retries: it sees every attempt, so this layer counts none of them
//! ([`InstrumentedStore::counted_below`]) — counting here too would count
//! each twice, and a retried request once instead of twice. For local files
//! there is no HTTP layer, and each operation is counted here as one request.
//!
//! Where object_store makes several requests for one call, this layer drives
//! them one by one so that each gets its own `-v` line (batch deletes: it
//! hands the backend one batch at a time; multipart uploads: each part and
//! the completion). A listing's pages are paged inside object_store: its line
//! gives the pages as estimated from the entries returned and the service's
//! page size (the count itself is exact, from the HTTP layer).

use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, Stream, StreamExt};
use object_store::path::Path;

use super::body::map_body;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, OBJECT_STORE_COALESCE_DEFAULT,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, Result, coalesce_ranges,
};

/// Request and byte counters shared by every layer of one command.
#[derive(Debug, Default)]
pub struct RequestStats {
    requests: AtomicU64,
    bytes: AtomicU64,
    /// Answers asking to slow down (503, 429), retried attempts included:
    /// what a [`super::limiter::Limiter`] reacts to.
    throttled: AtomicU64,
}

impl RequestStats {
    pub fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::Relaxed)
    }
    pub fn record_throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    /// Count a request made outside the `ObjectStore` trait (e.g. mkdir's).
    pub fn record_request(&self, bytes: u64) {
        self.add_request();
        self.add_bytes(bytes);
    }
    fn add_request(&self) {
        self.add_requests(1);
    }
    fn add_requests(&self, n: u64) {
        self.requests.fetch_add(n, Ordering::Relaxed);
    }
    fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
}

/// Where requests are counted: `here` for each operation this layer drives,
/// or not at all when the HTTP layer below counts every attempt.
#[derive(Clone)]
struct Counter {
    stats: Arc<RequestStats>,
    here: bool,
}

impl Counter {
    fn request(&self) {
        self.requests(1);
    }
    fn requests(&self, n: u64) {
        if self.here {
            self.stats.add_requests(n);
        }
    }
}

/// One finished request, as logged by `-v`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: &'static str,
    pub key: String,
    /// HTTP-like status: 200/206 on success, the mapped code on failure.
    pub status: String,
    pub bytes: u64,
    pub millis: u128,
}

impl fmt::Display for RequestRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} B {} ms",
            self.method, self.key, self.status, self.bytes, self.millis
        )
    }
}

pub type RequestLogger = Arc<dyn Fn(&RequestRecord) + Send + Sync>;

/// Status text for a failed request, from object_store's error kinds.
pub fn status_of(err: &object_store::Error) -> String {
    match err {
        object_store::Error::NotFound { .. } => "404".into(),
        object_store::Error::PermissionDenied { .. } => "403".into(),
        object_store::Error::Unauthenticated { .. } => "401".into(),
        object_store::Error::Precondition { .. } => "412".into(),
        object_store::Error::NotModified { .. } => "304".into(),
        _ => "error".into(),
    }
}

pub struct InstrumentedStore<T> {
    inner: Arc<T>,
    stats: Arc<RequestStats>,
    count: Counter,
    logger: Option<RequestLogger>,
    /// Entries per listing page, where the service has a fixed page size
    /// (S3 and GCS 1000, Azure 5000): a listing's pages are estimated from
    /// the entries it returned, since object_store pages internally.
    page_size: Option<u64>,
    /// Keys per delete request where the service deletes in batches (S3
    /// DeleteObjects 1000, Azure blob batch 256); `None`: one request per key.
    delete_batch: Option<usize>,
}

impl<T: ObjectStore> InstrumentedStore<T> {
    pub fn new(inner: T, stats: Arc<RequestStats>, logger: Option<RequestLogger>) -> Self {
        Self {
            inner: Arc::new(inner),
            count: Counter {
                stats: Arc::clone(&stats),
                here: true,
            },
            stats,
            logger,
            page_size: None,
            delete_batch: None,
        }
    }

    /// The HTTP layer below counts every request (see the module docs).
    pub fn counted_below(mut self) -> Self {
        self.count.here = false;
        self
    }

    pub fn with_page_size(mut self, page_size: u64) -> Self {
        self.page_size = Some(page_size.max(1));
        self
    }

    /// The most keys the backend deletes in one request (it must not split a
    /// batch of this size further).
    pub fn with_delete_batch(mut self, keys: usize) -> Self {
        self.delete_batch = Some(keys.max(1));
        self
    }

    fn start(&self) -> Instant {
        self.count.request();
        Instant::now()
    }

    fn log(&self, method: &'static str, key: &str, status: String, bytes: u64, t0: Instant) {
        if let Some(logger) = &self.logger {
            logger(&RequestRecord {
                method,
                key: key.to_string(),
                status,
                bytes,
                millis: t0.elapsed().as_millis(),
            });
        }
    }

    /// A paginated listing: counted as it starts, its further pages and its
    /// log line when the stream ends.
    fn counted_list(
        &self,
        prefix: Option<&Path>,
        inner: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let t0 = self.start();
        ListCounting {
            inner,
            count: self.count.clone(),
            logger: self.logger.clone(),
            page_size: self.page_size,
            key: prefix.map_or(String::new(), |p| p.to_string()),
            entries: 0,
            status: "200".into(),
            t0,
            finished: false,
        }
        .boxed()
    }

    fn log_result<R>(&self, method: &'static str, key: &str, t0: Instant, r: &Result<R>) {
        let status = match r {
            Ok(_) => "200".to_string(),
            Err(e) => status_of(e),
        };
        self.log(method, key, status, 0, t0);
    }
}

impl<T: ObjectStore> fmt::Display for InstrumentedStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instrumented({})", self.inner)
    }
}

impl<T: ObjectStore> fmt::Debug for InstrumentedStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstrumentedStore({:?})", self.inner)
    }
}

/// Counts body bytes as they arrive and logs the request when the body ends
/// (or is dropped early, e.g. when the guard aborts it).
struct CountingStream {
    inner: BoxStream<'static, Result<Bytes>>,
    stats: Arc<RequestStats>,
    logger: Option<RequestLogger>,
    record: Option<RequestRecord>,
    t0: Instant,
}

impl Stream for CountingStream {
    type Item = Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &polled {
            let n = chunk.len() as u64;
            self.stats.add_bytes(n);
            if let Some(r) = self.record.as_mut() {
                r.bytes += n;
            }
        }
        if let Poll::Ready(Some(Err(e))) = &polled {
            let status = format!("aborted ({})", status_of(e));
            if let Some(r) = self.record.as_mut() {
                r.status = status;
            }
        }
        polled
    }
}

/// Requests beyond the first that a listing of `entries` took.
fn extra_pages(page_size: Option<u64>, entries: u64) -> u64 {
    page_size.map_or(0, |size| entries.saturating_sub(1) / size)
}

/// Counts a listing's entries; on the end (or drop) adds the further pages
/// and logs one line.
struct ListCounting {
    inner: BoxStream<'static, Result<ObjectMeta>>,
    count: Counter,
    logger: Option<RequestLogger>,
    page_size: Option<u64>,
    key: String,
    entries: u64,
    status: String,
    t0: Instant,
    finished: bool,
}

impl Stream for ListCounting {
    type Item = Result<ObjectMeta>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = self.inner.poll_next_unpin(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => self.entries += 1,
            Poll::Ready(Some(Err(e))) => self.status = status_of(e),
            _ => {}
        }
        polled
    }
}

impl Drop for ListCounting {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let extra = extra_pages(self.page_size, self.entries);
        self.count.requests(extra);
        if let Some(logger) = &self.logger {
            logger(&RequestRecord {
                method: "LIST",
                key: self.key.clone(),
                status: format!(
                    "{} ({} entries, {} pages)",
                    self.status,
                    self.entries,
                    extra + 1
                ),
                bytes: 0,
                millis: self.t0.elapsed().as_millis(),
            });
        }
    }
}

impl Drop for CountingStream {
    fn drop(&mut self) {
        if let (Some(logger), Some(mut record)) = (&self.logger, self.record.take()) {
            record.millis = self.t0.elapsed().as_millis();
            logger(&record);
        }
    }
}

/// Batch deletes in flight at once (object_store's S3 client runs 20).
const DELETES_IN_FLIGHT: usize = 20;

/// A multipart upload whose part uploads, completion and abort are each
/// counted and logged as the request they are.
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    key: String,
    count: Counter,
    logger: Option<RequestLogger>,
    parts: u64,
}

impl fmt::Debug for CountingUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CountingUpload({:?}, {} parts)", self.inner, self.parts)
    }
}

impl CountingUpload {
    fn log(&self, method: &'static str, key: String, status: String, bytes: u64, t0: Instant) {
        if let Some(logger) = &self.logger {
            logger(&RequestRecord {
                method,
                key,
                status,
                bytes,
                millis: t0.elapsed().as_millis(),
            });
        }
    }
}

fn status_text<R>(r: &Result<R>) -> String {
    r.as_ref().map_or_else(status_of, |_| "200".into())
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> BoxFuture<'static, Result<()>> {
        self.parts += 1;
        self.count.request();
        let bytes = data.content_length() as u64;
        let key = format!("{} (part {})", self.key, self.parts);
        let logger = self.logger.clone();
        let part = self.inner.put_part(data);
        let t0 = Instant::now();
        Box::pin(async move {
            let r = part.await;
            if let Some(logger) = &logger {
                logger(&RequestRecord {
                    method: "PUT (part)",
                    key,
                    status: status_text(&r),
                    bytes,
                    millis: t0.elapsed().as_millis(),
                });
            }
            r
        })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.count.request();
        let t0 = Instant::now();
        let r = self.inner.complete().await;
        let key = format!("{} ({} parts)", self.key, self.parts);
        self.log("POST (complete)", key, status_text(&r), 0, t0);
        r
    }

    async fn abort(&mut self) -> Result<()> {
        self.count.request();
        let t0 = Instant::now();
        let r = self.inner.abort().await;
        self.log("DELETE (abort)", self.key.clone(), status_text(&r), 0, t0);
        r
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: ObjectStore> ObjectStore for InstrumentedStore<T> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let t0 = self.start();
        let size = payload.content_length() as u64;
        let r = self.inner.put_opts(location, payload, opts).await;
        let status = r.as_ref().map_or_else(status_of, |_| "200".into());
        self.log("PUT", location.as_ref(), status, size, t0);
        r
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let t0 = self.start();
        let r = self.inner.put_multipart_opts(location, opts).await;
        self.log_result("POST (multipart)", location.as_ref(), t0, &r);
        r.map(|upload| {
            Box::new(CountingUpload {
                inner: upload,
                key: location.to_string(),
                count: self.count.clone(),
                logger: self.logger.clone(),
                parts: 0,
            }) as Box<dyn MultipartUpload>
        })
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let method = if options.head { "HEAD" } else { "GET" };
        let ranged = options.range.is_some();
        let t0 = self.start();
        match self.inner.get_opts(location, options).await {
            Err(e) => {
                self.log(method, location.as_ref(), status_of(&e), 0, t0);
                Err(e)
            }
            Ok(result) => {
                let record = RequestRecord {
                    method,
                    key: location.to_string(),
                    status: if ranged { "206" } else { "200" }.into(),
                    bytes: 0,
                    millis: 0,
                };
                let (stats, logger) = (Arc::clone(&self.stats), self.logger.clone());
                Ok(map_body(result, |inner| {
                    CountingStream {
                        inner,
                        stats,
                        logger,
                        record: Some(record),
                        t0,
                    }
                    .boxed()
                }))
            }
        }
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        // The cloud stores serve this as one ranged GET per group of nearby
        // ranges; made here the same way, through `get_opts`, so that each
        // GET is counted and logged.
        coalesce_ranges(
            ranges,
            |range| self.get_range(location, range),
            OBJECT_STORE_COALESCE_DEFAULT,
        )
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let (count, logger) = (self.count.clone(), self.logger.clone());
        let Some(batch) = self.delete_batch else {
            // One DELETE per key: counted and logged as each answer arrives.
            return self
                .inner
                .delete_stream(locations)
                .map(move |result| {
                    count.request();
                    if let Some(logger) = &logger {
                        let (key, status) = match &result {
                            Ok(path) => (path.to_string(), "204".to_string()),
                            Err(e) => (String::new(), status_of(e)),
                        };
                        logger(&RequestRecord {
                            method: "DELETE",
                            key,
                            status,
                            bytes: 0,
                            millis: 0,
                        });
                    }
                    result
                })
                .boxed();
        };
        // Batched: hand the backend one batch at a time, so that each call
        // below is exactly one request (as many in flight as object_store
        // itself would run).
        let inner = Arc::clone(&self.inner);
        locations
            .chunks(batch)
            .map(move |chunk| {
                let (inner, count, logger) = (Arc::clone(&inner), count.clone(), logger.clone());
                async move {
                    let (paths, mut results): (Vec<_>, Vec<_>) =
                        chunk.into_iter().partition(|r| r.is_ok());
                    if paths.is_empty() {
                        return stream::iter(results);
                    }
                    let first = paths
                        .first()
                        .and_then(|p| p.as_ref().ok())
                        .map_or(String::new(), |p| p.to_string());
                    let keys = paths.len();
                    count.request();
                    let t0 = Instant::now();
                    let answers: Vec<Result<Path>> = inner
                        .delete_stream(stream::iter(paths).boxed())
                        .collect()
                        .await;
                    if let Some(logger) = &logger {
                        let deleted = answers.iter().filter(|r| r.is_ok()).count();
                        let keys = crate::render::text::count_text(keys, "key");
                        let status = match answers.iter().find_map(|r| r.as_ref().err()) {
                            Some(e) if deleted == 0 => {
                                format!("{} ({keys}, none deleted)", status_of(e))
                            }
                            _ => format!("200 ({keys}, {deleted} deleted)"),
                        };
                        logger(&RequestRecord {
                            method: "POST (delete)",
                            key: first,
                            status,
                            bytes: 0,
                            millis: t0.elapsed().as_millis(),
                        });
                    }
                    results.extend(answers);
                    stream::iter(results)
                }
            })
            .buffered(DELETES_IN_FLIGHT)
            .flatten()
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let inner = self.inner.list(prefix);
        self.counted_list(prefix, inner)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let inner = self.inner.list_with_offset(prefix, offset);
        self.counted_list(prefix, inner)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let t0 = self.start();
        let r = self.inner.list_with_delimiter(prefix).await;
        if let Ok(listed) = &r {
            let entries = (listed.objects.len() + listed.common_prefixes.len()) as u64;
            self.count.requests(extra_pages(self.page_size, entries));
        }
        self.log_result(
            "LIST (delimited)",
            prefix.map_or("", |p| p.as_ref()),
            t0,
            &r,
        );
        r
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let t0 = self.start();
        let r = self.inner.copy_opts(from, to, options).await;
        self.log_result("COPY", from.as_ref(), t0, &r);
        r
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let t0 = self.start();
        let r = self.inner.rename_opts(from, to, options).await;
        self.log_result("RENAME", from.as_ref(), t0, &r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;
    use std::sync::Mutex;

    #[tokio::test]
    async fn counts_requests_and_bytes_and_logs_each() {
        let mem = InMemory::new();
        mem.put(
            &Path::from("s/.zmetadata"),
            PutPayload::from_static(b"{\"a\":1}"),
        )
        .await
        .unwrap();
        let stats = Arc::new(RequestStats::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let logger: RequestLogger = Arc::new(move |r| sink.lock().unwrap().push(r.clone()));
        let store = InstrumentedStore::new(mem, Arc::clone(&stats), Some(logger));

        let body = store
            .get(&Path::from("s/.zmetadata"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&body[..], b"{\"a\":1}");
        assert!(store.get(&Path::from("s/zarr.json")).await.is_err());

        assert_eq!(stats.requests(), 2);
        assert_eq!(stats.bytes(), 7);
        let log = seen.lock().unwrap();
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[0].key.as_str(), log[0].status.as_str(), log[0].bytes),
            ("s/.zmetadata", "200", 7)
        );
        assert_eq!(
            (log[1].key.as_str(), log[1].status.as_str()),
            ("s/zarr.json", "404")
        );
    }

    #[tokio::test]
    async fn ranged_reads_count_one_request_per_coalesced_range() {
        let mem = InMemory::new();
        let body = vec![7u8; 4 * 1024 * 1024];
        mem.put(&Path::from("o"), PutPayload::from(body))
            .await
            .unwrap();
        let stats = Arc::new(RequestStats::default());
        let store = InstrumentedStore::new(mem, Arc::clone(&stats), None);
        // Two ranges close together, one far away: two GETs.
        let parts = store
            .get_ranges(&Path::from("o"), &[0..10, 20..30, 3_000_000..3_000_010])
            .await
            .unwrap();
        assert_eq!(
            parts.iter().map(Bytes::len).collect::<Vec<_>>(),
            [10, 10, 10]
        );
        assert_eq!(stats.requests(), 2);
        assert_eq!(stats.bytes(), 40);
    }

    #[tokio::test]
    async fn counted_below_counts_bytes_and_leaves_every_request_to_the_http_layer() {
        let mem = InMemory::new();
        for key in ["s/a", "s/b", "s/c"] {
            mem.put(&Path::from(key), PutPayload::from_static(b"1234567"))
                .await
                .unwrap();
        }
        let stats = Arc::new(RequestStats::default());
        let store = InstrumentedStore::new(mem, Arc::clone(&stats), None)
            .counted_below()
            .with_page_size(1)
            .with_delete_batch(2);
        let body = store.get(&Path::from("s/a")).await.unwrap().bytes().await;
        assert_eq!(body.unwrap().len(), 7);
        let listed: Vec<_> = store.list(Some(&Path::from("s"))).collect().await;
        assert_eq!(listed.len(), 3);
        let mut upload = store.put_multipart(&Path::from("s/d")).await.unwrap();
        upload
            .put_part(PutPayload::from_static(b"z"))
            .await
            .unwrap();
        upload.complete().await.unwrap();
        let keys = ["s/a", "s/b", "s/c"].map(|k| Ok(Path::from(k)));
        let deleted: Vec<_> = store
            .delete_stream(stream::iter(keys).boxed())
            .collect()
            .await;
        assert_eq!(deleted.len(), 3);
        assert_eq!(stats.requests(), 0, "the HTTP layer counts these");
        assert_eq!(stats.bytes(), 7);
    }

    #[tokio::test]
    async fn a_batch_delete_counts_one_request_per_batch() {
        let mem = InMemory::new();
        let keys: Vec<Path> = (0..5).map(|i| Path::from(format!("k{i}"))).collect();
        for key in &keys {
            mem.put(key, PutPayload::from_static(b"z")).await.unwrap();
        }
        let stats = Arc::new(RequestStats::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let logger: RequestLogger = Arc::new(move |r| sink.lock().unwrap().push(r.clone()));
        let store =
            InstrumentedStore::new(mem, Arc::clone(&stats), Some(logger)).with_delete_batch(2);
        let deleted: Vec<_> = store
            .delete_stream(stream::iter(keys.into_iter().map(Ok)).boxed())
            .collect()
            .await;
        assert_eq!(deleted.iter().filter(|r| r.is_ok()).count(), 5);
        assert_eq!(stats.requests(), 3, "batches of 2, 2 and 1");
        let log = seen.lock().unwrap();
        let statuses: Vec<&str> = log.iter().map(|r| r.status.as_str()).collect();
        assert_eq!(
            statuses,
            [
                "200 (2 keys, 2 deleted)",
                "200 (2 keys, 2 deleted)",
                "200 (1 key, 1 deleted)"
            ]
        );
    }
}
