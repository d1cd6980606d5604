//! Data types: the Zarr v3 name of a v2 type string, bytes per element, and a
//! short form for display. Unknown types are not an error: they have no name
//! and no size, and are shown as stored.

use std::borrow::Cow;

use serde_json::Value;

/// Text that is usually one of the names below (no allocation per array).
pub type Name = Cow<'static, str>;

/// What we know about one element type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataTypeInfo {
    /// The Zarr v3 name where one exists (e.g. `float32`).
    pub v3_name: Option<Name>,
    /// Bytes per element; `None` for variable-length or unknown types.
    pub itemsize: Option<u64>,
    /// Short form for tree and table output.
    pub display: Name,
}

/// The Zarr v3 names of fixed-size numeric types.
const NUMERIC: [&str; 25] = [
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "bfloat16",
    "float8_e4m3",
    "float8_e5m2",
    "complex_float16",
    "complex_float32",
    "complex_float64",
    "string",
    "bytes",
    "numpy.datetime64",
    "numpy.timedelta64",
    "fixed_length_utf32",
];

fn known_name(text: &str) -> Name {
    NUMERIC
        .iter()
        .find(|n| **n == text)
        .map_or_else(|| Cow::Owned(text.to_string()), |n| Cow::Borrowed(*n))
}

/// A v2 dtype as stored: a typestr like `<f8`, or a structured list.
/// `filters` matters for object arrays, whose meaning comes from their codec.
pub fn from_v2(dtype: &Value, filter_ids: &[&str]) -> DataTypeInfo {
    match dtype {
        Value::String(typestr) => from_v2_typestr(typestr, filter_ids),
        Value::Array(fields) => {
            // Structured: sum of field sizes, each field `[name, typestr, shape?]`.
            let size = fields.iter().try_fold(0u64, |acc, field| {
                let typestr = field.get(1)?.as_str()?;
                let count = match field.get(2) {
                    Some(Value::Array(dims)) => dims
                        .iter()
                        .try_fold(1u64, |n, d| n.checked_mul(d.as_u64()?))?,
                    _ => 1,
                };
                let item = from_v2_typestr(typestr, &[]).itemsize?;
                acc.checked_add(item.checked_mul(count)?)
            });
            DataTypeInfo {
                v3_name: None,
                itemsize: size,
                display: format!("structured({} fields)", fields.len()).into(),
            }
        }
        other => unknown(other),
    }
}

fn from_v2_typestr(typestr: &str, filter_ids: &[&str]) -> DataTypeInfo {
    let body = typestr.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = body.chars();
    let kind = chars.next();
    let rest: &str = chars.as_str();
    let size: Option<u64> = rest.parse().ok();
    let numeric = |prefix: &str, size: u64| {
        let n = known_name(&format!("{prefix}{}", size * 8));
        DataTypeInfo {
            v3_name: Some(n.clone()),
            itemsize: Some(size),
            display: n,
        }
    };
    match (kind, size) {
        (Some('b'), Some(1)) => DataTypeInfo {
            v3_name: Some("bool".into()),
            itemsize: Some(1),
            display: "bool".into(),
        },
        (Some('i'), Some(s @ (1 | 2 | 4 | 8))) => numeric("int", s),
        (Some('u'), Some(s @ (1 | 2 | 4 | 8))) => numeric("uint", s),
        (Some('f'), Some(s @ (2 | 4 | 8))) => numeric("float", s),
        (Some('c'), Some(s @ (8 | 16))) => numeric("complex", s),
        (Some('M' | 'm'), _) if rest.starts_with('8') => DataTypeInfo {
            v3_name: Some(
                if kind == Some('M') {
                    "numpy.datetime64"
                } else {
                    "numpy.timedelta64"
                }
                .into(),
            ),
            itemsize: Some(8),
            display: typestr.to_string().into(),
        },
        (Some('S'), Some(n)) => DataTypeInfo {
            v3_name: Some("null_terminated_bytes".into()),
            itemsize: Some(n),
            display: typestr.to_string().into(),
        },
        (Some('U'), Some(n)) => DataTypeInfo {
            v3_name: Some("fixed_length_utf32".into()),
            itemsize: n.checked_mul(4),
            display: typestr.to_string().into(),
        },
        (Some('V'), Some(n)) => DataTypeInfo {
            v3_name: Some("raw_bytes".into()),
            itemsize: Some(n),
            display: typestr.to_string().into(),
        },
        (Some('O'), _) => {
            let v3_name: Option<Name> = if filter_ids.contains(&"vlen-utf8") {
                Some("string".into())
            } else if filter_ids.contains(&"vlen-bytes") {
                Some("bytes".into())
            } else {
                None
            };
            DataTypeInfo {
                display: v3_name
                    .as_ref()
                    .map_or_else(|| typestr.to_string(), |n| format!("{n} ({typestr})"))
                    .into(),
                v3_name,
                itemsize: None,
            }
        }
        _ => DataTypeInfo {
            v3_name: None,
            itemsize: None,
            display: typestr.to_string().into(),
        },
    }
}

/// A v3 `data_type` as stored: a name, or `{"name", "configuration"}`.
pub fn from_v3(data_type: &Value) -> DataTypeInfo {
    let (name, config) = match data_type {
        Value::String(name) => (name.as_str(), None),
        Value::Object(map) => match map.get("name").and_then(Value::as_str) {
            Some(name) => (name, map.get("configuration")),
            None => return unknown(data_type),
        },
        other => return unknown(other),
    };
    let config_u64 = |key: &str| config.and_then(|c| c.get(key)).and_then(Value::as_u64);
    let fixed = |size: u64| Some(size);
    let itemsize = match name {
        "bool" | "int8" | "uint8" | "float8_e4m3" | "float8_e5m2" => fixed(1),
        "int16" | "uint16" | "float16" | "bfloat16" => fixed(2),
        "int32" | "uint32" | "float32" | "complex_float16" => fixed(4),
        "int64" | "uint64" | "float64" | "complex64" | "complex_float32" => fixed(8),
        "complex128" | "complex_float64" => fixed(16),
        "numpy.datetime64" | "numpy.timedelta64" => fixed(8),
        "fixed_length_utf32" | "null_terminated_bytes" | "raw_bytes" | "fixed_length_bytes" => {
            config_u64("length_bytes")
        }
        // r<bits>: raw bits, a whole number of bytes.
        raw if raw.starts_with('r') => raw[1..]
            .parse::<u64>()
            .ok()
            .filter(|bits| bits % 8 == 0 && *bits > 0)
            .map(|bits| bits / 8),
        _ => None,
    };
    let display = match (
        name,
        config.and_then(|c| c.get("unit")).and_then(Value::as_str),
    ) {
        ("numpy.datetime64", Some(unit)) => format!("datetime64[{unit}]").into(),
        ("numpy.timedelta64", Some(unit)) => format!("timedelta64[{unit}]").into(),
        _ => known_name(name),
    };
    DataTypeInfo {
        v3_name: Some(known_name(name)),
        itemsize,
        display,
    }
}

fn unknown(stored: &Value) -> DataTypeInfo {
    DataTypeInfo {
        v3_name: None,
        itemsize: None,
        display: stored.to_string().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v2_numeric_typestrs() {
        let f8 = from_v2(&json!("<f8"), &[]);
        assert_eq!(
            (f8.v3_name.as_deref(), f8.itemsize),
            (Some("float64"), Some(8))
        );
        assert_eq!(from_v2(&json!("<i4"), &[]).display, "int32");
        assert_eq!(
            from_v2(&json!("|u1"), &[]).v3_name.as_deref(),
            Some("uint8")
        );
        assert_eq!(from_v2(&json!("|b1"), &[]).v3_name.as_deref(), Some("bool"));
        assert_eq!(from_v2(&json!("<c16"), &[]).itemsize, Some(16));
    }

    #[test]
    fn v2_other_typestrs() {
        let s = from_v2(&json!("|S15"), &[]);
        assert_eq!((s.itemsize, s.display.as_ref()), (Some(15), "|S15"));
        assert_eq!(from_v2(&json!("<U10"), &[]).itemsize, Some(40));
        let m = from_v2(&json!("<M8[ns]"), &[]);
        assert_eq!(
            (m.v3_name.as_deref(), m.itemsize),
            (Some("numpy.datetime64"), Some(8))
        );
        let o = from_v2(&json!("|O"), &["vlen-utf8"]);
        assert_eq!((o.v3_name.as_deref(), o.itemsize), (Some("string"), None));
        let weird = from_v2(&json!("<q9"), &[]);
        assert_eq!((weird.v3_name, weird.itemsize), (None, None));
    }

    #[test]
    fn v2_structured() {
        let t = from_v2(&json!([["x", "<f4"], ["y", "<i2", [3]]]), &[]);
        assert_eq!(t.itemsize, Some(10));
        assert_eq!(t.v3_name, None);
    }

    #[test]
    fn v3_names_and_sizes() {
        assert_eq!(from_v3(&json!("float32")).itemsize, Some(4));
        assert_eq!(from_v3(&json!("r24")).itemsize, Some(3));
        assert_eq!(from_v3(&json!("string")).itemsize, None);
        let dt = from_v3(
            &json!({"name": "numpy.datetime64", "configuration": {"unit": "ns", "scale_factor": 1}}),
        );
        assert_eq!(
            (dt.display.as_ref(), dt.itemsize),
            ("datetime64[ns]", Some(8))
        );
        let u =
            from_v3(&json!({"name": "fixed_length_utf32", "configuration": {"length_bytes": 16}}));
        assert_eq!(u.itemsize, Some(16));
        let unknown = from_v3(&json!("my.custom.type"));
        assert_eq!(
            (unknown.v3_name.as_deref(), unknown.itemsize),
            (Some("my.custom.type"), None)
        );
    }
}
