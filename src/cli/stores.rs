//! Commands about a store's metadata as a whole: `check`, `consolidate`,
//! `diff`.

use serde::Serialize;

use super::session::{Session, require_credentials};
use super::{CheckArgs, ConsolidateArgs, DiffArgs, json_out, print_warnings, read_tree, write_out};
use crate::compare::{Comparison, Lone, NodeChange, compare};
use crate::consolidate;
use crate::error::{EXIT_FINDINGS, EXIT_OK, Error, Result};
use crate::lint::{Finding, Severity, lint};
use crate::location::Location;
use crate::render::Stats;
use crate::render::check::{
    CheckFound, ConsolidateWrite, Replacing, write_check, write_consolidate_plan,
    write_consolidated, write_diff, write_reference_check,
};
use crate::source::crawl::crawl;
use crate::source::{Opened, detect};
use crate::store::DEFAULT_MAX_BYTES;
use crate::store::guard::Policy;

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
    let session = Session::sharing_budget(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let ms = session
        .open(Location::parse_versioned(&args.url)?, crate::source::POLICY)
        .await?;
    let options = args.crawling.options(&args.report);
    // A reference set or an Icechunk repository has no per-node documents to
    // compare with: lint its tree, and stale means nothing there.
    if crate::source::reference::named_by_url(&ms.location)
        || crate::source::icechunk::hinted(&ms.location)
    {
        let h = match session.settle(detect(&ms).await)? {
            Opened::Tree(h) => h,
            Opened::Unconsolidated(u) => return Err(u.error),
        };
        print_warnings(&ms, &h, &args.report);
        return check_reference_set(&session, &ms, &h, &args);
    }
    // Both at once: the crawl dominates the wall time anyway.
    let (consolidated, crawled) = futures::join!(detect(&ms), crawl(&ms, &options));
    // Found to be one of those only now (a Parquet reference directory, a
    // repository whose name does not say so): the crawl means nothing.
    if let Ok(Opened::Tree(h)) = &consolidated
        && h.source.is_some()
    {
        print_warnings(&ms, h, &args.report);
        return check_reference_set(&session, &ms, h, &args);
    }
    let crawled = session.settle(crawled)?;
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
    if args.output.json {
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
            stats: session.totals(),
        })?;
        return Ok(code);
    }
    let found = CheckFound {
        url: &ms.location.url,
        consolidated: consolidated.as_ref(),
        crawled_nodes: disk.nodes.len(),
        comparison: &comparison,
        findings: &findings,
    };
    write_out(|out| write_check(out, &found, &|command| ms.command(command)))?;
    Ok(code)
}

/// `check` of a reference set: its metadata linted, nothing to compare.
fn check_reference_set(
    session: &Session,
    ms: &crate::store::StoreHandle,
    h: &crate::hierarchy::Hierarchy,
    args: &CheckArgs,
) -> Result<u8> {
    let findings = lint(h);
    let lint_fails = findings.iter().any(|f| f.severity <= Severity::Warning);
    let code = if args.strict && lint_fails {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    };
    if args.output.json {
        json_out(&CheckReport {
            url: &ms.location.url,
            consolidated_root: None,
            consolidated_nodes: None,
            crawled_nodes: 0,
            stale: false,
            only_on_disk: &[],
            only_in_consolidated: &[],
            changed: &[],
            findings: &findings,
            stats: session.totals(),
        })?;
        return Ok(code);
    }
    let source = h.source.as_deref().unwrap_or("reference set");
    let next = if source.starts_with("Icechunk") {
        format!(
            "`{}` shows its history",
            ms.command(&format!("log {}", ms.location.url))
        )
    } else {
        format!(
            "`{}` checks that its target files are still there",
            ms.command(&format!("refs {} --verify", ms.location.url))
        )
    };
    write_out(|out| write_reference_check(out, &h.url, source, h.nodes.len(), &next, &findings))?;
    Ok(code)
}

#[derive(Serialize)]
struct DiffReport<'a> {
    a: &'a str,
    b: &'a str,
    same: bool,
    #[serde(flatten)]
    comparison: &'a Comparison,
    stats: Stats,
}

pub(super) async fn diff(args: DiffArgs) -> Result<u8> {
    // One budget for both stores: --max-bytes bounds the whole comparison.
    let session = Session::sharing_budget(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let open = |url: &str| {
        let (session, location) = (&session, args.source.location(url));
        async move { session.open(location?, crate::source::POLICY).await }
    };
    let (a, b) = futures::join!(open(&args.url_a), open(&args.url_b));
    let (a, b) = (a?, b?);
    let (ha, hb) = futures::join!(
        read_tree(&a, &args.source, &args.report),
        read_tree(&b, &args.source, &args.report)
    );
    session.print_stats();
    let (ha, hb) = (ha?, hb?);
    print_warnings(&a, &ha, &args.report);
    print_warnings(&b, &hb, &args.report);
    let c: Comparison = compare(&ha, &hb);
    let code = if c.is_empty() { EXIT_OK } else { EXIT_FINDINGS };
    if args.output.json {
        json_out(&DiffReport {
            a: &ha.url,
            b: &hb.url,
            same: c.is_empty(),
            comparison: &c,
            stats: session.totals(),
        })?;
        return Ok(code);
    }
    write_out(|out| write_diff(out, &ha, &hb, &c))?;
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
    let session = Session::sharing_budget(&args.access, &args.report, DEFAULT_MAX_BYTES);
    session.refuse_anon("consolidate", &[&args.url])?;
    // Plan with a read-only guard; after --yes a second handle's guard lets
    // exactly the planned key be written.
    let ms = session
        .open(Location::parse(&args.url)?, crate::source::POLICY)
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
        if_match: plan.if_match.as_ref().and_then(|v| v.e_tag.as_deref()),
        only_in_current: &plan.changes.only_in_a,
        only_in_new: &plan.changes.only_in_b,
        changed: &plan.changes.changed,
    };
    let document = ConsolidateWrite {
        url: &url,
        bytes: plan.body.len(),
        nodes: plan.written.nodes.len(),
    };
    if !args.confirm.yes {
        session.print_stats();
        if args.confirm.json {
            return json_out(&report(true));
        }
        let replacing = match &plan.current {
            Some(_) => Replacing::Consolidated,
            None if plan.if_match.is_some() => Replacing::Document,
            None => Replacing::Nothing,
        };
        return write_out(|out| write_consolidate_plan(out, &document, replacing, &plan.changes));
    }
    // A second handle whose guard lets exactly this key be written.
    let writer = session
        .open(
            Location::parse(&args.url)?,
            Policy::reading_and_one_write(crate::source::ZARR_KEYS, ms.location.key(plan.key)),
        )
        .await?;
    let written = consolidate::write(&writer, &plan).await;
    session.print_stats();
    written?;
    if args.confirm.json {
        return json_out(&report(false));
    }
    write_out(|out| write_consolidated(out, &document))
}
