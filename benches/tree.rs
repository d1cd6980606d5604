//! `cargo bench --bench tree`: figures for the tree command, each as a ratio
//! against a baseline measured in the same run.
//!
//! 1. Parse + build + render a consolidated document of 5,000 arrays
//!    (the 4.5 MB class), v2 and v3: time and peak heap, against plain
//!    `serde_json::from_slice::<Value>` of the same bytes.
//! 2. Tree over the in-process S3 server with 50 ms injected per request:
//!    wall time and requests, against one bare GET (the floor) and against
//!    probing the two formats one after the other.
//!
//! `cargo bench --bench tree -- write-stores DIR [N]` writes the synthetic
//! documents below as two stores on disk instead (DIR/big-v2.zarr,
//! DIR/big-v3.zarr; N arrays, 50,000 by default), for timing the release
//! binary itself (bench/release_profile.sh).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use object_store::ObjectStoreExt;
use serde_json::{Value, json};
use zarrscope::hierarchy::Hierarchy;
use zarrscope::location::Location;
use zarrscope::metadata;
use zarrscope::render::{Renderer, Stats, TreeRenderer};
use zarrscope::store::credentials::S3Flags;
use zarrscope::store::{StoreHandle, StoreOptions};

#[path = "support/heap.rs"]
mod heap;
use heap::peak_during;

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time_runs<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t0 = Instant::now();
                std::hint::black_box(f());
                t0.elapsed()
            })
            .collect(),
    )
}

fn cf_attrs(i: usize) -> Value {
    json!({
        "_ARRAY_DIMENSIONS": ["time", "y", "x"],
        "coordinates": "lat lon",
        "grid_mapping": "crs",
        "long_name": format!("synthetic variable number {i} with a long descriptive name"),
        "standard_name": format!("variable_{i}"),
        "units": "kg m-2 s-1",
        "description": "ACCUMULATED TOTAL GRID SCALE PRECIPITATION OVER THE OUTPUT INTERVAL",
        "valid_range": [0.0, 1000.0],
        "scale_factor": 0.01,
        "add_offset": 0.0,
        "missing_value": -9999,
        "history": "created for the zarrscope benchmark; the text is here to reach a realistic size per variable",
    })
}

/// A zarr-python-2 style `.zmetadata` with `n` arrays in 10 groups.
fn v2_document(n: usize) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    m.insert(".zgroup".into(), json!({"zarr_format": 2}));
    m.insert(".zattrs".into(), json!({"title": "benchmark"}));
    for g in 0..10 {
        m.insert(format!("group{g}/.zgroup"), json!({"zarr_format": 2}));
    }
    for i in 0..n {
        let key = format!("group{}/var{i}", i % 10);
        m.insert(
            format!("{key}/.zarray"),
            json!({"chunks": [144, 175, 175], "compressor": {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0},
                   "dtype": "<f4", "fill_value": "NaN", "filters": null, "order": "C",
                   "shape": [376945, 1015, 1367], "zarr_format": 2, "dimension_separator": "."}),
        );
        m.insert(format!("{key}/.zattrs"), cf_attrs(i));
    }
    serde_json::to_vec(&json!({"metadata": m, "zarr_consolidated_format": 1})).unwrap()
}

/// A zarr-python-3 style root `zarr.json` with inline consolidated metadata.
fn v3_document(n: usize) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    for g in 0..10 {
        m.insert(
            format!("group{g}"),
            json!({"zarr_format": 3, "node_type": "group", "attributes": {}}),
        );
    }
    for i in 0..n {
        m.insert(
            format!("group{}/var{i}", i % 10),
            json!({"zarr_format": 3, "node_type": "array", "shape": [376945, 1015, 1367], "data_type": "float32",
                   "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [144, 175, 175]}},
                   "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
                   "fill_value": "NaN", "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                   {"name": "zstd", "configuration": {"level": 9, "checksum": false}}],
                   "attributes": cf_attrs(i), "dimension_names": ["time", "y", "x"]}),
        );
    }
    serde_json::to_vec(
        &json!({"zarr_format": 3, "node_type": "group", "attributes": {"title": "benchmark"},
        "consolidated_metadata": {"kind": "inline", "must_understand": false, "metadata": m}}),
    )
    .unwrap()
}

fn parse(doc: &[u8], v3: bool) -> (u8, metadata::Consolidated) {
    if v3 {
        match metadata::v3::parse_root(doc).expect("v3 root") {
            metadata::v3::Root::Consolidated(c) => (3, c),
            _ => panic!("benchmark document is consolidated"),
        }
    } else {
        (
            2,
            metadata::v2::parse_consolidated(doc).expect("v2 document"),
        )
    }
}

fn build((format, consolidated): (u8, metadata::Consolidated)) -> Hierarchy {
    Hierarchy::new(
        "bench",
        format,
        true,
        consolidated.nodes,
        consolidated.warnings,
    )
}

fn render(h: &Hierarchy) -> usize {
    let mut out = Vec::new();
    let renderer = TreeRenderer {
        attrs: false,
        depth: None,
        color: false,
        sizes: false,
    };
    renderer
        .render(h, Stats::default(), &mut out)
        .expect("render");
    out.len()
}

fn build_and_render(doc: &[u8], v3: bool) -> usize {
    render(&build(parse(doc, v3)))
}

fn parse_benchmark() {
    println!("## parse + build (+ render), 10 / 5,000 / 50,000 arrays");
    println!(
        "Target: parse + build at 200 MB/s or more, peak heap at most 4x the document. Baselines in the same run: serde_json reading the document into a `Value` tree, and serde_json only scanning it (`IgnoredAny`, the floor for any serde reader). Render (the tree text) is shown apart. Median of 15 runs (5 above 10 MB); heap counted over mimalloc, the binary's allocator."
    );
    println!();
    println!(
        "| document | size | serde_json Value | serde_json scan | parse | parse + build | parse + build throughput | peak heap / size | + render = tree | tree throughput | tree peak / size | tree / Value |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, doc, v3) in [10, 5000, 50_000].into_iter().flat_map(|n| {
        [
            (format!("v2 .zmetadata, {n} arrays"), v2_document(n), false),
            (format!("v3 zarr.json, {n} arrays"), v3_document(n), true),
        ]
    }) {
        let runs = if doc.len() > 10_000_000 { 5 } else { 15 };
        let value = time_runs(runs, || serde_json::from_slice::<Value>(&doc).map(|_| ()));
        let scan = time_runs(runs, || {
            serde_json::from_slice::<serde::de::IgnoredAny>(&doc).map(|_| ())
        });
        let parsed = time_runs(runs, || parse(&doc, v3));
        let built = time_runs(runs, || build(parse(&doc, v3)));
        let tree = time_runs(runs, || build_and_render(&doc, v3));
        let (_, built_peak) = peak_during(|| build(parse(&doc, v3)));
        let (_, tree_peak) = peak_during(|| build_and_render(&doc, v3));
        let size = doc.len() as f64;
        let time = |d: Duration| {
            let ms = d.as_secs_f64() * 1e3;
            if ms < 1.0 {
                format!("{:.0} µs", ms * 1e3)
            } else {
                format!("{ms:.1} ms")
            }
        };
        let rate = |d: Duration| format!("{:.0} MB/s", size / 1e6 / d.as_secs_f64());
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} | {:.1}x | {} | {} | {:.1}x | {:.2}x |",
            if size < 1e6 {
                format!("{:.1} kB", size / 1e3)
            } else {
                format!("{:.2} MB", size / 1e6)
            },
            time(value),
            time(scan),
            time(parsed),
            time(built),
            rate(built),
            built_peak as f64 / size,
            time(tree),
            rate(tree),
            tree_peak as f64 / size,
            tree.as_secs_f64() / value.as_secs_f64(),
        );
    }
}

fn open(rt: &tokio::runtime::Runtime, server: &common::S3Server, store: &str) -> StoreHandle {
    rt.block_on(server.open_public(store))
}

fn network_benchmark() {
    let delay = Duration::from_millis(50);
    let server = common::S3Server::start_with_delay(delay);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let runs = 7;
    println!();
    println!(
        "## tree over local S3, {} ms injected per request, median of {runs}",
        delay.as_millis()
    );
    println!(
        "| store | one bare GET of the document (floor) | sequential probes zarr.json then .zmetadata | zarrscope tree | requests (server log) | zarrscope / floor | sequential / zarrscope |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (store, doc) in [
        ("nwm-chrtout-v2.zarr", ".zmetadata"),
        ("v3-nested-sharded.zarr", "zarr.json"),
    ] {
        let floor = time_runs(runs, || {
            let ms = open(&rt, &server, store);
            rt.block_on(async {
                ms.store
                    .get(&ms.path(doc).expect("a key"))
                    .await
                    .expect("get")
                    .bytes()
                    .await
                    .expect("body")
            })
        });
        let sequential = time_runs(runs, || {
            let ms = open(&rt, &server, store);
            rt.block_on(async {
                let v3 = ms.store.get(&ms.path("zarr.json").expect("a key")).await;
                let v3 = match v3 {
                    Ok(r) => Some(r.bytes().await.expect("body")),
                    Err(_) => None,
                };
                match v3 {
                    Some(b) => b,
                    None => ms
                        .store
                        .get(&ms.path(".zmetadata").expect("a key"))
                        .await
                        .expect("get")
                        .bytes()
                        .await
                        .expect("body"),
                }
            })
        });
        server.reset();
        let ours = time_runs(runs, || {
            let ms = open(&rt, &server, store);
            rt.block_on(zarrscope::source::consolidated::read_consolidated(&ms))
                .expect("tree")
        });
        let requests = server.requests().len() / runs;
        println!(
            "| {store} | {:.0} ms | {:.0} ms | {:.0} ms | {requests} | {:.2}x | {:.2}x |",
            floor.as_secs_f64() * 1e3,
            sequential.as_secs_f64() * 1e3,
            ours.as_secs_f64() * 1e3,
            ours.as_secs_f64() / floor.as_secs_f64(),
            sequential.as_secs_f64() / ours.as_secs_f64(),
        );
    }
}

/// Start-up cost of deciding credentials when none are configured (no
/// files, no variables): must stay far under 100 ms, with no stall on the
/// instance-metadata service. Baseline: the same open with `--anon`.
fn startup_benchmark() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let home = tempfile::tempdir().expect("tempdir");
    let home_path = home.path().display().to_string();
    let env = std::collections::HashMap::from([("HOME", home_path.as_str())]);
    let open_with = |anon: bool| {
        let options = StoreOptions {
            s3: S3Flags {
                anon,
                ..S3Flags::default()
            },
            ..StoreOptions::default()
        };
        let location = Location::parse("s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr")
            .expect("location");
        rt.block_on(StoreHandle::open_with(
            location,
            &options,
            &env,
            None,
            zarrscope::source::POLICY,
        ))
        .expect("open")
    };
    let runs = 21;
    let anon = time_runs(runs, || open_with(true));
    let none = time_runs(runs, || open_with(false));
    println!();
    println!("## start-up before the first request, no credentials configured, median of {runs}");
    println!("| --anon (baseline) | no credentials (anonymous + notice) | ratio |");
    println!("|---|---|---|");
    println!(
        "| {:.2} ms | {:.2} ms | {:.2}x |",
        anon.as_secs_f64() * 1e3,
        none.as_secs_f64() * 1e3,
        none.as_secs_f64() / anon.as_secs_f64()
    );
}

/// The documents of [`v2_document`] and [`v3_document`] as stores on disk.
fn write_stores(dir: &std::path::Path, n: usize) {
    for (store, key, doc) in [
        ("big-v2.zarr", ".zmetadata", v2_document(n)),
        ("big-v3.zarr", "zarr.json", v3_document(n)),
    ] {
        let store = dir.join(store);
        std::fs::create_dir_all(&store).expect("create the store's directory");
        std::fs::write(store.join(key), doc).expect("write the document");
    }
    std::fs::write(dir.join("big-v2.zarr/.zgroup"), br#"{"zarr_format":2}"#)
        .expect("write .zgroup");
}

fn main() {
    // `cargo test --benches` runs bench targets with no arguments in test
    // mode; keep that fast by only checking the documents parse.
    if std::env::args().any(|a| a == "--test") {
        assert!(build_and_render(&v2_document(50), false) > 0);
        assert!(build_and_render(&v3_document(50), true) > 0);
        return;
    }
    // `cargo bench --bench tree -- parse` runs one part (by name).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let [command, dir, rest @ ..] = only.as_slice()
        && command == "write-stores"
    {
        match rest.first().map_or(Ok(50_000), |n| n.parse()) {
            Ok(n) => write_stores(std::path::Path::new(dir), n),
            Err(e) => {
                eprintln!("write-stores DIR [N]: N must be a number of arrays ({e})");
                std::process::exit(2);
            }
        }
        return;
    }
    let wanted = |part: &str| only.is_empty() || only.iter().any(|o| part.contains(o.as_str()));
    if wanted("parse") {
        parse_benchmark();
    }
    if wanted("network") {
        network_benchmark();
    }
    if wanted("startup") {
        startup_benchmark();
    }
}
