//! `zarrscope show`.

use std::io::IsTerminal;
use std::time::Instant;

use super::{
    ShowArgs, json_out, print_notices, print_stats, print_warnings, read_tree, verbose_logger,
    write_out,
};
use crate::dataset::{array_detail, dataset};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::peek::{DEFAULT_COORDS_BUDGET, peek_coordinates};
use crate::render::dataset::{write_array, write_dataset};
use crate::store::credentials::ProcessEnv;
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

/// Width long values are cut to: the terminal's, else a generous default.
fn width() -> usize {
    if std::io::stdout().is_terminal() {
        terminal_size::terminal_size().map_or(100, |(w, _)| usize::from(w.0))
    } else {
        160
    }
}

pub(super) async fn show(args: ShowArgs) -> Result<()> {
    let started = Instant::now();
    let location = Location::parse(&args.url)?;
    let budget = if args.coords {
        DEFAULT_COORDS_BUDGET
    } else {
        DEFAULT_MAX_BYTES
    };
    let ms = StoreHandle::open(
        location,
        &args.access.store_options(budget),
        &ProcessEnv,
        args.report.verbose.then(verbose_logger),
    )
    .await?;
    print_notices(&ms, &args.report);
    let read = read_tree(&ms, args.crawl, &args.crawling, &args.report).await;
    let h = match read {
        Ok(h) => h,
        Err(e) => {
            print_stats(&[&ms], &args.report, started);
            return Err(e);
        }
    };
    print_warnings(&ms, &h, &args.report);
    // The node asked for: the URL's, or PATH below it.
    let target = match args.path.as_deref().map(|p| p.trim_matches('/')) {
        None | Some("") => h.base.clone(),
        Some(p) if h.base == "/" => format!("/{p}"),
        Some(p) => format!("{}/{p}", h.base),
    };
    let Some(i) = h.nodes.iter().position(|n| n.path == target) else {
        let names: Vec<&str> = h.children(0).iter().map(|&c| h.nodes[c].name()).collect();
        return Err(
            Error::new(format!("no node {target} in {}", h.root_url)).with_hint(format!(
                "children of {}: {}",
                h.base,
                if names.is_empty() {
                    "(none)".to_string()
                } else {
                    names.join(", ")
                }
            )),
        );
    };
    let width = width();
    if h.nodes[i].is_array() {
        let detail = array_detail(&h, i).map_err(Error::new)?;
        print_stats(&[&ms], &args.report, started);
        if args.json {
            return json_out(&detail);
        }
        return write_out(|out| write_array(out, &detail, width));
    }
    let mut view = dataset(&h, i);
    if args.coords
        && let Err(e) = peek_coordinates(&ms, &h, &mut view).await
    {
        print_stats(&[&ms], &args.report, started);
        return Err(e);
    }
    print_stats(&[&ms], &args.report, started);
    if args.json {
        return json_out(&view);
    }
    write_out(|out| write_dataset(out, &view, width))
}
