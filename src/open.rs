//! Find and read a store's consolidated metadata through the guarded store:
//! the v3 root `zarr.json` and the v2 `.zmetadata` are requested at once, so
//! either format costs one round trip. Further probes happen only on the way
//! to an error message (or for the rare `zmetadata` spelling).

use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::metadata::{self, Consolidated, NodeDoc, NodeKind, json};
use crate::store::StoreHandle;

/// One probe's outcome.
enum Probe {
    Found(Bytes),
    /// 404, or 403 while anonymous (public AWS buckets answer 403 for missing keys).
    Absent {
        forbidden: bool,
    },
}

async fn probe(ms: &StoreHandle, key: &str) -> Result<Probe> {
    let path = Path::from(key);
    let fetched = match ms.store.get(&path).await {
        Ok(result) => result.bytes().await,
        Err(e) => Err(e),
    };
    match fetched {
        Ok(bytes) => Ok(Probe::Found(bytes)),
        Err(object_store::Error::NotFound { .. }) => Ok(Probe::Absent { forbidden: false }),
        Err(object_store::Error::PermissionDenied { .. }) if ms.anonymous => {
            Ok(Probe::Absent { forbidden: true })
        }
        Err(e) => Err(ms.explain(key, &e)),
    }
}

fn parse_json(ms: &StoreHandle, key: &str, bytes: &[u8]) -> Result<serde_json::Value> {
    json::parse(bytes).map_err(|e| {
        let hint = e.looks_like.map_or_else(
            || "the document is not valid JSON; if it was written by a tool, rewrite it (zarr.consolidate_metadata)".to_string(),
            |what| format!("{what}; check the URL and endpoint"),
        );
        Error::new(format!(
            "{}/{key} is not valid JSON at line {}, column {}: {}",
            ms.location.url, e.line, e.column, e.message
        ))
        .with_hint(hint)
    })
}

fn not_zarr(ms: &StoreHandle, key: &str, reason: String) -> Error {
    Error::new(format!(
        "{}/{key} is not usable Zarr metadata: {reason}",
        ms.location.url
    ))
    .with_hint("check that the URL points at the root of a Zarr store")
}

fn from_v2(ms: &StoreHandle, key: &str, bytes: &[u8]) -> Result<Hierarchy> {
    let doc = parse_json(ms, key, bytes)?;
    let Consolidated {
        nodes,
        mut warnings,
    } = metadata::v2::parse_consolidated(doc).map_err(|r| not_zarr(ms, key, r))?;
    if key == "zmetadata" {
        warnings.push("read consolidated metadata from \"zmetadata\" (no leading dot), as an old zarr-python wrote it".into());
    }
    Ok(Hierarchy::new(
        ms.location.url.clone(),
        2,
        true,
        nodes,
        warnings,
    ))
}

/// Read the tree of the store at `ms.location` from consolidated metadata.
pub async fn read_consolidated(ms: &StoreHandle) -> Result<Hierarchy> {
    let (v3, v2) = futures::join!(probe(ms, "zarr.json"), probe(ms, ".zmetadata"));
    let (v3, v2) = (v3?, v2?);

    if let Probe::Found(bytes) = &v3 {
        let doc = parse_json(ms, "zarr.json", bytes)?;
        return match metadata::v3::parse_root(doc).map_err(|r| not_zarr(ms, "zarr.json", r))? {
            metadata::v3::Root::Consolidated(Consolidated { nodes, warnings }) => Ok(
                Hierarchy::new(ms.location.url.clone(), 3, true, nodes, warnings),
            ),
            // A lone array's zarr.json is its complete metadata.
            metadata::v3::Root::Array(node) => Ok(Hierarchy::new(
                ms.location.url.clone(),
                3,
                false,
                vec![node],
                vec![],
            )),
            metadata::v3::Root::Unconsolidated(_) => {
                let also_v2 = matches!(v2, Probe::Found(_));
                Err(no_consolidated(ms, 3, also_v2))
            }
        };
    }
    if let Probe::Found(bytes) = &v2 {
        return from_v2(ms, ".zmetadata", bytes);
    }

    // Nothing consolidated. One more round trip tells the user what is here.
    let (old, zgroup, zarray, zattrs) = futures::join!(
        probe(ms, "zmetadata"),
        probe(ms, ".zgroup"),
        probe(ms, ".zarray"),
        probe(ms, ".zattrs")
    );
    if let Probe::Found(bytes) = old? {
        return from_v2(ms, "zmetadata", &bytes);
    }
    if let Probe::Found(bytes) = zarray? {
        // A lone v2 array: .zarray (+ .zattrs) is its complete metadata.
        let doc = parse_json(ms, ".zarray", &bytes)?;
        let attributes = match zattrs? {
            Probe::Found(a) => match parse_json(ms, ".zattrs", &a)? {
                serde_json::Value::Object(map) => map,
                _ => Default::default(),
            },
            Probe::Absent { .. } => Default::default(),
        };
        let kind = match metadata::v2::parse_array(&doc, &attributes) {
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
            vec![],
        ));
    }
    if let Probe::Found(_) = zgroup? {
        return Err(no_consolidated(ms, 2, false));
    }
    let forbidden = matches!(v3, Probe::Absent { forbidden: true })
        || matches!(v2, Probe::Absent { forbidden: true });
    let looked = "zarr.json, .zmetadata, zmetadata, .zgroup, .zarray";
    let err = Error::new(format!(
        "no Zarr metadata found at {} (looked for {looked})",
        ms.location.url
    ));
    Err(if forbidden {
        err.with_hint("the server answered 403 to unsigned requests: the path may be wrong (public AWS buckets answer 403 for missing keys) or the bucket may need credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)")
    } else {
        err.with_hint("check that the URL points at the store's root (the folder that holds zarr.json or .zmetadata)")
    })
}

fn no_consolidated(ms: &StoreHandle, zarr_format: u8, also_v2: bool) -> Error {
    let which = if zarr_format == 3 {
        "its root zarr.json has no consolidated_metadata"
    } else {
        "it has .zgroup but no .zmetadata"
    };
    let mut hint = "reading every node's metadata needs a crawl (`zarrscope tree --crawl`, coming in the crawl work); with zarr-python you can write consolidated metadata with zarr.consolidate_metadata(store)".to_string();
    if also_v2 {
        hint.push_str("; a v2 .zmetadata sits beside zarr.json, but zarr readers use the v3 metadata, so zarrscope does too");
    }
    Error::new(format!(
        "{} is a Zarr v{zarr_format} store without consolidated metadata: {which}",
        ms.location.url
    ))
    .with_hint(hint)
}
