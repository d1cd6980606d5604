//! The text toolkit every renderer and message uses: shapes, sizes, cut text,
//! counts. Where two commands print a value differently on purpose (exact
//! bytes in `ls -l`, binary units elsewhere), both ways are here, named, and
//! say where they are used.

use std::fmt::Display;

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

/// Dimension names as `(time, feature_id)`; unnamed ones as `-`.
pub fn dims_text(names: &[Option<String>]) -> String {
    let parts: Vec<&str> = names.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
    format!("({})", parts.join(", "))
}

/// Human size in binary (IEC) units (`4.1 TiB`); exact bytes beyond 2^64.
///
/// The one way sizes are written for people, in every command: tree, show,
/// check's lints, ls -h, du -h, info, head/cat budget errors, the plans of
/// the writes and their progress.
pub fn size_text(bytes: impl Into<u128>) -> String {
    let bytes: u128 = bytes.into();
    match u64::try_from(bytes) {
        Ok(b) => bytesize::ByteSize::b(b).display().iec().to_string(),
        Err(_) => format!("{bytes} B"),
    }
}

/// A size that may be unknown (variable-length types, beyond 128 bits):
/// [`size_text`], or `unknown` as the caller spells it (`?` in show,
/// `size ?` in tree, `-` in the table).
pub fn size_or(bytes: Option<u128>, unknown: &str) -> String {
    bytes.map_or_else(|| unknown.to_string(), size_text)
}

/// The size column of `ls -l` and `du`: exact bytes, as `ls -l` and `du -b`
/// print them, unless `-h` asks for [`size_text`].
pub fn listing_size_text(bytes: u64, human_readable: bool) -> String {
    if human_readable {
        size_text(bytes)
    } else {
        bytes.to_string()
    }
}

/// Cut `text` to at most `max` characters, the last one a `…` when cut.
///
/// Lines and values sized to a width: tree attributes, show's lines, the
/// values in diff and check reports.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// The first `n` characters of `text` (all of it when shorter), unmarked:
/// callers that place a marker themselves (after a quoted path), or quote
/// a server's answer in an error.
pub fn first_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// The first `n` characters of `text`, then `…` when anything was left
/// off: unlike [`truncate`], `n` characters are always kept. Used for the
/// metadata values quoted in `show --coords` refusals.
pub fn cut_after(text: &str, n: usize) -> String {
    let kept = first_chars(text, n);
    if kept.len() < text.len() {
        format!("{kept}…")
    } else {
        kept.to_string()
    }
}

/// The plural ending of a count: `""` for one, `"s"` otherwise.
pub fn plural<N: PartialEq + From<u8>>(n: N) -> &'static str {
    if n == N::from(1) { "" } else { "s" }
}

/// A count with its noun: `1 object`, `2 objects`.
pub fn count_text<N: PartialEq + From<u8> + Display + Copy>(n: N, noun: &str) -> String {
    format!("{n} {noun}{}", plural(n))
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
    fn sizes() {
        assert_eq!(size_text(0u64), "0 B");
        assert_eq!(size_text(1536u64), "1.5 KiB");
        assert_eq!(size_text(1u128 << 70), format!("{} B", 1u128 << 70));
        assert_eq!(size_or(None, "size ?"), "size ?");
        assert_eq!(size_or(Some(1536), "?"), "1.5 KiB");
        assert_eq!(listing_size_text(1536, false), "1536");
        assert_eq!(listing_size_text(1536, true), "1.5 KiB");
    }

    #[test]
    fn cutting() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(first_chars("äbcdef", 3), "äbc");
        assert_eq!(first_chars("äb", 3), "äb");
        assert_eq!(cut_after("abcd", 3), "abc…");
        assert_eq!(cut_after("abc", 3), "abc");
    }

    #[test]
    fn counts() {
        assert_eq!(count_text(1u64, "object"), "1 object");
        assert_eq!(count_text(0usize, "file"), "0 files");
        assert_eq!(plural(2usize), "s");
    }
}
