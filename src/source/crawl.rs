//! The crawl: a store's tree from its per-node metadata (v2 `.zgroup`,
//! `.zarray`, `.zattrs`; v3 `zarr.json`), for stores without consolidated
//! metadata or to check it. Still through the metadata-only guard.
//!
//! Every request is a job in one queue, run with a bound on how many are in
//! flight: an AIMD [`Limiter`] that starts at [`START_CONCURRENCY`], grows
//! while the store answers and is cut by about half (with jitter) when it
//! throttles, never past `--concurrency` ([`CrawlOptions::concurrency`]).
//! It sees every 503/429 through the command's counters, retried attempts
//! included, so a throttling store slows the crawl down before the retries
//! run out. A node's documents are fetched as soon as its directory is known;
//! a directory is listed (with a delimiter) once it is known not to be an
//! array — listing an array would enumerate its chunks. The root is listed
//! at once, in parallel with its documents (the listing is dropped if the
//! root is an array). So the wall time grows with the depth, not with the
//! number of nodes.
//!
//! v2 directories are asked for `.zarray` and `.zattrs` at once (an array
//! costs one round trip of two GETs); only one without `.zarray` (chunks
//! live only in arrays) is then listed. Whether it is a group (has a
//! `.zgroup`) the listing says: the `.zgroup` itself, always
//! `{"zarr_format": 2}` for the tree, is read only when the documents are
//! wanted ([`crawl`], [`crawl_seeded`]: `consolidate`, `check`), at once
//! with the listing; [`tree_only`] does without. Once the format is known no other format's
//! documents are requested; there is never a HEAD before a GET.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use futures::future::{BoxFuture, Either};
use futures::stream::{FuturesUnordered, StreamExt};
use object_store::UpdateVersion;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::hierarchy::Hierarchy;
use crate::keys::{join, relative};
use crate::metadata::{self, Attributes, NodeDoc, NodeKind, json};
use crate::progress::Progress;
use crate::store::StoreHandle;
use crate::store::limiter::{Limiter, ThrottleWatch};

use super::{Got, KeySet, access_denied, chunk_key_error, draft_v3, draft_v3_error, refused_error};

/// The keys this source reads.
pub const KEYS: KeySet = super::ZARR_KEYS;

/// The default ceiling on requests in flight (`--concurrency`): at the
/// 20–30 ms of a GET within an AWS region, about the 5,500 GETs a second S3
/// serves per prefix before it answers SlowDown; and half of macOS's
/// default limit of 256 open files (one connection per request in flight).
pub const DEFAULT_CONCURRENCY: usize = 128;
/// Requests in flight when a crawl starts, before the limiter has seen the
/// store answer (at most the ceiling): half the ceiling, so a store that
/// throttles at the per-prefix rate is not hit at full width at once, and
/// the limiter reaches the ceiling after one round trip at full use.
pub const START_CONCURRENCY: usize = 64;
pub const DEFAULT_MAX_REQUESTS: u64 = 10_000;

#[derive(Clone)]
pub struct CrawlOptions {
    /// Most requests in flight at once (at least 1): the limiter's ceiling.
    pub concurrency: usize,
    /// Stop issuing requests after this many; the result is then incomplete.
    pub max_requests: u64,
    pub progress: Progress,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            max_requests: DEFAULT_MAX_REQUESTS,
            progress: Progress::hidden(),
        }
    }
}

/// What a crawl read.
pub struct Crawled {
    pub hierarchy: Hierarchy,
    /// Every metadata document read, by key relative to the store root
    /// (`.zgroup`, `a/.zarray`, `a/zarr.json`, ...) — for `consolidate`
    /// (nested `.zgroup`s not from [`tree_only`]).
    pub documents: BTreeMap<String, Document>,
}

/// One metadata document as read.
#[derive(Debug, Clone)]
pub struct Document {
    /// The bytes as stored (kept so a rewrite can copy them exactly).
    pub raw: bytes::Bytes,
    pub value: Value,
    /// The ETag and version (GCS's generation) it was read at, which a
    /// rewrite is conditioned on.
    pub version: UpdateVersion,
}

/// One request of the crawl.
enum Job {
    Get { dir: String, name: &'static str },
    List { dir: String },
}

impl Outcome {
    /// The request ended in an error (absent documents are answers).
    fn failed(&self) -> bool {
        match self {
            Outcome::Doc { doc, .. } => doc.is_err(),
            Outcome::Listed { children, .. } => children.is_err(),
        }
    }
}

enum Outcome {
    Doc {
        dir: String,
        name: &'static str,
        doc: Result<Option<Document>>,
    },
    Listed {
        dir: String,
        children: Listed,
    },
}

/// What one delimited listing of a directory shows.
struct DirListing {
    /// Child directories (store-relative).
    children: Vec<String>,
    /// A `.zgroup` sits in the directory.
    zgroup: bool,
}

/// A directory's listing, or why not.
type Listed = std::result::Result<DirListing, ListFailure>;

enum ListFailure {
    /// The listing was refused (403): every other listing of the store
    /// would be too, so the crawl cannot find the nodes and stops.
    Refused(Error),
    /// This listing failed; the crawl goes on without its children.
    Failed(Error),
}

/// What is known of one v2 directory (outer `None`: not answered yet).
#[derive(Default)]
struct V2Dir {
    zarray: Option<Option<Bytes>>,
    zattrs: Option<Option<Bytes>>,
    /// Whether a `.zgroup` exists.
    zgroup: Option<bool>,
    children: Option<Vec<String>>,
}

/// A document's bytes, parsed (`url` for the message).
fn document(url: &str, raw: Bytes, version: UpdateVersion) -> Result<Document> {
    json::parse(&raw)
        .map(|value| Document {
            raw,
            value,
            version,
        })
        .map_err(|e| {
            Error::of_kind(
                ErrorKind::InvalidMetadata,
                format!(
                    "{url} is not valid JSON at line {}, column {}: {}",
                    e.line, e.column, e.message
                ),
            )
        })
}

/// GET one document: `Ok(None)` when absent (404, or a 403 that may mean
/// "no such key").
async fn fetch(ms: &StoreHandle, key: &str) -> Result<Option<Document>> {
    fetch_noting_refusal(ms, key).await.map(|(doc, _)| doc)
}

/// [`fetch`], and whether an absent document answered 403.
async fn fetch_noting_refusal(ms: &StoreHandle, key: &str) -> Result<(Option<Document>, bool)> {
    let url = ms.location.url_of(&ms.location.key(key));
    let path = ms.path(key)?;
    match super::get(ms, &path).await {
        Ok(Got::Found { raw, version }) => document(&url, raw, version).map(|d| (Some(d), false)),
        Ok(Got::Absent { forbidden, .. }) => Ok((None, forbidden)),
        Err(e) => Err(ms.explain_url(&url, &e)),
    }
}

/// Child directories of `dir` (store-relative), by one delimited listing.
async fn list(ms: &StoreHandle, dir: &str) -> Listed {
    let key = match dir {
        "" => ms.location.prefix.clone(),
        dir => ms.location.key(dir),
    };
    match crate::store::listing::list_keys(ms, &key, true).await {
        Ok(listed) => Ok(DirListing {
            children: listed
                .directories
                .iter()
                .map(|p| join(dir, relative(p, &key)))
                .collect(),
            zgroup: listed
                .objects
                .iter()
                .any(|o| relative(&o.key, &key) == ".zgroup"),
        }),
        Err(e) if access_denied(ms, &e) => Err(ListFailure::Refused(listing_refused(ms, &key))),
        Err(e) => Err(ListFailure::Failed(
            ms.explain_url(&ms.location.url_of(&key), &e),
        )),
    }
}

/// A crawl cannot find nodes without listing: say which permission that takes.
fn listing_refused(ms: &StoreHandle, key: &str) -> Error {
    let (_, permission) = ms.permissions();
    let url = &ms.location.url;
    Error::new(format!(
        "listing {}/ was refused (403) for {}: {url} has no consolidated metadata, so its nodes can only be found by listing each group",
        ms.location.url_of(key),
        ms.credential_source
    ))
    .with_hint(ms.hint_for_403(format!(
        "reading it needs {permission} (ask its owner); or have its metadata consolidated by someone who may list it (`{}`, or zarr.consolidate_metadata): then one GET reads the tree, without listing",
        ms.command(&format!("consolidate {url} --yes"))
    )))
    .with_kind(ErrorKind::AccessDenied)
}

struct Crawler<'a> {
    ms: &'a StoreHandle,
    options: &'a CrawlOptions,
    /// Read nested groups' `.zgroup` (for [`Crawled::documents`]); without,
    /// a listing that shows one is enough to know the group.
    group_documents: bool,
    v3: bool,
    queue: VecDeque<Job>,
    v2: BTreeMap<String, V2Dir>,
    nodes: Vec<NodeDoc>,
    documents: BTreeMap<String, Document>,
    warnings: Vec<String>,
    /// Directories without metadata of their own (not nodes).
    skipped: Vec<String>,
    complete: bool,
    /// A refused listing: the crawl stops with it.
    refused: Option<Error>,
}

impl<'a> Crawler<'a> {
    fn get(&mut self, dir: &str, name: &'static str) {
        self.queue.push_back(Job::Get {
            dir: dir.to_string(),
            name,
        });
    }

    fn children_found(&mut self, children: Vec<String>) {
        for child in children {
            if self.v3 {
                self.get(&child, "zarr.json");
            } else {
                self.get(&child, ".zarray");
                self.get(&child, ".zattrs");
            }
        }
    }

    fn start(&self, job: Job) -> BoxFuture<'a, Outcome> {
        let ms = self.ms;
        match job {
            Job::Get { dir, name } => Box::pin(async move {
                let doc = fetch(ms, &join(&dir, name)).await;
                Outcome::Doc { dir, name, doc }
            }),
            Job::List { dir } => Box::pin(async move {
                let children = list(ms, &dir).await;
                Outcome::Listed { dir, children }
            }),
        }
    }

    fn failed(&mut self, e: Error) {
        self.warnings.push(e.to_string());
        self.complete = false;
    }

    fn handle(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Listed { dir, children } => match children {
                Err(ListFailure::Failed(message)) => self.failed(message),
                Err(ListFailure::Refused(e)) => {
                    self.refused.get_or_insert(e);
                }
                Ok(listed) if self.v3 => self.children_found(listed.children),
                Ok(listed) => {
                    let entry = self.v2.entry(dir.clone()).or_default();
                    entry.children = Some(listed.children);
                    if !self.group_documents {
                        entry.zgroup.get_or_insert(listed.zgroup);
                    }
                    self.resolve_v2(&dir);
                }
            },
            Outcome::Doc { dir, name, doc } => {
                let doc = match doc {
                    Ok(doc) => doc,
                    Err(message) => {
                        self.failed(message);
                        None
                    }
                };
                let doc = doc.map(|d| {
                    let raw = d.raw.clone();
                    self.documents.insert(join(&dir, name), d);
                    raw
                });
                if self.v3 {
                    self.v3_doc(&dir, doc);
                    return;
                }
                let entry = self.v2.entry(dir.clone()).or_default();
                match name {
                    ".zarray" => entry.zarray = Some(doc),
                    ".zattrs" => entry.zattrs = Some(doc),
                    _ => entry.zgroup = Some(doc.is_some()),
                }
                self.resolve_v2(&dir);
            }
        }
    }

    fn v3_doc(&mut self, dir: &str, doc: Option<Bytes>) {
        let Some(doc) = doc else {
            self.skipped.push(dir.to_string());
            return;
        };
        // A nested group's own consolidated block is not read here.
        let node = match metadata::v3::node(dir.to_string(), &doc) {
            Ok(node) => node,
            Err(reason) => {
                self.warnings
                    .push(format!("/{dir}/zarr.json: {reason}; skipped"));
                return;
            }
        };
        let is_group = node.kind == NodeKind::Group;
        self.nodes.push(node);
        if is_group {
            self.queue.push_back(Job::List {
                dir: dir.to_string(),
            });
        }
    }

    /// Decide a v2 directory once enough has answered.
    fn resolve_v2(&mut self, dir: &str) {
        let Some(entry) = self.v2.get_mut(dir) else {
            return;
        };
        let (Some(zarray), Some(zattrs)) = (&entry.zarray, &entry.zattrs) else {
            return;
        };
        let attributes = match zattrs {
            Some(raw) => Attributes::from_document(raw).unwrap_or_else(|reason| {
                self.warnings
                    .push(format!("/{dir}/.zattrs is {reason}; ignored"));
                Attributes::default()
            }),
            None => Attributes::default(),
        };
        if let Some(zarray) = zarray {
            self.nodes.push(NodeDoc {
                path: dir.to_string(),
                kind: metadata::v2::array_kind(zarray, &attributes),
                attributes,
            });
            self.v2.remove(dir);
            return;
        }
        // Not an array: a group if .zgroup exists; list the directory, and
        // ask for the .zgroup at once when its bytes are wanted (the root's
        // were asked for already). (Called again only when those answer.)
        if entry.zgroup.is_none() && entry.children.is_none() {
            let dir = dir.to_string();
            if self.group_documents {
                self.get(&dir, ".zgroup");
            }
            self.queue.push_back(Job::List { dir });
            return;
        }
        let (Some(zgroup), Some(children)) = (&entry.zgroup, &entry.children) else {
            return;
        };
        if !zgroup {
            self.skipped.push(dir.to_string());
            self.v2.remove(dir);
            return;
        }
        let children = children.clone();
        self.nodes.push(NodeDoc {
            path: dir.to_string(),
            attributes,
            kind: NodeKind::Group,
        });
        self.v2.remove(dir);
        self.children_found(children);
    }

    async fn run(mut self) -> Result<Crawled> {
        let mut in_flight = FuturesUnordered::new();
        let ceiling = self.options.concurrency.max(1);
        let mut limiter = Limiter::new(START_CONCURRENCY.min(ceiling), ceiling);
        let mut throttles = ThrottleWatch::new(&self.ms.stats);
        // Futures start when polled, so count requests as they are queued.
        let mut issued = self.ms.stats.requests();
        loop {
            while in_flight.len() < limiter.limit() {
                if issued >= self.options.max_requests {
                    break;
                }
                let Some(job) = self.queue.pop_front() else {
                    break;
                };
                issued += 1;
                in_flight.push(self.start(job));
            }
            let Some(outcome) = in_flight.next().await else {
                break;
            };
            // In flight when it answered, itself included.
            let busy = in_flight.len() + 1;
            if throttles.throttled_since() {
                limiter.throttled(busy);
                limiter.failed();
            } else if outcome.failed() {
                limiter.failed();
            } else {
                limiter.succeeded(busy);
            }
            self.handle(outcome);
            if let Some(refused) = self.refused.take() {
                self.options.progress.finish();
                return Err(refused);
            }
            self.options.progress.message(format!(
                "crawl: {} nodes, {} requests, {} bytes",
                self.nodes.len(),
                self.ms.stats.requests(),
                self.ms.stats.bytes()
            ));
        }
        if !self.queue.is_empty() {
            self.complete = false;
            self.warnings.push(format!(
                "the crawl stopped at the request cap (--max-requests {}): {} requests were not made, so nodes may be missing",
                self.options.max_requests,
                self.queue.len()
            ));
        }
        self.options.progress.finish();
        if !self.skipped.is_empty() {
            self.skipped.sort();
            let shown: Vec<String> = self
                .skipped
                .iter()
                .take(5)
                .map(|d| format!("/{d}"))
                .collect();
            self.warnings.push(format!(
                "{} director{} without Zarr metadata of {} own skipped: {}{}",
                self.skipped.len(),
                if self.skipped.len() == 1 { "y" } else { "ies" },
                if self.skipped.len() == 1 {
                    "its"
                } else {
                    "their"
                },
                shown.join(", "),
                if self.skipped.len() > 5 { ", …" } else { "" }
            ));
        }
        let mut hierarchy = Hierarchy::new(
            self.ms.location.url.clone(),
            if self.v3 { 3 } else { 2 },
            false,
            self.nodes,
            self.warnings,
        );
        hierarchy.complete = self.complete;
        hierarchy.crawled = true;
        Ok(Crawled {
            hierarchy,
            documents: self.documents,
        })
    }
}

/// The root's documents, already fetched by the consolidated-metadata
/// probes ([`super::detect`]) of a location known to be a group, so the
/// crawl that follows does not ask for them again. The probes keep no ETag:
/// a seeded crawl is for reading, never for `consolidate`'s conditional write.
pub struct Seed {
    zarr_json: Result<Option<Document>>,
    zgroup: Result<Option<Document>>,
    zattrs: Result<Option<Document>>,
    /// The root's child directories (store-relative), when a complete
    /// listing of the root was already made (`find`): not listed again.
    children: Option<Vec<String>>,
}

impl Seed {
    /// From the bodies the probes read (`Ok(None)`: absent).
    pub fn new(
        ms: &StoreHandle,
        zarr_json: Result<Option<Bytes>>,
        zgroup: Result<Option<Bytes>>,
        zattrs: Result<Option<Bytes>>,
    ) -> Self {
        let doc = |name: &str, body: Result<Option<Bytes>>| match body {
            Ok(Some(raw)) => {
                let unknown = UpdateVersion {
                    e_tag: None,
                    version: None,
                };
                document(&ms.location.url_of(&ms.location.key(name)), raw, unknown).map(Some)
            }
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        Self {
            zarr_json: doc("zarr.json", zarr_json),
            zgroup: doc(".zgroup", zgroup),
            zattrs: doc(".zattrs", zattrs),
            children: None,
        }
    }

    /// The root's child directories, from a complete listing already made.
    pub fn with_children(mut self, children: Vec<String>) -> Self {
        self.children = Some(children);
        self
    }
}

/// Crawl the store at `ms.location`.
pub async fn crawl(ms: &StoreHandle, options: &CrawlOptions) -> Result<Crawled> {
    crawl_seeded(ms, options, None).await
}

/// Crawl the store at `ms.location`, starting from the root documents in
/// `seed` when the probes already read them: then only the root's listing
/// is new, and it waits in the queue like every other request (the cap
/// counts the probes too).
pub async fn crawl_seeded(
    ms: &StoreHandle,
    options: &CrawlOptions,
    seed: Option<Seed>,
) -> Result<Crawled> {
    crawl_reading(ms, options, seed, true).await
}

/// [`crawl_seeded`] for the tree alone: a nested v2 group is known from
/// the listing that shows its `.zgroup`, which is not read (one request
/// less per group); [`Crawled::documents`] then lacks those `.zgroup`s, so
/// it is not for `consolidate`.
pub async fn tree_only(
    ms: &StoreHandle,
    options: &CrawlOptions,
    seed: Option<Seed>,
) -> Result<Crawled> {
    crawl_reading(ms, options, seed, false).await
}

async fn crawl_reading(
    ms: &StoreHandle,
    options: &CrawlOptions,
    seed: Option<Seed>,
    group_documents: bool,
) -> Result<Crawled> {
    let url = ms.location.url.clone();
    // The message as it was (its own hint included), and what to check.
    let root_error =
        |e: Error| Error::of_kind(e.kind(), e.to_string()).with_hint("check the URL and access");
    let seeded = seed.is_some();
    let mut seed_children = None;
    let ((v3, zgroup, zattrs), pending_listing) = match seed {
        Some(seed) => {
            seed_children = seed.children;
            ((seed.zarr_json, seed.zgroup, seed.zattrs), None)
        }
        None => {
            let (docs, listing) = root_documents(ms, options).await;
            (docs, Some(listing))
        }
    };
    let (v3, zgroup) = (v3.map_err(root_error)?, zgroup.map_err(root_error)?);
    if let Some(doc) = &v3
        && let Some(format) = draft_v3(&doc.value)
    {
        return Err(draft_v3_error(&url, format));
    }
    let mut crawler = Crawler {
        ms,
        options,
        group_documents,
        v3: v3.is_some(),
        queue: VecDeque::new(),
        v2: BTreeMap::new(),
        nodes: Vec::new(),
        documents: BTreeMap::new(),
        warnings: Vec::new(),
        skipped: Vec::new(),
        complete: true,
        refused: None,
    };
    let is_group = match (&v3, &zgroup) {
        (Some(doc), _) => doc.value.get("node_type").and_then(Value::as_str) == Some("group"),
        (None, Some(_)) => true,
        (None, None) => false,
    };
    if v3.is_none() && zgroup.is_none() {
        // Perhaps a lone v2 array.
        drop(pending_listing);
        let (zarray, refused) = fetch_noting_refusal(ms, ".zarray")
            .await
            .map_err(root_error)?;
        if zarray.is_none() {
            if let Some(array_url) = super::enclosing_array_url(ms).await {
                return Err(chunk_key_error(&url, &array_url, "/"));
            }
            if refused {
                return Err(refused_error(ms, "zarr.json, .zgroup, .zarray"));
            }
            return Err(Error::new(format!(
                "no Zarr metadata at {url} (no zarr.json, .zgroup or .zarray)"
            ))
            .with_hint(format!(
                "point at a store's root, group or array; `{}` shows what is there",
                ms.command(&format!("ls {url}/"))
            )));
        }
        crawler.handle(Outcome::Doc {
            dir: String::new(),
            name: ".zattrs",
            doc: zattrs,
        });
        crawler.handle(Outcome::Doc {
            dir: String::new(),
            name: ".zarray",
            doc: Ok(zarray),
        });
        return crawler.run().await;
    }
    let children = match pending_listing {
        Some(listing) if is_group => Some(match listing {
            Either::Left(listing) => listing.await,
            Either::Right(listed) => listed,
        }),
        _ => None,
    };
    if let Some(doc) = v3 {
        // The root's listing is already under way (or queued): its node only.
        match metadata::v3::node(String::new(), &doc.raw) {
            Ok(node) => crawler.nodes.push(node),
            Err(reason) => crawler.warnings.push(format!("{url}/zarr.json: {reason}")),
        }
        crawler.documents.insert("zarr.json".into(), doc);
    } else {
        let zgroup = zgroup.map(|g| {
            let raw = g.raw.clone();
            crawler.documents.insert(".zgroup".into(), g);
            raw
        });
        let entry = crawler.v2.entry(String::new()).or_default();
        entry.zarray = Some(None);
        entry.zgroup = Some(zgroup.is_some());
        crawler.handle(Outcome::Doc {
            dir: String::new(),
            name: ".zattrs",
            doc: zattrs,
        });
    }
    if let Some(children) = children {
        let children = children.map_err(|failure| match failure {
            ListFailure::Refused(e) => e,
            ListFailure::Failed(message) => root_error(message),
        })?;
        crawler.handle(Outcome::Listed {
            dir: String::new(),
            children: Ok(children),
        });
    } else if seeded && is_group {
        match seed_children {
            // The root's own `.zgroup` is known already (the seed's).
            Some(children) => crawler.handle(Outcome::Listed {
                dir: String::new(),
                children: Ok(DirListing {
                    children,
                    zgroup: false,
                }),
            }),
            None => crawler.queue.push_back(Job::List { dir: String::new() }),
        }
    }
    crawler.run().await
}

type RootDocs = (
    Result<Option<Document>>,
    Result<Option<Document>>,
    Result<Option<Document>>,
);

/// The root's format documents and its listing at once; the listing is kept
/// (still pending, or done) only if the root turns out to be a group.
async fn root_documents<'a>(
    ms: &'a StoreHandle,
    options: &CrawlOptions,
) -> (RootDocs, Either<BoxFuture<'a, Listed>, Listed>) {
    let docs = Box::pin(async {
        if options.concurrency >= 4 {
            futures::join!(
                fetch(ms, "zarr.json"),
                fetch(ms, ".zgroup"),
                fetch(ms, ".zattrs")
            )
        } else {
            (
                fetch(ms, "zarr.json").await,
                fetch(ms, ".zgroup").await,
                fetch(ms, ".zattrs").await,
            )
        }
    });
    let listing: BoxFuture<'a, Listed> = Box::pin(list(ms, ""));
    if options.concurrency >= 4 {
        match futures::future::select(docs, listing).await {
            Either::Left((docs, listing)) => (docs, Either::Left(listing)),
            Either::Right((listed, docs)) => (docs.await, Either::Right(listed)),
        }
    } else {
        // Within a tight bound: the documents first, the listing after.
        (docs.await, Either::Left(listing))
    }
}
