//! Codecs as one list for both formats (v2 filters then compressor; v3
//! codecs), and their short names for tables: `blosc(lz4,5,shuffle)`.

use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Codec {
    pub name: String,
    /// The codec's configuration as stored (an object; empty when none).
    pub configuration: Map<String, Value>,
}

impl Codec {
    pub fn new(name: impl Into<String>, configuration: Map<String, Value>) -> Self {
        Self {
            name: name.into(),
            configuration,
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
        Value::String(name) => Some(Codec::new(name.clone(), Map::new())),
        Value::Object(map) => {
            let name = map.get("name")?.as_str()?;
            let configuration = match map.get("configuration") {
                Some(Value::Object(c)) => c.clone(),
                _ => Map::new(),
            };
            Some(Codec::new(name, configuration))
        }
        _ => None,
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
