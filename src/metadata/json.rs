//! Lenient JSON reading for what real Zarr writers emit.
//!
//! zarr-python 2 and 3 write non-finite floats in attributes as bare `NaN`,
//! `Infinity` and `-Infinity` tokens, which strict JSON (and serde_json)
//! rejects. We parse strictly first — the common, fast path — and only when
//! that fails and such tokens are present, rewrite them (outside strings) as
//! the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, which is how Zarr v3
//! spells non-finite fill values, and parse again.

use serde_json::Value;

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

pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Ok(v),
        Err(strict) => {
            if let Some(rewritten) = quote_non_finite_tokens(bytes)
                && let Ok(v) = serde_json::from_slice(&rewritten)
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
