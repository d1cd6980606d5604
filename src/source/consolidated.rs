//! The consolidated source: one document at a store's root lists every node
//! (the v3 root `zarr.json` with `consolidated_metadata`, the v2
//! `.zmetadata`, or the old `zmetadata` spelling). [`read_root`] is the one
//! place a root document's bytes become a tree; the probes that find the
//! document are in [`super::detect`].

use crate::error::{Error, ErrorKind, Result};
use crate::hierarchy::Hierarchy;
use crate::metadata::{self, Consolidated, ReadError, json};
use crate::store::StoreHandle;

use super::{KeySet, Opened, Probe, draft_v3, draft_v3_error};

/// The keys this source reads.
pub const KEYS: KeySet = super::ZARR_KEYS;

/// What a store-root document (`zarr.json`, `.zmetadata`, `zmetadata`)
/// describes, as a hierarchy rooted at its directory.
pub enum Root {
    /// Consolidated metadata: every node.
    Consolidated(Hierarchy),
    /// A v3 `zarr.json` that is a lone array (complete on its own).
    Array(Hierarchy),
    /// A v3 group `zarr.json` without consolidated metadata: its own node.
    Group(Hierarchy),
}

impl Root {
    /// The tree, if the document held consolidated metadata.
    pub fn consolidated(self) -> Option<Hierarchy> {
        match self {
            Root::Consolidated(h) => Some(h),
            Root::Array(_) | Root::Group(_) => None,
        }
    }

    /// The hierarchy, whatever the document was.
    pub fn hierarchy(self) -> Hierarchy {
        match self {
            Root::Consolidated(h) | Root::Array(h) | Root::Group(h) => h,
        }
    }
}

/// Read the store-root document `key` of the store at `url`.
pub fn read_root(url: &str, key: &str, bytes: &[u8]) -> std::result::Result<Root, ReadError> {
    if key == "zarr.json" {
        return Ok(match metadata::v3::parse_root(bytes)? {
            metadata::v3::Root::Consolidated(Consolidated { nodes, warnings }) => {
                Root::Consolidated(Hierarchy::new(url, 3, true, nodes, warnings))
            }
            metadata::v3::Root::Array(node) => {
                Root::Array(Hierarchy::new(url, 3, false, vec![node], vec![]))
            }
            metadata::v3::Root::Unconsolidated(node) => {
                Root::Group(Hierarchy::new(url, 3, false, vec![node], vec![]))
            }
        });
    }
    let Consolidated {
        nodes,
        mut warnings,
    } = metadata::v2::parse_consolidated(bytes)?;
    if key == "zmetadata" {
        warnings.push("read consolidated metadata from \"zmetadata\" (no leading dot), as an old zarr-python wrote it".into());
    }
    Ok(Root::Consolidated(Hierarchy::new(
        url, 2, true, nodes, warnings,
    )))
}

/// Parse the document at `url` (for messages).
pub(super) fn parse_json(url: &str, bytes: &[u8]) -> Result<serde_json::Value> {
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
pub(super) enum Found {
    Tree(Hierarchy),
    /// A v3 `zarr.json` that is a lone array (complete on its own).
    LoneArray(Hierarchy),
    /// A v3 group `zarr.json` without consolidated metadata.
    UnconsolidatedV3,
    Nothing,
}

/// What the `zarr.json` and `.zmetadata` probes of directory `prefix` hold.
pub(super) fn consolidated_in(
    ms: &StoreHandle,
    prefix: &str,
    v3: &Probe,
    v2: &Probe,
) -> Result<Found> {
    let url = ms.location.url_of(prefix);
    if let Probe::Found(bytes) = v3 {
        let doc_url = format!("{url}/zarr.json");
        return Ok(
            match read_root(&url, "zarr.json", bytes).map_err(|e| match draft_format(bytes) {
                Some(format) => draft_v3_error(&url, &format),
                None => read_error(&doc_url, e),
            })? {
                Root::Consolidated(h) => Found::Tree(h),
                Root::Array(h) => Found::LoneArray(h),
                Root::Group(_) => Found::UnconsolidatedV3,
            },
        );
    }
    if let Probe::Found(bytes) = v2 {
        return from_v2(&url, ".zmetadata", bytes).map(Found::Tree);
    }
    Ok(Found::Nothing)
}

/// What the store-root document `key` (`zarr.json`, `.zmetadata`,
/// `zmetadata`) of the store at `url` describes, with the errors the probes
/// give (a draft v3 `zarr.json` named as such): for a caller that found the
/// document by listing (`find`).
pub(crate) fn root_document(url: &str, key: &str, bytes: &[u8]) -> Result<Root> {
    read_root(url, key, bytes).map_err(|e| match draft_format(bytes) {
        Some(format) if key == "zarr.json" => draft_v3_error(url, &format),
        _ => read_error(&format!("{url}/{key}"), e),
    })
}

/// The tree in the v2 consolidated document `key` of the store at `url`.
pub(super) fn from_v2(url: &str, key: &str, bytes: &[u8]) -> Result<Hierarchy> {
    read_root(url, key, bytes)
        .map(Root::hierarchy)
        .map_err(|e| read_error(&format!("{url}/{key}"), e))
}

/// Read the tree at `ms.location` from consolidated metadata: the store's
/// own, or for a URL inside a store the nearest ancestor's (that subtree).
pub async fn read_consolidated(ms: &StoreHandle) -> Result<Hierarchy> {
    match super::detect(ms).await? {
        Opened::Tree(h) => Ok(h),
        Opened::Unconsolidated(u) => Err(u.error),
    }
}

/// The draft `zarr_format` of a `zarr.json` body, if it is one.
pub(super) fn draft_format(bytes: &[u8]) -> Option<String> {
    let doc = json::parse(bytes).ok()?;
    draft_v3(&doc).map(str::to_string)
}

/// What `--consolidated-only` reports for a group without consolidated
/// metadata.
pub(super) fn no_consolidated(ms: &StoreHandle, zarr_format: u8, also_v2: bool) -> Error {
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
