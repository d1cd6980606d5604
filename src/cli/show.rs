//! `zarrscope show`.

use std::collections::HashMap;
use std::sync::Arc;

use super::session::Session;
use super::{ReportArgs, ShowArgs, SourceArgs, json_out, print_warnings, read_tree, write_out};
use crate::dataset::{NotPeeked, array_detail, dataset};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::peek::{DEFAULT_COORDS_BUDGET, peek_coordinates, peek_planned, plan_coordinates};
use crate::render::dataset::{write_array, write_dataset};
use crate::source::reference::store::{self, CoordinateKeep, ReferenceStore, Target, Wanted};
use crate::source::reference::{self, References};
use crate::store::DEFAULT_MAX_BYTES;
use crate::store::StoreHandle;
use crate::store::guard::{Keys, Policy, Writes};

/// Width long values are cut to: the terminal's (or COLUMNS), else a
/// generous default.
fn width() -> usize {
    super::output::terminal_width().map_or(160, usize::from)
}

/// What `show` is asked for, apart from access and reporting.
pub(super) struct ShowView<'a> {
    pub url: &'a str,
    pub path: Option<&'a str>,
    pub json: bool,
    pub coords: bool,
}

pub(super) async fn show(args: ShowArgs) -> Result<()> {
    let budget = if args.coords {
        DEFAULT_COORDS_BUDGET
    } else {
        DEFAULT_MAX_BYTES
    };
    let session = Session::new(&args.access, &args.report, budget);
    let view = ShowView {
        url: &args.url,
        path: args.path.as_deref(),
        json: args.output.json,
        coords: args.coords,
    };
    show_in(&session, &view, &args.source, &args.report).await
}

/// Open `view.url` in `session` and print the `show` view: `show`, and
/// `catalog URL ENTRY --show` with the entry's access.
pub(super) async fn show_in(
    session: &Session<'_>,
    args: &ShowView<'_>,
    source: &SourceArgs,
    report: &ReportArgs,
) -> Result<()> {
    let location = source.location(args.url)?;
    let ms = session.open(location, crate::source::POLICY).await?;
    // A reference set read for --coords keeps its coordinate chunk entries
    // in the same one read that gives the tree.
    let (h, references) = if args.coords && reference::named_by_url(&ms.location) {
        let keep = CoordinateKeep::new();
        let references = reference::read_json(&ms, keep.keep()).await?;
        (references.hierarchy()?, Some((references, keep)))
    } else {
        (read_tree(&ms, source, report).await?, None)
    };
    print_warnings(&ms, &h, report);
    // The node asked for: the URL's, or PATH below it.
    let target = match args.path.map(|p| p.trim_matches('/')) {
        None | Some("") => h.base.clone(),
        Some(p) if h.base == "/" => format!("/{p}"),
        Some(p) => format!("{}/{p}", h.base),
    };
    let Some(i) = h.nodes.iter().position(|n| n.path == target) else {
        // A chunk key (`streamflow/0.0`) names data inside an array.
        if let Some(array) = h
            .nodes
            .iter()
            .filter(|n| n.is_array() && crate::source::below(&target, &n.path))
            .max_by_key(|n| n.path.len())
        {
            let url = format!("{}{target}", h.root_url);
            return Err(crate::source::chunk_key_error(
                &url,
                &h.root_url,
                &array.path,
            ));
        }
        let names: Vec<&str> = h.children(0).iter().map(|&c| h.nodes[c].name()).collect();
        let mut hint = format!(
            "children of {}: {}",
            h.base,
            if names.is_empty() {
                "(none)".to_string()
            } else {
                names.join(", ")
            }
        );
        if h.consolidated {
            // The same command, past possibly stale consolidated metadata.
            hint.push_str(&format!(
                "; if it was added after the store was consolidated, `{}` reads every node's own metadata",
                ms.command(&format!(
                    "show {} {} --crawl",
                    args.url,
                    args.path.unwrap_or_default()
                ))
            ));
        } else if !h.complete {
            hint.push_str(
                "; the crawl stopped before reading every node (at --max-requests, or after a failed request): raise --max-requests, or run it again",
            );
        }
        return Err(Error::new(format!("no node {target} in {}", h.root_url)).with_hint(hint));
    };
    let width = width();
    if h.nodes[i].is_array() {
        let detail = array_detail(&h, i)?;
        session.print_stats();
        if args.json {
            return json_out(&detail);
        }
        return write_out(|out| write_array(out, &detail, width));
    }
    let mut view = dataset(&h, i);
    if args.coords {
        match &references {
            Some((references, keep)) => {
                peek_references(session, &ms, &h, &mut view, references, keep).await?;
            }
            None if store::is_parquet(&h) => store::note_parquet(&mut view),
            None => peek_coordinates(&ms, &h, &mut view).await?,
        }
    }
    session.print_stats();
    if args.json {
        return json_out(&view);
    }
    write_out(|out| write_dataset(out, &view, width))
}

/// `show --coords` on a JSON reference set: inline coordinate values from
/// the set itself, referenced ones by one ranged GET each of exactly the
/// referenced bytes, on target stores opened with the command's access
/// flags and guarded to exactly those ranges.
async fn peek_references(
    session: &Session<'_>,
    ms: &StoreHandle,
    h: &crate::hierarchy::Hierarchy,
    view: &mut crate::dataset::Dataset,
    references: &References,
    keep: &CoordinateKeep,
) -> Result<()> {
    let plan = plan_coordinates(ms, view, "");
    let wanted = Wanted::new(references, h, &plan, keep);
    let mut targets = HashMap::new();
    for (url, ranges) in wanted.target_ranges() {
        let opened = match Location::parse(&url) {
            Ok(location) => {
                let key = location.prefix.clone();
                let policy = Policy {
                    keys: Keys::Ranges {
                        what: store::TARGET_WHAT,
                        ranges: ranges.into_iter().map(|r| (key.clone(), r)).collect(),
                    },
                    writes: Writes::None,
                };
                match session.open(location, policy).await {
                    Ok(handle) => crate::keys::path(&key)
                        .map(|key| Target {
                            url: url.clone(),
                            store: Arc::clone(&handle.store),
                            key,
                        })
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(format!(
                        "could not be opened: {}",
                        session.redact(e.message())
                    )),
                }
            }
            Err(e) => Err(format!("is not a URL zarrscope reads: {}", e.message())),
        };
        targets.insert(url, opened);
    }
    let store: Arc<dyn object_store::ObjectStore> =
        Arc::new(ReferenceStore::new(references, wanted, &targets));
    let url_of = |key: &str| format!("{}/{key}", references.url);
    peek_planned(ms, h, view, "", &plan, store, &url_of).await?;
    for v in &mut view.coordinates {
        if let Some(NotPeeked::Failed(note)) = &mut v.peek_note {
            *note = store::plain_note(note);
        }
    }
    Ok(())
}
