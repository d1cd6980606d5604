//! Find and read a store's consolidated metadata through the guarded store:
//! the v3 root `zarr.json` and the v2 `.zmetadata` are requested at once, so
//! either format costs one round trip. Only when neither holds consolidated
//! metadata does a second round trip (all at once) look at the location's
//! own node documents and at every ancestor up to the bucket, for a URL that
//! points inside a store.

use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::metadata::{self, Attributes, Consolidated, NodeDoc, NodeKind, ReadError, json};
use crate::store::StoreHandle;

/// One probe's outcome.
enum Probe {
    Found(Bytes),
    /// 404, or 403 while anonymous (public AWS buckets answer 403 for missing keys).
    Absent {
        forbidden: bool,
    },
}

/// GET `key`, relative to `prefix` (a bucket-relative directory).
async fn probe_in(ms: &StoreHandle, prefix: &str, key: &str) -> Result<Probe> {
    let full = join(prefix, key);
    let path = Path::from(full.as_str());
    let fetched = match ms.store.get(&path).await {
        Ok(result) => result.bytes().await,
        Err(e) => Err(e),
    };
    match fetched {
        Ok(bytes) => Ok(Probe::Found(bytes)),
        // A missing bucket is not a missing key: say so, not "no metadata".
        Err(e @ object_store::Error::NotFound { .. }) if e.to_string().contains("NoSuchBucket") => {
            Err(ms.explain_url(&ms.location.url_of(&full), &e))
        }
        Err(object_store::Error::NotFound { .. }) => Ok(Probe::Absent { forbidden: false }),
        Err(object_store::Error::PermissionDenied { .. }) if ms.anonymous => {
            Ok(Probe::Absent { forbidden: true })
        }
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
            match metadata::v3::parse_root(bytes).map_err(|e| read_error(&doc_url, e))? {
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

/// Read the tree at `ms.location` from consolidated metadata: the store's
/// own, or for a URL inside a store the nearest ancestor's (that subtree).
pub async fn read_consolidated(ms: &StoreHandle) -> Result<Hierarchy> {
    let (v3, v2) = futures::join!(probe(ms, "zarr.json"), probe(ms, ".zmetadata"));
    let (v3, v2) = (v3?, v2?);
    let here = &ms.location.prefix;
    let unconsolidated_v3 = match consolidated_in(ms, here, &v3, &v2)? {
        Found::Tree(h) | Found::LoneArray(h) => return Ok(h),
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
        return from_v2(&ms.location.url, "zmetadata", &bytes);
    }
    // The nearest ancestor holding consolidated metadata that lists this node.
    let mut stale_root = None;
    for (dir, (v3, v2)) in up.iter().zip(ancestor_results) {
        let (v3, v2) = match (v3, v2) {
            (Ok(v3), Ok(v2)) => (v3, v2),
            // An unreadable ancestor is not this node's problem.
            _ => continue,
        };
        let Ok(Found::Tree(tree)) = consolidated_in(ms, dir, &v3, &v2) else {
            continue;
        };
        let relative = super::objects::relative(here, dir).to_string();
        let root_url = tree.root_url.clone();
        match tree.select(&relative, ms.location.url.clone()) {
            Some(subtree) => return Ok(subtree),
            None => {
                stale_root = Some((root_url, relative));
                break;
            }
        }
    }
    let stale_warning = stale_root.as_ref().map(|(root, relative)| {
        format!("the consolidated metadata of {root} does not list /{relative}: it may be stale (zarrscope check {root} compares it with the per-node metadata)")
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
        return Ok(Hierarchy::new(
            ms.location.url.clone(),
            2,
            false,
            vec![node],
            stale_warning.into_iter().collect(),
        ));
    }
    if let Some((root, relative)) = stale_root {
        return Err(Error::new(format!(
            "/{relative} is not in the consolidated metadata of {root}"
        ))
        .with_hint(format!(
            "the consolidated metadata may be stale: read the per-node metadata with `{}`, or compare with `{}`",
            ms.command(&format!("tree {} --crawl", ms.location.url)),
            ms.command(&format!("check {root}"))
        )));
    }
    if unconsolidated_v3 {
        let also_v2 = matches!(v2, Probe::Found(_));
        return Err(no_consolidated(ms, 3, also_v2));
    }
    if let Probe::Found(_) = zgroup? {
        return Err(no_consolidated(ms, 2, false));
    }
    let forbidden = matches!(v3, Probe::Absent { forbidden: true })
        || matches!(v2, Probe::Absent { forbidden: true });
    let looked = "zarr.json, .zmetadata, zmetadata, .zgroup, .zarray here, and zarr.json, .zmetadata in every parent";
    let ls = ms.command(&format!("ls {}/", ms.location.url));
    Err(if forbidden {
        Error::new(format!(
            "access denied (403) to {} with unsigned requests: no Zarr metadata could be read (looked for {looked})",
            ms.location.url
        ))
        .with_hint(format!("the bucket may be private: use credentials (--profile NAME, AWS_PROFILE or AWS_ACCESS_KEY_ID); or the path may be wrong (public AWS buckets answer 403 for missing keys): `{ls}` shows what is there"))
    } else {
        Error::new(format!(
            "no Zarr metadata found at {} (looked for {looked})",
            ms.location.url
        ))
        .with_hint(format!("check the URL; `{ls}` shows what is there"))
    })
}

fn no_consolidated(ms: &StoreHandle, zarr_format: u8, also_v2: bool) -> Error {
    let which = if zarr_format == 3 {
        "its zarr.json has no consolidated_metadata"
    } else {
        "it has .zgroup but no .zmetadata"
    };
    let mut hint = format!(
        "read every node's metadata instead with `{}` (one listing per group, requests in parallel); `{}` writes consolidated metadata",
        ms.command(&format!("tree {} --crawl", ms.location.url)),
        ms.command(&format!("consolidate {}", ms.location.url))
    );
    if also_v2 {
        hint.push_str("; a v2 .zmetadata sits beside zarr.json, but zarr readers use the v3 metadata, so zarrscope does too");
    }
    Error::new(format!(
        "{} is a Zarr v{zarr_format} store without consolidated metadata: {which}",
        ms.location.url
    ))
    .with_hint(hint)
}
