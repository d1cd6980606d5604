//! `zarrscope find`.

use super::session::Session;
use super::{FindArgs, note, write_out};
use crate::error::{EXIT_FINDINGS, EXIT_OK, Result};
use crate::find::{FindOptions, Walked};
use crate::inventory::Summary;
use crate::location::Location;
use crate::progress::Progress;
use crate::render::find::{write_find, write_find_json_line};
use crate::render::text::count_text;

/// The byte budget of the whole command: many stores' metadata (and the
/// reference sets found) together.
pub const FIND_MAX_BYTES: u64 = 512 * 1024 * 1024;

pub(super) async fn find(args: FindArgs) -> Result<u8> {
    let session = Session::sharing_budget(&args.access, &args.report, FIND_MAX_BYTES);
    let root = session
        .open(Location::parse(&args.url)?, crate::source::POLICY)
        .await?;
    let options = FindOptions {
        concurrency: args.concurrency,
        max_requests: args.max_requests,
        depth: args.depth,
        check: args.check,
        progress: Progress::spinner(!args.report.quiet),
    };
    let mut found: Vec<Summary> = Vec::new();
    let mut write_failed = None;
    let walked = crate::find::find(&root, &options, &mut |summary| {
        if args.json {
            // Streamed: each line as its dataset is read.
            if write_failed.is_none()
                && let Err(e) = write_out(|out| write_find_json_line(out, summary))
            {
                write_failed = Some(e);
            }
        } else {
            found.push(summary.clone());
        }
    })
    .await;
    options.progress.finish();
    session.print_notices();
    let walked = walked?;
    if let Some(e) = write_failed {
        return Err(e);
    }
    if !args.json && !found.is_empty() {
        write_out(|out| write_find(out, &found))?;
    }
    report(&root.location.url, &walked, root.stats.requests(), &args);
    session.print_stats();
    Ok(
        if walked.broken > 0 || walked.stale > 0 || walked.unlisted > 0 || walked.cap_reached {
            EXIT_FINDINGS
        } else {
            EXIT_OK
        },
    )
}

/// The lines on stderr after the datasets: warnings, what the walk did,
/// and why it may be incomplete.
fn report(url: &str, walked: &Walked, requests: u64, args: &FindArgs) {
    if args.report.quiet {
        return;
    }
    for warning in &walked.warnings {
        note!("warning: {warning}");
    }
    if walked.cap_reached {
        let mut left = Vec::new();
        if walked.not_listed > 0 {
            left.push(format!(
                "{} not listed (or not to the end)",
                directories(walked.not_listed)
            ));
        }
        if walked.not_read > 0 {
            left.push(format!(
                "{} found but not (completely) read",
                count_text(walked.not_read, "dataset")
            ));
        }
        if walked.candidates_not_read > 0 {
            left.push(format!(
                "{} not looked at",
                count_text(walked.candidates_not_read, ".json file")
            ));
        }
        note!(
            "warning: stopped at the request cap (--max-requests {}){}; this inventory is incomplete: raise --max-requests",
            args.max_requests,
            if left.is_empty() {
                String::new()
            } else {
                format!(": {}", left.join(", "))
            }
        );
    }
    if walked.beyond_depth > 0 {
        note!(
            "note: {} below --depth {} not listed",
            directories(walked.beyond_depth),
            args.depth.unwrap_or_default()
        );
    }
    let listed = directories(walked.directories_listed);
    if walked.datasets == 0 {
        note!("no datasets found under {url} ({listed} listed)");
    } else {
        let mut problems = Vec::new();
        if walked.broken > 0 {
            problems.push(format!("{} broken", walked.broken));
        }
        if walked.stale > 0 {
            problems.push(format!("{} stale", walked.stale));
        }
        if walked.unlisted > 0 {
            problems.push(format!(
                "{} not listed: see the warnings",
                directories(walked.unlisted)
            ));
        }
        note!(
            "{}{}; {listed} listed, {}",
            count_text(walked.datasets, "dataset"),
            if problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", problems.join(", "))
            },
            count_text(requests, "request")
        );
    }
    if walked.not_references > 0 {
        note!(
            "{} skipped: not {}",
            count_text(walked.not_references, ".json file"),
            if walked.not_references == 1 {
                "a kerchunk reference set"
            } else {
                "kerchunk reference sets"
            }
        );
    }
}

fn directories(n: usize) -> String {
    format!("{n} director{}", if n == 1 { "y" } else { "ies" })
}
