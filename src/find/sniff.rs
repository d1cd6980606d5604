//! Whether a `.json` (`.json.zst`, `.json.gz`) object is a kerchunk
//! reference set, from its first bytes: one ranged GET of at most
//! [`SNIFF_BYTES`], decompressed (zstd, gzip) to at most
//! [`SNIFF_DECODED`], and a look at the first top-level keys. Only a
//! confirmed reference set is then read whole.

use std::io::Read;

use object_store::ObjectStoreExt;

use crate::error::Result;
use crate::source::reference::{WHAT, scan};
use crate::store::StoreHandle;
use crate::store::guard::Policy;
use crate::store::listing::ObjectInfo;

/// Bytes of the object read to decide.
pub const SNIFF_BYTES: u64 = 4096;
/// The most those bytes may decompress to (a zstd or gzip bomb stops here).
pub const SNIFF_DECODED: u64 = 64 * 1024;
/// Top-level keys looked at before deciding "not a reference set".
const KEYS_LOOKED_AT: usize = 16;

/// Whether the object `object` (listed, non-empty) starts as a kerchunk
/// reference set.
pub async fn is_reference_set(root: &StoreHandle, object: &ObjectInfo) -> Result<bool> {
    let store = root.guarded(Policy::one_file(WHAT, object.key.clone()));
    let path = crate::keys::path(&object.key)?;
    let end = SNIFF_BYTES.min(object.size);
    let head = store
        .get_range(&path, 0..end)
        .await
        .map_err(|e| root.explain_url(&root.location.url_of(&object.key), &e))?;
    Ok(looks_like_references(&decoded_prefix(&head)))
}

/// The JSON text at the start of `head` (the first bytes of a file):
/// decompressed when it starts as zstd or gzip, at most [`SNIFF_DECODED`]
/// bytes, up to where a truncated frame stops decoding.
pub fn decoded_prefix(head: &[u8]) -> Vec<u8> {
    let Ok((_, reader)) = scan::open(std::io::Cursor::new(head.to_vec())) else {
        return Vec::new();
    };
    let mut limited = reader.take(SNIFF_DECODED);
    let mut out = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match limited.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            // The frame was cut by the range: keep what it gave.
            Err(_) => break,
        }
    }
    out
}

/// Whether `text` (the start of a JSON document, maybe cut anywhere) opens
/// as a kerchunk reference set: an object whose first keys include spec
/// version 1's (`version`, `refs`, `templates`, `gen`) or, version 0, a
/// Zarr metadata key or a chunk key whose value is a reference `[url, …]`.
///
/// serde_json reads the keys one by one and the decision is taken as soon
/// as it can be, so a document cut after the deciding key still decides;
/// serde_json's error about the cut (or about the map left unfinished) is
/// not the answer, the recorded verdict is.
pub fn looks_like_references(text: &[u8]) -> bool {
    let text = text.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(text);
    let verdict = std::cell::Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let _ =
        serde::Deserializer::deserialize_map(&mut deserializer, FirstKeys { verdict: &verdict });
    verdict.get()
}

/// Looks at the first [`KEYS_LOOKED_AT`] keys of a JSON object.
struct FirstKeys<'a> {
    verdict: &'a std::cell::Cell<bool>,
}

impl<'de> serde::de::Visitor<'de> for FirstKeys<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        for _ in 0..KEYS_LOOKED_AT {
            let Some(key) = map.next_key::<String>()? else {
                return Ok(());
            };
            let decided = if matches!(key.as_str(), "version" | "refs" | "templates" | "gen")
                || crate::source::reference::model::is_metadata_key(&key)
            {
                true
            } else if is_chunk_key(&key) {
                is_reference_value(&map.next_value::<serde_json::Value>()?)
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
                false
            };
            if decided {
                self.verdict.set(true);
                return Ok(());
            }
        }
        Ok(())
    }
}

/// `["url"]` or `["url", offset, length]`: a version 0 reference to a
/// file (a list of names is not one).
fn is_reference_value(value: &serde_json::Value) -> bool {
    match value.as_array().map(Vec::as_slice) {
        Some([url]) => url.is_string(),
        Some([url, offset, length]) => url.is_string() && offset.is_u64() && length.is_u64(),
        _ => false,
    }
}

/// Whether `key` names a chunk (`x/0.0`, `x/c/0/1`, a lone array's `0`):
/// its last segment is chunk indices. STAC's `"stac_extensions": ["url"]`
/// has the shape of a reference but not the key.
fn is_chunk_key(key: &str) -> bool {
    let last = key.rsplit('/').next().unwrap_or(key);
    !last.is_empty()
        && last
            .split('.')
            .all(|index| !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_sets_are_told_from_other_json_by_their_first_keys() {
        for yes in [
            &br#"{"version": 1, "refs": {"#[..],
            br#"{"refs": {".zgroup": "{}"}}"#,
            br#" {"templates": {"u": "s3://b"}, "version": 1"#,
            br#"{".zgroup": "{\"zarr_format\": 2}", "x/.zarray": "#,
            br#"{"x/0.0": ["s3://b/f.nc", 100, 20], "#,
            br#"{"x/0": ["s3://b/f.nc"]}"#,
            b"\xEF\xBB\xBF{\"version\":1}",
            br#"{"a": {"b": [1, 2, {"c": "}"}]}, "version": 1}"#,
        ] {
            assert!(
                looks_like_references(yes),
                "{}",
                String::from_utf8_lossy(yes)
            );
        }
        for no in [
            &br#"{"type": "Feature", "stac_version": "1.0.0", "#[..],
            br#"[1, 2, 3]"#,
            br#"{"name": "package", "dependencies": {}}"#,
            br#"{"store.zarr": ["/", "/a", "/b"]}"#,
            br#"{"type": "Collection", "stac_extensions": ["https://x/schema.json"], "#,
            br#"{"mirrors": ["https://example.org/data.nc"]}"#,
            b"\0\0\0\0\0\0",
            b"",
            br#"{"a": "unterminated"#,
        ] {
            assert!(
                !looks_like_references(no),
                "{}",
                String::from_utf8_lossy(no)
            );
        }
    }

    #[test]
    fn a_compressed_prefix_is_decoded_within_its_bound() {
        let json = br#"{"version": 1, "refs": {}}"#;
        let zst = zstd::encode_all(&json[..], 3).unwrap();
        assert!(looks_like_references(&decoded_prefix(&zst)));
        // A bomb: a megabyte of zeros in a few hundred bytes.
        let bomb = zstd::encode_all(&vec![0u8; 1 << 20][..], 19).unwrap();
        assert!(bomb.len() < SNIFF_BYTES as usize);
        let decoded = decoded_prefix(&bomb);
        assert_eq!(decoded.len() as u64, SNIFF_DECODED);
        assert!(!looks_like_references(&decoded));
        // Cut in the middle of the frame: what decoded so far.
        let cut = &zst[..zst.len() - 4];
        let _ = decoded_prefix(cut);
    }
}
