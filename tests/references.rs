//! kerchunk reference sets as a source, end to end against the S3 test
//! server: what is read (the request log), and what is shown compared with
//! what fsspec's ReferenceFileSystem and zarr-python show for the same
//! files (recorded by fixtures/make_reference_fixtures.py in
//! fixtures/references/expected.json).

mod common;

use common::cli::zarrscope;
use common::inspect::log_lines;
use common::{PUBLIC, S3Server, anon, assert_code, json, text};
use serde_json::{Value, json};

/// The reference sets the fixtures script wrote and recorded.
const SETS: [&str; 9] = [
    "single-v0.json",
    "single-v1.json",
    "multi-v1.json",
    "multi-v1.json.zst",
    "multi-v1.json.gz",
    "multi-parquet",
    "gen-v1.json",
    "v3-refs.json",
    "awkward-v1.json",
];

fn expected() -> Value {
    let path = common::repo_root().join("fixtures/references/expected.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn url(set: &str) -> String {
    format!("s3://{PUBLIC}/references/{set}")
}

fn run(server: &S3Server, args: &[&str]) -> std::process::Output {
    zarrscope().args(anon(server, args)).output().unwrap()
}

/// The GETs the server saw, as keys (bucket-relative), in order.
fn gets(server: &S3Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .filter_map(|r| r.key().map(str::to_string))
        .collect()
}

/// Our node as zarr-python names it: path, kind, and for arrays shape,
/// chunks, dtype, fill value.
fn as_zarr_python(node: &Value) -> Value {
    let mut out = json!({"path": node["path"], "kind": node["kind"]});
    if node["kind"] == "array" {
        out["shape"] = node["shape"].clone();
        out["chunks"] = node["chunks"].clone();
        out["dtype"] = node["data_type"].clone();
        let fill = &node["fill_value"];
        // JSON has no NaN: the recording writes "NaN", as v2 metadata does.
        out["fill_value"] = fill.clone();
    }
    out
}

#[test]
fn every_reference_set_lists_the_nodes_zarr_python_lists_reading_only_the_set() {
    let server = S3Server::start();
    let expected = expected();
    for set in SETS {
        server.reset();
        let out = run(&server, &["tree", &url(set), "--json"]);
        assert_code(&out, 0);
        let doc = json(&out);
        let ours: Vec<Value> = doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(as_zarr_python)
            .collect();
        let theirs = expected["sets"][set]["nodes"].as_array().unwrap().clone();
        assert_eq!(ours, theirs, "{set}");
        assert!(
            doc["source"]
                .as_str()
                .is_some_and(|s| s.starts_with("kerchunk reference set")),
            "{set}: {doc}"
        );
        // Only the reference set itself; never a target, never a chunk.
        let read = gets(&server);
        if set == "multi-parquet" {
            // The first round trip's two probes; the footers are not needed.
            let mut read = read;
            read.sort();
            assert_eq!(
                read,
                [
                    "references/multi-parquet/.zmetadata",
                    "references/multi-parquet/zarr.json"
                ],
                "{set}: {:?}",
                log_lines(&server)
            );
        } else {
            assert_eq!(read, [format!("references/{set}")], "{set}");
            assert_eq!(server.requests().len(), 1, "{:?}", log_lines(&server));
        }
    }
}

#[test]
fn refs_counts_keys_targets_and_chunks_per_array_as_fsspec_sees_them() {
    let server = S3Server::start();
    let expected = expected();
    for set in SETS {
        let out = run(&server, &["refs", &url(set), "--json"]);
        assert_code(&out, 0);
        let ours = json(&out);
        let theirs = &expected["sets"][set];
        let keys = &ours["keys"];
        let n = |v: &Value| v.as_u64().unwrap();
        if set == "multi-parquet" {
            // fsspec counts the index itself; chunk keys come from footers.
            assert_eq!(
                n(&keys["metadata"]) + 1 + chunk_keys(keys),
                n(&theirs["keys"]),
                "{set}: {ours}"
            );
        } else if set == "gen-v1.json" {
            // fsspec's default (simple_templates) leaves gen out; expanded
            // (simple_templates=False), it adds exactly what zarrscope counts.
            assert_eq!(n(&keys["total"]), n(&theirs["keys"]), "{set}");
            assert_eq!(
                n(&keys["total"]) + n(&keys["generated"]),
                n(&theirs["gen_expanded"]["keys"]),
                "{set}"
            );
        } else {
            assert_eq!(n(&keys["total"]), n(&theirs["keys"]), "{set}: {ours}");
        }
        for array in ours["arrays"].as_array().unwrap() {
            let path = array["path"].as_str().unwrap();
            let want = &theirs["per_array"][path];
            for field in ["grid", "inline", "referenced", "missing"] {
                assert_eq!(array[field], want[field], "{set} {path} {field}: {ours}");
            }
        }
        if set != "multi-parquet" {
            let mut urls: Vec<&str> = ours["targets"]["list"]
                .as_array()
                .map(|l| l.iter().filter_map(|t| t["url"].as_str()).collect())
                .unwrap_or_default();
            urls.sort();
            let want: Vec<&str> = theirs["targets"]["urls"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert_eq!(n(&ours["targets"]["files"]), want.len() as u64, "{set}");
            assert_eq!(urls, want, "{set}");
            for t in ours["targets"]["list"].as_array().unwrap() {
                let url = t["url"].as_str().unwrap();
                assert_eq!(
                    t["max_end"], theirs["targets"]["max_end"][url],
                    "{set} {url}"
                );
            }
        }
    }
}

fn chunk_keys(keys: &Value) -> u64 {
    ["inline", "referenced", "whole_file"]
        .iter()
        .map(|k| keys[k].as_u64().unwrap())
        .sum()
}

#[test]
fn compressed_sets_read_like_the_plain_one_and_say_how_they_were_stored() {
    let server = S3Server::start();
    let plain = json(&run(&server, &["refs", &url("multi-v1.json"), "--json"]));
    for (set, compression) in [("multi-v1.json.zst", "zstd"), ("multi-v1.json.gz", "gzip")] {
        let out = json(&run(&server, &["refs", &url(set), "--json"]));
        assert_eq!(out["compression"], compression, "{set}");
        assert_eq!(out["keys"], plain["keys"], "{set}");
        assert_eq!(out["arrays"], plain["arrays"], "{set}");
        assert_eq!(out["targets"], plain["targets"], "{set}");
    }
}

#[test]
fn templates_are_expanded_in_target_urls_and_listed() {
    let server = S3Server::start();
    for set in ["single-v1.json", "multi-v1.json"] {
        let out = run(&server, &["refs", &url(set)]);
        assert_code(&out, 0);
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("template  {{u}} = s3://zarrscope-refs/netcdf"),
            "{stdout}"
        );
        assert!(stdout.contains("s3://zarrscope-refs/netcdf/"), "{stdout}");
        assert!(!stdout.contains("{{u}}/"), "{stdout}");
    }
}

#[test]
fn show_check_and_diff_work_on_reference_sets() {
    let server = S3Server::start();
    let out = run(&server, &["show", &url("multi-v1.json")]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("temperature  (time, lat, lon)"), "{stdout}");
    assert!(
        stdout.contains("Dimensions:  (lat: 5, lon: 6, time: 12)"),
        "{stdout}"
    );

    let out = run(&server, &["check", &url("single-v0.json")]);
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("nothing can be stale"),
        "{}",
        text(&out.stdout)
    );
    // No crawl: a reference file has no directory to list.
    assert!(
        server.requests().iter().all(|r| r.method == "GET"),
        "{:?}",
        log_lines(&server)
    );

    let out = run(
        &server,
        &["diff", &url("single-v0.json"), &url("multi-v1.json.zst")],
    );
    assert_code(&out, 1);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("shape: [4,5,6] -> [12,5,6]"), "{stdout}");
    let out = run(
        &server,
        &["diff", &url("single-v0.json"), &url("single-v1.json")],
    );
    assert_code(&out, 0);
}

#[test]
fn reference_prefix_opens_any_file_name_and_v3_keys_read_as_v3() {
    let server = S3Server::start();
    let odd = server.bucket_dir(PUBLIC).join("references/refs.data");
    std::fs::copy(
        common::repo_root().join("fixtures/references/v3-refs.json"),
        &odd,
    )
    .unwrap();
    let out = run(
        &server,
        &[
            "tree",
            &format!("reference://s3://{PUBLIC}/references/refs.data"),
            "--json",
        ],
    );
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["zarr_format"], 3);
    assert!(
        doc["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["path"] == "/masks/flags")
    );
    // Without the prefix it is not a reference set, and the error says what to try.
    let out = run(
        &server,
        &["refs", &format!("s3://{PUBLIC}/references/refs.data")],
    );
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("is not a kerchunk reference set"),
        "{stderr}"
    );
    assert!(stderr.contains("reference://"), "{stderr}");
}

#[test]
fn a_reference_file_over_the_byte_budget_is_refused_naming_its_size_and_the_flag() {
    let server = S3Server::start();
    let size = std::fs::metadata(common::repo_root().join("fixtures/references/multi-v1.json"))
        .unwrap()
        .len();
    let out = run(
        &server,
        &["tree", &url("multi-v1.json"), "--max-bytes", "1000"],
    );
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("its {size} bytes")), "{stderr}");
    assert!(stderr.contains("--max-bytes"), "{stderr}");
}

#[test]
fn hostile_reference_files_give_clear_errors_or_counted_warnings() {
    let server = S3Server::start();
    let dir = server.bucket_dir(PUBLIC).join("references/hostile");
    std::fs::create_dir_all(&dir).unwrap();
    let files: [(&str, &[u8]); 5] = [
        ("array.json", b"[1, 2, 3]"),
        ("truncated.json", b"{\"version\": 1, \"refs\": {\".zgroup\": \"{\\\"zarr_format\\\": 2}\", \"a/0\": [\"s3://b/x\", 0,"),
        ("no-metadata.json", b"{\"a/0\": [\"s3://b/x\", 0, 10]}"),
        ("html.json", b"<html><body>Moved</body></html>"),
        (
            "odd-values.json",
            br#"{".zgroup": "{\"zarr_format\": 2}", "a/.zarray": "{\"zarr_format\":2,\"shape\":[4],\"chunks\":[2],\"dtype\":\"<i4\",\"compressor\":null,\"fill_value\":0,\"filters\":null,\"order\":\"C\"}", "a/0": 17, "a/1": ["s3://b/x", "x", 4], "a/2": null, "a/3": ["s3://b/x", 0, 8]}"#,
        ),
    ];
    for (name, body) in files {
        std::fs::write(dir.join(name), body).unwrap();
    }
    for (name, says) in [
        ("array.json", "is not a kerchunk reference set"),
        ("truncated.json", "line 1"),
        ("no-metadata.json", "none of its 1 keys is Zarr metadata"),
        ("html.json", "html"),
    ] {
        let out = run(
            &server,
            &["tree", &format!("s3://{PUBLIC}/references/hostile/{name}")],
        );
        assert_code(&out, 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.to_lowercase().contains(&says.to_lowercase()),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
    let out = run(
        &server,
        &[
            "refs",
            &format!("s3://{PUBLIC}/references/hostile/odd-values.json"),
            "--json",
        ],
    );
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["invalid_count"], 3, "{doc}");
    assert_eq!(doc["keys"]["referenced"], 1, "{doc}");
}

/// Put the netCDF targets where the reference sets point:
/// `s3://zarrscope-refs/netcdf/dayN.nc`.
fn upload_targets(server: &S3Server) -> std::path::PathBuf {
    let dir = server.bucket_dir("zarrscope-refs").join("netcdf");
    common::copy_dir(
        &common::repo_root().join("fixtures/references/netcdf"),
        &dir,
    );
    dir
}

#[test]
fn refs_verify_heads_every_target_and_finds_a_deleted_and_a_truncated_one() {
    let server = S3Server::start();
    let dir = upload_targets(&server);
    // The targets' bucket is private: signed requests, as for most real sets.
    let signed = |args: &[&str]| {
        let mut cmd = zarrscope();
        common::cli::with_keys(&mut cmd)
            .args(args)
            .args(["--endpoint-url", &server.endpoint])
            .output()
            .unwrap()
    };
    let out = signed(&["refs", &url("multi-v1.json"), "--verify", "--json"]);
    assert_code(&out, 0);
    let doc = json(&out);
    let states: Vec<&str> = doc["verify"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["ok", "ok", "ok"], "{doc}");
    // One GET of the reference file, one HEAD per target, nothing else.
    let mut methods: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    // The HEADs run at once, in any order.
    methods[1..].sort();
    assert_eq!(
        methods,
        [
            "GET /public/references/multi-v1.json",
            "HEAD /zarrscope-refs/netcdf/day1.nc",
            "HEAD /zarrscope-refs/netcdf/day2.nc",
            "HEAD /zarrscope-refs/netcdf/day3.nc",
        ],
    );

    std::fs::remove_file(dir.join("day2.nc")).unwrap();
    let day3 = std::fs::read(dir.join("day3.nc")).unwrap();
    std::fs::write(dir.join("day3.nc"), &day3[..1000]).unwrap();
    let out = signed(&["refs", &url("multi-v1.json"), "--verify"]);
    assert_code(&out, 1);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("verify    3 targets checked: 1 ok, 2 broken"),
        "{stdout}"
    );
    assert!(
        stdout.contains("BROKEN  s3://zarrscope-refs/netcdf/day2.nc  missing"),
        "{stdout}"
    );
    assert!(
        stdout.contains("BROKEN  s3://zarrscope-refs/netcdf/day3.nc  truncated: 1000 bytes"),
        "{stdout}"
    );
}

#[test]
fn a_parquet_set_is_read_from_its_index_and_the_footers_of_its_refs_files_only() {
    let server = S3Server::start();
    let out = run(&server, &["refs", &url("multi-parquet"), "--json"]);
    assert_code(&out, 0);
    let requests = server.requests();
    let (index, footers): (Vec<_>, Vec<_>) = requests
        .iter()
        .partition(|r| r.path.ends_with("/.zmetadata"));
    assert_eq!(index.len(), 1, "{:?}", log_lines(&server));
    assert!(index.iter().all(|r| r.header("range").is_none()));
    // 11 refs files (temperature 6, precip 2, lat, lon, time), each read
    // from its end only, never from its start.
    assert_eq!(footers.len(), 11, "{:?}", log_lines(&server));
    for r in footers {
        assert_eq!(r.method, "GET");
        assert!(r.path.ends_with(".parq"), "{}", r.path);
        let range = r.header("range").unwrap_or_default();
        assert!(
            range.starts_with("bytes=-"),
            "{} read with {range:?}",
            r.path
        );
    }
}
