//! Text of the commands about a store's metadata as a whole: `check`,
//! `diff`, and `consolidate`'s dry run and result. Their JSON is built in
//! `cli/stores.rs` from the same data.

use std::io::{self, Write};

use super::comparison::{Sides, write_comparison, write_findings};
use super::text::size_text;
use crate::compare::Comparison;
use crate::hierarchy::Hierarchy;
use crate::lint::Finding;

/// What `check` found at `url`.
pub struct CheckFound<'a> {
    pub url: &'a str,
    /// The consolidated metadata, when there is any to compare.
    pub consolidated: Option<&'a Hierarchy>,
    /// The nodes read one by one.
    pub crawled_nodes: usize,
    pub comparison: &'a Comparison,
    pub findings: &'a [Finding],
}

/// `check`'s report; `command` spells a suggested zarrscope command with
/// the user's access flags.
pub fn write_check(
    out: &mut dyn Write,
    found: &CheckFound,
    command: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    let url = found.url;
    match found.consolidated {
        None => writeln!(
            out,
            "{url}: no consolidated metadata to check ({} nodes read one by one); `{}` writes it",
            found.crawled_nodes,
            command(&format!("consolidate {url} --yes")),
        )?,
        Some(c) if found.comparison.is_empty() => writeln!(
            out,
            "{url}: consistent — the consolidated metadata of {} matches all {} nodes",
            c.root_url, found.crawled_nodes
        )?,
        Some(c) => {
            writeln!(
                out,
                "{url}: STALE — the consolidated metadata of {} ({} nodes) differs from the per-node metadata ({} nodes)",
                c.root_url,
                c.nodes.len(),
                found.crawled_nodes
            )?;
            write_comparison(
                out,
                found.comparison,
                &Sides {
                    only_a: "only in the consolidated metadata (removed since)",
                    only_b: "only on disk (added since)",
                },
            )?;
            writeln!(
                out,
                "readers that trust consolidated metadata (zarr-python, xarray) see the old picture; `{}` rewrites it",
                command(&format!("consolidate {} --yes", c.root_url))
            )?;
        }
    }
    write_findings(out, found.findings)
}

/// `check`'s report on a reference set or an Icechunk repository (`source`
/// says which): only lint findings, since its metadata has no second copy
/// to go stale; `next` says what to run next.
pub fn write_reference_check(
    out: &mut dyn Write,
    url: &str,
    source: &str,
    nodes: usize,
    next: &str,
    findings: &[Finding],
) -> io::Result<()> {
    writeln!(
        out,
        "{url}: {source} with {nodes} nodes; its metadata has one copy, so nothing can be stale; {next}"
    )?;
    write_findings(out, findings)
}

/// `diff`'s report on the stores at `a` and `b`.
pub fn write_diff(
    out: &mut dyn Write,
    a: &Hierarchy,
    b: &Hierarchy,
    c: &Comparison,
) -> io::Result<()> {
    writeln!(out, "A: {}\nB: {}", a.url, b.url)?;
    if c.is_empty() {
        return writeln!(out, "same metadata: {} nodes", a.nodes.len());
    }
    writeln!(
        out,
        "{} only in A, {} only in B, {} changed",
        c.only_in_a.len(),
        c.only_in_b.len(),
        c.changed.len()
    )?;
    write_comparison(
        out,
        c,
        &Sides {
            only_a: "only in A",
            only_b: "only in B",
        },
    )
}

/// What `consolidate` writes, or would write.
pub struct ConsolidateWrite<'a> {
    /// The URL of the consolidated metadata document.
    pub url: &'a str,
    pub bytes: usize,
    pub nodes: usize,
}

/// What a consolidate write replaces.
pub enum Replacing {
    /// Consolidated metadata that could be read.
    Consolidated,
    /// A document at the key that is not readable consolidated metadata.
    Document,
    /// Nothing: the document is new.
    Nothing,
}

/// `consolidate`'s dry run: what would be written, then how it differs from
/// the current consolidated metadata.
pub fn write_consolidate_plan(
    out: &mut dyn Write,
    write: &ConsolidateWrite,
    replacing: Replacing,
    changes: &Comparison,
) -> io::Result<()> {
    writeln!(
        out,
        "would write {} ({}, {} nodes){}",
        write.url,
        size_text(write.bytes as u64),
        write.nodes,
        match replacing {
            Replacing::Consolidated => " replacing the current consolidated metadata",
            Replacing::Document => " replacing the current document",
            Replacing::Nothing => " (new)",
        }
    )?;
    if matches!(replacing, Replacing::Consolidated) && changes.is_empty() {
        writeln!(
            out,
            "the current consolidated metadata already matches every node"
        )?;
    } else {
        write_comparison(
            out,
            changes,
            &Sides {
                only_a: "dropped (no longer on disk)",
                only_b: "added",
            },
        )?;
    }
    writeln!(
        out,
        "dry run: nothing was changed; run again with --yes to write it"
    )
}

/// `consolidate --yes`, done.
pub fn write_consolidated(out: &mut dyn Write, write: &ConsolidateWrite) -> io::Result<()> {
    writeln!(
        out,
        "wrote {} ({}, {} nodes)",
        write.url,
        size_text(write.bytes as u64),
        write.nodes
    )
}
