//! Sources: the ways of reading a location's metadata, each turning it into
//! the same nodes for [`crate::hierarchy`].
//!
//! - [`consolidated`]: one document lists every node (v3 root `zarr.json`
//!   with `consolidated_metadata`, v2 `.zmetadata`);
//! - [`crawl`]: every node's own documents, found by listing each group.
//!
//! [`detect`] is the one place that decides which source a location is, from
//! the probes of its first round trip (no extra request); [`read_tree`] is
//! the seam the commands call. A source declares the keys it reads as a
//! [`KeySet`], and the guard's policy is built from that declaration.
//!
//! Adding a source: a new file here with its reader and its `KEYS`, a probe
//! and an arm in [`detect`], a variant in [`Opened`] if it needs one.

pub mod consolidated;
pub mod crawl;
mod detect;
pub mod icechunk;
pub mod reference;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStoreExt, UpdateVersion};

pub use crawl::CrawlOptions;
use detect::Probe;
pub use detect::{Opened, Unconsolidated, detect, enclosing_array_url};

use crate::error::{Error, ErrorKind, Result};
use crate::hierarchy::Hierarchy;
use crate::store::StoreHandle;
pub use crate::store::guard::KeySet;
use crate::store::guard::Policy;

/// The Zarr metadata documents (v2 and v3), and nothing else: what the
/// consolidated and crawl sources read.
pub const ZARR_KEYS: KeySet = KeySet {
    what: "Zarr metadata",
    names: &[
        ".zmetadata",
        "zmetadata",
        ".zgroup",
        ".zarray",
        ".zattrs",
        "zarr.json",
    ],
    prefixes: &[],
};

/// Whether `key` is a metadata document some source reads when looking at
/// a location: Zarr's (v2, v3), or the two documents that make an Icechunk
/// repository (its `repo` file, its main branch's ref). For tests and
/// checks of what a command asked for; the guard decides per read.
pub fn probed_metadata_key(key: &str) -> bool {
    ZARR_KEYS.contains(key)
        || key.rsplit('/').next() == Some("repo")
        || key.ends_with("refs/branch.main/ref.json")
}

/// What a location is opened with before [`detect`] knows its source: the
/// keys every source declares (today the Zarr ones; a new source adds its
/// `KEYS` here), no writes. Chunk keys stay refused whatever the source.
pub const POLICY: Policy = Policy::reading(ZARR_KEYS);

/// Which source `read_tree` may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Consolidated metadata where there is some, else a crawl (with a
    /// notice).
    Auto,
    /// A crawl even where consolidated metadata exists (`--crawl`).
    Crawl,
    /// Consolidated metadata or an error, never a crawl
    /// (`--consolidated-only`).
    ConsolidatedOnly,
}

/// What [`read_tree`] read.
pub struct Read {
    pub hierarchy: Hierarchy,
    /// For stderr (unredacted): how the tree was read when that cost more
    /// than the user may expect.
    pub notice: Option<String>,
}

/// The tree at the store's location: from consolidated metadata where there
/// is some, else (unless [`Choice::ConsolidatedOnly`]) from every node's own
/// documents, starting from those the probes already read, with a notice;
/// with [`Choice::Crawl`] from every node's own documents.
pub async fn read_tree(ms: &StoreHandle, choice: Choice, options: &CrawlOptions) -> Result<Read> {
    if choice == Choice::Crawl {
        let hierarchy = crawl::tree_only(ms, options, None).await?.hierarchy;
        return Ok(Read {
            hierarchy,
            notice: None,
        });
    }
    let unconsolidated = match detect(ms).await? {
        Opened::Tree(hierarchy) => {
            return Ok(Read {
                hierarchy,
                notice: None,
            });
        }
        Opened::Unconsolidated(u) => *u,
    };
    if choice == Choice::ConsolidatedOnly {
        return Err(unconsolidated.error);
    }
    let probes = ms.stats.requests();
    let crawled = crawl::tree_only(ms, options, Some(unconsolidated.seed)).await?;
    let mut h = crawled.hierarchy;
    h.warnings.splice(0..0, unconsolidated.warnings);
    let url = &ms.location.url;
    let notice = format!(
        "note: {url} has no consolidated metadata, so its {} nodes were read one by one ({} requests after {probes} probes{}); `{}` would make this {} (--consolidated-only refuses instead)",
        h.nodes.len(),
        ms.stats.requests().saturating_sub(probes),
        if h.complete {
            ""
        } else {
            ", not every node was read: see the warnings"
        },
        ms.command(&format!("consolidate {url} --yes")),
        // v2: `.zmetadata` beside the `zarr.json` probe, at once.
        if h.zarr_format == 3 {
            "one GET"
        } else {
            "one round trip of 2 GETs"
        },
    );
    Ok(Read {
        hierarchy: h,
        notice: Some(notice),
    })
}

/// One GET's answer.
pub enum Got {
    Found {
        raw: Bytes,
        /// What a conditional write of this key is conditioned on: the
        /// ETag and, where the backend keeps one (GCS's generation), the
        /// object's version.
        version: UpdateVersion,
    },
    /// 404, or a 403 that may mean "no such key" ([`access_denied`]):
    /// `error` says which, for callers that treat them apart.
    Absent {
        forbidden: bool,
        error: object_store::Error,
    },
}

/// GET `path` with its body: found, absent, or another failure for the
/// caller to explain.
pub async fn get(ms: &StoreHandle, path: &Path) -> std::result::Result<Got, object_store::Error> {
    get_through(ms, ms.store.as_ref(), path).await
}

/// [`get`] through `store`: the same bucket behind another guard
/// ([`StoreHandle::guarded`]), e.g. one that allows exactly this key.
pub async fn get_through(
    ms: &StoreHandle,
    store: &dyn object_store::ObjectStore,
    path: &Path,
) -> std::result::Result<Got, object_store::Error> {
    let fetched = match store.get(path).await {
        Ok(r) => {
            let version = UpdateVersion {
                e_tag: r.meta.e_tag.clone(),
                version: r.meta.version.clone(),
            };
            r.bytes().await.map(|raw| (raw, version))
        }
        Err(e) => Err(e),
    };
    match fetched {
        Ok((raw, version)) => Ok(Got::Found { raw, version }),
        Err(error @ object_store::Error::NotFound { .. }) => Ok(Got::Absent {
            forbidden: false,
            error,
        }),
        Err(error) if access_denied(ms, &error) => Ok(Got::Absent {
            forbidden: true,
            error,
        }),
        Err(e) => Err(e),
    }
}

/// A 403 refusing the request itself. Unsigned, any 403; signed, one that
/// says AccessDenied — a 403 about the credentials themselves
/// (SignatureDoesNotMatch, InvalidAccessKeyId, ExpiredToken) is not.
///
/// On a GET it may just mean "no such key": S3 answers 403 AccessDenied, not
/// 404, for a missing key when the caller lacks s3:ListBucket on the bucket —
/// anonymous callers of public buckets and signed callers of private ones
/// alike.
pub fn access_denied(ms: &StoreHandle, e: &object_store::Error) -> bool {
    matches!(e, object_store::Error::PermissionDenied { .. })
        && (ms.anonymous || e.to_string().contains("AccessDenied"))
}

/// Every metadata key looked for (`looked`) answered 403: say which
/// permission is missing and what to try.
pub fn refused_error(ms: &StoreHandle, looked: &str) -> Error {
    let url = &ms.location.url;
    let ls = ms.command(&format!("ls {url}/"));
    let (read, list) = ms.permissions();
    let why = format!(
        "either reading them needs {read}, which is not granted, or they do not exist: a caller without {list} gets 403 instead of 404 for a missing key"
    );
    let try_next = if ms.anonymous {
        format!(
            "if the bucket is private, use credentials ({})",
            ms.credentials_advice()
        )
    } else {
        format!(
            "ask for {read} on the store's keys (and {list}, so that missing keys answer 404) for these credentials; for a public bucket try --anon"
        )
    };
    Error::new(format!(
        "access denied (403) to {url} with {}: no Zarr metadata could be read (looked for {looked})",
        ms.credential_source
    ))
    .with_hint(ms.hint_for_403(format!(
        "{why}. Check the path (`{ls}` shows what is there, where listing is allowed); {try_next}"
    )))
    .with_kind(ErrorKind::AccessDenied)
}

/// `path` is strictly below `ancestor` (absolute paths).
pub fn below(path: &str, ancestor: &str) -> bool {
    if ancestor == "/" {
        return path != "/";
    }
    path.strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// A chunk key given where a node was expected: `array` is the array's
/// absolute path in the store at `root`.
pub fn chunk_key_error(url: &str, root: &str, array: &str) -> Error {
    let array_url = if array == "/" {
        root.to_string()
    } else {
        format!("{root}{array}")
    };
    let show = if array == "/" {
        format!("zarrscope show {root}")
    } else {
        format!("zarrscope show {root} {}", array.trim_start_matches('/'))
    };
    Error::new(format!(
        "{url} is a chunk key of the array {array_url}, not a group or array: chunks hold data, and zarrscope reads metadata only"
    ))
    .with_hint(format!("`{show}` describes the array"))
    .with_kind(ErrorKind::InvalidMetadata)
}

/// `Some(format)` when `doc`'s `zarr_format` is a pre-release v3 draft URI
/// ("https://purl.org/zarr/spec/protocol/core/3.0", as GDAL 3.6 and zarrita
/// wrote it).
pub fn draft_v3(doc: &serde_json::Value) -> Option<&str> {
    doc.get("zarr_format")
        .and_then(serde_json::Value::as_str)
        .filter(|f| f.contains("zarr/spec/protocol/"))
}

/// The one error every reader gives for a draft-v3 store rooted at `url`.
pub fn draft_v3_error(url: &str, format: &str) -> Error {
    Error::new(format!(
        "{url}/zarr.json is a pre-release draft of Zarr v3 (zarr_format {format:?}, as GDAL 3.6 and early zarrita wrote it), not Zarr v3: its nodes live under meta/root/ in a layout the final specification dropped, and zarrscope does not read it"
    ))
    .with_hint("rewrite the store with a current writer: final Zarr v3 (zarr-python 3, a recent GDAL) or Zarr v2")
    .with_kind(ErrorKind::InvalidMetadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;
    use crate::store::StoreOptions;
    use crate::store::credentials::ProcessEnv;

    async fn open_fixture(fixture: &str) -> StoreHandle {
        let root = format!("{}/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
        let location = Location::parse(&root).unwrap();
        StoreHandle::open_with(
            location,
            &StoreOptions::default(),
            &ProcessEnv,
            None,
            POLICY,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_group_without_consolidated_metadata_says_so_by_its_kind() {
        for fixture in [
            "nested-unconsolidated-v2.zarr",
            "v3-nested-unconsolidated.zarr",
        ] {
            match detect(&open_fixture(fixture).await).await.unwrap() {
                Opened::Unconsolidated(u) => {
                    assert_eq!(
                        u.error.kind(),
                        ErrorKind::NoConsolidatedMetadata,
                        "{fixture}"
                    )
                }
                Opened::Tree(_) => panic!("{fixture} opened as a consolidated tree"),
            }
        }
    }

    #[tokio::test]
    async fn read_tree_crawls_only_when_the_choice_allows_and_says_so() {
        let options = CrawlOptions::default();
        let unconsolidated = open_fixture("nested-unconsolidated-v2.zarr").await;
        let read = read_tree(&unconsolidated, Choice::Auto, &options)
            .await
            .unwrap();
        assert!(read.hierarchy.crawled);
        let notice = read.notice.expect("a crawl the user did not ask for");
        assert!(
            notice.contains("has no consolidated metadata, so its"),
            "{notice}"
        );
        let refused = read_tree(&unconsolidated, Choice::ConsolidatedOnly, &options).await;
        assert_eq!(
            refused.err().map(|e| e.kind()),
            Some(ErrorKind::NoConsolidatedMetadata)
        );

        let consolidated = open_fixture("nested-v2.zarr").await;
        let read = read_tree(&consolidated, Choice::Auto, &options)
            .await
            .unwrap();
        assert!(read.hierarchy.consolidated && !read.hierarchy.crawled);
        assert!(read.notice.is_none());
        let read = read_tree(&consolidated, Choice::Crawl, &options)
            .await
            .unwrap();
        assert!(read.hierarchy.crawled && !read.hierarchy.consolidated);
        assert!(read.notice.is_none());
    }
}
