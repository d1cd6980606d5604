//! `show --coords`: the only data zarrscope ever reads, and only when asked.
//! For each 1-D numeric coordinate, the first and the last value — decoded by
//! zarrs from the first and the last chunk only — through a guard that lets
//! through metadata and the chunks of exactly those arrays, under the byte
//! budget. A coordinate whose two chunks would not fit is skipped with a note
//! giving its size. CF times are decoded to dates.
//!
//! The plan (which chunks, how large) is made from the metadata already read;
//! each array is opened with its own metadata document only if that agrees
//! with the plan, and its chunks are decompressed within the size that
//! metadata gives them ([`crate::decode`]). Either failing stops the command.

use std::sync::Arc;

use object_store::ObjectStoreExt;
use object_store::prefix::PrefixStore;
use serde_json::{Value, json};
use zarrs::array::{
    Array, ArrayError, ArrayMetadata, ArrayMetadataV2, ArrayMetadataV3, ArraySubset, ElementOwned,
};
use zarrs_object_store::AsyncObjectStore;

use crate::dataset::{Dataset, NotPeeked, Peek, Variable};
use crate::decode::{self, DecodeRefused};
use crate::error::Error;
use crate::hierarchy::Hierarchy;
use crate::metadata::json as lenient;
use crate::metadata::{ArrayInfo, Attributes, NodeKind, v2, v3};
use crate::render::text::cut_after;
use crate::store::StoreHandle;
use crate::store::guard::{Keys, Policy, Writes};

/// Default byte budget of `show --coords`.
pub const DEFAULT_COORDS_BUDGET: u64 = 16 * 1024 * 1024;

/// A number read from a coordinate, as JSON and as f64 (for dates).
trait Scalar: ElementOwned + Copy + Send + Sync + 'static {
    fn json(self) -> Value;
    fn float(self) -> f64;
}

macro_rules! integer_scalar {
    ($($t:ty),*) => {$(
        impl Scalar for $t {
            fn json(self) -> Value { json!(self) }
            #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
            fn float(self) -> f64 { self as f64 }
        }
    )*};
}
integer_scalar!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Scalar for f32 {
    fn json(self) -> Value {
        f64::from(self).float_json()
    }
    fn float(self) -> f64 {
        f64::from(self)
    }
}

impl Scalar for f64 {
    fn json(self) -> Value {
        self.float_json()
    }
    fn float(self) -> f64 {
        self
    }
}

trait FloatJson {
    fn float_json(self) -> Value;
}

impl FloatJson for f64 {
    /// JSON has no NaN or infinities: spell them as zarr does.
    fn float_json(self) -> Value {
        if self.is_nan() {
            json!("NaN")
        } else if self.is_infinite() {
            json!(if self > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            json!(self)
        }
    }
}

type Storage = AsyncObjectStore<PrefixStore<Arc<dyn object_store::ObjectStore>>>;

/// Why a coordinate was not peeked.
enum Failure {
    /// Shown next to the coordinate ("not read: ...").
    Note(String),
    /// The data or metadata is not what the plan was made from: the command
    /// fails rather than reading past what it planned.
    Refused(String),
}

impl From<String> for Failure {
    fn from(note: String) -> Self {
        Failure::Note(note)
    }
}

impl From<ArrayError> for Failure {
    fn from(err: ArrayError) -> Self {
        match DecodeRefused::from_array_error(&err) {
            Some(refused) => Failure::Refused(format!("a chunk was refused: {refused}")),
            None => Failure::Note(err.to_string()),
        }
    }
}

/// How to reach the first and last element.
#[derive(Clone, Copy)]
enum Reach {
    /// Whole chunks of this length (no HEAD, no partial reads).
    Chunks(u64),
    /// A sharded array: element subsets, read partially from the shards.
    Subsets,
}

/// The first and last element of a 1-D array of `n` elements.
async fn first_last<T: Scalar>(
    array: &Array<Storage>,
    n: u64,
    reach: Reach,
) -> Result<(T, T), Failure> {
    let none = || "no value".to_string();
    match reach {
        Reach::Chunks(chunk) => {
            let chunk = chunk.max(1);
            let last_chunk = (n - 1) / chunk;
            // Chunks are padded to full length: the last element sits at its
            // offset within the last chunk.
            let offset =
                usize::try_from((n - 1) - last_chunk * chunk).map_err(|e| e.to_string())?;
            let get = |index: u64| async move {
                array
                    .async_retrieve_chunk::<Vec<T>>(&[index])
                    .await
                    .map_err(Failure::from)
            };
            if last_chunk == 0 {
                let only = get(0).await?;
                return Ok((
                    *only.first().ok_or_else(none)?,
                    *only.get(offset).ok_or_else(none)?,
                ));
            }
            let (first, last) = futures::join!(get(0), get(last_chunk));
            Ok((
                *first?.first().ok_or_else(none)?,
                *last?.get(offset).ok_or_else(none)?,
            ))
        }
        Reach::Subsets => {
            let read = |range: std::ops::Range<u64>| {
                let subset = ArraySubset::new_with_ranges(&[range]);
                async move {
                    array
                        .async_retrieve_array_subset::<Vec<T>>(&subset)
                        .await
                        .map_err(Failure::from)
                }
            };
            let (first, last) = futures::join!(read(0..1), read(n - 1..n));
            Ok((
                *first?.first().ok_or_else(none)?,
                *last?.first().ok_or_else(none)?,
            ))
        }
    }
}

fn pair<T: Scalar>((a, b): (T, T)) -> (Value, Value, f64, f64) {
    (a.json(), b.json(), a.float(), b.float())
}

/// The chunks of one coordinate a read was planned for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRead {
    /// The array's key in the store it is read from.
    pub key: String,
    /// The chunk (or shard) indices holding its first and last element.
    pub chunks: Vec<u64>,
}

/// `path` (absolute in the hierarchy) as a key of a store whose keys start
/// with `root`.
fn store_key(root: &str, path: &str) -> String {
    let rel = path.trim_start_matches('/');
    if root.is_empty() {
        rel.to_string()
    } else {
        format!("{root}/{rel}")
    }
}

/// Peek every 1-D numeric coordinate of `d` (a view of `h`). A chunk that
/// decodes past what its metadata says it holds, or per-node metadata that
/// differs from the plan's, fails the command.
pub async fn peek_coordinates(
    handle: &StoreHandle,
    h: &Hierarchy,
    d: &mut Dataset,
) -> Result<(), Error> {
    // Node paths are absolute within the store at `h.root_url`.
    let root = handle
        .location
        .prefix
        .strip_suffix(h.base.trim_start_matches('/'))
        .unwrap_or(&handle.location.prefix)
        .trim_end_matches('/')
        .to_string();
    let plan = plan_coordinates(handle, d, &root);
    let store = handle.guarded(Policy {
        keys: Keys::OnlyAndBelow(
            crate::source::ZARR_KEYS,
            plan.iter().map(|p| p.key.clone()).collect(),
        ),
        writes: Writes::None,
    });
    let url_of = |key: &str| handle.location.url_of(key);
    peek_planned(handle, h, d, &root, &plan, store, &url_of).await
}

/// Which 1-D coordinates of `d` fit what is left of `handle`'s budget (the
/// others get a note), and the chunks to read for each, as keys under
/// `root`. Installs the decode bound.
pub fn plan_coordinates(handle: &StoreHandle, d: &mut Dataset, root: &str) -> Vec<PlannedRead> {
    let wanted: Vec<usize> = d
        .coordinates
        .iter()
        .enumerate()
        .filter(|(_, v)| v.shape.len() == 1 && v.shape[0] > 0 && v.error.is_none())
        .map(|(i, _)| i)
        .collect();
    // What is left of the budget after the metadata reads.
    let budget = handle.budget.max().saturating_sub(handle.budget.used());
    // Every chunk is decoded within what its metadata says it holds.
    decode::install();
    decode::set_unbounded_limit(budget);
    let mut planned: u128 = 0;
    let mut plan = Vec::new();
    for &i in &wanted {
        let v = &mut d.coordinates[i];
        let chunks: u8 = if v.nchunks.is_some_and(|n| n > 1) {
            2
        } else {
            1
        };
        let need = v.chunk_nbytes.map(|b| b * u128::from(chunks));
        match need {
            Some(bytes) if planned + bytes <= u128::from(budget) => {
                planned += bytes;
                // A sharded array is read from its shards.
                let along = v
                    .shards
                    .as_deref()
                    .or(v.chunks.as_deref())
                    .and_then(|c| c.first().copied())
                    .unwrap_or(1)
                    .max(1);
                let last = (v.shape[0] - 1) / along;
                let mut indices = vec![0];
                if last > 0 {
                    indices.push(last);
                }
                plan.push(PlannedRead {
                    key: store_key(root, &v.path),
                    chunks: indices,
                });
            }
            Some(bytes) => {
                v.peek_note = Some(NotPeeked::OverBudget {
                    chunks,
                    bytes,
                    budget_left: budget,
                });
            }
            None => v.peek_note = Some(NotPeeked::VariableLength),
        }
    }
    plan
}

/// Read the coordinates `plan` holds from `store` (keys under `root`);
/// `url_of` names a key for a refusal.
pub async fn peek_planned(
    handle: &StoreHandle,
    h: &Hierarchy,
    d: &mut Dataset,
    root: &str,
    plan: &[PlannedRead],
    store: Arc<dyn object_store::ObjectStore>,
    url_of: &dyn Fn(&str) -> String,
) -> Result<(), Error> {
    let planned_key = |key: &str| plan.iter().any(|p| p.key == key);
    let jobs = d
        .coordinates
        .iter()
        .enumerate()
        .filter(|(_, v)| planned_key(&store_key(root, &v.path)))
        .map(|(i, v)| {
            // The plan's own metadata of this coordinate.
            let planned =
                h.nodes
                    .iter()
                    .find(|n| n.path == v.path)
                    .and_then(|node| match &node.kind {
                        NodeKind::Array(info) => Some(Planned {
                            info,
                            attributes: &node.attributes,
                        }),
                        _ => None,
                    });
            let key = store_key(root, &v.path);
            let store = Arc::clone(&store);
            let v = v.clone();
            async move {
                let result = match planned {
                    Some(planned) => peek_one(store, &key, &v, planned).await,
                    None => Err(Failure::Note("no array metadata in the plan".into())),
                };
                (i, result)
            }
        })
        .collect::<Vec<_>>();
    let mut refused = None;
    for (i, result) in futures::future::join_all(jobs).await {
        let v = &mut d.coordinates[i];
        match result {
            Ok(peek) => v.peek = Some(peek),
            Err(Failure::Note(e)) => v.peek_note = Some(NotPeeked::Failed(handle.redact(&e))),
            Err(Failure::Refused(e)) => {
                let url = url_of(&store_key(root, &v.path));
                refused.get_or_insert((url, handle.redact(&e)));
            }
        }
    }
    match refused {
        None => Ok(()),
        Some((url, reason)) => Err(Error::new(format!(
            "refused to read the coordinate {url}: {reason}"
        ))
        .with_hint(format!(
            "the store's data or metadata is corrupt, stale or hostile; `{}` compares the consolidated metadata with every node's own, and `show` without --coords reads metadata only",
            handle.command(&format!("check {}", h.root_url))
        ))),
    }
}

/// What the plan knows about a coordinate array.
#[derive(Clone, Copy)]
struct Planned<'a> {
    info: &'a ArrayInfo,
    attributes: &'a Attributes,
}

/// The fields that decide what a chunk holds and how it decodes, where the
/// array's own metadata document differs from the plan's.
fn differences(planned: &ArrayInfo, read: &ArrayInfo) -> Vec<String> {
    let fields = |a: &ArrayInfo| {
        [
            ("shape", json!(a.shape)),
            ("chunks", json!(a.chunks)),
            ("shards", json!(a.shards)),
            ("data type", a.dtype.clone()),
            ("fill value", a.fill_value.clone()),
            ("order", json!(a.order)),
            ("codecs", json!(a.codecs)),
        ]
    };
    fields(read)
        .into_iter()
        .zip(fields(planned))
        .filter(|((_, r), (_, p))| r != p)
        .map(|((name, r), (_, p))| {
            let cut = |v: &Value| cut_after(&v.to_string(), 80);
            format!("{name} {} there, {} in the plan", cut(&r), cut(&p))
        })
        .collect()
}

/// The coordinate array at `key`, opened with its own metadata document only
/// if that document agrees with the plan: chunk sizes, and so every bound,
/// come from the metadata that was planned and budgeted.
async fn open_planned(
    store: Arc<dyn object_store::ObjectStore>,
    key: &str,
    planned: Planned<'_>,
) -> Result<Array<Storage>, Failure> {
    let prefix = crate::keys::path(key).map_err(|e| Failure::Note(e.to_string()))?;
    let prefixed = PrefixStore::new(store, prefix);
    let v2 = planned.info.zarr_format == 2;
    let name = if v2 { ".zarray" } else { "zarr.json" };
    let document = crate::keys::path(name).map_err(|e| Failure::Note(e.to_string()))?;
    let bytes = prefixed
        .get(&document)
        .await
        .map_err(|e| Failure::Note(e.to_string()))?
        .bytes()
        .await
        .map_err(|e| Failure::Note(e.to_string()))?;
    let read = if v2 {
        v2::parse_array(&bytes, planned.attributes)
    } else {
        v3::parse_array(&bytes)
    }
    .map_err(|e| Failure::Refused(format!("its {name} no longer reads: {e}")))?;
    let differences = differences(planned.info, &read);
    if !differences.is_empty() {
        return Err(Failure::Refused(format!(
            "its {name} differs from the metadata the read was planned from ({}); the consolidated metadata is stale or the store changed",
            differences.join("; ")
        )));
    }
    // The very bytes just compared, for zarrs.
    let value = lenient::parse(&bytes).map_err(|e| Failure::Note(format!("{name}: {e}")))?;
    let metadata = if v2 {
        serde_json::from_value::<ArrayMetadataV2>(value).map(ArrayMetadata::V2)
    } else {
        serde_json::from_value::<ArrayMetadataV3>(value).map(ArrayMetadata::V3)
    }
    .map_err(|e| Failure::Note(format!("{name}: {e}")))?;
    let storage = Arc::new(AsyncObjectStore::new(prefixed));
    Array::new_with_metadata(storage, "/", metadata).map_err(|e| Failure::Note(e.to_string()))
}

async fn peek_one(
    store: Arc<dyn object_store::ObjectStore>,
    key: &str,
    v: &Variable,
    planned: Planned<'_>,
) -> Result<Peek, Failure> {
    let array = open_planned(store, key, planned).await?;
    let n = v.shape[0];
    let reach = match (&v.shards, v.chunks.as_deref()) {
        (None, Some([chunk])) => Reach::Chunks(*chunk),
        _ => Reach::Subsets,
    };
    // zarrs names v2 types as `int32 / <i4`: the v3 name comes first.
    let full = array.data_type().to_string();
    let name = full.split(" / ").next().unwrap_or(&full);
    let (first, last, a, b) = match name {
        "int8" => pair(first_last::<i8>(&array, n, reach).await?),
        "int16" => pair(first_last::<i16>(&array, n, reach).await?),
        "int32" => pair(first_last::<i32>(&array, n, reach).await?),
        "int64" => pair(first_last::<i64>(&array, n, reach).await?),
        "uint8" => pair(first_last::<u8>(&array, n, reach).await?),
        "uint16" => pair(first_last::<u16>(&array, n, reach).await?),
        "uint32" => pair(first_last::<u32>(&array, n, reach).await?),
        "uint64" => pair(first_last::<u64>(&array, n, reach).await?),
        "float32" => pair(first_last::<f32>(&array, n, reach).await?),
        "float64" => pair(first_last::<f64>(&array, n, reach).await?),
        other => return Err(format!("values of type {other} are not shown").into()),
    };
    let (first_date, last_date) = (v.cf.decoded_time(a), v.cf.decoded_time(b));
    Ok(Peek {
        first,
        last,
        first_date,
        last_date,
    })
}
