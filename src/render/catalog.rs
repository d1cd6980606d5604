//! `catalog`: the entries of a catalog, and with `--check` each one's
//! health.

use std::io::{self, Write};

use crate::catalog::Catalog;
use crate::catalog::health::{Health, State};
use crate::inventory::Summary;
use crate::render::text::{count_text, size_or, truncate};

fn entries_text(n: usize) -> String {
    format!("{n} {}", if n == 1 { "entry" } else { "entries" })
}

/// Widest a description is printed.
const DESCRIPTION_WIDTH: usize = 60;

/// Pad every column but the last to its widest cell.
fn write_rows(out: &mut dyn Write, rows: &[Vec<String>]) -> io::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = widths[c] - cell.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

pub fn write_catalog(out: &mut dyn Write, catalog: &Catalog) -> io::Result<()> {
    writeln!(
        out,
        "{} ({}, {})",
        catalog.url,
        catalog.format.as_str(),
        entries_text(catalog.entries.len())
    )?;
    if let Some(d) = &catalog.description {
        writeln!(out, "{}", truncate(d.lines().next().unwrap_or(""), 100))?;
    }
    writeln!(out)?;
    let mut rows = vec![vec![
        "NAME".to_string(),
        "KIND".to_string(),
        "URL".to_string(),
        "ACCESS".to_string(),
        "DESCRIPTION".to_string(),
    ]];
    for e in &catalog.entries {
        let kind = if e.kind.is_dataset() || e.kind == crate::catalog::EntryKind::Catalog {
            e.kind.as_str().to_string()
        } else {
            e.driver.clone()
        };
        let access = match &e.targets {
            Some(t) => format!(
                "{}; targets: {}",
                e.access.summary(),
                match &t.protocol {
                    Some(p) => format!("{p}, {}", t.access.summary()),
                    None => t.access.summary(),
                }
            ),
            None => e.access.summary(),
        };
        rows.push(vec![
            e.name.clone(),
            kind,
            e.url.clone().unwrap_or_else(|| "-".to_string()),
            access,
            e.short_description(DESCRIPTION_WIDTH),
        ]);
    }
    write_rows(out, &rows)
}

/// "zarr v2, consolidated, 3 arrays, 1.2 MiB".
fn dataset_text(s: &Summary) -> String {
    let mut parts = vec![match s.zarr_format {
        Some(f) => format!("{} v{f}", s.kind.as_str()),
        None => s.kind.as_str().to_string(),
    }];
    if let Some(m) = s.metadata {
        parts.push(m.as_str().to_string());
    }
    if let Some(a) = s.arrays {
        parts.push(count_text(a, "array"));
    }
    parts.push(size_or(s.nbytes, "size unknown"));
    parts.join(", ")
}

pub fn write_health(out: &mut dyn Write, url: &str, health: &[Health]) -> io::Result<()> {
    writeln!(out, "{url}")?;
    let mut rows = Vec::new();
    for h in health {
        let (state, what) = match h.state {
            State::Ok => (
                "ok",
                h.dataset.as_ref().map(dataset_text).unwrap_or_default(),
            ),
            State::Broken => (
                "BROKEN",
                format!(
                    "{}: {}",
                    h.problem.map_or("broken", |p| p.as_str()),
                    h.reason.as_deref().unwrap_or("")
                ),
            ),
            State::NotChecked => ("not checked", h.reason.clone().unwrap_or_default()),
        };
        rows.push(vec![
            state.to_string(),
            h.name.clone(),
            // One line per entry: a multi-line reason keeps its first line.
            what.lines().next().unwrap_or("").to_string(),
        ]);
    }
    write_rows(out, &rows)?;
    let count = |s: State| health.iter().filter(|h| h.state == s).count();
    writeln!(
        out,
        "\n{}: {} ok, {} broken, {} not checked",
        entries_text(health.len()),
        count(State::Ok),
        count(State::Broken),
        count(State::NotChecked)
    )
}
