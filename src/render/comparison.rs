//! Human text for comparisons (`check`, `diff`, `consolidate`'s dry run)
//! and lint findings. JSON for these is their serde form.

use std::io;

use crate::compare::{Comparison, short};
use crate::lint::Finding;

/// How to name the two sides, e.g. ("only in the consolidated metadata
/// (removed since)", "only on disk (added since)").
pub struct Sides<'a> {
    pub only_a: &'a str,
    pub only_b: &'a str,
}

/// Longest value text shown per side of a change.
const VALUE_WIDTH: usize = 60;

pub fn write_comparison(out: &mut dyn io::Write, c: &Comparison, sides: &Sides) -> io::Result<()> {
    for (title, lone) in [(sides.only_a, &c.only_in_a), (sides.only_b, &c.only_in_b)] {
        if lone.is_empty() {
            continue;
        }
        writeln!(out, "{title}:")?;
        for node in lone {
            writeln!(out, "  {}  {}", node.path, node.kind)?;
        }
    }
    if !c.changed.is_empty() {
        writeln!(out, "changed:")?;
        for node in &c.changed {
            writeln!(out, "  {}", node.path)?;
            for f in &node.changes {
                writeln!(
                    out,
                    "    {}: {} -> {}",
                    f.field,
                    short(&f.a, VALUE_WIDTH),
                    short(&f.b, VALUE_WIDTH)
                )?;
            }
        }
    }
    Ok(())
}

pub fn write_findings(out: &mut dyn io::Write, findings: &[Finding]) -> io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "lint: no findings");
    }
    writeln!(out, "lint:")?;
    let width = findings.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for f in findings {
        writeln!(
            out,
            "  {:<7}  {:<width$}  {}: {}",
            f.severity.label(),
            f.path,
            f.code,
            f.message
        )?;
    }
    Ok(())
}
