//! The write commands: `cp`, `mv`, `rm`, `mkdir`. Each one plans with
//! read-only access and prints the plan; only `--yes` opens the stores with a
//! guard that lets writes through. `--anon` and missing credentials refuse
//! before anything is read.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use super::{
    AccessArgs, ConfirmArgs, MkdirArgs, ReportArgs, RmArgs, TransferArgs, human, is_url, json_out,
    open_store, print_notices, print_stats, refuse_anon, remote_location, require_credentials,
    write_out,
};
use crate::error::{Error, Result};
use crate::location::Backend;
use crate::objects::progress::Progress;
use crate::objects::transfer::{self, Mode, Side};
use crate::objects::{bucket, remove};
use crate::store::guard::Policy;
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

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
    // Copies move data on purpose: no byte budget unless one is given.
    let src_handle = match is_url(&args.src) {
        true => {
            Some(open_bucket(&args.src, &args.access, &args.report, src_policy, u64::MAX).await?)
        }
        false => None,
    };
    let dst_handle = match is_url(&args.dst) {
        true => Some(open_bucket(&args.dst, &args.access, &args.report, write, u64::MAX).await?),
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
        None => Side::local(&local_path(&args.src)?, yes && is_move)?,
    };
    let dst = match &dst_handle {
        Some(h) => Side::remote(h, args.dst.ends_with('/')),
        None => Side::local(&local_path(&args.dst)?, yes)?,
    };
    let handles: Vec<&StoreHandle> = src_handle.iter().chain(dst_handle.iter()).collect();
    let plan = transfer::plan(&src, &dst, args.recursive, !yes).await;
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
                let overwrite = if item.overwrites { ", overwrites" } else { "" };
                writeln!(
                    out,
                    "  {} -> {}  ({}{overwrite})",
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
            let overwrites = plan.items.iter().filter(|i| i.overwrites).count();
            if overwrites > 0 {
                writeln!(
                    out,
                    "{overwrites} existing object{} would be replaced",
                    plural(overwrites)
                )?;
            }
            writeln!(out, "{DRY_RUN}")
        });
    }
    let total = plan.items.len();
    let progress = Progress::bytes(!args.report.quiet, plan.bytes);
    let mode = if is_move { Mode::Move } else { Mode::Copy };
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

fn print_notices_all(handles: &[&StoreHandle], report: &ReportArgs) {
    for h in handles {
        print_notices(h, report);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(super) async fn rm(args: RmArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_for_write("rm", &args.url, &args.access, &args.report, &args.confirm).await?;
    let key = handle.location.prefix.clone();
    let removal = remove::plan(&handle, &key, args.recursive).await;
    let removal = match removal {
        Ok(r) => r,
        Err(e) => {
            print_stats(&[&handle], &args.report, started);
            return Err(e);
        }
    };
    let n = removal.objects.len();
    if !args.confirm.yes {
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
    let where_ = match &handle.bucket_admin {
        Some(admin) => match &admin.endpoint {
            Some(endpoint) => format!("at {endpoint}"),
            None => format!("in AWS region {}", admin.region),
        },
        None => String::new(),
    };
    if !args.confirm.yes {
        return write_out(|out| {
            writeln!(out, "would create bucket {} {where_}", handle.location.url)?;
            writeln!(out, "{DRY_RUN}")
        });
    }
    let created = bucket::create_bucket(&handle).await;
    print_stats(&[&handle], &args.report, started);
    created?;
    write_out(|out| writeln!(out, "created bucket {} {where_}", handle.location.url))
}
