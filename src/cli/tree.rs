//! `zarrscope tree`.

use std::io::{self, IsTerminal, Write};
use std::time::Instant;

use super::{Format, TreeArgs, print_notices, print_warnings, read_tree, verbose_logger};
use crate::error::{Error, Result};
use crate::location::Location;
use crate::render::{JsonRenderer, Renderer, Stats, TableRenderer, TreeRenderer};
use crate::store::credentials::ProcessEnv;
use crate::store::{DEFAULT_MAX_BYTES, StoreHandle};

pub(super) async fn tree(args: TreeArgs) -> Result<()> {
    let started = Instant::now();
    let location = Location::parse(&args.url)?;
    let logger = args.report.verbose.then(verbose_logger);
    let options = args.access.store_options(DEFAULT_MAX_BYTES);
    let ms = StoreHandle::open(location, &options, &ProcessEnv, logger).await?;
    print_notices(&ms, &args.report);
    let result = read_tree(&ms, &args.source, &args.crawling, &args.report).await;
    print_notices(&ms, &args.report);
    let stats = Stats {
        requests: ms.stats.requests(),
        bytes: ms.stats.bytes(),
    };
    // Totals are worth seeing even when the read failed.
    if args.report.stats {
        eprintln!(
            "requests: {}  bytes: {}  elapsed: {:.3}s",
            stats.requests,
            stats.bytes,
            started.elapsed().as_secs_f64()
        );
    }
    let hierarchy = result?;
    print_warnings(&ms, &hierarchy, &args.report);
    let stdout = io::stdout();
    let is_tty = stdout.is_terminal();
    let format = if args.json { Format::Json } else { args.format };
    let renderer: Box<dyn Renderer> = match format {
        Format::Tree => Box::new(TreeRenderer {
            attrs: args.attrs,
            depth: args.depth,
            color: is_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            sizes: args.sizes,
        }),
        Format::Table => Box::new(TableRenderer {
            width: is_tty
                .then(|| terminal_size::terminal_size().map(|(w, _)| w.0))
                .flatten(),
        }),
        Format::Json => Box::new(JsonRenderer),
    };
    let mut out = io::BufWriter::new(stdout.lock());
    let written = renderer
        .render(&hierarchy, stats, &mut out)
        .and_then(|()| out.flush());
    match written {
        // `zarrscope tree … | head` closes the pipe early: not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::new(format!("cannot write output: {e}"))),
        Ok(()) => Ok(()),
    }
}
