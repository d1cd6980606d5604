//! Find and read a store's consolidated metadata through the guarded store:
//! the v3 root `zarr.json` and the v2 `.zmetadata` are requested at once, so
//! either format costs one round trip. Only when neither holds consolidated
//! metadata does a second round trip (all at once) look at the location's
//! own node documents and at every ancestor up to the bucket, for a URL that
//! points inside a store.

use bytes::Bytes;
use object_store::ObjectStoreExt;

use crate::crawl::Seed;
use crate::error::{Error, ErrorKind, Result};
use crate::hierarchy::Hierarchy;
use crate::metadata::{self, Attributes, Consolidated, NodeDoc, NodeKind, ReadError, json};
use crate::store::StoreHandle;

/// One probe's outcome.
enum Probe {
    Found(Bytes),
    /// 404, or a 403 that may mean "no such key" ([`access_denied`]).
    Absent {
        forbidden: bool,
    },
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

/// GET `key`, relative to `prefix` (a bucket-relative directory).
async fn probe_in(ms: &StoreHandle, prefix: &str, key: &str) -> Result<Probe> {
    let full = join(prefix, key);
    let path = crate::keys::path(&full)?;
    let fetched = match ms.store.get(&path).await {
        Ok(result) => result.bytes().await,
        Err(e) => Err(e),
    };
    match fetched {
        Ok(bytes) => Ok(Probe::Found(bytes)),
        // A missing bucket is not a missing key: say so, not "no metadata".
        Err(e @ object_store::Error::NotFound { .. })
            if crate::store::missing_bucket_code(&e.to_string()).is_some() =>
        {
            Err(ms.explain_url(&ms.location.url_of(&full), &e))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(Probe::Absent { forbidden: false }),
        Err(e) if access_denied(ms, &e) => Ok(Probe::Absent { forbidden: true }),
        Err(e) => Err(ms.explain_url(&ms.location.url_of(&full), &e)),
    }
}

/// GET `key` relative to the location.
async fn probe(ms: &StoreHandle, key: &str) -> Result<Probe> {
    probe_in(ms, &ms.location.prefix, key).await
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
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

/// Parse the document at `url` (for messages).
fn parse_json(url: &str, bytes: &[u8]) -> Result<serde_json::Value> {
    json::parse(bytes).map_err(|e| json_error(url, e))
}

fn json_error(url: &str, e: json::JsonError) -> Error {
    let hint = e.looks_like.map_or_else(
        || "the document is not valid JSON; if it was written by a tool, rewrite it (zarr.consolidate_metadata)".to_string(),
        |what| format!("{what}; check the URL and endpoint"),
    );
    Error::new(format!(
        "{url} is not valid JSON at line {}, column {}: {}",
        e.line, e.column, e.message
    ))
    .with_hint(hint)
}

fn read_error(url: &str, e: ReadError) -> Error {
    match e {
        ReadError::Json(e) => json_error(url, e),
        ReadError::Invalid(reason) => not_zarr(url, reason),
    }
}

fn not_zarr(url: &str, reason: String) -> Error {
    Error::new(format!("{url} is not usable Zarr metadata: {reason}"))
        .with_hint("check that the URL points at a Zarr store, group or array")
}

/// Consolidated metadata found in one directory, as a hierarchy rooted there.
enum Found {
    Tree(Hierarchy),
    /// A v3 `zarr.json` that is a lone array (complete on its own).
    LoneArray(Hierarchy),
    /// A v3 group `zarr.json` without consolidated metadata.
    UnconsolidatedV3,
    Nothing,
}

/// What the `zarr.json` and `.zmetadata` probes of directory `prefix` hold.
fn consolidated_in(ms: &StoreHandle, prefix: &str, v3: &Probe, v2: &Probe) -> Result<Found> {
    let url = ms.location.url_of(prefix);
    if let Probe::Found(bytes) = v3 {
        let doc_url = format!("{url}/zarr.json");
        return Ok(
            match metadata::v3::parse_root(bytes).map_err(|e| match draft_format(bytes) {
                Some(format) => draft_v3_error(&url, &format),
                None => read_error(&doc_url, e),
            })? {
                metadata::v3::Root::Consolidated(Consolidated { nodes, warnings }) => {
                    Found::Tree(Hierarchy::new(url, 3, true, nodes, warnings))
                }
                metadata::v3::Root::Array(node) => {
                    Found::LoneArray(Hierarchy::new(url, 3, false, vec![node], vec![]))
                }
                metadata::v3::Root::Unconsolidated(_) => Found::UnconsolidatedV3,
            },
        );
    }
    if let Probe::Found(bytes) = v2 {
        return from_v2(&url, ".zmetadata", bytes).map(Found::Tree);
    }
    Ok(Found::Nothing)
}

fn from_v2(url: &str, key: &str, bytes: &[u8]) -> Result<Hierarchy> {
    let doc_url = format!("{url}/{key}");
    let Consolidated {
        nodes,
        mut warnings,
    } = metadata::v2::parse_consolidated(bytes).map_err(|e| read_error(&doc_url, e))?;
    if key == "zmetadata" {
        warnings.push("read consolidated metadata from \"zmetadata\" (no leading dot), as an old zarr-python wrote it".into());
    }
    Ok(Hierarchy::new(url.to_string(), 2, true, nodes, warnings))
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

/// Read the tree at `ms.location` from consolidated metadata: the store's
/// own, or for a URL inside a store the nearest ancestor's (that subtree).
pub async fn read_consolidated(ms: &StoreHandle) -> Result<Hierarchy> {
    match open(ms).await? {
        Opened::Tree(h) => Ok(h),
        Opened::Unconsolidated(u) => Err(u.error),
    }
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
pub async fn open(ms: &StoreHandle) -> Result<Opened> {
    let (v3, v2) = futures::join!(probe(ms, "zarr.json"), probe(ms, ".zmetadata"));
    let (v3, v2) = (v3?, v2?);
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
        let relative = super::objects::relative(here, dir).to_string();
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
        let kind = match metadata::v2::parse_array(&bytes, &attributes) {
            Ok(info) => NodeKind::Array(Box::new(info)),
            Err(reason) => NodeKind::InvalidArray { reason },
        };
        let node = NodeDoc {
            path: String::new(),
            attributes,
            kind,
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
    let forbidden = matches!(v3, Probe::Absent { forbidden: true })
        || matches!(v2, Probe::Absent { forbidden: true });
    let looked = "zarr.json, .zmetadata, zmetadata, .zgroup, .zarray here, and zarr.json, .zmetadata in every parent";
    let ls = ms.command(&format!("ls {}/", ms.location.url));
    Err(if forbidden {
        refused_error(ms, looked)
    } else {
        Error::new(format!(
            "no Zarr metadata found at {} (looked for {looked})",
            ms.location.url
        ))
        .with_hint(format!("check the URL; `{ls}` shows what is there"))
    })
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
    .with_hint(format!(
        "{why}. Check the path (`{ls}` shows what is there, where listing is allowed); {try_next}"
    ))
    .with_kind(ErrorKind::AccessDenied)
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

/// The draft `zarr_format` of a `zarr.json` body, if it is one.
fn draft_format(bytes: &[u8]) -> Option<String> {
    let doc = json::parse(bytes).ok()?;
    draft_v3(&doc).map(str::to_string)
}

fn no_consolidated(ms: &StoreHandle, zarr_format: u8, also_v2: bool) -> Error {
    let which = if zarr_format == 3 {
        "its zarr.json has no consolidated_metadata"
    } else {
        "it has .zgroup but no .zmetadata"
    };
    let mut hint = format!(
        "drop --consolidated-only to read every node's own metadata (a crawl); `{}` writes consolidated metadata",
        ms.command(&format!("consolidate {} --yes", ms.location.url))
    );
    if also_v2 {
        hint.push_str("; a v2 .zmetadata sits beside zarr.json, but zarr readers use the v3 metadata, so zarrscope does too");
    }
    Error::of_kind(
        ErrorKind::NoConsolidatedMetadata,
        format!(
            "{} is a Zarr v{zarr_format} store without consolidated metadata: {which}",
            ms.location.url
        ),
    )
    .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;
    use crate::store::StoreOptions;
    use crate::store::credentials::ProcessEnv;

    #[tokio::test]
    async fn a_group_without_consolidated_metadata_says_so_by_its_kind() {
        for fixture in [
            "nested-unconsolidated-v2.zarr",
            "v3-nested-unconsolidated.zarr",
        ] {
            let root = format!("{}/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
            let location = Location::parse(&root).unwrap();
            let ms = StoreHandle::open(location, &StoreOptions::default(), &ProcessEnv, None)
                .await
                .unwrap();
            match open(&ms).await.unwrap() {
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
}
