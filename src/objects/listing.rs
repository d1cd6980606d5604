//! Listing: immediate children (`ls`), everything below a prefix (`ls -r`,
//! `du`), and what one key is (`info`). Listings never GET an object.
//!
//! Every listing goes through [`list_keys`], the store's one listing (keys
//! exactly as the store names them).

use std::collections::BTreeMap;

use object_store::{Attribute, GetOptions, ObjectStore, ObjectStoreExt};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::keys;
use crate::keys::{base_name, relative};
use crate::progress::Progress;
use crate::store::StoreHandle;
use crate::store::listing::{ObjectInfo, list_keys, timestamp};

/// A Zarr store found in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZarrStore {
    /// Bucket-relative key of the store root (no trailing `/`).
    pub key: String,
    /// "v2" or "v3".
    pub format: &'static str,
    /// True when a v2 `.zmetadata` sits at the root (v3 would need a GET to tell).
    pub consolidated: bool,
}

/// What `ls` found under a prefix.
#[derive(Debug, Default, Serialize)]
pub struct Listing {
    /// Bucket-relative prefix that was listed (`""` for the bucket root);
    /// in JSON it is the envelope's `prefix`.
    #[serde(skip)]
    pub prefix: String,
    /// Sub-prefixes ("directories"), bucket-relative, without trailing `/`.
    pub directories: Vec<String>,
    pub objects: Vec<ObjectInfo>,
    /// Zarr stores recognisable from the keys listed (never from a GET).
    pub zarr_stores: Vec<ZarrStore>,
    /// The URL named one object, not a prefix.
    #[serde(skip)]
    pub single_object: bool,
}

/// `ls`: immediate children of `prefix` (one delimited LIST), or with
/// `recursive` every object below it. A prefix that lists empty is looked up
/// as an object (one HEAD) before "nothing here" is reported.
pub async fn ls(
    handle: &StoreHandle,
    prefix: &str,
    recursive: bool,
    progress: &Progress,
) -> Result<Listing> {
    let store = &handle.store;
    let url = handle.location.url.clone();
    let mut listing = Listing {
        prefix: prefix.to_string(),
        ..Listing::default()
    };
    if recursive {
        listing.objects = list_all(handle, prefix, progress).await?;
    } else {
        let result = list_keys(handle, prefix, true)
            .await
            .map_err(|e| handle.explain_url(&url, &e))?;
        listing.directories = result.directories;
        listing.objects = result.objects;
    }
    if listing.objects.is_empty() && listing.directories.is_empty() && !prefix.is_empty() {
        match store.head(&keys::path(prefix)?).await {
            Ok(meta) => {
                listing.objects.push(ObjectInfo::from(&meta));
                listing.single_object = true;
            }
            Err(object_store::Error::NotFound { .. })
            | Err(object_store::Error::PermissionDenied { .. }) => {
                return Err(Error::new(format!("nothing found at {url}")).with_hint(
                    "no object has this key and no key starts with it; list the parent to see what is there",
                ));
            }
            Err(e) => return Err(handle.explain_url(&url, &e)),
        }
    }
    listing.zarr_stores = zarr_stores(
        prefix,
        listing.objects.iter().map(|o| o.key.as_str()),
        recursive,
    );
    Ok(listing)
}

/// Every object below `prefix`, following pagination, with a progress
/// spinner on a TTY.
pub async fn list_all(
    handle: &StoreHandle,
    prefix: &str,
    progress: &Progress,
) -> Result<Vec<ObjectInfo>> {
    progress.message(format!("listing {}", handle.location.url));
    let listed = list_keys(handle, prefix, false)
        .await
        .map_err(|e| handle.explain_url(&handle.location.url, &e))?;
    let bytes = listed
        .objects
        .iter()
        .fold(0u64, |a, o| a.saturating_add(o.size));
    progress.message(format!(
        "listed {} objects, {}",
        listed.objects.len(),
        crate::render::text::size_text(bytes)
    ));
    Ok(listed.objects)
}

/// Zarr store roots among `keys`: directories holding a metadata document
/// whose parent holds none. With a flat listing only the listed prefix itself
/// can be recognised.
pub fn zarr_stores<'a>(
    prefix: &str,
    keys: impl Iterator<Item = &'a str>,
    recursive: bool,
) -> Vec<ZarrStore> {
    // directory → (format, has .zmetadata)
    let mut nodes: BTreeMap<String, (&'static str, bool)> = BTreeMap::new();
    for key in keys {
        let name = base_name(key);
        if !crate::source::ZARR_KEYS.names.contains(&name) {
            continue;
        }
        let dir = key.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        if !recursive && dir != prefix {
            continue;
        }
        let entry = nodes.entry(dir).or_insert(("v2", false));
        if name == "zarr.json" {
            entry.0 = "v3";
        }
        if name == ".zmetadata" || name == "zmetadata" {
            entry.1 = true;
        }
    }
    let inside_another = |dir: &str| {
        let mut current = dir;
        while !current.is_empty() {
            current = current.rsplit_once('/').map_or("", |(up, _)| up);
            if nodes.contains_key(current) {
                return true;
            }
        }
        false
    };
    nodes
        .iter()
        .filter(|(dir, _)| !inside_another(dir))
        .map(|(dir, (format, consolidated))| ZarrStore {
            key: dir.clone(),
            format,
            consolidated: *consolidated,
        })
        .collect()
}

/// `du`: objects and bytes below a prefix, optionally per child.
#[derive(Debug, Serialize)]
pub struct Usage {
    /// In JSON, the envelope's `prefix`.
    #[serde(skip)]
    pub prefix: String,
    pub objects: u64,
    pub bytes: u64,
    /// Per path `-d N` levels down: directories as `name/`, objects by name.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<ChildUsage>,
}

#[derive(Debug, Serialize)]
pub struct ChildUsage {
    pub name: String,
    pub objects: u64,
    pub bytes: u64,
}

/// Totals below `prefix`; with `depth` > 0 also per path `depth` levels down.
pub async fn du(
    handle: &StoreHandle,
    prefix: &str,
    depth: usize,
    progress: &Progress,
) -> Result<Usage> {
    let metas = list_all(handle, prefix, progress).await?;
    if metas.is_empty() && !prefix.is_empty() {
        // Maybe one object: `du` of a key is its size.
        if let Ok(meta) = handle.store.head(&keys::path(prefix)?).await {
            return Ok(Usage {
                prefix: prefix.to_string(),
                objects: 1,
                bytes: meta.size,
                children: Vec::new(),
            });
        }
        return Err(
            Error::new(format!("nothing found at {}", handle.location.url)).with_hint(format!(
                "list the parent with `{}` to see what is there",
                handle.command(&format!("ls {}", super::parent_url(&handle.location.url)))
            )),
        );
    }
    let mut children: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let (mut objects, mut bytes) = (0u64, 0u64);
    for meta in &metas {
        objects += 1;
        bytes = bytes.saturating_add(meta.size);
        if depth > 0 {
            let rel = relative(&meta.key, prefix);
            let segments: Vec<&str> = rel.split('/').collect();
            let name = if segments.len() > depth {
                format!("{}/", segments[..depth].join("/"))
            } else {
                rel.to_string()
            };
            let c = children.entry(name).or_default();
            c.0 += 1;
            c.1 = c.1.saturating_add(meta.size);
        }
    }
    Ok(Usage {
        prefix: prefix.to_string(),
        objects,
        bytes,
        children: children
            .into_iter()
            .map(|(name, (objects, bytes))| ChildUsage {
                name,
                objects,
                bytes,
            })
            .collect(),
    })
}

/// `info`: what a key is.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Info {
    Object {
        /// In JSON, the envelope's `url`.
        #[serde(skip)]
        url: String,
        key: String,
        size: u64,
        last_modified: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        etag: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        version: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content_type: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content_encoding: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<String>,
    },
    Directory {
        #[serde(skip)]
        url: String,
        key: String,
        objects: u64,
        bytes: u64,
    },
}

/// One HEAD; when the key is not an object (or the path ends in `/`), one
/// listing of the prefix for its object count and size.
pub async fn info(
    handle: &StoreHandle,
    key: &str,
    as_directory: bool,
    progress: &Progress,
) -> Result<Info> {
    let url = handle.location.url.clone();
    if !key.is_empty() && !as_directory {
        let head = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        match handle.store.get_opts(&keys::path(key)?, head).await {
            Ok(result) => {
                let attr = |a: Attribute| result.attributes.get(&a).map(|v| v.to_string());
                return Ok(Info::Object {
                    url,
                    key: key.to_string(),
                    size: result.meta.size,
                    last_modified: timestamp(&result.meta.last_modified),
                    etag: result.meta.e_tag.clone(),
                    version: result.meta.version.clone(),
                    content_type: attr(Attribute::ContentType),
                    content_encoding: attr(Attribute::ContentEncoding),
                    cache_control: attr(Attribute::CacheControl),
                });
            }
            // Not an object (anonymous AWS says 403): maybe a prefix.
            Err(object_store::Error::NotFound { .. })
            | Err(object_store::Error::PermissionDenied { .. }) => {}
            Err(e) => return Err(handle.explain_url(&url, &e)),
        }
    }
    let metas = list_all(handle, key, progress).await?;
    if metas.is_empty() && !key.is_empty() {
        return Err(
            Error::new(format!("nothing found at {url}")).with_hint(format!(
                "no object has this key and no key starts with it; `{}` shows what is there",
                handle.command(&format!("ls {}", super::parent_url(&url)))
            )),
        );
    }
    Ok(Info::Directory {
        url,
        key: key.to_string(),
        objects: metas.len() as u64,
        bytes: metas.iter().fold(0u64, |a, m| a.saturating_add(m.size)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zarr_roots_from_a_recursive_listing() {
        let keys = [
            "data/a.zarr/.zmetadata",
            "data/a.zarr/.zgroup",
            "data/a.zarr/x/.zarray",
            "data/a.zarr/x/0.0",
            "data/b.zarr/zarr.json",
            "data/b.zarr/g/zarr.json",
            "data/readme.txt",
        ];
        let found = zarr_stores("data", keys.into_iter(), true);
        assert_eq!(
            found,
            vec![
                ZarrStore {
                    key: "data/a.zarr".into(),
                    format: "v2",
                    consolidated: true
                },
                ZarrStore {
                    key: "data/b.zarr".into(),
                    format: "v3",
                    consolidated: false
                },
            ]
        );
        // Flat: only the listed prefix itself can be recognised.
        let flat = zarr_stores("data/a.zarr", ["data/a.zarr/.zmetadata"].into_iter(), false);
        assert_eq!(flat.len(), 1);
        assert!(zarr_stores("data", keys.into_iter(), false).is_empty());
    }
}
