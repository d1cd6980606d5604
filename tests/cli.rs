//! The binary on bundled fixtures: every output format, the main errors,
//! help and completions. No network.

mod common;

use common::cli::{assert_failed, fixture, local, process, zarrscope};
use common::{assert_ok, json};
use serde_json::{Value, json};

/// Run on local files; assert success; stdout.
fn ok(args: &[&str]) -> String {
    assert_ok(&local(args))
}

/// Run on local files; assert exit 2 with no output; stderr.
fn fails(args: &[&str]) -> String {
    assert_failed(&local(args))
}

fn json_of(store: &str) -> Value {
    json(&local(&["tree", &fixture(store), "--json"]))
}

fn node<'a>(doc: &'a Value, path: &str) -> &'a Value {
    doc["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["path"] == path)
        .unwrap_or_else(|| panic!("no node {path}"))
}

#[test]
fn tree_of_the_nwm_fixture() {
    let text = ok(&["tree", &fixture("nwm-chrtout-v2.zarr")]);
    assert!(!text.contains('\x1b'), "no colour on a pipe");
    insta::assert_snapshot!("tree_nwm", text);
}

#[test]
fn tree_with_attributes_and_depth() {
    let store = fixture("v3-nested-sharded.zarr");
    insta::assert_snapshot!("tree_v3_attrs", ok(&["tree", &store, "--attrs"]));
    let shallow = ok(&["tree", &store, "--depth", "1"]);
    assert!(
        shallow.contains("observations  … 6 more nodes"),
        "{shallow}"
    );
    assert!(!shallow.contains("temperature"), "{shallow}");
    insta::assert_snapshot!("tree_v3_depth1", shallow);
}

#[test]
fn table_of_the_nwm_fixture() {
    insta::assert_snapshot!(
        "table_nwm",
        ok(&["tree", &fixture("nwm-chrtout-v2.zarr"), "--format", "table"])
    );
}

#[test]
fn table_of_the_quirks_fixture_keeps_every_array() {
    let text = ok(&["tree", &fixture("quirks-v2.zarr"), "--format", "table"]);
    for path in [
        "/__xarray_dataarray_variable__",
        "/bad_chunks",
        "/custom_codec",
        "/huge",
        "/nested/child",
        "/structured",
        "/zero_d",
        "/zero_size",
    ] {
        assert!(text.contains(path), "{path} missing:\n{text}");
    }
    assert!(text.contains("delta,my-lab-codec"), "{text}");
}

#[test]
fn json_of_the_v3_fixture() {
    let doc = json_of("v3-nested-sharded.zarr");
    assert_eq!(doc["zarr_format"], 3);
    assert_eq!(doc["consolidated"], true);
    assert!(
        doc["url"]
            .as_str()
            .unwrap()
            .ends_with("v3-nested-sharded.zarr")
    );
    assert_eq!(
        doc["stats"],
        json!({"requests": 2, "bytes": doc["stats"]["bytes"]})
    );
    let root = node(&doc, "/");
    assert_eq!(root["kind"], "group");
    assert_eq!(root["attributes"]["title"], "zarrscope v3 fixture");
    assert!(root.get("shape").is_none(), "groups carry no array fields");

    let t = node(&doc, "/observations/temperature");
    assert_eq!(t["kind"], "array");
    assert_eq!(t["shape"], json!([8760, 1000, 1000]));
    assert_eq!(t["chunks"], json!([24, 100, 100]));
    assert_eq!(t["shards"], json!([720, 500, 500]));
    assert_eq!(t["data_type"], "float32");
    assert_eq!(t["dtype"], "float32");
    assert_eq!(t["fill_value"], "NaN");
    assert_eq!(t["order"], Value::Null);
    assert_eq!(t["codecs"][0]["name"], "sharding_indexed");
    assert_eq!(
        t["codecs"][0]["configuration"]["chunk_shape"],
        json!([24, 100, 100])
    );
    assert_eq!(t["dimension_names"], json!(["time", "y", "x"]));
    assert_eq!(t["nbytes"], json!(8760u64 * 1000 * 1000 * 4));
    assert_eq!(t["nchunks"], json!(365 * 10 * 10));

    let time = node(&doc, "/observations/time");
    assert_eq!(time["data_type"], "numpy.datetime64");
    assert_eq!(time["dtype"]["name"], "numpy.datetime64");
    assert_eq!(
        node(&doc, "/observations/station_name")["data_type"],
        "string"
    );
    assert_eq!(
        node(&doc, "/observations/station_name")["nbytes"],
        Value::Null
    );
    assert_eq!(
        node(&doc, "/observations/quality/flags/qc")["dimension_names"],
        json!(["time", null])
    );
    assert_eq!(node(&doc, "/scalar")["shape"], json!([]));
    assert_eq!(node(&doc, "/scalar")["nchunks"], 1);
    assert_eq!(node(&doc, "/nothing_yet")["nbytes"], 0);
    assert_eq!(node(&doc, "/empty_group")["kind"], "group");
}

#[test]
fn json_of_the_nwm_fixture_keeps_v2_fields_as_stored() {
    let doc = json_of("nwm-chrtout-v2.zarr");
    assert_eq!(doc["zarr_format"], 2);
    let sf = node(&doc, "/streamflow");
    assert_eq!(sf["dtype"], "<i4");
    assert_eq!(sf["data_type"], "int32");
    assert_eq!(sf["order"], "C");
    assert_eq!(sf["fill_value"], -999900);
    assert_eq!(sf["shards"], Value::Null);
    assert_eq!(
        sf["codecs"],
        json!([{"name": "blosc", "configuration": {"cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}}])
    );
    assert_eq!(sf["dimension_names"], json!(["time", "feature_id"]));
    assert_eq!(sf["nbytes"], json!(367439u64 * 2776738 * 4));
    assert_eq!(sf["attributes"]["units"], "m3 s-1");
    assert_eq!(node(&doc, "/gage_id")["dtype"], "|S15");
    assert_eq!(node(&doc, "/crs")["shape"], json!([]));
    assert_eq!(node(&doc, "/elevation")["fill_value"], "NaN");
}

#[test]
fn json_of_the_quirks_fixture() {
    let doc = json_of("quirks-v2.zarr");
    let root = node(&doc, "/");
    assert_eq!(root["attributes"]["nan_attr"], "NaN");
    assert_eq!(
        root["attributes"]["inf_attr"],
        json!(["Infinity", "-Infinity"])
    );
    let bad = node(&doc, "/bad_chunks");
    assert_eq!(bad["kind"], "array");
    assert!(bad["error"].as_str().unwrap().contains("nonzero"));
    assert_eq!(bad["shape"], Value::Null);
    let huge = node(&doc, "/huge");
    assert_eq!(huge["nbytes"], Value::Null, "does not fit in 128 bits");
    let per_dim = 9223372036854775807u128.div_ceil(1_000_000);
    // Beyond 2^64 the integer is still written exactly (a float would round it).
    let raw = ok(&["tree", &fixture("quirks-v2.zarr"), "--json"]);
    assert!(
        raw.contains(&format!("\"nchunks\": {}", per_dim * per_dim)),
        "{raw}"
    );
    assert_eq!(
        node(&doc, "/structured")["dtype"],
        json!([["x", "<f4"], ["y", "<i2", [3]]])
    );
    assert_eq!(node(&doc, "/structured")["nbytes"], 5 * 10);
    assert_eq!(node(&doc, "/odd_dtype")["data_type"], Value::Null);
    assert_eq!(node(&doc, "/inf_fill")["fill_value"], "-Infinity");
    assert_eq!(node(&doc, "/inf_fill")["order"], "F");
    assert_eq!(node(&doc, "/zero_size")["nchunks"], 0);
    assert_eq!(
        node(&doc, "/nested")["attributes"],
        json!({"written_by": "zarr-python 3"})
    );
    assert_eq!(
        node(&doc, "/__xarray_dataarray_variable__")["dimension_names"],
        json!(["a", "b"])
    );
}

#[test]
fn broken_documents_give_clear_errors() {
    let cases = [
        (
            "broken/truncated-v2.zarr",
            vec![
                "truncated-v2.zarr/.zmetadata is not valid JSON at line 1, column",
                "truncated",
            ],
        ),
        (
            "broken/empty-v2.zarr",
            vec![".zmetadata is not valid JSON at line 1, column 0", "empty"],
        ),
        (
            "broken/html-v2.zarr",
            vec![".zmetadata is not valid JSON at line 1, column 1", "HTML"],
        ),
        (
            "broken/wrong-shape-v2.zarr",
            vec![
                ".zmetadata is not usable Zarr metadata",
                "\"metadata\" object",
            ],
        ),
        (
            "broken/not-a-store",
            vec!["no Zarr metadata found", "looked for zarr.json, .zmetadata"],
        ),
        (
            "broken/not-consolidated-v2.zarr",
            vec![
                "Zarr v2 store without consolidated metadata",
                "drop --consolidated-only",
            ],
        ),
        (
            "broken/not-consolidated-v3.zarr",
            vec![
                "Zarr v3 store without consolidated metadata",
                "drop --consolidated-only",
            ],
        ),
    ];
    for (store, needles) in cases {
        // Without consolidated metadata the store is crawled; only
        // --consolidated-only still makes that an error.
        let strict = store.contains("not-consolidated");
        if strict {
            ok(&["tree", &fixture(store), "-q"]);
        }
        let path = fixture(store);
        let mut args = vec!["tree", path.as_str()];
        if strict {
            args.push("--consolidated-only");
        }
        let err = fails(&args);
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains("hint: "), "{store}: no hint in {err}");
        for needle in needles {
            assert!(err.contains(needle), "{store}: {needle:?} not in {err}");
        }
    }
}

#[test]
fn bad_locations_and_flags_are_usage_errors() {
    let err = fails(&["tree", "/no/such/dir.zarr"]);
    assert!(err.contains("cannot be opened"), "{err}");
    let err = fails(&["tree", "ftp://host/x"]);
    assert!(err.contains("unsupported URL scheme"), "{err}");
    let err = fails(&[
        "tree",
        &fixture("nwm-chrtout-v2.zarr"),
        "--max-bytes",
        "lots",
    ]);
    assert!(err.contains("--max-bytes"), "{err}");
    let err = fails(&[
        "tree",
        &fixture("nwm-chrtout-v2.zarr"),
        "--timeout",
        "5 parsecs",
    ]);
    assert!(err.contains("--timeout"), "{err}");
    let err = fails(&["tree", &fixture("nwm-chrtout-v2.zarr"), "--format", "xml"]);
    assert!(err.contains("possible values"), "{err}");
}

#[test]
fn budget_applies_to_local_stores_too() {
    let err = fails(&[
        "tree",
        &fixture("conus404-hourly-v2.zarr"),
        "--max-bytes",
        "2000",
    ]);
    assert!(err.contains("would exceed the byte budget"), "{err}");
}

#[test]
fn lone_arrays_print_as_a_one_node_tree() {
    // A store that is a single array has complete metadata without consolidation.
    let shared = common::repo_root().join("../shared/real-world-fixtures/zarrs-test-data-metadata");
    let v2 = ok(&[
        "tree",
        &shared.join("v2/array_blosc_F.zarr").display().to_string(),
        "--json",
    ]);
    let doc: Value = serde_json::from_str(&v2).unwrap();
    assert_eq!(doc["consolidated"], false);
    assert_eq!(doc["nodes"][0]["path"], "/");
    assert_eq!(doc["nodes"][0]["order"], "F");
    let v3 = ok(&[
        "tree",
        &shared
            .join("zarr_python_compat/cities_v3.zarr")
            .display()
            .to_string(),
    ]);
    assert!(v3.starts_with("/  (47868,)  string"), "{v3}");
}

#[test]
fn help_shows_real_examples_and_exit_codes() {
    let help = ok(&["tree", "--help"]);
    assert!(
        help.contains("s3://noaa-nwm-retrospective-2-1-zarr-pds/chrtout.zarr --anon"),
        "{help}"
    );
    assert!(
        help.contains("--endpoint-url https://usgs.osn.mghpcc.org"),
        "{help}"
    );
    assert!(help.contains("2  usage, access or input error"), "{help}");
    assert!(help.contains("--no-sign-request"), "{help}");
    let top = ok(&["--help"]);
    assert!(top.contains("Exit codes"), "{top}");
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = ok(&["completions", shell]);
        assert!(
            script.contains("zarrscope") && script.contains("endpoint-url"),
            "{shell}"
        );
    }
    let out = zarrscope()
        .args(["completions", "powershell-9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn broken_pipe_is_not_an_error() {
    // `zarrscope tree … | head -1`: the reader goes away early.
    let mut child = process()
        .args(["tree", &fixture("conus404-hourly-v2.zarr"), "--attrs"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn file_urls_and_trailing_slashes() {
    let plain = ok(&["tree", &fixture("nwm-chrtout-v2.zarr")]);
    let as_url = ok(&[
        "tree",
        &format!("file://{}/", fixture("nwm-chrtout-v2.zarr")),
    ]);
    assert_eq!(plain, as_url);
}
