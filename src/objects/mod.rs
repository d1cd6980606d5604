//! The object-store chores beside the tree: listing (`ls`, `glob`, `du`),
//! looking (`info`, `head`, `cat`) and confirmed writes (`cp`, `mv`, `rm`,
//! `mkdir`). Everything here works on a [`StoreHandle`](crate::store::StoreHandle)
//! rooted at the bucket, so keys are bucket-relative; the guard in that handle
//! decides whether writes may pass.

pub mod bucket;
pub mod glob;
pub mod head;
pub mod listing;
pub mod multipart_copy;
pub mod remove;
pub mod transfer;

/// The URL of the directory holding `url` (`s3://b/a/k` → `s3://b/a/`), for
/// hints that suggest listing it.
pub(crate) fn parent_url(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let after_scheme = trimmed.find("://").map_or(0, |i| i + 3);
    match trimmed[after_scheme..].rfind('/') {
        Some(i) => trimmed[..after_scheme + i + 1].to_string(),
        None => format!("{trimmed}/"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_urls() {
        assert_eq!(parent_url("s3://b/a/k"), "s3://b/a/");
        assert_eq!(parent_url("s3://b/a/"), "s3://b/");
        assert_eq!(parent_url("s3://b"), "s3://b/");
        assert_eq!(parent_url("/tmp/x"), "/tmp/");
    }
}
