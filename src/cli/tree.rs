//! `zarrscope tree`.

use super::output;
use super::session::Session;
use super::{Format, TreeArgs, print_warnings, read_tree, write_out};
use crate::error::Result;
use crate::render::{JsonRenderer, Renderer, TableRenderer, TreeRenderer};
use crate::store::DEFAULT_MAX_BYTES;

pub(super) async fn tree(args: TreeArgs) -> Result<()> {
    let session = Session::new(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let location = args.source.location(&args.url)?;
    let ms = session.open(location, crate::source::POLICY).await?;
    let result = read_tree(&ms, &args.source, &args.report).await;
    let stats = session.totals();
    // Totals are worth seeing even when the read failed.
    let hierarchy = session.settle(result)?;
    print_warnings(&ms, &hierarchy, &args.report);
    let format = args.output.format();
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
