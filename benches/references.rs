//! `cargo bench --bench references`: the one-pass JSON reference scanner on
//! a synthetic ~200 MB kerchunk version 1 reference set, against baselines
//! measured in the same run on the same file:
//!
//! - the scanner before it read in blocks (`scan_reader`: serde_json's
//!   `from_reader`, byte at a time);
//! - `serde_json::from_reader::<Value>` (BufReader) and `from_slice::<Value>`
//!   of the whole file read into memory;
//! - fsspec's ReferenceFileSystem (ujson) opening the file and listing it
//!   (`bench/references_fsspec.py`; skipped with a message without fsspec).
//!
//! Each variant runs in a child process (this binary with `--child`): its
//! peak memory is the child's ru_maxrss (wait4) above that of a child that
//! does nothing, and its heap peak is counted over mimalloc in the child.
//! The target (issue 15): at least 200 MB/s, peak memory at most 2x the
//! metadata part of the set.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use base64::Engine;
use serde_json::{Value, json};
use zarrscope::source::reference::scan::{ScanOptions, open, scan, scan_reader};

#[path = "support/heap.rs"]
mod heap;
use heap::peak_during;

const ARRAYS: usize = 50;
const TARGET_FILES: usize = 2_000;
/// Targets 0..TEMPLATED are written as `{{aN}}` templates, the rest as
/// direct URLs.
const TEMPLATED: usize = 1_000;
const GRID: (usize, usize, usize) = (80, 30, 30);

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
        "_FillValue": -9999,
        "history": "created for the zarrscope benchmark; the text is here to reach a realistic size per variable",
    })
}

/// kerchunk writes metadata as JSON text inside a JSON string, indented.
fn as_document(value: &Value) -> Value {
    Value::String(serde_json::to_string_pretty(value).unwrap())
}

/// Writes the synthetic set; returns its size.
fn generate(path: &Path) -> u64 {
    let mut out = BufWriter::new(File::create(path).unwrap());
    let templates: serde_json::Map<String, Value> = (0..TEMPLATED)
        .map(|f| {
            (
                format!("a{f}"),
                json!(format!("s3://hytest/conus404/wrfout_d01_{f:05}.nc")),
            )
        })
        .collect();
    write!(
        out,
        "{{\"version\":1,\"templates\":{},\"refs\":{{",
        Value::Object(templates)
    )
    .unwrap();
    let mut meta = serde_json::Map::new();
    meta.insert(".zgroup".into(), as_document(&json!({"zarr_format": 2})));
    meta.insert(
        ".zattrs".into(),
        as_document(&json!({"Conventions": "CF-1.8", "title": "zarrscope references benchmark",
            "institution": "synthetic", "source": "kerchunk-like generator", "history": "generated"})),
    );
    for (name, n) in [("time", GRID.0), ("y", GRID.1 * 100), ("x", GRID.2 * 100)] {
        meta.insert(
            format!("{name}/.zarray"),
            as_document(
                &json!({"chunks": [n], "compressor": null, "dtype": "<f8", "fill_value": null,
                "filters": null, "order": "C", "shape": [n], "zarr_format": 2}),
            ),
        );
        meta.insert(
            format!("{name}/.zattrs"),
            as_document(&json!({"_ARRAY_DIMENSIONS": [name], "units": "m", "standard_name": name})),
        );
    }
    for i in 0..ARRAYS {
        meta.insert(
            format!("var{i}/.zarray"),
            as_document(&json!({"chunks": [1, 100, 100], "compressor": {"id": "zlib", "level": 4},
                "dtype": "<f4", "fill_value": -9999.0, "filters": [{"elementsize": 4, "id": "shuffle"}],
                "order": "C", "shape": [GRID.0, GRID.1 * 100, GRID.2 * 100], "zarr_format": 2})),
        );
        meta.insert(format!("var{i}/.zattrs"), as_document(&cf_attrs(i)));
    }
    let mut first = true;
    for (key, value) in &meta {
        if !first {
            out.write_all(b",").unwrap();
        }
        first = false;
        write!(out, "{}:{}", json!(key), value).unwrap();
    }
    // Coordinates inline, as kerchunk does for small arrays.
    let b64 = base64::engine::general_purpose::STANDARD;
    for (name, n) in [("time", GRID.0), ("y", GRID.1 * 100), ("x", GRID.2 * 100)] {
        let data: Vec<u8> = (0..n as u64)
            .flat_map(|v| (v as f64).to_le_bytes())
            .collect();
        write!(out, ",\"{name}/0\":\"base64:{}\"", b64.encode(&data)).unwrap();
    }
    let small = b64.encode([7u8; 48]);
    let mut entry = 0u64;
    for i in 0..ARRAYS {
        for t in 0..GRID.0 {
            let file = (t * 25 + i / 2) % TARGET_FILES;
            for y in 0..GRID.1 {
                for x in 0..GRID.2 {
                    entry += 1;
                    let offset = 30_000 + (y * GRID.2 + x) as u64 * 40_961 + i as u64 * 7;
                    let length = 20_000 + (entry * 7_919) % 20_000;
                    if entry.is_multiple_of(100) {
                        write!(out, ",\"var{i}/{t}.{y}.{x}\":\"base64:{small}\"").unwrap();
                    } else if file < TEMPLATED {
                        write!(
                            out,
                            ",\"var{i}/{t}.{y}.{x}\":[\"{{{{a{file}}}}}\",{offset},{length}]"
                        )
                        .unwrap();
                    } else {
                        write!(
                            out,
                            ",\"var{i}/{t}.{y}.{x}\":[\"s3://bucket/path/file_{file}.nc\",{offset},{length}]"
                        )
                        .unwrap();
                    }
                }
            }
        }
    }
    out.write_all(b"}}").unwrap();
    out.flush().unwrap();
    std::fs::metadata(path).unwrap().len()
}

/// In the child: run one variant, print `seconds heap_peak metadata_bytes`.
fn child(variant: &str, path: &Path) {
    let started = Instant::now();
    let (metadata, heap_peak) = peak_during(|| match variant {
        "idle" => 0,
        "scan" | "scan_reader" => {
            let keep = |_: &str| false;
            let options = ScanOptions {
                keep: &keep,
                max_json_bytes: u64::MAX,
            };
            let (_, reader) = open(File::open(path).unwrap()).unwrap();
            let scanned = if variant == "scan" {
                scan(reader, &options).unwrap()
            } else {
                scan_reader(reader, &options).unwrap()
            };
            let metadata: usize = scanned
                .metadata
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum();
            let referenced: u64 = scanned.chunks.values().map(|t| t.referenced).sum();
            assert_eq!(
                scanned.targets.len(),
                TARGET_FILES,
                "every target file counted"
            );
            assert!(referenced > 0);
            std::hint::black_box(scanned);
            metadata
        }
        "value_reader" => {
            let value: Value =
                serde_json::from_reader(BufReader::new(File::open(path).unwrap())).unwrap();
            std::hint::black_box(value);
            0
        }
        "value_slice" => {
            let bytes = std::fs::read(path).unwrap();
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            std::hint::black_box(value);
            0
        }
        other => panic!("unknown variant {other}"),
    });
    let seconds = started.elapsed().as_secs_f64();
    println!("{seconds} {heap_peak} {metadata}");
}

struct Run {
    seconds: f64,
    heap: Option<u64>,
    /// ru_maxrss of the child, bytes.
    rss: u64,
    stdout: String,
}

/// Runs a child to its end; its peak resident memory from wait4.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its rusage
fn run_child(command: &mut Command) -> Option<Run> {
    let started = Instant::now();
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .ok()?;
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not reaped yet.
    let done = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(done, pid, "wait4 failed");
    let wall = started.elapsed().as_secs_f64();
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        eprintln!("child failed ({status}): {text}");
        return None;
    }
    Some(Run {
        seconds: wall,
        heap: None,
        rss: usage.ru_maxrss as u64 * 1024,
        stdout: text,
    })
}

fn rust_variant(path: &Path, variant: &str, runs: usize) -> (Run, usize) {
    let me = std::env::current_exe().unwrap();
    let mut best: Vec<Run> = Vec::new();
    let mut metadata = 0;
    for _ in 0..runs {
        let mut run =
            run_child(Command::new(&me).args(["--child", variant]).arg(path)).expect("child runs");
        let fields: Vec<&str> = run.stdout.split_whitespace().collect();
        run.seconds = fields[0].parse().unwrap();
        run.heap = Some(fields[1].parse().unwrap());
        metadata = fields[2].parse().unwrap();
        best.push(run);
    }
    best.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let median = best.swap_remove(runs / 2);
    (median, metadata)
}

fn mb(bytes: u64) -> String {
    if bytes < 10_000_000 {
        format!("{:.0} kB", bytes as f64 / 1e3)
    } else {
        format!("{:.1} MB", bytes as f64 / 1e6)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        return child(&args[2], Path::new(&args[3]));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("refs.json");
    let t0 = Instant::now();
    let size = generate(&path);
    println!(
        "Synthetic kerchunk v1 reference set: {} ({ARRAYS} arrays of {}x{}x{} chunks, {TARGET_FILES} target files, {TEMPLATED} through templates), written in {:.1} s",
        mb(size),
        GRID.0,
        GRID.1,
        GRID.2,
        t0.elapsed().as_secs_f64()
    );
    // Read the file once so every variant starts from the page cache, in
    // blocks: this process's own peak is every child's starting ru_maxrss.
    std::io::copy(&mut File::open(&path).unwrap(), &mut std::io::sink()).unwrap();

    let runs = 3;
    let (idle, _) = rust_variant(&path, "idle", runs);
    let (scanned, metadata) = rust_variant(&path, "scan", runs);
    let (scanned_reader, _) = rust_variant(&path, "scan_reader", runs);
    let (reader, _) = rust_variant(&path, "value_reader", runs);
    let (slice, _) = rust_variant(&path, "value_slice", runs);

    let python = std::env::var("ZARRSCOPE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/references_fsspec.py");
    let fsspec = run_child(Command::new(&python).arg(&script).arg("--idle")).and_then(|idle| {
        let full = run_child(Command::new(&python).arg(&script).arg(&path))?;
        Some((idle, full))
    });

    println!(
        "Metadata part: {} (keys and documents). Peak memory = child ru_maxrss above an idle child of the same program ({}); heap = bytes allocated at peak, counted in the child. Median of {runs} runs (fsspec: 1).",
        mb(metadata as u64),
        mb(idle.rss)
    );
    println!();
    println!(
        "{:<34} {:>8} {:>9} {:>10} {:>12} {:>12} {:>10}",
        "variant", "time s", "MB/s", "x Value", "peak mem", "heap peak", "x Value"
    );
    let base_time = reader.seconds;
    let base_mem = reader.rss.saturating_sub(idle.rss);
    let row = |name: &str, seconds: f64, rss: u64, idle_rss: u64, heap: Option<u64>| {
        let above = rss.saturating_sub(idle_rss);
        println!(
            "{:<34} {:>8.2} {:>9.0} {:>10.2} {:>12} {:>12} {:>10.4}",
            name,
            seconds,
            size as f64 / 1e6 / seconds,
            seconds / base_time,
            mb(above),
            heap.map_or("-".into(), mb),
            above as f64 / base_mem as f64
        );
    };
    row(
        "zarrscope scan (one pass)",
        scanned.seconds,
        scanned.rss,
        idle.rss,
        scanned.heap,
    );
    row(
        "before: scan_reader (from_reader)",
        scanned_reader.seconds,
        scanned_reader.rss,
        idle.rss,
        scanned_reader.heap,
    );
    row(
        "serde_json from_reader Value",
        reader.seconds,
        reader.rss,
        idle.rss,
        reader.heap,
    );
    row(
        "serde_json read + from_slice Value",
        slice.seconds,
        slice.rss,
        idle.rss,
        slice.heap,
    );
    match fsspec {
        Some((py_idle, full)) => {
            let fields: std::collections::HashMap<&str, &str> = full
                .stdout
                .split_whitespace()
                .filter_map(|f| f.split_once('='))
                .collect();
            let seconds: f64 =
                fields["open_s"].parse::<f64>().unwrap() + fields["ls_s"].parse::<f64>().unwrap();
            row(
                &format!("fsspec {} open + ls (ujson)", fields["fsspec"]),
                seconds,
                full.rss,
                py_idle.rss,
                None,
            );
            println!("  fsspec: {}", full.stdout.trim());
        }
        None => println!(
            "fsspec: skipped (see the child's message above): does `{python}` lack fsspec or ujson? (python3 -m pip install fsspec ujson, or point ZARRSCOPE_BENCH_PYTHON at a python that has them)"
        ),
    }
    let above = scanned.rss.saturating_sub(idle.rss);
    println!();
    println!(
        "scan vs scan_reader (before): {:.2}x the speed",
        scanned_reader.seconds / scanned.seconds
    );
    println!(
        "Target: >= 200 MB/s: {:.0} MB/s; peak memory <= 2x metadata part ({}): {} above idle = {:.1}x the metadata part; heap peak {} = {:.1}x",
        size as f64 / 1e6 / scanned.seconds,
        mb(2 * metadata as u64),
        mb(above),
        above as f64 / metadata as f64,
        mb(scanned.heap.unwrap_or(0)),
        scanned.heap.unwrap_or(0) as f64 / metadata as f64
    );
}
