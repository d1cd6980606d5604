//! S3's cap on server-side copies: one CopyObject copies at most 5 GiB
//! (5368709120 bytes); a larger object must be copied by a multipart upload
//! whose parts are UploadPartCopy requests, each copying at most as much.
//! s3s-fs copies any size in one request, so this layer refuses what S3
//! refuses, with S3's code and message, and records every copy-related call
//! (with the x-amz-copy-source-range of each part) for tests to assert on.
//!
//! The cap can be lowered (`S3Server::set_copy_limit`) so that a test needs
//! megabytes, not gigabytes. Parts other than the last must still hold at
//! least 5 MiB (s3s-fs checks that at CompleteMultipartUpload, as S3 does),
//! so a lowered cap should stay at or above 5 MiB.
//!
//! s3s-fs's own UploadPartCopy reads `bytes=first-last` (inclusive) from the
//! source and refuses ranges past the end; it also takes `bytes=first-`,
//! which S3 refuses: refused here too.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

use super::{S3Server, awkward};

/// S3's largest copy source for CopyObject and for one UploadPartCopy.
pub const S3_COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;

/// One copy-related call, in the order the server received them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyCall {
    /// CopyObject of `source` (`bucket/key`) to `to` (`bucket/key`).
    CopyObject {
        source: String,
        to: String,
        refused: bool,
    },
    CreateMultipartUpload {
        to: String,
    },
    /// UploadPartCopy; `range` as sent (`bytes=0-6291455`), if any.
    UploadPartCopy {
        source: String,
        to: String,
        part: i32,
        range: Option<String>,
        refused: bool,
    },
    CompleteMultipartUpload {
        to: String,
        parts: usize,
    },
    AbortMultipartUpload {
        to: String,
    },
}

#[derive(Clone, Default)]
pub struct CopyCapState {
    limit: Arc<AtomicU64>,
    calls: Arc<Mutex<Vec<CopyCall>>>,
}

impl CopyCapState {
    pub fn new() -> Self {
        let state = Self::default();
        state.limit.store(S3_COPY_LIMIT, Ordering::SeqCst);
        state
    }

    /// Forget the calls so far (with the request log, on `reset`).
    pub(super) fn clear(&self) {
        self.calls.lock().unwrap().clear();
    }

    fn record(&self, call: CopyCall) {
        self.calls.lock().unwrap().push(call);
    }
}

pub struct CopyCap {
    pub inner: awkward::Awkward,
    pub state: CopyCapState,
    /// s3s-fs's root, to size a copy source on disk.
    pub root: PathBuf,
}

fn too_large(limit: u64) -> s3s::S3Error {
    s3s::s3_error!(
        InvalidRequest,
        "The specified copy source is larger than the maximum allowable size for a copy source: {limit}"
    )
}

fn bad_range() -> s3s::S3Error {
    s3s::s3_error!(
        InvalidArgument,
        "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"
    )
}

/// `bytes=first-last` → bytes it names (both offsets required, as S3 wants).
fn range_len(range: &str) -> Option<u64> {
    let (first, last) = range.strip_prefix("bytes=")?.split_once('-')?;
    let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
    (first <= last).then(|| last - first + 1)
}

impl CopyCap {
    fn limit(&self) -> u64 {
        self.state.limit.load(Ordering::SeqCst)
    }

    /// The size of `bucket/key`, in memory or on disk; `None` if absent.
    fn source_size(&self, bucket: &str, key: &str) -> Option<u64> {
        let phantoms = self.inner.phantoms.lock().unwrap();
        if let Some(body) = phantoms.get(&(bucket.to_string(), key.to_string())) {
            return Some(body.len() as u64);
        }
        drop(phantoms);
        let meta = std::fs::metadata(self.root.join(bucket).join(key)).ok()?;
        meta.is_file().then_some(meta.len())
    }
}

fn source_of(copy_source: &CopySource) -> Option<(String, String)> {
    match copy_source {
        CopySource::Bucket { bucket, key, .. } => Some((bucket.to_string(), key.to_string())),
        _ => None,
    }
}

#[async_trait::async_trait]
impl S3 for CopyCap {
    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let to = format!("{}/{}", req.input.bucket, req.input.key);
        let Some((bucket, key)) = source_of(&req.input.copy_source) else {
            return self.inner.copy_object(req).await;
        };
        let refused = self
            .source_size(&bucket, &key)
            .is_some_and(|size| size > self.limit());
        self.state.record(CopyCall::CopyObject {
            source: format!("{bucket}/{key}"),
            to,
            refused,
        });
        if refused {
            return Err(too_large(self.limit()));
        }
        self.inner.copy_object(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let to = format!("{}/{}", req.input.bucket, req.input.key);
        let range = req.input.copy_source_range.clone();
        let Some((bucket, key)) = source_of(&req.input.copy_source) else {
            return self.inner.upload_part_copy(req).await;
        };
        let copied = match &range {
            Some(r) => range_len(r),
            None => self.source_size(&bucket, &key),
        };
        let malformed = range.is_some() && copied.is_none();
        let refused = malformed || copied.is_some_and(|n| n > self.limit());
        self.state.record(CopyCall::UploadPartCopy {
            source: format!("{bucket}/{key}"),
            to,
            part: req.input.part_number,
            range,
            refused,
        });
        if malformed {
            return Err(bad_range());
        }
        if refused {
            return Err(too_large(self.limit()));
        }
        self.inner.upload_part_copy(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.state.record(CopyCall::CreateMultipartUpload {
            to: format!("{}/{}", req.input.bucket, req.input.key),
        });
        self.inner.create_multipart_upload(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let parts = req
            .input
            .multipart_upload
            .as_ref()
            .and_then(|m| m.parts.as_ref())
            .map_or(0, Vec::len);
        self.state.record(CopyCall::CompleteMultipartUpload {
            to: format!("{}/{}", req.input.bucket, req.input.key),
            parts,
        });
        self.inner.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.state.record(CopyCall::AbortMultipartUpload {
            to: format!("{}/{}", req.input.bucket, req.input.key),
        });
        self.inner.abort_multipart_upload(req).await
    }

    // Everything else as the layer below answers it.

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.inner.list_objects_v2(req).await
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.inner.head_object(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.inner.get_object(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.inner.put_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.inner.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.inner.delete_objects(req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.inner.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.inner.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.inner.get_bucket_location(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.inner.list_buckets(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.inner.list_objects(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.inner.upload_part(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.inner.list_parts(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.inner.delete_bucket(req).await
    }
}

impl S3Server {
    /// Refuse server-side copies of more than `bytes` (S3: 5 GiB), as S3
    /// refuses them: 400 InvalidRequest, "...for a copy source: N".
    pub fn set_copy_limit(&self, bytes: u64) {
        self.copy_cap.limit.store(bytes, Ordering::SeqCst);
    }

    /// Copy-related calls so far, in order.
    pub fn copy_calls(&self) -> Vec<CopyCall> {
        self.copy_cap.calls.lock().unwrap().clone()
    }

    /// Uploads begun and neither completed nor aborted (s3s-fs keeps an
    /// `.upload-ID.json` file in its root for each until then).
    pub fn open_uploads(&self) -> usize {
        std::fs::read_dir(self.root.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(".upload-") && n.ends_with(".json"))
            })
            .count()
    }
}
