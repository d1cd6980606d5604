//! `rm`: show what would be deleted (count and bytes), delete only when
//! confirmed; recursive only with `-r`.

use futures::{StreamExt, stream};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::keys;
use crate::store::listing::ObjectInfo;
use crate::store::{Doing, StoreHandle};

#[derive(Debug, Serialize)]
pub struct Removal {
    pub objects: Vec<ObjectInfo>,
    pub bytes: u64,
}

/// What `rm` would delete: the object at the key, or with `recursive` every
/// object below the prefix.
pub async fn plan(handle: &StoreHandle, key: &str, recursive: bool) -> Result<Removal> {
    let url = handle.location.url.clone();
    let single = |meta: &ObjectMeta| Removal {
        bytes: meta.size,
        objects: vec![ObjectInfo::from(meta)],
    };
    // The likelier reading first: -r names a prefix, otherwise an object.
    if recursive {
        let listed = list_below(handle, key).await?;
        if !listed.is_empty() {
            return Ok(Removal {
                bytes: listed.iter().fold(0u64, |a, m| a.saturating_add(m.size)),
                objects: listed,
            });
        }
        if let Some(meta) = head_object(handle, key).await? {
            return Ok(single(&meta));
        }
    } else {
        if let Some(meta) = head_object(handle, key).await? {
            return Ok(single(&meta));
        }
        let listed = list_below(handle, key).await?;
        if !listed.is_empty() {
            let bytes = listed.iter().fold(0u64, |a, m| a.saturating_add(m.size));
            return Err(Error::new(format!(
                "{url} is a directory holding {} objects ({})",
                listed.len(),
                crate::render::text::size_text(bytes)
            ))
            .with_hint("add -r (--recursive) to delete everything below it"));
        }
    }
    Err(Error::of_kind(
        ErrorKind::NothingAtUrl,
        format!("nothing to delete: {url} does not exist"),
    )
    .with_hint(format!(
        "check the path; `{}` shows what is there",
        handle.command(&format!("ls {}", super::parent_url(&url)))
    )))
}

/// The object at `key`, if there is one (anonymous AWS answers 403 for "no").
async fn head_object(handle: &StoreHandle, key: &str) -> Result<Option<ObjectMeta>> {
    if key.is_empty() {
        return Ok(None);
    }
    match handle.store.head(&keys::path(key)?).await {
        Ok(meta) => Ok(Some(meta)),
        Err(object_store::Error::NotFound { .. })
        | Err(object_store::Error::PermissionDenied { .. }) => Ok(None),
        Err(e) => Err(handle.explain_url(&handle.location.url, &e)),
    }
}

async fn list_below(handle: &StoreHandle, key: &str) -> Result<Vec<ObjectInfo>> {
    crate::store::listing::list_keys(handle, key, false)
        .await
        .map(|listed| listed.objects)
        .map_err(|e| handle.explain_url(&handle.location.url, &e))
}

#[derive(Debug, Default, Serialize)]
pub struct RemoveReport {
    pub deleted: Vec<String>,
    /// Keys not deleted, with the reason.
    pub failed: Vec<(String, String)>,
}

/// Delete the planned objects (batched by the store, e.g. S3 DeleteObjects).
pub async fn execute(handle: &StoreHandle, removal: &Removal) -> RemoveReport {
    let mut report = RemoveReport::default();
    // A key no request can name (a `..` segment) is reported, not guessed at.
    let mut paths: Vec<Path> = Vec::new();
    for object in &removal.objects {
        match keys::path(&object.key) {
            Ok(path) => paths.push(path),
            Err(e) => report.failed.push((object.key.clone(), e.to_string())),
        }
    }
    // object_store reads the keys of a batch's per-key errors back with
    // `Path::parse`, which cannot hold `a//b` and turns `x/sub/` into `x/sub`
    // (a panic on its side): such keys are deleted one request each.
    let (batched, single): (Vec<Path>, Vec<Path>) = paths
        .iter()
        .cloned()
        .partition(|p| Path::parse(p.as_ref()).is_ok_and(|parsed| parsed == *p));
    let mut results: Vec<_> = handle
        .store
        .delete_stream(stream::iter(batched.into_iter().map(Ok)).boxed())
        .collect()
        .await;
    for path in single {
        results.push(handle.store.delete(&path).await.map(|()| path));
    }
    let mut confirmed = std::collections::HashSet::new();
    for r in results {
        match r {
            Ok(path) => {
                confirmed.insert(keys::key_of(&path).to_string());
            }
            Err(e) => {
                let key = match &e {
                    object_store::Error::NotFound { path, .. } => path.clone(),
                    _ => String::new(),
                };
                let why = handle.redact(
                    &handle
                        .explain_request(Doing::Deleting, &handle.location.url_of(&key), &e)
                        .to_string(),
                );
                report.failed.push((key, why));
            }
        }
    }
    for path in paths {
        let key = keys::key_of(&path).to_string();
        if confirmed.contains(&key) {
            report.deleted.push(key);
        } else if !report.failed.iter().any(|(k, _)| *k == key) {
            // A batch error names no key: every unconfirmed key failed.
            let why = report
                .failed
                .iter()
                .find(|(k, _)| k.is_empty())
                .map_or_else(
                    || "not confirmed by the server".to_string(),
                    |(_, w)| w.clone(),
                );
            report.failed.push((key, why));
        }
    }
    report.failed.retain(|(k, _)| !k.is_empty());
    report
}
