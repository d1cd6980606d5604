//! intake YAML catalogs (intake v1, as HyTEST writes them): `sources:` of
//! entries with `driver`, `description` and `args` (`urlpath`,
//! `consolidated`, `storage_options`; `path` for a sub-catalog). intake's
//! `{{ CATALOG_DIR }}` is expanded; other templates are left as written.
//! Relative paths stay relative to the working directory, as intake reads
//! them.

use serde_json::{Map, Value};

use super::access::Access;
use super::{Catalog, Entry, EntryKind, Format, Targets, catalog_dir};
use crate::error::{Error, ErrorKind, Result};

/// Parse an intake catalog's YAML text read from `url`.
pub fn parse(url: &str, text: &str) -> Result<Catalog> {
    let doc: Value = yaml_serde::from_str(text).map_err(|e| {
        Error::of_kind(
            ErrorKind::InvalidMetadata,
            format!("{url} is neither a STAC document (JSON) nor an intake catalog (YAML): {e}"),
        )
        .with_hint("give an intake YAML catalog (with `sources:`) or a STAC collection or item")
    })?;
    let Value::Object(doc) = doc else {
        return Err(not_intake(url, "it is not a YAML mapping"));
    };
    let sources = match doc.get("sources") {
        Some(Value::Object(sources)) => sources,
        Some(Value::Null) => &Map::new(),
        Some(_) => return Err(not_intake(url, "its `sources` is not a mapping")),
        None => return Err(not_intake(url, "it has no `sources`")),
    };
    let dir = catalog_dir(url);
    let entries = sources
        .iter()
        .map(|(name, source)| entry(name, source, &dir))
        .collect();
    let description = doc
        .get("metadata")
        .and_then(|m| m.get("description"))
        .or_else(|| doc.get("description"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(Catalog {
        url: url.to_string(),
        format: Format::Intake,
        description,
        entries,
    })
}

fn not_intake(url: &str, why: &str) -> Error {
    Error::of_kind(
        ErrorKind::InvalidMetadata,
        format!("{url} is not an intake catalog: {why}"),
    )
    .with_hint("an intake catalog lists its entries under `sources:`")
}

/// intake's drivers of other catalogs.
fn is_catalog_driver(driver: &str) -> bool {
    driver.ends_with("YAMLFileCatalog")
        || driver.ends_with("YAMLFilesCatalog")
        || matches!(
            driver,
            "yaml_file_cat" | "yaml_files_cat" | "intake_catalog"
        )
}

fn entry(name: &str, source: &Value, dir: &str) -> Entry {
    let driver = match source.get("driver") {
        Some(Value::String(d)) => d.trim().to_string(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let args = source.get("args");
    let arg = |key: &str| args.and_then(|a| a.get(key));
    let text_arg = |key: &str| arg(key).and_then(Value::as_str).map(|s| expand(s, dir));
    let storage_options = arg("storage_options");
    let description = source
        .get("description")
        .and_then(Value::as_str)
        .map(str::to_string);
    let consolidated = arg("consolidated").and_then(Value::as_bool);
    let mut entry = Entry {
        name: name.to_string(),
        driver: driver.clone(),
        kind: EntryKind::Other,
        url: text_arg("urlpath"),
        description,
        consolidated,
        access: Access::from_storage_options(storage_options),
        targets: None,
    };
    if is_catalog_driver(&driver) {
        entry.kind = EntryKind::Catalog;
        entry.url = text_arg("path").or(entry.url);
        return entry;
    }
    if !driver.to_ascii_lowercase().contains("zarr") {
        return entry;
    }
    let urlpath = arg("urlpath").and_then(Value::as_str).unwrap_or("");
    let reference = ["reference://", "reference::"]
        .iter()
        .find_map(|p| urlpath.strip_prefix(p));
    let fo = storage_options.and_then(|o| o.get("fo"));
    if reference.is_some() || fo.is_some() {
        entry.kind = EntryKind::References;
        let written = reference.filter(|r| !r.is_empty()).map(str::to_string);
        entry.url = fo
            .and_then(Value::as_str)
            .map(str::to_string)
            .or(written)
            .map(|u| expand(&u, dir));
        // fsspec opens `fo` with `target_options` when given.
        if let Some(target_options) = storage_options.and_then(|o| o.get("target_options")) {
            entry.access = Access::from_storage_options(Some(target_options));
        }
        entry.targets = Some(Targets {
            protocol: storage_options
                .and_then(|o| o.get("remote_protocol"))
                .and_then(Value::as_str)
                .map(str::to_string),
            access: Access::from_storage_options(
                storage_options.and_then(|o| o.get("remote_options")),
            ),
        });
        return entry;
    }
    entry.kind = if entry
        .url
        .as_deref()
        .is_some_and(|u| u.trim_end_matches('/').ends_with(".icechunk"))
    {
        EntryKind::Icechunk
    } else {
        EntryKind::Zarr
    };
    entry
}

/// intake's `{{ CATALOG_DIR }}` (any spacing) replaced by the catalog's
/// directory.
pub fn expand(text: &str, dir: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        let inner = rest[start + 2..start + len].trim();
        out.push_str(&rest[..start]);
        if inner == "CATALOG_DIR" {
            out.push_str(dir.trim_end_matches('/'));
        } else {
            out.push_str(&rest[start..start + len + 2]);
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_dir_templates_expand_and_others_stay() {
        assert_eq!(
            expand("{{ CATALOG_DIR }}/a.zarr", "s3://b/c"),
            "s3://b/c/a.zarr"
        );
        assert_eq!(expand("{{CATALOG_DIR}}/x", "/d/"), "/d/x");
        assert_eq!(expand("{{ env(HOME) }}/x", "/d"), "{{ env(HOME) }}/x");
    }

    #[test]
    fn a_reference_entry_keeps_its_file_and_its_targets_access_apart() {
        let yaml = r#"
sources:
  refs:
    driver: intake_xarray.xzarr.ZarrSource
    args:
      urlpath: 'reference://'
      storage_options:
        fo: '{{ CATALOG_DIR }}/refs.json'
        target_options: {requester_pays: true}
        remote_protocol: s3
        remote_options: {anon: true, client_kwargs: {endpoint_url: 'http://h:1'}}
"#;
        let c = parse("s3://b/cats/c.yml", yaml).unwrap();
        let e = &c.entries[0];
        assert_eq!(e.kind, EntryKind::References);
        assert_eq!(e.url.as_deref(), Some("s3://b/cats/refs.json"));
        assert!(e.access.requester_pays && !e.access.anon);
        let t = e.targets.as_ref().unwrap();
        assert_eq!(t.protocol.as_deref(), Some("s3"));
        assert!(t.access.anon);
        assert_eq!(t.access.endpoint_url.as_deref(), Some("http://h:1"));
        assert_eq!(e.open_url().as_deref(), Some("s3://b/cats/refs.json"));
    }
}
