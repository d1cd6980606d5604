//! The text of `show --coords` notes: why a coordinate was not read. The
//! same text is the note's JSON value.

use std::fmt;

use serde::{Serialize, Serializer};

use super::text::{plural, size_text};
use crate::dataset::NotPeeked;

impl fmt::Display for NotPeeked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotPeeked::OverBudget {
                chunks,
                bytes,
                budget_left,
            } => write!(
                f,
                "not read: its {} chunk{} hold {} uncompressed, over the {} left of --max-bytes",
                if *chunks == 2 {
                    "first and last"
                } else {
                    "one"
                },
                plural(*chunks),
                size_text(*bytes),
                size_text(*budget_left)
            ),
            NotPeeked::VariableLength => write!(f, "not read: variable-length values"),
            NotPeeked::Failed(why) => write!(f, "not read: {why}"),
        }
    }
}

impl Serialize for NotPeeked {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_as_before() {
        let over = NotPeeked::OverBudget {
            chunks: 2,
            bytes: 3 << 20,
            budget_left: 1 << 20,
        };
        assert_eq!(
            over.to_string(),
            "not read: its first and last chunks hold 3.0 MiB uncompressed, over the 1.0 MiB left of --max-bytes"
        );
        assert_eq!(
            serde_json::to_value(NotPeeked::VariableLength).ok(),
            Some(serde_json::json!("not read: variable-length values"))
        );
    }
}
