//! What a test looks at after a run: the server's log as lines, the write
//! requests in it, a directory's usage on disk.

use std::path::Path;

use super::S3Server;

/// "METHOD /bucket/key?query" per request, in order.
pub fn log_lines(server: &S3Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
        .collect()
}

/// The PUT, POST and DELETE requests, as [`log_lines`] shows them.
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
