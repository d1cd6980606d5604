//! STAC collections, items and catalogs (JSON). Entries are the document's
//! own assets — Zarr by media type (`application/vnd+zarr`,
//! `application/vnd.zarr`, with or without `; version=…`), kerchunk
//! reference sets by role (`references` or `kerchunk` on a JSON or Parquet
//! asset, or `xarray:open_kwargs.engine: kerchunk`), Icechunk by a media
//! type naming it — with their access from the xarray-assets extension's
//! `xarray:storage_options` (the asset's, else the item's or collection's).
//! Links with rel `item` or `child` are listed as sub-catalogs without
//! being read: `catalog URL NAME` opens one.

use serde_json::Value;

use super::access::Access;
use super::{Catalog, Entry, EntryKind, Format, Targets, catalog_dir, resolve};
use crate::error::{Error, ErrorKind, Result};

const STORAGE_OPTIONS: &str = "xarray:storage_options";
const OPEN_KWARGS: &str = "xarray:open_kwargs";

/// Parse a STAC document's JSON text read from `url`.
pub fn parse(url: &str, text: &str) -> Result<Catalog> {
    let doc: Value = serde_json::from_str(text).map_err(|e| {
        Error::of_kind(
            ErrorKind::InvalidMetadata,
            format!("{url} is not valid JSON: {e}"),
        )
        .with_hint("give a STAC collection, item or catalog (JSON), or an intake catalog (YAML)")
    })?;
    let format = match doc.get("type").and_then(Value::as_str) {
        Some("Collection") => Format::StacCollection,
        Some("Feature") => Format::StacItem,
        Some("Catalog") => Format::StacCatalog,
        other => {
            return Err(Error::of_kind(
                ErrorKind::InvalidMetadata,
                format!(
                    "{url} is not a STAC document: its \"type\" is {}, not Collection, Feature or Catalog",
                    other.map_or("missing".to_string(), |t| format!("{t:?}"))
                ),
            )
            .with_hint("give a STAC collection, item or catalog, or an intake YAML catalog"));
        }
    };
    let dir = catalog_dir(url);
    // The extension's fields may sit on the item's properties or the
    // collection itself, for every asset.
    let shared = doc
        .get("properties")
        .unwrap_or(&doc)
        .get(STORAGE_OPTIONS)
        .or_else(|| doc.get(STORAGE_OPTIONS));
    let mut entries: Vec<Entry> = Vec::new();
    if let Some(Value::Object(assets)) = doc.get("assets") {
        for (name, asset) in assets {
            entries.push(asset_entry(name, asset, shared, &dir));
        }
    }
    if let Some(Value::Array(links)) = doc.get("links") {
        for link in links {
            let rel = link.get("rel").and_then(Value::as_str).unwrap_or("");
            if !matches!(rel, "item" | "child") {
                continue;
            }
            let Some(href) = link.get("href").and_then(Value::as_str) else {
                continue;
            };
            let name = unique(&entries, link_name(link, href));
            entries.push(Entry {
                name,
                driver: format!("STAC {rel}"),
                kind: EntryKind::Catalog,
                url: Some(resolve(&dir, href)),
                description: link
                    .get("title")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                consolidated: None,
                access: Access::default(),
                targets: None,
            });
        }
    }
    let description = ["title", "description"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(Value::as_str))
        .map(str::to_string);
    Ok(Catalog {
        url: url.to_string(),
        format,
        description,
        entries,
    })
}

/// A link's name: its href's file name without `.json`, or for
/// `…/NAME/NAME.json` and `…/NAME/collection.json` the directory's.
fn link_name(link: &Value, href: &str) -> String {
    let mut segments = href.trim_end_matches('/').rsplit('/');
    let file = segments.next().unwrap_or(href);
    let stem = file.strip_suffix(".json").unwrap_or(file);
    if matches!(stem, "collection" | "catalog" | "item")
        && let Some(dir) = segments.next().filter(|d| !d.is_empty() && *d != ".")
    {
        return dir.to_string();
    }
    if stem.is_empty() {
        link.get("title")
            .and_then(Value::as_str)
            .unwrap_or("link")
            .to_string()
    } else {
        stem.to_string()
    }
}

/// `name`, or `name-2`, … if an entry already has it.
fn unique(entries: &[Entry], name: String) -> String {
    if !entries.iter().any(|e| e.name == name) {
        return name;
    }
    (2..)
        .map(|n| format!("{name}-{n}"))
        .find(|candidate| !entries.iter().any(|e| &e.name == candidate))
        .unwrap_or(name)
}

fn asset_entry(name: &str, asset: &Value, shared: Option<&Value>, dir: &str) -> Entry {
    let media_type = asset.get("type").and_then(Value::as_str).unwrap_or("");
    let roles: Vec<&str> = asset
        .get("roles")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let href = asset.get("href").and_then(Value::as_str);
    let storage_options = asset.get(STORAGE_OPTIONS).or(shared);
    let open_kwargs = asset.get(OPEN_KWARGS);
    let engine = open_kwargs
        .and_then(|k| k.get("engine"))
        .and_then(Value::as_str);
    let base_type = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let href_lower = href
        .unwrap_or("")
        .trim_end_matches('/')
        .to_ascii_lowercase();
    let referencing_role = roles
        .iter()
        .any(|r| matches!(*r, "references" | "kerchunk"));
    let json_like = base_type.contains("json")
        || href_lower.ends_with(".json")
        || href_lower.ends_with(".parq")
        || href_lower.ends_with(".parquet");
    let kind = if base_type.contains("icechunk") {
        EntryKind::Icechunk
    } else if engine == Some("kerchunk") || (referencing_role && json_like) {
        EntryKind::References
    } else if matches!(
        base_type.as_str(),
        "application/vnd+zarr" | "application/vnd.zarr" | "application/x-zarr"
    ) || (base_type.is_empty() && href_lower.ends_with(".zarr"))
    {
        EntryKind::Zarr
    } else {
        EntryKind::Other
    };
    let access = Access::from_storage_options(storage_options);
    let targets = (kind == EntryKind::References)
        .then(|| reference_targets(storage_options, open_kwargs, &access));
    let description = ["description", "title"]
        .iter()
        .find_map(|k| asset.get(*k).and_then(Value::as_str))
        .map(str::to_string);
    Entry {
        name: name.to_string(),
        driver: if media_type.is_empty() {
            "-".to_string()
        } else {
            media_type.to_string()
        },
        kind,
        url: href.map(|h| resolve(dir, h)),
        description,
        consolidated: open_kwargs
            .and_then(|k| k.get("consolidated"))
            .and_then(Value::as_bool),
        access,
        targets,
    }
}

/// fsspec's `remote_protocol`/`remote_options` for a reference asset,
/// wherever the asset puts them: its storage options, or the storage
/// options inside its open kwargs (`storage_options` or
/// `backend_kwargs.storage_options`). Without them the targets are read
/// with the reference file's own access.
fn reference_targets(
    storage_options: Option<&Value>,
    open_kwargs: Option<&Value>,
    own: &Access,
) -> Targets {
    let nested = open_kwargs.and_then(|k| {
        k.get("storage_options").or_else(|| {
            k.get("backend_kwargs")
                .and_then(|b| b.get("storage_options"))
        })
    });
    let holder = [storage_options, nested]
        .into_iter()
        .flatten()
        .find(|o| o.get("remote_options").is_some() || o.get("remote_protocol").is_some());
    match holder {
        Some(o) => Targets {
            protocol: o
                .get("remote_protocol")
                .and_then(Value::as_str)
                .map(str::to_string),
            access: Access::from_storage_options(o.get("remote_options")),
        },
        None => Targets {
            protocol: None,
            access: own.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assets_by_media_type_and_role_and_links_as_sub_catalogs() {
        let doc = json!({
            "type": "Collection",
            "id": "c",
            "xarray:storage_options": {"anon": true},
            "assets": {
                "zarr-osn": {
                    "href": "s3://hytest/c.zarr",
                    "type": "application/vnd+zarr; version=2",
                    "roles": ["data", "zarr"],
                    "xarray:storage_options": {"anon": true, "client_kwargs": {"endpoint_url": "https://usgs.osn.mghpcc.org/"}},
                    "xarray:open_kwargs": {"consolidated": true}
                },
                "refs": {"href": "./refs.json", "type": "application/json", "roles": ["references"],
                         "xarray:storage_options": {"remote_protocol": "s3", "remote_options": {"requester_pays": true}}},
                "thumb": {"href": "t.png", "type": "image/png"}
            },
            "links": [
                {"rel": "self", "href": "./collection.json"},
                {"rel": "item", "href": "./items/day1/day1.json"},
                {"rel": "child", "href": "./sub/collection.json", "title": "Sub"}
            ]
        });
        let c = parse("https://h/stac/collection.json", &doc.to_string()).unwrap();
        let kinds: Vec<(&str, EntryKind)> = c
            .entries
            .iter()
            .map(|e| (e.name.as_str(), e.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                ("zarr-osn", EntryKind::Zarr),
                ("refs", EntryKind::References),
                ("thumb", EntryKind::Other),
                ("day1", EntryKind::Catalog),
                ("sub", EntryKind::Catalog),
            ]
        );
        let zarr = &c.entries[0];
        assert_eq!(
            zarr.access.summary(),
            "anon, endpoint https://usgs.osn.mghpcc.org/"
        );
        assert_eq!(zarr.consolidated, Some(true));
        let refs = &c.entries[1];
        assert_eq!(refs.url.as_deref(), Some("https://h/stac/refs.json"));
        assert!(refs.targets.as_ref().unwrap().access.requester_pays);
        // The collection's storage options stand in for an asset without.
        assert!(c.entries[2].access.anon);
        assert_eq!(
            c.entries[3].url.as_deref(),
            Some("https://h/stac/items/day1/day1.json")
        );
    }
}
