//! `zarrscope show`.

use super::session::Session;
use super::{ShowArgs, json_out, print_warnings, read_tree, write_out};
use crate::dataset::{array_detail, dataset};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::peek::{DEFAULT_COORDS_BUDGET, peek_coordinates};
use crate::render::dataset::{write_array, write_dataset};
use crate::store::DEFAULT_MAX_BYTES;

/// Width long values are cut to: the terminal's (or COLUMNS), else a
/// generous default.
fn width() -> usize {
    super::output::terminal_width().map_or(160, usize::from)
}

pub(super) async fn show(args: ShowArgs) -> Result<()> {
    let budget = if args.coords {
        DEFAULT_COORDS_BUDGET
    } else {
        DEFAULT_MAX_BYTES
    };
    let session = Session::new(&args.access, &args.report, budget);
    let location = Location::parse(&args.url)?;
    let ms = session.open(location, crate::source::POLICY).await?;
    let read = read_tree(&ms, &args.source, &args.report).await;
    let h = read?;
    print_warnings(&ms, &h, &args.report);
    // The node asked for: the URL's, or PATH below it.
    let target = match args.path.as_deref().map(|p| p.trim_matches('/')) {
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
                    args.path.as_deref().unwrap_or_default()
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
        if args.output.json {
            return json_out(&detail);
        }
        return write_out(|out| write_array(out, &detail, width));
    }
    let mut view = dataset(&h, i);
    if args.coords {
        peek_coordinates(&ms, &h, &mut view).await?;
    }
    session.print_stats();
    if args.output.json {
        return json_out(&view);
    }
    write_out(|out| write_dataset(out, &view, width))
}
