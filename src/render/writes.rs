//! Text of the write commands: the plans of `cp`/`mv`/`rm` (their dry
//! runs), what they did, and `mkdir`'s answers. Their JSON is the serde form
//! of the plans and reports.

use std::io::{self, Write};

use super::text::{plural, size_text};
use crate::location::Location;
use crate::objects::bucket::BucketState;
use crate::objects::remove::Removal;
use crate::objects::transfer::{Plan, Report, SkippedLink};

/// Items listed in a human-readable plan before "… and N more".
const PLAN_LINES: usize = 50;

/// The last line of every dry run.
const DRY_RUN: &str = "dry run: nothing was changed; run again with --yes to do it";

fn write_more(out: &mut dyn Write, listed: usize) -> io::Result<()> {
    if listed > PLAN_LINES {
        writeln!(
            out,
            "  … and {} more (--json lists all)",
            listed - PLAN_LINES
        )?;
    }
    Ok(())
}

/// `cp`/`mv` without `--yes`: what would be copied (`verb`: copy or move),
/// what it would replace, and what is left out. `redact` takes secrets out
/// of a server's answer.
pub fn write_transfer_plan(
    out: &mut dyn Write,
    plan: &Plan,
    verb: &str,
    redact: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    writeln!(
        out,
        "would {verb} {} object{} ({}) by {}:",
        plan.items.len(),
        plural(plan.items.len()),
        size_text(plan.bytes),
        plan.method.describe()
    )?;
    for item in plan.items.iter().take(PLAN_LINES) {
        let mut notes = match item.replaced_size {
            Some(old) => format!(", replaces {} there now", size_text(old)),
            None => String::new(),
        };
        if item.server_side_in_parts {
            notes.push_str(", copied by the server in parts");
        }
        writeln!(
            out,
            "  {} -> {}  ({}{notes})",
            item.from,
            item.to,
            size_text(item.size)
        )?;
    }
    write_more(out, plan.items.len())?;
    let replaced: Vec<_> = plan.replacing().collect();
    if !replaced.is_empty() {
        // Named apart from the plan: this is what the write destroys.
        writeln!(
            out,
            "{} existing object{} would be replaced ({} there now):",
            replaced.len(),
            plural(replaced.len()),
            size_text(replaced.iter().filter_map(|i| i.replaced_size).sum::<u64>())
        )?;
        for item in replaced.iter().take(PLAN_LINES) {
            writeln!(
                out,
                "  {}  ({} now, {} after)",
                item.to,
                size_text(item.replaced_size.unwrap_or(0)),
                size_text(item.size)
            )?;
        }
        write_more(out, replaced.len())?;
    }
    if let Some(why) = &plan.destination_unchecked {
        writeln!(
            out,
            "could not check what exists at the destination ({}): any object already there would be replaced",
            redact(why)
        )?;
    }
    write_skipped_links(out, &plan.skipped_links)?;
    writeln!(out, "{DRY_RUN}")
}

/// Symlinks out of a local source: named, since they are not copied.
pub fn write_skipped_links(out: &mut dyn Write, links: &[SkippedLink]) -> io::Result<()> {
    if links.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "{} file{} not copied: reached through a symlink that leads out of the source:",
        links.len(),
        plural(links.len())
    )?;
    for link in links {
        writeln!(out, "  {} -> {}", link.path, link.target)?;
    }
    Ok(())
}

/// `cp`/`mv --yes`, done (`past`: copied or moved) with `total` planned.
pub fn write_transferred(
    out: &mut dyn Write,
    past: &str,
    report: &Report,
    total: usize,
) -> io::Result<()> {
    writeln!(
        out,
        "{past} {} of {total} object{} ({})",
        report.done.len(),
        plural(total),
        size_text(report.bytes_done)
    )
}

/// `rm` without `--yes`: the objects that would be deleted at `location`.
pub fn write_removal_plan(
    out: &mut dyn Write,
    removal: &Removal,
    location: &Location,
) -> io::Result<()> {
    let n = removal.objects.len();
    writeln!(
        out,
        "would delete {n} object{} ({}) under {}:",
        plural(n),
        size_text(removal.bytes),
        location.url
    )?;
    for o in removal.objects.iter().take(PLAN_LINES) {
        writeln!(
            out,
            "  {}  ({})",
            location.url_of(&o.key),
            size_text(o.size)
        )?;
    }
    write_more(out, n)?;
    writeln!(out, "{DRY_RUN}")
}

/// `rm --yes`, done: `deleted` of the `planned` objects.
pub fn write_removed(out: &mut dyn Write, deleted: usize, planned: usize) -> io::Result<()> {
    writeln!(
        out,
        "deleted {deleted} of {planned} object{}",
        plural(planned)
    )
}

/// `mkdir` on a URL below a bucket: `service` (S3, Google Cloud Storage,
/// Azure Blob Storage) has nothing to create there.
pub fn write_no_directories(out: &mut dyn Write, service: &str, url: &str) -> io::Result<()> {
    writeln!(
        out,
        "nothing to do: {service} has no directories. {url} exists as soon as an object is written under it (e.g. zarrscope cp FILE {url}/FILE --yes)."
    )
}

/// Where `mkdir` creates a bucket: `at ENDPOINT`, or `in AWS region R`.
pub fn bucket_place(endpoint: Option<&str>, region: &str) -> String {
    match endpoint {
        Some(endpoint) => format!("at {endpoint}"),
        None => format!("in AWS region {region}"),
    }
}

/// `mkdir -p` on a bucket that exists.
pub fn write_bucket_exists(out: &mut dyn Write, url: &str) -> io::Result<()> {
    writeln!(out, "bucket {url} already exists: nothing to do")
}

/// `mkdir` without `--yes`: what HeadBucket said about the bucket at `url`
/// (`place` from [`bucket_place`]; `credentials` names whose they are).
pub fn write_bucket_state(
    out: &mut dyn Write,
    state: BucketState,
    url: &str,
    place: &str,
    credentials: &str,
) -> io::Result<()> {
    match state {
        BucketState::Absent => {
            writeln!(out, "would create bucket {url} {place}")?;
            writeln!(out, "{DRY_RUN}")
        }
        BucketState::Yours => writeln!(
            out,
            "bucket {url} already exists {place} and is yours: nothing to create"
        ),
        BucketState::OtherRegion => writeln!(
            out,
            "bucket {url} already exists, in another AWS region: nothing to create"
        ),
        BucketState::Forbidden => writeln!(
            out,
            "bucket {url} already exists {place}, but {credentials} may not use it (403): nothing to create; bucket names are global on AWS, so pick another name if it is not yours"
        ),
    }
}

/// `mkdir --yes`, done.
pub fn write_bucket_created(out: &mut dyn Write, url: &str, place: &str) -> io::Result<()> {
    writeln!(out, "created bucket {url} {place}")
}
