//! `zarrscope refs`: what a kerchunk reference set holds and points at.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::text::{count_text, size_text};
use crate::source::reference::summary::Summary;
use crate::source::reference::verify::{TargetCheck, TargetState};

/// Write the summary, and the checks of `--verify` if it ran.
pub fn write_refs(
    out: &mut dyn Write,
    s: &Summary,
    checks: Option<&[TargetCheck]>,
) -> io::Result<()> {
    let mut what = match (s.format, s.spec_version) {
        ("json", Some(v)) => format!("JSON, spec version {v}"),
        ("parquet", _) => format!(
            "Parquet, {} chunks per file",
            s.record_size.unwrap_or_default()
        ),
        (other, _) => other.to_string(),
    };
    if let Some(c) = s.compression {
        what.push_str(&format!(", {c}"));
    }
    if let Some(bytes) = s.file_bytes {
        what.push_str(&format!(", {}", size_text(bytes)));
    }
    writeln!(out, "{}", s.url)?;
    writeln!(
        out,
        "  kerchunk reference set ({what}) of a Zarr v{} hierarchy",
        s.zarr_format
    )?;
    let k = &s.keys;
    // Parquet footers count chunks but not their bytes.
    let sized = s.format == "json";
    let bytes = |n: u64| {
        if sized {
            format!(" ({})", size_text(n))
        } else {
            String::new()
        }
    };
    let mut parts = vec![count_text(k.metadata, "metadata document")];
    parts.push(format!(
        "{}{}",
        count_text(k.inline, "inline chunk"),
        bytes(k.inline_bytes)
    ));
    parts.push(format!(
        "{}{}",
        count_text(k.referenced, "referenced chunk"),
        bytes(k.referenced_bytes)
    ));
    if k.whole_file > 0 {
        parts.push(count_text(k.whole_file, "whole-file reference"));
    }
    if k.missing > 0 {
        parts.push(format!(
            "{} with no value (fill)",
            count_text(k.missing, "row")
        ));
    }
    writeln!(out, "keys      {}: {}", k.total, parts.join(", "))?;
    if k.generated > 0 {
        writeln!(
            out,
            "generated {} from {} (not expanded)",
            count_text(k.generated, "key"),
            count_text(s.generated.len() as u64, "gen entry")
        )?;
    }
    for (name, value) in &s.templates {
        writeln!(out, "template  {{{{{name}}}}} = {value}")?;
    }
    let t = &s.targets;
    if s.format == "json" {
        let protocols: Vec<String> = t
            .protocols
            .iter()
            .map(|(p, n)| format!("{p}: {n}"))
            .collect();
        writeln!(
            out,
            "targets   {} ({}), {} referenced",
            count_text(t.files, "file"),
            if protocols.is_empty() {
                "none".to_string()
            } else {
                protocols.join(", ")
            },
            size_text(t.bytes)
        )?;
        for p in &t.prefixes {
            writeln!(out, "          {:>6}  {}", p.files, p.prefix)?;
        }
    }
    if !s.arrays.is_empty() {
        writeln!(out)?;
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Disabled);
        table.set_header(vec![
            "array",
            "grid",
            "referenced",
            "inline",
            "whole file",
            "missing (fill)",
            "referenced bytes",
        ]);
        for a in &s.arrays {
            let dash = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
            table.add_row(vec![
                a.path.clone(),
                dash(a.grid),
                a.referenced.to_string(),
                a.inline.to_string(),
                a.whole_file.to_string(),
                dash(a.missing),
                if sized {
                    size_text(a.referenced_bytes)
                } else {
                    "-".to_string()
                },
            ]);
        }
        for i in 1..=6 {
            if let Some(c) = table.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        writeln!(out, "{table}")?;
    }
    let o = &s.outside_arrays;
    if o.present() > 0 {
        writeln!(
            out,
            "note: {} under no array of the metadata",
            count_text(o.present(), "chunk key")
        )?;
    }
    if s.invalid_count > 0 {
        writeln!(
            out,
            "note: {} with a value kerchunk never writes (left out):",
            count_text(s.invalid_count, "key")
        )?;
        for i in &s.invalid {
            writeln!(out, "  {:?}: {}", i.key, i.why)?;
        }
        if s.invalid_count > s.invalid.len() as u64 {
            writeln!(
                out,
                "  … and {} more",
                s.invalid_count - s.invalid.len() as u64
            )?;
        }
    }
    for n in &s.notes {
        writeln!(out, "note: {n}")?;
    }
    if let Some(checks) = checks {
        write_checks(out, checks)?;
    }
    Ok(())
}

fn write_checks(out: &mut dyn Write, checks: &[TargetCheck]) -> io::Result<()> {
    let count = |f: fn(&TargetState) -> bool| checks.iter().filter(|c| f(&c.state)).count();
    let ok = count(|s| matches!(s, TargetState::Ok { .. }));
    let unchecked = count(|s| matches!(s, TargetState::NotChecked));
    let broken = checks.len() - ok - unchecked;
    writeln!(out)?;
    writeln!(
        out,
        "verify    {} checked: {ok} ok, {broken} broken{}",
        count_text(checks.len() - unchecked, "target"),
        if unchecked > 0 {
            format!(", {unchecked} not checked (--max-requests)")
        } else {
            String::new()
        }
    )?;
    for c in checks {
        let why = match &c.state {
            TargetState::Ok { .. } | TargetState::NotChecked => continue,
            TargetState::Missing => "missing".to_string(),
            TargetState::Unreadable(why) => format!("unreadable: {why}"),
            TargetState::Short { size, needed } => {
                format!("truncated: {size} bytes, but references reach byte {needed}")
            }
        };
        writeln!(out, "  BROKEN  {}  {why}", c.url)?;
    }
    Ok(())
}
