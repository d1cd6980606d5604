//! Local files as a store: object_store's `LocalFileSystem` with two guards
//! it lacks, for reads.
//!
//! - Only regular files are read. Opening a FIFO named `.zmetadata` blocks
//!   until a writer appears (forever); a socket or device is no document
//!   either. Such a file is refused, naming it, before it is opened.
//! - Every read gets the command's `--timeout`, as remote requests do: a hung
//!   network file system ends in an error, not a hang. Bodies are timed per
//!   piece, so a long read that keeps moving is never cut off.
//!
//! Writes pass through untouched (a confirmed copy may take long), except
//! that a conditional update is checked here ([`put_if_unchanged`]).

use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result,
};

use super::{BuiltBackend, GENERIC, Setup, Vocabulary};
use crate::error::Error;
use crate::store::body::map_body;
use crate::store::guard::GuardError;

pub const VOCABULARY: Vocabulary = Vocabulary {
    service: "the local file system",
    ..GENERIC
};

pub(super) fn build(
    root: &std::path::Path,
    setup: &Setup<'_>,
) -> crate::error::Result<BuiltBackend> {
    let store = LocalFileSystem::new_with_prefix(root)
        .map_err(|e| Error::new(format!("cannot open {}: {e}", root.display())))?;
    let store = LocalFiles::new(store, setup.options.timeout);
    // No HTTP layer below to count requests: the instrumentation counts them.
    let instrument = super::Instrument {
        counted_below: false,
        ..setup.instrument(None, None)
    };
    Ok(BuiltBackend::new(
        instrument.wrap(Arc::new(store)),
        false,
        "the local file system",
    ))
}

/// object_store's local file system has no conditional update: check the
/// ETag just before writing instead (a small window, where object storage
/// has none). A changed or missing file is a `Precondition` error, as
/// object storage answers. `store` is the guarded store, so the check is
/// counted and logged.
pub(super) async fn put_if_unchanged(
    store: &dyn ObjectStore,
    path: &Path,
    payload: PutPayload,
    expected: &str,
) -> Result<PutResult> {
    let now = store.head(path).await.ok().and_then(|m| m.e_tag);
    if now.as_deref() != Some(expected) {
        return Err(object_store::Error::Precondition {
            path: path.to_string(),
            source: format!("{path} changed since it was read").into(),
        });
    }
    let options = PutOptions {
        mode: PutMode::Overwrite,
        ..PutOptions::default()
    };
    store.put_opts(path, payload, options).await
}

pub struct LocalFiles {
    inner: LocalFileSystem,
    timeout: Duration,
}

impl LocalFiles {
    pub fn new(inner: LocalFileSystem, timeout: Duration) -> Self {
        Self { inner, timeout }
    }

    fn timed_out(&self, path: &str) -> object_store::Error {
        GuardError::TimedOut {
            path: path.to_string(),
            after: self.timeout,
        }
        .into_store_error()
    }

    /// Run `op` within the timeout.
    async fn within<T>(&self, path: &str, op: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::time::timeout(self.timeout, op)
            .await
            .unwrap_or_else(|_| Err(self.timed_out(path)))
    }

    /// Refuse anything at `location` that exists and is neither a regular
    /// file nor a directory (the inner store reports directories and missing
    /// files itself). `stat` never blocks on a FIFO, unlike `open`.
    async fn only_regular_files(&self, location: &Path) -> Result<PathBuf> {
        let path = self.inner.path_to_filesystem(location)?;
        let stat_path = path.clone();
        let stat = tokio::task::spawn_blocking(move || std::fs::metadata(stat_path)).await;
        if let Ok(Ok(meta)) = stat
            && let Some(kind) = special_kind(&meta.file_type())
        {
            return Err(GuardError::NotRegularFile {
                path: path.display().to_string(),
                kind,
            }
            .into_store_error());
        }
        Ok(path)
    }

    /// Items of `inner`, each within the timeout.
    fn timed_stream<T: Send + 'static>(
        &self,
        path: String,
        inner: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        let timeout = self.timeout;
        stream::unfold(Some(inner), move |state| {
            let path = path.clone();
            async move {
                let mut inner = state?;
                match tokio::time::timeout(timeout, inner.next()).await {
                    Ok(Some(item)) => Some((item, Some(inner))),
                    Ok(None) => None,
                    Err(_) => {
                        let err = GuardError::TimedOut {
                            path,
                            after: timeout,
                        };
                        Some((Err(err.into_store_error()), None))
                    }
                }
            }
        })
        // Callers may poll once more after the end.
        .fuse()
        .boxed()
    }
}

/// What a file type is, when it is not a regular file or directory.
fn special_kind(file_type: &std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() || file_type.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("FIFO (named pipe)");
        }
        if file_type.is_socket() {
            return Some("socket");
        }
        if file_type.is_char_device() {
            return Some("character device");
        }
        if file_type.is_block_device() {
            return Some("block device");
        }
    }
    Some("special file")
}

impl fmt::Display for LocalFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalFiles({})", self.inner)
    }
}

impl fmt::Debug for LocalFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalFiles({:?}, {:?})", self.inner, self.timeout)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for LocalFiles {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, options).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        options: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, options).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let shown = location.to_string();
        let (path, result) = self
            .within(&shown, async {
                let path = self.only_regular_files(location).await?;
                Ok((path, self.inner.get_opts(location, options).await?))
            })
            .await?;
        let path = path.display().to_string();
        Ok(map_body(result, |body| self.timed_stream(path, body)))
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.within(location.as_ref(), async {
            self.only_regular_files(location).await?;
            self.inner.get_ranges(location, ranges).await
        })
        .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let shown = prefix.map_or_else(|| "/".to_string(), ToString::to_string);
        self.timed_stream(shown, self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let shown = prefix.map_or_else(|| "/".to_string(), ToString::to_string);
        self.timed_stream(shown, self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let shown = prefix.map_or_else(|| "/".to_string(), ToString::to_string);
        self.within(&shown, self.inner.list_with_delimiter(prefix))
            .await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn special_files_are_refused_by_name_and_regular_ones_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("zarr.json"), b"{}").unwrap();
        let status = std::process::Command::new("mkfifo")
            .arg(dir.path().join(".zmetadata"))
            .status()
            .unwrap();
        assert!(status.success());
        let store = LocalFiles::new(
            LocalFileSystem::new_with_prefix(dir.path()).unwrap(),
            Duration::from_secs(5),
        );
        let body = store.get(&Path::from("zarr.json")).await.unwrap();
        assert_eq!(&body.bytes().await.unwrap()[..], b"{}");
        let err = store.get(&Path::from(".zmetadata")).await.unwrap_err();
        match GuardError::from_store_error(&err) {
            Some(GuardError::NotRegularFile { path, kind }) => {
                assert!(path.ends_with("/.zmetadata"), "{path}");
                assert_eq!(*kind, "FIFO (named pipe)");
            }
            other => panic!("unexpected {other:?}: {err}"),
        }
        let missing = store.get(&Path::from("nope")).await.unwrap_err();
        assert!(matches!(missing, object_store::Error::NotFound { .. }));
    }

    #[tokio::test]
    async fn a_conditional_write_refuses_a_changed_or_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".zmetadata");
        std::fs::write(&file, b"ours").unwrap();
        let store = LocalFiles::new(
            LocalFileSystem::new_with_prefix(dir.path()).unwrap(),
            Duration::from_secs(5),
        );
        let path = Path::from(".zmetadata");
        let read = store.head(&path).await.unwrap().e_tag.unwrap();
        // Someone else writes the file between our read and our write (a
        // new size, so its ETag changes whatever the clock's resolution).
        std::fs::write(&file, b"theirs, longer").unwrap();
        let write_new = |etag: String| {
            let (store, path, payload) = (&store, &path, PutPayload::from_static(b"new"));
            async move { put_if_unchanged(store, path, payload, &etag).await }
        };
        let refused = |result: Result<PutResult>| match result {
            Err(object_store::Error::Precondition { .. }) => {}
            other => panic!("not refused as a failed precondition: {other:?}"),
        };
        refused(write_new(read).await);
        assert_eq!(std::fs::read(&file).unwrap(), b"theirs, longer");
        // Unchanged since read: written.
        let now = store.head(&path).await.unwrap().e_tag.unwrap();
        write_new(now).await.unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"new");
        // Gone since read: not recreated.
        let now = store.head(&path).await.unwrap().e_tag.unwrap();
        std::fs::remove_file(&file).unwrap();
        refused(write_new(now).await);
        assert!(!file.exists());
    }

    fn timed_out(err: &object_store::Error) -> bool {
        matches!(
            GuardError::from_store_error(err),
            Some(GuardError::TimedOut { .. })
        )
    }

    #[tokio::test]
    async fn a_read_that_does_not_answer_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFiles::new(
            LocalFileSystem::new_with_prefix(dir.path()).unwrap(),
            Duration::from_millis(50),
        );
        // An operation that never finishes, as on a hung file system.
        let err = store
            .within("a/.zmetadata", std::future::pending::<Result<()>>())
            .await
            .unwrap_err();
        assert!(timed_out(&err), "{err}");
        assert!(err.to_string().contains("a/.zmetadata"), "{err}");
        // A body that stops moving ends in the same error, then ends.
        let stalled = stream::pending::<Result<Bytes>>().boxed();
        let mut body = store.timed_stream("a/0".into(), stalled);
        let err = body.next().await.unwrap().unwrap_err();
        assert!(timed_out(&err), "{err}");
        assert!(body.next().await.is_none());
        assert!(body.next().await.is_none(), "polled after its end");
    }
}
