//! The write commands: `cp`, `mv`, `rm`, `mkdir`. Each one plans with
//! read-only access and prints the plan; only `--yes` opens the stores with a
//! guard that lets writes through. `--anon` and missing credentials refuse
//! before anything is read.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use super::output::note;
use super::session::{Session, require_credentials};
use super::{ConfirmArgs, MkdirArgs, RmArgs, TransferArgs, json_out, write_out};
use crate::error::{Error, ErrorKind, Result};
use crate::location::{Backend, Location, is_remote_url};
use crate::objects::transfer::{self, Mode, Side};
use crate::objects::{bucket, remove};
use crate::progress::Progress;
use crate::render::text::plural;
use crate::render::writes as text;
use crate::store::backend::http::writes_refused;
use crate::store::backend::vocabulary;
use crate::store::guard::Policy;
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

/// The bucket a write command acts on: refused with `--anon` before any
/// request, writable only after `--yes`, and never without credentials.
async fn open_for_write(
    command: &str,
    session: &Session<'_>,
    url: &str,
    confirm: &ConfirmArgs,
) -> Result<Arc<StoreHandle>> {
    session.refuse_anon(command, &[url])?;
    let handle = session
        .open(Location::parse_remote(url)?, policy_for(confirm))
        .await?;
    require_credentials(command, &handle)?;
    Ok(handle)
}

/// A side of cp/mv: a storage URL opened with `policy`; `None` for a local
/// path.
async fn open_if_remote(
    session: &Session<'_>,
    arg: &str,
    policy: Policy,
) -> Result<Option<Arc<StoreHandle>>> {
    if !is_remote_url(arg) {
        return Ok(None);
    }
    Ok(Some(
        session.open(Location::parse_remote(arg)?, policy).await?,
    ))
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

/// What `--json` prints without `--yes`: the plan, nothing done.
#[derive(Serialize)]
struct DryRun<'a, P: Serialize> {
    dry_run: bool,
    plan: &'a P,
}

fn dry_run_json<P: Serialize>(plan: &P) -> Result<()> {
    json_out(&DryRun {
        dry_run: true,
        plan,
    })
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
    let session = Session::for_transfer(&args.access, &args.report);
    session.refuse_anon(command, &[&args.dst, &args.src])?;
    let yes = args.confirm.yes;
    let write = policy_for(&args.confirm);
    // cp only reads its source; mv deletes it.
    let src_policy = if is_move {
        write.clone()
    } else {
        Policy::READ_ONLY
    };
    let src_handle = open_if_remote(&session, &args.src, src_policy).await?;
    let dst_handle = open_if_remote(&session, &args.dst, write).await?;
    if let Some(h) = &dst_handle {
        require_credentials(command, h)?;
    }
    if let (true, Some(h)) = (is_move, &src_handle) {
        require_credentials(command, h)?;
    }
    let src = match &src_handle {
        Some(h) => Side::remote(h, crate::location::names_a_directory(&args.src)),
        None => Side::local(&local_path(&args.src)?, yes && is_move, args.access.timeout)?,
    };
    let dst = match &dst_handle {
        Some(h) => Side::remote(h, crate::location::names_a_directory(&args.dst)),
        None => Side::local(&local_path(&args.dst)?, yes, args.access.timeout)?,
    };
    let mode = if is_move { Mode::Move } else { Mode::Copy };
    let plan = transfer::plan(&src, &dst, args.recursive, !yes, mode).await;
    let plan = plan?;
    let verb = if is_move { "move" } else { "copy" };
    if !yes {
        session.print_notices_and_stats();
        if args.confirm.json {
            return dry_run_json(&plan);
        }
        let redact = |text: &str| session.redact(text);
        return write_out(|out| text::write_transfer_plan(out, &plan, verb, &redact));
    }
    let total = plan.items.len();
    if !plan.skipped_links.is_empty() && !args.report.quiet {
        let mut text = Vec::new();
        let _ = text::write_skipped_links(&mut text, &plan.skipped_links);
        let text = String::from_utf8_lossy(&text);
        note!("warning: {}", text.strip_suffix('\n').unwrap_or(&text));
    }
    let progress = Progress::bytes(!args.report.quiet, plan.bytes);
    let report = transfer::execute(plan, &src, &dst, mode, &progress).await;
    session.print_notices_and_stats();
    let past = if is_move { "moved" } else { "copied" };
    if args.confirm.json {
        json_out(&report)?;
    } else {
        write_out(|out| text::write_transferred(out, past, &report, total))?;
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
            Err(Error::new(session.redact(&message)).with_hint(format!(
                "fix the cause and run the same command again: {past} objects are re-planned from what exists now"
            )))
        }
    }
}

/// Whether `rm -f` passes over `e`: only a URL with nothing at it, told by
/// its kind (a missing bucket, also a "not found", must still fail).
fn force_ignores(e: &Error) -> bool {
    e.kind() == ErrorKind::NothingAtUrl
}

pub(super) async fn rm(args: RmArgs) -> Result<()> {
    let session = Session::new(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let handle = open_for_write("rm", &session, &args.url, &args.confirm).await?;
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
            session.print_notices_and_stats();
            return Err(e);
        }
    };
    let n = removal.objects.len();
    if !args.confirm.yes {
        session.print_notices_and_stats();
        if args.confirm.json {
            return dry_run_json(&removal);
        }
        return write_out(|out| text::write_removal_plan(out, &removal, &handle.location));
    }
    let progress = Progress::spinner(!args.report.quiet);
    progress.message(format!("deleting {n} objects"));
    let report = remove::execute(&handle, &removal).await;
    progress.finish();
    session.print_notices_and_stats();
    if args.confirm.json {
        json_out(&report)?;
    } else {
        write_out(|out| text::write_removed(out, report.deleted.len(), n))?;
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
    let location = Location::parse_remote(&args.url)?;
    if let Backend::Http { .. } = location.backend {
        return Err(writes_refused(&location.url));
    }
    let words = vocabulary(&location.backend);
    if !location.prefix.is_empty() {
        // Nothing to create, nothing to send.
        return write_out(|out| text::write_no_directories(out, words.service, &location.url));
    }
    if let Some(how) = words.create_bucket_hint {
        return Err(Error::new("mkdir creates S3 buckets only").with_hint(how));
    }
    let session = Session::new(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let handle = open_for_write("mkdir", &session, &args.url, &args.confirm).await?;
    // `mkdir -p`: an existing bucket is not an error. A listing of it
    // succeeds only if it exists (and we may read it).
    if args.parents && bucket_exists(&handle).await {
        session.print_stats();
        return write_out(|out| text::write_bucket_exists(out, &handle.location.url));
    }
    let where_ = handle.bucket_admin.as_ref().map_or(String::new(), |admin| {
        text::bucket_place(admin.endpoint.as_deref(), &admin.region)
    });
    if !args.confirm.yes {
        // One HeadBucket: the dry run says whether there is anything to do.
        let state = bucket::bucket_state(&handle).await;
        session.print_stats();
        let url = &handle.location.url;
        let state = state?;
        return write_out(|out| {
            text::write_bucket_state(out, state, url, &where_, &handle.credential_source)
        });
    }
    let created = bucket::create_bucket(&handle).await;
    session.print_stats();
    created?;
    write_out(|out| text::write_bucket_created(out, &handle.location.url, &where_))
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
