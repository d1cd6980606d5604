//! CF decoding as xarray's `open_zarr` does it (xarray 2025.10:
//! `conventions.decode_cf_variable` and the coders in `coding/variables.py`,
//! `coding/times.py`, `coding/strings.py`, and `backends/zarr.py` for fill
//! values): from a variable's stored type, attributes and Zarr fill value, the
//! dtype xarray gives, the steps that lead there and the stored values read
//! as missing. And CF time values decoded to dates. Pure: no I/O.

use std::fmt;

use base64::Engine;
use chrono::{Duration as TimeDelta, NaiveDate, NaiveDateTime};
use serde_json::{Map, Number, Value};

use crate::metadata::ArrayInfo;

/// A numpy dtype, spelled as `str(dtype)` spells it in xarray (native byte
/// order: xarray swaps non-native arrays on reading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    Bool,
    Int {
        signed: bool,
        bytes: u64,
    },
    Float(u64),
    Complex(u64),
    /// The unit in brackets; empty for a generic `datetime64`.
    DateTime(String),
    TimeDelta(String),
    /// Fixed-length bytes, `|S<n>`.
    Bytes(u64),
    /// Fixed-length text, `<U<n>` (n characters).
    Unicode(u64),
    /// Raw bytes, `|V<n>`.
    Void(u64),
    /// Python objects: variable-length text or bytes, or cftime dates.
    Object,
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = |name: &str, unit: &str| {
            if unit.is_empty() {
                name.to_string()
            } else {
                format!("{name}[{unit}]")
            }
        };
        match self {
            Dtype::Bool => f.write_str("bool"),
            Dtype::Int { signed, bytes } => {
                write!(f, "{}int{}", if *signed { "" } else { "u" }, bytes * 8)
            }
            Dtype::Float(bytes) => write!(f, "float{}", bytes * 8),
            Dtype::Complex(bytes) => write!(f, "complex{}", bytes * 8),
            Dtype::DateTime(u) => f.write_str(&unit("datetime64", u)),
            Dtype::TimeDelta(u) => f.write_str(&unit("timedelta64", u)),
            Dtype::Bytes(n) => write!(f, "|S{n}"),
            Dtype::Unicode(n) => write!(f, "<U{n}"),
            Dtype::Void(n) => write!(f, "|V{n}"),
            Dtype::Object => f.write_str("object"),
        }
    }
}

impl Dtype {
    /// numpy kind `i` or `u` (bool is not an integer to numpy).
    fn is_integer(&self) -> bool {
        matches!(self, Dtype::Int { .. })
    }

    /// Numbers, where a `NaN` fill value means "no fill".
    fn is_numeric(&self) -> bool {
        matches!(
            self,
            Dtype::Bool | Dtype::Int { .. } | Dtype::Float(_) | Dtype::Complex(_)
        )
    }

    /// `xarray.core.dtypes.maybe_promote`: a type that can hold NaN or NaT.
    fn promoted(&self) -> Dtype {
        match self {
            Dtype::Float(_) | Dtype::Complex(_) | Dtype::DateTime(_) | Dtype::TimeDelta(_) => {
                self.clone()
            }
            Dtype::Int { bytes, .. } if *bytes <= 2 => Dtype::Float(4),
            Dtype::Int { .. } => Dtype::Float(8),
            _ => Dtype::Object,
        }
    }
}

/// The text between `[` and `]` of `datetime64[ns]` or `<M8[ns]`.
fn bracketed(text: &str) -> String {
    text.split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map_or_else(String::new, |(unit, _)| unit.to_string())
}

/// The numpy dtype zarr-python hands xarray for an array's stored type;
/// `None` for types numpy has no name for (structured, bfloat16, ...).
pub fn stored_dtype(info: &ArrayInfo) -> Option<Dtype> {
    let dt = &info.data_type;
    let size = dt.itemsize;
    let int = |signed: bool| {
        size.map(|bytes| Dtype::Int {
            signed,
            bytes: bytes.min(8),
        })
    };
    match dt.v3_name.as_deref() {
        Some("bool") => Some(Dtype::Bool),
        Some("int8" | "int16" | "int32" | "int64") => int(true),
        Some("uint8" | "uint16" | "uint32" | "uint64") => int(false),
        Some("float16" | "float32" | "float64") => size.map(Dtype::Float),
        Some("complex64" | "complex128") => size.map(Dtype::Complex),
        Some("numpy.datetime64") => Some(Dtype::DateTime(bracketed(&dt.display))),
        Some("numpy.timedelta64") => Some(Dtype::TimeDelta(bracketed(&dt.display))),
        Some("null_terminated_bytes") => size.map(Dtype::Bytes),
        Some("fixed_length_utf32") => size.map(|n| Dtype::Unicode(n / 4)),
        Some("raw_bytes" | "fixed_length_bytes") => size.map(Dtype::Void),
        // zarr-python's variable-length strings (numpy StringDType, which
        // xarray turns into objects) and bytes.
        Some("string" | "bytes") => Some(Dtype::Object),
        Some(_) => None,
        // A v2 `|O` without a known object codec is still an object array.
        None => info
            .dtype
            .as_str()
            .filter(|t| t.trim_start_matches(['<', '>', '|', '=']).starts_with('O'))
            .map(|_| Dtype::Object),
    }
}

/// How xarray decodes a datetime or timedelta variable.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeDecoding {
    /// `<unit> since <reference>` in `calendar`.
    Datetime { units: String, calendar: String },
    /// A duration in `units` (`hours`, ...).
    Timedelta { units: String },
}

/// What xarray makes of one variable.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decoding {
    /// xarray's dtype; `None` when the stored type is unknown.
    pub dtype: Option<Dtype>,
    /// What changes the stored values, in the order xarray applies it.
    pub steps: Vec<String>,
    /// The fill value xarray reads: in Zarr v2 the array's `fill_value`, in
    /// v3 the `_FillValue` attribute (floats decoded from base64); else
    /// `missing_value`.
    pub fill: Option<Value>,
    /// Stored values that decode to NaN (NaT for times).
    pub masked: Vec<Value>,
    pub time: Option<TimeDecoding>,
}

/// The spelling of NaN in zarrscope's JSON (as Zarr writes it).
fn nan() -> Value {
    Value::String("NaN".into())
}

/// `pd.isnull` of a fill value read for an array of type `dtype`. Bare `NaN`
/// in attributes is read as the text `"NaN"`.
fn is_null(v: &Value, dtype: &Dtype) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => dtype.is_numeric() && s.eq_ignore_ascii_case("nan"),
        _ => false,
    }
}

/// A v2 `.zarray` `fill_value` as zarr-python reads it: bytes are stored
/// base64, floats may be spelled `"NaN"`.
fn zarr_v2_fill(stored: &Value, dtype: &Dtype) -> Value {
    match (stored, dtype) {
        (Value::String(text), Dtype::Bytes(_) | Dtype::Void(_)) => {
            match base64::engine::general_purpose::STANDARD.decode(text) {
                Ok(bytes) => Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                Err(_) => stored.clone(),
            }
        }
        _ => stored.clone(),
    }
}

/// A Zarr v3 `_FillValue` attribute as xarray's `FillValueCoder.decode`
/// reads it: floats are the base64 of a little-endian float64.
fn v3_fill_attribute(stored: &Value, dtype: &Dtype) -> Value {
    match (stored, dtype) {
        (Value::String(text), Dtype::Float(_) | Dtype::Complex(_)) => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(text);
            match bytes
                .ok()
                .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            {
                Some(b) => float_value(f64::from_le_bytes(b)),
                None => stored.clone(),
            }
        }
        _ => stored.clone(),
    }
}

/// A float as zarrscope's JSON spells it (`"NaN"`, `"Infinity"`).
pub fn float_value(x: f64) -> Value {
    if x.is_nan() {
        nan()
    } else if x.is_infinite() {
        Value::String(if x > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else {
        Number::from_f64(x).map_or_else(nan, Value::Number)
    }
}

/// What `_is_time_like` says of `units`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TimeLike {
    Datetime,
    Timedelta,
}

/// xarray's `TIME_UNITS`: the only units a timedelta is decoded from.
const TIME_UNITS: [&str; 7] = [
    "days",
    "hours",
    "minutes",
    "seconds",
    "milliseconds",
    "microseconds",
    "nanoseconds",
];

fn time_like(units: Option<&str>) -> Option<TimeLike> {
    let units = units?;
    if units.contains("since") {
        // Any `<something> since <something>` (`_unpack_netcdf_time_units`).
        let (unit, reference) = units.split_once(" since ")?;
        (!unit.is_empty() && !reference.is_empty()).then_some(TimeLike::Datetime)
    } else {
        TIME_UNITS.contains(&units).then_some(TimeLike::Timedelta)
    }
}

/// The type of a JSON attribute as numpy sees the Python value.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PyType {
    Float,
    Int,
    Other,
}

fn py_type(v: &Value) -> PyType {
    match v {
        Value::Number(n) if n.is_f64() => PyType::Float,
        Value::Number(_) => PyType::Int,
        // Bare NaN/Infinity in attributes are floats.
        Value::String(s)
            if ["nan", "infinity", "-infinity"].contains(&s.to_lowercase().as_str()) =>
        {
            PyType::Float
        }
        _ => PyType::Other,
    }
}

/// `_choose_float_dtype`: the float type packed values unpack to. JSON
/// numbers with a fraction are Python floats, so numpy `float64`; whole
/// numbers are Python ints (`int64`). `None` for a scale factor numpy would
/// not multiply by.
fn unpacked_dtype(dtype: &Dtype, attrs: &Map<String, Value>) -> Option<Dtype> {
    let present = |key: &str| attrs.get(key).filter(|v| !v.is_null()).map(py_type);
    match (present("scale_factor"), present("add_offset")) {
        // Both float64 (int32 is upcast too), or any offset: float64.
        (_, Some(_)) | (Some(PyType::Float), None) => Some(Dtype::Float(8)),
        (Some(PyType::Int), None) => Some(Dtype::Int {
            signed: true,
            bytes: 8,
        }),
        (Some(PyType::Other), None) => None,
        (None, None) => Some(match dtype {
            Dtype::Float(b) if *b <= 4 => Dtype::Float(4),
            Dtype::Int { bytes, .. } if *bytes <= 2 => Dtype::Float(4),
            _ => Dtype::Float(8),
        }),
    }
}

fn number_text(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A fill value in running text: numbers bare, text quoted.
pub fn fill_text(v: &Value) -> String {
    match v {
        Value::String(s) if py_type(v) == PyType::Float => s.clone(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// `timedelta64[<unit>]` of a `dtype` attribute, as
/// `resolve_time_unit_from_attrs_dtype` narrows it to s, ms, us or ns.
fn timedelta_unit(attr: &str) -> String {
    let unit = bracketed(attr);
    let unit = unit.trim_start_matches(|c: char| c.is_ascii_digit());
    match unit {
        "s" | "ms" | "us" | "ns" => unit.to_string(),
        "ps" | "fs" | "as" => "ns".into(),
        "m" | "h" | "D" | "W" | "M" | "Y" => "s".into(),
        _ => "ns".into(),
    }
}

/// What `xr.open_zarr` makes of an array of stored type `info` with
/// attributes `attrs`, with default options (mask_and_scale, decode_times,
/// decode_timedelta all on; cftime for non-standard calendars).
pub fn decode(info: &ArrayInfo, attrs: &Map<String, Value>) -> Decoding {
    let Some(stored) = stored_dtype(info) else {
        return Decoding {
            fill: attrs
                .get("_FillValue")
                .or_else(|| attrs.get("missing_value"))
                .cloned(),
            ..Decoding::default()
        };
    };
    // Zarr v2: xarray masks with the array's fill_value (an `_FillValue`
    // attribute counts only when there is none); v3: only the attribute.
    let fill_value = if info.zarr_format == 2 && !info.fill_value.is_null() {
        Some(zarr_v2_fill(&info.fill_value, &stored))
    } else if info.zarr_format == 2 {
        attrs.get("_FillValue").cloned()
    } else {
        attrs
            .get("_FillValue")
            .map(|v| v3_fill_attribute(v, &stored))
    };
    let fill = fill_value
        .clone()
        .or_else(|| attrs.get("missing_value").cloned());
    // Stored datetimes and timedeltas pass through untouched.
    if matches!(stored, Dtype::DateTime(_) | Dtype::TimeDelta(_)) {
        return Decoding {
            dtype: Some(stored),
            fill,
            ..Decoding::default()
        };
    }
    let mut dtype = stored;
    let mut steps = Vec::new();
    let text = |key: &str| attrs.get(key).and_then(Value::as_str);

    // Strings: bytes with an `_Encoding` become Python str objects.
    if matches!(dtype, Dtype::Bytes(_))
        && let Some(encoding) = attrs.get("_Encoding")
    {
        steps.push(format!("bytes decoded as {}", number_text(encoding)));
        dtype = Dtype::Object;
    }

    // Mask (CFMaskCoder): every non-null missing_value and _FillValue.
    let units = text("units");
    let time = time_like(units);
    let mut fill_present = false;
    let mut masked: Vec<Value> = Vec::new();
    for value in [attrs.get("missing_value").cloned(), fill_value]
        .into_iter()
        .flatten()
    {
        let values = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        let real: Vec<Value> = values.into_iter().filter(|v| !is_null(v, &dtype)).collect();
        // An integer variable's NaN fill is dropped (with a warning).
        if real.is_empty() && dtype.is_integer() {
            continue;
        }
        fill_present = true;
        for v in real {
            if !masked.contains(&v) {
                masked.push(v);
            }
        }
    }
    if let (Some(flag), Dtype::Int { signed, bytes }) = (text("_Unsigned"), &dtype) {
        let (signed, bytes) = (*signed, *bytes);
        let flip = (signed && flag == "true") || (!signed && flag == "false");
        if flip {
            dtype = Dtype::Int {
                signed: !signed,
                bytes,
            };
            steps.push(format!("_Unsigned {flag}"));
            masked = masked
                .iter()
                .map(|v| reinterpret(v, signed, bytes))
                .collect();
        }
    }
    let packed = attrs.contains_key("scale_factor") || attrs.contains_key("add_offset");
    if !masked.is_empty() {
        let to = if time.is_some() { "NaT" } else { "NaN" };
        let list: Vec<String> = masked.iter().map(fill_text).collect();
        steps.push(format!("fill {} → {to}", list.join(", ")));
        dtype = if packed {
            match unpacked_dtype(&dtype, attrs) {
                Some(d) => d,
                None => return unknown(steps, fill, masked),
            }
        } else if time.is_some() && dtype.is_integer() {
            Dtype::Int {
                signed: true,
                bytes: 8,
            }
        } else {
            dtype.promoted()
        };
    }

    // Unpack (CFScaleOffsetCoder).
    if packed {
        if !fill_present || time.is_some() {
            match unpacked_dtype(&dtype, attrs) {
                Some(d) => dtype = d,
                None => return unknown(steps, fill, masked),
            }
        }
        let mut how = Vec::new();
        for key in ["scale_factor", "add_offset"] {
            if let Some(v) = attrs.get(key) {
                how.push(format!("{key} {}", number_text(v)));
            }
        }
        steps.push(how.join(", "));
    }

    // Times: a duration in TIME_UNITS, or `<unit> since <date>`.
    let mut decoded_time = None;
    if let Some(units) = units {
        if TIME_UNITS.contains(&units) {
            let unit = text("dtype")
                .filter(|d| d.starts_with("timedelta64"))
                .map_or_else(|| "ns".to_string(), timedelta_unit);
            dtype = Dtype::TimeDelta(unit);
            steps.push(format!("timedelta in {units}"));
            decoded_time = Some(TimeDecoding::Timedelta {
                units: units.to_string(),
            });
        } else if units.contains("since") {
            let calendar = text("calendar").unwrap_or("standard").to_string();
            if is_standard_calendar(&calendar) {
                dtype = Dtype::DateTime("ns".into());
                steps.push(format!("{units}, {calendar} calendar"));
            } else {
                dtype = Dtype::Object;
                steps.push(format!("{units}, {calendar} calendar (cftime dates)"));
            }
            decoded_time = Some(TimeDecoding::Datetime {
                units: units.to_string(),
                calendar,
            });
        }
    }

    // Booleans: xarray writes them as int8 with `dtype: "bool"`.
    if text("dtype") == Some("bool") {
        dtype = Dtype::Bool;
        steps.push("bool (dtype attribute)".into());
    }

    Decoding {
        dtype: Some(dtype),
        steps,
        fill,
        masked,
        time: decoded_time,
    }
}

fn unknown(steps: Vec<String>, fill: Option<Value>, masked: Vec<Value>) -> Decoding {
    Decoding {
        dtype: None,
        steps,
        fill,
        masked,
        time: None,
    }
}

/// An integer fill value read as the other signedness of `bytes` bytes, as
/// `_Unsigned` makes xarray read it.
fn reinterpret(v: &Value, to_unsigned: bool, bytes: u64) -> Value {
    let Some(x) = v
        .as_i64()
        .map(i128::from)
        .or_else(|| v.as_u64().map(i128::from))
    else {
        return v.clone();
    };
    let bits = u32::try_from(bytes * 8).unwrap_or(64).min(64);
    let modulus = 1i128 << bits;
    let y = if to_unsigned && x < 0 {
        x + modulus
    } else if !to_unsigned && x >= modulus / 2 {
        x - modulus
    } else {
        x
    };
    i64::try_from(y)
        .map(Value::from)
        .or_else(|_| u64::try_from(y).map(Value::from))
        .unwrap_or_else(|_| v.clone())
}

/// The calendars xarray decodes with numpy (`_STANDARD_CALENDARS`).
pub fn is_standard_calendar(calendar: &str) -> bool {
    matches!(
        calendar.to_ascii_lowercase().as_str(),
        "standard" | "gregorian" | "proleptic_gregorian"
    )
}

/// Seconds in one CF time unit (the names xarray and cftime accept).
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit.trim().to_ascii_lowercase().as_str() {
        "days" | "day" | "d" => 86_400.0,
        "hours" | "hour" | "hr" | "h" => 3_600.0,
        "minutes" | "minute" | "min" => 60.0,
        "seconds" | "second" | "sec" | "s" => 1.0,
        "milliseconds" | "millisecond" | "ms" => 1e-3,
        "microseconds" | "microsecond" | "us" => 1e-6,
        "nanoseconds" | "ns" => 1e-9,
        _ => return None,
    })
}

/// The reference date of CF time units, in UTC, as pandas reads it:
/// `2000-1-1`, `1970-01-01T00:00:00+00:00`, `1979-02-01 01:00:00 UTC`,
/// `2000-01-01 00:00:00.5Z`, `2000-01-01T06:00-05:00`.
pub fn reference_time(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    let (date, rest) = match text.find(['T', ' ']) {
        Some(i) => (&text[..i], text[i + 1..].trim()),
        None => (text, ""),
    };
    let mut parts = date.splitn(3, '-');
    let mut field = || parts.next().and_then(|p| p.parse::<u32>().ok());
    let (year, month, day) = (field()?, field()?, field()?);
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    // A zone: `Z`, `UTC`, or an offset `±HH[:MM]` after the time of day.
    let (clock, offset_minutes) = split_zone(rest)?;
    let mut hms = clock.splitn(3, ':');
    let mut next = || hms.next().map(str::trim).filter(|p| !p.is_empty());
    let hour: u32 = next().map_or(Some(0), |p| p.parse().ok())?;
    let minute: u32 = next().map_or(Some(0), |p| p.parse().ok())?;
    let seconds: f64 = next().map_or(Some(0.0), |p| p.parse().ok())?;
    if !(0.0..61.0).contains(&seconds) {
        return None;
    }
    let start = date.and_hms_opt(hour, minute, 0)?;
    #[allow(clippy::cast_possible_truncation)]
    let micros = (seconds * 1e6).round() as i64;
    start
        .checked_add_signed(TimeDelta::microseconds(micros))?
        .checked_sub_signed(TimeDelta::minutes(offset_minutes))
}

/// Split `12:00:00+05:30` into the clock time and the offset in minutes.
fn split_zone(rest: &str) -> Option<(&str, i64)> {
    let upper = rest.to_ascii_uppercase();
    for zone in ["UTC", "GMT", "Z"] {
        if upper.ends_with(zone) {
            return Some((rest[..rest.len() - zone.len()].trim(), 0));
        }
    }
    let Some(i) = rest.rfind(['+', '-']) else {
        return Some((rest, 0));
    };
    let (clock, zone) = (rest[..i].trim(), &rest[i..]);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let digits: String = zone[1..].chars().filter(char::is_ascii_digit).collect();
    let (h, m) = match digits.len() {
        1 | 2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    Some((clock, sign * (h * 60 + m)))
}

/// Decode a CF time value (`<unit> since <reference>`, standard calendars)
/// to the minute; `None` when it cannot be.
pub fn cf_date(value: f64, units: &str, calendar: Option<&str>) -> Option<String> {
    if !is_standard_calendar(calendar.unwrap_or("standard")) {
        return None;
    }
    let (unit, reference) = units.split_once(" since ")?;
    let seconds = unit_seconds(unit)?;
    let start = reference_time(reference)?;
    let offset = value * seconds;
    if !offset.is_finite() || offset.abs() > 1e13 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let millis = (offset * 1000.0).round() as i64;
    let date = start.checked_add_signed(TimeDelta::try_milliseconds(millis)?)?;
    Some(date.format("%Y-%m-%dT%H:%M").to_string())
}

/// A CF duration (`units` one of xarray's `TIME_UNITS`) as pandas prints a
/// timedelta: `0 days 06:00:00`, `-1 days 23:00:00`, `0 days 00:00:00.500000`.
pub fn cf_duration(value: f64, units: &str) -> Option<String> {
    let seconds = value * unit_seconds(units)?;
    if !seconds.is_finite() || seconds.abs() > 1e13 {
        return None;
    }
    #[allow(clippy::cast_possible_truncation)]
    let micros = (seconds * 1e6).round() as i64;
    let days = micros.div_euclid(86_400_000_000);
    let rest = micros.rem_euclid(86_400_000_000);
    let (h, m) = (rest / 3_600_000_000, rest / 60_000_000 % 60);
    let (s, frac) = (rest / 1_000_000 % 60, rest % 1_000_000);
    let mut text = format!("{days} days {h:02}:{m:02}:{s:02}");
    if frac != 0 {
        text.push_str(&format!(".{frac:06}"));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::dtype;
    use serde_json::json;

    fn info(zarr_format: u8, data_type: Value, fill_value: Value) -> ArrayInfo {
        ArrayInfo {
            zarr_format,
            shape: vec![4],
            chunks: Some(vec![4]),
            shards: None,
            data_type: if zarr_format == 2 {
                dtype::from_v2(&data_type, &[])
            } else {
                dtype::from_v3(&data_type)
            },
            dtype: data_type,
            fill_value,
            order: None,
            codecs: Vec::new(),
            dimension_names: None,
        }
    }

    fn decoded(zarr_format: u8, data_type: Value, fill: Value, attrs: Value) -> String {
        let d = decode(
            &info(zarr_format, data_type, fill),
            attrs.as_object().unwrap(),
        );
        d.dtype.map_or("?".into(), |d| d.to_string())
    }

    #[test]
    fn masking_promotes_integers_like_xarray() {
        // v2: the array's fill_value masks.
        assert_eq!(decoded(2, json!("<i4"), json!(-1), json!({})), "float64");
        assert_eq!(decoded(2, json!("<i2"), json!(-1), json!({})), "float32");
        assert_eq!(decoded(2, json!("<i4"), json!(null), json!({})), "int32");
        assert_eq!(decoded(2, json!("<f4"), json!("NaN"), json!({})), "float32");
        assert_eq!(decoded(2, json!("|S15"), json!(""), json!({})), "object");
        // v3: the fill_value is ignored, the attribute masks.
        assert_eq!(decoded(3, json!("int32"), json!(0), json!({})), "int32");
        assert_eq!(
            decoded(3, json!("uint8"), json!(0), json!({"_FillValue": 255})),
            "float32"
        );
        // Integer with a NaN fill: dropped.
        assert_eq!(
            decoded(3, json!("int64"), json!(0), json!({"_FillValue": "NaN"})),
            "int64"
        );
    }

    #[test]
    fn packing_bools_and_times() {
        let packed = json!({"scale_factor": 0.5, "_FillValue": -128});
        assert_eq!(decoded(3, json!("int8"), json!(0), packed), "float64");
        let int_scale = json!({"scale_factor": 2});
        assert_eq!(decoded(3, json!("int16"), json!(0), int_scale), "int64");
        let bool_attr = json!({"dtype": "bool"});
        assert_eq!(decoded(2, json!("|i1"), json!(null), bool_attr), "bool");
        let td = json!({"units": "hours", "dtype": "timedelta64[h]"});
        assert_eq!(decoded(3, json!("int64"), json!(0), td), "timedelta64[s]");
        let noleap = json!({"units": "days since 2000-01-01", "calendar": "noleap"});
        assert_eq!(decoded(3, json!("int64"), json!(0), noleap), "object");
        let dt = decode(
            &info(2, json!("<M8[ns]"), json!(null)),
            json!({}).as_object().unwrap(),
        );
        assert_eq!(dt.dtype, Some(Dtype::DateTime("ns".into())));
    }

    #[test]
    fn v3_float_fill_attribute_is_base64() {
        let d = decode(
            &info(3, json!("float64"), json!("NaN")),
            json!({"_FillValue": "AAAAAAAA+H8="}).as_object().unwrap(),
        );
        assert_eq!(d.fill, Some(json!("NaN")));
        assert!(d.masked.is_empty());
        let d = decode(
            &info(3, json!("float32"), json!("NaN")),
            json!({"_FillValue": "AAAAAICHw8A="}).as_object().unwrap(),
        );
        assert_eq!(d.fill, Some(json!(-9999.0)));
        assert_eq!(d.masked, vec![json!(-9999.0)]);
    }

    #[test]
    fn unsigned_flips_and_rereads_the_fill() {
        let d = decode(
            &info(2, json!("|i1"), json!(-1)),
            json!({"_Unsigned": "true"}).as_object().unwrap(),
        );
        assert_eq!(d.masked, vec![json!(255)]);
        assert_eq!(d.dtype, Some(Dtype::Float(4)));
    }

    #[test]
    fn reference_dates_with_zones() {
        let at = |s: &str| reference_time(s).map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string());
        assert_eq!(
            at("1970-01-01T00:00:00+00:00").as_deref(),
            Some("1970-01-01T00:00:00")
        );
        assert_eq!(
            at("2000-01-01T06:00-05:00").as_deref(),
            Some("2000-01-01T11:00:00")
        );
        assert_eq!(
            at("1979-02-01 01:00:00 UTC").as_deref(),
            Some("1979-02-01T01:00:00")
        );
        assert_eq!(at("1-1-1").as_deref(), Some("0001-01-01T00:00:00"));
        assert_eq!(
            at("2000-01-01 12:30:00.5Z").as_deref(),
            Some("2000-01-01T12:30:00")
        );
        assert_eq!(at("not a date"), None);
        assert_eq!(at("2000-13-01"), None);
    }

    #[test]
    fn cf_durations_print_like_pandas() {
        assert_eq!(
            cf_duration(0.0, "hours").as_deref(),
            Some("0 days 00:00:00")
        );
        assert_eq!(
            cf_duration(24.0, "hours").as_deref(),
            Some("1 days 00:00:00")
        );
        assert_eq!(
            cf_duration(-60.0, "minutes").as_deref(),
            Some("-1 days 23:00:00")
        );
        assert_eq!(
            cf_duration(0.5, "seconds").as_deref(),
            Some("0 days 00:00:00.500000")
        );
        assert_eq!(cf_duration(1.0, "fortnights"), None);
    }

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
        assert_eq!(
            cf_date(60.0, "minutes since 1970-01-01T00:00:00+00:00", None).as_deref(),
            Some("1970-01-01T01:00")
        );
        assert_eq!(cf_date(1.0, "days since 2000-01-01", Some("noleap")), None);
        assert_eq!(cf_date(f64::NAN, "days since 2000-01-01", None), None);
    }
}
