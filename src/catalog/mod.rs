//! Catalogs: an intake YAML catalog (HyTest's layout) or a STAC
//! collection/item/catalog, read into one list of entries, each with the
//! URL zarrscope opens and the access it declares. No I/O here: the CLI
//! fetches the catalog's text ([`crate::cli`]) and opens entries.

pub mod access;
pub mod health;
pub mod intake;
pub mod stac;

use serde::Serialize;

pub use access::Access;

use crate::error::{Error, ErrorKind, Result};
use crate::location::is_remote_url;

/// What the catalog file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    Intake,
    StacCollection,
    StacItem,
    StacCatalog,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Intake => "intake catalog",
            Format::StacCollection => "STAC collection",
            Format::StacItem => "STAC item",
            Format::StacCatalog => "STAC catalog",
        }
    }
}

/// What an entry points at, as far as the catalog says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A Zarr store (intake's zarr drivers, STAC's Zarr media types).
    Zarr,
    /// A kerchunk reference set (`reference://` with `fo`, a STAC asset
    /// with role `references`).
    References,
    /// An Icechunk repository.
    Icechunk,
    /// Another catalog: intake's YAMLFileCatalog, a STAC item or child
    /// link. `catalog URL NAME` lists it.
    Catalog,
    /// Anything else (netCDF, CSV, Parquet, …): listed, not opened.
    Other,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Zarr => "zarr",
            EntryKind::References => "references",
            EntryKind::Icechunk => "icechunk",
            EntryKind::Catalog => "catalog",
            EntryKind::Other => "other",
        }
    }

    /// Whether zarrscope opens entries of this kind as a dataset.
    pub fn is_dataset(self) -> bool {
        matches!(
            self,
            EntryKind::Zarr | EntryKind::References | EntryKind::Icechunk
        )
    }
}

/// Where a reference set's chunks are and how to reach them (fsspec's
/// `remote_protocol` and `remote_options`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Targets {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    pub access: Access,
}

/// One entry of a catalog.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub name: String,
    /// intake's driver, or the STAC asset's media type (or link relation).
    pub driver: String,
    pub kind: EntryKind,
    /// What zarrscope opens: the store, the reference file (`fo`), the
    /// sub-catalog; templates expanded, relative paths resolved.
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `consolidated` as the catalog gives it to the opener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consolidated: Option<bool>,
    /// The access the entry declares for `url`.
    pub access: Access,
    /// A reference set's targets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub targets: Option<Targets>,
}

impl Entry {
    /// The URL to open as a dataset: a reference file as
    /// `reference://URL` unless its name or form already says what it is.
    pub fn open_url(&self) -> Option<String> {
        let url = self.url.clone()?;
        if self.kind != EntryKind::References {
            return Some(url);
        }
        let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        let by_name = crate::location::names_a_reference_file(name)
            || name.ends_with(".parq")
            || name.ends_with(".parquet")
            || url.ends_with('/');
        Some(if by_name {
            url
        } else {
            format!("reference://{url}")
        })
    }

    /// A local path (not a URL) that is not on this machine: an on-prem
    /// path such as HyTEST's `/caldera/…`.
    pub fn missing_local_path(&self) -> Option<String> {
        let url = self.url.as_deref()?;
        if is_remote_url(url) {
            return None;
        }
        let path = url.strip_prefix("file://").unwrap_or(url);
        (!std::path::Path::new(path).exists()).then(|| path.to_string())
    }

    /// The description's first line, cut to `width` characters.
    pub fn short_description(&self, width: usize) -> String {
        let first = self
            .description
            .as_deref()
            .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or("");
        crate::render::text::truncate(first, width)
    }
}

/// A catalog as read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Catalog {
    pub url: String,
    pub format: Format,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub entries: Vec<Entry>,
}

impl Catalog {
    /// The entry named `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// The error for a name that is not an entry: the names there are.
    pub fn no_such_entry(&self, name: &str) -> Error {
        let names: Vec<&str> = self.entries.iter().map(|e| e.name.as_str()).collect();
        Error::of_kind(
            ErrorKind::NotFound,
            format!("no entry {name:?} in {}", self.url),
        )
        .with_hint(if names.is_empty() {
            "the catalog has no entries".to_string()
        } else {
            format!("its entries: {}", names.join(", "))
        })
    }
}

/// Parse a catalog's text: JSON (STAC) or YAML (intake), by its content.
pub fn parse(url: &str, text: &str) -> Result<Catalog> {
    if text.trim_start().starts_with('{') {
        stac::parse(url, text)
    } else {
        intake::parse(url, text)
    }
}

/// The directory a catalog file is in (intake's `CATALOG_DIR`), without a
/// trailing `/`.
pub fn catalog_dir(url: &str) -> String {
    match url.rsplit_once('/') {
        Some((dir, _)) if !dir.is_empty() && !dir.ends_with(':') && !dir.ends_with(":/") => {
            dir.to_string()
        }
        Some(("", _)) => "/".to_string(),
        _ => ".".to_string(),
    }
}

/// `href` resolved against the catalog's directory when it is relative (a
/// STAC href; intake paths after `{{ CATALOG_DIR }}` expansion): by the
/// URL standard's rules for a URL (`url::Url::join`), joined for a local
/// directory (the file system resolves `..` itself).
pub fn resolve(dir: &str, href: &str) -> String {
    let href = href.trim();
    if href.contains("://") || href.starts_with('/') || href.is_empty() {
        return href.to_string();
    }
    let base = format!("{}/", dir.trim_end_matches('/'));
    if base.contains("://")
        && let Ok(joined) = url::Url::parse(&base).and_then(|b| b.join(href))
    {
        return joined.to_string();
    }
    let href = href.strip_prefix("./").unwrap_or(href);
    format!("{base}{href}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_hrefs_resolve_against_the_catalog_directory() {
        let dir = catalog_dir("s3://b/cat/collection.json");
        assert_eq!(dir, "s3://b/cat");
        assert_eq!(resolve(&dir, "./a.zarr"), "s3://b/cat/a.zarr");
        assert_eq!(resolve(&dir, "../x/i.json"), "s3://b/x/i.json");
        assert_eq!(resolve(&dir, "s3://o/p"), "s3://o/p");
        assert_eq!(resolve(&dir, "../../../up.json"), "s3://b/up.json");
        assert_eq!(
            resolve("https://h/stac/", "items/a%20b.json"),
            "https://h/stac/items/a%20b.json"
        );
        assert_eq!(resolve("/data/cats", "sub.yml"), "/data/cats/sub.yml");
        assert_eq!(catalog_dir("/c.yml"), "/");
        assert_eq!(catalog_dir("c.yml"), ".");
    }
}
