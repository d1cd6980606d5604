//! For the bench server only (`examples/s3server.rs`): a delimited listing
//! of a directory (`prefix/`, delimiter `/`) read from that one directory,
//! as S3's cost grows with the answer. s3s-fs walks every file below the
//! prefix instead, which makes the top of a bucket of 1,000 stores cost the
//! server more than the network delay it simulates. Anything else (other
//! delimiters, continuation, more than one page) is left to s3s-fs.

use std::path::Path;

use s3s::dto::{CommonPrefix, ListObjectsV2Input, ListObjectsV2Output, Object, Timestamp};

pub async fn list(root: &Path, input: &ListObjectsV2Input) -> Option<ListObjectsV2Output> {
    let prefix = input.prefix.clone().unwrap_or_default();
    let simple = input.delimiter.as_deref() == Some("/")
        && (prefix.is_empty() || prefix.ends_with('/'))
        && !prefix.starts_with('/')
        && !prefix.contains("//")
        && input.continuation_token.is_none()
        && input.start_after.is_none();
    if !simple {
        return None;
    }
    let max_keys = input.max_keys.unwrap_or(1000);
    let dir = root.join(&input.bucket).join(&prefix);
    let mut entries = tokio::fs::read_dir(&dir).await.ok()?;
    let mut objects = Vec::new();
    let mut prefixes = Vec::new();
    while let Some(entry) = entries.next_entry().await.ok()? {
        let name = entry.file_name().into_string().ok()?;
        let file_type = entry.file_type().await.ok()?;
        if file_type.is_dir() {
            prefixes.push(format!("{prefix}{name}/"));
        } else {
            let meta = entry.metadata().await.ok()?;
            objects.push(Object {
                key: Some(format!("{prefix}{name}")),
                size: Some(i64::try_from(meta.len()).ok()?),
                last_modified: Some(Timestamp::from(meta.modified().ok()?)),
                ..Default::default()
            });
        }
    }
    let count = objects.len() + prefixes.len();
    if count > usize::try_from(max_keys).ok()? {
        return None;
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    prefixes.sort();
    Some(ListObjectsV2Output {
        key_count: Some(i32::try_from(count).ok()?),
        max_keys: Some(max_keys),
        is_truncated: Some(false),
        contents: (!objects.is_empty()).then_some(objects),
        common_prefixes: (!prefixes.is_empty()).then(|| {
            prefixes
                .into_iter()
                .map(|p| CommonPrefix { prefix: Some(p) })
                .collect()
        }),
        delimiter: input.delimiter.clone(),
        encoding_type: input.encoding_type.clone(),
        name: Some(input.bucket.clone()),
        prefix: input.prefix.clone(),
        ..Default::default()
    })
}
