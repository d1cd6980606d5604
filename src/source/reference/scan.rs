//! The one-pass JSON reference scanner: reads a kerchunk JSON reference set
//! (spec version 0 or 1) as a stream and fills a [`Scanned`]: metadata
//! documents whole, chunk entries only counted (by directory and target
//! file), never the whole file in memory.
//!
//! serde_json drives the pass (`Deserializer::from_reader` with visitors
//! over the top level and `refs`); a key is copied into one reused buffer,
//! a chunk value is looked at through `&str`/numbers and counted, so an
//! entry costs no allocation unless its directory or target is new, it is
//! invalid (and among the first [`INVALID_KEPT`]) or the caller keeps it.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufReader, Read};

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::model::{
    Compression, Entry, GenEntry, INVALID_KEPT, Invalid, Scanned, directory_of, is_metadata_key,
};

/// What the caller wants from a scan.
pub struct ScanOptions<'a> {
    /// Which chunk keys to keep as [`Entry`] in [`Scanned::kept`].
    pub keep: &'a (dyn Fn(&str) -> bool + Sync),
    /// The most decompressed JSON read before giving up (a zstd or gzip
    /// bomb stops here).
    pub max_json_bytes: u64,
}

/// Why a reference set could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("the reference set is not JSON: line {line}, column {column}: {message}")]
    NotJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("the file is JSON but not a kerchunk reference set: {why}")]
    NotReferenceSet { why: String },
    #[error(
        "the reference set holds more than {limit} bytes of JSON (after decompression); reading stopped there: raise the byte budget if the set is that large"
    )]
    TooLarge { limit: u64 },
    #[error("reading the reference set: {0}")]
    Io(#[source] io::Error),
}

/// zstd's frame magic (RFC 8878) and gzip's (RFC 1952).
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const GZIP_MAGIC: [u8; 2] = [0x1F, 0x8B];

/// The read buffer between the (decompressed) file and serde_json: large
/// enough that reads are few, small beside the state a scan keeps.
const READ_BUFFER: usize = 64 << 10;

/// Finds the compression of a reference file from its first bytes (not
/// its name: fsspec writes `compression=` output under any name) and
/// returns a reader of its JSON.
pub fn open(
    mut reader: impl Read + Send + 'static,
) -> io::Result<(Compression, Box<dyn Read + Send>)> {
    let mut head = [0u8; 4];
    let mut filled = 0;
    while filled < head.len() {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = &head[..filled];
    let whole = io::Cursor::new(head.to_vec()).chain(reader);
    if head.starts_with(&ZSTD_MAGIC) {
        Ok((
            Compression::Zstd,
            Box::new(zstd::stream::read::Decoder::new(whole)?),
        ))
    } else if head.starts_with(&GZIP_MAGIC) {
        // Multi: a gzip file may hold several members, as `cat a.gz b.gz`.
        Ok((
            Compression::Gzip,
            Box::new(flate2::read::MultiGzDecoder::new(whole)),
        ))
    } else {
        Ok((Compression::None, Box::new(whole)))
    }
}

/// Reads a JSON reference set in one streaming pass.
pub fn scan(reader: impl Read, options: &ScanOptions) -> Result<Scanned, ScanError> {
    let mut bounded = Bounded {
        inner: reader,
        read: 0,
        limit: options.max_json_bytes,
        over: false,
    };
    let mut state = State {
        keep: options.keep,
        out: Scanned::default(),
        key: String::new(),
        url: String::new(),
        version: None,
        saw_refs: false,
        not_reference: None,
        keys: 0,
    };
    let outcome = {
        let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(
            READ_BUFFER,
            &mut bounded,
        ));
        TopSeed(&mut state)
            .deserialize(&mut de)
            .and_then(|()| de.end())
    };
    if let Err(e) = outcome {
        if bounded.over {
            return Err(ScanError::TooLarge {
                limit: options.max_json_bytes,
            });
        }
        if let Some(why) = state.not_reference.take() {
            return Err(ScanError::NotReferenceSet { why });
        }
        return Err(match e.classify() {
            serde_json::error::Category::Io => ScanError::Io(e.into()),
            _ => ScanError::NotJson {
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            },
        });
    }
    let mut out = state.out;
    out.version = match state.version {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => 1,
        Some(other) => {
            return Err(ScanError::NotReferenceSet {
                why: format!(
                    "\"version\" is {other}; kerchunk reference sets are version 0 (no \"version\") or 1"
                ),
            });
        }
        None if state.saw_refs => 1,
        None => 0,
    };
    if out.metadata.is_empty() {
        return Err(ScanError::NotReferenceSet {
            why: format!(
                "none of its {} keys is Zarr metadata (.zgroup, .zarray, .zattrs, .zmetadata or zarr.json)",
                state.keys
            ),
        });
    }
    out.json_bytes = bounded.read;
    Ok(out)
}

/// serde_json's message without its " at line L column C" (the error says
/// the position itself).
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Counts the bytes read and fails once they pass the limit, so that a
/// decompression bomb stops at the bound.
struct Bounded<R> {
    inner: R,
    read: u64,
    limit: u64,
    over: bool,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // At most one byte past the limit: enough to know it was passed.
        let room = self.limit.saturating_sub(self.read).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.read += n as u64;
        if self.read > self.limit {
            self.over = true;
            return Err(io::Error::other("over the JSON byte bound"));
        }
        Ok(n)
    }
}

struct State<'o> {
    keep: &'o (dyn Fn(&str) -> bool + Sync),
    out: Scanned,
    /// The key being read (one buffer, reused for every key).
    key: String,
    /// The URL of the entry being read (reused likewise).
    url: String,
    version: Option<Value>,
    saw_refs: bool,
    /// Set with the reason when the JSON is fine but not a reference set.
    not_reference: Option<String>,
    keys: u64,
}

/// Padding optional, as Python's `base64.b64decode` accepts both.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Updates `map[key]`, looked up by `&str` first: a key already seen costs
/// no String.
fn bump<V: Default>(map: &mut HashMap<String, V>, key: &str, update: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(value) => update(value),
        None => {
            let mut value = V::default();
            update(&mut value);
            map.insert(key.to_string(), value);
        }
    }
}

/// The decoded length of base64 text, without decoding it.
fn base64_len(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let pad = bytes
        .iter()
        .rev()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count();
    ((bytes.len() - pad) as u64) * 3 / 4
}

impl State<'_> {
    fn invalid(&mut self, why: impl Into<String>) {
        self.out.invalid_count += 1;
        if self.out.invalid.len() < INVALID_KEPT {
            self.out.invalid.push(Invalid {
                key: self.key.clone(),
                why: why.into(),
            });
        }
    }

    fn inline(&mut self, text: &str) {
        let (bytes, base64) = match text.strip_prefix("base64:") {
            Some(encoded) => (base64_len(encoded), Some(encoded)),
            None => (text.len() as u64, None),
        };
        if (self.keep)(&self.key) {
            let data = match base64 {
                Some(encoded) => match BASE64.decode(encoded) {
                    Ok(data) => data,
                    Err(e) => {
                        return self.invalid(format!("inline base64 that does not decode: {e}"));
                    }
                },
                None => text.as_bytes().to_vec(),
            };
            self.out.kept.push((self.key.clone(), Entry::Inline(data)));
        }
        bump(&mut self.out.chunks, directory_of(&self.key), |tally| {
            tally.inline += 1;
            tally.inline_bytes += bytes;
        });
    }

    /// `[url]` (range None) or `[url, offset, length]`; the URL is in
    /// `self.url`.
    fn reference(&mut self, range: Option<(u64, u64)>) {
        if (self.keep)(&self.key) {
            let url = self.url.clone();
            let entry = match range {
                Some((offset, length)) => Entry::Range {
                    url,
                    offset,
                    length,
                },
                None => Entry::WholeFile { url },
            };
            self.out.kept.push((self.key.clone(), entry));
        }
        bump(&mut self.out.targets, &self.url, |target| match range {
            Some((offset, length)) => {
                target.references += 1;
                target.bytes += length;
                target.max_end = target.max_end.max(offset + length);
            }
            None => target.whole_file += 1,
        });
        bump(
            &mut self.out.chunks,
            directory_of(&self.key),
            |tally| match range {
                Some((_, length)) => {
                    tally.referenced += 1;
                    tally.referenced_bytes += length;
                }
                None => tally.whole_files += 1,
            },
        );
    }

    /// A metadata key's value: a string (the document, maybe base64) or an
    /// object (the document itself).
    fn metadata(&mut self, raw: &RawValue) {
        let text = raw.get();
        let document = if text.starts_with('"') {
            let Ok(string) = serde_json::from_str::<String>(text) else {
                return self.invalid("a metadata string serde_json could not read back");
            };
            match string.strip_prefix("base64:") {
                Some(encoded) => match BASE64.decode(encoded) {
                    Ok(data) => data,
                    Err(e) => {
                        return self
                            .invalid(format!("metadata in base64 that does not decode: {e}"));
                    }
                },
                None => string.into_bytes(),
            }
        } else if text.starts_with('{') {
            text.as_bytes().to_vec()
        } else {
            return self.invalid(format!(
                "a Zarr metadata key whose value is {}, not a JSON document (string or object)",
                kind_of_raw(text)
            ));
        };
        self.out.metadata.push((self.key.clone(), document));
    }

    fn templates(&mut self, templates: serde_json::Map<String, Value>) {
        for (name, value) in templates {
            match value {
                Value::String(text) => self.out.templates.push((name, text)),
                other => {
                    self.key = format!("templates/{name}");
                    self.invalid(format!(
                        "a template whose value is {}, not a string",
                        kind_of(&other)
                    ));
                }
            }
        }
    }

    fn generators(&mut self, items: Vec<Value>) {
        for (i, item) in items.into_iter().enumerate() {
            let key = item.get("key").and_then(Value::as_str);
            match key {
                Some(key) => self.out.generated.push(GenEntry {
                    key: key.to_string(),
                    count: item.get("dimensions").and_then(gen_count),
                }),
                None => {
                    self.key = format!("gen[{i}]");
                    self.invalid("a gen entry without a \"key\" string");
                }
            }
        }
    }
}

/// The keys a `gen` entry's dimensions generate: the product of their
/// lengths (`{start, stop, step}` as Python's `range`, or a list), None
/// when a dimension is malformed or the product overflows.
fn gen_count(dimensions: &Value) -> Option<u64> {
    let mut total: u64 = 1;
    for dimension in dimensions.as_object()?.values() {
        let length = match dimension {
            Value::Array(values) => values.len() as u64,
            Value::Object(range) => {
                let field = |name: &str, default: i64| match range.get(name) {
                    None => Some(default),
                    Some(v) => v.as_i64(),
                };
                let (start, stop, step) = (
                    i128::from(field("start", 0)?),
                    i128::from(range.get("stop")?.as_i64()?),
                    i128::from(field("step", 1)?),
                );
                let length = match step {
                    0 => return None,
                    s if s > 0 && stop > start => (stop - start + s - 1) / s,
                    s if s < 0 && start > stop => (start - stop - s - 1) / -s,
                    _ => 0,
                };
                u64::try_from(length).ok()?
            }
            _ => return None,
        };
        total = total.checked_mul(length)?;
    }
    Some(total)
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true or false",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn kind_of_raw(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'n') => "null",
        Some(b't' | b'f') => "true or false",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        _ => "a number",
    }
}

/// Copies a map key into the reused key buffer.
struct KeySeed<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(key);
        Ok(())
    }
}

/// The whole document: version 0 (the keys themselves) or version 1
/// (`version`, `templates`, `gen`, `refs` in any order).
struct TopSeed<'a, 'o>(&'a mut State<'o>);

impl<'de> DeserializeSeed<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl TopSeed<'_, '_> {
    fn not_an_object<E: de::Error>(self, what: &str) -> Result<(), E> {
        let why = format!("the top level is {what}, not an object of keys");
        self.0.not_reference = Some(why.clone());
        Err(E::custom(why))
    }
}

impl<'de> Visitor<'de> for TopSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of keys")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        while map.next_key_seed(KeySeed(&mut state.key))?.is_some() {
            match state.key.as_str() {
                "version" => state.version = Some(map.next_value()?),
                "refs" => map.next_value_seed(RefsSeed(state))?,
                // Small sections, read whole; anything else under these
                // names is an ordinary (version 0) entry.
                "templates" => match map.next_value()? {
                    Value::Object(templates) => state.templates(templates),
                    other => entry_from_value(state, other)?,
                },
                "gen" => match map.next_value()? {
                    Value::Array(items) => state.generators(items),
                    other => entry_from_value(state, other)?,
                },
                _ => map.next_value_seed(ValueSeed(state))?,
            }
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object("an array")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object("a string")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object("true or false")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object("null")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object("a number")
    }
}

fn entry_from_value<E: de::Error>(state: &mut State, value: Value) -> Result<(), E> {
    EntrySeed(state).deserialize(value).map_err(E::custom)
}

/// The value of a top-level `refs`: the version 1 map (or, not an object,
/// an ordinary entry named `refs`).
struct RefsSeed<'a, 'o>(&'a mut State<'o>);

impl<'de> DeserializeSeed<'de> for RefsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RefsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the refs object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let state = self.0;
        state.saw_refs = true;
        while map.next_key_seed(KeySeed(&mut state.key))?.is_some() {
            map.next_value_seed(ValueSeed(state))?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        EntrySeed(self.0).visit_seq(seq)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        EntrySeed(self.0).visit_str(v)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        EntrySeed(self.0).visit_bool(v)
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        EntrySeed(self.0).visit_unit()
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        EntrySeed(self.0).visit_u64(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        EntrySeed(self.0).visit_i64(v)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        EntrySeed(self.0).visit_f64(v)
    }
}

/// One key's value: a metadata document or a chunk entry.
struct ValueSeed<'a, 'o>(&'a mut State<'o>);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        let state = self.0;
        state.keys += 1;
        if is_metadata_key(&state.key) {
            let raw: Box<RawValue> = de::Deserialize::deserialize(de)?;
            state.metadata(&raw);
            Ok(())
        } else {
            EntrySeed(state).deserialize(de)
        }
    }
}

/// A chunk entry, counted (and kept when asked).
struct EntrySeed<'a, 'o>(&'a mut State<'o>);

impl<'de> DeserializeSeed<'de> for EntrySeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a reference: a string, [url] or [url, offset, length]")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        self.0.inline(v);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let state = self.0;
        let why = match seq.next_element_seed(Element(Some(&mut state.url)))? {
            None => Some("an empty array".to_string()),
            Some(Scalar::Text) => match seq.next_element_seed(Element(None))? {
                None => {
                    state.reference(None);
                    None
                }
                Some(Scalar::Count(offset)) => match seq.next_element_seed(Element(None))? {
                    Some(Scalar::Count(length)) => match seq.next_element::<IgnoredAny>()? {
                        None if offset.checked_add(length).is_some() => {
                            state.reference(Some((offset, length)));
                            None
                        }
                        None => Some("offset + length past 2^64".to_string()),
                        Some(_) => Some("an array of more than three elements".to_string()),
                    },
                    Some(other) => Some(format!(
                        "[url, offset, length] whose length is {}",
                        other.kind()
                    )),
                    None => Some("[url, offset] without a length".to_string()),
                },
                Some(other) => Some(format!(
                    "[url, …] whose second element is {}, not an offset",
                    other.kind()
                )),
            },
            Some(other) => Some(format!(
                "an array whose first element is {}, not a URL",
                other.kind()
            )),
        };
        if let Some(why) = why {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            state.invalid(why);
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.0
            .invalid("a JSON object under a chunk key (objects are for metadata keys)");
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.invalid("true or false, not a reference");
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.invalid("null, not a reference");
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.invalid("a number, not a reference");
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.invalid("a number, not a reference");
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.invalid("a number, not a reference");
        Ok(())
    }
}

/// One element of a reference array, seen without allocating: text (copied
/// into the URL buffer when one is given), a count (an offset or length),
/// or something else.
enum Scalar {
    Text,
    Count(u64),
    Other(&'static str),
}

impl Scalar {
    fn kind(&self) -> &'static str {
        match self {
            Scalar::Text => "a string",
            Scalar::Count(_) => "a number",
            Scalar::Other(kind) => kind,
        }
    }
}

struct Element<'a>(Option<&'a mut String>);

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = Scalar;
    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Scalar, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a URL, offset or length")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        if let Some(buffer) = self.0 {
            buffer.clear();
            buffer.push_str(v);
        }
        Ok(Scalar::Text)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::Count(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(u64::try_from(v).map_or(Scalar::Other("a negative number"), Scalar::Count))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other("a fractional number"))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other("true or false"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other("an object"))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::source::reference::model::Tally;

    const ZGROUP: &str = r#"".zgroup": "{\"zarr_format\": 2}""#;

    fn scan_text(text: &str) -> Result<Scanned, ScanError> {
        scan_keeping(text, &|_| false)
    }

    fn scan_keeping(
        text: &str,
        keep: &(dyn Fn(&str) -> bool + Sync),
    ) -> Result<Scanned, ScanError> {
        let options = ScanOptions {
            keep,
            max_json_bytes: 1 << 20,
        };
        scan(text.as_bytes(), &options)
    }

    fn tally(scanned: &Scanned, dir: &str) -> Tally {
        scanned.chunks.get(dir).copied().unwrap_or_default()
    }

    #[test]
    fn version_0_counts_entries_by_directory_and_target() {
        let text = format!(
            r#"{{{ZGROUP}, "t/.zarray": {{"shape": [2]}}, "t/0": ["s3://b/f.nc", 10, 5],
                "t/1": ["s3://b/f.nc", 100, 7], "t/2": ["s3://b/g.nc"], "t/3": "abc", "0": "base64:AAEC"}}"#
        );
        let s = scan_text(&text).unwrap();
        assert_eq!(s.version, 0);
        assert_eq!(
            s.metadata[0],
            (".zgroup".to_string(), br#"{"zarr_format": 2}"#.to_vec())
        );
        // An object value is kept as its JSON text.
        assert_eq!(
            s.metadata[1],
            ("t/.zarray".to_string(), br#"{"shape": [2]}"#.to_vec())
        );
        let t = tally(&s, "t");
        assert_eq!(
            (t.referenced, t.referenced_bytes, t.whole_files),
            (2, 12, 1)
        );
        assert_eq!((t.inline, t.inline_bytes), (1, 3));
        assert_eq!(
            tally(&s, ""),
            Tally {
                inline: 1,
                inline_bytes: 3,
                ..Tally::default()
            }
        );
        let f = s.targets["s3://b/f.nc"];
        assert_eq!(
            (f.references, f.bytes, f.max_end, f.whole_file),
            (2, 12, 107, 0)
        );
        assert_eq!(s.targets["s3://b/g.nc"].whole_file, 1);
        assert_eq!(s.json_bytes, text.len() as u64);
    }

    #[test]
    fn version_1_in_any_key_order_with_templates_and_gen() {
        // refs before templates, version last.
        let text = format!(
            r#"{{"refs": {{{ZGROUP}, "a/0": ["{{{{u}}}}", 0, 10]}},
                "gen": [{{"key": "g/{{{{i}}}}.{{{{j}}}}", "url": "x", "dimensions": {{"i": {{"stop": 5}}, "j": [1, 2, 3]}}}},
                        {{"key": "h/{{{{i}}}}", "url": "x", "dimensions": {{"i": {{"start": 10, "stop": 0, "step": -3}}}}}},
                        {{"key": "big", "url": "x", "dimensions": {{"i": {{"stop": 9000000000000000000}}, "j": {{"stop": 9000000000000000000}}}}}}],
                "templates": {{"u": "s3://b/day1.nc", "v": "s3://b/day2.nc"}}, "version": 1}}"#
        );
        let s = scan_text(&text).unwrap();
        assert_eq!(s.version, 1);
        assert_eq!(
            s.templates,
            vec![
                ("u".into(), "s3://b/day1.nc".into()),
                ("v".into(), "s3://b/day2.nc".into())
            ]
        );
        assert_eq!(s.targets["{{u}}"].references, 1);
        assert_eq!(tally(&s, "a").referenced_bytes, 10);
        let counts: Vec<_> = s
            .generated
            .iter()
            .map(|g| (g.key.as_str(), g.count))
            .collect();
        assert_eq!(
            counts,
            [
                ("g/{{i}}.{{j}}", Some(15)),
                ("h/{{i}}", Some(4)),
                ("big", None)
            ]
        );
        // Nothing of gen expanded into the counts.
        assert!(!s.chunks.contains_key("g"));
    }

    #[test]
    fn refs_alone_means_version_1_and_other_versions_are_refused() {
        let s = scan_text(&format!(r#"{{"refs": {{{ZGROUP}}}}}"#)).unwrap();
        assert_eq!(s.version, 1);
        let e = scan_text(&format!(r#"{{"version": 2, "refs": {{{ZGROUP}}}}}"#)).unwrap_err();
        assert!(
            matches!(e, ScanError::NotReferenceSet { ref why } if why.contains("\"version\" is 2")),
            "{e}"
        );
    }

    #[test]
    fn base64_metadata_and_inline_chunks_decode_and_count() {
        // {"zarr_format": 3, ...} as base64; inline chunks of 1, 2 and 3 bytes
        // with and without padding.
        let doc = BASE64.encode(br#"{"zarr_format":3,"node_type":"group"}"#);
        let text = format!(
            r#"{{"zarr.json": "base64:{doc}", "a/0": "base64:AA==", "a/1": "base64:AAE", "a/2": "base64:AAEC", "a/3": "base64:AA"}}"#
        );
        let s = scan_keeping(&text, &|key| key == "a/1").unwrap();
        assert_eq!(
            s.metadata[0].1,
            br#"{"zarr_format":3,"node_type":"group"}"#.to_vec()
        );
        let a = tally(&s, "a");
        assert_eq!((a.inline, a.inline_bytes), (4, 1 + 2 + 3 + 1));
        assert_eq!(s.kept, vec![("a/1".to_string(), Entry::Inline(vec![0, 1]))]);
    }

    #[test]
    fn kept_entries_are_exactly_the_ones_asked_for() {
        let text = format!(
            r#"{{{ZGROUP}, "time/0": "text", "time/1": ["s3://b/f.nc", 4, 8], "time/2": ["s3://b/g.nc"], "x/0": "no"}}"#
        );
        let s = scan_keeping(&text, &|key| key.starts_with("time/")).unwrap();
        assert_eq!(
            s.kept,
            vec![
                ("time/0".into(), Entry::Inline(b"text".to_vec())),
                (
                    "time/1".into(),
                    Entry::Range {
                        url: "s3://b/f.nc".into(),
                        offset: 4,
                        length: 8
                    }
                ),
                (
                    "time/2".into(),
                    Entry::WholeFile {
                        url: "s3://b/g.nc".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn invalid_entries_are_counted_not_fatal() {
        let mut text = format!(
            r#"{{{ZGROUP}, "a/n": 5, "a/null": null, "a/str": ["u", "x"], "a/obj": {{"k": [1, 2]}},
                "a/neg": ["u", -1, 5], "a/empty": [], "a/four": ["u", 1, 2, 3], "a/two": ["u", 1],
                "a/ok": ["u", 1, 2]"#
        );
        for i in 0..30 {
            text.push_str(&format!(r#", "b/{i}": true"#));
        }
        text.push('}');
        let s = scan_text(&text).unwrap();
        assert_eq!(s.invalid_count, 38);
        assert_eq!(s.invalid.len(), INVALID_KEPT);
        let whys: HashMap<&str, &str> = s
            .invalid
            .iter()
            .map(|i| (i.key.as_str(), i.why.as_str()))
            .collect();
        assert!(whys["a/n"].contains("a number"));
        assert!(whys["a/str"].contains("second element is a string"));
        assert!(whys["a/obj"].contains("JSON object"));
        assert!(whys["a/neg"].contains("negative"));
        assert!(whys["a/four"].contains("more than three"));
        assert!(whys["a/two"].contains("without a length"));
        // The valid one after them is counted, the invalid ones are not.
        assert_eq!(
            tally(&s, "a"),
            Tally {
                referenced: 1,
                referenced_bytes: 2,
                ..Tally::default()
            }
        );
    }

    #[test]
    fn awkward_keys_and_urls_are_decoded() {
        let text = r#"{".zgroup": "{}", "gr\u00fcn/.zarray": "{}", "with space/0": ["s3://b/f%20x \u00fc.nc", 0, 3],
            "with space/%20": ["s3://b/f%20x \u00fc.nc", 3, 3]}"#;
        let s = scan_keeping(text, &|key| key == "with space/%20").unwrap();
        assert_eq!(s.metadata[1].0, "grün/.zarray");
        assert_eq!(tally(&s, "with space").referenced, 2);
        assert_eq!(s.targets["s3://b/f%20x ü.nc"].max_end, 6);
        assert_eq!(
            s.kept[0],
            (
                "with space/%20".into(),
                Entry::Range {
                    url: "s3://b/f%20x ü.nc".into(),
                    offset: 3,
                    length: 3
                }
            )
        );
    }

    #[test]
    fn truncated_json_names_its_position() {
        let e = scan_text("{\".zgroup\": \"{}\",\n \"a/0\": [\"s3://b\", 1").unwrap_err();
        match e {
            ScanError::NotJson {
                line,
                column,
                ref message,
            } => {
                assert_eq!((line, column), (2, 20), "{e}");
                assert!(message.contains("EOF"), "{message}");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn json_that_is_not_a_reference_set_says_why() {
        let e = scan_text("[1, 2]").unwrap_err();
        assert!(
            matches!(e, ScanError::NotReferenceSet { ref why } if why.contains("an array")),
            "{e}"
        );
        let e = scan_text(r#"{"a/0": ["s3://b", 0, 1]}"#).unwrap_err();
        assert!(
            matches!(e, ScanError::NotReferenceSet { ref why } if why.contains("none of its 1 keys")),
            "{e}"
        );
    }

    fn compressed(
        encoder: impl FnOnce(&[u8]) -> Vec<u8>,
        text: &str,
    ) -> (Compression, Result<Scanned, ScanError>) {
        let (compression, reader) = open(io::Cursor::new(encoder(text.as_bytes()))).unwrap();
        (compression, scan_keeping_reader(reader, 1 << 20))
    }

    fn scan_keeping_reader(reader: impl Read, max_json_bytes: u64) -> Result<Scanned, ScanError> {
        let keep = |_: &str| false;
        scan(
            reader,
            &ScanOptions {
                keep: &keep,
                max_json_bytes,
            },
        )
    }

    #[test]
    fn zstd_gzip_and_plain_are_found_by_content() {
        let text = format!(r#"{{{ZGROUP}, "a/0": ["s3://b", 0, 1]}}"#);
        let zstd = |b: &[u8]| zstd::encode_all(b, 3).unwrap();
        let gzip = |b: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        };
        for (encoder, expected) in [
            (&zstd as &dyn Fn(&[u8]) -> Vec<u8>, Compression::Zstd),
            (&gzip, Compression::Gzip),
            (&|b: &[u8]| b.to_vec(), Compression::None),
        ] {
            let (compression, scanned) = compressed(encoder, &text);
            assert_eq!(compression, expected);
            let scanned = scanned.unwrap();
            assert_eq!(
                (scanned.json_bytes, tally(&scanned, "a").referenced),
                (text.len() as u64, 1)
            );
        }
    }

    #[test]
    fn a_zstd_bomb_stops_at_the_bound() {
        // 64 MiB of spaces inside a valid document, compressed to a few KiB.
        let mut text = Vec::from(&b"{\".zgroup\": \"{}\", \"a\": \""[..]);
        text.resize(64 << 20, b' ');
        text.extend_from_slice(b"\"}");
        let bomb = zstd::encode_all(&text[..], 19).unwrap();
        assert!(bomb.len() < 64 << 10);
        let (_, reader) = open(io::Cursor::new(bomb)).unwrap();
        let limit = 1 << 20;
        let mut counted = Bounded {
            inner: reader,
            read: 0,
            limit: u64::MAX,
            over: false,
        };
        let e = scan_keeping_reader(&mut counted, limit).unwrap_err();
        assert!(matches!(e, ScanError::TooLarge { limit: 1048576 }), "{e}");
        // Stopped at the bound, not at the end of the bomb.
        assert!(
            counted.read <= limit + 2 * READ_BUFFER as u64,
            "{}",
            counted.read
        );
    }
}
