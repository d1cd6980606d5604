//! S3 answers `Range: bytes=-N` with the whole object when N is larger
//! than the object (RFC 9110 §14.1.1); s3s-fs answers 500. Parquet footer
//! reads ask for the last 64 KiB of files smaller than that, so the test
//! server asks s3s-fs for the range S3 would serve: the whole object.

use std::path::Path;

pub fn as_s3_does(req: &mut hyper::Request<hyper::body::Incoming>, root: &Path, path: &str) {
    if req.method() != hyper::Method::GET {
        return;
    }
    let Some(asked) = req
        .headers()
        .get(hyper::header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes=-"))
        .and_then(|n| n.parse::<u64>().ok())
    else {
        return;
    };
    let Ok(meta) = std::fs::metadata(root.join(path.trim_start_matches('/'))) else {
        return;
    };
    let size = meta.len();
    if meta.is_file() && size > 0 && asked > size {
        let whole = format!("bytes=0-{}", size - 1);
        if let Ok(value) = hyper::header::HeaderValue::from_str(&whole) {
            req.headers_mut().insert(hyper::header::RANGE, value);
        }
    }
}
