//! What a test puts in the server and looks at after a run: a file with its
//! directories, 2500 small objects, the server's log as lines, the write requests in it, whether
//! `--stats` counted them all, a directory's usage on disk.

use std::path::{Path, PathBuf};

use super::{LoggedRequest, S3Server, stats_figure};

/// Write `body` to `path`, creating the directories above it.
pub fn write_file(path: &Path, body: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, body).unwrap();
}

/// 2500 one-byte objects `many/k00000`, `many/k00001`, ... in `bucket`
/// (three listing pages, three delete batches); their directory on disk.
pub fn many_objects(server: &S3Server, bucket: &str) -> PathBuf {
    let dir = server.bucket_dir(bucket).join("many");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..2500 {
        std::fs::write(dir.join(format!("k{i:05}")), "z").unwrap();
    }
    dir
}

/// "METHOD /bucket/key?query STATUS" per request, in order, for failure
/// messages. Presigned queries hold signatures: only what comes before.
pub fn log_lines(server: &S3Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| {
            let query = r.query.split("&X-Amz-").next().unwrap_or_default();
            format!("{} {}?{query} {}", r.method, r.path, r.status)
        })
        .collect()
}

/// Assert the `requests` figure of `--stats` in `stderr` is the number of
/// requests the server received.
pub fn assert_counted(server: &S3Server, stderr: &str) {
    assert_eq!(
        stats_figure(stderr, "requests"),
        server.requests().len() as u64,
        "{stderr}\n{:?}",
        log_lines(server)
    );
}

/// Assert every request in `log` was a GET of a metadata key (the guard: no
/// chunk key was ever asked for); the keys, sorted.
pub fn assert_only_metadata_gets(log: &[LoggedRequest]) -> Vec<String> {
    let mut keys = Vec::new();
    for r in log {
        assert_eq!(r.method, "GET", "unexpected request {r:?}");
        let key = r
            .key()
            .unwrap_or_else(|| panic!("not an object request: {r:?}"));
        assert!(
            zarrscope::source::probed_metadata_key(key),
            "non-metadata key requested: {r:?}"
        );
        keys.push(key.to_string());
    }
    keys.sort();
    keys
}

/// "METHOD /bucket/key?query" of each PUT, POST and DELETE request.
pub fn writes_seen(server: &S3Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| matches!(r.method.as_str(), "PUT" | "POST" | "DELETE"))
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect()
}

/// Walk a directory on disk: (objects, bytes).
pub fn disk_usage(dir: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            let (n, b) = disk_usage(&entry.path());
            total = (total.0 + n, total.1 + b);
        } else {
            total = (total.0 + 1, total.1 + meta.len());
        }
    }
    total
}
