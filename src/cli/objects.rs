//! The read-only chores: `ls`, `glob`, `info`, `head`, `cat`, `du`. Each opens
//! the bucket through a read-only guard: nothing here can write.

use super::output::note;
use super::session::Session;
use super::{
    AccessArgs, CatArgs, DuArgs, GlobArgs, HeadArgs, InfoArgs, LsArgs, ReportArgs, json_out,
    write_out,
};
use serde::Serialize;

use crate::error::Result;
use crate::keys::{base_name, relative};
use crate::location::{Backend, Location};
use crate::objects;
use crate::objects::glob::Match;
use crate::objects::head::Take;
use crate::progress::Progress;
use crate::render::objects::{self as text, Columns};
use crate::store::guard::Policy;
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

/// The chores' session and store: `url` through a read-only guard.
async fn open_read_only<'a>(
    url: &str,
    access: &'a AccessArgs,
    report: &'a ReportArgs,
) -> Result<(Session<'a>, std::sync::Arc<StoreHandle>)> {
    let session = Session::new(access, report, DEFAULT_MAX_BYTES);
    let handle = session
        .open(Location::parse_remote(url)?, Policy::READ_ONLY)
        .await?;
    Ok((session, handle))
}

/// The one shape of `ls`, `glob`, `du` and `info` JSON: what was asked
/// (command, URL, bucket, the bucket-relative prefix or key), then the
/// command's own fields (`objects`, `matches`, `bytes`, `type`...).
#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    command: &'static str,
    url: &'a str,
    bucket: &'a str,
    prefix: &'a str,
    #[serde(flatten)]
    body: T,
}

fn envelope_out<T: Serialize>(
    command: &'static str,
    handle: &StoreHandle,
    prefix: &str,
    body: T,
) -> Result<()> {
    let bucket = match &handle.location.backend {
        Backend::S3 { bucket } | Backend::Gcs { bucket } => bucket.as_str(),
        Backend::Azure { container, .. } => container.as_str(),
        Backend::Http { base } => base.as_str(),
        Backend::Local { .. } => "",
    };
    json_out(&Envelope {
        command,
        url: &handle.location.url,
        bucket,
        prefix,
        body,
    })
}

/// Glob's own JSON fields.
#[derive(Serialize)]
struct GlobBody<'a> {
    pattern: &'a str,
    matches: &'a [Match],
}

pub(super) async fn ls(args: LsArgs) -> Result<()> {
    let (session, handle) = open_read_only(&args.url, &args.access, &args.report).await?;
    let prefix = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet && args.recursive);
    let listing = objects::listing::ls(&handle, &prefix, args.recursive, &progress).await;
    progress.finish();
    let listing = session.settle(listing)?;
    if !args.report.quiet {
        for store in &listing.zarr_stores {
            let url = handle.location.url_of(&store.key);
            note!("{}", text::zarr_store_note(&url, store));
        }
    }
    if args.output.json {
        return envelope_out("ls", &handle, &prefix, &listing);
    }
    let name_of = |key: &str| -> String {
        if listing.single_object {
            base_name(key).to_string()
        } else {
            relative(key, &prefix).to_string()
        }
    };
    let columns = Columns {
        long: args.long,
        human_readable: args.human_readable,
    };
    write_out(|out| text::write_ls(out, &listing, &name_of, columns))
}

pub(super) async fn glob(args: GlobArgs) -> Result<()> {
    let (session, handle) = open_read_only(&args.pattern, &args.access, &args.report).await?;
    // Location parsing keeps glob characters in the prefix as typed.
    let pattern = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet);
    progress.message(format!("listing for {}", args.pattern));
    let found = objects::glob::glob(&handle, &pattern).await;
    progress.finish();
    let found = session.settle(found)?;
    if found.is_empty() && !args.report.quiet {
        note!("note: nothing matches {}", args.pattern);
    }
    if args.output.json {
        let fixed = objects::glob::Pattern::parse(&pattern).fixed;
        return envelope_out(
            "glob",
            &handle,
            &fixed,
            GlobBody {
                pattern: &pattern,
                matches: &found,
            },
        );
    }
    write_out(|out| text::write_glob(out, &found, &handle.location, args.long))
}

pub(super) async fn info(args: InfoArgs) -> Result<()> {
    let (session, handle) = open_read_only(&args.url, &args.access, &args.report).await?;
    let key = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet);
    let as_directory = crate::location::names_a_directory(&args.url);
    let found = objects::listing::info(&handle, &key, as_directory, &progress).await;
    progress.finish();
    let found = session.settle(found)?;
    if args.output.json {
        return envelope_out("info", &handle, &key, &found);
    }
    write_out(|out| text::write_info(out, &found))
}

pub(super) async fn head(args: HeadArgs) -> Result<()> {
    let (session, handle) = open_read_only(&args.url, &args.access, &args.report).await?;
    let key = handle.location.prefix.clone();
    let take = match args.bytes {
        Some(n) => Take::Bytes(n),
        None => Take::Lines(args.lines),
    };
    let result = objects::head::head(&handle, &key, take).await;
    let result = session.settle(result)?;
    write_out(|out| out.write_all(&result.bytes))
}

pub(super) async fn cat(args: CatArgs) -> Result<()> {
    let (session, handle) = open_read_only(&args.url, &args.access, &args.report).await?;
    let key = handle.location.prefix.clone();
    let result = objects::head::cat(&handle, &key).await;
    let body = session.settle(result)?;
    write_out(|out| out.write_all(&body))
}

pub(super) async fn du(args: DuArgs) -> Result<()> {
    let (session, handle) = open_read_only(&args.url, &args.access, &args.report).await?;
    let prefix = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet);
    let depth = if args.summarize { 0 } else { args.max_depth };
    let usage = objects::listing::du(&handle, &prefix, depth, &progress).await;
    progress.finish();
    let usage = session.settle(usage)?;
    if args.output.json {
        return envelope_out("du", &handle, &prefix, &usage);
    }
    let child_url = |name: &str| handle.location.url_of(&crate::keys::join(&prefix, name));
    write_out(|out| {
        text::write_du(
            out,
            &usage,
            &handle.location.url,
            &child_url,
            args.human_readable,
        )
    })
}
