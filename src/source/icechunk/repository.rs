//! An Icechunk repository as a source: a ref (spec v1 `refs/…/ref.json`,
//! spec v2 the `repo` file) names a snapshot, and the snapshot holds every
//! node's `zarr.json`. Nothing else is read for a tree: no manifest, no
//! chunk. Every read goes through a guard that lets through exactly the
//! key asked for.

use std::collections::BTreeMap;

use bytes::Bytes;
use futures::StreamExt;

use super::format::{self, RepoInfo, Snapshot};
use crate::error::{Error, ErrorKind, Result};
use crate::hierarchy::Hierarchy;
use crate::location::Location;
use crate::metadata;
use crate::source::Got;
use crate::store::StoreHandle;
use crate::store::guard::Policy;

/// What the guard calls the keys this source reads.
pub const WHAT: &str = "Icechunk metadata";

/// Snapshots fetched at once when walking the history.
pub const CONCURRENCY: usize = 16;

/// A version of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Version {
    Branch(String),
    Tag(String),
    Snapshot(String),
}

impl Version {
    pub fn main() -> Version {
        Version::Branch("main".into())
    }

    /// `branch.NAME`, `tag.NAME` or a snapshot id.
    pub fn parse(text: &str) -> Result<Version> {
        if let Some(name) = text.strip_prefix("branch.").filter(|n| !n.is_empty()) {
            return Ok(Version::Branch(name.into()));
        }
        if let Some(name) = text.strip_prefix("tag.").filter(|n| !n.is_empty()) {
            return Ok(Version::Tag(name.into()));
        }
        format::parse_snapshot_id(text)
            .map(Version::Snapshot)
            .map_err(|_| {
                Error::new(format!(
                    "{text:?} names no version of an Icechunk repository"
                ))
                .with_hint("write URL@branch.NAME, URL@tag.NAME or URL@SNAPSHOT_ID (20 characters, as `zarrscope log URL` prints them)")
            })
    }

    /// How the user writes it after `@`.
    pub fn label(&self) -> String {
        match self {
            Version::Branch(n) => format!("branch.{n}"),
            Version::Tag(n) => format!("tag.{n}"),
            Version::Snapshot(id) => id.clone(),
        }
    }

    /// The spec v1 ref file naming it.
    fn ref_key(&self) -> Option<String> {
        match self {
            Version::Branch(n) => Some(format!("refs/branch.{n}/ref.json")),
            Version::Tag(n) => Some(format!("refs/tag.{n}/ref.json")),
            Version::Snapshot(_) => None,
        }
    }
}

/// Whether the URL says it is a repository, so that its probes belong in
/// the first round trip: a version after `@`, or a name ending
/// `.icechunk`. Other repositories are found once no Zarr metadata was,
/// after the Zarr probes found nothing.
pub fn hinted(location: &Location) -> bool {
    location.version.is_some()
        || location
            .prefix
            .rsplit('/')
            .next()
            .is_some_and(|name| name.to_ascii_lowercase().ends_with(".icechunk"))
}

/// The two documents that make a repository: `repo` (spec v2) and the
/// `main` branch's ref (spec v1), read at once.
#[derive(Debug, Clone, Default)]
pub struct Probed {
    pub repo: Option<Bytes>,
    pub main_ref: Option<Bytes>,
    /// The ref of the version asked for, read with `repo` when that
    /// version is not `main` ([`probe_for`]).
    pub asked_ref: Option<Bytes>,
    /// Whether that ref was asked for (absent when `asked_ref` is `None`).
    pub asked: bool,
}

impl Probed {
    pub fn found(&self) -> bool {
        self.repo.is_some() || self.main_ref.is_some() || self.asked_ref.is_some()
    }
}

/// The probes' keys, for the policy a location is opened with.
pub const PROBE_NAMES: [&str; 2] = ["repo", "ref.json"];

/// GET `key` (relative to the repository) through a guard that allows that
/// key alone: `None` when it does not exist.
async fn get_exact(ms: &StoreHandle, key: &str) -> Result<Option<Bytes>> {
    let full = ms.location.key(key);
    let store = ms.guarded(Policy::one_file(WHAT, full.clone()));
    let path = crate::keys::path(&full)?;
    match crate::source::get_through(ms, store.as_ref(), &path).await {
        Ok(Got::Found { raw, .. }) => Ok(Some(raw)),
        Ok(Got::Absent { .. }) => Ok(None),
        Err(e) => Err(ms.explain_url(&ms.location.url_of(&full), &e)),
    }
}

/// Read `repo` and `refs/branch.main/ref.json` at once.
pub async fn probe(ms: &StoreHandle) -> Result<Probed> {
    let (repo, main_ref) = futures::join!(
        get_exact(ms, "repo"),
        get_exact(ms, "refs/branch.main/ref.json")
    );
    Ok(Probed {
        repo: repo?,
        main_ref: main_ref?,
        asked_ref: None,
        asked: false,
    })
}

/// Read `repo` and the ref `version` names at once: one round trip
/// whichever spec the repository follows.
pub async fn probe_for(ms: &StoreHandle, version: &Version) -> Result<Probed> {
    let Some(key) = version.ref_key() else {
        return probe(ms).await;
    };
    if *version == Version::main() {
        return probe(ms).await;
    }
    let (repo, asked) = futures::join!(get_exact(ms, "repo"), get_exact(ms, &key));
    Ok(Probed {
        repo: repo?,
        main_ref: None,
        asked_ref: asked?,
        asked: true,
    })
}

/// The most a decoded metadata file may expand to: what is left of the
/// byte budget.
fn bound(ms: &StoreHandle) -> usize {
    usize::try_from(ms.budget.max().saturating_sub(ms.budget.used())).unwrap_or(usize::MAX)
}

fn invalid(url: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::of_kind(
        ErrorKind::InvalidMetadata,
        format!("{url}: {what} is not readable Icechunk metadata: {e}"),
    )
    .with_hint("the repository may be damaged or written by an Icechunk version zarrscope does not read; `icechunk` itself can check it")
}

fn repo_info(ms: &StoreHandle, bytes: &[u8]) -> Result<RepoInfo> {
    format::repo_info(bytes, bound(ms)).map_err(|e| {
        invalid(
            &ms.location.url_of(&ms.location.key("repo")),
            "the repo file",
            e,
        )
    })
}

/// The snapshot id in a spec v1 `ref.json`.
fn ref_snapshot(url: &str, bytes: &[u8]) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Ref {
        snapshot: String,
    }
    let parsed: Ref = serde_json::from_slice(bytes).map_err(|e| invalid(url, "the ref", e))?;
    format::parse_snapshot_id(&parsed.snapshot).map_err(|e| invalid(url, "the ref", e))
}

/// Branches and tags, name → snapshot id.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Refs {
    pub spec_version: u8,
    pub branches: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Every branch and tag: from the `repo` file (spec v2), or by listing
/// `refs/` and reading each ref at once (spec v1).
pub async fn list_refs(ms: &StoreHandle, probed: &Probed) -> Result<Refs> {
    if let Some(repo) = &probed.repo {
        let info = repo_info(ms, repo)?;
        return Ok(Refs {
            spec_version: info.spec_version,
            branches: info
                .branches
                .iter()
                .map(|r| (r.name.clone(), r.snapshot.clone()))
                .collect(),
            tags: info
                .tags
                .iter()
                .map(|r| (r.name.clone(), r.snapshot.clone()))
                .collect(),
        });
    }
    let prefix = crate::keys::path(&ms.location.key("refs"))?;
    let listed = ms
        .store
        .list_with_delimiter(Some(&prefix))
        .await
        .map_err(|e| ms.explain_url(&ms.location.url_of(prefix.as_ref()), &e))?;
    let names: Vec<String> = listed
        .common_prefixes
        .iter()
        .filter_map(|p| p.filename().map(str::to_string))
        .collect();
    let reads = names.iter().map(|name| async move {
        let key = format!("refs/{name}/ref.json");
        let url = ms.location.url_of(&ms.location.key(&key));
        let id = match get_exact(ms, &key).await? {
            Some(bytes) => Some(ref_snapshot(&url, &bytes)?),
            None => None,
        };
        Ok::<_, Error>((name.clone(), id))
    });
    let mut refs = Refs {
        spec_version: 1,
        ..Refs::default()
    };
    let read: Vec<_> = futures::stream::iter(reads)
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for item in read {
        let (name, id) = item?;
        let Some(id) = id else { continue };
        if let Some(branch) = name.strip_prefix("branch.") {
            refs.branches.insert(branch.to_string(), id);
        } else if let Some(tag) = name.strip_prefix("tag.") {
            refs.tags.insert(tag.to_string(), id);
        }
    }
    Ok(refs)
}

/// The snapshot id `version` names.
pub async fn resolve(ms: &StoreHandle, probed: &Probed, version: &Version) -> Result<String> {
    if let Version::Snapshot(id) = version {
        return Ok(id.clone());
    }
    if let Some(repo) = &probed.repo {
        let info = repo_info(ms, repo)?;
        let (list, name) = match version {
            Version::Branch(n) => (&info.branches, n),
            Version::Tag(n) => (&info.tags, n),
            Version::Snapshot(id) => return Ok(id.clone()),
        };
        if let Some(found) = list.iter().find(|r| &r.name == name) {
            return Ok(found.snapshot.clone());
        }
        return Err(no_such_version(ms, version, &list_refs(ms, probed).await?));
    }
    let key = version.ref_key().unwrap_or_default();
    let url = ms.location.url_of(&ms.location.key(&key));
    let bytes = match (version, &probed.main_ref, &probed.asked_ref) {
        (_, _, Some(asked)) => Some(asked.clone()),
        // Asked for with `repo` and absent: no second GET.
        (_, None, None) if probed.asked => None,
        (Version::Branch(n), Some(main), _) if n == "main" => Some(main.clone()),
        _ => get_exact(ms, &key).await?,
    };
    match bytes {
        Some(bytes) => ref_snapshot(&url, &bytes),
        None => Err(no_such_version(ms, version, &list_refs(ms, probed).await?)),
    }
}

fn no_such_version(ms: &StoreHandle, version: &Version, refs: &Refs) -> Error {
    let kind = match version {
        Version::Tag(_) => "tag",
        _ => "branch",
    };
    let list = |m: &BTreeMap<String, String>| {
        if m.is_empty() {
            "(none)".to_string()
        } else {
            m.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    };
    let name = match version {
        Version::Branch(n) | Version::Tag(n) => n.as_str(),
        Version::Snapshot(id) => id.as_str(),
    };
    Error::of_kind(
        ErrorKind::NotFound,
        format!(
            "the Icechunk repository {} has no {kind} {name:?}",
            ms.location.url
        ),
    )
    .with_hint(format!(
        "its branches: {}; its tags: {}; `{}` lists them with their snapshots",
        list(&refs.branches),
        list(&refs.tags),
        ms.command(&format!("refs {}", ms.location.url))
    ))
}

/// The snapshot `id`, decoded.
pub async fn read_snapshot(ms: &StoreHandle, id: &str) -> Result<Snapshot> {
    let key = format!("snapshots/{id}");
    let url = ms.location.url_of(&ms.location.key(&key));
    let Some(bytes) = get_exact(ms, &key).await? else {
        return Err(Error::of_kind(
            ErrorKind::NotFound,
            format!(
                "the Icechunk repository {} has no snapshot {id}",
                ms.location.url
            ),
        )
        .with_hint(format!(
            "`{}` lists the snapshots of its main branch",
            ms.command(&format!("log {}", ms.location.url))
        )));
    };
    format::snapshot(&bytes, bound(ms)).map_err(|e| invalid(&url, "the snapshot", e))
}

/// The tree a snapshot holds.
pub fn hierarchy(url: &str, snapshot: &Snapshot, source: String) -> Result<Hierarchy> {
    let mut warnings = Vec::new();
    let mut nodes = Vec::new();
    for node in &snapshot.nodes {
        let path = node.path.trim_start_matches('/').to_string();
        match metadata::v3::node(path, &node.zarr_json) {
            Ok(doc) => nodes.push(doc),
            Err(e) => warnings.push(format!(
                "{}: its zarr.json in snapshot {} is not usable: {e}",
                node.path, snapshot.id
            )),
        }
    }
    let mut h = Hierarchy::new(url, 3, true, nodes, warnings);
    h.source = Some(source);
    Ok(h)
}

/// The tree of `version` (default: the tip of `main`): the ref, then the
/// snapshot. `probed`: the probes the first round trip already made.
pub async fn read(
    ms: &StoreHandle,
    version: &Version,
    probed: Option<Probed>,
) -> Result<(Hierarchy, Snapshot)> {
    let probed = match probed {
        Some(p) => p,
        None if matches!(version, Version::Snapshot(_)) => Probed::default(),
        None => probe_for(ms, version).await?,
    };
    let id = resolve(ms, &probed, version).await?;
    let snapshot = read_snapshot(ms, &id).await?;
    let spec = if probed.repo.is_some() {
        2
    } else {
        snapshot.spec_version
    };
    let source = format!(
        "Icechunk repository (spec v{spec}), {} = snapshot {}",
        version.label(),
        snapshot.id
    );
    let url = format!("{}@{}", ms.location.url, version.label());
    let h = hierarchy(&url, &snapshot, source)?;
    Ok((h, snapshot))
}

/// The history from snapshot `start` back to the repository's first,
/// newest first, at most `max` snapshots. Spec v1 records a snapshot's
/// parent only in the snapshot itself, so the ids are taken from a listing
/// of `snapshots/` and the snapshots are read at once (bounded), then
/// chained from `start`.
pub async fn ancestry(ms: &StoreHandle, start: &str, max: usize) -> Result<Vec<Snapshot>> {
    let prefix = crate::keys::path(&ms.location.key("snapshots"))?;
    let mut ids = Vec::new();
    let mut listing = ms.store.list(Some(&prefix));
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|e| ms.explain_url(&ms.location.url_of(prefix.as_ref()), &e))?;
        if let Some(id) = meta.location.filename() {
            ids.push(id.to_string());
        }
    }
    if ids.len() > max {
        return Err(Error::new(format!(
            "the repository holds {} snapshots, more than --max-requests ({max}) allows reading",
            ids.len()
        ))
        .with_hint("raise --max-requests"));
    }
    let read: Vec<Result<Snapshot>> =
        futures::stream::iter(ids.iter().map(|id| read_snapshot(ms, id)))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
    let mut by_id = BTreeMap::new();
    for snapshot in read {
        let snapshot = snapshot?;
        by_id.insert(snapshot.id.clone(), snapshot);
    }
    let mut chain = Vec::new();
    let mut next = Some(start.to_string());
    while let Some(id) = next {
        let Some(snapshot) = by_id.remove(&id) else {
            return Err(Error::of_kind(
                ErrorKind::InvalidMetadata,
                format!(
                    "the history of {} names snapshot {id}, which is not in snapshots/",
                    ms.location.url
                ),
            ));
        };
        next = snapshot.parent.clone();
        chain.push(snapshot);
    }
    Ok(chain)
}
