//! The dataset view of a group (what `print(xr.open_zarr(url))` shows) and
//! the detail of one array (what `zarr.open(url)[name].info` shows), from
//! metadata alone. Pure: no I/O; the coordinate peek fills in values later.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cf;
use crate::hierarchy::{Hierarchy, Node};
use crate::metadata::codec::Codec;
use crate::metadata::{ArrayInfo, Invalid, NodeKind};
use crate::ome::{self, Multiscales};

/// A dimension of the group's variables.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    pub name: String,
    pub size: u64,
    /// Other sizes the same name has in some variables (a conflict xarray
    /// refuses), with those variables.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conflict {
    pub size: u64,
    pub variables: Vec<String>,
}

/// CF conventions read from a variable's attributes, and what xarray's
/// `open_zarr` decodes the variable to (see [`crate::cf`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cf {
    /// The dtype xarray gives the variable, spelled as numpy spells it
    /// (`float64`, `datetime64[ns]`, `<U5`, `object`); absent when the
    /// stored type is one numpy has no name for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded_dtype: Option<String>,
    /// How, when decoding changes the stored values, e.g.
    /// `fill -9999 → NaN, scale_factor 0.01, add_offset 0` or
    /// `hours since 1979-02-01 01:00:00, standard calendar`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub long_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_name: Option<String>,
    /// The fill value xarray reads: in Zarr v2 the array's `fill_value`, in
    /// v3 the `_FillValue` attribute (floats decoded from base64); else
    /// `missing_value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fill: Option<Value>,
    /// Stored values xarray reads as missing (NaN, or NaT for times).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calendar: Option<String>,
    /// The `units` of a CF time variable (`<unit> since <date>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_units: Option<String>,
    /// The `units` of a CF duration xarray reads as timedelta64 (`hours`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_units: Option<String>,
}

impl Cf {
    /// A stored time value as xarray shows it: a date to the minute, or a
    /// duration (`1 days 06:00:00`); `NaT` where xarray reads it as missing
    /// (a fill value, NaN, or numpy's NaT sentinel, the smallest int64);
    /// `None` for a value that is not a CF time or duration.
    pub fn decoded_time(&self, raw: f64) -> Option<String> {
        if self.time_units.is_none() && self.duration_units.is_none() {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let nat_sentinel = i64::MIN as f64;
        let masked = self.masked.iter().any(|m| m.as_f64() == Some(raw));
        if raw.is_nan() || raw == nat_sentinel || masked {
            return Some("NaT".into());
        }
        match (&self.time_units, &self.duration_units) {
            (Some(units), _) => cf::cf_date(raw, units, self.calendar.as_deref()),
            (None, Some(units)) => cf::cf_duration(raw, units),
            (None, None) => None,
        }
    }
}

/// First and last values of a 1-D coordinate, read with `--coords`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peek {
    pub first: Value,
    pub last: Value,
    /// For CF time: the decoded dates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_date: Option<String>,
}

/// Why a coordinate was not peeked. Shown, and in JSON written, as the text
/// [`crate::render::peek`] gives it (`not read: ...`).
#[derive(Debug, Clone, PartialEq)]
pub enum NotPeeked {
    /// Its first and last chunks (or its one chunk) would not fit what is
    /// left of the byte budget.
    OverBudget {
        chunks: u8,
        bytes: u128,
        budget_left: u64,
    },
    /// Variable-length values: no chunk size to plan with.
    VariableLength,
    /// Reading failed; the reason, already redacted.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variable {
    pub name: String,
    pub path: String,
    pub dims: Vec<String>,
    pub shape: Vec<u64>,
    pub chunks: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<u64>>,
    /// Number of shards (objects) of a sharded array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nshards: Option<u128>,
    /// Uncompressed bytes of one shard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_nbytes: Option<u128>,
    /// As zarrscope shows it (`int32`, `|S15`, `datetime64[ns]`, ...).
    pub dtype: String,
    /// Logical bytes; `null` for variable-length types or beyond 128 bits.
    pub nbytes: Option<u128>,
    pub nchunks: Option<u128>,
    /// Uncompressed bytes of one (inner) chunk.
    pub chunk_nbytes: Option<u128>,
    pub cf: Cf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peek: Option<Peek>,
    /// Why the coordinate was not peeked (e.g. too large).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peek_note: Option<NotPeeked>,
    #[serde(skip)]
    pub attributes: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubGroup {
    pub path: String,
    pub variables: usize,
    pub groups: usize,
    pub nbytes: Option<u128>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    pub url: String,
    pub root: String,
    pub path: String,
    pub zarr_format: u8,
    pub dimensions: Vec<Dimension>,
    pub coordinates: Vec<Variable>,
    pub data_variables: Vec<Variable>,
    pub attributes: Map<String, Value>,
    pub groups: Vec<SubGroup>,
    /// Logical bytes of every array in this group and below.
    pub nbytes: Option<u128>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiscales: Option<Multiscales>,
}

fn text_attr(attrs: &Map<String, Value>, key: &str) -> Option<String> {
    match attrs.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// CF facts from attributes, for an array of stored type `info`.
pub fn cf_of(info: Option<&ArrayInfo>, attrs: &Map<String, Value>) -> Cf {
    let mut cf = Cf {
        units: text_attr(attrs, "units"),
        long_name: text_attr(attrs, "long_name"),
        standard_name: text_attr(attrs, "standard_name"),
        calendar: text_attr(attrs, "calendar"),
        ..Cf::default()
    };
    let Some(info) = info else {
        cf.fill = attrs
            .get("_FillValue")
            .or_else(|| attrs.get("missing_value"))
            .cloned();
        return cf;
    };
    let decoded = cf::decode(info, attrs);
    cf.decoded_dtype = decoded.dtype.map(|d| d.to_string());
    cf.decoding = (!decoded.steps.is_empty()).then(|| decoded.steps.join(", "));
    cf.fill = decoded.fill;
    cf.masked = decoded.masked;
    match decoded.time {
        Some(cf::TimeDecoding::Datetime { units, .. }) => cf.time_units = Some(units),
        Some(cf::TimeDecoding::Timedelta { units }) => cf.duration_units = Some(units),
        None => {}
    }
    cf
}

/// Dimension names of an array: stored ones, else `dim_0`, `dim_1`, ... as
/// xarray names them.
fn dim_names(info: &ArrayInfo) -> Vec<String> {
    (0..info.shape.len())
        .map(|i| {
            info.dimension_names
                .as_ref()
                .filter(|names| names.len() == info.shape.len())
                .and_then(|names| names[i].clone())
                .unwrap_or_else(|| format!("dim_{i}"))
        })
        .collect()
}

pub fn chunk_nbytes(info: &ArrayInfo) -> Option<u128> {
    block_nbytes(info, info.chunks.as_ref()?)
}

/// Uncompressed bytes of one block (chunk or shard) of shape `block`.
fn block_nbytes(info: &ArrayInfo, block: &[u64]) -> Option<u128> {
    let itemsize = u128::from(info.data_type.itemsize?);
    block
        .iter()
        .try_fold(itemsize, |n, &c| n.checked_mul(u128::from(c)))
}

/// Blocks of shape `block` per dimension (`ceil(shape / block)`); `None`
/// when the ranks differ.
fn block_grid(shape: &[u64], block: &[u64]) -> Option<Vec<u64>> {
    (block.len() == shape.len()).then(|| {
        shape
            .iter()
            .zip(block)
            .map(|(&s, &b)| s.div_ceil(b.max(1)))
            .collect()
    })
}

fn grid_count(grid: &[u64]) -> Option<u128> {
    grid.iter()
        .try_fold(1u128, |n, &g| n.checked_mul(u128::from(g)))
}

/// Number of shards and bytes per shard of a sharded array.
fn shard_counts(info: &ArrayInfo) -> (Option<u128>, Option<u128>) {
    match &info.shards {
        Some(shards) => (
            block_grid(&info.shape, shards).and_then(|g| grid_count(&g)),
            block_nbytes(info, shards),
        ),
        None => (None, None),
    }
}

fn variable(node: &Node) -> Variable {
    // What any node has; arrays fill in the rest.
    let bare = Variable {
        name: node.name().to_string(),
        path: node.path.clone(),
        dims: Vec::new(),
        shape: Vec::new(),
        chunks: None,
        shards: None,
        nshards: None,
        shard_nbytes: None,
        dtype: "?".into(),
        nbytes: None,
        nchunks: None,
        chunk_nbytes: None,
        cf: cf_of(None, &node.attributes),
        error: None,
        peek: None,
        peek_note: None,
        attributes: node.attributes.map().clone(),
    };
    match &node.kind {
        NodeKind::Array(a) => Variable {
            dims: dim_names(a),
            shape: a.shape.clone(),
            chunks: a.chunks.clone(),
            shards: a.shards.clone(),
            nshards: shard_counts(a).0,
            shard_nbytes: shard_counts(a).1,
            dtype: a.data_type.display.to_string(),
            nbytes: a.nbytes(),
            nchunks: a.nchunks(),
            chunk_nbytes: chunk_nbytes(a),
            cf: cf_of(Some(a), &node.attributes),
            ..bare
        },
        NodeKind::InvalidArray { reason } => Variable {
            error: Some(reason.clone()),
            ..bare
        },
        // Callers pass arrays only; kept total so no input can panic.
        NodeKind::Group => Variable {
            dtype: "group".into(),
            ..bare
        },
    }
}

/// Sum of the logical bytes of every array at or below node `i`; `None` if
/// any size is unknown or the sum overflows.
pub fn total_nbytes(h: &Hierarchy, i: usize) -> Option<u128> {
    let mut pending = vec![i];
    let mut total: u128 = 0;
    while let Some(n) = pending.pop() {
        match &h.nodes[n].kind {
            NodeKind::Array(a) => total = total.checked_add(a.nbytes()?)?,
            NodeKind::InvalidArray { .. } => return None,
            NodeKind::Group => {}
        }
        pending.extend_from_slice(h.children(n));
    }
    Some(total)
}

/// The dataset view of group `i` of `h`.
pub fn dataset(h: &Hierarchy, i: usize) -> Dataset {
    let group = &h.nodes[i];
    let mut variables: Vec<Variable> = Vec::new();
    let mut groups = Vec::new();
    for &c in h.children(i) {
        let child = &h.nodes[c];
        if child.is_array() {
            variables.push(variable(child));
        } else {
            let kids = h.children(c);
            groups.push(SubGroup {
                path: child.path.clone(),
                variables: kids.iter().filter(|&&k| h.nodes[k].is_array()).count(),
                groups: kids.iter().filter(|&&k| !h.nodes[k].is_array()).count(),
                nbytes: total_nbytes(h, c),
            });
        }
    }
    // An OME-Zarr image: its levels are named by the axes, and differ in
    // size by design; only the full-resolution level sizes the dimensions.
    let multiscales = ome::multiscales(h, i);
    let mut levels: Vec<String> = Vec::new();
    if let Some(m) = &multiscales {
        for image in &m.images {
            let axes: Vec<String> = image.axes.iter().map(|a| a.name.clone()).collect();
            for (k, level) in image.levels.iter().enumerate() {
                if let Some(v) = variables.iter_mut().find(|v| v.name == level.path) {
                    if v.dims.len() == axes.len() && v.dims.iter().all(|d| d.starts_with("dim_")) {
                        v.dims = axes.clone();
                    }
                    if k > 0 {
                        levels.push(v.name.clone());
                    }
                }
            }
        }
    }
    // Dimensions in order of first use; every size seen, by variable.
    let mut order: Vec<String> = Vec::new();
    let mut sizes: BTreeMap<String, BTreeMap<u64, Vec<String>>> = BTreeMap::new();
    // Names we made up (`dim_0`) are per array, as in xarray: they size a
    // dimension only if no stored name did, and never make a conflict.
    let made_up = |v: &Variable, d: &str| {
        d.starts_with("dim_")
            && !v.attributes.contains_key("_ARRAY_DIMENSIONS")
            && v.dims.iter().all(|x| x.starts_with("dim_"))
    };
    for v in variables.iter().filter(|v| !levels.contains(&v.name)) {
        for (d, &s) in v.dims.iter().zip(&v.shape) {
            if !sizes.contains_key(d) {
                order.push(d.clone());
            } else if made_up(v, d) {
                continue;
            }
            sizes
                .entry(d.clone())
                .or_default()
                .entry(s)
                .or_default()
                .push(v.name.clone());
        }
    }
    let dimensions = order
        .into_iter()
        .map(|name| {
            let by_size = sizes.remove(&name).unwrap_or_default();
            // The size most variables use is the dimension's size.
            let main = by_size
                .iter()
                .max_by_key(|(size, vars)| (vars.len(), std::cmp::Reverse(**size)))
                .map_or(0, |(size, _)| *size);
            let conflicts = by_size
                .into_iter()
                .filter(|(size, _)| *size != main)
                .map(|(size, variables)| Conflict { size, variables })
                .collect();
            Dimension {
                name,
                size: main,
                conflicts,
            }
        })
        .collect();
    // Coordinates: a 1-D variable named like its dimension (xarray's index
    // coordinates), and any name listed in a `coordinates` attribute.
    let mut named: Vec<String> = Vec::new();
    for v in &variables {
        if let Some(Value::String(list)) = v.attributes.get("coordinates") {
            named.extend(list.split_whitespace().map(str::to_string));
        }
    }
    if let Some(Value::String(list)) = group.attributes.get("coordinates") {
        named.extend(list.split_whitespace().map(str::to_string));
    }
    let (coordinates, data_variables): (Vec<Variable>, Vec<Variable>) = variables
        .into_iter()
        .partition(|v| is_index(v) || named.contains(&v.name));
    let mut coordinates = coordinates;
    // Index coordinates first (xarray marks them with `*`), then by name.
    coordinates.sort_by(|a, b| (!is_index(a), &a.name).cmp(&(!is_index(b), &b.name)));
    Dataset {
        url: h.url.clone(),
        root: h.root_url.clone(),
        path: group.path.clone(),
        zarr_format: h.zarr_format,
        dimensions,
        coordinates,
        data_variables,
        attributes: group.attributes.map().clone(),
        groups,
        nbytes: total_nbytes(h, i),
        multiscales,
    }
}

/// An index coordinate: 1-D, named like its dimension.
pub fn is_index(v: &Variable) -> bool {
    v.dims.len() == 1 && v.dims[0] == v.name
}

/// `zarr.open(url)[name].info`, and more.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArrayDetail {
    pub url: String,
    pub root: String,
    pub path: String,
    pub zarr_format: u8,
    /// Zarr v3 data type name, where one exists.
    pub data_type: Option<String>,
    /// `dtype` (v2 typestr) or `data_type` (v3), as stored.
    pub dtype: Value,
    pub shape: Vec<u64>,
    pub chunks: Option<Vec<u64>>,
    pub shards: Option<Vec<u64>>,
    /// Chunks per dimension.
    pub chunk_grid: Option<Vec<u64>>,
    pub nchunks: Option<u128>,
    /// Shards per dimension, for a sharded array.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard_grid: Option<Vec<u64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nshards: Option<u128>,
    pub order: Option<String>,
    pub fill_value: Value,
    pub codecs: Vec<Codec>,
    pub dimension_names: Vec<String>,
    pub nbytes: Option<u128>,
    pub chunk_nbytes: Option<u128>,
    pub shard_nbytes: Option<u128>,
    pub cf: Cf,
    pub attributes: Map<String, Value>,
}

pub fn array_detail(h: &Hierarchy, i: usize) -> Result<ArrayDetail, Invalid> {
    let node = &h.nodes[i];
    let a = match &node.kind {
        NodeKind::Array(a) => a,
        NodeKind::InvalidArray { reason } => {
            return Err(Invalid(format!(
                "{}: the array's metadata cannot be read: {reason}",
                node.path
            )));
        }
        NodeKind::Group => return Err(Invalid(format!("{} is a group", node.path))),
    };
    let chunk_grid = a.chunks.as_ref().and_then(|c| block_grid(&a.shape, c));
    let shard_grid = a.shards.as_ref().and_then(|s| block_grid(&a.shape, s));
    let (nshards, shard_nbytes) = shard_counts(a);
    Ok(ArrayDetail {
        url: h.url.clone(),
        root: h.root_url.clone(),
        path: node.path.clone(),
        zarr_format: a.zarr_format,
        data_type: a.data_type.v3_name.as_deref().map(str::to_string),
        dtype: a.dtype.clone(),
        shape: a.shape.clone(),
        chunks: a.chunks.clone(),
        shards: a.shards.clone(),
        chunk_grid,
        nchunks: a.nchunks(),
        shard_grid,
        nshards,
        order: a.order.clone(),
        fill_value: a.fill_value.clone(),
        codecs: a.codecs.clone(),
        dimension_names: dim_names(a),
        nbytes: a.nbytes(),
        chunk_nbytes: chunk_nbytes(a),
        shard_nbytes,
        cf: cf_of(Some(a), &node.attributes),
        attributes: node.attributes.map().clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn int_array(typestr: &str) -> ArrayInfo {
        ArrayInfo {
            zarr_format: 2,
            shape: vec![10, 4],
            chunks: Some(vec![3, 4]),
            shards: None,
            dtype: json!(typestr),
            data_type: crate::metadata::dtype::from_v2(&json!(typestr), &[]),
            fill_value: Value::Null,
            order: None,
            codecs: Vec::new(),
            dimension_names: None,
        }
    }

    #[test]
    fn cf_packing_and_time() {
        let attrs = json!({"scale_factor": 0.01, "add_offset": 0.0, "units": "m3 s-1"});
        let cf = cf_of(Some(&int_array("<i4")), attrs.as_object().unwrap());
        assert_eq!(cf.decoded_dtype.as_deref(), Some("float64"));
        assert_eq!(
            cf.decoding.as_deref(),
            Some("scale_factor 0.01, add_offset 0.0")
        );
        let t = json!({"units": "hours since 1979-02-01 01:00:00", "calendar": "standard"});
        let cf = cf_of(Some(&int_array("<i8")), t.as_object().unwrap());
        assert_eq!(cf.decoded_dtype.as_deref(), Some("datetime64[ns]"));
        assert_eq!(
            cf.time_units.as_deref(),
            Some("hours since 1979-02-01 01:00:00")
        );
        // Without a readable stored type there is nothing to decode.
        assert_eq!(cf_of(None, t.as_object().unwrap()).decoded_dtype, None);
    }

    #[test]
    fn time_values_and_nat() {
        let t = json!({"units": "hours since 2020-01-01", "_FillValue": -1});
        let cf = cf_of(Some(&int_array("<i4")), t.as_object().unwrap());
        assert_eq!(cf.decoded_time(6.0).as_deref(), Some("2020-01-01T06:00"));
        assert_eq!(cf.decoded_time(-1.0).as_deref(), Some("NaT"));
        // xarray v2 masks with the array's fill_value over the attribute.
        let mut info = int_array("<i8");
        info.fill_value = json!(-2);
        let cf = cf_of(Some(&info), t.as_object().unwrap());
        assert_eq!(cf.decoded_time(-1.0).as_deref(), Some("2019-12-31T23:00"));
        assert_eq!(cf.decoded_time(-2.0).as_deref(), Some("NaT"));
        #[allow(clippy::cast_precision_loss)]
        let sentinel = i64::MIN as f64;
        assert_eq!(cf.decoded_time(sentinel).as_deref(), Some("NaT"));
        assert_eq!(cf.decoded_time(f64::NAN).as_deref(), Some("NaT"));
        let lead = json!({"units": "hours", "dtype": "timedelta64[ns]"});
        let cf = cf_of(Some(&int_array("<i8")), lead.as_object().unwrap());
        assert_eq!(cf.decoded_time(30.0).as_deref(), Some("1 days 06:00:00"));
    }

    #[test]
    fn shards_counted() {
        let mut info = int_array("<i4");
        info.shards = Some(vec![6, 4]);
        assert_eq!(shard_counts(&info), (Some(2), Some(96)));
    }
}
