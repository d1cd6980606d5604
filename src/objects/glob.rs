//! `glob`: keys matching `*`, `?`, `[...]`, `{a,b}` and `**`, found with as
//! few listings as the pattern allows.
//!
//! The pattern's leading literal segments are a fixed prefix: nothing outside
//! it is listed. Below it, each segment without `**` costs one delimited
//! listing per matching directory of the level above (issued concurrently),
//! so `s3://bucket/*.zarr` is exactly one LIST of the bucket's top level. A
//! `**` segment switches to one recursive listing below the directories
//! reached so far.

use futures::{StreamExt, TryStreamExt, stream};
use globset::{GlobBuilder, GlobMatcher};
use object_store::ObjectStoreExt;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::keys::{join, relative};
use crate::store::StoreHandle;
use crate::store::listing::{ObjectInfo, list_keys};

/// Listings in flight at once while walking a pattern.
const CONCURRENT_LISTINGS: usize = 16;

/// One match: an object, or a directory (a common prefix) matched by the
/// pattern's last segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Match {
    Object(ObjectInfo),
    Directory { key: String },
}

impl Match {
    pub fn key(&self) -> &str {
        match self {
            Match::Object(o) => &o.key,
            Match::Directory { key } => key,
        }
    }
}

fn has_glob_syntax(segment: &str) -> bool {
    segment.contains(['*', '?', '[', '{'])
}

fn matcher(pattern: &str) -> Result<GlobMatcher> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| {
            Error::new(format!("invalid glob pattern {pattern:?}: {e}"))
                .with_hint("use *, ?, [abc], {a,b} within a segment and ** for any depth")
        })
}

/// A pattern split into its fixed prefix and the segments to match.
#[derive(Debug, PartialEq, Eq)]
pub struct Pattern {
    /// Leading literal segments joined with `/` (`""` for the bucket root).
    pub fixed: String,
    /// The remaining segments, the first of which has glob syntax.
    pub rest: Vec<String>,
}

impl Pattern {
    pub fn parse(key_pattern: &str) -> Self {
        let segments: Vec<&str> = key_pattern.split('/').filter(|s| !s.is_empty()).collect();
        let first_glob = segments
            .iter()
            .position(|s| has_glob_syntax(s))
            .unwrap_or(segments.len());
        Self {
            fixed: segments[..first_glob].join("/"),
            rest: segments[first_glob..]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }
}

/// All keys matching `key_pattern` (bucket-relative), sorted.
pub async fn glob(handle: &StoreHandle, key_pattern: &str) -> Result<Vec<Match>> {
    let pattern = Pattern::parse(key_pattern);
    let store = &handle.store;
    let explain = |e: object_store::Error| handle.explain_url(&handle.location.url, &e);

    if pattern.rest.is_empty() {
        // No glob syntax at all: the key itself, if it exists.
        return match store.head(&crate::keys::path(&pattern.fixed)?).await {
            Ok(meta) => Ok(vec![Match::Object(ObjectInfo::from(&meta))]),
            Err(object_store::Error::NotFound { .. }) => Ok(Vec::new()),
            Err(e) => Err(explain(e)),
        };
    }

    let mut frontier = vec![pattern.fixed.clone()];
    for (i, segment) in pattern.rest.iter().enumerate() {
        let last = i + 1 == pattern.rest.len();
        if segment.contains("**") {
            // Everything below the directories reached so far (one
            // recursive listing each, never above them), matched against the
            // rest of the pattern. `**` spans zero or more segments, and a
            // pattern may name directories as well as objects: the
            // directories implied by the listed keys are matched too, as
            // fsspec's glob does (`**/*.zarr` finds stores).
            let tail = matcher(&pattern.rest[i..].join("/"))?;
            let listings = stream::iter(frontier.into_iter().map(|dir| {
                let tail = &tail;
                async move {
                    let listed = list_keys(handle, &dir, false).await?;
                    Ok::<_, object_store::Error>(deep_matches(&dir, listed.objects, tail))
                }
            }))
            .buffer_unordered(CONCURRENT_LISTINGS)
            .try_collect::<Vec<_>>()
            .await
            .map_err(explain)?;
            return Ok(sorted(listings.into_iter().flatten().collect()));
        }
        let segment_matcher = matcher(segment)?;
        let levels = stream::iter(frontier.into_iter().map(|dir| {
            let segment_matcher = &segment_matcher;
            async move {
                let listed = list_keys(handle, &dir, true).await?;
                let mut found = Vec::new();
                for p in &listed.directories {
                    let name = relative(p, &dir);
                    if segment_matcher.is_match(name) {
                        found.push(Match::Directory {
                            key: join(&dir, name),
                        });
                    }
                }
                if last {
                    for m in listed.objects {
                        if segment_matcher.is_match(relative(&m.key, &dir)) {
                            found.push(Match::Object(m));
                        }
                    }
                }
                Ok::<_, object_store::Error>(found)
            }
        }))
        .buffer_unordered(CONCURRENT_LISTINGS)
        .try_collect::<Vec<_>>()
        .await
        .map_err(explain)?;
        let found: Vec<Match> = levels.into_iter().flatten().collect();
        if last {
            return Ok(sorted(found));
        }
        frontier = found
            .into_iter()
            .filter_map(|m| match m {
                Match::Directory { key } => Some(key),
                Match::Object(_) => None,
            })
            .collect();
        if frontier.is_empty() {
            return Ok(Vec::new());
        }
    }
    Ok(Vec::new())
}

/// The objects listed below `dir` and the directories their keys imply,
/// each matched by `tail` on its path relative to `dir`.
fn deep_matches(dir: &str, objects: Vec<ObjectInfo>, tail: &GlobMatcher) -> Vec<Match> {
    let mut found = Vec::new();
    // Each directory is matched once.
    let mut directories = std::collections::HashSet::new();
    for info in objects {
        let rel = relative(&info.key, dir);
        let is_match = tail.is_match(rel);
        // Every directory above the key, below `dir`: a/b/c.txt → a, a/b.
        for (end, _) in rel.match_indices('/') {
            let sub = &rel[..end];
            if !directories.contains(sub) {
                directories.insert(sub.to_string());
                if tail.is_match(sub) {
                    found.push(Match::Directory {
                        key: join(dir, sub),
                    });
                }
            }
        }
        if is_match {
            found.push(Match::Object(info));
        }
    }
    found
}

fn sorted(mut matches: Vec<Match>) -> Vec<Match> {
    matches.sort_by(|a, b| a.key().cmp(b.key()));
    matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_prefix_stops_at_the_first_glob_segment() {
        assert_eq!(
            Pattern::parse("a/b/*.zarr"),
            Pattern {
                fixed: "a/b".into(),
                rest: vec!["*.zarr".into()]
            }
        );
        assert_eq!(
            Pattern::parse("*.zarr").fixed,
            "",
            "a bucket-level pattern lists the bucket root only"
        );
        assert_eq!(
            Pattern::parse("x/**/zarr.json").rest,
            vec!["**".to_string(), "zarr.json".into()]
        );
        assert!(Pattern::parse("a/b.txt").rest.is_empty());
    }

    #[test]
    fn segments_do_not_cross_slashes() {
        let m = matcher("*.zarr").unwrap();
        assert!(m.is_match("chrtout.zarr"));
        assert!(!m.is_match("x/chrtout.zarr"));
        let deep = matcher("**/.zarray").unwrap();
        assert!(deep.is_match("a/b/.zarray"));
        assert!(matcher("[").is_err());
    }

    #[test]
    fn double_star_spans_zero_or_more_segments_and_matches_directories() {
        let meta = |key: &str| ObjectInfo {
            key: key.to_string(),
            size: 1,
            last_modified: String::new(),
            etag: None,
        };
        let metas = [
            meta("data/top.zarr/.zgroup"),
            meta("data/a/b/deep.zarr/x/.zarray"),
            meta("data/readme.txt"),
        ];
        let tail = matcher("**/*.zarr").unwrap();
        let keys: Vec<String> = sorted(deep_matches("data", metas.to_vec(), &tail))
            .iter()
            .map(|m| m.key().to_string())
            .collect();
        assert_eq!(keys, ["data/a/b/deep.zarr", "data/top.zarr"]);
        let zgroup = matcher("top.zarr/**/.zgroup").unwrap();
        assert_eq!(
            deep_matches("data", metas.to_vec(), &zgroup).len(),
            1,
            "zero segments"
        );
    }
}
