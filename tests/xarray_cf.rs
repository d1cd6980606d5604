//! `show` agrees with xarray's decoded view. fixtures/make_xarray_fixtures.py
//! writes stores with xarray (v2 and v3: CF times, packed ints, bools,
//! timedeltas, strings, ints and floats with `_FillValue`) and records what
//! `xr.open_zarr` makes of them, of the zarr-python CF fixtures and of a
//! store of other writers' CF attributes (`_Unsigned`, `_Encoding`,
//! `missing_value`, a bool with a fill value), in
//! fixtures/xarray-cf.expected.json. Here zarrscope reads the same stores
//! through the S3 test server and must say the same — no Python needed.

mod common;

use std::collections::BTreeMap;

use common::{Home, S3Server, anon, assert_ok, repo_root, run};
use serde_json::Value;

/// An anonymous read at `server`; asserts success; stdout.
fn read(server: &S3Server, home: &Home, args: &[&str]) -> String {
    assert_ok(&run(home, &anon(server, args)))
}

fn expected() -> Value {
    let path = repo_root().join("fixtures/xarray-cf.expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Every variable of a `show --json` document, by name.
fn variables(doc: &Value) -> BTreeMap<String, Value> {
    ["coordinates", "data_variables"]
        .iter()
        .flat_map(|key| doc[*key].as_array().unwrap().iter())
        .map(|v| (v["name"].as_str().unwrap().to_string(), v.clone()))
        .collect()
}

#[test]
fn decoded_dtypes_equal_xarrays_for_every_variable() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let expected = expected();
    let stores = expected["stores"].as_object().unwrap();
    assert!(stores.contains_key("xarray-cf-v2.zarr") && stores.contains_key("xarray-cf-v3.zarr"));
    let mut mismatches = Vec::new();
    for (store, record) in stores {
        let out = read(
            &server,
            &home,
            &["show", &format!("s3://public/{store}"), "--json"],
        );
        let doc: Value = serde_json::from_str(&out).unwrap();
        let ours = variables(&doc);
        let theirs = record["dtypes"].as_object().unwrap();
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{store}: the same variables"
        );
        for (name, dtype) in theirs {
            let decoded = &ours[name]["cf"]["decoded_dtype"];
            if decoded != dtype {
                mismatches.push(format!(
                    "{store} {name}: zarrscope {decoded}, xarray {dtype} (stored {})",
                    ours[name]["dtype"]
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn coordinate_times_and_durations_equal_xarrays_with_nat_marked() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let expected = expected();
    let mut checked = 0;
    for (store, record) in expected["stores"].as_object().unwrap() {
        let times = record["times"].as_object().unwrap();
        if times.is_empty() {
            continue;
        }
        let url = format!("s3://public/{store}");
        let doc: Value =
            serde_json::from_str(&read(&server, &home, &["show", &url, "--coords", "--json"]))
                .unwrap();
        let ours = variables(&doc);
        for (name, first_last) in times {
            let peek = &ours[name]["peek"];
            assert_eq!(
                [&peek["first_date"], &peek["last_date"]],
                [&first_last[0], &first_last[1]],
                "{store} {name}: {}",
                ours[name]
            );
            checked += 1;
        }
        // The text view prints the same dates under the decoded header.
        let view = read(&server, &home, &["show", &url, "--coords"]);
        for (name, first_last) in times {
            let line = view
                .lines()
                .find(|l| l.split_whitespace().any(|w| w == name))
                .unwrap();
            let dates = format!(
                "{} … {}",
                first_last[0].as_str().unwrap(),
                first_last[1].as_str().unwrap()
            );
            let header = format!("→ {}", record["dtypes"][name].as_str().unwrap());
            assert!(line.contains(&header) && line.contains(&dates), "{line}");
        }
    }
    // time (ISO reference with +00:00), reftime (fill -1), valid (the int64
    // NaT sentinel) and lead (a duration) in v2 and v3, and cf-small's time.
    assert!(checked >= 10, "{checked}");
}

#[test]
fn fill_values_read_as_xarray_reads_them() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    for store in ["xarray-cf-v2.zarr", "xarray-cf-v3.zarr"] {
        let url = format!("s3://public/{store}");
        let doc: Value =
            serde_json::from_str(&read(&server, &home, &["show", &url, "--json"])).unwrap();
        let vars = variables(&doc);
        // v3 stores float fills as base64 of a float64 (`AAAAAAAA+H8=`).
        assert_eq!(vars["temp_f64"]["cf"]["fill"], "NaN", "{store}");
        assert_eq!(vars["temp_f32_fill"]["cf"]["fill"], -9999.0, "{store}");
        assert_eq!(
            vars["count_i32_fill"]["cf"]["masked"],
            serde_json::json!([-1])
        );
        let view = read(&server, &home, &["show", &url]);
        assert!(!view.contains("AAAAAAAA+H8="), "{view}");
        let line = |name: &str| {
            view.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("{name} in {view}"))
                .to_string()
        };
        assert!(line("count_i16_fill").contains("int16 → float32"), "{view}");
        assert!(line("count_i16_fill").contains("fill -1 → NaN"), "{view}");
        assert!(line("flag").contains("int8 → bool"), "{view}");
        assert!(
            line("duration").contains("int64 → timedelta64[ns]"),
            "{view}"
        );
        assert!(
            line("temp_f32_fill").contains("fill -9999.0 → NaN"),
            "{view}"
        );
    }
}

#[test]
fn sharded_arrays_show_their_shard_count_and_size() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let url = "s3://public/xarray-cf-v3.zarr";
    let view = read(&server, &home, &["show", url]);
    let line = view
        .lines()
        .find(|l| l.split_whitespace().next() == Some("temp_f64"))
        .unwrap();
    // 24×3 float64 in shards of 12×3 (288 B), each of two 6×3 chunks.
    assert!(
        line.contains("chunks (6, 3) ×4 in shards (12, 3) ×2 of 288 B"),
        "{line}"
    );
    let doc: Value = serde_json::from_str(&read(&server, &home, &["show", url, "--json"])).unwrap();
    let temp = &variables(&doc)["temp_f64"];
    assert_eq!(
        (temp["nshards"].as_u64(), temp["shard_nbytes"].as_u64()),
        (Some(2), Some(288))
    );
    let detail = read(&server, &home, &["show", &format!("{url}/temp_f64")]);
    assert!(
        detail.contains("Shard grid      : (2, 1) = 2 shards"),
        "{detail}"
    );
}
