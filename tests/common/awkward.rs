//! Keys S3 allows but a file system cannot hold (`a/../b`, `a//b`, `a/./b`,
//! a folder marker `x/sub/`): s3s-fs would fold them onto other files, so
//! this wrapper keeps them in memory ("phantoms") and answers the calls that
//! touch them — listing, HEAD, GET, PUT, DELETE, DeleteObjects — passing
//! everything else to s3s-fs.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::TryStreamExt;
use s3s::dto::*;
use s3s::{S3, S3Request, S3Response, S3Result};

/// (bucket, key) → body.
pub type Phantoms = Arc<Mutex<BTreeMap<(String, String), Bytes>>>;

/// A key a file system cannot hold as is.
pub fn is_awkward(key: &str) -> bool {
    key.ends_with('/')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
}

/// A key s3s-fs cannot write (its metadata file name holds the key in base64).
fn too_long_to_write(key: &str) -> bool {
    key.len() > 150
}

pub struct Awkward {
    pub fs: s3s_fs::FileSystem,
    pub phantoms: Phantoms,
    /// s3s-fs's root: a copy from a file on disk to a phantom reads it here.
    pub root: std::path::PathBuf,
    /// The bench server's one-directory listings (see `shallow_list`).
    pub shallow_listing: bool,
}

impl Awkward {
    fn get(&self, bucket: &str, key: &str) -> Option<Bytes> {
        let phantoms = self.phantoms.lock().unwrap();
        phantoms
            .get(&(bucket.to_string(), key.to_string()))
            .cloned()
    }

    fn take(&self, bucket: &str, key: &str) -> bool {
        let mut phantoms = self.phantoms.lock().unwrap();
        phantoms
            .remove(&(bucket.to_string(), key.to_string()))
            .is_some()
    }
}

fn modified() -> Timestamp {
    Timestamp::from(
        std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
    )
}

#[async_trait::async_trait]
impl S3 for Awkward {
    async fn list_objects_v2(
        &self,
        mut req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        // S3 reads `delimiter=` (s3fs sends it) as no delimiter; s3s-fs
        // would group every key under its first character.
        if req.input.delimiter.as_deref() == Some("") {
            req.input.delimiter = None;
        }
        let bucket = req.input.bucket.clone();
        let prefix = req.input.prefix.clone().unwrap_or_default();
        let delimiter = req.input.delimiter.clone();
        let shallow = match self.shallow_listing {
            true => super::shallow_list::list(&self.root, &req.input).await,
            false => None,
        };
        let mut response = match shallow {
            Some(output) => S3Response::new(output),
            None => self.fs.list_objects_v2(req).await?,
        };
        let out = &mut response.output;
        let mut objects = out.contents.take().unwrap_or_default();
        let mut prefixes: Vec<String> = out
            .common_prefixes
            .take()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.prefix)
            .collect();
        for ((b, key), body) in self.phantoms.lock().unwrap().iter() {
            let Some(rest) = key.strip_prefix(prefix.as_str()) else {
                continue;
            };
            if *b != bucket {
                continue;
            }
            match delimiter
                .as_deref()
                .and_then(|d| rest.find(d).map(|i| (d, i)))
            {
                Some((d, i)) => prefixes.push(format!("{prefix}{}", &rest[..i + d.len()])),
                None => objects.push(Object {
                    key: Some(key.clone()),
                    size: Some(body.len() as i64),
                    last_modified: Some(modified()),
                    ..Default::default()
                }),
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        prefixes.sort();
        prefixes.dedup();
        out.key_count = Some((objects.len() + prefixes.len()) as i32);
        out.contents = (!objects.is_empty()).then_some(objects);
        out.common_prefixes = (!prefixes.is_empty()).then(|| {
            prefixes
                .into_iter()
                .map(|p| CommonPrefix { prefix: Some(p) })
                .collect()
        });
        Ok(response)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        if let Some(body) = self.get(&req.input.bucket, &req.input.key) {
            return Ok(S3Response::new(HeadObjectOutput {
                content_length: Some(body.len() as i64),
                last_modified: Some(modified()),
                e_tag: Some(ETag::Strong("phantom".into())),
                ..Default::default()
            }));
        }
        if is_awkward(&req.input.key) {
            return Err(s3s::s3_error!(NoSuchKey));
        }
        self.fs.head_object(req).await
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if let Some(body) = self.get(&req.input.bucket, &req.input.key) {
            // A range is served as S3 serves it (206 with Content-Range).
            let (body, content_range) = match &req.input.range {
                Some(range) => {
                    let len = body.len() as u64;
                    let r = range.check(len)?;
                    let part = body.slice(r.start as usize..r.end as usize);
                    (part, Some(format!("bytes {}-{}/{len}", r.start, r.end - 1)))
                }
                None => (body, None),
            };
            return Ok(S3Response::new(GetObjectOutput {
                content_length: Some(body.len() as i64),
                content_range,
                last_modified: Some(modified()),
                e_tag: Some(ETag::Strong("phantom".into())),
                body: Some(StreamingBlob::from(s3s::Body::from(body))),
                ..Default::default()
            }));
        }
        if is_awkward(&req.input.key) {
            return Err(s3s::s3_error!(NoSuchKey));
        }
        self.fs.get_object(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        if is_awkward(&req.input.key) || too_long_to_write(&req.input.key) {
            let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
            let body = match req.input.body {
                Some(blob) => {
                    let chunks: Vec<Bytes> = blob
                        .try_collect()
                        .await
                        .map_err(|_| s3s::s3_error!(IncompleteBody))?;
                    Bytes::from(chunks.concat())
                }
                None => Bytes::new(),
            };
            self.phantoms.lock().unwrap().insert((bucket, key), body);
            return Ok(S3Response::new(PutObjectOutput {
                e_tag: Some(ETag::Strong("phantom".into())),
                ..Default::default()
            }));
        }
        self.fs.put_object(req).await
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        if self.take(&req.input.bucket, &req.input.key) || is_awkward(&req.input.key) {
            return Ok(S3Response::new(DeleteObjectOutput::default()));
        }
        self.fs.delete_object(req).await
    }

    async fn delete_objects(
        &self,
        mut req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let (awkward, plain): (Vec<_>, Vec<_>) = std::mem::take(&mut req.input.delete.objects)
            .into_iter()
            .partition(|o| is_awkward(&o.key) || self.get(&bucket, &o.key).is_some());
        let mut deleted: Vec<DeletedObject> = awkward
            .into_iter()
            .map(|o| {
                self.take(&bucket, &o.key);
                DeletedObject {
                    key: Some(o.key),
                    ..Default::default()
                }
            })
            .collect();
        let mut response = if plain.is_empty() {
            S3Response::new(DeleteObjectsOutput::default())
        } else {
            req.input.delete.objects = plain;
            self.fs.delete_objects(req).await?
        };
        deleted.extend(response.output.deleted.take().unwrap_or_default());
        response.output.deleted = Some(deleted);
        Ok(response)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let CopySource::Bucket { bucket, key, .. } = &req.input.copy_source else {
            return self.fs.copy_object(req).await;
        };
        let to = &req.input.key;
        let source = self.get(bucket, key);
        if source.is_none() && !is_awkward(to) && !too_long_to_write(to) {
            return self.fs.copy_object(req).await;
        }
        let body = match source {
            Some(body) => body,
            None => Bytes::from(
                std::fs::read(self.root.join(&**bucket).join(&**key))
                    .map_err(|_| s3s::s3_error!(NoSuchKey))?,
            ),
        };
        self.phantoms
            .lock()
            .unwrap()
            .insert((req.input.bucket.clone(), to.clone()), body);
        Ok(S3Response::new(CopyObjectOutput::default()))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        self.fs.list_objects(req).await
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.fs.create_multipart_upload(req).await
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.fs.upload_part(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.fs.complete_multipart_upload(req).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.fs.abort_multipart_upload(req).await
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        self.fs.list_parts(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.fs.delete_bucket(req).await
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.fs.upload_part_copy(req).await
    }
}
