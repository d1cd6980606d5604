//! `cp` and `mv`: plan first (what would be copied where, how many bytes,
//! what would be overwritten), act only when confirmed.
//!
//! Both sides are `ObjectStore`s behind a guard — a bucket, or the local
//! file system — so one code path covers upload, download and bucket to
//! bucket. Within one bucket the copy is server-side (no bytes through us).
//! `mv` deletes a source only after a HEAD of its copy confirmed the size;
//! the first failure stops the run and the report says what was and was not
//! done.

use std::sync::Arc;

use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::Serialize;

use super::progress::Progress;
use super::{base_name, relative};
use crate::error::{Error, Result};
use crate::keys;
use crate::store::StoreHandle;
use crate::store::guard::{ByteBudget, Guard, Policy};

/// Objects up to this size are copied with one PUT; larger ones in parts.
const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;
const PART_SIZE: usize = 16 * 1024 * 1024;
/// Parts in flight at once during a multipart upload.
const PARTS_IN_FLIGHT: usize = 4;

/// One side of a copy: a bucket location or a local path.
pub struct Side<'a> {
    store: Arc<dyn ObjectStore>,
    /// Bucket-relative key, or for a local path the absolute path without its
    /// leading `/`.
    pub key: String,
    /// The user wrote a trailing `/`, or the local path is a directory.
    pub is_dir: bool,
    remote: Option<&'a StoreHandle>,
}

impl<'a> Side<'a> {
    /// A bucket location; `handle` must be rooted at the bucket.
    pub fn remote(handle: &'a StoreHandle, is_dir: bool) -> Self {
        Self {
            store: Arc::clone(&handle.store),
            key: handle.location.prefix.clone(),
            is_dir: is_dir || handle.location.prefix.is_empty(),
            remote: Some(handle),
        }
    }

    /// A local path; written to only when `writable` (a confirmed write).
    pub fn local(path: &std::path::Path, writable: bool) -> Result<Self> {
        let absolute = std::path::absolute(path).map_err(|e| {
            Error::new(format!(
                "cannot resolve the local path {}: {e}",
                path.display()
            ))
        })?;
        let key = Path::from_absolute_path(&absolute)
            .map_err(|e| Error::new(format!("unusable local path {}: {e}", absolute.display())))?;
        let policy = if writable {
            Policy::READ_WRITE
        } else {
            Policy::READ_ONLY
        };
        let fs = Guard::new(LocalFileSystem::new(), ByteBudget::new(u64::MAX), policy);
        Ok(Self {
            store: Arc::new(fs),
            key: key.to_string(),
            is_dir: absolute.is_dir(),
            remote: None,
        })
    }

    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// How to show `key` to the user: a URL, or a local path.
    pub fn show(&self, key: &str) -> String {
        match self.remote {
            Some(handle) => handle.location.url_of(key),
            None => format!("/{key}"),
        }
    }

    /// Every object below `prefix`, keys exactly as the side names them.
    async fn list(&self, prefix: &str) -> object_store::Result<Vec<super::listing::ObjectInfo>> {
        match self.remote {
            Some(handle) => super::listing::list_keys(handle, prefix, false)
                .await
                .map(|listed| listed.objects),
            None => {
                let path = keys::prefix(prefix)?;
                let metas: Vec<_> = self.store.list(path.as_ref()).try_collect().await?;
                Ok(metas.iter().map(super::listing::ObjectInfo::from).collect())
            }
        }
    }

    fn explain(&self, key: &str, err: &object_store::Error) -> Error {
        match self.remote {
            Some(handle) => handle.explain_url(&self.show(key), err),
            None => Error::new(format!("{}: {err}", self.show(key))),
        }
    }

    /// Same bucket on the same service: a server-side copy is possible.
    fn same_bucket(&self, other: &Side<'_>) -> bool {
        match (self.remote, other.remote) {
            (Some(a), Some(b)) => a.location.backend == b.location.backend,
            _ => false,
        }
    }
}

/// How bytes move.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Within one bucket: the server copies, nothing passes through here.
    ServerSide,
    Upload,
    Download,
    /// Between buckets or services: downloaded and uploaded in a stream.
    Stream,
}

impl Method {
    pub fn describe(self) -> &'static str {
        match self {
            Method::ServerSide => "server-side copy",
            Method::Upload => "upload",
            Method::Download => "download",
            Method::Stream => "download and upload (streamed)",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub from: String,
    pub to: String,
    pub size: u64,
    /// The destination exists and would be replaced.
    pub overwrites: bool,
    #[serde(skip)]
    from_key: String,
    #[serde(skip)]
    to_key: String,
}

#[derive(Debug, Serialize)]
pub struct Plan {
    pub method: Method,
    pub items: Vec<Item>,
    pub bytes: u64,
}

fn join(dir: &str, name: &str) -> String {
    match (dir.is_empty(), name.is_empty()) {
        (true, _) => name.to_string(),
        (_, true) => dir.to_string(),
        _ => format!("{dir}/{name}"),
    }
}

/// Work out what `cp`/`mv` would do, reading (HEAD, LIST) but never writing.
/// `check_existing` looks up what the copy would overwrite (for the dry run).
pub async fn plan(
    src: &Side<'_>,
    dst: &Side<'_>,
    recursive: bool,
    check_existing: bool,
) -> Result<Plan> {
    let method = match (src.is_remote(), dst.is_remote()) {
        (true, true) if src.same_bucket(dst) => Method::ServerSide,
        (true, true) => Method::Stream,
        (false, true) => Method::Upload,
        (true, false) => Method::Download,
        (false, false) => {
            return Err(Error::new("both sides are local paths").with_hint(
                "zarrscope copies to or from object storage; use cp(1) for local files",
            ));
        }
    };
    // (source key, destination key, size)
    let mut pairs: Vec<(String, String, u64)> = Vec::new();
    let single_target = |dst: &Side<'_>| {
        if dst.is_dir {
            join(&dst.key, base_name(&src.key))
        } else {
            dst.key.clone()
        }
    };
    let may_be_object = !src.is_dir && !src.key.is_empty();
    // The likelier reading first: -r names a prefix, otherwise an object.
    if may_be_object
        && !recursive
        && let Some(size) = head_size(src).await?
    {
        pairs.push((src.key.clone(), single_target(dst), size));
    }
    let single = !pairs.is_empty();
    if !single {
        let listed = src
            .list(&src.key)
            .await
            .map_err(|e| src.explain(&src.key, &e))?;
        if !listed.is_empty() && !recursive {
            return Err(Error::new(format!(
                "{} is a directory holding {} objects",
                src.show(&src.key),
                listed.len()
            ))
            .with_hint("add -r (--recursive) to copy everything below it"));
        }
        for object in listed {
            let to = join(&dst.key, relative(&object.key, &src.key));
            pairs.push((object.key, to, object.size));
        }
        if let (None, Some(handle)) = (src.remote, dst.remote) {
            let root = std::path::Path::new("/").join(&src.key);
            for file in keys::unlisted_local_files(&root) {
                handle.notice(format!(
                    "warning: skipped {}: object_store's local file system does not list names ending in '#' and digits",
                    file.display()
                ));
            }
        }
    }
    let mut single = single;
    if pairs.is_empty()
        && may_be_object
        && recursive
        && let Some(size) = head_size(src).await?
    {
        pairs.push((src.key.clone(), single_target(dst), size));
        single = true;
    }
    // Keys no request can name, or no local file can be named after: skipped
    // with a warning naming them, never mangled into another name.
    pairs.retain(|(from, to, _)| {
        let why = match (keys::path(from), keys::path(to)) {
            (Err(e), _) | (_, Err(e)) => e.reason,
            _ if !dst.is_remote() && !keys::is_file_name(to) => {
                "a local file cannot have this name (an empty segment, a folder marker ending in '/', or a name ending in '#' and digits)"
            }
            _ => return true,
        };
        let warning = format!("warning: skipped {}: {why}", src.show(from));
        if let Some(handle) = src.remote.or(dst.remote) {
            handle.notice(warning);
        }
        false
    });
    if pairs.is_empty() {
        return Err(Error::new(format!(
            "nothing to copy: {} does not exist",
            src.show(&src.key)
        ))
        .with_hint("check the source; `zarrscope ls` shows what is there"));
    }
    for (from, to, _) in &pairs {
        if from == to && src.same_bucket(dst) {
            return Err(
                Error::new(format!("{} would be copied onto itself", src.show(from)))
                    .with_hint("give a different destination"),
            );
        }
    }
    // What already exists at the destination, for the dry run: one HEAD for
    // one object, one listing for many.
    let existing: std::collections::HashSet<String> = if !check_existing {
        Default::default()
    } else if single {
        let to = &pairs[0].1;
        match dst.store.head(&keys::path(to)?).await {
            Ok(_) => [to.clone()].into(),
            Err(_) => Default::default(),
        }
    } else {
        match dst.list(&dst.key).await {
            Ok(objects) => objects.into_iter().map(|o| o.key).collect(),
            Err(_) => Default::default(),
        }
    };
    let items: Vec<Item> = pairs
        .into_iter()
        .map(|(from_key, to_key, size)| Item {
            from: src.show(&from_key),
            to: dst.show(&to_key),
            size,
            overwrites: existing.contains(&to_key),
            from_key,
            to_key,
        })
        .collect();
    let bytes = items.iter().fold(0u64, |a, i| a.saturating_add(i.size));
    Ok(Plan {
        method,
        items,
        bytes,
    })
}

/// The size of the object at the side's key, if there is one.
async fn head_size(side: &Side<'_>) -> Result<Option<u64>> {
    match side.store.head(&keys::path(&side.key)?).await {
        Ok(meta) => Ok(Some(meta.size)),
        Err(object_store::Error::NotFound { .. })
        | Err(object_store::Error::PermissionDenied { .. }) => Ok(None),
        Err(e) => Err(side.explain(&side.key, &e)),
    }
}

/// Copy, or move (copy, confirm, delete the source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Copy,
    Move,
}

/// What was done, for the final report.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Items fully done (copied; for `mv` also the source deleted).
    pub done: Vec<Item>,
    pub bytes_done: u64,
    /// The item that failed, with what happened to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<(Item, String)>,
    /// Items never attempted because of the failure.
    pub not_attempted: Vec<Item>,
}

pub async fn execute(
    plan: Plan,
    src: &Side<'_>,
    dst: &Side<'_>,
    mode: Mode,
    progress: &Progress,
) -> Report {
    let mut report = Report::default();
    let mut items = plan.items.into_iter();
    for item in items.by_ref() {
        let (from, to) = match (keys::path(&item.from_key), keys::path(&item.to_key)) {
            (Ok(from), Ok(to)) => (from, to),
            (Err(e), _) | (_, Err(e)) => {
                report.failed = Some((item, e.to_string()));
                break;
            }
        };
        progress.message(item.to.clone());
        let copied = if plan.method == Method::ServerSide {
            dst.store
                .copy(&from, &to)
                .await
                .map(|()| progress.advance(item.size))
        } else {
            stream_copy(src, &from, dst, &to, item.size, progress).await
        };
        if let Err(e) = copied {
            let why = format!("copy failed: {}", dst.explain(&item.to_key, &e).message());
            report.failed = Some((item, why));
            break;
        }
        if mode == Mode::Move {
            // Never delete a source whose copy is not confirmed.
            match dst.store.head(&to).await {
                Ok(meta) if meta.size == item.size => {}
                Ok(meta) => {
                    let why = format!(
                        "copied, but the copy has {} bytes instead of {}: source kept",
                        meta.size, item.size
                    );
                    report.failed = Some((item, why));
                    break;
                }
                Err(e) => {
                    let why = format!(
                        "copied, but the copy could not be confirmed ({}): source kept",
                        dst.explain(&item.to_key, &e).message()
                    );
                    report.failed = Some((item, why));
                    break;
                }
            }
            if let Err(e) = src.store.delete(&from).await {
                let why = format!(
                    "copied and confirmed, but deleting the source failed ({}): both copies exist",
                    src.explain(&item.from_key, &e).message()
                );
                report.failed = Some((item, why));
                break;
            }
        }
        report.bytes_done = report.bytes_done.saturating_add(item.size);
        report.done.push(item);
    }
    report.not_attempted = items.collect();
    progress.finish();
    report
}

async fn stream_copy(
    src: &Side<'_>,
    from: &Path,
    dst: &Side<'_>,
    to: &Path,
    size: u64,
    progress: &Progress,
) -> object_store::Result<()> {
    let got = src.store.get(from).await?;
    if size <= SINGLE_PUT_MAX {
        let bytes = got.bytes().await?;
        let n = bytes.len() as u64;
        dst.store.put(to, PutPayload::from(bytes)).await?;
        progress.advance(n);
        return Ok(());
    }
    let upload = dst.store.put_multipart(to).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut body = got.into_stream();
    let streamed = async {
        while let Some(chunk) = body.try_next().await? {
            writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
            writer.write(&chunk);
            progress.advance(chunk.len() as u64);
        }
        Ok::<_, object_store::Error>(())
    }
    .await;
    match streamed {
        Ok(()) => writer.finish().await.map(|_| ()),
        Err(e) => {
            // Leave no half-finished upload behind.
            let _ = writer.abort().await;
            Err(e)
        }
    }
}
