//! Lenient JSON reading for what real Zarr writers emit.
//!
//! zarr-python 2 and 3 write non-finite floats in attributes as bare `NaN`,
//! `Infinity` and `-Infinity` tokens, which strict JSON (and serde_json)
//! rejects. We parse strictly first — the common, fast path — and only when
//! that fails and such tokens are present, rewrite them (outside strings) as
//! the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, which is how Zarr v3
//! spells non-finite fill values, and parse again.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A document that could not be read, with where and a guess at why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// What the bytes look like, when that explains the failure.
    pub looks_like: Option<&'static str>,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)?;
        if let Some(what) = self.looks_like {
            write!(f, " ({what})")?;
        }
        Ok(())
    }
}

/// A whole document as a JSON value.
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    read_with(bytes, |b| serde_json::from_slice(b))
}

/// Run `read` over `bytes`; when the strict read fails and the document
/// holds bare non-finite tokens, run it again over the rewritten bytes.
/// `read` returns owned results, so the rewritten copy can be dropped here.
/// A data error (valid JSON of the wrong shape) is not retried: the tokens
/// cannot be its cause.
pub fn read_with<R>(
    bytes: &[u8],
    read: impl Fn(&[u8]) -> Result<R, serde_json::Error>,
) -> Result<R, JsonError> {
    match read(bytes) {
        Ok(v) => Ok(v),
        Err(strict) => {
            if !strict.is_data()
                && let Some(rewritten) = quote_non_finite_tokens(bytes)
                && let Ok(v) = read(&rewritten)
            {
                return Ok(v);
            }
            Err(JsonError {
                line: strict.line(),
                column: strict.column(),
                message: strict.to_string(),
                looks_like: diagnose(bytes, &strict),
            })
        }
    }
}

/// serde_json's message without its trailing " at line L column C": for a
/// member read out of a larger document, that position would point into the
/// member, not the document.
pub fn without_position(message: &str) -> &str {
    match message.rsplit_once(" at line ") {
        Some((text, at))
            if at
                .split_once(" column ")
                .is_some_and(|(l, c)| l.parse::<u64>().is_ok() && c.parse::<u64>().is_ok()) =>
        {
            text
        }
        _ => message,
    }
}

/// An object key, borrowed from the document unless it holds escapes.
pub struct Key<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// The members of a JSON object, each value left unparsed (a slice of the
/// document): reading a large map costs one scan and no allocation per
/// value. Anything but an object reads as `NotAnObject`, so callers can say
/// what they expected instead of passing on serde's wording.
pub enum Members<'a> {
    Object(Vec<(Cow<'a, str>, &'a RawValue)>),
    NotAnObject,
}

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(Key(key)) = map.next_key()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members::Object(members))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Members<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Members::NotAnObject)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Members<'de>, E> {
                Ok(Members::NotAnObject)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Members<'de>, E> {
                Ok(Members::NotAnObject)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Members<'de>, E> {
                Ok(Members::NotAnObject)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Members<'de>, E> {
                Ok(Members::NotAnObject)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Members<'de>, E> {
                Ok(Members::NotAnObject)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Members<'de>, E> {
                Ok(Members::NotAnObject)
            }
        }
        d.deserialize_any(MembersVisitor)
    }
}

impl<'a> Members<'a> {
    /// The members of `raw`, which is known to be valid JSON.
    pub fn of(raw: &'a RawValue) -> Self {
        serde_json::from_str(raw.get()).unwrap_or(Members::NotAnObject)
    }
}

fn diagnose(bytes: &[u8], err: &serde_json::Error) -> Option<&'static str> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace());
    match start.map(|i| bytes[i]) {
        None => Some("the document is empty"),
        Some(b'<') => {
            Some("this is HTML or XML, not JSON: perhaps an error page from a server or proxy")
        }
        _ if err.is_eof() => Some("the document ends early: it looks truncated"),
        _ if std::str::from_utf8(bytes).is_err() => Some("the document is not UTF-8 text"),
        _ => None,
    }
}

/// Rewrite bare non-finite tokens outside strings; `None` when there are none.
fn quote_non_finite_tokens(bytes: &[u8]) -> Option<Vec<u8>> {
    const TOKENS: [(&[u8], &[u8]); 3] = [
        (b"-Infinity", b"\"-Infinity\""),
        (b"Infinity", b"\"Infinity\""),
        (b"NaN", b"\"NaN\""),
    ];
    let mut out = Vec::with_capacity(bytes.len() + 16);
    let mut changed = false;
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    'scan: while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            for (token, quoted) in TOKENS {
                if bytes[i..].starts_with(token) {
                    out.extend_from_slice(quoted);
                    i += token.len();
                    changed = true;
                    continue 'scan;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strict_json_passes_through() {
        assert_eq!(
            parse(br#"{"a": [1, 2.5]}"#).unwrap(),
            json!({"a": [1, 2.5]})
        );
    }

    #[test]
    fn bare_non_finite_tokens_become_strings() {
        let v = parse(br#"{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN in text"}"#).unwrap();
        assert_eq!(
            v,
            json!({"a": "NaN", "b": ["Infinity", "-Infinity"], "c": "NaN in text"})
        );
    }

    #[test]
    fn tokens_inside_strings_are_untouched() {
        let v = parse(br#"{"k": "say \"NaN\" Infinity", "x": NaN}"#).unwrap();
        assert_eq!(v, json!({"k": "say \"NaN\" Infinity", "x": "NaN"}));
    }

    #[test]
    fn positions_can_be_left_out() {
        assert_eq!(
            without_position("invalid value: integer `0` at line 7 column 17"),
            "invalid value: integer `0`"
        );
        assert_eq!(without_position("at line one"), "at line one");
    }

    #[test]
    fn errors_name_the_position_and_the_likely_cause() {
        let e = parse(b"").unwrap_err();
        assert_eq!(e.looks_like, Some("the document is empty"));
        let e = parse(b"<html><body>503 Service Unavailable</body></html>").unwrap_err();
        assert!(e.looks_like.unwrap().contains("HTML"));
        assert_eq!((e.line, e.column), (1, 1));
        let e = parse(b"{\n  \"metadata\": {\n    \".zgroup\": {").unwrap_err();
        assert!(e.looks_like.unwrap().contains("truncated"));
        assert_eq!(e.line, 3);
        let e = parse(b"{\"a\": tru}").unwrap_err();
        assert_eq!(e.looks_like, None);
        assert!(e.to_string().starts_with("1:"), "{e}");
    }
}
