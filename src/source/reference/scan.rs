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
use std::marker::PhantomData;
use std::ops::Range;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
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
    #[error(
        "the value of the key {key} is larger than {limit} bytes, far beyond any kerchunk writes; reading stopped there: the file is damaged or not a reference set"
    )]
    MemberTooLarge { key: String, limit: usize },
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

/// How many bytes [`scan`] reads at a time.
const BLOCK: usize = 256 << 10;

/// The largest member (a key and its value) [`scan`] holds: far above
/// anything kerchunk writes, and the bound of the buffer.
const MAX_MEMBER: usize = 64 << 20;

/// Reads a JSON reference set in one streaming pass.
pub fn scan(reader: impl Read, options: &ScanOptions) -> Result<Scanned, ScanError> {
    scan_blocks(reader, options, BLOCK, MAX_MEMBER)
}

// Why a splitter: serde_json's `from_reader` takes its input a byte at a
// time through `Read`, at less than half the speed of `from_slice`. So the
// stream is read in blocks into one reused buffer, a minimal splitter finds
// where each member of the reference map ends (it tracks strings, escapes
// and the depth of {} and [], nothing else) and serde_json parses each
// complete member from the buffer: all parsing and validation stay
// serde_json's; the splitter checks only the structural bytes between
// members (`:`, `,`, `}`), with serde_json's words for what is wrong.
fn scan_blocks(
    reader: impl Read,
    options: &ScanOptions,
    block: usize,
    max_member: usize,
) -> Result<Scanned, ScanError> {
    let mut blocks = Blocks {
        reader: Bounded {
            inner: reader,
            read: 0,
            limit: options.max_json_bytes,
            over: false,
        },
        buf: Vec::new(),
        pos: 0,
        end: 0,
        eof: false,
        block: block.max(1),
        max_member,
        dropped: 0,
        dropped_lines: 0,
        dropped_line_start: 0,
    };
    let mut state = State::new(options);
    blocks.document(&mut state)?;
    finish(state, blocks.reader.read)
}

/// serde_json's words for a structural byte that is wrong.
const EOF_OBJECT: &str = "EOF while parsing an object";
const EOF_VALUE: &str = "EOF while parsing a value";
const EXPECTED_COLON: &str = "expected `:`";
const EXPECTED_COMMA_OR_END: &str = "expected `,` or `}`";
const KEY_NOT_STRING: &str = "key must be a string";
const TRAILING_COMMA: &str = "trailing comma";
const TRAILING_CHARACTERS: &str = "trailing characters";

/// A structural byte that is wrong (or the end of the input): where, from
/// the start of the member, and what was expected.
#[derive(Debug, PartialEq)]
struct Broke {
    at: usize,
    message: &'static str,
}

/// A map member up to its value, split from the bytes at hand.
#[derive(Debug, PartialEq)]
enum Head {
    /// More bytes needed (the key, if it is complete).
    More(Option<Range<usize>>),
    /// The `}` of an empty map: the bytes up to it.
    Close(usize),
    Broken(Broke),
    /// The key (to the end of the input if cut there), then the first byte
    /// of the value (the end of the input if none) or what is wrong.
    Key(Range<usize>, Result<usize, Broke>),
}

/// A member's value and the `,` or `}` after it.
#[derive(Debug, PartialEq)]
enum Tail {
    More,
    /// The value (to the end of the input if cut there), then the bytes to
    /// the separator included and whether it closes the map, or what is
    /// wrong.
    Value(Range<usize>, Result<(usize, bool), Broke>),
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

fn skip_whitespace(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(|&c| is_whitespace(c)) {
        i += 1;
    }
    i
}

/// The bytes of a number, `true`, `false` or `null` (and of their typos,
/// which serde_json then reports).
fn is_literal(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

/// Nonzero where a byte of `word` equals `byte`; its lowest set bit is in
/// the first such byte.
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let x = word ^ (u64::from(byte) * 0x0101_0101_0101_0101);
    x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080
}

/// The end (past the closing quote) of the string opening at `open`; None
/// when the bytes end first.
fn string_end(b: &[u8], open: usize) -> Option<usize> {
    let mut i = open + 1;
    loop {
        // Eight bytes at a time to the next quote or backslash.
        while let Some(word) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
            let word = u64::from_le_bytes(*word);
            let found = bytes_equal(word, b'"') | bytes_equal(word, b'\\');
            if found != 0 {
                i += (found.trailing_zeros() / 8) as usize;
                break;
            }
            i += 8;
        }
        match *b.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The end of the value starting at `start` (not whitespace); None when
/// the bytes end first.
fn value_end(b: &[u8], start: usize) -> Option<usize> {
    match *b.get(start)? {
        b'"' => string_end(b, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match *b.get(i)? {
                    b'"' => {
                        i = string_end(b, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        // One byte that starts no value: serde_json says so.
        c if !is_literal(c) => Some(start + 1),
        _ => b[start..]
            .iter()
            .position(|&c| !is_literal(c))
            .map(|n| start + n),
    }
}

/// Splits a map member's key and colon; `first`: right after the `{`.
fn split_head(b: &[u8], eof: bool, first: bool) -> Head {
    let i = skip_whitespace(b, 0);
    match b.get(i) {
        None if eof => Head::Broken(Broke {
            at: i,
            message: if first { EOF_OBJECT } else { EOF_VALUE },
        }),
        None => Head::More(None),
        Some(b'}') if first => Head::Close(i + 1),
        Some(b'}') => Head::Broken(Broke {
            at: i,
            message: TRAILING_COMMA,
        }),
        Some(b'"') => {
            let Some(key_end) = string_end(b, i) else {
                return if eof {
                    let at = b.len();
                    Head::Key(
                        i..at,
                        Err(Broke {
                            at,
                            message: EOF_OBJECT,
                        }),
                    )
                } else {
                    Head::More(None)
                };
            };
            let key = i..key_end;
            let colon = skip_whitespace(b, key_end);
            match b.get(colon) {
                Some(b':') => {}
                Some(_) => {
                    return Head::Key(
                        key,
                        Err(Broke {
                            at: colon,
                            message: EXPECTED_COLON,
                        }),
                    );
                }
                None if eof => {
                    return Head::Key(
                        key,
                        Err(Broke {
                            at: colon,
                            message: EOF_OBJECT,
                        }),
                    );
                }
                None => return Head::More(Some(key)),
            }
            let value = skip_whitespace(b, colon + 1);
            if value == b.len() && !eof {
                return Head::More(Some(key));
            }
            Head::Key(key, Ok(value))
        }
        Some(_) => Head::Broken(Broke {
            at: i,
            message: KEY_NOT_STRING,
        }),
    }
}

/// The `,` or `}` after a value ending at `i`; None when more bytes are
/// needed.
fn split_after(b: &[u8], i: usize, eof: bool) -> Option<Result<(usize, bool), Broke>> {
    let j = skip_whitespace(b, i);
    match b.get(j) {
        Some(b',') => Some(Ok((j + 1, false))),
        Some(b'}') => Some(Ok((j + 1, true))),
        Some(_) => Some(Err(Broke {
            at: j,
            message: EXPECTED_COMMA_OR_END,
        })),
        None if eof => Some(Err(Broke {
            at: j,
            message: EOF_OBJECT,
        })),
        None => None,
    }
}

/// Splits a member's value starting at `start` and the separator after it.
fn split_tail(b: &[u8], start: usize, eof: bool) -> Tail {
    let Some(end) = value_end(b, start) else {
        if eof {
            let at = b.len();
            return Tail::Value(
                start..at,
                Err(Broke {
                    at,
                    message: EOF_OBJECT,
                }),
            );
        }
        return Tail::More;
    };
    match split_after(b, end, eof) {
        Some(after) => Tail::Value(start..end, after),
        None => Tail::More,
    }
}

/// The stream in blocks: `buf[pos..end]` holds what is read and not yet
/// used, starting with the member being split.
struct Blocks<R> {
    reader: Bounded<R>,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    block: usize,
    max_member: usize,
    /// Bytes dropped from the front of `buf` so far, the newlines among
    /// them and where the line after the last one starts: for positions.
    dropped: u64,
    dropped_lines: usize,
    dropped_line_start: u64,
}

impl<R: Read> Blocks<R> {
    fn rest(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }

    fn skip_whitespace(&mut self) {
        self.pos += skip_whitespace(self.rest(), 0);
    }

    /// Moves the bytes from `pos` on to the front and reads at least a
    /// block more, or as many as are held: a long member is split again
    /// a bounded number of times. False at the end of the input.
    fn fill(&mut self) -> Result<bool, ScanError> {
        if self.eof {
            return Ok(false);
        }
        if self.pos > 0 {
            let gone = &self.buf[..self.pos];
            if let Some(last) = gone.iter().rposition(|&b| b == b'\n') {
                self.dropped_lines += gone.iter().filter(|&&b| b == b'\n').count();
                self.dropped_line_start = self.dropped + last as u64 + 1;
            }
            self.dropped += self.pos as u64;
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        // The buffer stays one block until a member fills half of it;
        // then it doubles with the member.
        if self.buf.len() < self.end + self.block / 2 + 1 {
            self.buf.resize(self.end + self.block.max(self.end), 0);
        }
        // Not past one byte over the member bound: enough to know.
        let stop = self
            .buf
            .len()
            .min(self.max_member.saturating_add(1))
            .max(self.end + 1);
        let before = self.end;
        while self.end < stop {
            match self.reader.read(&mut self.buf[self.end..stop]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if self.reader.over => {
                    return Err(ScanError::TooLarge {
                        limit: self.reader.limit,
                    });
                }
                Err(e) => return Err(ScanError::Io(e)),
            }
        }
        Ok(self.end > before)
    }

    /// The member from `pos` on needs more bytes: reads them, unless the
    /// member is already over the bound (`key`: its key, when split).
    fn more(&mut self, state: &mut State, key: Option<Range<usize>>) -> Result<(), ScanError> {
        if self.end - self.pos > self.max_member {
            let key = match key {
                Some(key) => {
                    self.parse(key, KeySeed(&mut state.key))?;
                    format!("{:?}", state.key)
                }
                None => {
                    let rest = self.rest();
                    let start = &rest[..rest.len().min(80)];
                    format!("starting {:?}", String::from_utf8_lossy(start))
                }
            };
            return Err(ScanError::MemberTooLarge {
                key,
                limit: self.max_member,
            });
        }
        self.fill().map(|_| ())
    }

    /// serde_json's line and column of `buf[at]`: the line's bytes before it.
    fn position(&self, at: usize) -> (usize, usize) {
        let held = &self.buf[..at];
        let lines = self.dropped_lines + held.iter().filter(|&&b| b == b'\n').count();
        let line_start = match held.iter().rposition(|&b| b == b'\n') {
            Some(i) => self.dropped + i as u64 + 1,
            None => self.dropped_line_start,
        };
        let column = usize::try_from(self.dropped + at as u64 - line_start).unwrap_or(usize::MAX);
        (lines + 1, column)
    }

    fn broken(&self, broke: Broke) -> ScanError {
        // serde_json counts the byte it looked at in the column.
        let at = (self.pos + broke.at + 1).min(self.end);
        let (line, column) = self.position(at);
        ScanError::NotJson {
            line,
            column,
            message: broke.message.to_string(),
        }
    }

    /// An error of serde_json reading from `buf[start..]`, placed in the
    /// whole input.
    fn json_error(&self, start: usize, e: serde_json::Error) -> ScanError {
        if e.classify() == serde_json::error::Category::Io {
            return ScanError::Io(e.into());
        }
        let (line, column) = match (e.line(), self.position(start)) {
            (0, _) => (0, 0),
            (1, (line, column)) => (line, column + e.column()),
            (more, (line, _)) => (line + more - 1, e.column()),
        };
        ScanError::NotJson {
            line,
            column,
            message: strip_position(&e.to_string()),
        }
    }

    /// serde_json reads `range` of the rest (one key or value) with `seed`.
    fn parse<S, T>(&self, range: Range<usize>, seed: S) -> Result<T, ScanError>
    where
        S: for<'de> DeserializeSeed<'de, Value = T>,
    {
        let start = self.pos + range.start;
        let mut de = serde_json::Deserializer::from_slice(&self.buf[start..self.pos + range.end]);
        seed.deserialize(&mut de)
            .and_then(|value| de.end().map(|()| value))
            .map_err(|e| {
                // A literal cut by the splitter (`tru` of `tru}`): serde_json
                // says what is wrong when it sees the byte after it too.
                let next = self.pos + range.end;
                if e.is_eof() && next < self.end {
                    let mut de = serde_json::Deserializer::from_slice(&self.buf[start..=next]);
                    if let Err(e) = IgnoredAny::deserialize(&mut de) {
                        return self.json_error(start, e);
                    }
                }
                self.json_error(start, e)
            })
    }

    fn document(&mut self, state: &mut State) -> Result<(), ScanError> {
        loop {
            self.skip_whitespace();
            if self.pos < self.end || !self.fill()? {
                break;
            }
        }
        if self.rest().first() != Some(&b'{') {
            return self.not_an_object(state);
        }
        self.pos += 1;
        self.map(state, true)?;
        loop {
            self.skip_whitespace();
            if self.pos < self.end {
                return Err(self.broken(Broke {
                    at: 0,
                    message: TRAILING_CHARACTERS,
                }));
            }
            if !self.fill()? {
                return Ok(());
            }
        }
    }

    /// Anything but an object: serde_json and [`TopSeed`] say what it is.
    fn not_an_object(&mut self, state: &mut State) -> Result<(), ScanError> {
        let start = self.pos;
        let outcome = {
            let held = io::Cursor::new(&self.buf[self.pos..self.end]);
            let mut de = serde_json::Deserializer::from_reader(held.chain(&mut self.reader));
            TopSeed(state).deserialize(&mut de).and_then(|()| de.end())
        };
        match outcome {
            Ok(()) => Ok(()),
            Err(_) if self.reader.over => Err(ScanError::TooLarge {
                limit: self.reader.limit,
            }),
            Err(e) => match state.not_reference.take() {
                Some(why) => Err(ScanError::NotReferenceSet { why }),
                None => Err(self.json_error(start, e)),
            },
        }
    }

    /// The members of an object whose `{` is read. `top`: the document's
    /// own (version 0 entries, or version 1 sections, `refs` descended
    /// into); otherwise the entries of `refs`.
    fn map(&mut self, state: &mut State, top: bool) -> Result<(), ScanError> {
        let mut first = true;
        loop {
            self.skip_whitespace();
            let (key, value) = match split_head(self.rest(), self.eof, first) {
                Head::More(key) => {
                    self.more(state, key)?;
                    continue;
                }
                Head::Close(n) => {
                    self.pos += n;
                    return Ok(());
                }
                Head::Broken(broke) => return Err(self.broken(broke)),
                Head::Key(key, value) => (key, value),
            };
            self.parse(key.clone(), KeySeed(&mut state.key))?;
            let value = value.map_err(|broke| self.broken(broke))?;
            if top && state.key == "refs" && self.rest().get(value) == Some(&b'{') {
                state.saw_refs = true;
                self.pos += value + 1;
                self.map(state, false)?;
                loop {
                    self.skip_whitespace();
                    match split_after(self.rest(), 0, self.eof) {
                        None => {
                            self.fill()?;
                        }
                        Some(Ok((n, closes))) => {
                            self.pos += n;
                            if closes {
                                return Ok(());
                            }
                            break;
                        }
                        Some(Err(broke)) => return Err(self.broken(broke)),
                    }
                }
                first = false;
                continue;
            }
            let (value, after) = match split_tail(self.rest(), value, self.eof) {
                Tail::More => {
                    self.more(state, Some(key))?;
                    continue;
                }
                Tail::Value(value, after) => (value, after),
            };
            if top {
                self.section(state, value)?;
            } else {
                self.parse(value, ValueSeed(state))?;
            }
            let (n, closes) = after.map_err(|broke| self.broken(broke))?;
            self.pos += n;
            if closes {
                return Ok(());
            }
            first = false;
        }
    }

    /// A value at the top level, under the key in `state.key`.
    fn section(&self, state: &mut State, value: Range<usize>) -> Result<(), ScanError> {
        let start = self.pos + value.start;
        let as_entry = |state: &mut State, other: Value| {
            entry_from_value::<serde_json::Error>(state, other)
                .map_err(|e| self.json_error(start, e))
        };
        match state.key.as_str() {
            "version" => state.version = Some(self.parse(value, PhantomData::<Value>)?),
            "refs" => self.parse(value, RefsSeed(state))?,
            // Small sections, read whole; anything else under these names
            // is an ordinary (version 0) entry.
            "templates" => match self.parse(value, PhantomData::<Value>)? {
                Value::Object(templates) => state.templates(templates),
                other => as_entry(state, other)?,
            },
            "gen" => match self.parse(value, PhantomData::<Value>)? {
                Value::Array(items) => state.generators(items),
                other => as_entry(state, other)?,
            },
            _ => self.parse(value, ValueSeed(state))?,
        }
        Ok(())
    }
}

/// The first scanner: serde_json's `from_reader` over the whole stream.
/// Kept as the benchmark's baseline and the tests' reference for errors;
/// [`scan`] reads the same sets several times faster.
#[doc(hidden)]
pub fn scan_reader(reader: impl Read, options: &ScanOptions) -> Result<Scanned, ScanError> {
    let mut bounded = Bounded {
        inner: reader,
        read: 0,
        limit: options.max_json_bytes,
        over: false,
    };
    let mut state = State::new(options);
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
    finish(state, bounded.read)
}

/// The checks once the whole set is read: its version, and that it holds
/// Zarr metadata at all.
fn finish(state: State, json_bytes: u64) -> Result<Scanned, ScanError> {
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
    out.json_bytes = json_bytes;
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

impl<'o> State<'o> {
    fn new(options: &ScanOptions<'o>) -> Self {
        State {
            keep: options.keep,
            out: Scanned::default(),
            key: String::new(),
            url: String::new(),
            version: None,
            saw_refs: false,
            not_reference: None,
            keys: 0,
        }
    }

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
        // No metadata name ends with a digit and most keys are chunks
        // (`t/0.1.2`): those are told apart without comparing names.
        let chunk = state.key.ends_with(|c: char| c.is_ascii_digit());
        if !chunk && is_metadata_key(&state.key) {
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

    /// `scan` with a block size and member bound for tests.
    fn scan_small(text: &str, block: usize, max_member: usize) -> Result<Scanned, ScanError> {
        let keep = |key: &str| key.ends_with('0');
        let options = ScanOptions {
            keep: &keep,
            max_json_bytes: 1 << 20,
        };
        scan_blocks(text.as_bytes(), &options, block, max_member)
    }

    /// What the first scanner (serde_json's `from_reader` over all of it)
    /// makes of the text: the reference for results and errors.
    fn scan_before(text: &str) -> Result<Scanned, ScanError> {
        let keep = |key: &str| key.ends_with('0');
        let options = ScanOptions {
            keep: &keep,
            max_json_bytes: 1 << 20,
        };
        scan_reader(text.as_bytes(), &options)
    }

    /// A set with `{`, `}`, `[`, `]`, `,`, `:`, `\"` and `\\` inside keys
    /// and values, and whitespace everywhere JSON allows it.
    const AWKWARD: &str = " \r\n\t{ \"version\" :\n1 ,\"templates\"\t: {\"u\" : \"s3://b/{x},[y]\\\"\"} ,\n\"refs\" : { \".zgroup\" : \"{\\\"zarr_format\\\": 2}\" ,\r\n\"a\\\\/.zarray\":{\"shape\":[ 2 , 3 ],\"k\":\"}]\\\\\"} , \"a\\\\/0\" : [ \"{{u}}\" , 10 , 5 ] ,\"a\\\\/1\":\"in,line}\\\"[\" , \"a\\\\/{2}\"\t:\t[\"s3://b/c\\\\d,e]\"],\"a\\\\/3\":\"base64:AAEC\" , \"a\\\\/n\" : -1.5e3 , \"a\\\\/t\" : true , \"a\\\\/z\":null } , \"gen\" : [ ] }\n\t ";

    #[test]
    fn a_member_across_blocks_reads_the_same_at_every_offset() {
        let before = scan_before(AWKWARD).unwrap();
        assert_eq!(before.invalid_count, 3);
        assert_eq!(before.kept.len(), 1);
        for block in 1..=AWKWARD.len() + 1 {
            let after = scan_small(AWKWARD, block, 1 << 20).unwrap();
            assert_eq!(after, before, "block size {block}");
        }
        // And a version 0 set read the same way.
        let v0 = r#"{".zgroup":"{}", "x/0" : ["s3://b/]}", 1, 2], "x/1": "}{", "x/2":["u"]}"#;
        let before = scan_before(v0).unwrap();
        for block in 1..=v0.len() + 1 {
            assert_eq!(
                scan_small(v0, block, 1 << 20).unwrap(),
                before,
                "block {block}"
            );
        }
    }

    #[test]
    fn broken_json_is_reported_where_and_as_before() {
        let cases = [
            // Between members: the bytes the splitter steps over.
            r#"{".zgroup": "{}" "a/0": "x"}"#,
            r#"{".zgroup" "{}"}"#,
            r#"{".zgroup": "{}",}"#,
            r#"{".zgroup": "{}", 5: "x"}"#,
            r#"{, ".zgroup": "{}"}"#,
            "{\".zgroup\": \"{}\"}\n x",
            r#"{".zgroup": "{}"}}"#,
            r#"{"refs": {".zgroup": "{}"} "version": 1}"#,
            r#"{"refs": {".zgroup": "{}",}}"#,
            // Inside a member: serde_json's own errors.
            "{\".zgroup\": \"{}\",\n  \"a/0\": [\"u\", 1,, 2]}",
            "{\".zgroup\": \"{}\",\n  \"a/0\": [\"u\" 1]}",
            "{\".zgroup\": \"{}\",\n  \"a/0\": [\"u\", 1}",
            r#"{".zgroup": "{}", "a/0": tru}"#,
            r#"{".zgroup": "{}", "a/0": "\x"}"#,
            r#"{".zgroup": "{}", "a/0": }"#,
            r#"{".zgroup": "{}", "a/0": ,}"#,
            // Cut short anywhere.
            r#"{".zgroup": "{}", "a/0": ["u", 1, 2"#,
            r#"{".zgroup": "{}", "a/0": 12"#,
            r#"{".zgroup": "{}", "a/0":"#,
            r#"{".zgroup": "{}", "a/0""#,
            r#"{".zgroup": "{}", "a/"#,
            r#"{".zgroup": "{}","#,
            r#"{".zgroup": "{}""#,
            r#"{"#,
            "",
            "  \n ",
            r#"{"refs": {".zgroup": "{}""#,
            r#"{"refs": {".zgroup": "{}"}"#,
        ];
        for text in cases {
            let before = scan_before(text).unwrap_err();
            let ScanError::NotJson { .. } = before else {
                panic!("{text:?}: {before}");
            };
            for block in [1, 2, 3, 5, 8, 64] {
                let after = scan_small(text, block, 1 << 20).unwrap_err();
                assert_eq!(
                    after.to_string(),
                    before.to_string(),
                    "{text:?}, block size {block}"
                );
            }
        }
    }

    #[test]
    fn a_member_over_the_bound_is_an_error_naming_its_key() {
        let text = format!(r#"{{{ZGROUP}, "a/0": "{}", "a/1": "x"}}"#, "y".repeat(300));
        let e = scan_small(&text, 16, 256).unwrap_err();
        assert!(
            matches!(e, ScanError::MemberTooLarge { ref key, limit: 256 } if key == "\"a/0\""),
            "{e}"
        );
        // A key that is itself too long is named by its first bytes.
        let text = format!(r#"{{{ZGROUP}, "{}": "x"}}"#, "k".repeat(300));
        let e = scan_small(&text, 16, 256).unwrap_err();
        assert!(
            matches!(e, ScanError::MemberTooLarge { ref key, .. } if key.starts_with("starting \"\\\"kkk")),
            "{e}"
        );
        // Within the bound, the same set reads.
        assert!(scan_small(&text, 16, 1024).is_ok());
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
