//! What `zarrscope refs` reports: a reference set's keys, targets and, per
//! array, its references against the chunk grid. Computed from what the
//! scan kept (counts per directory) and the hierarchy its metadata gives.

use std::collections::BTreeMap;

use serde::Serialize;

use super::References;
use super::model::{Format, GenEntry, Invalid, Tally, TargetUse, expand};
use crate::hierarchy::Hierarchy;
use crate::metadata::NodeKind;

/// At most this many target URL prefixes are listed.
pub const PREFIXES_SHOWN: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub url: String,
    /// "json" or "parquet".
    pub format: &'static str,
    /// Kerchunk spec version (JSON sets).
    pub spec_version: Option<u8>,
    /// "zstd", "gzip", or none.
    pub compression: Option<&'static str>,
    /// The reference file's size as stored, where known.
    pub file_bytes: Option<u64>,
    /// Parquet: chunks per `refs.N.parq`.
    pub record_size: Option<u64>,
    pub zarr_format: u8,
    pub keys: KeyCounts,
    pub templates: BTreeMap<String, String>,
    /// `gen` entries, unexpanded.
    pub generated: Vec<Generated>,
    pub targets: Targets,
    pub arrays: Vec<ArrayRefs>,
    /// Chunk entries under no array of the metadata.
    pub outside_arrays: Tally,
    pub invalid: Vec<Invalid>,
    pub invalid_count: u64,
    /// What could not be counted, and why.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyCounts {
    pub total: u64,
    pub metadata: u64,
    pub inline: u64,
    pub inline_bytes: u64,
    pub referenced: u64,
    pub referenced_bytes: u64,
    pub whole_file: u64,
    /// Parquet rows with no value (fill).
    pub missing: u64,
    /// Keys `gen` would generate (fsspec expands them; zarrscope does not).
    pub generated: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Generated {
    pub key: String,
    pub count: Option<u64>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Targets {
    /// Distinct target files (templates expanded).
    pub files: u64,
    /// Files per protocol (`s3`, `https`, `file` for a path, …).
    pub protocols: BTreeMap<String, u64>,
    /// Files per directory URL, most first (at most [`PREFIXES_SHOWN`]).
    pub prefixes: Vec<Prefix>,
    /// The sum of every referenced length.
    pub bytes: u64,
    /// Every target, sorted by URL, with how it is used.
    #[serde(serialize_with = "target_list")]
    pub list: Vec<(String, TargetUse)>,
}

fn target_list<S: serde::Serializer>(
    list: &[(String, TargetUse)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Target<'a> {
        url: &'a str,
        #[serde(flatten)]
        uses: &'a TargetUse,
    }
    serializer.collect_seq(list.iter().map(|(url, uses)| Target { url, uses }))
}

#[derive(Debug, Clone, Serialize)]
pub struct Prefix {
    pub prefix: String,
    pub files: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArrayRefs {
    pub path: String,
    /// Chunks (shards, for a sharded array) in the grid; `None` when the
    /// grid is not understood.
    pub grid: Option<u64>,
    pub inline: u64,
    pub inline_bytes: u64,
    pub referenced: u64,
    pub referenced_bytes: u64,
    pub whole_file: u64,
    /// Grid chunks without a reference: read as the fill value.
    pub missing: Option<u64>,
}

/// The number of chunks (or shards) in an array's grid.
fn grid_count(shape: &[u64], chunks: &[u64]) -> Option<u64> {
    if shape.len() != chunks.len() {
        return None;
    }
    shape.iter().zip(chunks).try_fold(1u64, |n, (&s, &c)| {
        if c == 0 {
            return None;
        }
        n.checked_mul(s.div_ceil(c))
    })
}

/// The summary of `refs`, whose metadata gave `h`; `parquet`: per-array
/// tallies read from the Parquet footers, if any.
pub fn summarize(refs: &References, h: &Hierarchy) -> Summary {
    let s = &refs.scanned;
    let mut notes = Vec::new();
    // Arrays by store-relative path, deepest first for attribution.
    let mut arrays: Vec<(String, Option<u64>)> = h
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            NodeKind::Array(info) => {
                let grid = info.shards.as_ref().or(info.chunks.as_ref());
                Some((
                    n.path.trim_start_matches('/').to_string(),
                    grid.and_then(|g| grid_count(&info.shape, g)),
                ))
            }
            _ => None,
        })
        .collect();
    arrays.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    let mut per_array: BTreeMap<String, Tally> = BTreeMap::new();
    let mut outside = Tally::default();
    for (dir, tally) in &s.chunks {
        let owner = arrays.iter().find(|(p, _)| {
            dir == p
                || p.is_empty()
                || dir
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        });
        match owner {
            Some((p, _)) => per_array.entry(p.clone()).or_default().add(tally),
            None => outside.add(tally),
        }
    }
    let mut total = Tally::default();
    for t in s.chunks.values() {
        total.add(t);
    }
    let generated: u64 = s.generated.iter().filter_map(|g| g.count).sum();
    if !s.generated.is_empty() {
        notes.push(format!(
            "{} gen entr{} would generate {} more key{}: fsspec expands them (with simple_templates=False), zarrscope counts them but does not expand them, so the per-array counts leave them out",
            s.generated.len(),
            if s.generated.len() == 1 { "y" } else { "ies" },
            generated,
            if generated == 1 { "" } else { "s" },
        ));
    }
    let arrays_out: Vec<ArrayRefs> = {
        let mut v: Vec<ArrayRefs> = arrays
            .iter()
            .map(|(path, grid)| {
                let t = per_array.get(path).copied().unwrap_or_default();
                let present = t.present();
                ArrayRefs {
                    path: format!("/{path}"),
                    grid: *grid,
                    inline: t.inline,
                    inline_bytes: t.inline_bytes,
                    referenced: t.referenced,
                    referenced_bytes: t.referenced_bytes,
                    whole_file: t.whole_files,
                    missing: match refs.format {
                        Format::Parquet => Some(t.missing),
                        Format::Json => grid.map(|g| g.saturating_sub(present)),
                    },
                }
            })
            .collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    };
    if refs.format == Format::Parquet {
        notes.push("a Parquet reference set's target files and referenced bytes are in its data pages, which zarrscope does not read: only the per-array counts (from the footers) are shown".into());
    }
    let targets = targets(s.targets.iter(), &s.templates);
    Summary {
        url: refs.url.clone(),
        format: match refs.format {
            Format::Json => "json",
            Format::Parquet => "parquet",
        },
        spec_version: (refs.format == Format::Json).then_some(s.version),
        compression: match refs.compression {
            super::model::Compression::None => None,
            super::model::Compression::Zstd => Some("zstd"),
            super::model::Compression::Gzip => Some("gzip"),
        },
        file_bytes: refs.size,
        record_size: refs.record_size,
        zarr_format: h.zarr_format,
        keys: KeyCounts {
            total: s.metadata.len() as u64 + total.present() + s.invalid_count,
            metadata: s.metadata.len() as u64,
            inline: total.inline,
            inline_bytes: total.inline_bytes,
            referenced: total.referenced,
            referenced_bytes: total.referenced_bytes,
            whole_file: total.whole_files,
            missing: total.missing,
            generated,
        },
        templates: s.templates.iter().cloned().collect(),
        generated: s
            .generated
            .iter()
            .map(|GenEntry { key, count }| Generated {
                key: key.clone(),
                count: *count,
            })
            .collect(),
        targets,
        arrays: arrays_out,
        outside_arrays: outside,
        invalid: s.invalid.clone(),
        invalid_count: s.invalid_count,
        notes,
    }
}

/// Distinct targets after template expansion, their protocols and
/// directories.
fn targets<'a>(
    raw: impl Iterator<Item = (&'a String, &'a TargetUse)>,
    templates: &[(String, String)],
) -> Targets {
    let mut merged: BTreeMap<String, TargetUse> = BTreeMap::new();
    for (url, used) in raw {
        let t = merged.entry(expand(url, templates)).or_default();
        t.references += used.references;
        t.whole_file += used.whole_file;
        t.bytes += used.bytes;
        t.max_end = t.max_end.max(used.max_end);
    }
    let mut protocols = BTreeMap::new();
    let mut prefixes: BTreeMap<String, u64> = BTreeMap::new();
    let mut bytes = 0;
    for (url, used) in &merged {
        bytes += used.bytes;
        let protocol = url
            .split_once("://")
            .map_or("file", |(scheme, _)| scheme)
            .to_string();
        *protocols.entry(protocol).or_insert(0) += 1;
        let dir = url.rsplit_once('/').map_or("", |(d, _)| d);
        *prefixes.entry(format!("{dir}/")).or_insert(0) += 1;
    }
    let mut prefixes: Vec<Prefix> = prefixes
        .into_iter()
        .map(|(prefix, files)| Prefix { prefix, files })
        .collect();
    prefixes.sort_by(|a, b| b.files.cmp(&a.files).then(a.prefix.cmp(&b.prefix)));
    prefixes.truncate(PREFIXES_SHOWN);
    Targets {
        files: merged.len() as u64,
        protocols,
        prefixes,
        bytes,
        list: merged.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_count_partial_chunks_and_refuse_nonsense() {
        assert_eq!(grid_count(&[12, 5, 6], &[2, 5, 3]), Some(12));
        assert_eq!(grid_count(&[5], &[2]), Some(3));
        assert_eq!(grid_count(&[], &[]), Some(1));
        assert_eq!(grid_count(&[5], &[0]), None);
        assert_eq!(grid_count(&[5, 5], &[1]), None);
        assert_eq!(grid_count(&[u64::MAX, u64::MAX], &[1, 1]), None);
    }
}
