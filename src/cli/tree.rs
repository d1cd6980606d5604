//! `zarrscope tree`.

use std::time::Instant;

use super::output::{self, note};
use super::{
    Format, TreeArgs, print_notices, print_warnings, read_tree, verbose_logger, write_out,
};
use crate::error::Result;
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
        note!(
            "requests: {}  bytes: {}  elapsed: {:.3}s",
            stats.requests,
            stats.bytes,
            started.elapsed().as_secs_f64()
        );
    }
    let hierarchy = result?;
    print_warnings(&ms, &hierarchy, &args.report);
    let format = if args.json { Format::Json } else { args.format };
    let renderer: Box<dyn Renderer> = match format {
        Format::Tree => Box::new(TreeRenderer {
            attrs: args.attrs,
            depth: args.depth,
            color: output::color(),
            sizes: args.sizes,
        }),
        Format::Table => Box::new(TableRenderer {
            width: output::terminal_width(),
        }),
        Format::Json => Box::new(JsonRenderer),
    };
    write_out(|out| renderer.render(&hierarchy, stats, out))
}
