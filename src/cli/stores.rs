//! Commands about a store's metadata as a whole: `check`, `consolidate`,
//! `diff`.

use std::time::Instant;

use serde::Serialize;

use super::{
    CheckArgs, ConsolidateArgs, DiffArgs, ReportArgs, human, json_out, open_store_sharing,
    print_notices, print_stats, print_warnings, read_tree, refuse_anon, require_credentials,
    write_out,
};
use crate::compare::{Comparison, Lone, NodeChange, compare};
use crate::consolidate;
use crate::error::{EXIT_FINDINGS, EXIT_OK, Error, Result};
use crate::lint::{Finding, Severity, lint};
use crate::location::Location;
use crate::render::Stats;
use crate::render::comparison::{Sides, write_comparison, write_findings};
use crate::source::crawl::crawl;
use crate::source::{Opened, detect};
use std::sync::Arc;

use crate::store::guard::{ByteBudget, Policy};
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

/// Open `url`, drawing on the command's one byte budget.
async fn open(
    url: &str,
    access: &super::AccessArgs,
    report: &ReportArgs,
    policy: Policy,
    budget: &Arc<ByteBudget>,
) -> Result<StoreHandle> {
    open_store_sharing(Location::parse(url)?, access, report, policy, budget).await
}

fn stats(handles: &[&StoreHandle]) -> Stats {
    Stats {
        requests: handles.iter().map(|h| h.stats.requests()).sum(),
        bytes: handles.iter().map(|h| h.stats.bytes()).sum(),
    }
}

#[derive(Serialize)]
struct CheckReport<'a> {
    url: &'a str,
    /// The store root whose consolidated metadata was compared.
    consolidated_root: Option<&'a str>,
    consolidated_nodes: Option<usize>,
    crawled_nodes: usize,
    /// True when consolidated metadata exists and differs from the nodes.
    stale: bool,
    only_on_disk: &'a [Lone],
    only_in_consolidated: &'a [Lone],
    changed: &'a [NodeChange],
    findings: &'a [Finding],
    stats: Stats,
}

pub(super) async fn check(args: CheckArgs) -> Result<u8> {
    let started = Instant::now();
    let budget = args.access.command_budget(DEFAULT_MAX_BYTES);
    let ms = open(
        &args.url,
        &args.access,
        &args.report,
        Policy::METADATA_ONLY,
        &budget,
    )
    .await?;
    let options = args.crawling.options(&args.report);
    // Both at once: the crawl dominates the wall time anyway.
    let (consolidated, crawled) = futures::join!(detect(&ms), crawl(&ms, &options));
    print_notices(&ms, &args.report);
    print_stats(&[&ms], &args.report, started);
    let crawled = crawled?;
    let disk = &crawled.hierarchy;
    print_warnings(&ms, disk, &args.report);
    if !disk.complete {
        return Err(Error::new(
            "the crawl stopped before reading every node, so staleness cannot be decided",
        )
        .with_hint("raise --max-requests"));
    }
    let consolidated = match consolidated? {
        Opened::Tree(h) if h.consolidated => Some(h),
        // No consolidated metadata (or only a lone array): nothing to compare.
        Opened::Tree(_) | Opened::Unconsolidated(_) => None,
    };
    let comparison = consolidated
        .as_ref()
        .map(|c| compare(c, disk))
        .unwrap_or_default();
    let stale = !comparison.is_empty();
    let findings = lint(disk);
    let lint_fails = findings.iter().any(|f| f.severity <= Severity::Warning);
    let code = if stale || (args.strict && lint_fails) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    if args.json {
        json_out(&CheckReport {
            url: &ms.location.url,
            consolidated_root: consolidated.as_ref().map(|c| c.root_url.as_str()),
            consolidated_nodes: consolidated.as_ref().map(|c| c.nodes.len()),
            crawled_nodes: disk.nodes.len(),
            stale,
            only_on_disk: &comparison.only_in_b,
            only_in_consolidated: &comparison.only_in_a,
            changed: &comparison.changed,
            findings: &findings,
            stats: stats(&[&ms]),
        })?;
        return Ok(code);
    }
    write_out(|out| {
        match &consolidated {
            None => writeln!(
                out,
                "{}: no consolidated metadata to check ({} nodes read one by one); `{}` writes it",
                ms.location.url,
                disk.nodes.len(),
                ms.command(&format!("consolidate {} --yes", ms.location.url)),
            )?,
            Some(c) if !stale => writeln!(
                out,
                "{}: consistent — the consolidated metadata of {} matches all {} nodes",
                ms.location.url,
                c.root_url,
                disk.nodes.len()
            )?,
            Some(c) => {
                writeln!(
                    out,
                    "{}: STALE — the consolidated metadata of {} ({} nodes) differs from the per-node metadata ({} nodes)",
                    ms.location.url,
                    c.root_url,
                    c.nodes.len(),
                    disk.nodes.len()
                )?;
                write_comparison(
                    out,
                    &comparison,
                    &Sides {
                        only_a: "only in the consolidated metadata (removed since)",
                        only_b: "only on disk (added since)",
                    },
                )?;
                writeln!(
                    out,
                    "readers that trust consolidated metadata (zarr-python, xarray) see the old picture; `{}` rewrites it",
                    ms.command(&format!("consolidate {} --yes", c.root_url))
                )?;
            }
        }
        write_findings(out, &findings)
    })?;
    Ok(code)
}

#[derive(Serialize)]
struct DiffReport<'a> {
    a: &'a str,
    b: &'a str,
    same: bool,
    only_in_a: &'a [Lone],
    only_in_b: &'a [Lone],
    changed: &'a [NodeChange],
    stats: Stats,
}

pub(super) async fn diff(args: DiffArgs) -> Result<u8> {
    let started = Instant::now();
    // One budget for both stores: --max-bytes bounds the whole comparison.
    let budget = args.access.command_budget(DEFAULT_MAX_BYTES);
    let (a, b) = futures::join!(
        open(
            &args.url_a,
            &args.access,
            &args.report,
            Policy::METADATA_ONLY,
            &budget
        ),
        open(
            &args.url_b,
            &args.access,
            &args.report,
            Policy::METADATA_ONLY,
            &budget
        )
    );
    let (a, b) = (a?, b?);
    let (ha, hb) = futures::join!(
        read_tree(&a, &args.source, &args.crawling, &args.report),
        read_tree(&b, &args.source, &args.crawling, &args.report)
    );
    print_stats(&[&a, &b], &args.report, started);
    let (ha, hb) = (ha?, hb?);
    print_warnings(&a, &ha, &args.report);
    print_warnings(&b, &hb, &args.report);
    let c: Comparison = compare(&ha, &hb);
    let code = if c.is_empty() { EXIT_OK } else { EXIT_FINDINGS };
    if args.json {
        json_out(&DiffReport {
            a: &ha.url,
            b: &hb.url,
            same: c.is_empty(),
            only_in_a: &c.only_in_a,
            only_in_b: &c.only_in_b,
            changed: &c.changed,
            stats: stats(&[&a, &b]),
        })?;
        return Ok(code);
    }
    write_out(|out| {
        writeln!(out, "A: {}\nB: {}", ha.url, hb.url)?;
        if c.is_empty() {
            return writeln!(out, "same metadata: {} nodes", ha.nodes.len());
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
            &c,
            &Sides {
                only_a: "only in A",
                only_b: "only in B",
            },
        )
    })?;
    Ok(code)
}

#[derive(Serialize)]
struct ConsolidateReport<'a> {
    dry_run: bool,
    url: String,
    key: &'a str,
    bytes: usize,
    nodes: usize,
    replaces: bool,
    if_match: Option<&'a str>,
    only_in_current: &'a [Lone],
    only_in_new: &'a [Lone],
    changed: &'a [NodeChange],
}

pub(super) async fn consolidate(args: ConsolidateArgs) -> Result<()> {
    refuse_anon("consolidate", &args.access)?;
    let started = Instant::now();
    let budget = args.access.command_budget(DEFAULT_MAX_BYTES);
    // Plan with a read-only guard; after --yes a second handle's guard lets
    // exactly the planned key be written.
    let ms = open(
        &args.url,
        &args.access,
        &args.report,
        Policy::METADATA_ONLY,
        &budget,
    )
    .await?;
    require_credentials("consolidate", &ms)?;
    let options = args.crawling.options(&args.report);
    let (crawled, current) =
        futures::join!(crawl(&ms, &options), consolidate::current_zmetadata(&ms));
    let crawled = crawled?;
    print_warnings(&ms, &crawled.hierarchy, &args.report);
    let current = if crawled.hierarchy.zarr_format == 2 {
        current?
    } else {
        None
    };
    let plan = consolidate::plan(&ms, &crawled, current.as_ref())?;
    let url = ms.location.url_of(&ms.location.key(plan.key));
    let report = |dry_run| ConsolidateReport {
        dry_run,
        url: url.clone(),
        key: plan.key,
        bytes: plan.body.len(),
        nodes: plan.written.nodes.len(),
        replaces: plan.if_match.is_some(),
        if_match: plan.if_match.as_deref(),
        only_in_current: &plan.changes.only_in_a,
        only_in_new: &plan.changes.only_in_b,
        changed: &plan.changes.changed,
    };
    if !args.confirm.yes {
        print_stats(&[&ms], &args.report, started);
        if args.confirm.json {
            return json_out(&report(true));
        }
        return write_out(|out| {
            writeln!(
                out,
                "would write {url} ({}, {} nodes){}",
                human(plan.body.len() as u64),
                plan.written.nodes.len(),
                match &plan.current {
                    Some(_) => " replacing the current consolidated metadata",
                    None if plan.if_match.is_some() => " replacing the current document",
                    None => " (new)",
                }
            )?;
            if plan.current.is_some() && plan.changes.is_empty() {
                writeln!(
                    out,
                    "the current consolidated metadata already matches every node"
                )?;
            } else {
                write_comparison(
                    out,
                    &plan.changes,
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
        });
    }
    // A second handle whose guard lets exactly this key be written.
    let writer = open(
        &args.url,
        &args.access,
        &args.report,
        Policy::metadata_and_one_write(ms.location.key(plan.key)),
        &budget,
    )
    .await?;
    let written = consolidate::write(&writer, &plan).await;
    print_stats(&[&ms, &writer], &args.report, started);
    written?;
    if args.confirm.json {
        return json_out(&report(false));
    }
    write_out(|out| {
        writeln!(
            out,
            "wrote {url} ({}, {} nodes)",
            human(plan.body.len() as u64),
            plan.written.nodes.len()
        )
    })
}
