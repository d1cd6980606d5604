//! Detection: which source a location is, from its probes through the
//! guarded store, and the consolidated metadata they found:
//! the v3 root `zarr.json` and the v2 `.zmetadata` are requested at once, so
//! either format costs one round trip. Only when neither holds consolidated
//! metadata does a second round trip (all at once) look at the location's
//! own node documents and at every ancestor up to the bucket, for a URL that
//! points inside a store.

use bytes::Bytes;

use super::consolidated::{
    Found, consolidated_in, draft_format, from_v2, no_consolidated, parse_json,
};
use super::crawl::Seed;
use super::icechunk;
use super::{Got, below, chunk_key_error, draft_v3_error, refused_error};
use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::keys::{join, relative};
use crate::metadata::{self, Attributes, NodeDoc, NodeKind};
use crate::store::StoreHandle;

/// One probe's outcome.
pub(super) enum Probe {
    Found(Bytes),
    /// 404, or a 403 that may mean "no such key" ([`access_denied`]).
    Absent {
        forbidden: bool,
    },
}

/// GET `key`, relative to `prefix` (a bucket-relative directory).
async fn probe_in(ms: &StoreHandle, prefix: &str, key: &str) -> Result<Probe> {
    let full = join(prefix, key);
    let path = crate::keys::path(&full)?;
    match super::get(ms, &path).await {
        Ok(Got::Found { raw, .. }) => Ok(Probe::Found(raw)),
        // A missing bucket is not a missing key: say so, not "no metadata".
        Ok(Got::Absent { error, .. })
            if crate::store::missing_bucket_code(&error.to_string()).is_some() =>
        {
            Err(ms.explain_url(&ms.location.url_of(&full), &error))
        }
        Ok(Got::Absent { forbidden, .. }) => Ok(Probe::Absent { forbidden }),
        Err(e) => Err(ms.explain_url(&ms.location.url_of(&full), &e)),
    }
}

/// GET `key` relative to the location.
async fn probe(ms: &StoreHandle, key: &str) -> Result<Probe> {
    probe_in(ms, &ms.location.prefix, key).await
}

/// The location's ancestors, nearest first, up to the bucket root.
fn ancestors(prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = prefix;
    while !current.is_empty() {
        current = current.rsplit_once('/').map_or("", |(up, _)| up);
        out.push(current.to_string());
    }
    out
}

/// What the probes found at a location.
pub enum Opened {
    /// The tree, from consolidated metadata (the location's own, or that of
    /// the nearest ancestor listing it: then `root_url` names that store),
    /// or a lone array from its own documents.
    Tree(Hierarchy),
    /// A group without consolidated metadata: read it node by node.
    Unconsolidated(Box<Unconsolidated>),
}

/// A group without consolidated metadata, as the probes left it.
pub struct Unconsolidated {
    pub zarr_format: u8,
    /// What a reader that insists on consolidated metadata reports.
    pub error: Error,
    /// Notes for the crawl's output (an ancestor's consolidated metadata
    /// that was not used).
    pub warnings: Vec<String>,
    /// The group's documents the probes already read, for the crawl.
    pub seed: Seed,
}

/// The probes' body, if any.
fn body(probe: Result<Probe>) -> Result<Option<Bytes>> {
    probe.map(|p| match p {
        Probe::Found(bytes) => Some(bytes),
        Probe::Absent { .. } => None,
    })
}

/// Find the tree at `ms.location` from consolidated metadata.
///
/// The rule for ancestors (a URL inside a store): the nearest ancestor whose
/// consolidated metadata *lists* the location is used, and the result's
/// `root_url` names it (the output says `in store ROOT`). An ancestor whose
/// consolidated metadata does not list the location is never used for the
/// tree: it is either stale or an unrelated parent directory (a local path
/// walks up to `/`), and a warning names it.
pub async fn detect(ms: &StoreHandle) -> Result<Opened> {
    // A reference file named by its URL: that one GET, nothing else.
    if super::reference::named_by_url(&ms.location) {
        let references = super::reference::read_json(ms, super::reference::keep_none()).await?;
        return references.hierarchy().map(Opened::Tree);
    }
    // A version named: an Icechunk repository, read as asked.
    if let Some(version) = &ms.location.version {
        let version = icechunk::Version::parse(version)?;
        return icechunk::read(ms, &version, None)
            .await
            .map(|(h, _)| Opened::Tree(h));
    }
    // A URL that says it is a repository (`….icechunk`): its two documents
    // are this round trip's probes, and the snapshot the next.
    let hinted = icechunk::hinted(&ms.location);
    if hinted {
        let probed = icechunk::probe(ms).await?;
        if probed.found() {
            let (h, _) = icechunk::read(ms, &icechunk::Version::main(), Some(probed)).await?;
            return Ok(Opened::Tree(h));
        }
    }
    let (v3, v2) = futures::join!(probe(ms, "zarr.json"), probe(ms, ".zmetadata"));
    let (v3, v2) = (v3?, v2?);
    // A Parquet reference directory: its `.zmetadata` says so.
    if let (Probe::Absent { .. }, Probe::Found(bytes)) = (&v3, &v2)
        && let Some(references) = super::reference::parquet_directory(&ms.location.url, bytes)
    {
        return references?.hierarchy().map(Opened::Tree);
    }
    let here = &ms.location.prefix;
    let unconsolidated_v3 = match consolidated_in(ms, here, &v3, &v2)? {
        Found::Tree(h) | Found::LoneArray(h) => return Ok(Opened::Tree(h)),
        Found::UnconsolidatedV3 => true,
        Found::Nothing => false,
    };

    // Second round trip, all at once: the location's own node documents
    // (and the old `zmetadata` spelling), and every ancestor's consolidated
    // metadata.
    let up = ancestors(here);
    let ancestor_probes = futures::future::join_all(up.iter().map(|dir| async move {
        let (v3, v2) = futures::join!(
            probe_in(ms, dir, "zarr.json"),
            probe_in(ms, dir, ".zmetadata")
        );
        (v3, v2)
    }));
    let own = async {
        futures::join!(
            probe(ms, "zmetadata"),
            probe(ms, ".zgroup"),
            probe(ms, ".zarray"),
            probe(ms, ".zattrs")
        )
    };
    let (ancestor_results, (old, zgroup, zarray, zattrs)) = futures::join!(ancestor_probes, own);

    if !unconsolidated_v3 && let Probe::Found(bytes) = old? {
        return from_v2(&ms.location.url, "zmetadata", &bytes).map(Opened::Tree);
    }
    // The nearest ancestor holding consolidated metadata that lists this node.
    let mut unlisted = None;
    // The nearest ancestor that is an array (v3 `zarr.json`): the location
    // is then one of its chunk keys.
    let mut in_array = None;
    for (dir, (v3, v2)) in up.iter().zip(ancestor_results) {
        let (v3, v2) = match (v3, v2) {
            (Ok(v3), Ok(v2)) => (v3, v2),
            // An unreadable ancestor is not this node's problem.
            _ => continue,
        };
        // A URL inside a draft-v3 store: say so rather than "nothing".
        if let Probe::Found(bytes) = &v3
            && let Some(format) = draft_format(bytes)
        {
            return Err(draft_v3_error(&ms.location.url_of(dir), &format));
        }
        let tree = match consolidated_in(ms, dir, &v3, &v2) {
            Ok(Found::Tree(tree)) => tree,
            Ok(Found::LoneArray(array)) => {
                in_array.get_or_insert(array.root_url);
                continue;
            }
            _ => continue,
        };
        let relative = relative(here, dir).to_string();
        let root_url = tree.root_url.clone();
        let array = enclosing_array(&tree, &relative);
        match tree.select(&relative, ms.location.url.clone()) {
            Some(subtree) => return Ok(Opened::Tree(subtree)),
            None => {
                if let Some(array) = array {
                    return Err(chunk_key_error(&ms.location.url, &root_url, &array));
                }
                unlisted = Some((root_url, relative));
                break;
            }
        }
    }
    let unlisted_warning = unlisted.as_ref().map(|(root, relative)| {
        format!(
            "the consolidated metadata of {root} does not list /{relative}, so it was not used: it belongs to an unrelated parent, or it may be stale (`{}` compares it with the per-node metadata)",
            ms.command(&format!("check {root}"))
        )
    });

    if let Probe::Found(bytes) = zarray? {
        // A lone v2 array: .zarray (+ .zattrs) is its complete metadata.
        parse_json(&ms.location.url_of(&join(here, ".zarray")), &bytes)?;
        let attributes = match zattrs? {
            Probe::Found(a) => match parse_json(&ms.location.url_of(&join(here, ".zattrs")), &a)? {
                serde_json::Value::Object(map) => Attributes::from_map(map),
                _ => Attributes::default(),
            },
            Probe::Absent { .. } => Attributes::default(),
        };
        let node = NodeDoc {
            path: String::new(),
            kind: metadata::v2::array_kind(&bytes, &attributes),
            attributes,
        };
        return Ok(Opened::Tree(Hierarchy::new(
            ms.location.url.clone(),
            2,
            false,
            vec![node],
            unlisted_warning.into_iter().collect(),
        )));
    }
    let zgroup = body(zgroup)?;
    let is_group = unconsolidated_v3 || zgroup.is_some();
    if is_group {
        let zarr_format = if unconsolidated_v3 { 3 } else { 2 };
        let stale_error = unlisted.as_ref().map(|(root, relative)| {
            Error::new(format!(
                "/{relative} is not in the consolidated metadata of {root}"
            ))
            .with_hint(format!(
                "the consolidated metadata may be stale: drop --consolidated-only to read the group's own metadata, or compare with `{}`",
                ms.command(&format!("check {root}"))
            ))
        });
        let error = stale_error.unwrap_or_else(|| {
            no_consolidated(
                ms,
                zarr_format,
                unconsolidated_v3 && matches!(v2, Probe::Found(_)),
            )
        });
        let zarr_json = match v3 {
            Probe::Found(bytes) if unconsolidated_v3 => Some(bytes),
            _ => None,
        };
        return Ok(Opened::Unconsolidated(Box::new(Unconsolidated {
            zarr_format,
            error,
            warnings: unlisted_warning.into_iter().collect(),
            seed: Seed::new(ms, Ok(zarr_json), Ok(zgroup), body(zattrs)),
        })));
    }
    if let Some(array_url) = in_array {
        return Err(chunk_key_error(&ms.location.url, &array_url, "/"));
    }
    if let Some((root, relative)) = unlisted {
        return Err(Error::new(format!(
            "/{relative} is not in the consolidated metadata of {root}, and has no metadata of its own"
        ))
        .with_hint(format!(
            "check the path (`{}` lists the store's nodes); if the node was added after consolidation, `{}` compares",
            ms.command(&format!("tree {root}")),
            ms.command(&format!("check {root}"))
        )));
    }
    // Nothing here. A v2 chunk key inside an unconsolidated store: the
    // nearest ancestor with a `.zarray` (one more round trip, errors only;
    // the ancestors' zarr.json were read above).
    if let Some(array_url) = enclosing_array_dir(ms, &up, false).await {
        return Err(chunk_key_error(&ms.location.url, &array_url, "/"));
    }
    // No Zarr metadata at all: an Icechunk repository whose URL did not say
    // so (a Zarr store never pays for these probes).
    if !hinted {
        let probed = icechunk::probe(ms).await?;
        if probed.found() {
            let (h, _) = icechunk::read(ms, &icechunk::Version::main(), Some(probed)).await?;
            return Ok(Opened::Tree(h));
        }
    }
    let forbidden = matches!(v3, Probe::Absent { forbidden: true })
        || matches!(v2, Probe::Absent { forbidden: true });
    let looked = "zarr.json, .zmetadata, zmetadata, .zgroup, .zarray here, and zarr.json, .zmetadata in every parent; an Icechunk repository's repo and refs/branch.main/ref.json";
    let ls = ms.command(&format!("ls {}/", ms.location.url));
    Err(if forbidden {
        refused_error(ms, looked)
    } else {
        Error::new(format!(
            "no Zarr metadata found at {} (looked for {looked})",
            ms.location.url
        ))
        .with_hint(format!("check the URL; `{ls}` shows what is there"))
        .with_kind(crate::error::ErrorKind::NotFound)
    })
}

/// Whether `ms.location` is a chunk key: the URL of the nearest ancestor
/// that is an array (v2 `.zarray`, and with `v3` an array `zarr.json`),
/// asked all at once. For error paths only.
pub async fn enclosing_array_url(ms: &StoreHandle) -> Option<String> {
    enclosing_array_dir(ms, &ancestors(&ms.location.prefix), true).await
}

async fn enclosing_array_dir(ms: &StoreHandle, up: &[String], v3: bool) -> Option<String> {
    // The bucket root holds no chunk of anything.
    let dirs: Vec<&str> = up
        .iter()
        .map(String::as_str)
        .filter(|d| !d.is_empty())
        .collect();
    let found = futures::future::join_all(dirs.iter().map(|&dir| is_array_dir(ms, dir, v3))).await;
    dirs.into_iter()
        .zip(found)
        .find(|(_, array)| *array)
        .map(|(dir, _)| ms.location.url_of(dir))
}

/// Whether `dir` holds array metadata (`.zarray`, or with `v3` an array
/// `zarr.json`).
async fn is_array_dir(ms: &StoreHandle, dir: &str, v3: bool) -> bool {
    let (v2_doc, v3_doc) = futures::join!(probe_in(ms, dir, ".zarray"), async {
        if v3 {
            probe_in(ms, dir, "zarr.json").await
        } else {
            Ok(Probe::Absent { forbidden: false })
        }
    });
    matches!(v2_doc, Ok(Probe::Found(_)))
        || matches!(v3_doc, Ok(Probe::Found(doc)) if metadata::v3::node(String::new(), &doc)
            .is_ok_and(|n| n.kind != NodeKind::Group))
}

/// The array of `tree` that `relative` (store-relative) lies below, if any.
fn enclosing_array(tree: &Hierarchy, relative: &str) -> Option<String> {
    let target = format!("/{relative}");
    tree.nodes
        .iter()
        .filter(|n| n.is_array() && below(&target, &n.path))
        .map(|n| n.path.clone())
        .max_by_key(String::len)
}
