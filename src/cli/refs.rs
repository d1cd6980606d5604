//! `zarrscope refs`.

use serde::Serialize;

use super::session::Session;
use super::{RefsArgs, json_out, write_out};
use crate::error::{EXIT_FINDINGS, EXIT_OK, Error, ErrorKind, Result};
use crate::location::Location;
use crate::render::Stats;
use crate::render::references::write_refs;
use crate::source::reference::summary::{Summary, summarize};
use crate::source::reference::verify::{TargetCheck, TargetState, VerifyOptions, broken, verify};
use crate::source::reference::{self, References};
use crate::source::{Got, get};
use crate::store::guard::{Keys, Policy, Writes};
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    verify: Option<Vec<Checked<'a>>>,
    stats: Stats,
}

#[derive(Serialize)]
struct Checked<'a> {
    url: &'a str,
    references: u64,
    whole_file: u64,
    /// The file must be at least this long.
    needed_bytes: u64,
    state: &'static str,
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

fn checked(c: &TargetCheck) -> Checked<'_> {
    let (state, size, reason) = match &c.state {
        TargetState::Ok { size } => ("ok", Some(*size), None),
        TargetState::Missing => ("missing", None, None),
        TargetState::Unreadable(why) => ("unreadable", None, Some(why.as_str())),
        TargetState::Short { size, .. } => ("truncated", Some(*size), None),
        TargetState::NotChecked => ("not checked", None, None),
    };
    Checked {
        url: &c.url,
        references: c.uses.references,
        whole_file: c.uses.whole_file,
        needed_bytes: c.uses.max_end,
        state,
        size,
        reason,
    }
}

pub(super) async fn refs(args: RefsArgs) -> Result<u8> {
    let session = Session::new(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let location = Location::parse(&args.url)?;
    let ms = session.open(location, crate::source::POLICY).await?;
    let mut references = match read(&ms).await {
        Ok(references) => references,
        // An Icechunk repository's refs are its branches and tags.
        Err(not_a_reference_set) => {
            let probed = crate::source::icechunk::probe(&ms).await?;
            if !probed.found() {
                return Err(not_a_reference_set);
            }
            return super::log::refs_of_repository(&ms, &session, &probed, args.output.json).await;
        }
    };
    let h = references.hierarchy()?;
    let notes = reference::count_parquet_chunks(&ms, &mut references, &h, args.concurrency).await;
    let mut summary = summarize(&references, &h);
    summary.notes.extend(notes);
    let checks = if args.verify {
        let options = VerifyOptions {
            concurrency: args.concurrency,
            max_requests: args.max_requests,
            progress: !args.report.quiet,
        };
        let heads = Policy {
            keys: Keys::HeadsOnly,
            writes: Writes::None,
        };
        let open = |location: Location| session.open(location, heads.clone());
        Some(verify(summary.targets.list.clone(), open, &options).await)
    } else {
        None
    };
    session.print_notices_and_stats();
    let code = match &checks {
        Some(c) if broken(c) > 0 => EXIT_FINDINGS,
        _ => EXIT_OK,
    };
    if args.output.json {
        json_out(&Report {
            summary: &summary,
            verify: checks.as_ref().map(|c| c.iter().map(checked).collect()),
            stats: session.totals(),
        })?;
    } else {
        write_out(|out| write_refs(out, &summary, checks.as_deref()))?;
    }
    Ok(code)
}

/// The reference set at the location: a JSON file named so (or
/// `reference://`), else a Parquet reference directory.
pub(super) async fn read(ms: &StoreHandle) -> Result<References> {
    if reference::named_by_url(&ms.location) {
        return reference::read_json(ms, reference::keep_none()).await;
    }
    let url = &ms.location.url;
    let key = ms.location.key(".zmetadata");
    let path = crate::keys::path(&key)?;
    let got = get(ms, &path)
        .await
        .map_err(|e| ms.explain_url(&ms.location.url_of(&key), &e))?;
    let not_refs = |what: &str| {
        Error::of_kind(
            ErrorKind::InvalidMetadata,
            format!("{url} is not a kerchunk reference set: {what}"),
        )
        .with_hint(format!(
            "give a reference file (.json, .json.zst, .json.gz; or reference://URL for another name), a Parquet reference directory or an Icechunk repository; `{}` shows a Zarr store",
            ms.command(&format!("tree {url}"))
        ))
    };
    match got {
        Got::Found { raw, .. } => match reference::parquet_directory(url, &raw) {
            Some(references) => references,
            None => Err(not_refs(
                "its .zmetadata is Zarr consolidated metadata, not a Parquet reference index",
            )),
        },
        Got::Absent { .. } => Err(not_refs(
            "its name does not end in .json (or .json.zst, .json.gz) and it has no .zmetadata",
        )),
    }
}
