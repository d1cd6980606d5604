//! Text of the read-only chores: `ls`, `glob`, `info`, `du`. Their JSON is
//! the serde form of the same data.

use std::io::{self, Write};

use super::text::{count_text, listing_size_text, size_text};
use crate::location::Location;
use crate::objects::glob::Match;
use crate::objects::listing::{Info, Listing, Usage, ZarrStore};
use crate::store::listing::ObjectInfo;

/// How `ls`/`glob` print an entry: the name alone, or `-l`'s columns.
#[derive(Clone, Copy)]
pub struct Columns {
    pub long: bool,
    /// `-h`: sizes in binary units rather than exact bytes.
    pub human_readable: bool,
}

/// `-l`'s line of an object: date, size, ETag, name.
fn long_line(o: &ObjectInfo, name: &str, human_readable: bool) -> String {
    format!(
        "{}  {:>12}  {:<36}  {name}",
        o.last_modified,
        listing_size_text(o.size, human_readable),
        o.etag.as_deref().unwrap_or("-"),
    )
}

/// `-l`'s line of a directory: blank columns but a `DIR` size.
fn write_directory(out: &mut dyn Write, name: &str, long: bool) -> io::Result<()> {
    if long {
        writeln!(out, "{:>20}  {:>12}  {:<36}  {name}", "", "DIR", "")
    } else {
        writeln!(out, "{name}")
    }
}

fn write_object(
    out: &mut dyn Write,
    o: &ObjectInfo,
    name: &str,
    columns: Columns,
) -> io::Result<()> {
    if columns.long {
        writeln!(out, "{}", long_line(o, name, columns.human_readable))
    } else {
        writeln!(out, "{name}")
    }
}

/// The stderr note on a Zarr store `ls` recognised at `url`.
pub fn zarr_store_note(url: &str, store: &ZarrStore) -> String {
    let consolidated = if store.consolidated {
        ", consolidated metadata"
    } else {
        ""
    };
    format!(
        "note: {url} is a Zarr {} store{consolidated}: zarrscope tree {url}",
        store.format
    )
}

/// `ls`: directories (`name/`) first, then objects; `name_of` gives the
/// name shown for a key.
pub fn write_ls(
    out: &mut dyn Write,
    listing: &Listing,
    name_of: &dyn Fn(&str) -> String,
    columns: Columns,
) -> io::Result<()> {
    for dir in &listing.directories {
        write_directory(out, &format!("{}/", name_of(dir)), columns.long)?;
    }
    for o in &listing.objects {
        write_object(out, o, &name_of(&o.key), columns)?;
    }
    Ok(())
}

/// `glob`: every match as a full URL (directories with a trailing `/`);
/// sizes in exact bytes.
pub fn write_glob(
    out: &mut dyn Write,
    matches: &[Match],
    location: &Location,
    long: bool,
) -> io::Result<()> {
    let columns = Columns {
        long,
        human_readable: false,
    };
    for m in matches {
        match m {
            Match::Directory { key } => {
                write_directory(out, &format!("{}/", location.url_of(key)), long)?;
            }
            Match::Object(o) => write_object(out, o, &location.url_of(&o.key), columns)?,
        }
    }
    Ok(())
}

/// `info`: one labelled field a line.
pub fn write_info(out: &mut dyn Write, info: &Info) -> io::Result<()> {
    let rows: Vec<(&str, String)> = match info {
        Info::Object {
            url,
            size,
            last_modified,
            etag,
            version,
            content_type,
            content_encoding,
            cache_control,
            ..
        } => {
            let mut rows = vec![
                ("url:            ", url.clone()),
                ("type:           ", "object".into()),
                ("size:           ", format!("{size} ({})", size_text(*size))),
                ("last modified:  ", last_modified.clone()),
            ];
            let optional = [
                ("etag:           ", etag),
                ("version:        ", version),
                ("content type:   ", content_type),
                ("content encoding:", content_encoding),
                ("cache control:  ", cache_control),
            ];
            for (label, value) in optional {
                if let Some(value) = value {
                    rows.push((label, value.clone()));
                }
            }
            rows
        }
        Info::Directory {
            url,
            objects,
            bytes,
            ..
        } => vec![
            ("url:            ", format!("{url}/")),
            ("type:           ", "directory (prefix)".into()),
            ("objects:        ", objects.to_string()),
            (
                "size:           ",
                format!("{bytes} ({})", size_text(*bytes)),
            ),
        ],
    };
    for (label, value) in rows {
        writeln!(out, "{label}{value}")?;
    }
    Ok(())
}

/// `du`: a line per child (`child_url` names it), then the total at `url`.
pub fn write_du(
    out: &mut dyn Write,
    usage: &Usage,
    url: &str,
    child_url: &dyn Fn(&str) -> String,
    human_readable: bool,
) -> io::Result<()> {
    let size = |b: u64| listing_size_text(b, human_readable);
    for child in &usage.children {
        writeln!(
            out,
            "{:>12}  {:>18}  {}",
            size(child.bytes),
            count_text(child.objects, "object"),
            child_url(&child.name)
        )?;
    }
    writeln!(
        out,
        "{:>12}  {:>18}  {}{}",
        size(usage.bytes),
        count_text(usage.objects, "object"),
        url,
        if usage.children.is_empty() {
            ""
        } else {
            "  (total)"
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info_text(info: &Info) -> String {
        let mut out = Vec::new();
        write_info(&mut out, info).expect("writes to a Vec");
        String::from_utf8_lossy(&out).into_owned()
    }

    #[test]
    fn info_lines_keep_their_labels_and_order() {
        let object = Info::Object {
            url: "s3://b/k".into(),
            key: "k".into(),
            size: 1536,
            last_modified: "2026-01-01T00:00:00Z".into(),
            etag: Some("\"e\"".into()),
            version: None,
            content_type: Some("application/json".into()),
            content_encoding: None,
            cache_control: Some("no-cache".into()),
        };
        assert_eq!(
            info_text(&object),
            "url:            s3://b/k\n\
             type:           object\n\
             size:           1536 (1.5 KiB)\n\
             last modified:  2026-01-01T00:00:00Z\n\
             etag:           \"e\"\n\
             content type:   application/json\n\
             cache control:  no-cache\n"
        );
        let directory = Info::Directory {
            url: "s3://b/d".into(),
            key: "d".into(),
            objects: 2,
            bytes: 10,
        };
        assert_eq!(
            info_text(&directory),
            "url:            s3://b/d/\n\
             type:           directory (prefix)\n\
             objects:        2\n\
             size:           10 (10 B)\n"
        );
    }
}
