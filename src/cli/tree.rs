//! `zarrscope tree`.

use super::output;
use super::session::Session;
use super::{Format, ReportArgs, SourceArgs, TreeArgs, print_warnings, read_tree, write_out};
use crate::error::Result;
use crate::render::{JsonRenderer, Renderer, TableRenderer, TreeRenderer};
use crate::store::DEFAULT_MAX_BYTES;

/// How a tree is printed: `tree`'s output flags.
pub(super) struct TreeView {
    pub format: Format,
    pub attrs: bool,
    pub depth: Option<usize>,
    pub sizes: bool,
}

pub(super) async fn tree(args: TreeArgs) -> Result<()> {
    let session = Session::new(&args.access, &args.report, DEFAULT_MAX_BYTES);
    let view = TreeView {
        format: args.output.format(),
        attrs: args.attrs,
        depth: args.depth,
        sizes: args.sizes,
    };
    print_tree(&session, &args.url, &args.source, &args.report, &view).await
}

/// Open `url` in `session` and print its tree: `tree`, and `catalog URL
/// ENTRY` with the entry's access.
pub(super) async fn print_tree(
    session: &Session<'_>,
    url: &str,
    source: &SourceArgs,
    report: &ReportArgs,
    view: &TreeView,
) -> Result<()> {
    let location = source.location(url)?;
    let ms = session.open(location, crate::source::POLICY).await?;
    let result = read_tree(&ms, source, report).await;
    let stats = session.totals();
    // Totals are worth seeing even when the read failed.
    let hierarchy = session.settle(result)?;
    print_warnings(&ms, &hierarchy, report);
    let renderer: Box<dyn Renderer> = match view.format {
        Format::Tree => Box::new(TreeRenderer {
            attrs: view.attrs,
            depth: view.depth,
            color: output::color(),
            sizes: view.sizes,
        }),
        Format::Table => Box::new(TableRenderer {
            width: output::terminal_width(),
        }),
        Format::Json => Box::new(JsonRenderer),
    };
    write_out(|out| renderer.render(&hierarchy, stats, out))
}
