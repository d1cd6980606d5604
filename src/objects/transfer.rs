//! `cp` and `mv`: plan first (what would be copied where, how many bytes,
//! what would be overwritten), act only when confirmed.
//!
//! Both sides are `ObjectStore`s behind a guard — a bucket, or the local
//! file system — so one code path covers upload, download and bucket to
//! bucket. Within one bucket the copy is server-side (no bytes through us).
//! `mv` deletes a source only after a HEAD of its copy confirmed the size;
//! the first failure stops the run and the report says what was and was not
//! done, and at which side (source or destination) it failed.
//!
//! The plan refuses a recursive copy into its own subtree (or out of a
//! subtree into the prefix holding it): objects would be written over
//! objects not copied yet. Symlinks in a local source that lead out of it are
//! not followed.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use serde::Serialize;

use super::multipart_copy;
use crate::error::{Error, Result};
use crate::keys;
use crate::keys::{base_name, relative};
use crate::progress::Progress;
use crate::store::guard::{ByteBudget, Guard, Policy};
use crate::store::{Doing, StoreHandle};

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
    /// The absolute local path, for a local side.
    local: Option<PathBuf>,
}

impl<'a> Side<'a> {
    /// A bucket location; `handle` must be rooted at the bucket.
    pub fn remote(handle: &'a StoreHandle, is_dir: bool) -> Self {
        Self {
            store: Arc::clone(&handle.store),
            key: handle.location.prefix.clone(),
            is_dir: is_dir || handle.location.prefix.is_empty(),
            remote: Some(handle),
            local: None,
        }
    }

    /// A local path; written to only when `writable` (a confirmed write).
    /// Reads refuse FIFOs and other special files and give up after `idle`
    /// without progress, as the metadata reads of a local store do.
    pub fn local(
        path: &std::path::Path,
        writable: bool,
        idle: std::time::Duration,
    ) -> Result<Self> {
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
        let fs = Guard::new(
            crate::store::backend::local::LocalFiles::new(LocalFileSystem::new(), idle),
            ByteBudget::new(u64::MAX),
            policy,
        );
        Ok(Self {
            store: Arc::new(fs),
            key: key.to_string(),
            is_dir: absolute.is_dir(),
            remote: None,
            local: Some(absolute),
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
    async fn list(
        &self,
        prefix: &str,
    ) -> object_store::Result<Vec<crate::store::listing::ObjectInfo>> {
        match self.remote {
            Some(handle) => crate::store::listing::list_keys(handle, prefix, false)
                .await
                .map(|listed| listed.objects),
            None => {
                let path = keys::prefix(prefix)?;
                let metas: Vec<_> = self.store.list(path.as_ref()).try_collect().await?;
                Ok(metas
                    .iter()
                    .map(crate::store::listing::ObjectInfo::from)
                    .collect())
            }
        }
    }

    fn explain(&self, key: &str, err: &object_store::Error) -> Error {
        self.explain_request(Doing::Reading, key, err)
    }

    fn explain_request(&self, doing: Doing, key: &str, err: &object_store::Error) -> Error {
        match self.remote {
            Some(handle) => handle.explain_request(doing, &self.show(key), err),
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

    /// Where the side points, comparable with a side in the same namespace
    /// (the same bucket, or the local file system): the key, or for a local
    /// path the canonical path, so that two spellings of one directory
    /// (symlinks, `..`) compare equal.
    fn scope(&self) -> String {
        match &self.local {
            Some(path) => canonical_lenient(path)
                .to_string_lossy()
                .trim_start_matches('/')
                .to_string(),
            None => self.key.clone(),
        }
    }

    fn same_namespace(&self, other: &Side<'_>) -> bool {
        self.same_bucket(other) || (self.local.is_some() && other.local.is_some())
    }
}

/// `path` with its longest existing ancestor canonicalised (a destination
/// need not exist yet).
fn canonical_lenient(path: &FsPath) -> PathBuf {
    let mut missing = Vec::new();
    let mut current = path;
    loop {
        if let Ok(found) = std::fs::canonicalize(current) {
            return missing.iter().rev().fold(found, |acc, part| acc.join(part));
        }
        match (current.parent(), current.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                current = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// `inner` is `outer` or lies below it, on key-segment boundaries (`dir2` is
/// not inside `dir`); `""` is the bucket root, which holds everything.
fn within(inner: &str, outer: &str) -> bool {
    let (inner, outer) = (inner.trim_matches('/'), outer.trim_matches('/'));
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A recursive copy between a prefix and a prefix inside it would write over
/// objects it has not copied yet (and `mv` would then delete them): refused,
/// as mv(1) refuses "cannot move 'dir' to a subdirectory of itself".
fn refuse_overlap(src: &Side<'_>, dst: &Side<'_>, mode: Mode) -> Result<()> {
    if !src.same_namespace(dst) {
        return Ok(());
    }
    let (from, to) = (src.scope(), dst.scope());
    let (verb, done) = match mode {
        Mode::Copy => ("copy", "copied"),
        Mode::Move => ("move", "moved"),
    };
    let (src_shown, dst_shown) = (src.show(&src.key), dst.show(&dst.key));
    let message = if to.trim_matches('/') == from.trim_matches('/') {
        format!("cannot {verb} {src_shown} onto itself")
    } else if within(&to, &from) {
        format!("cannot {verb} {src_shown} to {dst_shown}, a subdirectory of itself")
    } else if within(&from, &to) {
        format!("cannot {verb} {src_shown} to {dst_shown}, which contains it")
    } else {
        return Ok(());
    };
    Err(Error::new(message).with_hint(format!(
        "objects would be written over objects not {done} yet; choose a destination outside {src_shown}, or {verb} via a temporary prefix"
    )))
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
    /// The size of the object that would be replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_size: Option<u64>,
    /// Copied by the server in parts (too large for one CopyObject), not
    /// streamed through here, though the plan's method is a stream.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub server_side_in_parts: bool,
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
    /// Why the destination could not be checked for objects the copy would
    /// replace: the plan then cannot say what would be overwritten.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_unchecked: Option<String>,
    /// Symlinks in a local source that lead out of it: not followed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_links: Vec<SkippedLink>,
}

/// A file in a local source reached through a symlink out of the source tree.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedLink {
    pub path: String,
    pub target: String,
}

impl Plan {
    /// The items that would replace an existing object.
    pub fn replacing(&self) -> impl Iterator<Item = &Item> {
        self.items.iter().filter(|i| i.overwrites)
    }
}

/// [`crate::keys::join`], where an empty `name` (the source key itself) is
/// `dir` alone.
fn join(dir: &str, name: &str) -> String {
    if name.is_empty() {
        dir.to_string()
    } else {
        crate::keys::join(dir, name)
    }
}

/// Work out what `cp`/`mv` would do, reading (HEAD, LIST) but never writing.
/// `check_existing` looks up what the copy would overwrite (for the dry run).
pub async fn plan(
    src: &Side<'_>,
    dst: &Side<'_>,
    recursive: bool,
    check_existing: bool,
    mode: Mode,
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
    let mut skipped_links = Vec::new();
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
        if !listed.is_empty() {
            refuse_overlap(src, dst, mode)?;
        }
        let outside = leaving_links(src);
        for object in listed {
            if let Some(target) = outside(&object.key) {
                skipped_links.push(SkippedLink {
                    path: src.show(&object.key),
                    target: target.display().to_string(),
                });
                continue;
            }
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
        .with_hint(match src.remote {
            Some(handle) => format!(
                "check the source; `{}` shows what is there",
                handle.command(&format!("ls {}", super::parent_url(&src.show(&src.key))))
            ),
            None => "check the source path".to_string(),
        }));
    }
    for (from, to, _) in &pairs {
        if from == to && src.same_bucket(dst) {
            return Err(
                Error::new(format!("{} would be copied onto itself", src.show(from)))
                    .with_hint("give a different destination"),
            );
        }
    }
    let (existing, destination_unchecked) = if check_existing {
        match existing_at_destination(dst, &pairs, single).await {
            Ok(existing) => (existing, None),
            Err(why) => (HashMap::new(), Some(why)),
        }
    } else {
        (HashMap::new(), None)
    };
    let items: Vec<Item> = pairs
        .into_iter()
        .map(|(from_key, to_key, size)| {
            let replaced_size = existing.get(&to_key).copied();
            Item {
                from: src.show(&from_key),
                to: dst.show(&to_key),
                size,
                overwrites: replaced_size.is_some(),
                replaced_size,
                server_side_in_parts: method == Method::Stream
                    && multipart_between_buckets(src, dst, size).is_some(),
                from_key,
                to_key,
            }
        })
        .collect();
    let bytes = items.iter().fold(0u64, |a, i| a.saturating_add(i.size));
    Ok(Plan {
        method,
        items,
        bytes,
        destination_unchecked,
        skipped_links,
    })
}

/// What already exists where the copy would write, with its size, for the
/// dry run: one HEAD for one object, one listing of the destination for many
/// (never a HEAD per object). `Err` says why it could not be checked.
async fn existing_at_destination(
    dst: &Side<'_>,
    pairs: &[(String, String, u64)],
    single: bool,
) -> std::result::Result<HashMap<String, u64>, String> {
    if single {
        let to = &pairs[0].1;
        let path = keys::path(to).map_err(|e| e.to_string())?;
        return match dst.store.head(&path).await {
            Ok(meta) => Ok([(to.clone(), meta.size)].into()),
            Err(object_store::Error::NotFound { .. }) => Ok(HashMap::new()),
            Err(e) => Err(dst.explain(to, &e).message().to_string()),
        };
    }
    // A local directory that does not exist yet holds nothing.
    if dst.local.as_ref().is_some_and(|path| !path.exists()) {
        return Ok(HashMap::new());
    }
    let listed = dst
        .list(&dst.key)
        .await
        .map_err(|e| dst.explain(&dst.key, &e).message().to_string())?;
    Ok(listed
        .into_iter()
        .map(|object| (object.key, object.size))
        .collect())
}

/// For a local source: a test that tells, for a listed file, the real path
/// it leads to when a symlink takes it out of the source tree (object_store's
/// local listing follows symlinks). A file whose real path cannot be
/// resolved is kept: copying it reports the problem.
fn leaving_links(src: &Side<'_>) -> impl Fn(&str) -> Option<PathBuf> {
    let root = src
        .local
        .as_deref()
        .and_then(|p| std::fs::canonicalize(p).ok());
    let fs = LocalFileSystem::new();
    move |key: &str| {
        let root = root.as_ref()?;
        let location = keys::path(key).ok()?;
        let real = std::fs::canonicalize(fs.path_to_filesystem(&location).ok()?).ok()?;
        (!real.starts_with(root)).then_some(real)
    }
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
            server_side_copy(src, dst, &item, &from, &to, progress).await
        } else if let Some(limit) = multipart_between_buckets(src, dst, item.size) {
            multipart_copy(src, dst, &item, limit, progress).await
        } else {
            stream_copy(src, &from, dst, &to, item.size, progress).await
        };
        if let Err(failure) = copied {
            let mut why = failure.explain(src, dst, &item);
            if mode == Mode::Move {
                why.push_str(": source kept");
            }
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
                    src.explain_request(Doing::Deleting, &item.from_key, &e)
                        .message()
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

/// Where a copy failed: reading the source, writing the destination, or in
/// a server-side copy (the server reads and writes), in one request or in
/// parts.
enum Failure {
    Source(object_store::Error),
    Destination(object_store::Error),
    ServerSide(object_store::Error),
    Multipart(multipart_copy::CopyFailure),
}

/// Both sides' S3 handles, when both are S3 buckets.
fn s3_handles<'a>(src: &Side<'a>, dst: &Side<'a>) -> Option<(&'a StoreHandle, &'a StoreHandle)> {
    match (src.remote, dst.remote) {
        (Some(s), Some(d)) if s.bucket_admin.is_some() && d.bucket_admin.is_some() => Some((s, d)),
        _ => None,
    }
}

/// A copy within one bucket. S3 copies at most 5 GiB in one CopyObject:
/// a larger object is copied in parts, and so is one the server refuses as
/// too large for one copy (in parts no larger than the cap it names).
async fn server_side_copy(
    src: &Side<'_>,
    dst: &Side<'_>,
    item: &Item,
    from: &Path,
    to: &Path,
    progress: &Progress,
) -> std::result::Result<(), Failure> {
    let s3 = s3_handles(src, dst).is_some();
    if s3 && item.size > multipart_copy::COPY_OBJECT_MAX {
        return multipart_copy(src, dst, item, multipart_copy::COPY_OBJECT_MAX, progress).await;
    }
    match dst.store.copy(from, to).await {
        Ok(()) => {
            progress.advance(item.size);
            Ok(())
        }
        Err(e) => match multipart_copy::refused_limit(&e) {
            Some(limit) if s3 => multipart_copy(src, dst, item, limit, progress).await,
            _ => Err(Failure::ServerSide(e)),
        },
    }
}

/// Between two buckets of one S3 service, an object too large for one
/// CopyObject is copied by the server in parts rather than streamed through
/// here (smaller ones are streamed, as before): the cap to copy under.
fn multipart_between_buckets(src: &Side<'_>, dst: &Side<'_>, size: u64) -> Option<u64> {
    let (s, d) = s3_handles(src, dst)?;
    (size > multipart_copy::COPY_OBJECT_MAX && multipart_copy::same_service(s, d))
        .then_some(multipart_copy::COPY_OBJECT_MAX)
}

async fn multipart_copy(
    src: &Side<'_>,
    dst: &Side<'_>,
    item: &Item,
    limit: u64,
    progress: &Progress,
) -> std::result::Result<(), Failure> {
    let Some((s, d)) = s3_handles(src, dst) else {
        return Err(Failure::ServerSide(object_store::Error::NotSupported {
            source: "a copy in parts needs S3 buckets on both sides".into(),
        }));
    };
    multipart_copy::copy(s, &item.from_key, d, &item.to_key, limit, progress)
        .await
        .map_err(Failure::Multipart)
}

/// Whether a request failed because the server went quiet for longer than
/// the timeout (reqwest reports it deep in the error's source chain).
fn timed_out(err: &object_store::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if e.downcast_ref::<reqwest::Error>()
            .is_some_and(reqwest::Error::is_timeout)
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = e.source();
    }
    false
}

impl Failure {
    /// The reason, naming the side that failed and its URL (or path).
    fn explain(&self, src: &Side<'_>, dst: &Side<'_>, item: &Item) -> String {
        let why = self.side_and_message(src, dst, item);
        let (Failure::Source(e)
        | Failure::Destination(e)
        | Failure::ServerSide(e)
        | Failure::Multipart(multipart_copy::CopyFailure { error: e, .. })) = self;
        if timed_out(e) {
            format!(
                "{why} (timed out: no answer or no data within --timeout; a slow link may need a longer one)"
            )
        } else {
            why
        }
    }

    fn side_and_message(&self, src: &Side<'_>, dst: &Side<'_>, item: &Item) -> String {
        match self {
            Failure::Source(e) => format!(
                "reading the source failed: {}",
                src.explain(&item.from_key, e).message()
            ),
            Failure::Destination(e) => format!(
                "writing the destination failed: {}",
                dst.explain_request(Doing::Writing, &item.to_key, e)
                    .message()
            ),
            // A server-side copy answers 404 for a missing source.
            Failure::ServerSide(e @ object_store::Error::NotFound { .. }) => format!(
                "server-side copy failed, the source is gone: {}",
                src.explain(&item.from_key, e).message()
            ),
            Failure::ServerSide(e) => format!(
                "server-side copy failed: {}",
                dst.explain_request(Doing::Writing, &item.to_key, e)
                    .message()
            ),
            Failure::Multipart(failure) if failure.at_source => format!(
                "reading the source failed: {}",
                src.explain(&item.from_key, &failure.error).message()
            ),
            Failure::Multipart(failure) => {
                let upload = match &failure.upload {
                    multipart_copy::UploadLeft::NotStarted => String::new(),
                    multipart_copy::UploadLeft::Aborted => {
                        "; the unfinished upload was aborted".to_string()
                    }
                    multipart_copy::UploadLeft::AbortFailed(why) => format!(
                        "; aborting the unfinished upload failed too ({why}): it may remain and hold storage until aborted (`aws s3api list-multipart-uploads` lists it)"
                    ),
                };
                format!(
                    "server-side copy in parts failed at {}: {}{upload}",
                    failure.step,
                    dst.explain_request(Doing::Writing, &item.to_key, &failure.error)
                        .message()
                )
            }
        }
    }
}

async fn stream_copy(
    src: &Side<'_>,
    from: &Path,
    dst: &Side<'_>,
    to: &Path,
    size: u64,
    progress: &Progress,
) -> std::result::Result<(), Failure> {
    let got = src.store.get(from).await.map_err(Failure::Source)?;
    if size <= SINGLE_PUT_MAX {
        let bytes = got.bytes().await.map_err(Failure::Source)?;
        let n = bytes.len() as u64;
        dst.store
            .put(to, PutPayload::from(bytes))
            .await
            .map_err(Failure::Destination)?;
        progress.advance(n);
        return Ok(());
    }
    let upload = dst
        .store
        .put_multipart(to)
        .await
        .map_err(Failure::Destination)?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut body = got.into_stream();
    let streamed = async {
        while let Some(chunk) = body.try_next().await.map_err(Failure::Source)? {
            writer
                .wait_for_capacity(PARTS_IN_FLIGHT)
                .await
                .map_err(Failure::Destination)?;
            writer.write(&chunk);
            progress.advance(chunk.len() as u64);
        }
        Ok(())
    }
    .await;
    match streamed {
        Ok(()) => writer
            .finish()
            .await
            .map(|_| ())
            .map_err(Failure::Destination),
        Err(e) => {
            // Leave no half-finished upload behind.
            let _ = writer.abort().await;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_respects_segment_boundaries() {
        assert!(within("dir/sub", "dir"));
        assert!(within("dir", "dir"));
        assert!(within("dir/", "dir"));
        assert!(within("anything", ""));
        assert!(!within("dir2", "dir"));
        assert!(!within("dir2/sub", "dir"));
        assert!(!within("di", "dir"));
        assert!(!within("", "dir"));
    }

    #[test]
    fn local_paths_compare_after_canonicalisation() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir_all(real.join("sub")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
        let src = Side::local(&real, false, std::time::Duration::from_secs(5)).unwrap();
        // Through a symlink, to a directory that does not exist yet.
        #[cfg(unix)]
        let dst_path = tmp.path().join("link/sub/new");
        #[cfg(not(unix))]
        let dst_path = real.join("sub/new");
        let dst = Side::local(&dst_path, false, std::time::Duration::from_secs(5)).unwrap();
        let refused = refuse_overlap(&src, &dst, Mode::Move).unwrap_err();
        assert!(
            refused.message().contains("a subdirectory of itself"),
            "{refused}"
        );
        let elsewhere = Side::local(
            &tmp.path().join("realm"),
            false,
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        assert!(refuse_overlap(&src, &elsewhere, Mode::Move).is_ok());
    }
}
