//! The kerchunk reference source: a JSON file (spec version 0 or 1, plain,
//! zstd or gzip) or a Parquet directory mapping Zarr keys to inline values
//! or byte ranges of other files. Only the reference set is read, never a
//! target file (except with `refs --verify` and `show --coords`, which ask).
//!
//! Detection costs no extra request: a URL whose name is a JSON file
//! (`.json`, `.json.zst`, `.json.gz`) or that was written `reference://…` is
//! read as a reference set (its content decides the compression); a
//! directory whose `.zmetadata` — already probed — holds `record_size` is a
//! Parquet reference directory.

pub mod model;
pub mod parquet;
pub mod scan;
pub mod store;
pub mod summary;
pub mod verify;

use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use object_store::ObjectStoreExt;
use serde_json::value::RawValue;

use crate::error::{Error, ErrorKind, Result};
use crate::hierarchy::Hierarchy;
use crate::location::Location;
use crate::metadata;
use crate::store::StoreHandle;
use crate::store::guard::{Keys, Policy, Writes};
use model::{Compression, Format, Scanned};

/// What the guard calls the keys this source reads.
pub const WHAT: &str = "kerchunk reference set";

/// Whether the location names a JSON reference file: by how it was written
/// (`reference://`) or by its name — a `.json` file that is not a Zarr
/// metadata document.
pub fn named_by_url(location: &Location) -> bool {
    location.reference
        || crate::location::names_a_reference_file(
            location.prefix.rsplit('/').next().unwrap_or_default(),
        )
}

/// A reference set as read.
#[derive(Debug, Clone)]
pub struct References {
    /// The reference file (JSON) or directory (Parquet).
    pub url: String,
    pub format: Format,
    pub compression: Compression,
    /// The reference file's size as stored (JSON), if known.
    pub size: Option<u64>,
    /// Parquet: chunks per `refs.N.parq` file.
    pub record_size: Option<u64>,
    pub scanned: Scanned,
}

impl References {
    /// The hierarchy its metadata documents describe.
    pub fn hierarchy(&self) -> Result<Hierarchy> {
        hierarchy(&self.url, &self.scanned.metadata, self.describe())
    }

    /// "kerchunk reference set (JSON, spec version 1, zstd)".
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.format {
            Format::Json => format!("JSON, spec version {}", self.scanned.version),
            Format::Parquet => format!(
                "Parquet, {} chunks per file",
                self.record_size.unwrap_or_default()
            ),
        }];
        match self.compression {
            Compression::None => {}
            Compression::Zstd => parts.push("zstd".into()),
            Compression::Gzip => parts.push("gzip".into()),
        }
        format!("kerchunk reference set ({})", parts.join(", "))
    }
}

/// Which chunk entries to keep whole (for `show --coords`).
pub type Keep = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// Keep no chunk entry: the tree, `refs`.
pub fn keep_none() -> Keep {
    Arc::new(|_| false)
}

/// The guard's policy for a JSON reference file: that file alone.
pub fn file_policy(key: &str) -> Policy {
    Policy::one_file(WHAT, key.to_string())
}

/// Read the JSON reference file at the location, in one pass.
pub async fn read_json(ms: &StoreHandle, keep: Keep) -> Result<References> {
    let key = ms.location.prefix.clone();
    let url = ms.location.url.clone();
    let store = ms.guarded(file_policy(&key));
    let path = crate::keys::path(&key)?;
    let got = store
        .get(&path)
        .await
        .map_err(|e| not_found_or(ms, &url, e))?;
    let size = got.meta.size;
    let max_json_bytes = ms.budget.max();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let parse = tokio::task::spawn_blocking(move || {
        let (compression, reader) =
            scan::open(ChannelReader::new(rx)).map_err(scan::ScanError::Io)?;
        let options = scan::ScanOptions {
            keep: &*keep,
            max_json_bytes,
        };
        scan::scan(reader, &options).map(|s| (compression, s))
    });
    let mut body = got.into_stream();
    let mut failed = None;
    while let Some(part) = body.next().await {
        match part {
            // The parser stopped (an error it reports itself): stop reading.
            Ok(bytes) => {
                if tx.send(bytes).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    drop(tx);
    drop(body);
    let parsed = parse
        .await
        .map_err(|e| Error::new(format!("reading {url} stopped: {e}")))?;
    if let Some(e) = failed {
        return Err(ms.explain_url(&url, &e));
    }
    let (compression, scanned) = parsed.map_err(|e| scan_error(ms, &url, e))?;
    Ok(References {
        url,
        format: Format::Json,
        compression,
        size: Some(size),
        record_size: None,
        scanned,
    })
}

/// A missing reference file is "not found", with what to try.
fn not_found_or(ms: &StoreHandle, url: &str, e: object_store::Error) -> Error {
    if matches!(e, object_store::Error::NotFound { .. }) {
        let parent = url.rsplit_once('/').map_or(url, |(p, _)| p);
        return Error::of_kind(
            ErrorKind::NotFound,
            format!("no reference file at {url} (404)"),
        )
        .with_hint(format!(
            "check the URL; `{}` lists what is there",
            ms.command(&format!("ls {parent}/"))
        ));
    }
    ms.explain_url(url, &e)
}

fn scan_error(ms: &StoreHandle, url: &str, e: scan::ScanError) -> Error {
    use scan::ScanError;
    match e {
        ScanError::TooLarge { limit } => Error::of_kind(
            ErrorKind::BudgetExceeded,
            format!("{url} holds more than {limit} bytes of JSON once decompressed: reading stopped there"),
        )
        .with_hint(format!(
            "raise the budget with --max-bytes (now {limit} bytes) if the reference set is that large"
        )),
        ScanError::NotReferenceSet { why } => Error::of_kind(
            ErrorKind::InvalidMetadata,
            format!("{url} is not a kerchunk reference set: {why}"),
        )
        .with_hint("zarrscope reads kerchunk reference files (JSON version 0 or 1, plain, zstd or gzip) and Parquet reference directories; for a Zarr store give its directory"),
        other => Error::of_kind(ErrorKind::InvalidMetadata, format!("{url}: {other}"))
            .with_hint(format!(
                "the file is damaged or not a reference set; `{}` shows its first bytes",
                ms.command(&format!("head -c 200 {url}"))
            )),
    }
}

/// The body's parts, for the blocking parser, as a `Read`.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl ChannelReader {
    fn new(rx: tokio::sync::mpsc::Receiver<Bytes>) -> Self {
        Self {
            rx,
            current: Bytes::new(),
        }
    }
}

impl std::io::Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(next) => self.current = next,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// The hierarchy described by metadata documents `docs` (key → JSON text)
/// of the reference set at `url`. Zarr v3 when any `zarr.json` is present,
/// else v2 (the documents are read as one consolidated document would be).
pub fn hierarchy(url: &str, docs: &[(String, Vec<u8>)], source: String) -> Result<Hierarchy> {
    let mut warnings = Vec::new();
    let v3 = docs
        .iter()
        .any(|(k, _)| k.rsplit('/').next() == Some("zarr.json"));
    let mut h = if v3 {
        let mut nodes = Vec::new();
        for (key, doc) in docs {
            let Some(path) = key.strip_suffix("zarr.json") else {
                warnings.push(format!(
                    "{key:?} is a Zarr v2 document in a v3 reference set: left out"
                ));
                continue;
            };
            match metadata::v3::node(path.trim_end_matches('/').to_string(), doc) {
                Ok(node) => nodes.push(node),
                Err(e) => warnings.push(format!("{key:?} is not usable Zarr metadata: {e}")),
            }
        }
        Hierarchy::new(url, 3, true, nodes, warnings)
    } else {
        // Individual documents win over an embedded `.zmetadata`, as
        // zarr-python opening the set unconsolidated sees them.
        let own: Vec<&(String, Vec<u8>)> = docs
            .iter()
            .filter(|(k, _)| !k.ends_with(".zmetadata"))
            .collect();
        let consolidated = if own.is_empty() {
            docs.iter()
                .find(|(k, _)| k == ".zmetadata")
                .map(|(_, d)| d.clone())
        } else {
            let mut text = String::from("{\"zarr_consolidated_format\":1,\"metadata\":{");
            let mut first = true;
            for (key, doc) in own {
                let raw = match std::str::from_utf8(doc)
                    .ok()
                    .and_then(|s| serde_json::from_str::<&RawValue>(s).ok())
                {
                    Some(raw) => raw,
                    None => {
                        warnings.push(format!("{key:?} is not valid JSON: left out"));
                        continue;
                    }
                };
                if !first {
                    text.push(',');
                }
                first = false;
                text.push_str(&serde_json::Value::String(key.clone()).to_string());
                text.push(':');
                text.push_str(raw.get());
            }
            text.push_str("}}");
            Some(text.into_bytes())
        };
        let Some(doc) = consolidated else {
            return Err(Error::of_kind(
                ErrorKind::InvalidMetadata,
                format!("{url} holds no Zarr metadata (.zgroup, .zarray, zarr.json, …)"),
            )
            .with_hint("a reference set for a Zarr dataset maps its metadata keys too; check that this is the right file"));
        };
        let parsed = metadata::v2::parse_consolidated(&doc).map_err(|e| {
            Error::of_kind(
                ErrorKind::InvalidMetadata,
                format!("{url}: its Zarr metadata is not usable: {e}"),
            )
        })?;
        warnings.extend(parsed.warnings);
        Hierarchy::new(url, 2, true, parsed.nodes, warnings)
    };
    h.source = Some(source);
    Ok(h)
}

/// The Parquet reference directory at `url`, if `zmetadata` (its
/// `.zmetadata`, already read) is one: the tree needs nothing more.
pub fn parquet_directory(url: &str, zmetadata: &[u8]) -> Option<Result<References>> {
    if !parquet::is_parquet_zmetadata(zmetadata) {
        return None;
    }
    Some(parquet::parse_zmetadata(zmetadata).map(|meta| References {
        url: url.to_string(),
        format: Format::Parquet,
        compression: Compression::None,
        size: None,
        record_size: Some(meta.record_size),
        scanned: Scanned {
            metadata: meta.metadata,
            ..Scanned::default()
        },
    }))
}

/// Fill `references` (a Parquet directory at the location, whose metadata
/// gave `h`) with each array's chunk counts, read from the footers of its
/// `refs.N.parq` files alone. A file that cannot be counted becomes a note.
pub async fn count_parquet_chunks(
    ms: &StoreHandle,
    references: &mut References,
    h: &Hierarchy,
    concurrency: usize,
) -> Vec<String> {
    let Some(record_size) = references.record_size else {
        return Vec::new();
    };
    let dir = ms.location.prefix.clone();
    let store = ms.guarded(Policy {
        keys: Keys::Files {
            what: WHAT,
            keys: vec![ms.location.key(".zmetadata")],
            footers: &[".parq"],
        },
        writes: Writes::None,
    });
    // fsspec counts a 0-d array as one chunk.
    let arrays: Vec<(String, u64)> = h
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            metadata::NodeKind::Array(info) => {
                let chunks = u64::try_from(info.nchunks()?).ok()?.max(1);
                Some((n.path.trim_start_matches('/').to_string(), chunks))
            }
            _ => None,
        })
        .collect();
    let mut notes = Vec::new();
    for (array, tally) in
        parquet::footer_tallies(store.as_ref(), &dir, record_size, &arrays, concurrency).await
    {
        match tally {
            Ok(tally) => {
                references.scanned.chunks.insert(array, tally);
            }
            Err(why) => notes.push(format!("/{array}: chunks not counted: {}", ms.redact(&why))),
        }
    }
    notes
}
