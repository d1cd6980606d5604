//! `show --coords`: the only data zarrscope ever reads, and only when asked.
//! For each 1-D numeric coordinate, the first and the last value — decoded by
//! zarrs from the first and the last chunk only — through a guard that lets
//! through metadata and the chunks of exactly those arrays, under the byte
//! budget. A coordinate whose two chunks would not fit is skipped with a note
//! giving its size. CF times are decoded to dates.

use std::sync::Arc;

use chrono::{Duration as TimeDelta, NaiveDate, NaiveDateTime};
use object_store::prefix::PrefixStore;
use serde_json::{Value, json};
use zarrs::array::{Array, ArraySubset, ElementOwned};
use zarrs::config::MetadataRetrieveVersion;
use zarrs_object_store::AsyncObjectStore;

use crate::dataset::{Dataset, Peek, Variable};
use crate::hierarchy::Hierarchy;
use crate::render::size_text;
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
) -> Result<(T, T), String> {
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
                    .map_err(|e| e.to_string())
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
                        .map_err(|e| e.to_string())
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

/// Decode a CF time value (`<unit> since <reference>`, standard calendars).
pub fn cf_date(value: f64, units: &str, calendar: Option<&str>) -> Option<String> {
    if !matches!(
        calendar.unwrap_or("standard").to_ascii_lowercase().as_str(),
        "standard" | "gregorian" | "proleptic_gregorian"
    ) {
        return None;
    }
    let (unit, reference) = units.split_once(" since ")?;
    let seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "days" | "day" | "d" => 86_400.0,
        "hours" | "hour" | "hr" | "h" => 3_600.0,
        "minutes" | "minute" | "min" => 60.0,
        "seconds" | "second" | "sec" | "s" => 1.0,
        "milliseconds" | "millisecond" | "ms" => 1e-3,
        "microseconds" | "microsecond" | "us" => 1e-6,
        "nanoseconds" | "ns" => 1e-9,
        _ => return None,
    };
    let reference = reference
        .trim()
        .trim_end_matches('Z')
        .trim_end_matches(" UTC");
    let start = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(reference, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(reference, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    let offset = value * seconds;
    if !offset.is_finite() || offset.abs() > 1e13 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let millis = (offset * 1000.0).round() as i64;
    let date = start.checked_add_signed(TimeDelta::try_milliseconds(millis)?)?;
    Some(date.format("%Y-%m-%dT%H:%M").to_string())
}

/// Peek every 1-D numeric coordinate of `d` (a view of `h`).
pub async fn peek_coordinates(handle: &StoreHandle, h: &Hierarchy, d: &mut Dataset) {
    let store_key = |path: &str| {
        // Node paths are absolute within the store at `h.root_url`.
        let root_prefix = handle
            .location
            .prefix
            .strip_suffix(h.base.trim_start_matches('/'))
            .unwrap_or(&handle.location.prefix)
            .trim_end_matches('/')
            .to_string();
        let rel = path.trim_start_matches('/');
        if root_prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{root_prefix}/{rel}")
        }
    };
    let wanted: Vec<usize> = d
        .coordinates
        .iter()
        .enumerate()
        .filter(|(_, v)| v.shape.len() == 1 && v.shape[0] > 0 && v.error.is_none())
        .map(|(i, _)| i)
        .collect();
    // What is left of the budget after the metadata reads.
    let budget = handle.budget.max().saturating_sub(handle.budget.used());
    let mut planned: u128 = 0;
    let mut prefixes = Vec::new();
    for &i in &wanted {
        let v = &mut d.coordinates[i];
        let chunks = if v.nchunks.is_some_and(|n| n > 1) {
            2
        } else {
            1
        };
        let need = v.chunk_nbytes.map(|b| b * chunks);
        match need {
            Some(bytes) if planned + bytes <= u128::from(budget) => {
                planned += bytes;
                prefixes.push(store_key(&v.path));
            }
            Some(bytes) => {
                v.peek_note = Some(format!(
                    "not read: its {} chunk{} hold {} uncompressed, over the {} left of --max-bytes",
                    if chunks == 2 { "first and last" } else { "one" },
                    if chunks == 2 { "s" } else { "" },
                    size_text(bytes),
                    size_text(u128::from(budget))
                ));
            }
            None => v.peek_note = Some("not read: variable-length values".into()),
        }
    }
    let store = handle.guarded(Policy {
        keys: Keys::MetadataAndBelow(prefixes.clone()),
        writes: Writes::None,
    });
    let zarr_format = d.zarr_format;
    let jobs = d
        .coordinates
        .iter()
        .enumerate()
        .filter(|(_, v)| prefixes.contains(&store_key(&v.path)))
        .map(|(i, v)| {
            let key = store_key(&v.path);
            let store = Arc::clone(&store);
            let v = v.clone();
            async move { (i, peek_one(store, &key, &v, zarr_format).await) }
        })
        .collect::<Vec<_>>();
    for (i, result) in futures::future::join_all(jobs).await {
        let v = &mut d.coordinates[i];
        match result {
            Ok(peek) => v.peek = Some(peek),
            Err(e) => v.peek_note = Some(format!("not read: {}", handle.redact(&e))),
        }
    }
}

async fn peek_one(
    store: Arc<dyn object_store::ObjectStore>,
    key: &str,
    v: &Variable,
    zarr_format: u8,
) -> Result<Peek, String> {
    let prefix = crate::keys::path(key).map_err(|e| e.to_string())?;
    let storage = Arc::new(AsyncObjectStore::new(PrefixStore::new(store, prefix)));
    let version = if zarr_format == 2 {
        MetadataRetrieveVersion::V2
    } else {
        MetadataRetrieveVersion::V3
    };
    let array = Array::async_open_opt(storage, "/", &version)
        .await
        .map_err(|e| e.to_string())?;
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
        other => return Err(format!("values of type {other} are not shown")),
    };
    let (first_date, last_date) = match &v.cf.time_units {
        Some(units) => (
            cf_date(a, units, v.cf.calendar.as_deref()),
            cf_date(b, units, v.cf.calendar.as_deref()),
        ),
        None => (None, None),
    };
    Ok(Peek {
        first,
        last,
        first_date,
        last_date,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cf_dates() {
        assert_eq!(
            cf_date(0.0, "hours since 1979-02-01 01:00:00", Some("standard")).as_deref(),
            Some("1979-02-01T01:00")
        );
        assert_eq!(
            cf_date(367438.0, "hours since 1979-02-01 01:00:00", None).as_deref(),
            Some("2020-12-31T23:00")
        );
        assert_eq!(
            cf_date(1.5, "days since 2000-01-01", None).as_deref(),
            Some("2000-01-02T12:00")
        );
        assert_eq!(cf_date(1.0, "days since 2000-01-01", Some("noleap")), None);
        assert_eq!(cf_date(f64::NAN, "days since 2000-01-01", None), None);
    }
}
