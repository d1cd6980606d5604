//! Placeholder: the one-pass JSON scanner (being written).
