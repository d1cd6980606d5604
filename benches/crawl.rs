//! `cargo bench --bench crawl`: the crawl of a 1,000-node store (v2 and v3,
//! no consolidated metadata) over the in-process S3 server with 50 ms added
//! to every request, at --concurrency 1 (the baseline: one request at a
//! time, as sequential peers do) and 32 (the default). Prints wall time,
//! requests from the server's log, and the ratio.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Home, S3Server};

const DELAY: Duration = Duration::from_millis(50);
const GROUPS: usize = 10;
const ARRAYS_PER_GROUP: usize = 99;

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// 1 root + 10 groups + 990 arrays = 1,001 nodes, depth 2.
fn make_store(root: &Path, v3: bool) {
    let group = |dir: &Path| {
        if v3 {
            write(
                &dir.join("zarr.json"),
                r#"{"zarr_format":3,"node_type":"group","attributes":{"title":"g"}}"#,
            );
        } else {
            write(&dir.join(".zgroup"), r#"{"zarr_format":2}"#);
            write(&dir.join(".zattrs"), r#"{"title":"g"}"#);
        }
    };
    group(root);
    for g in 0..GROUPS {
        let gdir = root.join(format!("group{g:02}"));
        group(&gdir);
        for a in 0..ARRAYS_PER_GROUP {
            let adir = gdir.join(format!("var{a:03}"));
            if v3 {
                write(
                    &adir.join("zarr.json"),
                    r#"{"zarr_format":3,"node_type":"array","shape":[8760,100],"data_type":"float32","chunk_grid":{"name":"regular","configuration":{"chunk_shape":[720,100]}},"chunk_key_encoding":{"name":"default","configuration":{"separator":"/"}},"fill_value":0.0,"codecs":[{"name":"bytes","configuration":{"endian":"little"}},{"name":"zstd","configuration":{"level":3,"checksum":false}}],"attributes":{"units":"K"},"dimension_names":["time","x"]}"#,
                );
            } else {
                write(
                    &adir.join(".zarray"),
                    r#"{"zarr_format":2,"shape":[8760,100],"chunks":[720,100],"dtype":"<f4","fill_value":0.0,"order":"C","filters":null,"compressor":{"id":"zstd","level":3}}"#,
                );
                write(
                    &adir.join(".zattrs"),
                    r#"{"units":"K","_ARRAY_DIMENSIONS":["time","x"]}"#,
                );
            }
        }
    }
}

fn crawl_once(
    server: &S3Server,
    home: &Home,
    store: &str,
    concurrency: &str,
) -> (Duration, usize, usize) {
    server.reset();
    let t0 = Instant::now();
    let out = home
        .zarrscope()
        .timeout(Duration::from_secs(900))
        .args([
            "tree",
            &format!("s3://public/{store}"),
            "--crawl",
            "--json",
            "--concurrency",
            concurrency,
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ])
        .output()
        .expect("zarrscope runs");
    let wall = t0.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let nodes = doc["nodes"].as_array().map_or(0, Vec::len);
    (wall, server.requests().len(), nodes)
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let server = S3Server::start_with_delay(DELAY);
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(common::PUBLIC);
    make_store(&bucket.join("thousand-v2.zarr"), false);
    make_store(&bucket.join("thousand-v3.zarr"), true);
    println!(
        "Crawl of a 1,001-node store (1 root, {GROUPS} groups, {} arrays; depth 2), {} ms per request",
        GROUPS * ARRAYS_PER_GROUP,
        DELAY.as_millis()
    );
    println!(
        "| store | --concurrency 1 (baseline) | requests | --concurrency 32 | requests | speed-up |"
    );
    println!("|---|---|---|---|---|---|");
    for store in ["thousand-v2.zarr", "thousand-v3.zarr"] {
        let (serial, serial_requests, n1) = crawl_once(&server, &home, store, "1");
        let mut walls = Vec::new();
        let mut wide_requests = 0;
        let mut n32 = 0;
        for _ in 0..3 {
            let (wall, requests, n) = crawl_once(&server, &home, store, "32");
            walls.push(wall);
            wide_requests = requests;
            n32 = n;
        }
        walls.sort();
        let wide = walls[1];
        assert_eq!(n1, n32, "same nodes either way");
        println!(
            "| {store} ({n32} nodes) | {:.1} s | {serial_requests} | {:.2} s | {wide_requests} | {:.1}x |",
            serial.as_secs_f64(),
            wide.as_secs_f64(),
            serial.as_secs_f64() / wide.as_secs_f64()
        );
    }
}
