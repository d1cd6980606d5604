//! Step 5 of the flow: one trait, one small file per output format.

pub mod comparison;
pub mod dataset;
mod json;
mod table;
mod tree;

use std::io;

use serde::Serialize;

use crate::hierarchy::Hierarchy;
pub use json::JsonRenderer;
pub use table::TableRenderer;
pub use tree::TreeRenderer;

/// What the command measured, reported in JSON and by `--stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub bytes: u64,
}

pub trait Renderer {
    fn render(
        &self,
        hierarchy: &Hierarchy,
        stats: Stats,
        out: &mut dyn io::Write,
    ) -> io::Result<()>;
}

/// Python-style tuple: `()`, `(5,)`, `(3, 4)`.
pub fn shape_text(shape: &[u64]) -> String {
    match shape {
        [] => "()".into(),
        [one] => format!("({one},)"),
        [first, rest @ ..] => {
            use std::fmt::Write;
            // One string per shape: tables print thousands of them.
            let mut text = String::with_capacity(2 + 12 * shape.len());
            let _ = write!(text, "({first}");
            for extent in rest {
                let _ = write!(text, ", {extent}");
            }
            text.push(')');
            text
        }
    }
}

/// Human size in binary (IEC) units (`4.1 TiB`); exact bytes beyond 2^64.
///
/// The one way sizes are written for people, in every command: tree, show,
/// check's lints, ls -h, du -h, info, and the plans of the writes.
pub fn size_text(bytes: impl Into<u128>) -> String {
    let bytes: u128 = bytes.into();
    match u64::try_from(bytes) {
        Ok(b) => bytesize::ByteSize::b(b).display().iec().to_string(),
        Err(_) => format!("{bytes} B"),
    }
}

/// Dimension names as `(time, feature_id)`; unnamed ones as `-`.
pub fn dims_text(names: &[Option<String>]) -> String {
    let parts: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
    format!("({})", parts.join(", "))
}

/// Cut `text` to at most `max` characters, marking the cut with `…`.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_read_like_python() {
        assert_eq!(shape_text(&[]), "()");
        assert_eq!(shape_text(&[5]), "(5,)");
        assert_eq!(shape_text(&[367439, 2776738]), "(367439, 2776738)");
    }

    #[test]
    fn sizes_and_truncation() {
        assert_eq!(size_text(0u64), "0 B");
        assert_eq!(size_text(1536u64), "1.5 KiB");
        assert_eq!(size_text(1u128 << 70), format!("{} B", 1u128 << 70));
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
