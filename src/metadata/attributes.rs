//! A node's user attributes, kept as the JSON text they were read from and
//! parsed on first use.
//!
//! Attributes are most of a consolidated document (CF attributes, history,
//! long descriptions), yet `tree` shows none of them. Building a JSON value
//! for each one cost more than everything else in reading a document, and
//! several times its size in memory; a copy of the text costs one
//! allocation per node. The one attribute every reader needs,
//! `_ARRAY_DIMENSIONS`, is read from the text without parsing the rest.

use std::cell::RefCell;
use std::ops::Deref;
use std::sync::OnceLock;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::json::{Key, Members};

#[derive(Default)]
pub struct Attributes {
    /// The attributes object as stored (strict JSON); `None` when the node
    /// has none, or when built from a map.
    raw: Option<Box<RawValue>>,
    parsed: OnceLock<Map<String, Value>>,
}

impl Attributes {
    /// The attributes object `raw` (known to be valid JSON); `None` when it
    /// is not an object.
    pub fn from_raw(raw: &RawValue) -> Option<Self> {
        raw.get().trim_start().starts_with('{').then(|| Self {
            raw: Some(raw.to_owned()),
            parsed: OnceLock::new(),
        })
    }

    /// The attributes of a whole `.zattrs` document (lenient about bare
    /// `NaN`); `Err` names why it cannot be used.
    pub fn from_document(bytes: &[u8]) -> Result<Self, super::Invalid> {
        let raw = super::json::read_with(bytes, |b| serde_json::from_slice::<Box<RawValue>>(b))
            .map_err(|e| format!("not valid JSON at line {}, column {}", e.line, e.column))?;
        Self::from_raw(&raw).ok_or_else(|| super::Invalid("not a JSON object".to_string()))
    }

    pub fn from_map(map: Map<String, Value>) -> Self {
        Self {
            raw: None,
            parsed: OnceLock::from(map),
        }
    }

    /// The attributes as a map, parsed on first use. A value serde_json
    /// cannot hold (nesting deeper than 128 levels, a number beyond f64) is
    /// kept as its JSON text in a string rather than dropped.
    pub fn map(&self) -> &Map<String, Value> {
        self.parsed.get_or_init(|| match &self.raw {
            None => Map::new(),
            Some(raw) => {
                serde_json::from_str(raw.get()).unwrap_or_else(|_| match Members::of(raw) {
                    Members::Object(members) => members
                        .into_iter()
                        .map(|(key, value)| {
                            let parsed = serde_json::from_str(value.get())
                                .unwrap_or_else(|_| Value::String(value.get().to_string()));
                            (key.into_owned(), parsed)
                        })
                        .collect(),
                    Members::NotAnObject => Map::new(),
                })
            }
        })
    }

    /// `_ARRAY_DIMENSIONS` (xarray's dimension names for a v2 array):
    /// non-string entries are `None`; `None` when absent or not a list.
    pub fn array_dimensions(&self) -> Option<Vec<Option<String>>> {
        const KEY: &str = "_ARRAY_DIMENSIONS";
        let names = |list: &Value| -> Option<Vec<Option<String>>> {
            list.as_array().map(|names| {
                names
                    .iter()
                    .map(|n| n.as_str().map(str::to_string))
                    .collect()
            })
        };
        if let Some(map) = self.parsed.get() {
            return names(map.get(KEY)?);
        }
        let raw = self.raw.as_ref()?;
        if !raw.get().contains(KEY) {
            return None;
        }
        // Read the members in order and stop at the key (writers put it
        // first or near it): the rest of the attributes is not scanned.
        // Stopping early makes serde_json report the object unfinished, so
        // the value comes back through `found`, not the result.
        struct UpTo<'c> {
            found: &'c RefCell<Option<Value>>,
        }
        impl<'de> Visitor<'de> for UpTo<'_> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
                while let Some(Key(key)) = map.next_key()? {
                    if key == KEY {
                        *self.found.borrow_mut() = Some(map.next_value()?);
                        return Ok(());
                    }
                    map.next_value::<IgnoredAny>()?;
                }
                Ok(())
            }
        }
        let found = RefCell::new(None);
        let mut de = serde_json::Deserializer::from_str(raw.get());
        let _unfinished = de.deserialize_map(UpTo { found: &found });
        names(found.into_inner().as_ref()?)
    }
}

impl Deref for Attributes {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Map<String, Value> {
        self.map()
    }
}

impl<'a> IntoIterator for &'a Attributes {
    type Item = (&'a String, &'a Value);
    type IntoIter = serde_json::map::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.map().iter()
    }
}

impl From<Map<String, Value>> for Attributes {
    fn from(map: Map<String, Value>) -> Self {
        Self::from_map(map)
    }
}

impl Clone for Attributes {
    fn clone(&self) -> Self {
        Self {
            raw: self.raw.clone(),
            parsed: self.parsed.clone(),
        }
    }
}

impl PartialEq for Attributes {
    fn eq(&self, other: &Self) -> bool {
        match (&self.raw, &other.raw) {
            (Some(a), Some(b)) if a.get() == b.get() => true,
            _ => self.map() == other.map(),
        }
    }
}

impl std::fmt::Debug for Attributes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.map().fmt(f)
    }
}

/// Serialised from the map, not the stored text, so pretty output stays
/// indented consistently.
impl Serialize for Attributes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    #[test]
    fn parsed_on_first_use() {
        let a = Attributes::from_raw(&raw(r#"{"units": "K", "n": [1, 2]}"#)).unwrap();
        assert!(a.parsed.get().is_none());
        assert_eq!(a["units"], "K");
        assert_eq!(a.map().len(), 2);
        assert!(Attributes::from_raw(&raw("[1]")).is_none());
    }

    #[test]
    fn dimensions_without_parsing_the_rest() {
        let a = Attributes::from_raw(&raw(
            r#"{"long": "x", "_ARRAY_DIMENSIONS": ["time", 3, "x"], "deep": {"a": [1]}}"#,
        ))
        .unwrap();
        assert_eq!(
            a.array_dimensions(),
            Some(vec![Some("time".into()), None, Some("x".into())])
        );
        assert!(a.parsed.get().is_none());
        let twice = Attributes::from_raw(&raw(
            r#"{"_ARRAY_DIMENSIONS": ["a"], "_ARRAY_DIMENSIONS": ["b"]}"#,
        ))
        .unwrap();
        // The first of a key given twice (the map, like JSON readers, keeps
        // the last; no writer produces this).
        assert_eq!(twice.array_dimensions(), Some(vec![Some("a".into())]));
        let none = Attributes::from_raw(&raw(r#"{"units": "K"}"#)).unwrap();
        assert_eq!(none.array_dimensions(), None);
    }

    #[test]
    fn values_serde_json_cannot_hold_are_kept_as_text() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let a = Attributes::from_raw(&raw(&format!(
            r#"{{"deep": {deep}, "big": 1e400, "ok": 1}}"#
        )))
        .unwrap();
        assert_eq!(a["deep"], Value::String(deep));
        assert_eq!(a["big"], "1e400");
        assert_eq!(a["ok"], 1);
    }

    #[test]
    fn equal_by_content_and_serialised_as_a_map() {
        let a = Attributes::from_raw(&raw(r#"{"a": 1}"#)).unwrap();
        let b = Attributes::from_map(json!({"a": 1}).as_object().unwrap().clone());
        assert_eq!(a, b);
        assert_eq!(serde_json::to_value(&a).unwrap(), json!({"a": 1}));
        assert_eq!(
            Attributes::from_document(b"{\"x\": NaN}").unwrap()["x"],
            "NaN"
        );
        assert!(Attributes::from_document(b"[1]").is_err());
    }
}
