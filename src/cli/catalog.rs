//! `zarrscope catalog`: list a catalog's entries, open one with the access
//! it declares, or check every one (`--check`).

use futures::StreamExt;
use object_store::ObjectStoreExt;
use serde::Serialize;

use super::output::note;
use super::session::Session;
use super::show::{ShowView, show_in};
use super::tree::{TreeView, print_tree};
use super::{CatalogArgs, Format, ReportArgs, json_out, write_out};
use crate::catalog::health::{Health, Problem, State};
use crate::catalog::{self, Access, Catalog, Entry, EntryKind};
use crate::compare::compare;
use crate::error::{EXIT_FINDINGS, EXIT_OK, Error, ErrorKind, Result};
use crate::hierarchy::Hierarchy;
use crate::inventory::{DatasetKind, Metadata, Summary};
use crate::location::{Location, is_remote_url};
use crate::render::Stats;
use crate::render::catalog::{write_catalog, write_health};
use crate::source::reference::summary::summarize;
use crate::source::reference::verify::{TargetState, VerifyOptions, broken, verify};
use crate::source::{Opened, detect};
use crate::store::guard::{Keys, Policy, Writes};
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle, StoreOptions};

/// What the guard calls the one key a catalog read asks for.
const CATALOG_WHAT: &str = "catalog file";

pub(super) async fn catalog(args: CatalogArgs) -> Result<u8> {
    // The catalog's own reads take the flags as given; --stats counts the
    // entries' requests (the catalog's file is one GET).
    let reading = ReportArgs {
        stats: false,
        verbose: args.report.verbose,
        quiet: args.report.quiet,
    };
    let session = Session::new(&args.access, &reading, DEFAULT_MAX_BYTES);
    let mut catalog = read_catalog(&session, &args.url, &args).await?;
    let mut chosen = None;
    if let Some(name) = &args.entry {
        let (holder, entry) = find_entry(&session, catalog, name, &args).await?;
        catalog = holder;
        if entry.kind == EntryKind::Catalog {
            catalog = read_catalog(&session, &sub_catalog_url(&entry)?, &args).await?;
        } else {
            chosen = Some(entry);
        }
    }
    match chosen {
        Some(entry) if args.check => check(&catalog, vec![entry], &args).await,
        Some(entry) => open_entry(&entry, &args).await.map(|()| EXIT_OK),
        None if args.check => {
            let entries = catalog.entries.clone();
            check(&catalog, entries, &args).await
        }
        None if args.json => json_out(&catalog).map(|()| EXIT_OK),
        None => write_out(|out| write_catalog(out, &catalog)).map(|()| EXIT_OK),
    }
}

/// Read and parse the catalog at `url`: a local file, or one GET through
/// a guard that allows that one key, within the byte budget.
async fn read_catalog(session: &Session<'_>, url: &str, args: &CatalogArgs) -> Result<Catalog> {
    if !is_remote_url(url) {
        let path = url.strip_prefix("file://").unwrap_or(url);
        let unreadable = |e: std::io::Error| {
            Error::of_kind(
                if e.kind() == std::io::ErrorKind::NotFound {
                    ErrorKind::NotFound
                } else {
                    ErrorKind::Other
                },
                format!("cannot read the catalog {path}: {e}"),
            )
            .with_hint("check the path, or give the catalog's URL (s3://…, https://…)")
        };
        let full = std::fs::canonicalize(path).map_err(unreadable)?;
        let size = std::fs::metadata(&full).map_err(unreadable)?.len();
        let max = args.access.max_bytes.unwrap_or(DEFAULT_MAX_BYTES);
        if size > max {
            return Err(too_large(path, size, max));
        }
        let raw = std::fs::read(&full).map_err(unreadable)?;
        let shown = full.display().to_string();
        return catalog::parse(&shown, &utf8(&shown, raw)?);
    }
    let location = Location::parse(url)?;
    if location.prefix.is_empty() {
        return Err(
            Error::new(format!("{url} names a bucket or host, not a catalog file"))
                .with_hint("give the catalog file's URL, e.g. s3://bucket/catalog.yml"),
        );
    }
    let key = location.prefix.clone();
    let ms = session
        .open(location, Policy::one_file(CATALOG_WHAT, key.clone()))
        .await?;
    let path = crate::keys::path(&key)?;
    let shown = ms.location.url.clone();
    let read = async {
        let got = ms.store.get(&path).await?;
        got.bytes().await
    };
    let raw = read.await.map_err(|e| ms.explain_url(&shown, &e))?;
    session.print_notices();
    catalog::parse(&shown, &utf8(&shown, raw.to_vec())?)
}

fn too_large(url: &str, size: u64, max: u64) -> Error {
    Error::of_kind(
        ErrorKind::BudgetExceeded,
        format!("the catalog {url} is {size} bytes, more than the byte budget of {max}"),
    )
    .with_hint("raise --max-bytes if this is the catalog you meant")
}

fn utf8(url: &str, raw: Vec<u8>) -> Result<String> {
    String::from_utf8(raw).map_err(|_| {
        Error::of_kind(
            ErrorKind::InvalidMetadata,
            format!("the catalog {url} is not UTF-8 text"),
        )
        .with_hint("give an intake YAML catalog or a STAC JSON document")
    })
}

fn sub_catalog_url(entry: &Entry) -> Result<String> {
    entry.url.clone().ok_or_else(|| {
        Error::new(format!(
            "the sub-catalog entry {} gives no path (args.path)",
            entry.name
        ))
    })
}

/// The entry `name` names, and the catalog holding it: an entry of
/// `catalog`, or `SUB/NAME` an entry of its sub-catalog SUB (read).
async fn find_entry(
    session: &Session<'_>,
    mut catalog: Catalog,
    name: &str,
    args: &CatalogArgs,
) -> Result<(Catalog, Entry)> {
    let mut rest = name.trim_matches('/');
    loop {
        if let Some(entry) = catalog.entry(rest) {
            let entry = entry.clone();
            return Ok((catalog, entry));
        }
        let sub = rest.split_once('/').and_then(|(head, tail)| {
            catalog
                .entry(head)
                .filter(|e| e.kind == EntryKind::Catalog)
                .map(|e| (e.clone(), tail))
        });
        let Some((sub, tail)) = sub else {
            return Err(catalog.no_such_entry(rest));
        };
        catalog = read_catalog(session, &sub_catalog_url(&sub)?, args).await?;
        rest = tail;
    }
}

/// The store options for an entry with `declared` access: the command's,
/// with the catalog's access under the flags given.
fn entry_options(args: &CatalogArgs, declared: &Access) -> (StoreOptions, Access) {
    let mut options = args.access.store_options(DEFAULT_MAX_BYTES);
    let access = declared.with_overrides(&options.s3);
    options.s3 = access.flags();
    (options, access)
}

fn not_a_dataset(entry: &Entry) -> Error {
    Error::new(format!(
        "{} is a {} entry ({}), not a dataset zarrscope reads",
        entry.name,
        entry.driver,
        entry.url.as_deref().unwrap_or("no URL")
    ))
    .with_hint("zarrscope reads Zarr stores (v2, v3), kerchunk reference sets and Icechunk repositories from their metadata; open this one with the tool its driver names")
}

fn not_on_this_machine(entry: &Entry, path: &str) -> Error {
    Error::of_kind(
        ErrorKind::NotFound,
        format!(
            "{} is at the local path {path}, which is not on this machine",
            entry.name
        ),
    )
    .with_hint("it is on-premises storage: run zarrscope where that path is mounted, or pick an entry of the same dataset in object storage")
}

/// `catalog URL ENTRY`: the entry's tree (or `show` view), opened with its
/// access.
async fn open_entry(entry: &Entry, args: &CatalogArgs) -> Result<()> {
    if !entry.kind.is_dataset() {
        return Err(not_a_dataset(entry));
    }
    let url = entry
        .open_url()
        .ok_or_else(|| Error::new(format!("the entry {} gives no URL (urlpath)", entry.name)))?;
    if let Some(path) = entry.missing_local_path() {
        return Err(not_on_this_machine(entry, &path));
    }
    let (options, access) = entry_options(args, &entry.access);
    if access.requester_pays && !args.report.quiet {
        note!(
            "note: {} is in a Requester Pays bucket: you (the requester), not the bucket's owner, are billed for these requests and bytes",
            entry.name
        );
    }
    let session = Session::with_options(&args.access, &args.report, options);
    if args.show {
        let view = ShowView {
            url: &url,
            path: None,
            json: args.json,
            coords: false,
        };
        return show_in(&session, &view, &args.source, &args.report).await;
    }
    let view = TreeView {
        format: if args.json {
            Format::Json
        } else {
            Format::Tree
        },
        attrs: false,
        depth: None,
        sizes: false,
    };
    print_tree(&session, &url, &args.source, &args.report, &view).await
}

#[derive(Serialize)]
struct CheckReport<'a> {
    url: &'a str,
    format: catalog::Format,
    entries: &'a [Health],
    ok: usize,
    broken: usize,
    not_checked: usize,
    stats: Stats,
}

/// `catalog --check`: every entry at once (at most --parallel), each with
/// its own access.
async fn check(catalog: &Catalog, entries: Vec<Entry>, args: &CatalogArgs) -> Result<u8> {
    let started = std::time::Instant::now();
    // Entries' notices and progress lines would interleave: each entry's
    // findings are in its line instead.
    let report = ReportArgs {
        stats: false,
        verbose: args.report.verbose,
        quiet: true,
    };
    let checked: Vec<(Health, Stats)> = futures::stream::iter(entries.iter())
        .map(|entry| check_entry(entry, args, &report))
        .buffered(args.parallel)
        .collect()
        .await;
    let stats = checked.iter().fold(Stats::default(), |sum, (_, s)| Stats {
        requests: sum.requests + s.requests,
        bytes: sum.bytes + s.bytes,
    });
    let health: Vec<Health> = checked.into_iter().map(|(h, _)| h).collect();
    let count = |state: State| health.iter().filter(|h| h.state == state).count();
    let broken = count(State::Broken);
    if args.report.stats {
        note!(
            "requests: {}  bytes: {}  elapsed: {:.3}s",
            stats.requests,
            stats.bytes,
            started.elapsed().as_secs_f64()
        );
    }
    if !args.report.quiet {
        for h in health
            .iter()
            .filter(|h| h.access.requester_pays && h.state != State::NotChecked)
        {
            note!(
                "note: {} is in a Requester Pays bucket: you (the requester) were billed for its requests",
                h.name
            );
        }
    }
    if args.json {
        json_out(&CheckReport {
            url: &catalog.url,
            format: catalog.format,
            entries: &health,
            ok: count(State::Ok),
            broken,
            not_checked: count(State::NotChecked),
            stats,
        })?;
    } else {
        write_out(|out| write_health(out, &catalog.url, &health))?;
    }
    Ok(if broken > 0 { EXIT_FINDINGS } else { EXIT_OK })
}

/// One entry's health, and the requests it took.
async fn check_entry(entry: &Entry, args: &CatalogArgs, report: &ReportArgs) -> (Health, Stats) {
    let (options, access) = entry_options(args, &entry.access);
    let mut health = Health::new(entry, access);
    if entry.kind == EntryKind::Catalog {
        health.not_checked(format!(
            "a sub-catalog: `zarrscope catalog {} {} --check` checks its entries",
            shell_word(&args.url),
            entry.name
        ));
        return (health, Stats::default());
    }
    if !entry.kind.is_dataset() {
        health.not_checked(format!(
            "driver {}: zarrscope reads Zarr stores, kerchunk reference sets and Icechunk repositories",
            if entry.driver.is_empty() { "-" } else { &entry.driver }
        ));
        return (health, Stats::default());
    }
    let Some(url) = entry.open_url() else {
        health.broken(Problem::Unreadable, "the entry gives no URL (urlpath)");
        return (health, Stats::default());
    };
    if let Some(path) = entry.missing_local_path() {
        health.broken(
            Problem::NotOnThisMachine,
            format!("local path {path} is not on this machine (on-premises storage)"),
        );
        return (health, Stats::default());
    }
    let session = Session::with_options(&args.access, report, options);
    let targets = entry
        .targets
        .as_ref()
        .map(|t| entry_options(args, &t.access).0);
    let target_session = targets.map(|o| Session::with_options(&args.access, report, o));
    let result = check_dataset(
        &session,
        target_session.as_ref(),
        &url,
        args,
        report,
        &mut health,
    )
    .await;
    if let Err(e) = result {
        let reason = session.redact(&e.to_string());
        let reason = match &target_session {
            Some(t) => t.redact(&reason),
            None => reason,
        };
        health.broken(Problem::of(&e), reason);
    }
    let mut stats = session.totals();
    if let Some(t) = &target_session {
        let more = t.totals();
        stats.requests += more.requests;
        stats.bytes += more.bytes;
    }
    (health, stats)
}

/// What kind of dataset a tree was read from.
fn dataset_kind(h: &Hierarchy) -> DatasetKind {
    match h.source.as_deref() {
        Some(s) if s.starts_with("Icechunk") => DatasetKind::Icechunk,
        Some(s) if s.contains("Parquet") => DatasetKind::KerchunkParquet,
        Some(_) => DatasetKind::KerchunkJson,
        None => DatasetKind::Zarr,
    }
}

/// Read the entry's metadata and look for what breaks it: staleness (a
/// consolidated Zarr store, compared with a crawl as `check` does), rotten
/// references (one HEAD per target file, with the targets' access).
async fn check_dataset(
    session: &Session<'_>,
    target_session: Option<&Session<'_>>,
    url: &str,
    args: &CatalogArgs,
    report: &ReportArgs,
    health: &mut Health,
) -> Result<()> {
    let location = args.source.location(url)?;
    let ms = session.open(location, crate::source::POLICY).await?;
    if crate::source::reference::named_by_url(&ms.location) {
        return check_references(&ms, target_session.unwrap_or(session), args, health).await;
    }
    let options = args.source.crawling.options(report);
    let h = match detect(&ms).await? {
        Opened::Tree(h) => h,
        Opened::Unconsolidated(u) => {
            crate::source::crawl::crawl_seeded(&ms, &options, Some(u.seed))
                .await?
                .hierarchy
        }
    };
    let mut summary = Summary::of(dataset_kind(&h), &h);
    if h.source.is_none() && h.consolidated {
        let crawled = crate::source::crawl::crawl(&ms, &options).await?.hierarchy;
        if !crawled.complete {
            health.notes.push(format!(
                "staleness not decided: the crawl stopped before reading every node (raise --max-requests from {})",
                args.source.crawling.max_requests
            ));
        } else {
            let comparison = compare(&h, &crawled);
            if !comparison.is_empty() {
                summary.metadata = Some(Metadata::Stale);
                health.broken(
                    Problem::Stale,
                    format!(
                        "consolidated metadata is stale: {} node(s) only in the store, {} only in the consolidated metadata, {} changed; `{}` compares, `{}` rewrites it",
                        comparison.only_in_b.len(),
                        comparison.only_in_a.len(),
                        comparison.changed.len(),
                        ms.command(&format!("check {}", ms.location.url)),
                        ms.command(&format!("consolidate {} --yes", ms.location.url)),
                    ),
                );
            }
        }
    }
    health.notes.extend(h.warnings.iter().map(|w| ms.redact(w)));
    health.dataset = Some(summary);
    Ok(())
}

/// A reference set: its tree, and one HEAD per distinct target file opened
/// with the targets' access.
async fn check_references(
    ms: &StoreHandle,
    targets: &Session<'_>,
    args: &CatalogArgs,
    health: &mut Health,
) -> Result<()> {
    let references = super::refs::read(ms).await?;
    let h = references.hierarchy()?;
    health.dataset = Some(Summary::of(dataset_kind(&h), &h));
    let summary = summarize(&references, &h);
    let heads = Policy {
        keys: Keys::HeadsOnly,
        writes: Writes::None,
    };
    let options = VerifyOptions {
        concurrency: crate::source::reference::verify::DEFAULT_CONCURRENCY,
        max_requests: args.source.crawling.max_requests,
        progress: false,
    };
    let open = |location: Location| targets.open(location, heads.clone());
    let checks = verify(summary.targets.list.clone(), open, &options).await;
    let bad = broken(&checks);
    if bad > 0 {
        let first: Vec<String> = checks
            .iter()
            .filter(|c| c.state.is_broken())
            .take(3)
            .map(|c| {
                let state = match &c.state {
                    TargetState::Missing => "missing".to_string(),
                    TargetState::Short { size, needed } => {
                        format!("truncated: {size} bytes of {needed} needed")
                    }
                    TargetState::Unreadable(why) => {
                        format!("unreadable: {}", why.lines().next().unwrap_or(""))
                    }
                    _ => String::new(),
                };
                format!("{} ({state})", c.url)
            })
            .collect();
        health.broken(
            Problem::RottenReferences,
            format!(
                "{bad} of {} target file(s) broken: {}{}",
                checks.len(),
                first.join(", "),
                if bad > first.len() { ", …" } else { "" }
            ),
        );
    }
    let unchecked = checks
        .iter()
        .filter(|c| c.state == TargetState::NotChecked)
        .count();
    if unchecked > 0 {
        health.notes.push(format!(
            "{unchecked} target file(s) not checked (past --max-requests)"
        ));
    }
    Ok(())
}

/// `word` quoted for a shell when it needs to be.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/:._-+@=,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
