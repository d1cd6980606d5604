//! `find`: one line per dataset (text, aligned, sorted by URL), or one JSON
//! object per line (`--json`, the [`Summary`] as serialised).

use std::io;

use super::text::size_or;
use crate::inventory::{Metadata, Summary};

const HEADER: [&str; 9] = [
    "URL",
    "KIND",
    "FORMAT",
    "METADATA",
    "ARRAYS",
    "GROUPS",
    "SIZE",
    "MODIFIED",
    "DIMENSIONS",
];

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The columns of one dataset; the last (dimensions, or the error) is not
/// padded, being of any length.
fn row(s: &Summary) -> [String; 9] {
    let last = match &s.error {
        Some(error) => format!("error: {error}"),
        None => s
            .dimensions
            .iter()
            .map(|d| format!("{}={}", d.name, d.size))
            .collect::<Vec<_>>()
            .join(" "),
    };
    [
        s.url.clone(),
        s.kind.as_str().to_string(),
        or_dash(s.zarr_format.map(|f| format!("v{f}"))),
        or_dash(s.metadata.map(Metadata::as_str)),
        or_dash(s.arrays),
        or_dash(s.groups),
        if s.arrays.is_some() {
            size_or(s.nbytes, "?")
        } else {
            "-".into()
        },
        or_dash(s.last_modified.as_deref()),
        last,
    ]
}

/// Every dataset, sorted by URL, one line each under a header.
pub fn write_find(out: &mut dyn io::Write, datasets: &[Summary]) -> io::Result<()> {
    let mut sorted: Vec<&Summary> = datasets.iter().collect();
    sorted.sort_by(|a, b| a.url.cmp(&b.url));
    let rows: Vec<[String; 9]> = sorted.into_iter().map(row).collect();
    let header = HEADER.map(str::to_string);
    let mut widths = [0usize; 9];
    for r in std::iter::once(&header).chain(&rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(cell);
                break;
            }
            let pad = widths[i].saturating_sub(cell.chars().count());
            // Numbers right-aligned, words left.
            if (4..=6).contains(&i) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push_str("  ");
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// One dataset as one JSON line.
pub fn write_find_json_line(out: &mut dyn io::Write, summary: &Summary) -> io::Result<()> {
    serde_json::to_writer(&mut *out, summary).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{DatasetKind, DimensionSize};

    #[test]
    fn lines_are_sorted_aligned_and_say_what_is_unknown() {
        let mut a = Summary::unread("s3://b/z.zarr".into(), DatasetKind::Zarr);
        a.zarr_format = Some(2);
        a.metadata = Some(Metadata::Consolidated);
        a.arrays = Some(3);
        a.groups = Some(1);
        a.nbytes = Some(2048);
        a.dimensions = vec![DimensionSize {
            name: "time".into(),
            size: 8760,
        }];
        let mut b = Summary::unread("s3://b/a.json".into(), DatasetKind::KerchunkJson);
        b.error = Some("not JSON".into());
        let mut out = Vec::new();
        write_find(&mut out, &[a, b]).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("URL "), "{text}");
        assert!(
            lines[1].starts_with("s3://b/a.json  kerchunk-json"),
            "{text}"
        );
        assert!(lines[1].ends_with("error: not JSON"), "{text}");
        assert!(lines[2].contains("v2      consolidated"), "{text}");
        assert!(lines[2].ends_with("time=8760"), "{text}");
        assert!(lines[2].contains("2.0 KiB"), "{text}");
    }
}
