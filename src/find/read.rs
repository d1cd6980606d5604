//! Reading one dataset found by the walk, with what its listing showed so
//! that nothing is probed: the document the listing named is the one GET.
//! Every parser is the sources' own ([`crate::source`]).

use bytes::Bytes;

use super::classify::{Found, Plan};
use crate::compare::compare;
use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::inventory::{DatasetKind, Metadata, Summary};
use crate::metadata::{self, Attributes, NodeDoc};
use crate::source::consolidated::{Root, root_document};
use crate::source::crawl::{self, CrawlOptions, Seed};
use crate::source::{Got, icechunk, reference};
use crate::store::StoreHandle;
use crate::store::listing::ObjectInfo;

/// What reading a dataset's first document led to.
pub enum Next {
    Done(Read),
    /// A group without consolidated metadata: crawl it.
    Crawl(Box<CrawlPlan>),
    /// `--check` of consolidated metadata: crawl and compare.
    Check(Box<CheckPlan>),
}

/// A dataset read: its line, and the warnings its tree carried.
pub struct Read {
    pub summary: Summary,
    pub warnings: Vec<String>,
    /// Whether reading it stopped at the request cap (not a broken dataset).
    pub capped: bool,
}

impl Read {
    fn of(kind: DatasetKind, h: &Hierarchy, url: &str, last_modified: Option<String>) -> Read {
        let mut summary = Summary::of(kind, h);
        summary.url = url.to_string();
        summary.last_modified = last_modified;
        Read {
            summary,
            warnings: h.warnings.clone(),
            capped: false,
        }
    }

    /// A dataset that could not be read: what the listing showed, and why.
    pub fn failed(
        url: String,
        kind: DatasetKind,
        last_modified: Option<String>,
        e: &Error,
    ) -> Read {
        let mut summary = Summary::unread(url, kind);
        summary.last_modified = last_modified;
        summary.error = Some(e.message().to_string());
        Read {
            summary,
            warnings: Vec::new(),
            capped: false,
        }
    }

    /// A dataset found but not read: the request cap was reached first.
    pub fn not_read(url: String, kind: DatasetKind, last_modified: Option<String>) -> Read {
        let mut summary = Summary::unread(url, kind);
        summary.last_modified = last_modified;
        Read {
            summary,
            warnings: Vec::new(),
            capped: true,
        }
    }
}

/// A crawl still to make (an unconsolidated group).
pub struct CrawlPlan {
    pub prefix: String,
    pub last_modified: Option<String>,
    /// v3: the root `zarr.json` already read.
    pub zarr_json: Option<Bytes>,
    /// v2: whether `.zattrs` was listed beside `.zgroup`.
    pub zattrs: bool,
    pub children: Option<Vec<String>>,
}

/// A `--check` crawl still to make: the tree read from consolidated
/// metadata, and its line so far.
pub struct CheckPlan {
    pub prefix: String,
    pub consolidated: Hierarchy,
    pub read: Read,
}

/// The kind a plan reads (before its document says more).
pub fn kind_of(plan: &Plan) -> DatasetKind {
    match plan {
        Plan::Icechunk { .. } => DatasetKind::Icechunk,
        _ => DatasetKind::Zarr,
    }
}

/// Read the dataset `found` through `ms` (located at it).
pub async fn read(ms: &StoreHandle, found: &Found, check: bool, width: usize) -> Next {
    let url = ms.location.url.clone();
    let last_modified = found.last_modified.clone();
    let kind = kind_of(&found.plan);
    let failed = |e: Error| Next::Done(Read::failed(url.clone(), kind, last_modified.clone(), &e));
    match &found.plan {
        Plan::ZarrJson | Plan::ZMetadata(_) => {
            let key = match &found.plan {
                Plan::ZMetadata(key) => key,
                _ => "zarr.json",
            };
            let bytes = match get(ms, key).await {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return failed(gone(&url, key)),
                Err(e) => return failed(e),
            };
            if key != "zarr.json"
                && let Some(references) = reference::parquet_directory(&url, &bytes)
            {
                return match references.and_then(|r| r.hierarchy()) {
                    Ok(h) => Next::Done(Read::of(
                        DatasetKind::KerchunkParquet,
                        &h,
                        &url,
                        last_modified,
                    )),
                    Err(e) => Next::Done(Read::failed(
                        url.clone(),
                        DatasetKind::KerchunkParquet,
                        last_modified,
                        &e,
                    )),
                };
            }
            match root_document(&url, key, &bytes) {
                Ok(Root::Consolidated(h)) => {
                    let read = Read::of(DatasetKind::Zarr, &h, &url, last_modified);
                    if check {
                        return Next::Check(Box::new(CheckPlan {
                            prefix: found.prefix.clone(),
                            consolidated: h,
                            read,
                        }));
                    }
                    Next::Done(read)
                }
                Ok(Root::Array(h)) => {
                    Next::Done(Read::of(DatasetKind::Zarr, &h, &url, last_modified))
                }
                Ok(Root::Group(_)) => Next::Crawl(Box::new(CrawlPlan {
                    prefix: found.prefix.clone(),
                    last_modified,
                    zarr_json: Some(bytes),
                    zattrs: false,
                    children: found.children.clone(),
                })),
                Err(e) => failed(e),
            }
        }
        Plan::LoneArrayV2 { zattrs } => match lone_array(ms, *zattrs, width).await {
            Ok(h) => Next::Done(Read::of(DatasetKind::Zarr, &h, &url, last_modified)),
            Err(e) => failed(e),
        },
        Plan::GroupV2 { zattrs } => Next::Crawl(Box::new(CrawlPlan {
            prefix: found.prefix.clone(),
            last_modified,
            zarr_json: None,
            zattrs: *zattrs,
            children: found.children.clone(),
        })),
        Plan::Icechunk { repo } => match repository(ms, *repo).await {
            Ok((h, written)) => Next::Done(Read::of(
                DatasetKind::Icechunk,
                &h,
                &url,
                Some(written).or(last_modified),
            )),
            Err(e) => failed(e),
        },
    }
}

/// A document the listing showed is gone (deleted in between).
fn gone(url: &str, key: &str) -> Error {
    Error::new(format!(
        "{url}/{key} was listed but is gone (deleted since, or not readable)"
    ))
}

/// Two requests at once, or one after the other within a bound of one.
async fn both<A, B>(
    width: usize,
    a: impl std::future::Future<Output = A>,
    b: impl std::future::Future<Output = B>,
) -> (A, B) {
    if width >= 2 {
        futures::join!(a, b)
    } else {
        let a = a.await;
        (a, b.await)
    }
}

/// GET `key` (relative to the dataset): `None` when absent.
async fn get(ms: &StoreHandle, key: &str) -> Result<Option<Bytes>> {
    let path = ms.path(key)?;
    match crate::source::get(ms, &path).await {
        Ok(Got::Found { raw, .. }) => Ok(Some(raw)),
        Ok(Got::Absent { .. }) => Ok(None),
        Err(e) => Err(ms.explain(key, &e)),
    }
}

/// A lone v2 array: `.zarray` (and `.zattrs`) are its complete metadata.
async fn lone_array(ms: &StoreHandle, zattrs: bool, width: usize) -> Result<Hierarchy> {
    let url = &ms.location.url;
    let (zarray, attrs) = both(width, get(ms, ".zarray"), async {
        if zattrs {
            get(ms, ".zattrs").await
        } else {
            Ok(None)
        }
    })
    .await;
    let zarray = zarray?.ok_or_else(|| gone(url, ".zarray"))?;
    crate::metadata::json::parse(&zarray).map_err(|e| {
        Error::new(format!(
            "{url}/.zarray is not valid JSON at line {}, column {}: {}",
            e.line, e.column, e.message
        ))
    })?;
    let mut warnings = Vec::new();
    let attributes = match attrs? {
        Some(raw) => Attributes::from_document(&raw).unwrap_or_else(|reason| {
            warnings.push(format!("{url}/.zattrs is {reason}; ignored"));
            Attributes::default()
        }),
        None => Attributes::default(),
    };
    let node = NodeDoc {
        path: String::new(),
        kind: metadata::v2::array_kind(&zarray, &attributes),
        attributes,
    };
    Ok(Hierarchy::new(url.clone(), 2, false, vec![node], warnings))
}

/// An Icechunk repository's main branch: the one document the listing
/// showed (`repo`, else the main branch's ref), then its snapshot; and
/// when that snapshot was written.
async fn repository(ms: &StoreHandle, repo: bool) -> Result<(Hierarchy, String)> {
    let key = if repo {
        "repo"
    } else {
        "refs/branch.main/ref.json"
    };
    let full = ms.location.key(key);
    let store = ms.guarded(crate::store::guard::Policy::one_file(
        icechunk::repository::WHAT,
        full.clone(),
    ));
    let path = crate::keys::path(&full)?;
    let document = match crate::source::get_through(ms, store.as_ref(), &path).await {
        Ok(Got::Found { raw, .. }) => Some(raw),
        Ok(Got::Absent { .. }) => None,
        Err(e) => return Err(ms.explain(key, &e)),
    };
    let probed = if repo {
        icechunk::Probed {
            repo: document,
            ..Default::default()
        }
    } else {
        icechunk::Probed {
            main_ref: document,
            ..Default::default()
        }
    };
    if !probed.found() {
        return Err(Error::new(format!(
            "{} has snapshots/ but no {key}: not a readable Icechunk repository",
            ms.location.url
        ))
        .with_hint(
            "a repository without a main branch is read with URL@branch.NAME or URL@tag.NAME",
        ));
    }
    let (h, snapshot) = icechunk::read(ms, &icechunk::Version::main(), Some(probed)).await?;
    Ok((h, crate::store::listing::timestamp(&snapshot.written_at)))
}

/// Read the JSON reference set `object` (confirmed by its first bytes).
pub async fn reference_file(root: &StoreHandle, object: &ObjectInfo) -> Read {
    let ms = root.at(&object.key);
    let url = ms.location.url.clone();
    let last_modified = Some(object.last_modified.clone());
    match reference::read_json(&ms, reference::keep_none())
        .await
        .and_then(|r| r.hierarchy())
    {
        Ok(h) => Read::of(DatasetKind::KerchunkJson, &h, &url, last_modified),
        Err(e) => Read::failed(url, DatasetKind::KerchunkJson, last_modified, &e),
    }
}

/// Crawl an unconsolidated group, starting from what was read and listed,
/// with `concurrency` requests in flight and at most `max_requests` more.
pub async fn crawl_group(
    ms: &StoreHandle,
    plan: &CrawlPlan,
    concurrency: usize,
    max_requests: u64,
) -> Read {
    let url = ms.location.url.clone();
    let last_modified = plan.last_modified.clone();
    let failed = |e: Error| Read::failed(url.clone(), DatasetKind::Zarr, last_modified.clone(), &e);
    let base = ms.stats.requests();
    let seed = match &plan.zarr_json {
        Some(zarr_json) => Seed::new(ms, Ok(Some(zarr_json.clone())), Ok(None), Ok(None)),
        None => {
            let (zgroup, zattrs) = both(concurrency, get(ms, ".zgroup"), async {
                if plan.zattrs {
                    get(ms, ".zattrs").await
                } else {
                    Ok(None)
                }
            })
            .await;
            match zgroup {
                Ok(Some(zgroup)) => Seed::new(ms, Ok(None), Ok(Some(zgroup)), zattrs),
                Ok(None) => return failed(gone(&url, ".zgroup")),
                Err(e) => return failed(e),
            }
        }
    };
    let seed = match &plan.children {
        Some(children) => seed.with_children(children.clone()),
        None => seed,
    };
    let options = CrawlOptions {
        concurrency,
        max_requests: base.saturating_add(max_requests),
        progress: crate::progress::Progress::hidden(),
    };
    match crawl::crawl_seeded(ms, &options, Some(seed)).await {
        Ok(crawled) => {
            let mut read = Read::of(DatasetKind::Zarr, &crawled.hierarchy, &url, last_modified);
            read.capped =
                !crawled.hierarchy.complete && ms.stats.requests() >= options.max_requests;
            read
        }
        Err(e) => failed(e),
    }
}

/// `--check`: crawl a consolidated store and compare; `stale` when the
/// nodes differ from the consolidated metadata.
pub async fn check(
    ms: &StoreHandle,
    plan: CheckPlan,
    concurrency: usize,
    max_requests: u64,
) -> Read {
    let CheckPlan {
        consolidated,
        mut read,
        ..
    } = plan;
    let options = CrawlOptions {
        concurrency,
        max_requests: ms.stats.requests().saturating_add(max_requests),
        progress: crate::progress::Progress::hidden(),
    };
    match crawl::crawl(ms, &options).await {
        Ok(crawled) if crawled.hierarchy.complete => {
            if !compare(&consolidated, &crawled.hierarchy).is_empty() {
                read.summary.metadata = Some(Metadata::Stale);
                read.warnings.push(format!(
                    "the consolidated metadata of {} does not match its nodes (`{}` shows how)",
                    ms.location.url,
                    ms.command(&format!("check {}", ms.location.url))
                ));
            }
        }
        Ok(crawled) => {
            read.capped = ms.stats.requests() >= options.max_requests;
            read.warnings.push(format!(
                "{} was not checked: the crawl stopped before reading every node",
                ms.location.url
            ));
            read.warnings.extend(crawled.hierarchy.warnings);
        }
        Err(e) => read
            .warnings
            .push(format!("{} was not checked: {e}", ms.location.url)),
    }
    read
}
