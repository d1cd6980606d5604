//! The write commands: `cp`, `mv`, `rm`, `mkdir`. Each one plans with
//! read-only access and prints the plan; only `--yes` opens the stores with a
//! guard that lets writes through. `--anon` and missing credentials refuse
//! before anything is read.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::output::note;
use super::{
    AccessArgs, ConfirmArgs, MkdirArgs, ReportArgs, RmArgs, TransferArgs, human, is_url, json_out,
    open_store, print_notices, print_stats, refuse_anon, remote_location, require_credentials,
    write_out,
};
use crate::error::{Error, ErrorKind, Result};
use crate::location::Backend;
use crate::objects::transfer::{self, Mode, Side};
use crate::objects::{bucket, remove};
use crate::progress::Progress;
use crate::store::guard::Policy;
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle, TimeoutKind};

/// Items listed in a human-readable plan before "… and N more".
const PLAN_LINES: usize = 50;

const DRY_RUN: &str = "dry run: nothing was changed; run again with --yes to do it";

async fn open_bucket(
    url: &str,
    access: &AccessArgs,
    report: &ReportArgs,
    policy: Policy,
    default_max_bytes: u64,
) -> Result<StoreHandle> {
    open_store(
        remote_location(url)?,
        access,
        report,
        policy,
        default_max_bytes,
    )
    .await
}

/// One side of `cp`/`mv`, opened as `open_store` does, but with `--timeout`
/// as an idle timeout: a large object may take longer than the timeout to
/// transfer, as long as bytes keep moving. Copies move data on purpose: no
/// byte budget unless one is given.
async fn open_transfer_side(
    url: &str,
    access: &AccessArgs,
    report: &ReportArgs,
    policy: Policy,
) -> Result<StoreHandle> {
    let options = crate::store::StoreOptions {
        timeout_kind: TimeoutKind::Idle,
        ..access.store_options(u64::MAX)
    };
    super::open_store_with(remote_location(url)?, report, policy, options).await
}

/// The bucket a write command acts on: refused with `--anon` before any
/// request, writable only after `--yes`, and never without credentials.
async fn open_for_write(
    command: &str,
    url: &str,
    access: &AccessArgs,
    report: &ReportArgs,
    confirm: &ConfirmArgs,
) -> Result<StoreHandle> {
    refuse_anon(command, access)?;
    let handle = open_bucket(url, access, report, policy_for(confirm), DEFAULT_MAX_BYTES).await?;
    require_credentials(command, &handle)?;
    Ok(handle)
}

fn local_path(arg: &str) -> Result<PathBuf> {
    if let Some(rest) = arg.strip_prefix("file://") {
        let url = url::Url::parse(&format!("file://{rest}"))
            .map_err(|e| Error::new(format!("invalid file URL {arg:?}: {e}")))?;
        return url
            .to_file_path()
            .map_err(|()| Error::new(format!("file URL {arg:?} does not name a local path")));
    }
    Ok(PathBuf::from(arg))
}

#[derive(Serialize)]
struct Done<'a, P: Serialize, R: Serialize> {
    dry_run: bool,
    plan: &'a P,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<R>,
}

fn policy_for(confirm: &ConfirmArgs) -> Policy {
    if confirm.yes {
        Policy::READ_WRITE
    } else {
        Policy::READ_ONLY
    }
}

pub(super) async fn transfer(args: TransferArgs, is_move: bool) -> Result<()> {
    let command = if is_move { "mv" } else { "cp" };
    refuse_anon(command, &args.access)?;
    let started = Instant::now();
    let yes = args.confirm.yes;
    let write = policy_for(&args.confirm);
    // cp only reads its source; mv deletes it.
    let src_policy = if is_move {
        write.clone()
    } else {
        Policy::READ_ONLY
    };
    let src_handle = match is_url(&args.src) {
        true => Some(open_transfer_side(&args.src, &args.access, &args.report, src_policy).await?),
        false => None,
    };
    let dst_handle = match is_url(&args.dst) {
        true => Some(open_transfer_side(&args.dst, &args.access, &args.report, write).await?),
        false => None,
    };
    if let Some(h) = &dst_handle {
        require_credentials(command, h)?;
    }
    if let (true, Some(h)) = (is_move, &src_handle) {
        require_credentials(command, h)?;
    }
    let src = match &src_handle {
        Some(h) => Side::remote(h, args.src.ends_with('/')),
        None => Side::local(&local_path(&args.src)?, yes && is_move, args.access.timeout)?,
    };
    let dst = match &dst_handle {
        Some(h) => Side::remote(h, args.dst.ends_with('/')),
        None => Side::local(&local_path(&args.dst)?, yes, args.access.timeout)?,
    };
    let handles: Vec<&StoreHandle> = src_handle.iter().chain(dst_handle.iter()).collect();
    let mode = if is_move { Mode::Move } else { Mode::Copy };
    let plan = transfer::plan(&src, &dst, args.recursive, !yes, mode).await;
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => {
            print_stats(&handles, &args.report, started);
            return Err(e);
        }
    };
    let verb = if is_move { "move" } else { "copy" };
    if !yes {
        print_notices_all(&handles, &args.report);
        print_stats(&handles, &args.report, started);
        if args.confirm.json {
            return json_out(&Done::<_, ()> {
                dry_run: true,
                plan: &plan,
                result: None,
            });
        }
        return write_out(|out| {
            writeln!(
                out,
                "would {verb} {} object{} ({}) by {}:",
                plan.items.len(),
                plural(plan.items.len()),
                human(plan.bytes),
                plan.method.describe()
            )?;
            for item in plan.items.iter().take(PLAN_LINES) {
                let mut notes = match item.replaced_size {
                    Some(old) => format!(", replaces {} there now", human(old)),
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
                    human(item.size)
                )?;
            }
            if plan.items.len() > PLAN_LINES {
                writeln!(
                    out,
                    "  … and {} more (--json lists all)",
                    plan.items.len() - PLAN_LINES
                )?;
            }
            let replaced: Vec<_> = plan.replacing().collect();
            if !replaced.is_empty() {
                // Named apart from the plan: this is what the write destroys.
                writeln!(
                    out,
                    "{} existing object{} would be replaced ({} there now):",
                    replaced.len(),
                    plural(replaced.len()),
                    human(replaced.iter().filter_map(|i| i.replaced_size).sum::<u64>())
                )?;
                for item in replaced.iter().take(PLAN_LINES) {
                    writeln!(
                        out,
                        "  {}  ({} now, {} after)",
                        item.to,
                        human(item.replaced_size.unwrap_or(0)),
                        human(item.size)
                    )?;
                }
                if replaced.len() > PLAN_LINES {
                    writeln!(
                        out,
                        "  … and {} more (--json lists all)",
                        replaced.len() - PLAN_LINES
                    )?;
                }
            }
            if let Some(why) = &plan.destination_unchecked {
                writeln!(
                    out,
                    "could not check what exists at the destination ({}): any object already there would be replaced",
                    redact_all(&handles, why)
                )?;
            }
            write_skipped_links(out, &plan.skipped_links)?;
            writeln!(out, "{DRY_RUN}")
        });
    }
    let total = plan.items.len();
    if !plan.skipped_links.is_empty() && !args.report.quiet {
        let mut text = Vec::new();
        let _ = write_skipped_links(&mut text, &plan.skipped_links);
        eprint!("warning: {}", String::from_utf8_lossy(&text));
    }
    let progress = Progress::bytes(!args.report.quiet, plan.bytes);
    let report = transfer::execute(plan, &src, &dst, mode, &progress).await;
    print_notices_all(&handles, &args.report);
    print_stats(&handles, &args.report, started);
    let past = if is_move { "moved" } else { "copied" };
    if args.confirm.json {
        json_out(&report)?;
    } else {
        write_out(|out| {
            writeln!(
                out,
                "{past} {} of {total} object{} ({})",
                report.done.len(),
                plural(total),
                human(report.bytes_done)
            )
        })?;
    }
    match &report.failed {
        None => Ok(()),
        Some((item, why)) => {
            let mut message = format!(
                "{command} stopped after {} of {total} objects\n  failed: {} -> {}: {why}",
                report.done.len(),
                item.from,
                item.to
            );
            if let Some(first) = report.not_attempted.first() {
                message.push_str(&format!(
                    "\n  not attempted: {} object{} (from {})",
                    report.not_attempted.len(),
                    plural(report.not_attempted.len()),
                    first.from
                ));
            }
            let redacted = handles.iter().fold(message, |m, h| h.redact(&m));
            Err(Error::new(redacted).with_hint(format!(
                "fix the cause and run the same command again: {past} objects are re-planned from what exists now"
            )))
        }
    }
}

fn redact_all(handles: &[&StoreHandle], text: &str) -> String {
    handles
        .iter()
        .fold(text.to_string(), |text, h| h.redact(&text))
}

/// Symlinks out of a local source: named, since they are not copied.
fn write_skipped_links(
    out: &mut dyn std::io::Write,
    links: &[transfer::SkippedLink],
) -> std::io::Result<()> {
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

fn print_notices_all(handles: &[&StoreHandle], report: &ReportArgs) {
    for h in handles {
        print_notices(h, report);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Whether `rm -f` passes over `e`: only a URL with nothing at it, told by
/// its kind (a missing bucket, also a "not found", must still fail).
fn force_ignores(e: &Error) -> bool {
    e.kind() == ErrorKind::NothingAtUrl
}

pub(super) async fn rm(args: RmArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_for_write("rm", &args.url, &args.access, &args.report, &args.confirm).await?;
    let key = handle.location.prefix.clone();
    let removal = remove::plan(&handle, &key, args.recursive).await;
    let removal = match removal {
        Ok(r) => r,
        // `rm -f`: a URL with nothing at it is not an error (plan() names
        // that case [`ErrorKind::NothingAtUrl`]). -f never stands in for --yes.
        // An empty plan: the dry run, --json and --yes report 0 objects.
        Err(e) if args.force && force_ignores(&e) => {
            if !args.report.quiet {
                note!("note: nothing at {} (ignored with -f)", handle.location.url);
            }
            remove::Removal {
                objects: Vec::new(),
                bytes: 0,
            }
        }
        Err(e) => {
            print_notices(&handle, &args.report);
            print_stats(&[&handle], &args.report, started);
            return Err(e);
        }
    };
    let n = removal.objects.len();
    if !args.confirm.yes {
        print_notices(&handle, &args.report);
        print_stats(&[&handle], &args.report, started);
        if args.confirm.json {
            return json_out(&Done::<_, ()> {
                dry_run: true,
                plan: &removal,
                result: None,
            });
        }
        return write_out(|out| {
            writeln!(
                out,
                "would delete {n} object{} ({}) under {}:",
                plural(n),
                human(removal.bytes),
                handle.location.url
            )?;
            for o in removal.objects.iter().take(PLAN_LINES) {
                writeln!(
                    out,
                    "  {}  ({})",
                    handle.location.url_of(&o.key),
                    human(o.size)
                )?;
            }
            if n > PLAN_LINES {
                writeln!(out, "  … and {} more (--json lists all)", n - PLAN_LINES)?;
            }
            writeln!(out, "{DRY_RUN}")
        });
    }
    let progress = Progress::spinner(!args.report.quiet);
    progress.message(format!("deleting {n} objects"));
    let report = remove::execute(&handle, &removal).await;
    progress.finish();
    print_notices(&handle, &args.report);
    print_stats(&[&handle], &args.report, started);
    if args.confirm.json {
        json_out(&report)?;
    } else {
        write_out(|out| {
            writeln!(
                out,
                "deleted {} of {n} object{}",
                report.deleted.len(),
                plural(n)
            )
        })?;
    }
    if report.failed.is_empty() {
        return Ok(());
    }
    let mut message = format!("{} of {n} objects were not deleted:", report.failed.len());
    for (key, why) in report.failed.iter().take(10) {
        message.push_str(&format!("\n  {}: {why}", handle.location.url_of(key)));
    }
    Err(Error::new(message).with_hint("run the same command again to retry what is left"))
}

/// True when a listing of the bucket's top level succeeds.
async fn bucket_exists(handle: &StoreHandle) -> bool {
    use object_store::ObjectStore;
    handle.store.list_with_delimiter(None).await.is_ok()
}

pub(super) async fn mkdir(args: MkdirArgs) -> Result<()> {
    let location = remote_location(&args.url)?;
    if !location.prefix.is_empty() {
        // Nothing to create, nothing to send.
        return write_out(|out| {
            writeln!(
                out,
                "nothing to do: S3 has no directories. {} exists as soon as an object is written under it (e.g. zarrscope cp FILE {}/FILE --yes).",
                location.url, location.url
            )
        });
    }
    if !matches!(location.backend, Backend::S3 { .. }) {
        return Err(Error::new("mkdir creates S3 buckets only")
            .with_hint("create GCS buckets with gcloud and Azure containers with az"));
    }
    let started = Instant::now();
    let handle = open_for_write(
        "mkdir",
        &args.url,
        &args.access,
        &args.report,
        &args.confirm,
    )
    .await?;
    // `mkdir -p`: an existing bucket is not an error. A listing of it
    // succeeds only if it exists (and we may read it).
    if args.parents && bucket_exists(&handle).await {
        print_stats(&[&handle], &args.report, started);
        return write_out(|out| {
            writeln!(
                out,
                "bucket {} already exists: nothing to do",
                handle.location.url
            )
        });
    }
    let where_ = match &handle.bucket_admin {
        Some(admin) => match &admin.endpoint {
            Some(endpoint) => format!("at {endpoint}"),
            None => format!("in AWS region {}", admin.region),
        },
        None => String::new(),
    };
    if !args.confirm.yes {
        // One HeadBucket: the dry run says whether there is anything to do.
        let state = bucket::bucket_state(&handle).await;
        print_stats(&[&handle], &args.report, started);
        let url = &handle.location.url;
        return match state? {
            bucket::BucketState::Absent => write_out(|out| {
                writeln!(out, "would create bucket {url} {where_}")?;
                writeln!(out, "{DRY_RUN}")
            }),
            bucket::BucketState::Yours => write_out(|out| {
                writeln!(
                    out,
                    "bucket {url} already exists {where_} and is yours: nothing to create"
                )
            }),
            bucket::BucketState::OtherRegion => write_out(|out| {
                writeln!(
                    out,
                    "bucket {url} already exists, in another AWS region: nothing to create"
                )
            }),
            bucket::BucketState::Forbidden => write_out(|out| {
                writeln!(
                    out,
                    "bucket {url} already exists {where_}, but {} may not use it (403): nothing to create; bucket names are global on AWS, so pick another name if it is not yours",
                    handle.credential_source
                )
            }),
        };
    }
    let created = bucket::create_bucket(&handle).await;
    print_stats(&[&handle], &args.report, started);
    created?;
    write_out(|out| writeln!(out, "created bucket {} {where_}", handle.location.url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rm_force_goes_by_the_kind_not_the_wording() {
        // Reworded: still passed over.
        let nothing = Error::of_kind(ErrorKind::NothingAtUrl, "s3://b/k: no such object");
        assert!(force_ignores(&nothing));
        // The old wording without the kind: not passed over.
        let worded = Error::new("nothing to delete: s3://b/k does not exist");
        assert!(!force_ignores(&worded));
        // A missing bucket is "not found" too, and must still fail.
        let bucket = Error::of_kind(ErrorKind::NotFound, "no such bucket: b");
        assert!(!force_ignores(&bucket));
    }
}
