//! `zarrscope log` and `refs` of an Icechunk repository.

use std::io::{self, Write};

use serde::Serialize;

use crate::compare::Comparison;
use crate::source::icechunk::repository::Refs;

/// One snapshot of the history, and what it changed against its parent.
#[derive(Debug, Clone, Serialize)]
pub struct Commit {
    pub id: String,
    pub parent: Option<String>,
    pub written_at: String,
    pub message: String,
    pub metadata: serde_json::Value,
    /// Against the parent: `only_in_b` added, `only_in_a` removed.
    pub changes: Comparison,
}

pub fn write_log(
    out: &mut dyn Write,
    url: &str,
    version: &str,
    commits: &[Commit],
) -> io::Result<()> {
    writeln!(out, "{url} @ {version}: {} snapshots", commits.len())?;
    for c in commits {
        writeln!(out)?;
        writeln!(out, "{}  {}  {}", c.id, c.written_at, c.message)?;
        for added in &c.changes.only_in_b {
            writeln!(out, "  added    {} ({})", added.path, added.kind)?;
        }
        for removed in &c.changes.only_in_a {
            writeln!(out, "  removed  {} ({})", removed.path, removed.kind)?;
        }
        for changed in &c.changes.changed {
            let fields: Vec<&str> = changed.changes.iter().map(|f| f.field.as_str()).collect();
            writeln!(out, "  changed  {}: {}", changed.path, fields.join(", "))?;
        }
    }
    Ok(())
}

pub fn write_refs(out: &mut dyn Write, url: &str, refs: &Refs) -> io::Result<()> {
    writeln!(
        out,
        "{url}: Icechunk repository (spec v{})",
        refs.spec_version
    )?;
    for (name, id) in &refs.branches {
        writeln!(out, "branch  {name:<20} {id}")?;
    }
    for (name, id) in &refs.tags {
        writeln!(out, "tag     {name:<20} {id}")?;
    }
    Ok(())
}
