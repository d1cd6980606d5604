//! The read-only chores: `ls`, `glob`, `info`, `head`, `cat`, `du`. Each opens
//! the bucket through a read-only guard: nothing here can write.

use std::time::Instant;

use super::output::note;
use super::{
    AccessArgs, CatArgs, DuArgs, GlobArgs, HeadArgs, InfoArgs, LsArgs, ReportArgs, human, json_out,
    open_store, print_notices, print_stats, remote_location, write_out,
};
use serde::Serialize;

use crate::error::Result;
use crate::keys::{base_name, relative};
use crate::location::Backend;
use crate::objects;
use crate::objects::glob::Match;
use crate::objects::head::Take;
use crate::objects::listing::{Info, ObjectInfo};
use crate::progress::Progress;
use crate::store::guard::Policy;
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

async fn open_read_only(
    url: &str,
    access: &AccessArgs,
    report: &ReportArgs,
) -> Result<StoreHandle> {
    open_store(
        remote_location(url)?,
        access,
        report,
        Policy::READ_ONLY,
        DEFAULT_MAX_BYTES,
    )
    .await
}

/// Exact bytes by default, as `ls -l` and `du -b` print them; binary units
/// with `-h`, the same text every command uses.
fn size_text(size: u64, human_readable: bool) -> String {
    if human_readable {
        human(size)
    } else {
        size.to_string()
    }
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
        Backend::Azure { container } => container.as_str(),
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

/// `1 object`, `2 objects`.
fn objects_text(n: u64) -> String {
    format!("{n} object{}", if n == 1 { "" } else { "s" })
}

fn long_line(o: &ObjectInfo, name: &str, human_readable: bool) -> String {
    format!(
        "{}  {:>12}  {:<36}  {name}",
        o.last_modified,
        size_text(o.size, human_readable),
        o.etag.as_deref().unwrap_or("-"),
    )
}

pub(super) async fn ls(args: LsArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_read_only(&args.url, &args.access, &args.report).await?;
    let prefix = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet && args.recursive);
    let listing = objects::listing::ls(&handle, &prefix, args.recursive, &progress).await;
    progress.finish();
    print_notices(&handle, &args.report);
    print_stats(&[&handle], &args.report, started);
    let listing = listing?;
    if !args.report.quiet {
        for store in &listing.zarr_stores {
            let url = handle.location.url_of(&store.key);
            let consolidated = if store.consolidated {
                ", consolidated metadata"
            } else {
                ""
            };
            note!(
                "note: {url} is a Zarr {} store{consolidated}: zarrscope tree {url}",
                store.format
            );
        }
    }
    if args.json {
        return envelope_out("ls", &handle, &prefix, &listing);
    }
    let name_of = |key: &str| -> String {
        if listing.single_object {
            base_name(key).to_string()
        } else {
            relative(key, &prefix).to_string()
        }
    };
    write_out(|out| {
        for dir in &listing.directories {
            let name = format!("{}/", name_of(dir));
            if args.long {
                writeln!(out, "{:>20}  {:>12}  {:<36}  {name}", "", "DIR", "")?;
            } else {
                writeln!(out, "{name}")?;
            }
        }
        for o in &listing.objects {
            let name = name_of(&o.key);
            if args.long {
                writeln!(out, "{}", long_line(o, &name, args.human_readable))?;
            } else {
                writeln!(out, "{name}")?;
            }
        }
        Ok(())
    })
}

pub(super) async fn glob(args: GlobArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_read_only(&args.pattern, &args.access, &args.report).await?;
    // Location parsing keeps glob characters in the prefix as typed.
    let pattern = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet);
    progress.message(format!("listing for {}", args.pattern));
    let found = objects::glob::glob(&handle, &pattern).await;
    progress.finish();
    print_notices(&handle, &args.report);
    print_stats(&[&handle], &args.report, started);
    let found = found?;
    if found.is_empty() && !args.report.quiet {
        note!("note: nothing matches {}", args.pattern);
    }
    if args.json {
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
    write_out(|out| {
        for m in &found {
            match m {
                Match::Directory { key } => {
                    let url = format!("{}/", handle.location.url_of(key));
                    if args.long {
                        writeln!(out, "{:>20}  {:>12}  {:<36}  {url}", "", "DIR", "")?;
                    } else {
                        writeln!(out, "{url}")?;
                    }
                }
                Match::Object(o) => {
                    let url = handle.location.url_of(&o.key);
                    if args.long {
                        writeln!(out, "{}", long_line(o, &url, false))?;
                    } else {
                        writeln!(out, "{url}")?;
                    }
                }
            }
        }
        Ok(())
    })
}

pub(super) async fn info(args: InfoArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_read_only(&args.url, &args.access, &args.report).await?;
    let key = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet);
    let as_directory = args.url.ends_with('/');
    let found = objects::listing::info(&handle, &key, as_directory, &progress).await;
    progress.finish();
    print_notices(&handle, &args.report);
    print_stats(&[&handle], &args.report, started);
    let found = found?;
    if args.json {
        return envelope_out("info", &handle, &key, &found);
    }
    write_out(|out| {
        match &found {
            Info::Object {
                url,
                size,
                last_modified,
                etag,
                version,
                content_type,
                content_encoding,
                cache_control,
                ..
            } => {
                writeln!(out, "url:            {url}")?;
                writeln!(out, "type:           object")?;
                writeln!(out, "size:           {size} ({})", human(*size))?;
                writeln!(out, "last modified:  {last_modified}")?;
                let optional = [
                    ("etag:           ", etag),
                    ("version:        ", version),
                    ("content type:   ", content_type),
                    ("content encoding:", content_encoding),
                    ("cache control:  ", cache_control),
                ];
                for (label, value) in optional {
                    if let Some(value) = value {
                        writeln!(out, "{label}{value}")?;
                    }
                }
            }
            Info::Directory {
                url,
                objects,
                bytes,
                ..
            } => {
                writeln!(out, "url:            {url}/")?;
                writeln!(out, "type:           directory (prefix)")?;
                writeln!(out, "objects:        {objects}")?;
                writeln!(out, "size:           {bytes} ({})", human(*bytes))?;
            }
        }
        Ok(())
    })
}

pub(super) async fn head(args: HeadArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_read_only(&args.url, &args.access, &args.report).await?;
    let key = handle.location.prefix.clone();
    let take = match args.bytes {
        Some(n) => Take::Bytes(n),
        None => Take::Lines(args.lines),
    };
    let result = objects::head::head(&handle, &key, take).await;
    print_notices(&handle, &args.report);
    print_stats(&[&handle], &args.report, started);
    let result = result?;
    write_out(|out| out.write_all(&result.bytes))
}

pub(super) async fn cat(args: CatArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_read_only(&args.url, &args.access, &args.report).await?;
    let key = handle.location.prefix.clone();
    let result = objects::head::cat(&handle, &key).await;
    print_notices(&handle, &args.report);
    print_stats(&[&handle], &args.report, started);
    let body = result?;
    write_out(|out| out.write_all(&body))
}

pub(super) async fn du(args: DuArgs) -> Result<()> {
    let started = Instant::now();
    let handle = open_read_only(&args.url, &args.access, &args.report).await?;
    let prefix = handle.location.prefix.clone();
    let progress = Progress::spinner(!args.report.quiet);
    let depth = if args.summarize { 0 } else { args.max_depth };
    let usage = objects::listing::du(&handle, &prefix, depth, &progress).await;
    progress.finish();
    print_notices(&handle, &args.report);
    print_stats(&[&handle], &args.report, started);
    let usage = usage?;
    if args.json {
        return envelope_out("du", &handle, &prefix, &usage);
    }
    let size = |b: u64| size_text(b, args.human_readable);
    write_out(|out| {
        for child in &usage.children {
            writeln!(
                out,
                "{:>12}  {:>18}  {}",
                size(child.bytes),
                objects_text(child.objects),
                handle
                    .location
                    .url_of(&crate::keys::join(&prefix, &child.name))
            )?;
        }
        writeln!(
            out,
            "{:>12}  {:>18}  {}{}",
            size(usage.bytes),
            objects_text(usage.objects),
            handle.location.url,
            if usage.children.is_empty() {
                ""
            } else {
                "  (total)"
            }
        )
    })
}
