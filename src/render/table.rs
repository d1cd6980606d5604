//! `--format table`: one row per array, via comfy-table.

use std::io;

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::text::{dims_text, shape_text, size_or};
use super::{Renderer, Stats};
use crate::hierarchy::Hierarchy;
use crate::metadata::NodeKind;
use crate::metadata::codec::summarize;

pub struct TableRenderer {
    /// Wrap to this many columns (a terminal's width); `None` never wraps.
    pub width: Option<u16>,
}

const HEADER: [&str; 10] = [
    "path", "shape", "chunks", "shards", "dtype", "codecs", "fill", "dims", "size", "chunks#",
];

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

impl Renderer for TableRenderer {
    fn render(&self, h: &Hierarchy, _stats: Stats, out: &mut dyn io::Write) -> io::Result<()> {
        let mut table = Table::new();
        table.load_style(presets::UTF8_FULL_CONDENSED);
        match self.width {
            Some(w) => {
                table.set_content_arrangement(ContentArrangement::Dynamic);
                table.set_width(w);
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        table.set_header(HEADER);
        for node in h.arrays() {
            let row = match &node.kind {
                NodeKind::Array(a) => vec![
                    node.path.clone(),
                    shape_text(&a.shape),
                    or_dash(a.chunks.as_deref().map(shape_text)),
                    or_dash(a.shards.as_deref().map(shape_text)),
                    a.data_type.display.to_string(),
                    summarize(&a.codecs),
                    a.fill_value.to_string(),
                    or_dash(a.dimension_names.as_deref().map(dims_text)),
                    size_or(a.nbytes(), "-"),
                    or_dash(a.nchunks().map(|n| n.to_string())),
                ],
                NodeKind::InvalidArray { reason } => {
                    let mut row = vec![node.path.clone(), "unreadable".into()];
                    row.extend(std::iter::repeat_n("-".to_string(), 3));
                    row.push(reason.clone());
                    row.extend(std::iter::repeat_n("-".to_string(), 4));
                    row
                }
                NodeKind::Group => continue,
            };
            table.add_row(row);
        }
        for column in [8, 9] {
            if let Some(c) = table.column_mut(column) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        writeln!(out, "{table}")
    }
}
