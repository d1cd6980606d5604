//! `--format tree`: a box-drawing tree like zarr-python's `Group.tree()`,
//! with array columns (shape, dtype, chunks, codecs) aligned.

use std::io;

use anstyle::{AnsiColor, Style};

use super::text::{count_text, dims_text, shape_text, size_or, truncate};
use super::{Renderer, Stats};
use crate::dataset::total_nbytes;
use crate::hierarchy::Hierarchy;
use crate::metadata::NodeKind;
use crate::metadata::codec::summarize;
use crate::ome;

pub struct TreeRenderer {
    /// Show attributes under each node.
    pub attrs: bool,
    /// Deepest level shown (root is 0); `None` for all.
    pub depth: Option<usize>,
    pub color: bool,
    /// Logical size per array and totals per group.
    pub sizes: bool,
}

/// Longest attribute value shown before it is cut.
const MAX_ATTR_CHARS: usize = 120;

const GROUP: Style = AnsiColor::Blue.on_default().bold();
const ARRAY: Style = Style::new().bold();
const DTYPE: Style = AnsiColor::Green.on_default();
const DETAIL: Style = Style::new().dimmed();
const INVALID: Style = AnsiColor::Red.on_default();

const ARRAY_COLUMNS: usize = 7;
const DTYPE_COLUMN: usize = 1;

/// One line of output before alignment.
struct Line {
    /// Box-drawing prefix and connector.
    lead: String,
    name: String,
    body: Body,
}

enum Body {
    Group {
        hidden: usize,
        /// Totals (`--sizes`) and an OME-Zarr summary.
        note: String,
    },
    /// Columns: shape, dtype, chunks, shards, codecs, dimension names, size.
    Array([String; ARRAY_COLUMNS]),
    Invalid(String),
    Attribute(String),
}

impl TreeRenderer {
    fn paint(&self, style: Style, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    fn group_note(&self, h: &Hierarchy, i: usize) -> String {
        let mut parts = Vec::new();
        if self.sizes {
            let mut arrays = 0usize;
            let mut pending = h.children(i).to_vec();
            while let Some(c) = pending.pop() {
                if h.nodes[c].is_array() {
                    arrays += 1;
                }
                pending.extend_from_slice(h.children(c));
            }
            let total = size_or(total_nbytes(h, i), "size ?");
            parts.push(format!("{}, {total}", count_text(arrays, "array")));
        }
        if let Some(m) = ome::multiscales(h, i) {
            parts.push(super::ome::summary(&m));
        }
        parts.join("; ")
    }

    fn lines(&self, h: &Hierarchy) -> Vec<Line> {
        let mut lines = Vec::new();
        // Explicit stack: (node, depth, lead for its own line, lead for its children).
        let mut stack = vec![(0usize, 0usize, String::new(), String::new())];
        while let Some((i, depth, lead, child_lead)) = stack.pop() {
            let node = &h.nodes[i];
            let children = h.children(i);
            let cut = self.depth.is_some_and(|max| depth >= max) && !children.is_empty();
            let body = match &node.kind {
                NodeKind::Group => Body::Group {
                    hidden: if cut { h.descendants(i) } else { 0 },
                    note: self.group_note(h, i),
                },
                NodeKind::Array(a) => Body::Array([
                    shape_text(&a.shape),
                    a.data_type.display.to_string(),
                    a.chunks.as_deref().map_or_else(
                        || "chunks ?".into(),
                        |c| format!("chunks {}", shape_text(c)),
                    ),
                    a.shards
                        .as_deref()
                        .map_or_else(String::new, |s| format!("shards {}", shape_text(s))),
                    summarize(&a.codecs),
                    a.dimension_names
                        .as_deref()
                        .filter(|d| !d.is_empty())
                        .map_or_else(String::new, dims_text),
                    if self.sizes {
                        size_or(a.nbytes(), "size ?")
                    } else {
                        String::new()
                    },
                ]),
                NodeKind::InvalidArray { reason } => Body::Invalid(reason.clone()),
            };
            // The top line names the node fully (`/` or, inside a store, `/a/b`).
            let name = if i == 0 { &node.path } else { node.name() };
            lines.push(Line {
                lead,
                name: name.to_string(),
                body,
            });
            let shown: &[usize] = if cut { &[] } else { children };
            if self.attrs {
                let bar = if shown.is_empty() { "  " } else { "│ " };
                for (key, value) in &node.attributes {
                    let text = match value {
                        serde_json::Value::String(s) => format!("{s:?}"),
                        other => other.to_string(),
                    };
                    lines.push(Line {
                        lead: format!("{child_lead}{bar}"),
                        name: String::new(),
                        body: Body::Attribute(format!(
                            "{key}: {}",
                            truncate(&text, MAX_ATTR_CHARS)
                        )),
                    });
                }
            }
            for (k, &c) in shown.iter().enumerate().rev() {
                let last = k + 1 == shown.len();
                let (connector, continuation) = if last {
                    ("└── ", "    ")
                } else {
                    ("├── ", "│   ")
                };
                stack.push((
                    c,
                    depth + 1,
                    format!("{child_lead}{connector}"),
                    format!("{child_lead}{continuation}"),
                ));
            }
        }
        lines
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

impl Renderer for TreeRenderer {
    fn render(&self, h: &Hierarchy, _stats: Stats, out: &mut dyn io::Write) -> io::Result<()> {
        let lines = self.lines(h);
        if h.base != "/" {
            writeln!(
                out,
                "{}",
                self.paint(DETAIL, &format!("in store {}", h.root_url))
            )?;
        }
        // Align every column across all array lines; an all-empty column
        // (no sharded arrays, say) takes no space.
        let mut name_w = 0;
        let mut col_w = [0usize; ARRAY_COLUMNS];
        for line in &lines {
            if let Body::Array(cols) = &line.body {
                name_w = name_w.max(width(&line.lead) + width(&line.name));
                for (w, col) in col_w.iter_mut().zip(cols) {
                    *w = (*w).max(width(col));
                }
            }
        }
        for line in &lines {
            let lead = &line.lead;
            match &line.body {
                Body::Group { hidden, note } => {
                    write!(out, "{lead}{}", self.paint(GROUP, &line.name))?;
                    if !note.is_empty() {
                        write!(out, "  {}", self.paint(DETAIL, &format!("({note})")))?;
                    }
                    if *hidden > 0 {
                        write!(
                            out,
                            "  {}",
                            self.paint(DETAIL, &format!("… {hidden} more nodes"))
                        )?;
                    }
                    writeln!(out)?;
                }
                Body::Array(cols) => {
                    let pad = name_w - width(lead) - width(&line.name);
                    write!(
                        out,
                        "{lead}{}{}",
                        self.paint(ARRAY, &line.name),
                        " ".repeat(pad)
                    )?;
                    let mut cells = String::new();
                    for (k, (col, w)) in cols.iter().zip(col_w).enumerate() {
                        if w == 0 {
                            continue;
                        }
                        let style = if k == DTYPE_COLUMN {
                            DTYPE
                        } else if k == 0 {
                            Style::new()
                        } else {
                            DETAIL
                        };
                        cells.push_str("  ");
                        cells.push_str(&self.paint(style, col));
                        if k + 1 < ARRAY_COLUMNS {
                            cells.push_str(&" ".repeat(w - width(col)));
                        }
                    }
                    writeln!(out, "{}", cells.trim_end())?;
                }
                Body::Invalid(reason) => writeln!(
                    out,
                    "{lead}{}  {}",
                    self.paint(ARRAY, &line.name),
                    self.paint(INVALID, &format!("<unreadable array metadata: {reason}>"))
                )?,
                Body::Attribute(text) => writeln!(out, "{lead}{}", self.paint(DETAIL, text))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::NodeDoc;

    fn small() -> Hierarchy {
        let doc = |path: &str| NodeDoc {
            path: path.into(),
            attributes: serde_json::Map::from_iter([("k".to_string(), serde_json::json!("v"))])
                .into(),
            kind: NodeKind::Group,
        };
        Hierarchy::new(
            "u",
            3,
            true,
            vec![doc(""), doc("a"), doc("a/b"), doc("c")],
            vec![],
        )
    }

    fn render(r: &TreeRenderer) -> String {
        let mut out = Vec::new();
        r.render(&small(), Stats::default(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn colour_only_when_asked() {
        let plain = render(&TreeRenderer {
            attrs: false,
            depth: None,
            color: false,
            sizes: false,
        });
        assert_eq!(plain, "/\n├── a\n│   └── b\n└── c\n");
        let coloured = render(&TreeRenderer {
            attrs: false,
            depth: None,
            color: true,
            sizes: false,
        });
        assert!(coloured.contains("\x1b["), "{coloured:?}");
        let stripped: String = coloured
            .split('\x1b')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.split_once('m').map_or("", |(_, rest)| rest)
                }
            })
            .collect();
        assert_eq!(stripped, plain);
    }

    #[test]
    fn attributes_hang_under_their_node() {
        let text = render(&TreeRenderer {
            attrs: true,
            depth: None,
            color: false,
            sizes: false,
        });
        assert_eq!(
            text,
            "/\n│ k: \"v\"\n├── a\n│   │ k: \"v\"\n│   └── b\n│         k: \"v\"\n└── c\n      k: \"v\"\n"
        );
    }

    #[test]
    fn depth_zero_shows_only_the_root_and_a_count() {
        let text = render(&TreeRenderer {
            attrs: false,
            depth: Some(0),
            color: false,
            sizes: false,
        });
        assert_eq!(text, "/  … 3 more nodes\n");
    }
}
