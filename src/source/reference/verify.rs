//! `refs --verify`: one HEAD per distinct target file of a reference set,
//! to find the files that went missing, became unreadable or shrank below
//! the byte ranges pointing into them — the usual ways a reference set rots
//! when data moves. Never a byte of a target's body: the CLI opens the
//! target stores behind a HEAD-only guard ([`crate::store::guard::Keys::HeadsOnly`]).
//!
//! Targets are grouped by store root (an S3/GCS bucket, an Azure container,
//! an HTTP host, the local file system), each root is opened once, and the
//! HEADs run with a bound on how many are in flight and a cap on how many
//! are made, in the style of the crawl ([`crate::source::crawl`]).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use object_store::ObjectStoreExt;

use super::model::TargetUse;
use crate::error::Result;
use crate::location::{Location, is_remote_url};
use crate::progress::Progress;
use crate::source::access_denied;
use crate::store::StoreHandle;

/// HEADs in flight at once by default.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// The most HEADs made by default (the crawl's request cap).
pub const DEFAULT_MAX_REQUESTS: u64 = crate::source::crawl::DEFAULT_MAX_REQUESTS;

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// HEADs (and store openings) in flight at once (at least 1).
    pub concurrency: usize,
    /// Stop issuing HEADs after this many; the targets left are
    /// [`TargetState::NotChecked`].
    pub max_requests: u64,
    /// A progress line on stderr when it is a terminal.
    pub progress: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            concurrency: DEFAULT_CONCURRENCY,
            max_requests: DEFAULT_MAX_REQUESTS,
            progress: false,
        }
    }
}

/// What the HEAD of one target file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetState {
    Ok {
        size: u64,
    },
    /// 404 (or a 403 that may mean missing, see [`crate::source::access_denied`]).
    /// A HEAD's 404 has no body, so a missing bucket looks the same as a
    /// missing file.
    Missing,
    /// Any other failure: the explained, redacted reason (with its hint).
    Unreadable(String),
    /// Shorter than the largest offset+length pointing into it.
    Short {
        size: u64,
        needed: u64,
    },
    /// Not asked: the request cap was reached first.
    NotChecked,
}

impl TargetState {
    /// Missing, unreadable or short: what makes `refs --verify` exit 1.
    pub fn is_broken(&self) -> bool {
        matches!(
            self,
            TargetState::Missing | TargetState::Unreadable(_) | TargetState::Short { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetCheck {
    pub url: String,
    pub uses: TargetUse,
    pub state: TargetState,
}

/// How many checks found a broken target (missing, unreadable or short).
pub fn broken(checks: &[TargetCheck]) -> usize {
    checks.iter().filter(|c| c.state.is_broken()).count()
}

/// A target URL resolved to the store it lives in and its key there.
struct Addressed {
    /// The store root: the bucket, container, host, or `/`.
    root: Location,
    /// The bucket-relative key (for a local file, its absolute path without
    /// the leading `/`).
    key: String,
    /// The URL for messages: normalised, without a query (an Azure SAS).
    shown: String,
}

/// Where `url` lives, or why it names no file zarrscope can ask for.
fn address(url: &str) -> std::result::Result<Addressed, String> {
    if url.contains("{{") {
        return Err(format!(
            "target {url:?} still holds a template ({{{{name}}}}) after expansion: the reference set's \"templates\" do not define it, so it names no file\n  hint: define the template under \"templates\" in the reference set, or write the full URL"
        ));
    }
    if !is_remote_url(url) {
        return address_local(url);
    }
    let location = Location::parse(url).map_err(|e| e.to_string())?;
    if location.prefix.is_empty() {
        return Err(format!(
            "target {url:?} names a bucket or host, not a file\n  hint: a reference's target must be a file's URL (s3://bucket/path/file.nc)"
        ));
    }
    let root = Location {
        backend: location.backend.clone(),
        prefix: String::new(),
        url: location.url_of(""),
        reference: false,
        version: None,
    };
    Ok(Addressed {
        root,
        key: location.prefix.clone(),
        shown: location.url,
    })
}

/// A local target: a `file://` URL or an absolute path. Its store root is
/// the file system's root, whatever directory it is in.
fn address_local(url: &str) -> std::result::Result<Addressed, String> {
    let path = match url.strip_prefix("file://") {
        Some(_) => url::Url::parse(url)
            .ok()
            .and_then(|u| u.to_file_path().ok())
            .ok_or_else(|| {
                format!(
                    "target {url:?} is not a local file URL\n  hint: write file:///absolute/path/file.nc, or the absolute path"
                )
            })?,
        None => PathBuf::from(url),
    };
    if !path.is_absolute() {
        return Err(format!(
            "target {url:?} is a relative path: zarrscope cannot tell what it is relative to\n  hint: have the reference set name its targets by absolute URL (s3://…, https://…, /absolute/path); a set written with relative paths only works from the directory it was written in"
        ));
    }
    let root = Location::parse("/").map_err(|e| e.to_string())?;
    let key = path
        .to_str()
        .ok_or_else(|| format!("target {url:?} is not a UTF-8 path"))?
        .trim_start_matches('/')
        .to_string();
    if key.is_empty() {
        return Err(format!(
            "target {url:?} names the file system's root, not a file"
        ));
    }
    Ok(Addressed {
        root,
        key,
        shown: path.display().to_string(),
    })
}

/// HEAD one target in its opened store.
async fn check(store: &StoreHandle, target: &Addressed, uses: &TargetUse) -> TargetState {
    let path = match crate::keys::path(&target.key) {
        Ok(path) => path,
        Err(e) => return TargetState::Unreadable(crate::error::Error::from(e).to_string()),
    };
    match store.store.head(&path).await {
        Ok(meta) if meta.size < uses.max_end => TargetState::Short {
            size: meta.size,
            needed: uses.max_end,
        },
        Ok(meta) => TargetState::Ok { size: meta.size },
        Err(object_store::Error::NotFound { .. }) => TargetState::Missing,
        Err(e) if access_denied(store, &e) => TargetState::Missing,
        Err(e) => {
            TargetState::Unreadable(store.redact(&store.explain_url(&target.shown, &e).to_string()))
        }
    }
}

/// HEAD every target: `targets` are the distinct target URLs (templates
/// already expanded) and how the entries use them; `open` opens the store
/// a target lives in, once per store root (the CLI passes one built on
/// `Session::open` with a HEAD-only policy).
///
/// The cap goes by input order: the first `max_requests` targets that name
/// a file are asked (or fail with their store), the rest are
/// [`TargetState::NotChecked`]. Results come back in input order.
pub async fn verify<F, Fut>(
    targets: Vec<(String, TargetUse)>,
    open: F,
    options: &VerifyOptions,
) -> Vec<TargetCheck>
where
    F: Fn(Location) -> Fut,
    Fut: Future<Output = Result<Arc<StoreHandle>>>,
{
    let concurrency = options.concurrency.max(1);
    let total = targets.len();
    let progress = if options.progress {
        Progress::spinner(true)
    } else {
        Progress::hidden()
    };

    let mut states: Vec<Option<TargetState>> = vec![None; total];
    // Store roots and, per target to ask, (target index, root index, address).
    let mut roots: Vec<Location> = Vec::new();
    let mut planned: Vec<(usize, usize, Addressed)> = Vec::new();
    for (i, (url, _)) in targets.iter().enumerate() {
        match address(url) {
            Err(why) => states[i] = Some(TargetState::Unreadable(why)),
            Ok(_) if planned.len() as u64 >= options.max_requests => {
                states[i] = Some(TargetState::NotChecked)
            }
            Ok(addressed) => {
                // Reference sets have few roots: a linear search is enough.
                let root = match roots.iter().position(|r| *r == addressed.root) {
                    Some(root) => root,
                    None => {
                        roots.push(addressed.root.clone());
                        roots.len() - 1
                    }
                };
                planned.push((i, root, addressed));
            }
        }
    }

    progress.message(format!("verify: opening {} stores", roots.len()));
    let opened: Vec<std::result::Result<Arc<StoreHandle>, String>> = stream::iter(roots)
        .map(|root| {
            let url = root.url.clone();
            let opening = open(root);
            async move {
                opening
                    .await
                    .map_err(|e| format!("could not open {url} to check its targets: {e}"))
            }
        })
        .buffered(concurrency)
        .collect()
        .await;

    let mut heads = Vec::new();
    for (i, root, addressed) in planned {
        match &opened[root] {
            Ok(store) => heads.push((i, Arc::clone(store), addressed)),
            Err(why) => states[i] = Some(TargetState::Unreadable(why.clone())),
        }
    }
    let asked = heads.len();
    let targets_ref = &targets;
    let mut answers = stream::iter(heads)
        .map(|(i, store, addressed)| async move {
            (i, check(&store, &addressed, &targets_ref[i].1).await)
        })
        .buffer_unordered(concurrency);
    let mut done = 0usize;
    while let Some((i, state)) = answers.next().await {
        states[i] = Some(state);
        done += 1;
        progress.message(format!(
            "verify: {done} of {asked} target files asked ({total} in the set)"
        ));
    }
    drop(answers);
    progress.finish();

    targets
        .into_iter()
        .zip(states)
        .map(|((url, uses), state)| TargetCheck {
            url,
            uses,
            // Every index was given a state above; NotChecked is the honest
            // answer should one not have been.
            state: state.unwrap_or(TargetState::NotChecked),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_addressed_by_store_root_and_key() {
        let a = address("s3://bucket/dir/day1.nc").unwrap();
        let b = address("s3a://bucket/other/day2.nc").unwrap();
        assert_eq!(a.root, b.root);
        assert_eq!(a.root.url, "s3://bucket");
        assert_eq!(a.key, "dir/day1.nc");
        let h = address("https://host.example:8443/data/x.nc").unwrap();
        assert_eq!(h.root.url, "https://host.example:8443");
        assert_eq!(h.key, "data/x.nc");
        let local = address("/tmp/some/file.nc").unwrap();
        assert_eq!(local.key, "tmp/some/file.nc");
        assert_eq!(
            address("file:///tmp/some/file.nc").unwrap().root,
            local.root
        );
        for bad in ["{{u}}/day1.nc", "data/day1.nc", "s3://bucket", "ftp://h/x"] {
            assert!(address(bad).is_err(), "{bad}");
        }
    }
}
