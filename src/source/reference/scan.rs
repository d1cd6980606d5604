//! Placeholder for the one-pass scanner (a helper is writing it): reads the
//! whole document as a `Value`.
use std::io::Read;

use super::model::{Compression, Entry, Scanned, TargetUse, directory_of, is_metadata_key};

pub struct ScanOptions<'a> {
    pub keep: &'a (dyn Fn(&str) -> bool + Sync),
    pub max_json_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("not a kerchunk reference set: {0}")]
    NotReferences(String),
    #[error("more than {max} bytes of JSON")]
    TooLarge { max: u64 },
    #[error("{0}")]
    Io(String),
}

pub fn open(
    reader: impl Read + Send + 'static,
) -> std::io::Result<(Compression, Box<dyn Read + Send>)> {
    Ok((Compression::None, Box::new(reader)))
}

pub fn scan(reader: impl Read, options: &ScanOptions) -> Result<Scanned, ScanError> {
    let v: serde_json::Value =
        serde_json::from_reader(reader).map_err(|e| ScanError::Json(e.to_string()))?;
    let mut out = Scanned::default();
    // Templates, as the real scanner keeps them (for `show --coords`).
    if let Some(serde_json::Value::Object(templates)) = v.get("templates") {
        for (name, value) in templates {
            if let Some(value) = value.as_str() {
                out.templates.push((name.clone(), value.to_string()));
            }
        }
    }
    let refs = match v.get("refs") {
        Some(r) => {
            out.version = 1;
            r.clone()
        }
        None => v,
    };
    let serde_json::Value::Object(map) = refs else {
        return Err(ScanError::NotReferences("not an object".into()));
    };
    for (k, v) in map {
        if is_metadata_key(&k) {
            let text = match v {
                serde_json::Value::String(s) => s.into_bytes(),
                other => other.to_string().into_bytes(),
            };
            out.metadata.push((k, text));
            continue;
        }
        let t = out.chunks.entry(directory_of(&k).to_string()).or_default();
        match &v {
            serde_json::Value::String(s) => {
                t.inline += 1;
                t.inline_bytes += s.len() as u64;
                if (options.keep)(&k) {
                    // Decoded, as the real scanner keeps it.
                    let bytes = match s.strip_prefix("base64:") {
                        Some(b64) => {
                            use base64::Engine;
                            base64::engine::general_purpose::STANDARD
                                .decode(b64)
                                .map_err(|e| ScanError::Json(format!("{k}: {e}")))?
                        }
                        None => s.clone().into_bytes(),
                    };
                    out.kept.push((k.clone(), Entry::Inline(bytes)));
                }
            }
            serde_json::Value::Array(a) => {
                let url = a.first().and_then(|u| u.as_str()).unwrap_or("").to_string();
                let off = a.get(1).and_then(|x| x.as_u64()).unwrap_or(0);
                let len = a.get(2).and_then(|x| x.as_u64()).unwrap_or(0);
                t.referenced += 1;
                t.referenced_bytes += len;
                let u = out.targets.entry(url.clone()).or_insert(TargetUse::default());
                u.references += 1;
                u.bytes += len;
                u.max_end = u.max_end.max(off + len);
                if (options.keep)(&k) {
                    out.kept.push((k.clone(), Entry::Range { url, offset: off, length: len }));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}
