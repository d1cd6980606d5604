//! Codecs as one list for both formats (v2 filters then compressor; v3
//! codecs), and their short names for tables: `blosc(lz4,5,shuffle)`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Codec {
    pub name: String,
    /// The codec's configuration as stored (an object; empty when none).
    pub configuration: Configuration,
}

/// A codec's settings in stored order. A handful of entries, looked up by
/// a few names: a list, not a hash map (thousands of arrays each have one).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Configuration(Vec<(String, Value)>);

impl Configuration {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Add an entry; a key given twice keeps the later value, as JSON
    /// readers do.
    fn insert(&mut self, key: String, value: Value) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

impl From<Map<String, Value>> for Configuration {
    fn from(map: Map<String, Value>) -> Self {
        Self(map.into_iter().collect())
    }
}

impl Serialize for Configuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Configuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ObjectVisitor {
            special: &[],
            expecting: "a codec configuration object",
        })
        .map(|(configuration, _)| configuration)
    }
}

/// Reads an object into a [`Configuration`], setting aside the members
/// named in `special` (a codec's `id`, a v3 entry's `name`...).
struct ObjectVisitor {
    special: &'static [&'static str],
    expecting: &'static str,
}

type Special = Vec<(&'static str, Value)>;

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = (Configuration, Special);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut configuration = Configuration::default();
        let mut special = Special::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            match self.special.iter().find(|s| **s == key) {
                Some(name) => special.push((name, value)),
                None => configuration.insert(key, value),
            }
        }
        Ok((configuration, special))
    }
}

impl Codec {
    pub fn new(name: impl Into<String>, configuration: impl Into<Configuration>) -> Self {
        Self {
            name: name.into(),
            configuration: configuration.into(),
        }
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.configuration.get(key)
    }

    /// A compact label: the name plus the settings people compare.
    pub fn summary(&self) -> String {
        let scalar = |key: &str| self.get(key).map(scalar_text);
        match self.name.as_str() {
            "blosc" => {
                let shuffle = match self.get("shuffle") {
                    Some(Value::Number(n)) => match n.as_i64() {
                        Some(0) => "noshuffle".to_string(),
                        Some(1) => "shuffle".to_string(),
                        Some(2) => "bitshuffle".to_string(),
                        Some(-1) => "autoshuffle".to_string(),
                        _ => n.to_string(),
                    },
                    Some(other) => scalar_text(other),
                    None => String::new(),
                };
                let parts: Vec<String> = [scalar("cname"), scalar("clevel"), Some(shuffle)]
                    .into_iter()
                    .flatten()
                    .filter(|p| !p.is_empty())
                    .collect();
                format!("blosc({})", parts.join(","))
            }
            "zstd" | "gzip" | "zlib" | "bz2" | "lzma" => match scalar("level") {
                Some(level) => format!("{}({level})", self.name),
                None => self.name.clone(),
            },
            "lz4" => match scalar("acceleration") {
                Some(a) => format!("lz4({a})"),
                None => "lz4".into(),
            },
            "sharding_indexed" => {
                let inner = self
                    .get("codecs")
                    .and_then(Value::as_array)
                    .map(|codecs| {
                        codecs
                            .iter()
                            .filter_map(codec_from_v3_value)
                            .map(|c| c.summary())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                format!("sharding[{inner}]")
            }
            _ => self.name.clone(),
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A v3 codec entry: `"name"` or `{"name", "configuration"}`.
pub fn codec_from_v3_value(v: &Value) -> Option<Codec> {
    match v {
        Value::String(name) => Some(Codec::new(name.clone(), Configuration::default())),
        Value::Object(map) => {
            let name = map.get("name")?.as_str()?;
            let configuration = match map.get("configuration") {
                Some(Value::Object(c)) => c.clone().into(),
                _ => Configuration::default(),
            };
            Some(Codec::new(name, configuration))
        }
        _ => None,
    }
}

/// A v2 codec document, `{"id": "blosc", ...its configuration}`, read
/// straight into a [`Codec`] (what zarrs' `MetadataV2` holds, without the
/// buffering its flattened configuration costs).
pub struct V2Codec(pub Codec);

impl<'de> Deserialize<'de> for V2Codec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (configuration, mut special) = d.deserialize_map(ObjectVisitor {
            special: &["id"],
            expecting: "a codec object like {\"id\": \"zstd\", \"level\": 1}",
        })?;
        match special.pop() {
            Some((_, Value::String(id))) => Ok(V2Codec(Codec::new(id, configuration))),
            _ => Err(de::Error::custom(
                "a codec needs an \"id\" naming it, e.g. {\"id\": \"zstd\"}",
            )),
        }
    }
}

/// A v3 extension point (codec, chunk grid, chunk key encoding, data type,
/// storage transformer): `"name"` or `{"name", "configuration",
/// "must_understand"}`, with zarrs' `MetadataV3` rules and message.
pub struct V3Named(pub Codec);

impl<'de> Deserialize<'de> for V3Named {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let invalid = || {
            de::Error::custom(
                r#"Expected metadata "<name>" or {"name":"<name>"} or {"name":"<name>","configuration":{}}"#,
            )
        };
        struct NamedVisitor;
        impl<'de> Visitor<'de> for NamedVisitor {
            type Value = Option<Codec>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name or an object with a \"name\"")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<Codec>, E> {
                Ok(Some(Codec::new(name, Configuration::default())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<Codec>, A::Error> {
                let (mut name, mut configuration, mut valid) = (None, None, true);
                while let Some(key) = map.next_key::<super::json::Key>()? {
                    match key.0.as_ref() {
                        "name" => name = Some(map.next_value::<Value>()?),
                        "configuration" => {
                            configuration = map.next_value::<Option<Configuration>>()?
                        }
                        "must_understand" => valid &= map.next_value::<Value>()?.is_boolean(),
                        _ => {
                            map.next_value::<de::IgnoredAny>()?;
                            valid = false;
                        }
                    }
                }
                Ok(match name {
                    Some(Value::String(name)) if valid => {
                        Some(Codec::new(name, configuration.unwrap_or_default()))
                    }
                    _ => None,
                })
            }
        }
        match d.deserialize_any(NamedVisitor) {
            Ok(Some(codec)) => Ok(V3Named(codec)),
            _ => Err(invalid()),
        }
    }
}

/// Join summaries for one cell: `bytes,zstd(0)`.
pub fn summarize(codecs: &[Codec]) -> String {
    if codecs.is_empty() {
        return "none".into();
    }
    codecs
        .iter()
        .map(Codec::summary)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codec(v: Value) -> Codec {
        codec_from_v3_value(&v).unwrap()
    }

    #[test]
    fn blosc_v2_and_v3_forms() {
        let v2 = Codec::new(
            "blosc",
            json!({"cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0})
                .as_object()
                .unwrap()
                .clone(),
        );
        assert_eq!(v2.summary(), "blosc(lz4,5,shuffle)");
        let v3 = codec(
            json!({"name": "blosc", "configuration": {"cname": "zstd", "clevel": 3, "shuffle": "bitshuffle", "typesize": 4}}),
        );
        assert_eq!(v3.summary(), "blosc(zstd,3,bitshuffle)");
    }

    #[test]
    fn level_codecs_sharding_and_unknown() {
        assert_eq!(
            codec(json!({"name": "zstd", "configuration": {"level": 9}})).summary(),
            "zstd(9)"
        );
        let shard = codec(json!({"name": "sharding_indexed", "configuration": {
            "chunk_shape": [10], "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "gzip", "configuration": {"level": 1}}],
            "index_codecs": []}}));
        assert_eq!(shard.summary(), "sharding[bytes,gzip(1)]");
        assert_eq!(codec(json!("my.codec")).summary(), "my.codec");
        assert_eq!(summarize(&[]), "none");
    }
}
