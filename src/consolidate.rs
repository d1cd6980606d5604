//! `consolidate`: write consolidated metadata from a crawl, the way
//! zarr-python writes it — v2 `.zmetadata` (`zarr_consolidated_format: 1`),
//! v3 `consolidated_metadata` inline in the root `zarr.json` with every other
//! field of that document kept.
//!
//! The write is conditional: If-Match on the ETag of the document that was
//! read (the root `zarr.json`, or the current `.zmetadata`), If-None-Match
//! when there is none yet — so a concurrent change is reported, never
//! overwritten.

use bytes::Bytes;
use object_store::{PutPayload, UpdateVersion};
use serde_json::{Map, Value, json};

use crate::compare::{Comparison, compare};
use crate::error::{Error, Result};
use crate::hierarchy::Hierarchy;
use crate::metadata::json as lenient;
use crate::source::Got;
use crate::source::consolidated::{Root, read_root};
use crate::source::crawl::{Crawled, Document};
use crate::store::{Doing, StoreHandle};

/// What `consolidate` would write.
pub struct Plan {
    /// Store-relative key: `.zmetadata` or `zarr.json`.
    pub key: &'static str,
    pub body: Bytes,
    /// The tree the new document describes (parsed back from `body`).
    pub written: Hierarchy,
    /// The consolidated metadata there now, if any.
    pub current: Option<Hierarchy>,
    /// `written` compared with `current` (everything new when there is none).
    pub changes: Comparison,
    /// The ETag (and, on GCS, the generation) the write is conditional on;
    /// `None`: the key must not exist.
    pub if_match: Option<UpdateVersion>,
}

/// v2: the documents' own bytes, spliced into one `.zmetadata` (bare NaN
/// tokens and number spellings survive as written).
fn v2_body(documents: &std::collections::BTreeMap<String, Document>) -> Result<Bytes> {
    let mut out = String::from("{\"metadata\":{");
    let mut first = true;
    for (key, doc) in documents {
        let name = key.rsplit('/').next().unwrap_or(key);
        if ![".zgroup", ".zarray", ".zattrs"].contains(&name) {
            continue;
        }
        let raw = std::str::from_utf8(&doc.raw)
            .map_err(|_| Error::new(format!("{key} is not UTF-8 text")))?;
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&serde_json::to_string(key).map_err(|e| Error::new(e.to_string()))?);
        out.push(':');
        out.push_str(raw.trim());
    }
    out.push_str("},\"zarr_consolidated_format\":1}\n");
    Ok(Bytes::from(out))
}

/// v3: the root document with a fresh inline block; nested groups' own
/// blocks are dropped (the root's lists every node).
fn v3_body(documents: &std::collections::BTreeMap<String, Document>) -> Result<Bytes> {
    let root = documents
        .get("zarr.json")
        .ok_or_else(|| Error::new("the crawl read no root zarr.json"))?;
    let mut root = root.value.clone();
    let mut entries = Map::new();
    for (key, doc) in documents {
        let Some(path) = key.strip_suffix("/zarr.json") else {
            continue;
        };
        let mut value = doc.value.clone();
        if let Some(obj) = value.as_object_mut() {
            obj.remove("consolidated_metadata");
        }
        entries.insert(path.to_string(), value);
    }
    let Some(obj) = root.as_object_mut() else {
        return Err(Error::new("the root zarr.json is not a JSON object"));
    };
    obj.insert(
        "consolidated_metadata".into(),
        json!({"kind": "inline", "must_understand": false, "metadata": Value::Object(entries)}),
    );
    let mut body = serde_json::to_vec_pretty(&root).map_err(|e| Error::new(e.to_string()))?;
    body.push(b'\n');
    Ok(Bytes::from(body))
}

/// The consolidated tree a body describes, read back with the same parser
/// `tree` uses.
fn read_back(url: &str, key: &str, body: &[u8]) -> Result<Hierarchy> {
    let invalid = |r: &dyn std::fmt::Display| {
        Error::new(format!("the {key} written would not read back: {r}"))
    };
    read_root(url, key, body)
        .map_err(|e| invalid(&e))?
        .consolidated()
        .ok_or_else(|| invalid(&"no consolidated metadata in it"))
}

/// The store's `.zmetadata` now, with its ETag (v2 consolidate).
pub async fn current_zmetadata(ms: &StoreHandle) -> Result<Option<Document>> {
    match crate::source::get(ms, &ms.path(".zmetadata")?).await {
        Ok(Got::Found { raw, version }) => {
            // Unreadable current metadata is what consolidate repairs.
            let value = lenient::parse(&raw).unwrap_or(serde_json::Value::Null);
            Ok(Some(Document {
                raw,
                value,
                version,
            }))
        }
        Ok(Got::Absent {
            forbidden: false, ..
        }) => Ok(None),
        Ok(Got::Absent { error: e, .. }) | Err(e) => Err(ms.explain(".zmetadata", &e)),
    }
}

/// Plan from a complete crawl. `current_zmetadata` is the store's `.zmetadata`
/// as read now (v2 only).
pub fn plan(
    ms: &StoreHandle,
    crawled: &Crawled,
    current_zmetadata: Option<&Document>,
) -> Result<Plan> {
    let h = &crawled.hierarchy;
    if !h.complete {
        return Err(Error::new(
            "the crawl did not finish, so consolidated metadata would miss nodes",
        )
        .with_hint("raise --max-requests (and check the warnings above)"));
    }
    let url = ms.location.url.clone();
    let (key, body, current, if_match) = if h.zarr_format == 3 {
        let root = crawled
            .documents
            .get("zarr.json")
            .ok_or_else(|| Error::new("the crawl read no root zarr.json"))?;
        if root.value.get("node_type").and_then(Value::as_str) != Some("group") {
            return Err(Error::new(format!(
                "{url} is an array: consolidated metadata belongs to a group"
            )));
        }
        let current = read_root(&url, "zarr.json", &root.raw)
            .ok()
            .and_then(Root::consolidated);
        if root.version.e_tag.is_none() {
            return Err(Error::new(
                "the server gave no ETag for zarr.json, so the write cannot be made safe",
            )
            .with_hint("zarrscope writes consolidated metadata only with a conditional PUT"));
        }
        (
            "zarr.json",
            v3_body(&crawled.documents)?,
            current,
            Some(root.version.clone()),
        )
    } else {
        if !crawled.documents.contains_key(".zgroup") {
            return Err(Error::new(format!(
                "{url} is not a group: consolidated metadata belongs to a group"
            )));
        }
        let (current, etag) = match current_zmetadata {
            Some(doc) => {
                let current = read_root(&url, ".zmetadata", &doc.raw)
                    .ok()
                    .map(Root::hierarchy);
                if doc.version.e_tag.is_none() {
                    return Err(Error::new(
                        "the server gave no ETag for .zmetadata, so the write cannot be made safe",
                    ));
                }
                (current, Some(doc.version.clone()))
            }
            None => (None, None),
        };
        (".zmetadata", v2_body(&crawled.documents)?, current, etag)
    };
    let written = read_back(&url, key, &body)?;
    let empty = Hierarchy::new(url.clone(), h.zarr_format, true, Vec::new(), Vec::new());
    let changes = compare(current.as_ref().unwrap_or(&empty), &written);
    Ok(Plan {
        key,
        body,
        written,
        current,
        changes,
        if_match,
    })
}

/// Write the planned document with a conditional PUT.
pub async fn write(ms: &StoreHandle, plan: &Plan) -> Result<()> {
    let url = ms.location.url_of(&ms.location.key(plan.key));
    let payload = PutPayload::from(plan.body.clone());
    match ms
        .put_if_unchanged(&ms.path(plan.key)?, payload, plan.if_match.clone())
        .await
    {
        Ok(_) => Ok(()),
        Err(object_store::Error::Precondition { .. })
        | Err(object_store::Error::AlreadyExists { .. }) => Err(conflict(&url)),
        Err(e) => Err(ms.explain_request(Doing::Writing, &url, &e)),
    }
}

fn conflict(url: &str) -> Error {
    Error::new(format!(
        "conflict: {url} changed since it was read; nothing was written"
    ))
    .with_hint(
        "someone else is writing this store: run consolidate again to start from what is there now",
    )
}
