//! The guard: an [`ObjectStore`] wrapper (in the style of object_store's
//! `LimitStore`) that lets a command do what it was asked and nothing more.
//! Its [`Policy`] decides:
//!
//! - which keys may be read: Zarr metadata only (`.zmetadata`, `zmetadata`,
//!   `.zgroup`, `.zarray`, `.zattrs`, `zarr.json` — any other key, a chunk, a
//!   shard, is refused with an error naming it, before a request is made) or
//!   any key (for `head`, `cat`, `cp`);
//! - whether writes (put, copy, delete) pass. Only a write command the user
//!   confirmed with `--yes` builds a guard that lets them through.
//!
//! A byte budget covers every read of the command, across every store it
//! opens. A response whose size is known up front takes that size from the
//! budget, or is refused, before its body is read; a body that grows past the
//! budget while streaming is cut off. Listing is always allowed (it never
//! returns object bodies).

use std::fmt;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use object_store::path::Path;

use super::body::map_body;
use object_store::{
    CopyOptions, GetOptions, GetRange, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

const STORE_NAME: &str = "Guard";

/// The keys a source reads (its declaration, see [`crate::source`]): by
/// last segment (file name), or by a store-relative prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySet {
    /// What the keys are, for the refusal: "Zarr metadata".
    pub what: &'static str,
    /// File names (a key's last segment), in any directory.
    pub names: &'static [&'static str],
    /// Directory names whose keys are all read (`snapshots` takes
    /// `snapshots/…` at any depth of the store).
    pub prefixes: &'static [&'static str],
}

impl KeySet {
    pub fn contains(&self, key: &str) -> bool {
        let name = key.rsplit('/').next().unwrap_or(key);
        self.names.contains(&name)
            || self
                .prefixes
                .iter()
                .any(|p| key.split('/').rev().skip(1).any(|segment| segment == *p))
    }

    /// What the refusal says is read.
    fn allowed(&self) -> String {
        self.names
            .iter()
            .map(|n| n.to_string())
            .chain(self.prefixes.iter().map(|p| format!("{p}/…")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Which keys a guard lets through for reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// The keys a source declared: the tree and the crawl.
    Only(KeySet),
    /// The keys a source declared, plus every key below these prefixes:
    /// the chunks of the coordinate arrays `show --coords` was asked to read.
    OnlyAndBelow(KeySet, Vec<String>),
    /// Exactly these keys (a reference file; a Parquet reference
    /// directory's `.zmetadata`), plus the end of every key whose name ends
    /// with one of `footers`, read as a suffix range of at most
    /// [`FOOTER_MAX`] bytes (the footers of `refs.N.parq`).
    Files {
        what: &'static str,
        keys: Vec<String>,
        footers: &'static [&'static str],
    },
    /// Exactly these byte ranges of these keys, nothing else: the
    /// coordinate chunks a reference set points at, for `show --coords`.
    Ranges {
        what: &'static str,
        ranges: Vec<(String, Range<u64>)>,
    },
    /// HEAD requests only, of any key: sizes and existence, never a byte of
    /// a body (`refs --verify`).
    HeadsOnly,
    /// Any key, still under the byte budget: `head`, `cat`, copies.
    Any,
}

/// The most a footer read may ask for.
pub const FOOTER_MAX: u64 = 1024 * 1024;

/// A read's byte range, as far as the policy cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Read {
    Bounded(Range<u64>),
    Suffix(u64),
    Other,
}

impl Read {
    fn of(range: &GetRange) -> Read {
        match range {
            GetRange::Bounded(r) => Read::Bounded(r.clone()),
            GetRange::Suffix(n) => Read::Suffix(*n),
            GetRange::Offset(_) => Read::Other,
        }
    }
}

/// Which writes a guard lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writes {
    None,
    /// Any key: a confirmed cp, mv, rm.
    Any,
    /// Puts to this one key only (`consolidate`); no deletes, no copies.
    OnlyKey(String),
}

/// What a guard allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub keys: Keys,
    pub writes: Writes,
}

impl Policy {
    pub const READ_ONLY: Policy = Policy {
        keys: Keys::Any,
        writes: Writes::None,
    };
    /// Built only after the user confirmed a write with `--yes`.
    pub const READ_WRITE: Policy = Policy {
        keys: Keys::Any,
        writes: Writes::Any,
    };

    /// Reads of the keys a source declared, no writes.
    pub const fn reading(keys: KeySet) -> Policy {
        Policy {
            keys: Keys::Only(keys),
            writes: Writes::None,
        }
    }

    /// Reads of exactly one key (a reference file, an Icechunk ref or
    /// snapshot), no writes; the refusal calls it `what`.
    pub fn one_file(what: &'static str, key: String) -> Policy {
        Policy {
            keys: Keys::Files {
                what,
                keys: vec![key],
                footers: &[],
            },
            writes: Writes::None,
        }
    }

    /// Reads of the keys a source declared plus a put of `key` alone:
    /// `consolidate --yes`.
    pub fn reading_and_one_write(keys: KeySet, key: String) -> Policy {
        Policy {
            keys: Keys::Only(keys),
            writes: Writes::OnlyKey(key),
        }
    }

    pub fn writes(&self) -> bool {
        self.writes != Writes::None
    }
}

/// Why the guard refused something. Carried as the source of an
/// `object_store::Error::Generic` so callers can tell it apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("refused to read {key:?}: it is not a {what} key (only {allowed} are read)")]
    NotMetadata {
        key: String,
        what: &'static str,
        allowed: String,
    },
    #[error(
        "refused to read {key:?}: its {size} bytes would exceed the byte budget ({used} of {max} bytes already used)"
    )]
    OverBudget {
        key: String,
        size: u64,
        used: u64,
        max: u64,
    },
    #[error(
        "stopped reading {key:?}: the byte budget of {max} bytes was used up before the document ended"
    )]
    BudgetExhausted { key: String, max: u64 },
    #[error("refused to {operation} {key:?}: this command may not write there")]
    ReadOnly {
        operation: &'static str,
        key: String,
    },
    /// A local FIFO, socket or device: opening or reading it can block
    /// forever, so it is never read.
    #[error("refused to read {path}: it is a {kind}, not a regular file")]
    NotRegularFile { path: String, kind: &'static str },
    /// A local read that did not finish within --timeout.
    #[error(
        "gave up reading {path}: no answer from the file system within {} (--timeout)",
        humantime::format_duration(*.after)
    )]
    TimedOut {
        path: String,
        after: std::time::Duration,
    },
}

impl GuardError {
    pub(crate) fn into_store_error(self) -> object_store::Error {
        object_store::Error::Generic {
            store: STORE_NAME,
            source: Box::new(self),
        }
    }

    /// The guard's refusal inside an object_store error, if that is what it is.
    pub fn from_store_error(err: &object_store::Error) -> Option<&GuardError> {
        match err {
            object_store::Error::Generic { store, source } if *store == STORE_NAME => {
                source.downcast_ref::<GuardError>()
            }
            _ => None,
        }
    }
}

/// A byte budget shared by every read of one command.
#[derive(Debug)]
pub struct ByteBudget {
    max: u64,
    used: AtomicU64,
}

impl ByteBudget {
    pub fn new(max: u64) -> Arc<Self> {
        Arc::new(Self {
            max,
            used: AtomicU64::new(0),
        })
    }
    pub fn max(&self) -> u64 {
        self.max
    }
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }
    fn check_fits(&self, key: &str, size: u64) -> Result<(), GuardError> {
        let used = self.used();
        if used.saturating_add(size) > self.max {
            return Err(GuardError::OverBudget {
                key: key.to_string(),
                size,
                used,
                max: self.max,
            });
        }
        Ok(())
    }
    /// Take `size` bytes of the budget at once, or refuse and take nothing:
    /// concurrent reads cannot both pass a check the sum would fail.
    fn reserve(&self, key: &str, size: u64) -> Result<(), GuardError> {
        let mut used = self.used();
        loop {
            let after = used.saturating_add(size);
            if after > self.max {
                return Err(GuardError::OverBudget {
                    key: key.to_string(),
                    size,
                    used,
                    max: self.max,
                });
            }
            match self
                .used
                .compare_exchange_weak(used, after, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => used = now,
            }
        }
    }
    /// Give back bytes reserved but never received.
    fn release(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }
    /// Record `n` more bytes; false once the budget is exceeded.
    fn consume(&self, n: u64) -> bool {
        let before = self.used.fetch_add(n, Ordering::Relaxed);
        before.saturating_add(n) <= self.max
    }
}

pub struct Guard<T> {
    inner: T,
    budget: Arc<ByteBudget>,
    policy: Policy,
}

impl<T: ObjectStore> Guard<T> {
    pub fn new(inner: T, budget: Arc<ByteBudget>, policy: Policy) -> Self {
        Self {
            inner,
            budget,
            policy,
        }
    }

    /// Whether this read may go out: `head` asks for no body, `ranges`
    /// are the byte ranges asked for (`None`: the whole object).
    fn allow_read(&self, location: &Path, head: bool, ranges: Option<&[Read]>) -> Result<()> {
        let key = location.as_ref();
        let refuse = |what: &'static str, allowed: String| {
            Err(GuardError::NotMetadata {
                key: location.to_string(),
                what,
                allowed,
            }
            .into_store_error())
        };
        match &self.policy.keys {
            Keys::Any => Ok(()),
            Keys::Only(set) if set.contains(key) => Ok(()),
            Keys::Only(set) => refuse(set.what, set.allowed()),
            Keys::OnlyAndBelow(set, prefixes) => {
                let below = prefixes.iter().any(|p| {
                    key.strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
                });
                if below || set.contains(key) {
                    Ok(())
                } else {
                    refuse(set.what, set.allowed())
                }
            }
            Keys::HeadsOnly if head => Ok(()),
            Keys::HeadsOnly => refuse("HEAD-only", "HEAD requests".into()),
            Keys::Files { keys, .. } if keys.iter().any(|k| k == key) => Ok(()),
            Keys::Files {
                what,
                keys,
                footers,
            } => {
                let footer = footers.iter().any(|f| key.ends_with(f))
                    && (head
                        || ranges.is_some_and(|rs| {
                            !rs.is_empty()
                                && rs
                                    .iter()
                                    .all(|r| matches!(r, Read::Suffix(n) if *n <= FOOTER_MAX))
                        }));
                if footer {
                    return Ok(());
                }
                let mut allowed: Vec<String> = keys.clone();
                allowed.extend(footers.iter().map(|f| format!("the last bytes of *{f}")));
                refuse(what, allowed.join(", "))
            }
            Keys::Ranges {
                what,
                ranges: allowed,
            } => {
                let exact = ranges.is_some_and(|rs| {
                    !rs.is_empty()
                        && rs.iter().all(|r| match r {
                            Read::Bounded(r) => allowed.iter().any(|(k, a)| k == key && a == r),
                            Read::Suffix(_) | Read::Other => false,
                        })
                });
                if exact {
                    Ok(())
                } else {
                    refuse(
                        what,
                        format!(
                            "{} byte range(s) of the files the reference set points at",
                            allowed.len()
                        ),
                    )
                }
            }
        }
    }

    fn allow_write(&self, operation: &'static str, location: &Path) -> Result<()> {
        let allowed = match &self.policy.writes {
            Writes::Any => true,
            Writes::OnlyKey(key) => operation == "write" && location.as_ref() == key,
            Writes::None => false,
        };
        if allowed {
            return Ok(());
        }
        Err(GuardError::ReadOnly {
            operation,
            key: location.to_string(),
        }
        .into_store_error())
    }
}

/// Cuts a body off once the shared budget is exceeded. The size the response
/// announced was reserved up front (`credit`); bytes past it are counted as
/// they arrive, and credit a shorter body never used is given back.
struct BudgetedStream {
    inner: BoxStream<'static, Result<Bytes>>,
    budget: Arc<ByteBudget>,
    key: String,
    credit: u64,
    exhausted: bool,
}

impl Drop for BudgetedStream {
    fn drop(&mut self) {
        self.budget.release(self.credit);
    }
}

impl Stream for BudgetedStream {
    type Item = Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.exhausted {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                let len = chunk.len() as u64;
                let covered = len.min(self.credit);
                self.credit -= covered;
                if self.budget.consume(len - covered) {
                    Poll::Ready(Some(Ok(chunk)))
                } else {
                    self.exhausted = true;
                    let err = GuardError::BudgetExhausted {
                        key: self.key.clone(),
                        max: self.budget.max(),
                    };
                    Poll::Ready(Some(Err(err.into_store_error())))
                }
            }
            other => other,
        }
    }
}

impl<T: ObjectStore> fmt::Display for Guard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Guard({:?}, {} bytes, {})",
            self.policy, self.budget.max, self.inner
        )
    }
}

impl<T: ObjectStore> fmt::Debug for Guard<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Guard({:?}, {:?})", self.policy, self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<T: ObjectStore> ObjectStore for Guard<T> {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.allow_write("write", location)?;
        self.inner.put_opts(location, payload, options).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        options: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.allow_write("write", location)?;
        self.inner.put_multipart_opts(location, options).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let range = options.range.as_ref().map(|r| vec![Read::of(r)]);
        self.allow_read(location, options.head, range.as_deref())?;
        // A range we can size before asking keeps the request itself small.
        if let Some(GetRange::Bounded(r)) = &options.range {
            self.budget
                .check_fits(location.as_ref(), r.end.saturating_sub(r.start))
                .map_err(GuardError::into_store_error)?;
        }
        let head = options.head;
        let result = self.inner.get_opts(location, options).await?;
        if head {
            return Ok(result);
        }
        // The response headers carry the size: take it from the budget, or
        // refuse, before reading the body.
        let size = result.range.end.saturating_sub(result.range.start);
        self.budget
            .reserve(location.as_ref(), size)
            .map_err(GuardError::into_store_error)?;
        let budget = Arc::clone(&self.budget);
        let key = location.to_string();
        Ok(map_body(result, |inner| {
            BudgetedStream {
                inner,
                budget,
                key,
                credit: size,
                exhausted: false,
            }
            .boxed()
        }))
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let reads: Vec<Read> = ranges.iter().cloned().map(Read::Bounded).collect();
        self.allow_read(location, false, Some(&reads))?;
        let total: u64 = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
        self.budget
            .reserve(location.as_ref(), total)
            .map_err(GuardError::into_store_error)?;
        let parts = match self.inner.get_ranges(location, ranges).await {
            Ok(parts) => parts,
            Err(e) => {
                self.budget.release(total);
                return Err(e);
            }
        };
        let got: u64 = parts.iter().map(|b| b.len() as u64).sum();
        self.budget.release(total.saturating_sub(got));
        if !self.budget.consume(got.saturating_sub(total)) {
            return Err(GuardError::BudgetExhausted {
                key: location.to_string(),
                max: self.budget.max(),
            }
            .into_store_error());
        }
        Ok(parts)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        if self.policy.writes == Writes::Any {
            return self.inner.delete_stream(locations);
        }
        locations
            .map(|location| {
                let location = location?;
                Err(GuardError::ReadOnly {
                    operation: "delete",
                    key: location.to_string(),
                }
                .into_store_error())
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.allow_write("copy to", to)?;
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.allow_write("rename", from)?;
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    /// `files` in memory behind a guard with a budget of `max` bytes.
    async fn guarded(files: &[(&str, Vec<u8>)], max: u64, policy: Policy) -> Guard<InMemory> {
        let mem = InMemory::new();
        for (key, body) in files {
            mem.put(&Path::from(*key), PutPayload::from(body.clone()))
                .await
                .unwrap();
        }
        Guard::new(mem, ByteBudget::new(max), policy)
    }

    async fn store_with(files: &[(&str, Vec<u8>)], max: u64) -> Guard<InMemory> {
        guarded(files, max, crate::source::POLICY).await
    }

    fn guard_error(err: &object_store::Error) -> GuardError {
        GuardError::from_store_error(err)
            .cloned()
            .unwrap_or_else(|| panic!("not a guard error: {err}"))
    }

    #[test]
    fn metadata_keys_are_recognised() {
        for key in [
            "a/.zmetadata",
            "zarr.json",
            "x/y/.zarray",
            "zmetadata",
            "g/.zattrs",
        ] {
            assert!(crate::source::ZARR_KEYS.contains(key), "{key}");
        }
        for key in [
            "a/0.0",
            "a/c/0/0",
            "a/zarr.json.bak",
            "data.nc",
            "a/.zarray/0",
        ] {
            assert!(!crate::source::ZARR_KEYS.contains(key), "{key}");
        }
    }

    #[tokio::test]
    async fn reads_metadata_and_refuses_chunks_by_name() {
        let g = store_with(
            &[("s/.zarray", b"{}".to_vec()), ("s/0.0", vec![0; 8])],
            1024,
        )
        .await;
        let ok = g
            .get(&Path::from("s/.zarray"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&ok[..], b"{}");
        let err = g.get(&Path::from("s/0.0")).await.unwrap_err();
        match guard_error(&err) {
            GuardError::NotMetadata { key, .. } => assert_eq!(key, "s/0.0"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains("not a Zarr metadata key"));
        let err = g.get_range(&Path::from("s/0.0"), 0..4).await.unwrap_err();
        assert!(matches!(guard_error(&err), GuardError::NotMetadata { .. }));
        let err = g.head(&Path::from("s/0.0")).await.unwrap_err();
        assert!(matches!(guard_error(&err), GuardError::NotMetadata { .. }));
    }

    #[tokio::test]
    async fn a_source_declares_its_keys_and_the_guard_reads_only_those() {
        // A source keeping its documents in directories (as Icechunk keeps
        // `snapshots/…`), declared the way the Zarr sources declare theirs.
        const DECLARED: KeySet = KeySet {
            what: "kerchunk reference",
            names: &["refs.json"],
            prefixes: &["snapshots"],
        };
        let files = ["r/refs.json", "r/snapshots/a/1", "r/zarr.json", "r/snap/1"]
            .map(|key| (key, b"{}".to_vec()));
        let g = guarded(&files, 1024, Policy::reading(DECLARED)).await;
        for key in ["r/refs.json", "r/snapshots/a/1"] {
            assert!(g.get(&Path::from(key)).await.is_ok(), "{key}");
        }
        for key in ["r/zarr.json", "r/snap/1", "r/snapshots"] {
            let err = g.get(&Path::from(key)).await.unwrap_err();
            assert_eq!(
                guard_error(&err).to_string(),
                format!(
                    "refused to read {key:?}: it is not a kerchunk reference key (only refs.json, snapshots/… are read)"
                )
            );
        }
        // The Zarr sources' declaration keeps the refusal users know.
        let zarr = store_with(&[("s/0.0", vec![0; 8])], 1024).await;
        let err = zarr.get(&Path::from("s/0.0")).await.unwrap_err();
        assert_eq!(
            guard_error(&err).to_string(),
            "refused to read \"s/0.0\": it is not a Zarr metadata key (only .zmetadata, zmetadata, .zgroup, .zarray, .zattrs, zarr.json are read)"
        );
    }

    #[tokio::test]
    async fn refuses_a_document_larger_than_the_budget_before_reading_it() {
        let g = store_with(&[("big/.zmetadata", vec![b' '; 2000])], 1000).await;
        let err = g.get(&Path::from("big/.zmetadata")).await.unwrap_err();
        match guard_error(&err) {
            GuardError::OverBudget {
                size, used, max, ..
            } => {
                assert_eq!((size, used, max), (2000, 0, 1000))
            }
            other => panic!("unexpected {other:?}"),
        }
        // Nothing was counted: the body was never read.
        assert_eq!(g.budget.used(), 0);
    }

    /// Two 600-byte documents under a 1000-byte budget: each fits alone,
    /// both do not.
    async fn two_documents_one_budget() -> Guard<InMemory> {
        let doc = || vec![b' '; 600];
        store_with(&[("a/.zattrs", doc()), ("b/.zattrs", doc())], 1000).await
    }

    /// The second document is refused, the first one's 600 bytes counted.
    async fn assert_second_refused_at_600(g: &Guard<InMemory>) {
        let err = g.get(&Path::from("b/.zattrs")).await.unwrap_err();
        assert!(matches!(
            guard_error(&err),
            GuardError::OverBudget { used: 600, .. }
        ));
    }

    #[tokio::test]
    async fn budget_is_shared_across_reads() {
        let g = two_documents_one_budget().await;
        g.get(&Path::from("a/.zattrs"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(g.budget.used(), 600);
        assert_second_refused_at_600(&g).await;
    }

    #[tokio::test]
    async fn concurrent_reads_cannot_both_pass_the_budget() {
        // Two concurrent reads each fit alone; together they exceed the
        // budget. The first response's size is reserved when its headers
        // arrive, so the second is refused before its body is read.
        let g = two_documents_one_budget().await;
        let a = g.get(&Path::from("a/.zattrs")).await.unwrap();
        assert_second_refused_at_600(&g).await;
        assert!(a.bytes().await.is_ok());
        assert_eq!(g.budget.used(), 600);
    }

    #[tokio::test]
    async fn a_reserved_read_dropped_unread_gives_its_bytes_back() {
        let g = store_with(&[("a/.zattrs", vec![b' '; 600])], 1000).await;
        let a = g.get(&Path::from("a/.zattrs")).await.unwrap();
        assert_eq!(g.budget.used(), 600);
        drop(a);
        assert_eq!(g.budget.used(), 0);
    }

    #[tokio::test]
    async fn writes_are_refused() {
        let g = store_with(&[], 1000).await;
        let err = g
            .put(&Path::from("s/.zmetadata"), PutPayload::from_static(b"{}"))
            .await
            .unwrap_err();
        assert!(matches!(
            guard_error(&err),
            GuardError::ReadOnly {
                operation: "write",
                ..
            }
        ));
        let err = g.delete(&Path::from("s/.zmetadata")).await.unwrap_err();
        assert!(matches!(
            guard_error(&err),
            GuardError::ReadOnly {
                operation: "delete",
                ..
            }
        ));
        let err = g
            .copy(&Path::from("a/.zattrs"), &Path::from("b/.zattrs"))
            .await
            .unwrap_err();
        assert!(matches!(guard_error(&err), GuardError::ReadOnly { .. }));
    }

    #[tokio::test]
    async fn read_only_policy_reads_any_key_under_the_budget_but_never_writes() {
        let g = guarded(&[("data.bin", vec![7u8; 100])], 150, Policy::READ_ONLY).await;
        let body = g.get(&Path::from("data.bin")).await.unwrap().bytes().await;
        assert_eq!(body.unwrap().len(), 100);
        let err = g.get(&Path::from("data.bin")).await.unwrap_err();
        assert!(matches!(guard_error(&err), GuardError::OverBudget { .. }));
        let err = g
            .put(&Path::from("x"), PutPayload::from_static(b"1"))
            .await
            .unwrap_err();
        assert!(matches!(guard_error(&err), GuardError::ReadOnly { .. }));
    }

    #[tokio::test]
    async fn chunks_below_named_arrays_only() {
        let files = ["s/time/0", "s/time/.zarray", "s/temp/0.0", "s/timeline/0"]
            .map(|key| (key, b"x".to_vec()));
        let policy = Policy {
            keys: Keys::OnlyAndBelow(crate::source::ZARR_KEYS, vec!["s/time".into()]),
            writes: Writes::None,
        };
        let g = guarded(&files, 1000, policy).await;
        assert!(g.get(&Path::from("s/time/0")).await.is_ok());
        assert!(g.get(&Path::from("s/time/.zarray")).await.is_ok());
        for refused in ["s/temp/0.0", "s/timeline/0"] {
            let err = g.get(&Path::from(refused)).await.unwrap_err();
            assert!(
                matches!(guard_error(&err), GuardError::NotMetadata { .. }),
                "{refused}"
            );
        }
    }

    #[tokio::test]
    async fn a_one_key_policy_writes_that_key_and_nothing_else() {
        let policy = Policy::reading_and_one_write(crate::source::ZARR_KEYS, "s/.zmetadata".into());
        let g = Guard::new(InMemory::new(), ByteBudget::new(1000), policy);
        g.put(&Path::from("s/.zmetadata"), PutPayload::from_static(b"{}"))
            .await
            .unwrap();
        for key in ["s/.zgroup", "s/0.0"] {
            let err = g
                .put(&Path::from(key), PutPayload::from_static(b"{}"))
                .await
                .unwrap_err();
            assert!(
                matches!(guard_error(&err), GuardError::ReadOnly { .. }),
                "{key}"
            );
        }
        let err = g.delete(&Path::from("s/.zmetadata")).await.unwrap_err();
        assert!(matches!(guard_error(&err), GuardError::ReadOnly { .. }));
    }

    #[tokio::test]
    async fn read_write_policy_lets_confirmed_writes_through() {
        let g = Guard::new(InMemory::new(), ByteBudget::new(1000), Policy::READ_WRITE);
        g.put(&Path::from("a"), PutPayload::from_static(b"hello"))
            .await
            .unwrap();
        g.copy(&Path::from("a"), &Path::from("b")).await.unwrap();
        g.delete(&Path::from("a")).await.unwrap();
        assert!(g.head(&Path::from("a")).await.is_err());
        assert_eq!(g.head(&Path::from("b")).await.unwrap().size, 5);
    }

    #[tokio::test]
    async fn a_reference_source_reads_its_files_footers_and_exact_ranges_only() {
        let files = [
            ("refs/set.json", b"{}".to_vec()),
            ("refs/p/.zmetadata", b"{}".to_vec()),
            ("refs/p/t/refs.0.parq", vec![7; 64]),
            ("data/day1.nc", vec![1; 100]),
        ];
        let policy = Policy {
            keys: Keys::Files {
                what: "kerchunk reference",
                keys: vec!["refs/set.json".into(), "refs/p/.zmetadata".into()],
                footers: &[".parq"],
            },
            writes: Writes::None,
        };
        let g = guarded(&files, 1 << 20, policy).await;
        assert!(g.get(&Path::from("refs/set.json")).await.is_ok());
        assert!(g.get(&Path::from("refs/p/.zmetadata")).await.is_ok());
        let footer = GetOptions {
            range: Some(GetRange::Suffix(8)),
            ..Default::default()
        };
        let tail = g
            .get_opts(&Path::from("refs/p/t/refs.0.parq"), footer)
            .await
            .unwrap();
        assert_eq!(tail.bytes().await.unwrap().len(), 8);
        // The whole Parquet file, a range from its start, a target: refused.
        for (key, range) in [
            ("refs/p/t/refs.0.parq", None),
            ("refs/p/t/refs.0.parq", Some(GetRange::Bounded(0..8))),
            (
                "refs/p/t/refs.0.parq",
                Some(GetRange::Suffix(FOOTER_MAX + 1)),
            ),
            ("data/day1.nc", None),
        ] {
            let options = GetOptions {
                range,
                ..Default::default()
            };
            let err = g.get_opts(&Path::from(key), options).await.unwrap_err();
            assert!(
                matches!(guard_error(&err), GuardError::NotMetadata { .. }),
                "{key}: {err}"
            );
        }

        let policy = Policy {
            keys: Keys::Ranges {
                what: "referenced coordinate",
                ranges: vec![("data/day1.nc".into(), 10..20)],
            },
            writes: Writes::None,
        };
        let g = guarded(&files, 1 << 20, policy).await;
        let got = g
            .get_range(&Path::from("data/day1.nc"), 10..20)
            .await
            .unwrap();
        assert_eq!(got.len(), 10);
        for range in [10..21, 0..100] {
            assert!(
                g.get_range(&Path::from("data/day1.nc"), range)
                    .await
                    .is_err()
            );
        }
        assert!(g.get(&Path::from("data/day1.nc")).await.is_err());
        assert!(g.get(&Path::from("refs/set.json")).await.is_err());

        let g = guarded(
            &files,
            1 << 20,
            Policy {
                keys: Keys::HeadsOnly,
                writes: Writes::None,
            },
        )
        .await;
        assert_eq!(g.head(&Path::from("data/day1.nc")).await.unwrap().size, 100);
        assert!(g.get(&Path::from("data/day1.nc")).await.is_err());
    }
}
