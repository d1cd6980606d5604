//! Lints from metadata alone: problems that make a store hard or slow to
//! use, each with a severity and a one-line explanation. Pure: no I/O.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::hierarchy::Hierarchy;
use crate::metadata::NodeKind;
use crate::metadata::codec::Codec;
use crate::render::text::{plural, size_text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub path: String,
    pub code: &'static str,
    pub message: String,
}

const SMALL_CHUNK: u128 = 1 << 20;
const LARGE_CHUNK: u128 = 1 << 30;
/// Shards above this are written (and rewritten) whole by zarr-python and
/// tensorstore, and approach S3's 5 GiB limit for a single PUT.
const LARGE_SHARD: u128 = 1 << 30;

/// Codecs zarrscope knows (v2 numcodecs ids and v3 names).
const KNOWN_CODECS: &[&str] = &[
    "blosc",
    "zstd",
    "zlib",
    "gzip",
    "bz2",
    "lz4",
    "lzma",
    "delta",
    "fixedscaleoffset",
    "quantize",
    "packbits",
    "categorize",
    "astype",
    "shuffle",
    "bitround",
    "crc32",
    "crc32c",
    "adler32",
    "fletcher32",
    "jenkins_lookup3",
    "json2",
    "msgpack2",
    "vlen-utf8",
    "vlen-bytes",
    "vlen-array",
    "zfpy",
    "pcodec",
    "bytes",
    "transpose",
    "sharding_indexed",
    "endian",
];

/// Codecs that compress (as opposed to reorder, check or encode).
const COMPRESSORS: &[&str] = &[
    "blosc", "zstd", "zlib", "gzip", "bz2", "lz4", "lzma", "zfpy", "pcodec",
];

fn codec_names(codecs: &[Codec], out: &mut Vec<String>) {
    for codec in codecs {
        out.push(codec.name.clone());
        if let Some(Value::Array(inner)) = codec.configuration.get("codecs") {
            for c in inner {
                if let Some(name) = c.get("name").and_then(Value::as_str) {
                    out.push(name.to_string());
                }
            }
        }
    }
}

fn known(name: &str) -> bool {
    let bare = name.strip_prefix("numcodecs.").unwrap_or(name);
    KNOWN_CODECS.contains(&bare)
}

pub fn lint(h: &Hierarchy) -> Vec<Finding> {
    let mut findings = Vec::new();
    // dimension name → (size → arrays using it with that size)
    let mut dims: BTreeMap<&str, BTreeMap<u64, Vec<&str>>> = BTreeMap::new();
    for node in h.arrays() {
        let path = node.path.as_str();
        let mut push = |severity, code, message: String| {
            findings.push(Finding {
                severity,
                path: path.to_string(),
                code,
                message,
            })
        };
        let a = match &node.kind {
            NodeKind::Array(a) => a,
            NodeKind::InvalidArray { reason } => {
                push(
                    Severity::Error,
                    "invalid-metadata",
                    format!("the array's metadata cannot be read: {reason}"),
                );
                continue;
            }
            NodeKind::Group => continue,
        };
        let ndim = a.shape.len();
        if let Some(names) = &a.dimension_names {
            if names.len() != ndim {
                push(
                    Severity::Error,
                    "dimension-count",
                    format!(
                        "{} dimension names for {ndim} dimensions: readers such as xarray refuse the array",
                        names.len()
                    ),
                );
            } else {
                for (name, &size) in names.iter().zip(&a.shape) {
                    if let Some(name) = name {
                        dims.entry(name.as_str())
                            .or_default()
                            .entry(size)
                            .or_default()
                            .push(path);
                    }
                }
            }
        }
        if let Some(chunks) = &a.chunks
            && chunks.len() == ndim
        {
            let oversized: Vec<String> = a
                .shape
                .iter()
                .zip(chunks)
                .enumerate()
                .filter(|(_, (s, c))| **s > 0 && c > s)
                .map(|(i, (s, c))| format!("dim {i}: chunk {c} > size {s}"))
                .collect();
            if !oversized.is_empty() {
                push(
                    Severity::Info,
                    "chunk-larger-than-shape",
                    format!(
                        "chunks larger than the array ({}): fine for growing arrays, otherwise wasted padding",
                        oversized.join(", ")
                    ),
                );
            }
            let itemsize = a.data_type.itemsize;
            let chunk_bytes = itemsize.and_then(|i| {
                chunks
                    .iter()
                    .try_fold(u128::from(i), |n, &c| n.checked_mul(u128::from(c)))
            });
            let many = a.nchunks().is_some_and(|n| n > 1);
            match chunk_bytes {
                Some(b) if b > LARGE_CHUNK => push(
                    Severity::Warning,
                    "large-chunks",
                    format!(
                        "uncompressed chunks of {} (> 1 GiB): every read of one value loads that much",
                        size_text(b)
                    ),
                ),
                Some(b) if b < SMALL_CHUNK && many => push(
                    Severity::Info,
                    "small-chunks",
                    format!(
                        "uncompressed chunks of {} (< 1 MiB) across {} chunks: reads need many requests",
                        size_text(b),
                        a.nchunks().unwrap_or(0)
                    ),
                ),
                _ => {}
            }
        }
        if let (Some(shards), Some(itemsize)) = (&a.shards, a.data_type.itemsize)
            && let Some(b) = shards
                .iter()
                .try_fold(u128::from(itemsize), |n, &s| n.checked_mul(u128::from(s)))
            && b > LARGE_SHARD
        {
            push(
                Severity::Warning,
                "large-shards",
                format!(
                    "uncompressed shards of {} (> 1 GiB): writers build each shard whole in memory, and one PUT holds at most 5 GiB",
                    size_text(b)
                ),
            );
        }
        let mut names = Vec::new();
        codec_names(&a.codecs, &mut names);
        let unknown: Vec<&String> = names.iter().filter(|n| !known(n)).collect();
        if !unknown.is_empty() {
            push(
                Severity::Warning,
                "unknown-codec",
                format!(
                    "codec{} {} not known to zarrscope: some readers may not decode this array",
                    plural(unknown.len()),
                    unknown
                        .iter()
                        .map(|n| format!("{n:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let compressed = names.iter().any(|n| {
            let bare = n.strip_prefix("numcodecs.").unwrap_or(n);
            COMPRESSORS.contains(&bare) || !known(n)
        });
        if !compressed && a.nbytes().is_some_and(|b| b > 0) {
            push(
                Severity::Info,
                "uncompressed",
                "no compressor: the data are stored raw (fine for small coordinates, costly for large variables)".into(),
            );
        }
    }
    for (name, sizes) in dims {
        if sizes.len() > 1 {
            let detail: Vec<String> = sizes
                .iter()
                .map(|(size, arrays)| format!("{size} in {}", arrays.join(", ")))
                .collect();
            findings.push(Finding {
                severity: Severity::Warning,
                path: "/".into(),
                code: "dimension-size-conflict",
                message: format!(
                    "dimension {name:?} has different sizes: {}; xarray refuses to open such a group",
                    detail.join("; ")
                ),
            });
        }
    }
    findings.sort_by(|a, b| (a.severity, &a.path).cmp(&(b.severity, &b.path)));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::v2::parse_consolidated;
    use serde_json::json;

    fn hierarchy(metadata: Value) -> Hierarchy {
        let c = parse_consolidated(
            json!({"metadata": metadata, "zarr_consolidated_format": 1})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        Hierarchy::new("u", 2, true, c.nodes, c.warnings)
    }

    fn array(shape: Value, chunks: Value, compressor: Value) -> Value {
        json!({"zarr_format": 2, "shape": shape, "chunks": chunks, "dtype": "<f8",
               "fill_value": null, "order": "C", "filters": null, "compressor": compressor})
    }

    #[test]
    fn each_rule_fires_on_its_case_and_not_on_a_good_array() {
        let zstd = json!({"id": "zstd", "level": 3});
        let h = hierarchy(json!({
            ".zgroup": {"zarr_format": 2},
            // good: 8 MB chunks, compressed, names match
            "good/.zarray": array(json!([1000, 1000]), json!([1000, 1000]), zstd.clone()),
            "good/.zattrs": {"_ARRAY_DIMENSIONS": ["y", "x"]},
            // three names for two dimensions
            "names/.zarray": array(json!([10, 10]), json!([10, 10]), zstd.clone()),
            "names/.zattrs": {"_ARRAY_DIMENSIONS": ["a", "b", "c"]},
            // x is 1000 in good, 20 here
            "conflict/.zarray": array(json!([20]), json!([20]), zstd.clone()),
            "conflict/.zattrs": {"_ARRAY_DIMENSIONS": ["x"]},
            "tiny/.zarray": array(json!([100000]), json!([100]), zstd.clone()),
            "huge/.zarray": array(json!([100000, 100000]), json!([20000, 20000]), zstd.clone()),
            "padded/.zarray": array(json!([10]), json!([100]), zstd.clone()),
            "raw/.zarray": array(json!([10]), json!([10]), Value::Null),
            "odd/.zarray": array(json!([10]), json!([10]), json!({"id": "mystery"})),
        }));
        let findings = lint(&h);
        let codes = |path: &str| -> Vec<&str> {
            findings
                .iter()
                .filter(|f| f.path == path)
                .map(|f| f.code)
                .collect()
        };
        assert!(codes("/good").is_empty(), "{findings:?}");
        assert_eq!(codes("/names"), ["dimension-count"]);
        assert!(codes("/").contains(&"dimension-size-conflict"));
        assert_eq!(codes("/tiny"), ["small-chunks"]);
        assert_eq!(codes("/huge"), ["large-chunks"]);
        assert_eq!(codes("/padded"), ["chunk-larger-than-shape"]);
        assert_eq!(codes("/raw"), ["uncompressed"]);
        assert_eq!(codes("/odd"), ["unknown-codec"]);
        assert_eq!(findings[0].severity, Severity::Error, "errors first");
    }
}
