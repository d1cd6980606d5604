//! `show --coords` on a reference set: a read-only [`ObjectStore`] that
//! serves the set's keys as a Zarr store would, so zarrs opens and decodes
//! coordinate arrays exactly as it does from a bucket.
//!
//! - metadata documents and inline chunks: the bytes the one read of the
//!   reference file kept;
//! - a chunk referenced as `[url, offset, length]`: one ranged GET of exactly
//!   that range on the target's store, which the caller opened behind a guard
//!   that allows exactly the planned ranges ([`Keys::Ranges`]);
//! - a chunk referenced as `[url]` (a whole file, size unknown): refused with
//!   a note, never read;
//! - any other key: not found, which zarrs reads as the fill value, as
//!   fsspec does for a key the set leaves out.
//!
//! Which chunk entries the one read keeps: the tree is only known once the
//! metadata is read, and the read is one pass, so it keeps every chunk entry
//! whose key looks like a 1-D chunk (`name/7`, `name/c/7`, `name/c.7`), at
//! most [`MAX_KEPT`] of them. A coordinate whose directory had entries past
//! that cap is noted, not read: its chunks might be among those dropped.
//!
//! [`Keys::Ranges`]: crate::store::guard::Keys::Ranges

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, Result,
};

use super::References;
use super::model::{Entry, directory_of, expand};
use crate::dataset::{Dataset, NotPeeked};
use crate::hierarchy::Hierarchy;
use crate::metadata::NodeKind;
use crate::peek::PlannedRead;

const STORE_NAME: &str = "ReferenceStore";

/// What the guard of a target file calls the ranges it lets through.
pub const TARGET_WHAT: &str = "referenced coordinate chunk";

/// The most chunk entries the one read keeps for `show --coords`.
pub const MAX_KEPT: usize = 100_000;

/// The keep predicate of the one read, and what it had to drop.
#[derive(Debug, Default)]
pub struct CoordinateKeep {
    kept: AtomicUsize,
    /// Directories with a 1-D-looking entry dropped past [`MAX_KEPT`].
    overflowed: Mutex<HashSet<String>>,
}

impl CoordinateKeep {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The predicate for [`super::read_json`].
    pub fn keep(self: &Arc<Self>) -> super::Keep {
        let this = Arc::clone(self);
        Arc::new(move |key| {
            if !looks_one_dimensional(key) {
                return false;
            }
            if this.kept.fetch_add(1, Ordering::Relaxed) < MAX_KEPT {
                return true;
            }
            this.overflowed
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(directory_of(key).to_string());
            false
        })
    }

    fn dropped_in(&self, directory: &str) -> bool {
        self.overflowed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(directory)
    }
}

/// `name/7`, `name/c/7` or `name/c.7`: a chunk key of a 1-D array (or the
/// last segment of a nested key, which the cap bounds).
fn looks_one_dimensional(key: &str) -> bool {
    let last = key.rsplit('/').next().unwrap_or(key);
    let digits = last.strip_prefix("c.").unwrap_or(last);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The keys zarrs may ask for chunk `index` of the array at `key`: v2 has
/// one encoding; v3's default encoding (`c/`, or `c.` with the `.`
/// separator) or its v2 encoding.
fn chunk_keys(key: &str, index: u64, zarr_format: u8) -> Vec<String> {
    let join = |rest: String| {
        if key.is_empty() {
            rest
        } else {
            format!("{key}/{rest}")
        }
    };
    if zarr_format == 2 {
        vec![join(index.to_string())]
    } else {
        vec![
            join(format!("c/{index}")),
            join(format!("c.{index}")),
            join(index.to_string()),
        ]
    }
}

/// The chunk entries the planned coordinates need, templates expanded.
#[derive(Debug, Default)]
pub struct Wanted {
    entries: Vec<(String, Entry)>,
    /// Keys that cannot be served, and why.
    refused: Vec<(String, String)>,
}

impl Wanted {
    /// The entries of `references` that `plan` reads, and the planned
    /// chunks the keep cap may have dropped.
    pub fn new(
        references: &References,
        h: &Hierarchy,
        plan: &[PlannedRead],
        keep: &CoordinateKeep,
    ) -> Self {
        let kept: HashMap<&str, &Entry> = references
            .scanned
            .kept
            .iter()
            .map(|(k, e)| (k.as_str(), e))
            .collect();
        let templates = &references.scanned.templates;
        let mut wanted = Wanted::default();
        for read in plan {
            let path = format!("/{}", read.key);
            let zarr_format = h
                .nodes
                .iter()
                .find(|n| n.path == path)
                .and_then(|n| match &n.kind {
                    NodeKind::Array(info) => Some(info.zarr_format),
                    _ => None,
                })
                .unwrap_or(h.zarr_format);
            for &index in &read.chunks {
                for key in chunk_keys(&read.key, index, zarr_format) {
                    match kept.get(key.as_str()) {
                        Some(entry) => {
                            let entry = match entry {
                                Entry::Inline(bytes) => Entry::Inline(bytes.clone()),
                                Entry::Range {
                                    url,
                                    offset,
                                    length,
                                } => Entry::Range {
                                    url: expand(url, templates),
                                    offset: *offset,
                                    length: *length,
                                },
                                Entry::WholeFile { url } => Entry::WholeFile {
                                    url: expand(url, templates),
                                },
                            };
                            wanted.entries.push((key, entry));
                        }
                        None if keep.dropped_in(directory_of(&key)) => wanted.refused.push((
                            key,
                            format!(
                                "the reference set has more than {MAX_KEPT} chunk entries that look one-dimensional, and this chunk's entry was not kept; not read, rather than shown as the fill value"
                            ),
                        )),
                        None => {}
                    }
                }
            }
        }
        wanted
    }

    /// The byte ranges to read from each target file, by expanded URL.
    pub fn target_ranges(&self) -> BTreeMap<String, Vec<Range<u64>>> {
        let mut out: BTreeMap<String, Vec<Range<u64>>> = BTreeMap::new();
        for (_, entry) in &self.entries {
            if let Entry::Range {
                url,
                offset,
                length,
            } = entry
            {
                let range = *offset..offset.saturating_add(*length);
                let ranges = out.entry(url.clone()).or_default();
                if !ranges.contains(&range) {
                    ranges.push(range);
                }
            }
        }
        out
    }
}

/// A target file, opened for ranged reads.
#[derive(Debug, Clone)]
pub struct Target {
    /// As the entries name it (templates expanded).
    pub url: String,
    /// Its store, guarded to exactly the planned ranges.
    pub store: Arc<dyn ObjectStore>,
    /// Its key in that store.
    pub key: Path,
}

/// What serves one key.
#[derive(Debug, Clone)]
enum Served {
    Bytes(Bytes),
    Range {
        target: Arc<Target>,
        range: Range<u64>,
    },
    Refused(String),
}

/// A reference set's keys as a read-only store (see the module docs).
#[derive(Debug)]
pub struct ReferenceStore {
    url: String,
    keys: HashMap<String, Served>,
}

/// Why the reference store could not serve a key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReferenceError(String);

fn refused(message: String) -> object_store::Error {
    object_store::Error::Generic {
        store: STORE_NAME,
        source: Box::new(ReferenceError(message)),
    }
}

impl ReferenceStore {
    /// The metadata documents of `references`, the `wanted` chunk entries,
    /// and the `targets` they point into (by expanded URL; `Err` says why a
    /// target could not be opened).
    pub fn new(
        references: &References,
        wanted: Wanted,
        targets: &HashMap<String, std::result::Result<Target, String>>,
    ) -> Self {
        let mut keys: HashMap<String, Served> = references
            .scanned
            .metadata
            .iter()
            .map(|(k, doc)| (k.clone(), Served::Bytes(Bytes::from(doc.clone()))))
            .collect();
        let opened: HashMap<&str, std::result::Result<Arc<Target>, &String>> = targets
            .iter()
            .map(|(url, t)| (url.as_str(), t.as_ref().map(|t| Arc::new(t.clone()))))
            .collect();
        for (key, entry) in wanted.entries {
            let served = match entry {
                Entry::Inline(bytes) => Served::Bytes(Bytes::from(bytes)),
                Entry::Range {
                    url,
                    offset,
                    length,
                } => match opened.get(url.as_str()) {
                    Some(Ok(target)) => Served::Range {
                        target: Arc::clone(target),
                        range: offset..offset.saturating_add(length),
                    },
                    Some(Err(why)) => Served::Refused(format!("its target {url}: {why}")),
                    None => Served::Refused(format!("its target {url} was not opened")),
                },
                Entry::WholeFile { url } => Served::Refused(format!(
                    "it refers to the whole file {url} (a [url] entry), whose size is unknown without asking; zarrscope reads only the byte ranges a reference set gives"
                )),
            };
            keys.insert(key, served);
        }
        for (key, why) in wanted.refused {
            keys.insert(key, Served::Refused(why));
        }
        Self {
            url: references.url.clone(),
            keys,
        }
    }

    fn not_found(location: &Path) -> object_store::Error {
        object_store::Error::NotFound {
            path: location.to_string(),
            source: Box::new(ReferenceError(
                "not in the reference set (a chunk left out reads as the fill value)".into(),
            )),
        }
    }

    fn meta(location: &Path, size: u64) -> ObjectMeta {
        ObjectMeta {
            location: location.clone(),
            last_modified: chrono::DateTime::<chrono::Utc>::default(),
            size,
            e_tag: None,
            version: None,
        }
    }

    /// One ranged GET of exactly `range` (or a part of it, which the guard
    /// refuses unless planned) of the target.
    async fn read_target(
        &self,
        location: &Path,
        target: &Target,
        range: Range<u64>,
        asked: Option<&GetRange>,
    ) -> Result<(Bytes, Range<u64>)> {
        let length = range.end - range.start;
        let within = match asked {
            None => 0..length,
            Some(r) => r
                .as_range(length)
                .map_err(|e| refused(format!("{location}: {e}")))?,
        };
        let absolute = range.start + within.start..range.start + within.end;
        let bytes = target
            .store
            .get_range(&target.key, absolute.clone())
            .await
            .map_err(|e| {
                // Never NotFound: zarrs would read a missing target as the
                // fill value.
                let what = format!(
                    "{location} points at bytes {}..{} of {}",
                    absolute.start, absolute.end, target.url
                );
                if matches!(e, object_store::Error::NotFound { .. }) {
                    refused(format!(
                        "{what}: missing (404); the reference set is stale, or its targets need other access flags (--endpoint-url, --profile, --anon)"
                    ))
                } else {
                    refused(format!("{what}: {e}"))
                }
            })?;
        if bytes.len() as u64 != absolute.end - absolute.start {
            return Err(refused(format!(
                "{location} points at bytes {}..{} of {}, which answered {} bytes: the file is shorter than the reference set says",
                absolute.start,
                absolute.end,
                target.url,
                bytes.len()
            )));
        }
        Ok((bytes, within))
    }
}

impl fmt::Display for ReferenceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReferenceStore({})", self.url)
    }
}

#[async_trait]
impl ObjectStore for ReferenceStore {
    async fn put_opts(&self, location: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        Err(read_only(location))
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        _: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        Err(read_only(location))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let served = self
            .keys
            .get(location.as_ref())
            .ok_or_else(|| Self::not_found(location))?;
        let (bytes, range, size) = match served {
            Served::Refused(why) => {
                return Err(refused(format!("{location} is not read: {why}")));
            }
            Served::Bytes(all) => {
                let size = all.len() as u64;
                if options.head {
                    (Bytes::new(), 0..0, size)
                } else {
                    let range = match &options.range {
                        None => 0..size,
                        Some(r) => r
                            .as_range(size)
                            .map_err(|e| refused(format!("{location}: {e}")))?,
                    };
                    let part = all.slice(to_usize(range.start)?..to_usize(range.end)?);
                    (part, range, size)
                }
            }
            Served::Range { target, range } => {
                let size = range.end - range.start;
                if options.head {
                    (Bytes::new(), 0..0, size)
                } else {
                    let (bytes, within) = self
                        .read_target(location, target, range.clone(), options.range.as_ref())
                        .await?;
                    (bytes, within, size)
                }
            }
        };
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream::once(async move { Ok(bytes) }).boxed()),
            meta: Self::meta(location, size),
            range,
            attributes: Default::default(),
            extensions: Default::default(),
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        locations.map(|location| Err(read_only(&location?))).boxed()
    }

    fn list(&self, _: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        stream::once(async { Err(not_listed()) }).boxed()
    }

    async fn list_with_delimiter(&self, _: Option<&Path>) -> Result<ListResult> {
        Err(not_listed())
    }

    async fn copy_opts(&self, _: &Path, to: &Path, _: CopyOptions) -> Result<()> {
        Err(read_only(to))
    }
}

/// `note` without object_store's "Generic ReferenceStore error: " (zarrs
/// passes store errors on as text).
pub fn plain_note(note: &str) -> String {
    note.replace(&format!("Generic {STORE_NAME} error: "), "")
}

fn to_usize(n: u64) -> Result<usize> {
    usize::try_from(n).map_err(|e| refused(e.to_string()))
}

fn read_only(location: &Path) -> object_store::Error {
    refused(format!(
        "refused to write {location}: a reference set is read-only here"
    ))
}

fn not_listed() -> object_store::Error {
    object_store::Error::NotImplemented {
        operation: "list".into(),
        implementer: STORE_NAME.into(),
    }
}

/// Whether `h` was read from a Parquet reference directory.
pub fn is_parquet(h: &Hierarchy) -> bool {
    h.source
        .as_deref()
        .is_some_and(|s| s.starts_with("kerchunk reference set (Parquet"))
}

/// The note on each 1-D coordinate of a Parquet reference set.
pub const PARQUET_NOTE: &str =
    "its values are in the Parquet data pages (refs.N.parq), which zarrscope does not read";

/// Note [`PARQUET_NOTE`] on every coordinate `show --coords` would read.
pub fn note_parquet(d: &mut Dataset) {
    for v in &mut d.coordinates {
        if v.shape.len() == 1 && v.shape[0] > 0 && v.error.is_none() {
            v.peek_note = Some(NotPeeked::Failed(PARQUET_NOTE.into()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::reference::model::{Compression, Format, Scanned};
    use crate::store::guard::{ByteBudget, Guard, Keys, Policy, Writes};
    use object_store::memory::InMemory;

    const DAY1: &str = "s3://zarrscope-refs/netcdf/day1.nc";

    fn references(kept: Vec<(String, Entry)>) -> References {
        References {
            url: "s3://b/refs.json".into(),
            format: Format::Json,
            compression: Compression::None,
            size: None,
            record_size: None,
            scanned: Scanned {
                version: 1,
                metadata: vec![("lat/.zarray".into(), b"{}".to_vec())],
                templates: vec![("u".into(), DAY1.into())],
                kept,
                ..Scanned::default()
            },
        }
    }

    #[tokio::test]
    async fn a_referenced_chunk_is_exactly_its_range_and_the_guard_refuses_anything_else() {
        let file: Vec<u8> = (0..=255u8).cycle().take(13_120).collect();
        let memory = InMemory::new();
        let key = Path::from("netcdf/day1.nc");
        memory
            .put(&key, PutPayload::from(file.clone()))
            .await
            .unwrap();
        let guarded: Arc<dyn ObjectStore> = Arc::new(Guard::new(
            memory,
            ByteBudget::new(1 << 20),
            Policy {
                keys: Keys::Ranges {
                    what: TARGET_WHAT,
                    ranges: vec![("netcdf/day1.nc".into(), 13_032..13_072)],
                },
                writes: Writes::None,
            },
        ));
        let refs = references(vec![
            (
                "lat/0".into(),
                Entry::Range {
                    url: "{{u}}".into(),
                    offset: 13_032,
                    length: 40,
                },
            ),
            (
                "lat/1".into(),
                Entry::WholeFile {
                    url: "{{u}}".into(),
                },
            ),
        ]);
        let plan = [PlannedRead {
            key: "lat".into(),
            chunks: vec![0, 1],
        }];
        let h = crate::source::reference::hierarchy(
            &refs.url,
            &[(
                "lat/.zarray".into(),
                br#"{"shape":[10],"chunks":[5],"dtype":"<f8","fill_value":null,"order":"C","filters":null,"compressor":null,"zarr_format":2}"#.to_vec(),
            )],
            refs.describe(),
        )
        .unwrap();
        let wanted = Wanted::new(&refs, &h, &plan, &CoordinateKeep::default());
        assert_eq!(
            wanted.target_ranges(),
            BTreeMap::from([(DAY1.to_string(), std::iter::once(13_032..13_072).collect())])
        );
        let targets = HashMap::from([(
            DAY1.to_string(),
            Ok(Target {
                url: DAY1.into(),
                store: Arc::clone(&guarded),
                key: key.clone(),
            }),
        )]);
        let store = ReferenceStore::new(&refs, wanted, &targets);
        // The planned range, exactly.
        let got = store
            .get(&Path::from("lat/0"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&got[..], &file[13_032..13_072]);
        // A part of it is another range: the guard refuses it.
        let err = store
            .get_range(&Path::from("lat/0"), 0..8)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("refused to read"), "{err}");
        // So does the target asked directly for anything else.
        for other in [0..40, 13_032..13_073, 13_000..13_072] {
            assert!(guarded.get_range(&key, other).await.is_err());
        }
        assert!(guarded.get(&key).await.is_err());
        // A whole-file entry is refused with why, never read; a key the set
        // leaves out is not found (the fill value).
        let err = store
            .get(&Path::from("lat/1"))
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole file"), "{err}");
        assert!(matches!(
            store.get(&Path::from("lat/2")).await,
            Err(object_store::Error::NotFound { .. })
        ));
        // The metadata documents are served.
        assert!(store.get(&Path::from("lat/.zarray")).await.is_ok());
    }

    #[tokio::test]
    async fn a_missing_target_is_an_error_never_the_fill_value() {
        let refs = references(vec![(
            "lat/0".into(),
            Entry::Range {
                url: "{{u}}".into(),
                offset: 0,
                length: 8,
            },
        )]);
        let guarded: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let wanted = Wanted {
            entries: vec![(
                "lat/0".into(),
                Entry::Range {
                    url: DAY1.into(),
                    offset: 0,
                    length: 8,
                },
            )],
            refused: vec![],
        };
        let targets = HashMap::from([(
            DAY1.to_string(),
            Ok(Target {
                url: DAY1.into(),
                store: guarded,
                key: Path::from("netcdf/day1.nc"),
            }),
        )]);
        let store = ReferenceStore::new(&refs, wanted, &targets);
        let err = store.get(&Path::from("lat/0")).await.unwrap_err();
        assert!(
            !matches!(err, object_store::Error::NotFound { .. }),
            "{err}"
        );
        assert!(err.to_string().contains(": missing (404)"), "{err}");
    }

    #[test]
    fn the_keep_predicate_keeps_one_dimensional_chunk_keys_up_to_the_cap() {
        assert!(looks_one_dimensional("lat/0"));
        assert!(looks_one_dimensional("g/time/c/12"));
        assert!(looks_one_dimensional("time/c.3"));
        assert!(!looks_one_dimensional("temp/0.0.0"));
        assert!(!looks_one_dimensional("lat/.zarray"));
        let keep = CoordinateKeep::new();
        keep.kept.store(MAX_KEPT, Ordering::Relaxed);
        assert!(!(keep.keep())("time/9"));
        assert!(keep.dropped_in("time"));
        assert!(!keep.dropped_in("lat"));
    }
}
