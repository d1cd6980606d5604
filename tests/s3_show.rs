//! `show` and `tree --sizes` against the in-process S3 server: the dataset
//! view and array detail from metadata alone (zero chunk GETs, proved by the
//! server's log), and `--coords` reading only coordinate chunks.

mod common;

use common::cli::json_ok;
use common::{Home, S3Server, anon, assert_ok, run, text};
use serde_json::Value;
use zarrscope::source::ZARR_KEYS;

/// An anonymous read at `server`.
fn read(server: &S3Server, home: &Home, args: &[&str]) -> std::process::Output {
    run(home, &anon(server, args))
}

/// Every GET was of a metadata document.
fn assert_metadata_only(server: &S3Server) {
    for r in server.requests() {
        let key = r.key().unwrap_or_default();
        assert!(ZARR_KEYS.contains(key), "a non-metadata request: {r:?}");
    }
}

#[test]
fn the_dataset_view_of_nwm_chrtout_reads_only_metadata() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = read(&server, &home, &["show", "s3://public/nwm-chrtout-v2.zarr"]);
    insta::assert_snapshot!("show_nwm_chrtout", assert_ok(&out));
    assert_metadata_only(&server);
    assert_eq!(server.requests().len(), 2);

    let doc = json_ok(&read(
        &server,
        &home,
        &["show", "s3://public/nwm-chrtout-v2.zarr", "--json"],
    ));
    let dims: Vec<(String, u64)> = doc["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().into(),
                d["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(dims.contains(&("time".into(), 367439)));
    assert!(dims.contains(&("feature_id".into(), 2776738)));
    let names = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_string())
            .collect()
    };
    // Index coordinates, then those named by `coordinates` attributes.
    assert_eq!(
        names("coordinates"),
        ["feature_id", "time", "latitude", "longitude"]
    );
    assert!(names("data_variables").contains(&"streamflow".to_string()));
    let streamflow = doc["data_variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "streamflow")
        .unwrap();
    assert_eq!(streamflow["cf"]["decoded_dtype"], "float64");
    assert_eq!(streamflow["nchunks"], 50871);
    assert_eq!(streamflow["nbytes"].as_u64(), Some(367439 * 2776738 * 4));
    let time = &doc["coordinates"][1];
    assert_eq!(time["cf"]["time_units"], "hours since 1979-02-01 01:00:00");
    assert_eq!(time["cf"]["decoded_dtype"], "datetime64[ns]");
}

#[test]
fn array_detail_like_zarr_info() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = read(
        &server,
        &home,
        &["show", "s3://public/nwm-chrtout-v2.zarr", "streamflow"],
    );
    insta::assert_snapshot!("show_nwm_streamflow", assert_ok(&out));
    // The same node by URL, and a sharded v3 array in JSON.
    let out = read(
        &server,
        &home,
        &["show", "s3://public/nwm-chrtout-v2.zarr/streamflow"],
    );
    assert!(assert_ok(&out).contains("Chunk grid      : (547, 93) = 50871 chunks"));
    let doc = json_ok(&read(
        &server,
        &home,
        &[
            "show",
            "s3://public/v3-nested-sharded.zarr",
            "observations/temperature",
            "--json",
        ],
    ));
    assert_eq!(doc["shards"], serde_json::json!([720, 500, 500]));
    assert_eq!(doc["chunks"], serde_json::json!([24, 100, 100]));
    assert_eq!(doc["chunk_nbytes"], 24 * 100 * 100 * 4);
    assert_eq!(doc["shard_nbytes"], 720 * 500 * 500 * 4);
    assert_eq!(
        doc["dimension_names"],
        serde_json::json!(["time", "y", "x"])
    );
    assert_metadata_only(&server);
    // A missing path names the children.
    let out = read(
        &server,
        &home,
        &["show", "s3://public/nwm-chrtout-v2.zarr", "nope"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("streamflow"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn conus404_like_four_dimensional_soil_variables() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let doc = json_ok(&read(
        &server,
        &home,
        &["show", "s3://public/conus404-hourly-v2.zarr", "--json"],
    ));
    let smois = doc["data_variables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "SMOIS")
        .unwrap();
    assert_eq!(
        smois["dims"],
        serde_json::json!(["time", "soil_layers_stag", "y", "x"])
    );
    assert!(doc["attributes"].as_object().unwrap().len() > 20);
    assert_metadata_only(&server);
}

#[test]
fn conflicting_dimension_sizes_are_flagged_and_unnamed_dimensions_get_dim_n() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let doc = json_ok(&read(
        &server,
        &home,
        &["show", "s3://public/conflicting-dims-v2.zarr", "--json"],
    ));
    let x = &doc["dimensions"][0];
    assert_eq!(
        (x["name"].as_str(), x["size"].as_u64()),
        (Some("x"), Some(10))
    );
    assert_eq!(x["conflicts"][0]["size"], 20);
    assert_eq!(x["conflicts"][0]["variables"], serde_json::json!(["b"]));
    let out = read(
        &server,
        &home,
        &["show", "s3://public/conflicting-dims-v2.zarr"],
    );
    assert!(assert_ok(&out).contains("dimension \"x\" is 20 in b"));

    let doc = json_ok(&read(
        &server,
        &home,
        &["show", "s3://public/no-dims-v3.zarr", "--json"],
    ));
    let image = &doc["data_variables"][0];
    assert_eq!(
        image["dims"],
        serde_json::json!(["dim_0", "dim_1", "dim_2"])
    );
}

#[test]
fn ome_zarr_multiscales_are_summarised() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    for (store, version) in [("ome-0.4.zarr", "0.4"), ("ome-0.5.zarr", "0.5")] {
        let url = format!("s3://public/{store}");
        let doc = json_ok(&read(&server, &home, &["show", &url, "--json"]));
        let m = &doc["multiscales"];
        assert_eq!(m["version"], version);
        assert_eq!(m["labels"], serde_json::json!(["cells"]));
        let image = &m["images"][0];
        assert_eq!(image["name"], "embryo");
        assert_eq!(image["axes"][2]["unit"], "micrometer");
        assert_eq!(
            image["levels"][1]["shape"],
            serde_json::json!([1, 2, 64, 512, 512])
        );
        assert_eq!(
            image["levels"][1]["scale"],
            serde_json::json!([1.0, 1.0, 0.5, 0.72, 0.72])
        );
        // Dimensions come from the axes and the full-resolution level.
        assert_eq!(doc["dimensions"][3]["name"], "y");
        assert_eq!(doc["dimensions"][3]["size"], 1024);
        assert!(doc["dimensions"][3]["conflicts"].is_null());
        let tree = assert_ok(&read(&server, &home, &["tree", &url]));
        assert!(
            tree.lines().next().unwrap().contains(&format!(
                "OME-Zarr {version} multiscale image \"embryo\": 3 levels, axes t,c,z,y,x; labels: cells"
            )),
            "{tree}"
        );
    }
}

#[test]
fn coords_reads_only_the_first_and_last_coordinate_chunks() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    for store in ["cf-small-v2.zarr", "cf-small-v3.zarr"] {
        let url = format!("s3://public/{store}");
        server.reset();
        let doc = json_ok(&read(&server, &home, &["show", &url, "--coords", "--json"]));
        let coord = |name: &str| -> Value {
            doc["coordinates"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == name)
                .cloned()
                .unwrap()
        };
        let time = coord("time");
        assert_eq!(time["peek"]["first"], 1);
        assert_eq!(time["peek"]["last"], 8760);
        assert_eq!(time["peek"]["first_date"], "1979-02-01T01:00");
        assert_eq!(time["peek"]["last_date"], "1980-02-01T00:00");
        assert_eq!(coord("station")["peek"]["last"], 1490);
        assert_eq!(coord("lat")["peek"]["first"], 25.0);
        assert_eq!(coord("lon")["peek"]["last"], -67.0);
        // Data: the first and last chunk of time (of 13), lat's two chunks,
        // one chunk of station and lon; never a chunk of the data variable.
        let chunks: Vec<String> = server
            .requests()
            .iter()
            .filter_map(|r| r.key().map(str::to_string))
            .filter(|k| !ZARR_KEYS.contains(k))
            .collect();
        assert!(chunks.iter().all(|k| !k.contains("/flow/")), "{chunks:?}");
        let time_chunks = chunks.iter().filter(|k| k.contains("/time/")).count();
        assert_eq!(time_chunks, 2, "{chunks:?}");
        assert_eq!(chunks.len(), 2 + 2 + 1 + 1, "{chunks:?}");

        // Without --coords: metadata only.
        server.reset();
        let out = read(&server, &home, &["show", &url]);
        assert_ok(&out);
        assert_metadata_only(&server);
    }
    // A coordinate that does not fit the budget is skipped with its size.
    let out = read(
        &server,
        &home,
        &[
            "show",
            "s3://public/cf-small-v2.zarr",
            "--coords",
            "--max-bytes",
            "8KB",
        ],
    );
    let view = assert_ok(&out);
    let time = view.lines().find(|l| l.contains("* time")).unwrap();
    assert!(
        time.contains("not read") && time.contains("11.2 KiB"),
        "{time}"
    );
    let lat = view.lines().find(|l| l.contains(" lat ")).unwrap();
    assert!(lat.contains("25.0 … 49.0"), "{lat}");
}

#[test]
fn tree_sizes_totals_per_group_without_overflow() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = read(
        &server,
        &home,
        &["tree", "s3://public/nested-v2.zarr", "--sizes"],
    );
    let tree = assert_ok(&out);
    assert!(tree.starts_with("/  (4 arrays, 670.1 MiB)"), "{tree}");
    assert!(tree.contains("forcing  (3 arrays, 670.0 MiB)"), "{tree}");
    // Shapes near 2^63: sizes beyond 128 bits are "?" rather than wrong
    // (or wrapped), and a total including one is "?" too.
    let out = read(
        &server,
        &home,
        &["tree", "s3://public/quirks-v2.zarr", "--sizes"],
    );
    let tree = assert_ok(&out);
    assert!(tree.starts_with("/  (10 arrays, size ?)\n"), "{tree}");
    let huge = tree.lines().find(|l| l.contains("── huge ")).unwrap();
    assert!(
        huge.contains("(9223372036854775807, 9223372036854775807)") && huge.ends_with(" size ?"),
        "{huge}"
    );
    assert!(tree.contains("── nested  (1 array, 80 B)\n"), "{tree}");
    let zero_d = tree.lines().find(|l| l.contains("── zero_d ")).unwrap();
    assert!(zero_d.ends_with(" 1 B"), "{zero_d}");
}
