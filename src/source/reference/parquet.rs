//! A Parquet reference directory, as kerchunk's `refs_to_dataframe` (fsspec's
//! `LazyReferenceMapper`) writes it: `.zmetadata` holds the metadata
//! documents and `record_size`; `<var>/refs.<i>.parq` holds chunks
//! `i*record_size ..` of `var` in C order, one row each, in columns `path`,
//! `offset`, `size`, `raw`. The tree needs only `.zmetadata`; the counts per
//! variable come from the files' footers (row counts and null counts), read
//! as suffix ranges, never from their data pages.

use std::ops::Range;

use futures::stream::{self, StreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore};
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use serde_json::Value;

use super::model::Tally;
use crate::error::{Error, ErrorKind};
use crate::store::guard::FOOTER_MAX;

/// The first footer read: enough for the footer of any reference file
/// kerchunk writes (about 1 KiB), so one request is the usual case.
pub const FOOTER_GUESS: u64 = 64 * 1024;

/// The Parquet magic, at both ends of a file.
const MAGIC: &[u8; 4] = b"PAR1";
/// The magic of a file whose footer is encrypted.
const MAGIC_ENCRYPTED: &[u8; 4] = b"PARE";
/// The 4-byte metadata length and the magic that end a Parquet file.
const TAIL: usize = 8;

/// `.zmetadata` of a Parquet reference directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetMeta {
    /// Rows per `refs.<i>.parq` file.
    pub record_size: u64,
    /// The metadata documents, key → JSON text, in file order (as
    /// [`super::model::Scanned::metadata`]).
    pub metadata: Vec<(String, Vec<u8>)>,
}

/// Whether `bytes` look like the `.zmetadata` of a Parquet reference
/// directory: a JSON object with `record_size` and `metadata` at its top
/// level. Nothing is built but the two names' presence.
pub fn is_parquet_zmetadata(bytes: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Probe {
        record_size: Option<serde::de::IgnoredAny>,
        metadata: Option<serde::de::IgnoredAny>,
    }
    // serde would also take a JSON array for a struct: only an object counts.
    let starts_as_object = bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    starts_as_object
        && serde_json::from_slice::<Probe>(bytes)
            .is_ok_and(|p| p.record_size.is_some() && p.metadata.is_some())
}

fn invalid(message: String) -> Error {
    Error::of_kind(ErrorKind::InvalidMetadata, message).with_hint(
        "a Parquet reference directory's .zmetadata is {\"metadata\": {key: document}, \"record_size\": N}, as kerchunk's refs_to_dataframe writes it",
    )
}

/// Reads `.zmetadata`. A document may be a JSON object (what fsspec
/// writes) or a JSON string holding the document (older writers).
pub fn parse_zmetadata(bytes: &[u8]) -> Result<ParquetMeta, Error> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        invalid(format!(
            "the reference directory's .zmetadata is not JSON: {e}"
        ))
    })?;
    let Value::Object(mut top) = value else {
        return Err(invalid(
            "the reference directory's .zmetadata is not a JSON object".into(),
        ));
    };
    let record_size = match top.get("record_size") {
        None => {
            return Err(invalid(
                "the reference directory's .zmetadata has no \"record_size\"".into(),
            ));
        }
        Some(v) => match v.as_u64() {
            Some(n) if n > 0 => n,
            _ => {
                return Err(invalid(format!(
                    "the reference directory's .zmetadata has \"record_size\": {v}; it must be a whole number above 0"
                )));
            }
        },
    };
    let documents = match top.remove("metadata") {
        Some(Value::Object(map)) => map,
        None => {
            return Err(invalid(
                "the reference directory's .zmetadata has no \"metadata\"".into(),
            ));
        }
        Some(other) => {
            return Err(invalid(format!(
                "the reference directory's .zmetadata has a \"metadata\" that is {}, not an object of documents",
                kind_of(&other)
            )));
        }
    };
    let mut metadata = Vec::with_capacity(documents.len());
    for (key, value) in documents {
        let text = match value {
            Value::String(text) => text.into_bytes(),
            Value::Object(_) => value.to_string().into_bytes(),
            other => {
                return Err(invalid(format!(
                    "the reference directory's .zmetadata holds {} for {key:?}; a document is a JSON object or a string holding one",
                    kind_of(&other)
                )));
            }
        };
        metadata.push((key, text));
    }
    Ok(ParquetMeta {
        record_size,
        metadata,
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The key of file `record` of `array` in the directory `dir_key`.
pub fn refs_key(dir_key: &str, array: &str, record: u64) -> String {
    let dir = dir_key.trim_end_matches('/');
    let array = array.trim_matches('/');
    if dir.is_empty() {
        format!("{array}/refs.{record}.parq")
    } else {
        format!("{dir}/{array}/refs.{record}.parq")
    }
}

/// Counts each array's chunk references from the footers of its
/// `refs.<i>.parq` files. `arrays` are (path relative to the directory,
/// number of chunks in the grid); results come back in the same order.
///
/// Per file: its part of the grid is `min(record_size, chunks left)` chunks
/// (fsspec pads the last file to `record_size` rows; the padding is not
/// counted); `referenced` = rows − nulls in `path`, `inline` = rows −
/// nulls in `raw`, `missing` = the rest (fill value). A missing file counts
/// all its chunks as missing, as fsspec reads it (its `FileNotFoundError`
/// becomes a `KeyError`, which Zarr reads as the fill value).
///
/// What footers cannot tell, left at 0: `referenced_bytes` and
/// `inline_bytes` (the `size` column's statistics give a min and a max, not
/// a sum) and `whole_files` (`[url]` is a row with offset and size 0: those
/// count as `referenced`).
pub async fn footer_tallies(
    store: &dyn ObjectStore,
    dir_key: &str,
    record_size: u64,
    arrays: &[(String, u64)],
    concurrency: usize,
) -> Vec<(String, Result<Tally, String>)> {
    let record_size = record_size.max(1);
    let jobs = arrays
        .iter()
        .enumerate()
        .flat_map(|(index, (array, chunks))| {
            (0..chunks.div_ceil(record_size)).map(move |record| {
                let first = record * record_size;
                let in_file = record_size.min(chunks - first);
                (index, record, refs_key(dir_key, array, record), in_file)
            })
        });
    let mut counted: Vec<(usize, u64, Result<Tally, String>)> = stream::iter(jobs)
        .map(|(index, record, key, in_file)| async move {
            (index, record, file_tally(store, &key, in_file).await)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    // The first failing file (by number) names the array's error.
    counted.sort_by_key(|(index, record, _)| (*index, *record));
    let mut out: Vec<(String, Result<Tally, String>)> = arrays
        .iter()
        .map(|(array, _)| (array.clone(), Ok(Tally::default())))
        .collect();
    for (index, _, result) in counted {
        let slot = &mut out[index].1;
        match (slot.as_mut(), result) {
            (Ok(total), Ok(file)) => total.add(&file),
            (Ok(_), Err(e)) => *slot = Err(e),
            (Err(_), _) => {}
        }
    }
    out
}

/// The counts of one file holding `in_file` chunks of the grid.
async fn file_tally(store: &dyn ObjectStore, key: &str, in_file: u64) -> Result<Tally, String> {
    let Some(metadata) = read_footer(store, key).await? else {
        return Ok(Tally {
            missing: in_file,
            ..Tally::default()
        });
    };
    let rows = u64::try_from(metadata.file_metadata().num_rows())
        .map_err(|_| format!("{key}: its footer gives a negative row count"))?;
    let nulls = |column: &str| -> Result<Option<u64>, String> {
        let mut total = 0u64;
        let mut found = false;
        for group in metadata.row_groups() {
            let Some(chunk) = group
                .columns()
                .iter()
                .find(|c| c.column_path().parts() == [column])
            else {
                continue;
            };
            found = true;
            let from_stats = chunk.statistics().and_then(|s| s.null_count_opt());
            // Level 0 of an optional top-level column's definition levels is null.
            let from_histogram = || {
                chunk
                    .definition_level_histogram()
                    .and_then(|h| h.values().first().copied())
                    .and_then(|n| u64::try_from(n).ok())
            };
            let Some(n) = from_stats.or_else(from_histogram) else {
                return Err(format!(
                    "{key}: its footer has no null count for column {column:?} (written without statistics); counting its references would need the data pages, which zarrscope does not read"
                ));
            };
            total += n;
        }
        Ok(found.then_some(total))
    };
    // fsspec reads a file without `raw` as all references and one with
    // only `raw` as all inline.
    let (path_nulls, raw_nulls) = match (nulls("path")?, nulls("raw")?) {
        (None, None) => {
            return Err(format!(
                "{key}: has neither a \"path\" nor a \"raw\" column; is it a kerchunk reference file?"
            ));
        }
        (path, raw) => (path.unwrap_or(rows), raw.unwrap_or(rows)),
    };
    let inconsistent = |what: &str| format!("{key}: its footer is inconsistent ({what})");
    let referenced = rows
        .checked_sub(path_nulls)
        .ok_or_else(|| inconsistent(&format!("{path_nulls} nulls in \"path\" but {rows} rows")))?;
    let inline = rows
        .checked_sub(raw_nulls)
        .ok_or_else(|| inconsistent(&format!("{raw_nulls} nulls in \"raw\" but {rows} rows")))?;
    let present = referenced + inline;
    let missing = in_file.checked_sub(present).ok_or_else(|| {
        inconsistent(&format!(
            "{present} rows with a value, but the file covers only {in_file} chunks of the grid"
        ))
    })?;
    Ok(Tally {
        inline,
        referenced,
        missing,
        ..Tally::default()
    })
}

/// The decoded footer of `key`, or `None` when the file does not exist.
/// At most two suffix reads: [`FOOTER_GUESS`] bytes, then the footer's
/// exact length when it is longer.
async fn read_footer(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<Option<ParquetMetaData>, String> {
    let guess = FOOTER_GUESS.min(FOOTER_MAX);
    let Some(tail) = suffix(store, key, guess).await? else {
        return Ok(None);
    };
    let length = footer_length(key, &tail)?;
    let needed = length + TAIL as u64;
    if needed > FOOTER_MAX {
        return Err(format!(
            "{key}: its Parquet footer is {length} bytes, more than the {FOOTER_MAX} bytes zarrscope reads of a footer"
        ));
    }
    let whole = if needed <= tail.len() as u64 {
        tail
    } else if (tail.len() as u64) < guess {
        // The first read already held the whole file.
        return Err(format!(
            "{key}: its Parquet footer claims {length} bytes but the file is only {} bytes long",
            tail.len()
        ));
    } else {
        let Some(again) = suffix(store, key, needed).await? else {
            return Ok(None);
        };
        if (again.len() as u64) < needed {
            return Err(format!(
                "{key}: its Parquet footer claims {length} bytes but the file is only {} bytes long",
                again.len()
            ));
        }
        again
    };
    let end = whole.len() - TAIL;
    let span: Range<usize> = (end - length as usize)..end;
    ParquetMetaDataReader::decode_metadata(&whole[span])
        .map(Some)
        .map_err(|e| format!("{key}: its Parquet footer cannot be decoded: {e}"))
}

/// The metadata length from the last 8 bytes, once they show Parquet.
fn footer_length(key: &str, tail: &[u8]) -> Result<u64, String> {
    let Some(last) = tail.len().checked_sub(TAIL).map(|at| &tail[at..]) else {
        return Err(format!(
            "{key}: not a Parquet file (only {} bytes long)",
            tail.len()
        ));
    };
    let magic = &last[4..];
    if magic == MAGIC_ENCRYPTED {
        return Err(format!(
            "{key}: its Parquet footer is encrypted; zarrscope reads plain footers only"
        ));
    }
    if magic != MAGIC {
        return Err(format!(
            "{key}: not a Parquet file (it does not end with PAR1)"
        ));
    }
    let mut length = [0u8; 4];
    length.copy_from_slice(&last[..4]);
    Ok(u64::from(u32::from_le_bytes(length)))
}

/// The last `n` bytes of `key` (all of it when shorter), or `None` when it
/// does not exist.
async fn suffix(
    store: &dyn ObjectStore,
    key: &str,
    n: u64,
) -> Result<Option<bytes::Bytes>, String> {
    let options = GetOptions {
        range: Some(GetRange::Suffix(n)),
        ..Default::default()
    };
    let got = match store.get_opts(&Path::from(key), options).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(format!("{key}: {e}")),
    };
    got.bytes()
        .await
        .map(Some)
        .map_err(|e| format!("{key}: {e}"))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use object_store::memory::InMemory;
    use object_store::{ObjectStoreExt, PutPayload};
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    use super::*;
    use crate::store::guard::{ByteBudget, Guard, GuardError, Keys, Policy, Writes};
    use crate::store::instrument::{InstrumentedStore, RequestStats};

    /// One row of a reference file: `path` (with offset and size) or `raw`.
    type Row = (Option<&'static str>, Option<&'static [u8]>);
    const REF: Row = (Some("s3://b/day1.nc"), None);
    const INLINE: Row = (None, Some(b"\x01\x02"));
    const NONE: Row = (None, None);

    /// A reference file as fsspec writes one (columns path, offset, size,
    /// raw), with `padding` bytes of key-value metadata to grow its footer.
    fn refs_file(rows: &[Row], padding: usize, statistics: bool) -> Vec<u8> {
        let schema = parse_message_type(
            "message schema {
                OPTIONAL BYTE_ARRAY path (UTF8);
                REQUIRED INT64 offset;
                REQUIRED INT64 size;
                OPTIONAL BYTE_ARRAY raw;
            }",
        )
        .unwrap();
        let mut props = WriterProperties::builder().set_compression(Compression::UNCOMPRESSED);
        if padding > 0 {
            props = props.set_key_value_metadata(Some(vec![KeyValue::new(
                "padding".into(),
                "x".repeat(padding),
            )]));
        }
        if !statistics {
            props = props.set_statistics_enabled(EnabledStatistics::None);
        }
        let mut out = Vec::new();
        let mut writer =
            SerializedFileWriter::new(&mut out, Arc::new(schema), Arc::new(props.build())).unwrap();
        let mut group = writer.next_row_group().unwrap();
        let optional = |pick: fn(&Row) -> Option<&'static [u8]>| {
            let values: Vec<ByteArray> = rows
                .iter()
                .filter_map(pick)
                .map(|v| ByteArray::from(v.to_vec()))
                .collect();
            let levels: Vec<i16> = rows.iter().map(|r| i16::from(pick(r).is_some())).collect();
            (values, levels)
        };
        let (paths, path_levels) = optional(|r| r.0.map(str::as_bytes));
        let (raws, raw_levels) = optional(|r| r.1);
        let numbers: Vec<i64> = rows
            .iter()
            .map(|r| i64::from(r.0.is_some()) * 100)
            .collect();
        let mut column = group.next_column().unwrap().unwrap();
        column
            .typed::<ByteArrayType>()
            .write_batch(&paths, Some(&path_levels), None)
            .unwrap();
        column.close().unwrap();
        for _ in 0..2 {
            let mut column = group.next_column().unwrap().unwrap();
            column
                .typed::<Int64Type>()
                .write_batch(&numbers, None, None)
                .unwrap();
            column.close().unwrap();
        }
        let mut column = group.next_column().unwrap().unwrap();
        column
            .typed::<ByteArrayType>()
            .write_batch(&raws, Some(&raw_levels), None)
            .unwrap();
        column.close().unwrap();
        group.close().unwrap();
        writer.close().unwrap();
        out
    }

    fn footers_only() -> Policy {
        Policy {
            keys: Keys::Files {
                what: "kerchunk reference",
                keys: vec!["refs/.zmetadata".into()],
                footers: &[".parq"],
            },
            writes: Writes::None,
        }
    }

    /// `files` in memory, counted, behind the guard of a Parquet reference
    /// directory at `refs/`.
    async fn directory(
        files: Vec<(&str, Vec<u8>)>,
    ) -> (Guard<InstrumentedStore<InMemory>>, Arc<RequestStats>) {
        let mem = InMemory::new();
        for (key, body) in files {
            mem.put(&Path::from(key), PutPayload::from(body))
                .await
                .unwrap();
        }
        let stats = Arc::new(RequestStats::default());
        let counted = InstrumentedStore::new(mem, Arc::clone(&stats), None);
        (
            Guard::new(counted, ByteBudget::new(1 << 30), footers_only()),
            stats,
        )
    }

    fn tally(referenced: u64, inline: u64, missing: u64) -> Tally {
        Tally {
            referenced,
            inline,
            missing,
            ..Tally::default()
        }
    }

    #[test]
    fn zmetadata_is_read_with_documents_as_objects_or_strings() {
        let text = br#"{"metadata": {".zgroup": {"zarr_format": 2},
            "t/.zarray": "{\"shape\": [4]}"}, "record_size": 2}"#;
        assert!(is_parquet_zmetadata(text));
        let meta = parse_zmetadata(text).unwrap();
        assert_eq!(meta.record_size, 2);
        assert_eq!(
            meta.metadata,
            vec![
                (".zgroup".to_string(), br#"{"zarr_format":2}"#.to_vec()),
                ("t/.zarray".to_string(), br#"{"shape": [4]}"#.to_vec()),
            ]
        );
        for (bad, says) in [
            (&br#"{"metadata": {}}"#[..], "no \"record_size\""),
            (
                br#"{"metadata": {}, "record_size": 0}"#,
                "\"record_size\": 0",
            ),
            (
                br#"{"metadata": [], "record_size": 2}"#,
                "an array, not an object",
            ),
            (
                br#"{"metadata": {"a": 1}, "record_size": 2}"#,
                "a number for \"a\"",
            ),
            (b"[1]", "not a JSON object"),
        ] {
            let err = parse_zmetadata(bad).unwrap_err();
            assert!(err.message().contains(says), "{}", err.message());
        }
        // A Zarr .zmetadata and a JSON reference set are not taken for one.
        assert!(!is_parquet_zmetadata(
            br#"{"metadata": {}, "zarr_consolidated_format": 1}"#
        ));
        assert!(!is_parquet_zmetadata(
            br#"[{"record_size": 1, "metadata": 2}]"#
        ));
        assert!(!is_parquet_zmetadata(br#"{"version": 1, "refs": {}}"#));
    }

    #[tokio::test]
    async fn counts_come_from_footers_with_padding_and_missing_files() {
        // record_size 3. `t`: 7 chunks in files 0, 1 and 2 (file 2 padded
        // to 3 rows, as fsspec pads it); `c`: 2 chunks, its file absent.
        let (store, stats) = directory(vec![
            (
                "refs/t/refs.0.parq",
                refs_file(&[REF, INLINE, NONE], 0, true),
            ),
            ("refs/t/refs.1.parq", refs_file(&[REF, REF, REF], 0, true)),
            (
                "refs/t/refs.2.parq",
                refs_file(&[INLINE, NONE, NONE], 0, true),
            ),
        ])
        .await;
        let arrays = [
            ("t".to_string(), 7),
            ("c".to_string(), 2),
            ("e".to_string(), 0),
        ];
        let got = footer_tallies(&store, "refs/", 3, &arrays, 2).await;
        assert_eq!(
            got,
            vec![
                ("t".to_string(), Ok(tally(4, 2, 1))),
                ("c".to_string(), Ok(tally(0, 0, 2))),
                ("e".to_string(), Ok(Tally::default())),
            ]
        );
        // One suffix read per file, the absent one included.
        assert_eq!(stats.requests(), 4);
    }

    #[tokio::test]
    async fn a_footer_over_the_first_read_takes_a_second_exact_one() {
        let big = refs_file(&[REF, NONE], 100_000, true);
        let length = u32::from_le_bytes(big[big.len() - 8..big.len() - 4].try_into().unwrap());
        assert!(u64::from(length) > FOOTER_GUESS);
        let (store, stats) = directory(vec![("refs/t/refs.0.parq", big)]).await;
        let got = footer_tallies(&store, "refs", 2, &[("t".to_string(), 2)], 1).await;
        assert_eq!(got[0].1, Ok(tally(1, 0, 1)));
        assert_eq!(stats.requests(), 2);
        assert_eq!(stats.bytes(), FOOTER_GUESS + u64::from(length) + 8);
    }

    #[tokio::test]
    async fn a_file_that_is_not_parquet_or_has_no_null_counts_is_named() {
        let mut huge_footer = b"PAR1".to_vec();
        huge_footer.extend_from_slice(&(FOOTER_MAX as u32).to_le_bytes());
        huge_footer.extend_from_slice(b"PAR1");
        let (store, _) = directory(vec![
            ("refs/a/refs.0.parq", b"{\"not\": \"parquet\"}".to_vec()),
            ("refs/b/refs.0.parq", huge_footer),
            ("refs/c/refs.0.parq", refs_file(&[REF], 0, false)),
            (
                "refs/d/refs.0.parq",
                refs_file(&[REF, REF, INLINE], 0, true),
            ),
        ])
        .await;
        let arrays: Vec<(String, u64)> = ["a", "b", "c", "d"].map(|a| (a.to_string(), 2)).into();
        let got = footer_tallies(&store, "refs", 3, &arrays, 4).await;
        let errors: Vec<String> = got.into_iter().map(|(_, r)| r.unwrap_err()).collect();
        assert_eq!(
            errors[0],
            "refs/a/refs.0.parq: not a Parquet file (it does not end with PAR1)"
        );
        assert!(
            errors[1].starts_with("refs/b/refs.0.parq: its Parquet footer is 1048576 bytes"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("refs/c/refs.0.parq: its footer has no null count"),
            "{}",
            errors[2]
        );
        // Three rows with values where the grid leaves the file two chunks.
        assert!(
            errors[3].starts_with("refs/d/refs.0.parq: its footer is inconsistent"),
            "{}",
            errors[3]
        );
    }

    #[tokio::test]
    async fn the_guard_lets_through_footers_only() {
        let file = refs_file(&[REF, INLINE], 0, true);
        let size = file.len() as u64;
        let (store, stats) = directory(vec![
            ("refs/.zmetadata", b"{}".to_vec()),
            ("refs/t/refs.0.parq", file),
        ])
        .await;
        let got = footer_tallies(&store, "refs", 2, &[("t".to_string(), 2)], 1).await;
        assert_eq!(got[0].1, Ok(tally(1, 1, 0)));
        assert_eq!(stats.requests(), 1);
        let key = Path::from("refs/t/refs.0.parq");
        for range in [
            None,
            Some(GetRange::Bounded(0..size)),
            Some(GetRange::Offset(4)),
        ] {
            let options = GetOptions {
                range,
                ..Default::default()
            };
            let err = store.get_opts(&key, options).await.unwrap_err();
            assert!(matches!(
                GuardError::from_store_error(&err),
                Some(GuardError::NotMetadata { .. })
            ));
        }
        // Refused before any request was made.
        assert_eq!(stats.requests(), 1);
    }

    fn test_data(path: &str) -> Vec<u8> {
        let full = format!(
            "{}/tests/data/parquet-refs/{path}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
    }

    /// The Parquet set kerchunk's refs_to_dataframe wrote (fastparquet,
    /// statistics off but null counts still written), copied from
    /// the fixtures script; the counts are the ones fsspec
    /// gives in fixtures/references/expected.json.
    #[tokio::test]
    async fn kerchunk_written_directory_counts_as_fsspec_reads_it() {
        let arrays = ["lat", "lon", "precip", "temperature", "time"];
        let mut files = vec![(
            "refs/.zmetadata",
            test_data("../../../fixtures/references/multi-parquet/.zmetadata"),
        )];
        let dir = format!(
            "{}/fixtures/references/multi-parquet",
            env!("CARGO_MANIFEST_DIR")
        );
        let mut bodies = Vec::new();
        for array in arrays {
            for entry in std::fs::read_dir(format!("{dir}/{array}")).unwrap() {
                let name = entry.unwrap().file_name().into_string().unwrap();
                let key = format!("{array}/{name}");
                bodies.push((
                    format!("refs/{key}"),
                    test_data(&format!("../../../fixtures/references/multi-parquet/{key}")),
                ));
            }
        }
        files.extend(bodies.iter().map(|(k, b)| (k.as_str(), b.clone())));
        let (store, stats) = directory(files).await;
        let zmetadata = store
            .get(&Path::from("refs/.zmetadata"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert!(is_parquet_zmetadata(&zmetadata));
        let meta = parse_zmetadata(&zmetadata).unwrap();
        assert_eq!(meta.record_size, 2);
        // The chunk grid of each array, from its .zarray.
        let grid = |array: &str| -> u64 {
            let key = format!("{array}/.zarray");
            let (_, text) = meta.metadata.iter().find(|(k, _)| *k == key).unwrap();
            let zarray: Value = serde_json::from_slice(text).unwrap();
            let dims = |name: &str| -> Vec<u64> {
                zarray[name]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect()
            };
            dims("shape")
                .iter()
                .zip(dims("chunks"))
                .map(|(s, c)| s.div_ceil(c))
                .product()
        };
        let arrays: Vec<(String, u64)> = arrays.iter().map(|a| (a.to_string(), grid(a))).collect();
        let got = footer_tallies(&store, "refs", meta.record_size, &arrays, 4).await;
        let want = [
            ("lat", tally(0, 1, 0)),
            ("lon", tally(0, 1, 0)),
            ("precip", tally(3, 0, 0)),
            ("temperature", tally(12, 0, 0)),
            ("time", tally(0, 1, 0)),
        ];
        assert_eq!(got, want.map(|(a, t)| (a.to_string(), Ok(t))).to_vec());
        // .zmetadata, then one suffix read per refs file.
        assert_eq!(bodies.len(), 11);
        assert_eq!(stats.requests(), 1 + bodies.len() as u64);
    }

    /// pyarrow with write_statistics=False (fsspec's `engine="pyarrow"`)
    /// leaves out the statistics but writes definition-level histograms.
    #[tokio::test]
    async fn pyarrow_written_file_without_statistics_counts_from_histograms() {
        let (store, _) = directory(vec![(
            "refs/t/refs.0.parq",
            test_data("pyarrow-no-statistics.parq"),
        )])
        .await;
        let got = footer_tallies(&store, "refs", 3, &[("t".to_string(), 3)], 1).await;
        assert_eq!(got[0].1, Ok(tally(1, 1, 1)));
    }
}
