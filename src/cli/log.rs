//! `zarrscope log`, and `refs` of an Icechunk repository.

use serde::Serialize;

use super::session::Session;
use super::{LogArgs, json_out, write_out};
use crate::compare::compare;
use crate::error::{Error, ErrorKind, Result};
use crate::location::Location;
use crate::render::log::{Commit, write_log, write_refs};
use crate::source::icechunk::repository::{
    Probed, Refs, Version, ancestry, hierarchy, list_refs, probe, probe_for, resolve,
};
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

/// The repository's two documents, or an error saying it is not one.
pub(super) async fn open_repository(ms: &StoreHandle, version: &Version) -> Result<Probed> {
    let probed = probe_for(ms, version).await?;
    if probed.found() {
        return Ok(probed);
    }
    // A version that does not exist, in a repository: `resolve` says so.
    if probed.asked && probe(ms).await?.found() {
        return Ok(probed);
    }
    Err(Error::of_kind(
        ErrorKind::NotFound,
        format!(
            "{} is not an Icechunk repository: it has neither a repo file nor refs/branch.main/ref.json",
            ms.location.url
        ),
    )
    .with_hint(format!(
        "check the URL (the repository's root); `{}` shows what is there",
        ms.command(&format!("ls {}/", ms.location.url))
    )))
}

#[derive(Serialize)]
struct LogReport<'a> {
    url: &'a str,
    version: String,
    commits: &'a [Commit],
}

pub(super) async fn log(args: LogArgs) -> Result<()> {
    let session = Session::new(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let location = Location::parse_versioned(&args.url)?;
    let version = match &location.version {
        Some(v) => Version::parse(v)?,
        None => Version::main(),
    };
    let ms = session.open(location, crate::source::POLICY).await?;
    let probed = open_repository(&ms, &version).await?;
    let start = resolve(&ms, &probed, &version).await?;
    let max = usize::try_from(args.max_requests).unwrap_or(usize::MAX);
    let chain = ancestry(&ms, &start, max).await?;
    let url = ms.location.url.clone();
    let trees = chain
        .iter()
        .map(|s| hierarchy(&url, s, String::new()))
        .collect::<Result<Vec<_>>>()?;
    let commits: Vec<Commit> = chain
        .iter()
        .enumerate()
        .map(|(i, s)| {
            // The first snapshot has no parent to differ from.
            let changes = trees
                .get(i + 1)
                .map(|parent| compare(parent, &trees[i]))
                .unwrap_or_default();
            Commit {
                id: s.id.clone(),
                parent: s.parent.clone(),
                written_at: s.written_at.to_rfc3339(),
                message: s.message.clone(),
                metadata: s.metadata.clone(),
                changes,
            }
        })
        .collect();
    session.print_notices_and_stats();
    if args.output.json {
        return json_out(&LogReport {
            url: &url,
            version: version.label(),
            commits: &commits,
        });
    }
    write_out(|out| write_log(out, &url, &version.label(), &commits))
}

#[derive(Serialize)]
struct RefsReport<'a> {
    url: &'a str,
    #[serde(flatten)]
    refs: &'a Refs,
}

/// `refs` of an Icechunk repository: its branches and tags.
pub(super) async fn refs_of_repository(
    ms: &StoreHandle,
    session: &Session<'_>,
    probed: &Probed,
    json: bool,
) -> Result<u8> {
    let refs = list_refs(ms, probed).await?;
    session.print_notices_and_stats();
    if json {
        json_out(&RefsReport {
            url: &ms.location.url,
            refs: &refs,
        })?;
    } else {
        write_out(|out| write_refs(out, &ms.location.url, &refs))?;
    }
    Ok(crate::error::EXIT_OK)
}
