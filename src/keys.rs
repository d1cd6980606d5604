//! Keys are names, not URL fragments. This module is the one place that turns
//! a key (a bucket's object name, or a local file's absolute path without its
//! leading `/`) into an `object_store` [`Path`] and back.
//!
//! object_store sends a `Path`'s raw string as the key: its S3 client
//! percent-encodes `path.as_ref()` into the request URL, its local file
//! system maps raw segments to file names one to one, its HTTP client
//! percent-encodes each raw segment. So a key becomes a `Path` whose raw
//! string *is* the key. `Path::from(&str)` must never be used for that: it
//! percent-encodes `% # ~ [ ] * ? { } ^ | \ " < >` and backtick a second
//! time, so `x*y` would name the object `x%2Ay`.
//!
//! Where the keys come from:
//! - an `s3://`, `gs://`, `az://` URL: the rest after the bucket, as typed;
//! - an `http(s)://` URL: the percent-decoded URL path ([`from_url_path`]);
//! - a listing: the listed string as is ([`key_of`], or the raw S3 lister);
//! - a local file: its absolute path (object_store's `from_absolute_path`
//!   decodes what its URL conversion encoded, so the raw string is the file
//!   name again).
//!
//! Some keys S3 allows cannot be a `Path` at all: a segment `.` or `..`
//! (HTTP clients also normalise them out of URLs), ASCII control characters,
//! and a leading `/`. Empty segments (`a//b`) and a trailing `/` (a folder
//! marker `x/sub/`) are built segment by segment so the raw string stays the
//! key; they cannot be local file names ([`is_file_name`]).

use object_store::path::{Path, PathPart};

/// Why a key cannot be sent as a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unaddressable {
    pub key: String,
    pub reason: &'static str,
}

impl std::fmt::Display for Unaddressable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "key {:?} cannot be requested: {}", self.key, self.reason)
    }
}

impl std::error::Error for Unaddressable {}

impl From<Unaddressable> for crate::error::Error {
    fn from(e: Unaddressable) -> Self {
        crate::error::Error::new(e.to_string()).with_hint(
            "zarrscope's storage client cannot name this key; use the provider's own tool (aws s3api, gcloud storage, az storage blob) for it",
        )
    }
}

impl From<Unaddressable> for object_store::Error {
    fn from(e: Unaddressable) -> Self {
        object_store::Error::Generic {
            store: "zarrscope",
            source: Box::new(e),
        }
    }
}

/// `dir` and a relative `name` joined with `/` (`dir` `""`: the bucket
/// root, so `name` alone).
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `key` relative to `prefix` (a directory; `""` is the bucket root).
pub fn relative<'a>(key: &'a str, prefix: &str) -> &'a str {
    if prefix.is_empty() {
        return key;
    }
    key.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or(key)
}

/// The last segment of a key (`a/b/c.txt` → `c.txt`).
pub fn base_name(key: &str) -> &str {
    key.trim_end_matches('/').rsplit('/').next().unwrap_or(key)
}

/// The request path for `key`: a `Path` whose raw string is exactly `key`.
pub fn path(key: &str) -> Result<Path, Unaddressable> {
    let refuse = |reason| Unaddressable {
        key: key.to_string(),
        reason,
    };
    if key.starts_with('/') {
        return Err(refuse("it starts with '/'"));
    }
    if let Ok(parsed) = Path::parse(key)
        && parsed.as_ref() == key
    {
        return Ok(parsed);
    }
    // Empty segments and a trailing '/' do not parse, but `join` keeps them:
    // build the path one validated segment at a time.
    let mut built = Path::ROOT;
    for (i, segment) in key.split('/').enumerate() {
        let part = PathPart::parse(segment).map_err(|_| {
            refuse(if segment == "." || segment == ".." {
                "it has a '.' or '..' segment, which HTTP clients remove from URLs"
            } else {
                "it holds an ASCII control character"
            })
        })?;
        built = if i == 0 {
            Path::from_iter([part])
        } else {
            built.join(part)
        };
    }
    if built.as_ref() == key {
        Ok(built)
    } else {
        Err(refuse("object_store cannot represent it"))
    }
}

/// Bytes of a key that S3 wants percent-encoded in a URL path and in
/// `x-amz-copy-source`: all but `A-Z a-z 0-9 - . _ ~` and `/` (object_store
/// encodes its request paths the same way).
const S3_PATH_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// `key` as it goes into an S3 request URL path or `x-amz-copy-source`
/// (`a b+%/é` → `a%20b%2B%25/%C3%A9`): `+` is encoded too, since some
/// servers read a bare `+` there as a space.
pub fn url_encoded(key: &str) -> String {
    percent_encoding::utf8_percent_encode(key, S3_PATH_ENCODE).to_string()
}

/// A listing prefix: `None` for the bucket root.
pub fn prefix(key: &str) -> Result<Option<Path>, Unaddressable> {
    if key.is_empty() {
        return Ok(None);
    }
    path(key).map(Some)
}

/// The key a listed or returned `Path` names (its raw string, never decoded).
pub fn key_of(path: &Path) -> &str {
    path.as_ref()
}

/// The key named by a percent-encoded URL path (`/a%20b/c` → `a b/c`).
pub fn from_url_path(encoded: &str) -> Result<String, String> {
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .map(|decoded| decoded.into_owned())
        .map_err(|_| format!("the URL path {encoded:?} does not decode to UTF-8"))
}

/// Can `key` be a local file's path? Not with an empty segment or a
/// trailing `/`, nor with a name ending in `#` and digits (object_store's
/// local file system keeps those for its own partial uploads).
pub fn is_file_name(key: &str) -> bool {
    let reserved = |name: &str| {
        name.rsplit_once('#')
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    !key.is_empty()
        && key
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
        && !key.rsplit('/').next().is_some_and(reserved)
}

/// Files below `dir` that object_store's local listing leaves out without a
/// word (names ending in `#` and digits), so an upload can name them.
pub fn unlisted_local_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if !is_file_name(&entry.file_name().to_string_lossy()) {
                found.push(entry.path());
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoding_keeps_only_unreserved_bytes_and_slashes() {
        assert_eq!(url_encoded("a b+%/é~x.y_z-0"), "a%20b%2B%25/%C3%A9~x.y_z-0");
        assert_eq!(url_encoded("q?#&="), "q%3F%23%26%3D");
        assert_eq!(from_url_path(&url_encoded("a b+%/é")).unwrap(), "a b+%/é");
    }

    #[test]
    fn every_printable_key_is_its_own_raw_path() {
        let punctuation: String = (0x21u8..0x7f)
            .map(char::from)
            .filter(|c| !c.is_ascii_alphanumeric() && *c != '/')
            .collect();
        let keys = [
            "x*y".to_string(),
            "home~user.txt".into(),
            "pct%41.txt".into(),
            "a%2Fb".into(),
            "100%".into(),
            "ärr/日本/t~1/a#b".into(),
            format!("p/{punctuation}"),
            "with space/and\u{a0}nbsp".into(),
            "a//b".into(),
            "x/sub/".into(),
            "k".repeat(900),
        ];
        for key in keys {
            let p = path(&key).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(p.as_ref(), key);
            assert_eq!(key_of(&p), key);
        }
    }

    #[test]
    fn unaddressable_keys_are_named() {
        for key in ["a/../b", "a/./b", "..", "/abs", "tab\there"] {
            let e = path(key).unwrap_err();
            assert_eq!(e.key, key);
            assert!(e.to_string().contains(key) || key.contains('\t'), "{e}");
        }
    }

    #[test]
    fn url_paths_decode_once() {
        assert_eq!(from_url_path("a%20b/pct%2541").unwrap(), "a b/pct%41");
        assert!(from_url_path("%ff").is_err());
        assert!(is_file_name("a/b~c"));
        assert!(!is_file_name("a//b"));
        assert!(!is_file_name("x/sub/"));
        assert!(is_file_name("a#b") && is_file_name("a#1/x"));
        assert!(!is_file_name("a/x#12"));
    }

    #[test]
    fn names_and_relative_keys() {
        assert_eq!(base_name("a/b/c.txt"), "c.txt");
        assert_eq!(base_name("a/b/"), "b");
        assert_eq!(relative("a/b/c", "a"), "b/c");
        assert_eq!(relative("a/b/c", ""), "a/b/c");
        assert_eq!(relative("ab/c", "a"), "ab/c");
    }

    #[test]
    fn prefix_of_the_root_is_none() {
        assert!(prefix("").unwrap().is_none());
        assert_eq!(prefix("a*b").unwrap().unwrap().as_ref(), "a*b");
    }
}
