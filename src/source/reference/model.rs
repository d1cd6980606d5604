//! What a kerchunk reference set holds, as zarrscope keeps it: the metadata
//! documents whole, the chunk entries only as counts (per directory) and
//! the target files they point into. Kept apart from I/O: the JSON scanner
//! ([`super::scan`]) and the Parquet reader ([`super::parquet`]) fill it.

use std::collections::HashMap;

/// How the reference set is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A JSON file (kerchunk spec version 0 or 1).
    Json,
    /// A Parquet reference directory (`.zmetadata` + `<var>/refs.N.parq`).
    Parquet,
}

/// The compression of a JSON reference file, found from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Zstd,
    Gzip,
}

/// One chunk entry's value, kept only when the caller asked for that key
/// (the coordinates `show --coords` reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Inline data, decoded (`base64:` removed and decoded; text as UTF-8).
    Inline(Vec<u8>),
    /// `[url, offset, length]`; `url` as written (templates unexpanded).
    Range {
        url: String,
        offset: u64,
        length: u64,
    },
    /// `[url]`: the whole target file.
    WholeFile { url: String },
}

/// Chunk entries counted together (one directory's, or one array's).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Inline values and their decoded bytes.
    pub inline: u64,
    pub inline_bytes: u64,
    /// `[url, offset, length]` entries and the sum of their lengths.
    pub referenced: u64,
    pub referenced_bytes: u64,
    /// `[url]` entries (size unknown without asking the target).
    pub whole_files: u64,
    /// Parquet rows with neither a path nor raw data: chunks left to the
    /// fill value. JSON sets simply leave such keys out.
    pub missing: u64,
}

impl Tally {
    pub fn add(&mut self, other: &Tally) {
        self.inline += other.inline;
        self.inline_bytes += other.inline_bytes;
        self.referenced += other.referenced;
        self.referenced_bytes += other.referenced_bytes;
        self.whole_files += other.whole_files;
        self.missing += other.missing;
    }

    /// Chunks that have a value (inline or in a target).
    pub fn present(&self) -> u64 {
        self.inline + self.referenced + self.whole_files
    }
}

/// How the entries use one target file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TargetUse {
    /// `[url, offset, length]` entries pointing into it.
    pub references: u64,
    /// `[url]` entries naming all of it.
    pub whole_file: u64,
    /// The sum of the referenced lengths.
    pub bytes: u64,
    /// The largest `offset + length`: the file must be at least this long.
    pub max_end: u64,
}

/// One `gen` entry of a version 1 set: keys fsspec generates from a
/// pattern. zarrscope counts them and does not expand them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenEntry {
    /// The key pattern (`"gen_key{{i}}"`).
    pub key: String,
    /// How many keys it generates (the product of its dimensions' lengths),
    /// when the dimensions say.
    pub count: Option<u64>,
}

/// A key whose value kerchunk never writes (a number, `[url, "x"]`, …):
/// reported, never an error for the whole set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invalid {
    pub key: String,
    pub why: String,
}

/// At most this many invalid keys are kept by name; the rest are counted.
pub const INVALID_KEPT: usize = 20;

/// A reference set as read: metadata whole, chunks as counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scanned {
    /// Kerchunk spec version: 0 (flat map) or 1 (`{"version": 1, …}`).
    pub version: u8,
    /// The Zarr metadata documents (`.zgroup`, `.zarray`, `.zattrs`,
    /// `.zmetadata`, `zarr.json` at any depth), key → JSON text, in file
    /// order. A value written as a JSON object is kept as its JSON text.
    pub metadata: Vec<(String, Vec<u8>)>,
    /// Version 1 templates, name → value, in file order.
    pub templates: Vec<(String, String)>,
    pub generated: Vec<GenEntry>,
    /// Chunk entries counted by directory: the key up to its last `/`
    /// (`""` for a key at the root). `temp/0.0` counts under `temp`,
    /// `temp/0/0` under `temp/0`; the hierarchy tells which array that is.
    pub chunks: HashMap<String, Tally>,
    /// Target files by URL as written (templates unexpanded).
    pub targets: HashMap<String, TargetUse>,
    /// The first [`INVALID_KEPT`] invalid keys, and how many there were.
    pub invalid: Vec<Invalid>,
    pub invalid_count: u64,
    /// The chunk entries the caller asked to keep, in file order.
    pub kept: Vec<(String, Entry)>,
    /// Bytes of JSON read (after decompression).
    pub json_bytes: u64,
}

/// The last segments that make a key a metadata document.
pub const METADATA_NAMES: [&str; 5] = [".zgroup", ".zarray", ".zattrs", ".zmetadata", "zarr.json"];

/// Whether `key` names a Zarr metadata document.
pub fn is_metadata_key(key: &str) -> bool {
    let name = key.rsplit('/').next().unwrap_or(key);
    METADATA_NAMES.contains(&name)
}

/// The directory a chunk key is counted under.
pub fn directory_of(key: &str) -> &str {
    key.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// `url` with `{{name}}` replaced by each template's value (as fsspec
/// does, one pass per template).
pub fn expand(url: &str, templates: &[(String, String)]) -> String {
    if !url.contains("{{") {
        return url.to_string();
    }
    let mut out = url.to_string();
    for (name, value) in templates {
        out = out.replace(&format!("{{{{{name}}}}}"), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_and_keys_sort_into_directories() {
        let templates = vec![("u".to_string(), "s3://b/day1.nc".to_string())];
        assert_eq!(expand("{{u}}", &templates), "s3://b/day1.nc");
        assert_eq!(expand("s3://x/y", &templates), "s3://x/y");
        assert!(is_metadata_key("a/b/.zarray") && is_metadata_key("zarr.json"));
        assert!(!is_metadata_key("a/0.0"));
        assert_eq!(directory_of("temp/0.0"), "temp");
        assert_eq!(directory_of("0"), "");
    }
}
