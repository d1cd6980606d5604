//! Hostile data on the one data path (`show --coords`) and at the edges of
//! reading: chunks that decompress far past what their metadata says they
//! hold, per-node metadata that contradicts the consolidated plan, a byte
//! budget spread over two stores, and FIFOs named like metadata documents.
//! Each ends in a clear error (exit 2), promptly, with the child's peak
//! memory measured (wait4's ru_maxrss) far below the bomb's size.

mod common;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::inspect::write_file;
use common::{S3Server, stats_figure, text};
use serde_json::{Value, json};

/// What a bomb expands to: far over the memory bound the tests assert.
const EXPANDED: u64 = 512 << 20;
/// Peak memory a refused bomb may cost the child, in bytes.
const MEMORY_BOUND: u64 = 300 << 20;

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// Peak resident memory of the child, in bytes.
    max_rss: u64,
    elapsed: Duration,
}

/// Run the binary with an empty environment, kill it after `limit`, and
/// measure its peak memory.
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives its rusage
fn zarrscope(args: &[&str], limit: Duration) -> Outcome {
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // ZARRSCOPE_TEST_BIN: a copy of the binary, for a target directory that
    // concurrent builds of other branches overwrite.
    let binary = std::env::var_os("ZARRSCOPE_TEST_BIN")
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_zarrscope").into());
    let mut child = Command::new(binary)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut out = Vec::new();
            let _ = pipe.read_to_end(&mut out);
            out
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our child, not reaped yet.
        let done = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(done >= 0, "wait4 failed");
        if done == pid {
            break;
        }
        if started.elapsed() > limit {
            // Not reaped yet, so the pid is still this child's.
            child.kill().unwrap();
            // SAFETY: as above; blocks until the killed child is reaped.
            unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Outcome {
        code,
        stdout: text(&stdout.join().unwrap()),
        stderr: text(&stderr.join().unwrap()),
        max_rss: u64::try_from(usage.ru_maxrss).unwrap() * 1024,
        elapsed: started.elapsed(),
    }
}

fn show_coords(server: &S3Server, store: &str) -> Outcome {
    let url = format!("s3://public/{store}");
    zarrscope(
        &[
            "show",
            &url,
            "--coords",
            "--anon",
            "--endpoint-url",
            &server.endpoint,
        ],
        Duration::from_secs(120),
    )
}

/// A one-coordinate v2 store `x` (10 float64: 80 bytes a chunk) whose
/// consolidated metadata plans `planned` and whose `x/.zarray` says
/// `on_disk`, with `chunk` as `x/0` when given.
fn write_store(root: &Path, planned: &Value, on_disk: &Value, chunk: Option<&[u8]>) {
    let dims = json!({"_ARRAY_DIMENSIONS": ["x"]});
    let zmetadata = json!({
        "zarr_consolidated_format": 1,
        "metadata": {
            ".zgroup": {"zarr_format": 2},
            ".zattrs": {},
            "x/.zarray": planned,
            "x/.zattrs": dims,
        }
    });
    write_file(&root.join(".zmetadata"), zmetadata.to_string().as_bytes());
    write_file(&root.join(".zgroup"), br#"{"zarr_format": 2}"#);
    write_file(&root.join("x/.zarray"), on_disk.to_string().as_bytes());
    write_file(&root.join("x/.zattrs"), dims.to_string().as_bytes());
    if let Some(chunk) = chunk {
        write_file(&root.join("x/0"), chunk);
    }
}

fn zarray(compressor: Value) -> Value {
    json!({
        "zarr_format": 2, "shape": [10], "chunks": [10], "dtype": "<f8",
        "compressor": compressor, "fill_value": 0.0, "filters": null, "order": "C"
    })
}

/// Bits of a DEFLATE stream, least significant first.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }
    /// A Huffman code: most significant bit first.
    fn code(&mut self, code: u64, len: u32) {
        let reversed = (0..len).fold(0, |r, i| r | (((code >> i) & 1) << (len - 1 - i)));
        self.put(reversed, len);
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

/// A raw DEFLATE stream of `1 + 258 * matches` zero bytes: one fixed-Huffman
/// block holding a literal 0 and then copies of length 258 at distance 1
/// (13 bits per 258 bytes). Built directly: compressing half a GiB in a
/// debug build takes minutes.
fn deflate_zeros(matches: u64) -> (Vec<u8>, u64) {
    let mut bits = Bits::default();
    bits.put(1, 1); // last block
    bits.put(1, 2); // fixed Huffman codes
    bits.code(0b0011_0000, 8); // literal 0
    for _ in 0..matches {
        bits.code(0b1100_0101, 8); // length code 285: 258 bytes
        bits.code(0, 5); // distance code 0: 1 byte back
    }
    bits.code(0, 7); // end of block
    (bits.finish(), 1 + 258 * matches)
}

fn zlib_bomb() -> Vec<u8> {
    let (deflate, total) = deflate_zeros(EXPANDED / 258);
    let mut out = vec![0x78, 0x01];
    out.extend(deflate);
    // Adler-32 of zeros: a stays 1, b counts the bytes.
    let adler = ((total % 65521) << 16) | 1;
    out.extend((adler as u32).to_be_bytes());
    out
}

fn gzip_bomb() -> Vec<u8> {
    let (deflate, total) = deflate_zeros(EXPANDED / 258);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    out.extend(deflate);
    let mut crc = flate2::Crc::new();
    let zeros = vec![0u8; 1 << 20];
    let mut left = total;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        crc.update(&zeros[..n]);
        left -= n as u64;
    }
    out.extend(crc.sum().to_le_bytes());
    out.extend((total as u32).to_le_bytes());
    out
}

/// `bz2.compress(bytes(512 << 20), 9)` (Python's libbz2): 402 bytes.
const BZ2_BOMB_HEX: &str = "425a68393141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590e09e2df015f8e4000c0000008200030804d4642a025a90a80973141592653590218c7bb00f4f0e000c00000040008200030cc09aa699541486d52a0a43c5dc914e142420fcb5238";

fn bz2_bomb() -> Vec<u8> {
    (0..BZ2_BOMB_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&BZ2_BOMB_HEX[i..i + 2], 16).unwrap())
        .collect()
}

/// A zstd frame of zeros that does not declare its size: only decoding
/// finds out how large it is.
fn zstd_bomb() -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    enc.include_contentsize(false).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..(EXPANDED >> 20) {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

/// A zstd frame header declaring 2^63 content bytes (then an empty block).
fn zstd_declaring_2_pow_63() -> Vec<u8> {
    let mut frame = vec![0x28, 0xB5, 0x2F, 0xFD, 0b1110_0000];
    frame.extend((1u64 << 63).to_le_bytes());
    frame.extend([0x01, 0x00, 0x00]);
    frame
}

fn assert_refused(out: &Outcome, what: &str, expect: &[&str]) {
    eprintln!(
        "{what}: peak memory {} MiB; {}",
        out.max_rss >> 20,
        out.stderr.trim()
    );
    assert_eq!(
        out.code,
        Some(2),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        out.code,
        out.stdout,
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    for phrase in expect {
        assert!(
            out.stderr.contains(phrase),
            "{what}: {:?} not in {}",
            phrase,
            out.stderr
        );
    }
    assert!(
        out.max_rss < MEMORY_BOUND,
        "{what}: peak memory {} MiB",
        out.max_rss >> 20
    );
}

#[test]
fn coordinate_chunks_that_expand_past_their_metadata_are_refused_within_bounded_memory() {
    let server = S3Server::start();
    let bucket = server.bucket_dir("public");
    let bombs: [(&str, Value, Vec<u8>, &str); 5] = [
        (
            "gzip",
            json!({"id": "gzip", "level": 1}),
            gzip_bomb(),
            "expands past the 80 bytes",
        ),
        (
            "zlib",
            json!({"id": "zlib", "level": 1}),
            zlib_bomb(),
            "expands past the 80 bytes",
        ),
        (
            "bz2",
            json!({"id": "bz2", "level": 9}),
            bz2_bomb(),
            "expands past the 80 bytes",
        ),
        (
            "zstd",
            json!({"id": "zstd", "level": 1}),
            zstd_bomb(),
            "expands past the 80 bytes",
        ),
        (
            "zstd-declared",
            json!({"id": "zstd", "level": 1}),
            zstd_declaring_2_pow_63(),
            "declares 9223372036854775808 decoded bytes",
        ),
    ];
    for (name, compressor, chunk, phrase) in bombs {
        let store = format!("bomb-{name}.zarr");
        let meta = zarray(compressor);
        write_store(&bucket.join(&store), &meta, &meta, Some(&chunk));
        let out = show_coords(&server, &store);
        assert_refused(
            &out,
            name,
            &[
                "refused to read the coordinate",
                &format!("{store}/x"),
                phrase,
            ],
        );
    }
    // A well-formed store of the same shape still reads.
    let good: Vec<u8> = (0..10u32)
        .flat_map(|i| f64::from(i).to_le_bytes())
        .collect();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&good).unwrap();
    let meta = zarray(json!({"id": "gzip", "level": 1}));
    write_store(
        &bucket.join("fine.zarr"),
        &meta,
        &meta,
        Some(&enc.finish().unwrap()),
    );
    let out = show_coords(&server, "fine.zarr");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("0.0 … 9.0"), "{}", out.stdout);
}

/// A v3 store (consolidated) with one sharded float64 coordinate `x` of 20
/// values: one shard of two gzip chunks of 10, index at the end.
fn write_sharded_store(root: &Path, chunks: [&[u8]; 2]) {
    let x = json!({
        "zarr_format": 3, "node_type": "array", "shape": [20], "data_type": "float64",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [20]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0.0,
        "codecs": [{"name": "sharding_indexed", "configuration": {
            "chunk_shape": [10],
            "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                       {"name": "gzip", "configuration": {"level": 1}}],
            "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
            "index_location": "end"}}],
        "dimension_names": ["x"], "attributes": {}
    });
    let root_doc = json!({
        "zarr_format": 3, "node_type": "group", "attributes": {},
        "consolidated_metadata": {"kind": "inline", "must_understand": false,
                                  "metadata": {"x": x}}
    });
    write_file(&root.join("zarr.json"), root_doc.to_string().as_bytes());
    write_file(&root.join("x/zarr.json"), x.to_string().as_bytes());
    let mut shard = Vec::new();
    let mut index = Vec::new();
    for chunk in chunks {
        index.extend((shard.len() as u64).to_le_bytes());
        index.extend((chunk.len() as u64).to_le_bytes());
        shard.extend_from_slice(chunk);
    }
    shard.extend(index);
    write_file(&root.join("x/c/0"), &shard);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn an_inner_chunk_of_a_shard_is_decoded_within_its_bound_too() {
    let server = S3Server::start();
    let bucket = server.bucket_dir("public");
    let values = |from: u32| -> Vec<u8> {
        (from..from + 10)
            .flat_map(|i| f64::from(i).to_le_bytes())
            .collect()
    };
    write_sharded_store(
        &bucket.join("sharded.zarr"),
        [&gzip(&values(0)), &gzip(&values(10))],
    );
    let out = show_coords(&server, "sharded.zarr");
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("0.0 … 19.0"), "{}", out.stdout);
    // The last inner chunk expands to half a GiB.
    write_sharded_store(
        &bucket.join("sharded-bomb.zarr"),
        [&gzip(&values(0)), &gzip_bomb()],
    );
    let out = show_coords(&server, "sharded-bomb.zarr");
    assert_refused(
        &out,
        "sharded",
        &["sharded-bomb.zarr/x", "gzip data expands past the 80 bytes"],
    );
}

#[test]
fn per_node_metadata_contradicting_the_plan_is_refused_before_any_chunk_is_read() {
    let server = S3Server::start();
    let planned = zarray(json!({"id": "zlib", "level": 1}));
    // The array's own .zarray: 10^8 float64 in one chunk (800 MB of fill
    // value if it were believed), and no chunk stored.
    let mut on_disk = planned.clone();
    on_disk["shape"] = json!([100_000_000]);
    on_disk["chunks"] = json!([100_000_000]);
    on_disk["fill_value"] = json!(1.5);
    let store = "stale-plan.zarr";
    write_store(
        &server.bucket_dir("public").join(store),
        &planned,
        &on_disk,
        None,
    );
    let out = show_coords(&server, store);
    assert_refused(
        &out,
        "mismatch",
        &[
            "refused to read the coordinate",
            "differs from the metadata the read was planned from",
            "chunks [100000000] there, [10] in the plan",
            "zarrscope check",
        ],
    );
    let chunk_gets = server
        .requests()
        .iter()
        .filter(|r| r.key().is_some_and(|k| k.ends_with("/x/0")))
        .count();
    assert_eq!(chunk_gets, 0);
}

/// `.zmetadata` of a store with one group holding an attribute of `pad` bytes.
fn padded_store(root: &Path, pad: usize) {
    let zmetadata = json!({
        "zarr_consolidated_format": 1,
        "metadata": {
            ".zgroup": {"zarr_format": 2},
            ".zattrs": {"padding": "p".repeat(pad)},
        }
    });
    write_file(&root.join(".zmetadata"), zmetadata.to_string().as_bytes());
    write_file(&root.join(".zgroup"), br#"{"zarr_format": 2}"#);
}

#[test]
fn diff_spends_one_budget_across_both_stores() {
    let server = S3Server::start();
    let bucket = server.bucket_dir("public");
    padded_store(&bucket.join("a.zarr"), 30_000);
    padded_store(&bucket.join("b.zarr"), 30_000);
    let run = |max: &str| {
        server.reset();
        zarrscope(
            &[
                "diff",
                "s3://public/a.zarr",
                "s3://public/b.zarr",
                "--max-bytes",
                max,
                "--stats",
                "--anon",
                "--endpoint-url",
                &server.endpoint,
            ],
            Duration::from_secs(60),
        )
    };
    // Each store alone fits 50 kB; both together do not.
    let out = run("50kB");
    assert_eq!(
        out.code,
        Some(2),
        "stdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    assert!(out.stderr.contains("byte budget"), "{}", out.stderr);
    assert!(out.stderr.contains("--max-bytes"), "{}", out.stderr);
    // What the command read stays within the budget...
    let read = stats_figure(&out.stderr, "bytes");
    assert!(read <= 50_000, "read {read} bytes");
    // ...and the server sent at most one document more (the one refused when
    // its headers announced its size, sent before the refusal).
    let served: u64 = server
        .requests()
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.bytes)
        .sum();
    assert!(served <= 50_000 + 30_100, "served {served} bytes");
    // With room for both, the same diff runs.
    let out = run("100kB");
    assert!(out.code == Some(0) || out.code == Some(1), "{}", out.stderr);
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

#[test]
fn a_fifo_named_like_metadata_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    // In the store itself: refused, naming the file.
    let store = dir.path().join("own.zarr");
    std::fs::create_dir_all(&store).unwrap();
    mkfifo(&store.join(".zmetadata"));
    // A wait would be killed at the limit, which fails the exit code check.
    let out = zarrscope(&["tree", store.to_str().unwrap()], Duration::from_secs(20));
    assert_eq!(out.code, Some(2), "after {:?}: {}", out.elapsed, out.stderr);
    assert!(out.stderr.contains("FIFO"), "{}", out.stderr);
    assert!(out.stderr.contains("own.zarr/.zmetadata"), "{}", out.stderr);

    // In an ancestor of a store without metadata of its own: no hang.
    let parent = dir.path().join("parent");
    let inner = parent.join("inner.zarr");
    std::fs::create_dir_all(&inner).unwrap();
    mkfifo(&parent.join("zarr.json"));
    mkfifo(&parent.join(".zmetadata"));
    let out = zarrscope(&["show", inner.to_str().unwrap()], Duration::from_secs(20));
    assert_eq!(out.code, Some(2), "after {:?}: {}", out.elapsed, out.stderr);
}
