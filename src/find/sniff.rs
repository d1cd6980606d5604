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
/// Zarr metadata key or a key whose value is a reference `[url, …]`.
pub fn looks_like_references(text: &[u8]) -> bool {
    let mut cursor = Cursor { text, at: 0 };
    cursor.skip_bom_and_space();
    if !cursor.eat(b'{') {
        return false;
    }
    for _ in 0..KEYS_LOOKED_AT {
        cursor.skip_space();
        let Some(key) = cursor.string() else {
            return false;
        };
        cursor.skip_space();
        if !cursor.eat(b':') {
            return false;
        }
        cursor.skip_space();
        if matches!(key.as_str(), "version" | "refs" | "templates" | "gen")
            || crate::source::reference::model::is_metadata_key(&key)
            || (is_chunk_key(&key) && cursor.starts_reference_value())
        {
            return true;
        }
        if !cursor.skip_value() {
            return false;
        }
        cursor.skip_space();
        if !cursor.eat(b',') {
            return false;
        }
    }
    false
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

/// A hand-rolled walk over the start of a JSON text: serde_json cannot
/// read a document cut in the middle.
struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
    }

    fn skip_bom_and_space(&mut self) {
        if self.text[self.at..].starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.at += 3;
        }
        self.skip_space();
    }

    /// A JSON string (escapes kept simple: `\"` and `\\` matter here).
    fn string(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    out.push(self.peek()?);
                    self.at += 1;
                }
                other => out.push(other),
            }
        }
    }

    /// `["url"]` or `["url", offset, length]`: a version 0 reference to a
    /// file (a list of names is not one).
    fn starts_reference_value(&self) -> bool {
        let mut probe = Cursor {
            text: self.text,
            at: self.at,
        };
        if !probe.eat(b'[') {
            return false;
        }
        probe.skip_space();
        if probe.string().is_none() {
            return false;
        }
        probe.skip_space();
        if probe.eat(b']') {
            return true;
        }
        for _ in 0..2 {
            probe.skip_space();
            if !probe.eat(b',') {
                return false;
            }
            probe.skip_space();
            let digits = probe.at;
            while probe.peek().is_some_and(|b| b.is_ascii_digit()) {
                probe.at += 1;
            }
            if probe.at == digits {
                return false;
            }
        }
        probe.skip_space();
        probe.eat(b']')
    }

    /// Skip one value; false when the text ends first.
    fn skip_value(&mut self) -> bool {
        match self.peek() {
            Some(b'"') => self.string().is_some(),
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                while let Some(byte) = self.peek() {
                    match byte {
                        b'"' => {
                            if self.string().is_none() {
                                return false;
                            }
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return true;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
                false
            }
            Some(_) => {
                while self
                    .peek()
                    .is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace())
                {
                    self.at += 1;
                }
                self.peek().is_some()
            }
            None => false,
        }
    }
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
