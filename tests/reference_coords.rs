//! `show --coords` on kerchunk reference sets against the in-process S3
//! server: inline coordinate values come from the reference file alone; a
//! referenced coordinate chunk costs one ranged GET of exactly its bytes in
//! the target file, and nothing else of any target is asked for.

mod common;

use common::cli::json_ok;
use common::{Home, REFS_BUCKET, S3Server, anon, assert_ok, repo_root, run};
use serde_json::{Value, json};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_root().join("fixtures/references").join(name)).unwrap()
}

/// The netCDF targets at `s3://zarrscope-refs/netcdf/dayN.nc`, where the
/// fixtures' reference sets point.
fn put_targets(server: &S3Server, days: &[u8]) {
    let dir = server.bucket_dir(REFS_BUCKET).join("netcdf");
    std::fs::create_dir_all(&dir).unwrap();
    for day in days {
        let name = format!("day{day}.nc");
        std::fs::write(dir.join(&name), fixture(&format!("netcdf/{name}"))).unwrap();
    }
}

/// Put `body` at `s3://public/refs/{name}` and give its URL.
fn put_reference(server: &S3Server, name: &str, body: &[u8]) -> String {
    let dir = server.bucket_dir("public").join("refs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), body).unwrap();
    format!("s3://public/refs/{name}")
}

fn show_coords(server: &S3Server, home: &Home, url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["show", url, "--coords", "--json"];
    args.extend(extra);
    json_ok(&run(home, &anon(server, &args)))
}

fn coord<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no coordinate {name} in {doc}"))
}

/// `2024-01-03T18:00:00` as zarrscope writes dates: `2024-01-03T18:00`.
fn minutes(iso: &Value) -> String {
    let iso = iso.as_str().unwrap();
    iso.strip_suffix(":00").unwrap_or(iso).to_string()
}

/// lat, lon and time as xarray decoded them for `set` (expected.json).
fn assert_like_xarray(doc: &Value, set: &str) {
    let expected: Value =
        serde_json::from_slice::<Value>(&fixture("expected.json")).unwrap()["sets"][set]["coords"]
            .clone();
    for name in ["lat", "lon"] {
        let peek = &coord(doc, name)["peek"];
        assert_eq!(peek["first"], expected[name]["first"], "{name}: {doc}");
        assert_eq!(peek["last"], expected[name]["last"], "{name}: {doc}");
    }
    let time = &coord(doc, "time")["peek"];
    assert_eq!(
        time["first_date"],
        minutes(&expected["time"]["first"]),
        "{doc}"
    );
    assert_eq!(
        time["last_date"],
        minutes(&expected["time"]["last"]),
        "{doc}"
    );
}

/// `(bucket/key, Range header)` of every GET the server saw.
fn gets(server: &S3Server) -> Vec<(String, Option<String>)> {
    server
        .requests()
        .iter()
        .map(|r| {
            assert_eq!(r.method, "GET", "{r:?}");
            (
                r.path.trim_start_matches('/').to_string(),
                r.header("range").map(str::to_string),
            )
        })
        .collect()
}

#[test]
fn inline_coordinates_read_from_the_reference_file_alone_match_xarray() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    put_targets(&server, &[1, 2, 3]);
    for set in ["single-v0.json", "multi-v1.json"] {
        let url = put_reference(&server, set, &fixture(set));
        server.reset();
        let doc = show_coords(&server, &home, &url, &[]);
        assert_like_xarray(&doc, set);
        assert_eq!(coord(&doc, "time")["peek"]["first"], 0);
        // One GET, of the whole reference file: no target is touched.
        assert_eq!(gets(&server), [(format!("public/refs/{set}"), None)]);
    }
}

/// multi-v1.json with lat and lon referenced into day1.nc (where the netCDF
/// file holds them), and time as three 4-hour chunks, one per day file.
fn referenced_set() -> Vec<u8> {
    let mut set: Value = serde_json::from_slice(&fixture("multi-v1.json")).unwrap();
    let refs = set["refs"].as_object_mut().unwrap();
    refs.insert("lat/0".into(), json!(["{{u}}/day1.nc", 13032, 40]));
    refs.insert(
        "lon/0".into(),
        json!(["s3://zarrscope-refs/netcdf/day1.nc", 13072, 48]),
    );
    refs.insert(
        "time/.zarray".into(),
        json!(
            r#"{"shape":[12],"chunks":[4],"dtype":"<i4","fill_value":null,"order":"C","filters":null,"dimension_separator":".","compressor":null,"zarr_format":2}"#
        ),
    );
    refs.remove("time/0");
    for (i, (day, offset)) in [(1, 13016), (2, 13012), (3, 13017)].iter().enumerate() {
        refs.insert(
            format!("time/{i}"),
            json!([format!("{{{{u}}}}/day{day}.nc"), offset, 16]),
        );
    }
    serde_json::to_vec(&set).unwrap()
}

#[test]
fn referenced_coordinates_cost_one_ranged_get_of_exactly_their_bytes() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    put_targets(&server, &[1, 2, 3]);
    let url = put_reference(&server, "referenced.json", &referenced_set());
    let doc = show_coords(&server, &home, &url, &[]);
    // The values xarray shows for the three days together.
    assert_like_xarray(&doc, "multi-v1.json");
    assert_eq!(coord(&doc, "time")["peek"]["last"], 66);
    let mut got = gets(&server);
    assert_eq!(got.remove(0), ("public/refs/referenced.json".into(), None));
    got.sort();
    let day = |n: u8, range: &str| {
        (
            format!("{REFS_BUCKET}/netcdf/day{n}.nc"),
            Some(format!("bytes={range}")),
        )
    };
    // time's first chunk (day 1) and last (day 3); never day 2.
    assert_eq!(
        got,
        [
            day(1, "13016-13031"),
            day(1, "13032-13071"),
            day(1, "13072-13119"),
            day(3, "13017-13032"),
        ]
    );
}

#[test]
fn a_coordinate_over_the_budget_is_noted_and_not_read() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    put_targets(&server, &[1, 2, 3]);
    let body = referenced_set();
    let url = put_reference(&server, "referenced.json", &body);
    // Room for lat's 40 bytes after the reference file, not for lon's 48
    // more nor time's two chunks of 16.
    let max = (body.len() + 60).to_string();
    let doc = show_coords(&server, &home, &url, &["--max-bytes", &max]);
    let mut over = Vec::new();
    for name in ["lat", "lon", "time"] {
        let v = coord(&doc, name);
        if v["peek"].is_null() {
            let note = v["peek_note"].to_string();
            assert!(note.contains("left of --max-bytes"), "{note}");
            over.push(name);
        }
    }
    assert!(!over.is_empty(), "{doc}");
    // Only the coordinates read were asked for.
    let ranges: Vec<String> = gets(&server)
        .into_iter()
        .filter_map(|(_, range)| range)
        .collect();
    for (name, range) in [
        ("lat", "bytes=13032-13071"),
        ("lon", "bytes=13072-13119"),
        ("time", "bytes=13016-13031"),
    ] {
        assert_eq!(
            ranges.iter().any(|r| r == range),
            !over.contains(&name),
            "{name}: {ranges:?} {doc}"
        );
    }
}

#[test]
fn a_missing_target_is_noted_on_its_coordinate_not_read_as_fill() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    put_targets(&server, &[1, 2]);
    let url = put_reference(&server, "referenced.json", &referenced_set());
    let doc = show_coords(&server, &home, &url, &[]);
    let time = coord(&doc, "time");
    assert!(time["peek"].is_null(), "{time}");
    let note = time["peek_note"].to_string();
    assert!(
        note.contains("bytes 13017..13033 of s3://zarrscope-refs/netcdf/day3.nc: missing (404)"),
        "{note}"
    );
    // The others still read.
    assert_eq!(coord(&doc, "lat")["peek"]["first"], 40.0);
    let text = assert_ok(&run(&home, &anon(&server, &["show", &url, "--coords"])));
    assert!(text.contains("missing (404)"), "{text}");
}

#[test]
fn a_parquet_reference_set_notes_where_its_coordinates_are() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let doc = show_coords(&server, &home, "s3://public/references/multi-parquet", &[]);
    let note = coord(&doc, "lat")["peek_note"].to_string();
    assert!(note.contains("Parquet"), "{note}");
    // Nothing of a data page was read.
    for (key, _) in gets(&server) {
        assert!(!key.ends_with(".parq"), "{key}");
    }
}

#[test]
fn a_v3_reference_set_serves_its_c_keys() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let array = json!({
        "zarr_format": 3, "node_type": "array", "shape": [5], "data_type": "int32",
        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [2]}},
        "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
        "fill_value": 0, "codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
        "dimension_names": ["x"], "attributes": {}
    });
    let ints = |values: &[i32]| -> String {
        use base64::Engine;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    };
    let set = json!({
        "zarr.json": {"zarr_format": 3, "node_type": "group", "attributes": {}},
        "x/zarr.json": array,
        "x/c/0": ints(&[7, 8]),
        "x/c/1": ints(&[9, 10]),
        "x/c/2": ints(&[11, 12]),
    });
    let url = put_reference(&server, "v3.json", &serde_json::to_vec(&set).unwrap());
    let doc = show_coords(&server, &home, &url, &[]);
    let peek = &coord(&doc, "x")["peek"];
    assert_eq!(
        (&peek["first"], &peek["last"]),
        (&json!(7), &json!(11)),
        "{doc}"
    );
}
