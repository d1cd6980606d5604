//! The one listing every reader and chore uses: keys come back exactly as
//! the store names them (on S3 from our own ListObjectsV2, see
//! `store::backend::s3::list`), so `x*y`, `a//b` or a folder marker `x/sub/`
//! are what later requests name.

use chrono::{DateTime, SecondsFormat, Utc};
use futures::TryStreamExt;
use object_store::{ObjectMeta, ObjectStore};
use serde::Serialize;

use super::StoreHandle;
use crate::keys;

/// One object as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectInfo {
    /// Bucket-relative key.
    pub key: String,
    pub size: u64,
    pub last_modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
}

impl From<&ObjectMeta> for ObjectInfo {
    fn from(meta: &ObjectMeta) -> Self {
        Self {
            key: keys::key_of(&meta.location).to_string(),
            size: meta.size,
            last_modified: timestamp(&meta.last_modified),
            etag: meta.e_tag.clone(),
        }
    }
}

pub fn timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl From<crate::store::backend::s3::list::RawObject> for ObjectInfo {
    fn from(o: crate::store::backend::s3::list::RawObject) -> Self {
        let last_modified = DateTime::parse_from_rfc3339(&o.last_modified)
            .map(|t| timestamp(&t.with_timezone(&Utc)))
            .unwrap_or(o.last_modified);
        Self {
            key: o.key,
            size: o.size,
            last_modified,
            etag: o.e_tag,
        }
    }
}

/// One listing, keys exactly as the store names them.
#[derive(Debug, Default)]
pub struct Keys {
    pub objects: Vec<ObjectInfo>,
    /// Delimited listings only: sub-prefixes without their trailing `/`
    /// (`a/` for the common prefix `a//`).
    pub directories: Vec<String>,
}

/// Every object below `prefix` (a directory; `""` is the bucket root), or
/// with `delimited` its immediate objects and sub-prefixes.
pub async fn list_keys(
    handle: &StoreHandle,
    prefix: &str,
    delimited: bool,
) -> object_store::Result<Keys> {
    if let Some(lister) = &handle.s3_lister {
        let raw = lister.list(prefix, delimited).await?;
        return Ok(Keys {
            objects: raw.objects.into_iter().map(ObjectInfo::from).collect(),
            directories: raw
                .common_prefixes
                .into_iter()
                .map(|p| p.strip_suffix('/').map(str::to_string).unwrap_or(p))
                .collect(),
        });
    }
    let path = keys::prefix(prefix)?;
    if delimited {
        let listed = handle.store.list_with_delimiter(path.as_ref()).await?;
        return Ok(Keys {
            objects: listed.objects.iter().map(ObjectInfo::from).collect(),
            directories: listed
                .common_prefixes
                .iter()
                .map(|p| keys::key_of(p).to_string())
                .collect(),
        });
    }
    let metas: Vec<ObjectMeta> = handle.store.list(path.as_ref()).try_collect().await?;
    Ok(Keys {
        objects: metas.iter().map(ObjectInfo::from).collect(),
        directories: Vec::new(),
    })
}

/// One delimited listing of `prefix`, asking `stop` after each page but the
/// last (with that page's keys) whether to stop before the next; the flag says
/// whether it stopped with pages left. Only S3 listings are paged here;
/// other backends list the whole directory at once.
pub async fn list_directory_until(
    handle: &StoreHandle,
    prefix: &str,
    stop: &mut (dyn FnMut(&Keys) -> bool + Send),
) -> object_store::Result<(Keys, bool)> {
    if let Some(lister) = &handle.s3_lister {
        let to_keys = |raw: &crate::store::backend::s3::list::RawListing| Keys {
            objects: raw.objects.iter().cloned().map(ObjectInfo::from).collect(),
            directories: raw.common_prefixes.iter().map(|p| directory(p)).collect(),
        };
        let (raw, stopped) = lister
            .list_until(prefix, true, &mut |raw| stop(&to_keys(raw)))
            .await?;
        return Ok((to_keys(&raw), stopped));
    }
    list_keys(handle, prefix, true)
        .await
        .map(|keys| (keys, false))
}

/// A common prefix as a directory key: without its trailing `/`.
fn directory(prefix: &str) -> String {
    prefix
        .strip_suffix('/')
        .map(str::to_string)
        .unwrap_or_else(|| prefix.to_string())
}
