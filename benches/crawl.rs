//! `cargo bench --bench crawl`: crawls of Zarr v2 stores without
//! consolidated metadata over the in-process S3 server (the bench server: a
//! delimited listing costs one directory read, as on S3) with 50 ms added
//! to every request. Four stores: depth 2 and depth 6, about 1,000 and
//! 10,000 nodes. Each is crawled, in the same run:
//!
//! - before: `--concurrency 32`, the old fixed bound (the limiter cannot
//!   leave a ceiling of 32). The old crawl also read every nested group's
//!   `.zgroup`: its requests are these plus one per nested group (shown);
//! - after: the defaults (the limiter from 64 up to 128);
//! - zarr-python (`members(max_depth=None)` of `zarr.open_group(...,
//!   use_consolidated=False)` over s3fs, a fresh process, imports included)
//!   when `ZARR_PYTHON` names a Python that has zarr 3 and s3fs (the
//!   1,000-node stores only, as it takes minutes per 10,000 nodes, unless
//!   `ZARR_PYTHON_MAX_NODES` raises the bound: 20000 runs it on all four);
//!
//! against the depth-bound limit: 2 × depth round trips for v2 as it can
//! be crawled (the root's documents and listing at once; per group level
//! `.zarray`+`.zattrs`, then the listing; the arrays' level one round trip),
//! and the (depth + 1) round trips of a crawl that learnt a whole level per
//! round trip. Prints wall time, requests from the server's log, and ratios.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Home, S3Server};

const DELAY: Duration = Duration::from_millis(50);

fn write(path: &Path, text: &str) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

/// A store's shape: groups at levels 1..depth-1 (`branching` per group),
/// `arrays` arrays under each group of level depth-1.
struct Shape {
    name: &'static str,
    depth: usize,
    branching: usize,
    arrays: usize,
}

impl Shape {
    /// Groups below the root.
    fn nested_groups(&self) -> usize {
        (1..self.depth).map(|l| self.branching.pow(l as u32)).sum()
    }

    fn leaf_groups(&self) -> usize {
        self.branching.pow(self.depth as u32 - 1)
    }

    fn nodes(&self) -> usize {
        1 + self.nested_groups() + self.leaf_groups() * self.arrays
    }
}

fn group(dir: &Path) {
    write(&dir.join(".zgroup"), r#"{"zarr_format":2}"#);
    write(&dir.join(".zattrs"), r#"{"title":"g"}"#);
}

fn array(dir: &Path) {
    write(
        &dir.join(".zarray"),
        r#"{"zarr_format":2,"shape":[8760,100],"chunks":[720,100],"dtype":"<f4","fill_value":0.0,"order":"C","filters":null,"compressor":{"id":"zstd","level":3}}"#,
    );
    write(
        &dir.join(".zattrs"),
        r#"{"units":"K","_ARRAY_DIMENSIONS":["time","x"]}"#,
    );
}

fn make_store(dir: &Path, shape: &Shape, level: usize) {
    group(dir);
    if level + 1 == shape.depth {
        for a in 0..shape.arrays {
            array(&dir.join(format!("var{a:03}")));
        }
        return;
    }
    for g in 0..shape.branching {
        make_store(&dir.join(format!("group{g:02}")), shape, level + 1);
    }
}

/// Wall time and requests in the server's log of one crawl, which must
/// print `nodes` nodes.
fn crawl_once(
    server: &S3Server,
    home: &Home,
    store: &str,
    nodes: usize,
    extra: &[&str],
) -> (Duration, usize) {
    server.reset();
    let url = format!("s3://public/{store}");
    // 10,000 nodes take about 20,000 requests: past the default cap.
    let mut args = vec![
        "tree",
        &url,
        "--crawl",
        "--json",
        "--max-requests",
        "100000",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--anon", "--endpoint-url", &server.endpoint]);
    let t0 = Instant::now();
    let out = home
        .zarrscope()
        .timeout(Duration::from_secs(900))
        .args(&args)
        .output()
        .expect("zarrscope runs");
    let wall = t0.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["complete"], true, "{store}");
    assert_eq!(
        doc["nodes"].as_array().map_or(0, Vec::len),
        nodes,
        "{store}"
    );
    (wall, server.requests().len())
}

/// zarr-python's crawl of the same store: (wall, requests, nodes).
fn zarr_python(python: &str, server: &S3Server, store: &str) -> Option<(Duration, usize, usize)> {
    server.reset();
    let code = format!(
        "import zarr\n\
         opts = {{'anon': True, 'client_kwargs': {{'endpoint_url': '{}'}}}}\n\
         g = zarr.open_group('s3://public/{store}', mode='r', storage_options=opts, zarr_format=2, use_consolidated=False)\n\
         print(1 + sum(1 for _ in g.members(max_depth=None)))\n",
        server.endpoint
    );
    let t0 = Instant::now();
    // A bound on a peer that hangs (coreutils' timeout).
    let out = std::process::Command::new("timeout")
        .args(["600", python, "-c", &code])
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .ok()?;
    let wall = t0.elapsed();
    if !out.status.success() {
        eprintln!(
            "zarr-python failed on {store}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    let nodes = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    Some((wall, server.requests().len(), nodes))
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let shapes = [
        Shape {
            name: "d2-1k.zarr",
            depth: 2,
            branching: 10,
            arrays: 99,
        },
        Shape {
            name: "d2-10k.zarr",
            depth: 2,
            branching: 10,
            arrays: 999,
        },
        Shape {
            name: "d6-1k.zarr",
            depth: 6,
            branching: 2,
            arrays: 30,
        },
        Shape {
            name: "d6-10k.zarr",
            depth: 6,
            branching: 2,
            arrays: 311,
        },
    ];
    let server = S3Server::start_for_bench(DELAY);
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(common::PUBLIC);
    for shape in &shapes {
        make_store(&bucket.join(shape.name), shape, 0);
    }
    let python = std::env::var("ZARR_PYTHON").ok();
    let peer_max_nodes: usize = std::env::var("ZARR_PYTHON_MAX_NODES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "Crawls of Zarr v2 stores (no consolidated metadata), {} ms per request; wall time in ms, requests from the server's log",
        DELAY.as_millis()
    );
    println!(
        "| store | nodes | limit 2·depth RT | (depth+1) RT | before: fixed 32 (requests; old crawl) | after: adaptive 64→128 (requests) | zarr-python (requests) | before/after | zarr-python/after | after/limit |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for shape in &shapes {
        let store = shape.name;
        let (before, before_requests) = crawl_once(
            &server,
            &home,
            store,
            shape.nodes(),
            &["--concurrency", "32"],
        );
        let (after, after_requests) = crawl_once(&server, &home, store, shape.nodes(), &[]);
        let limit = DELAY * (2 * shape.depth) as u32;
        let level_limit = DELAY * (shape.depth + 1) as u32;
        // zarr-python takes minutes per 10,000 nodes: by default the
        // 1,000-node stores only.
        let peer = python
            .as_deref()
            .filter(|_| shape.nodes() <= peer_max_nodes)
            .and_then(|p| zarr_python(p, &server, store));
        let (peer_cell, peer_ratio) = match peer {
            Some((wall, requests, nodes)) => {
                assert_eq!(
                    nodes,
                    shape.nodes(),
                    "zarr-python saw every node of {store}"
                );
                (
                    format!("{:.0} ({requests})", ms(wall)),
                    format!("{:.1}x", wall.as_secs_f64() / after.as_secs_f64()),
                )
            }
            None => ("not run".into(), "-".into()),
        };
        println!(
            "| {store} (depth {}) | {} | {:.0} | {:.0} | {:.0} ({before_requests}; {}) | {:.0} ({after_requests}) | {peer_cell} | {:.1}x | {peer_ratio} | {:.1}x |",
            shape.depth,
            shape.nodes(),
            ms(limit),
            ms(level_limit),
            ms(before),
            before_requests + shape.nested_groups(),
            ms(after),
            before.as_secs_f64() / after.as_secs_f64(),
            after.as_secs_f64() / limit.as_secs_f64(),
        );
    }
}
