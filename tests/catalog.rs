//! `zarrscope catalog`: HyTEST's real intake catalogs parsed entry for
//! entry, and the catalogs fixtures/make_catalog_fixtures.py writes (intake
//! YAML and STAC) pointing at stores on the S3 test server — healthy,
//! moved, private, stale, a reference set with a missing target — listed,
//! opened with the access each entry declares, and checked.

mod common;

use std::path::{Path, PathBuf};

use common::cli::zarrscope;
use common::{Home, REFS_BUCKET, S3Server, assert_code, json, run, text};
use serde_json::Value;

fn hytest() -> PathBuf {
    common::repo_root().join("../shared/real-world-fixtures/hytest-catalogs")
}

fn fixtures() -> PathBuf {
    common::repo_root().join("fixtures/catalogs")
}

/// The files the fixtures script wrote, relative to fixtures/catalogs.
const FILES: [&str; 4] = [
    "catalog.yml",
    "sub.yml",
    "collection.json",
    "items/day1.json",
];

/// Two servers: the stores, the catalogs and the reference file on
/// `stores`; the reference set's target files on `targets` (the catalogs'
/// remote_options name it), so that the targets' access is seen apart from
/// the file's.
struct Servers {
    stores: S3Server,
    targets: S3Server,
}

/// The fixture catalogs with the servers' endpoints in place of @ENDPOINT@
/// and @TARGETS@: written under `dir`, and uploaded to
/// s3://public/catalogs/ of the stores' server. The reference set's
/// targets are uploaded to bucket zarrscope-refs of the targets' server,
/// without day2.nc (moved away).
fn set_up(dir: &Path) -> Servers {
    let servers = Servers {
        stores: S3Server::start(),
        targets: S3Server::start(),
    };
    for file in FILES {
        let body = std::fs::read_to_string(fixtures().join(file))
            .unwrap()
            .replace("@ENDPOINT@", &servers.stores.endpoint)
            .replace("@TARGETS@", &servers.targets.endpoint);
        let uploaded = servers.stores.bucket_dir("public").join("catalogs");
        for root in [dir.to_path_buf(), uploaded] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &body).unwrap();
        }
    }
    let targets = servers.targets.bucket_dir(REFS_BUCKET).join("netcdf");
    common::copy_dir(
        &common::repo_root().join("fixtures/references/netcdf"),
        &targets,
    );
    std::fs::remove_file(targets.join("day2.nc")).unwrap();
    servers
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `entries` of a `--check --json` report, by name: (state, problem, reason).
fn states(doc: &Value) -> Vec<(String, String, String, String)> {
    doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap_or("").to_string();
            (s("name"), s("state"), s("problem"), s("reason"))
        })
        .collect()
}

fn expect_state(
    states: &[(String, String, String, String)],
    name: &str,
    state: &str,
    problem: &str,
) {
    let found = states
        .iter()
        .find(|s| s.0 == name)
        .unwrap_or_else(|| panic!("no entry {name} in {states:?}"));
    assert_eq!(
        (found.1.as_str(), found.2.as_str()),
        (state, problem),
        "{name}: {found:?}"
    );
}

/// (a) Every entry of every HyTEST catalog file, as many as a YAML load of
/// `sources` gives (counted by PyYAML 6.0 when this test was written), and
/// the access of representative entries.
#[test]
fn hytest_catalogs_parse_every_entry_with_its_access() {
    let counts = [
        ("hytest_intake_catalog.yml", 29),
        ("subcatalogs/benchmarks-catalog.yml", 1),
        ("subcatalogs/conus404-catalog.yml", 24),
        ("subcatalogs/conus404-drb-eval-tutorial-catalog.yml", 14),
        (
            "subcatalogs/nhm-prms-v1.1-gridmet-format-testing-catalog.yml",
            11,
        ),
        ("subcatalogs/nhm-v1.0-daymet-catalog.yml", 20),
        ("subcatalogs/nhm-v1.1-c404-bc-catalog.yml", 12),
        ("subcatalogs/nhm-v1.1-gridmet-catalog.yml", 12),
        ("subcatalogs/streamflow-benchmarks-catalog.yml", 9),
        ("subcatalogs/trends-and-drivers-catalog.yml", 3),
    ];
    let mut on_disk: Vec<String> = std::fs::read_dir(hytest().join("subcatalogs"))
        .unwrap()
        .map(|e| format!("subcatalogs/{}", e.unwrap().file_name().to_string_lossy()))
        .chain(["hytest_intake_catalog.yml".to_string()])
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = counts.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(listed, on_disk, "a catalog file without a count");

    let mut all: Vec<Value> = Vec::new();
    for (file, count) in counts {
        let out = zarrscope()
            .args(["catalog", path_str(&hytest().join(file)), "--json"])
            .output()
            .unwrap();
        assert_code(&out, 0);
        let doc = json(&out);
        let entries = doc["entries"].as_array().unwrap();
        assert_eq!(entries.len(), count, "{file}");
        for e in entries {
            assert!(e["url"].is_string(), "{file}: an entry without a URL: {e}");
        }
        all.extend(entries.iter().cloned());
    }
    let entry = |name: &str| {
        all.iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no entry {name}"))
            .clone()
    };
    let hourly = entry("conus404-hourly-osn");
    assert_eq!(hourly["kind"], "zarr");
    assert_eq!(hourly["url"], "s3://hytest/conus404/conus404_hourly.zarr");
    assert_eq!(hourly["consolidated"], true);
    assert_eq!(hourly["access"]["anon"], true);
    assert_eq!(hourly["access"]["requester_pays"], false);
    assert_eq!(
        hourly["access"]["endpoint_url"],
        "https://usgs.osn.mghpcc.org/"
    );

    let refs = entry("nhm-v1.0-daymet-byHRU-osn");
    assert_eq!(refs["kind"], "references");
    assert_eq!(
        refs["url"],
        "https://usgs.osn.mghpcc.org/hytest/nhm/nhm_v1.0/dm_byHRU/nhm_v1.0_dm_byHRU_combined.json"
    );
    assert_eq!(refs["access"]["anon"], false);
    assert_eq!(refs["targets"]["protocol"], "s3");
    assert_eq!(refs["targets"]["access"]["anon"], true);
    assert_eq!(
        refs["targets"]["access"]["endpoint_url"],
        "https://usgs.osn.mghpcc.org/"
    );
    // HyTEST's 23 reference sets (NOTES §9).
    let references = all.iter().filter(|e| e["kind"] == "references").count();
    assert_eq!(references, 23);
    // The requester-pays one: its file and its targets are billed.
    let lcmap = entry("lcmap-s3");
    assert_eq!(lcmap["url"], "s3://nhgf-development/lcmap/lcmap.json");
    assert_eq!(lcmap["access"]["requester_pays"], true);
    assert_eq!(lcmap["targets"]["access"]["requester_pays"], true);

    // A credentialed bucket: the endpoint, and no anon.
    let internal = entry("nhm_prms_v1_1_gridmet-zarr-osn");
    assert_eq!(internal["kind"], "zarr");
    assert_eq!(
        internal["url"],
        "s3://hytest-internal/nhm_prms_v1_1_gridmet/nhm_prms_v1_1_gridmet.zarr"
    );
    assert_eq!(internal["access"]["anon"], false);
    assert_eq!(
        internal["access"]["endpoint_url"],
        "https://usgs.osn.mghpcc.org"
    );

    // A top-level endpoint_url (s3fs's keyword), not under client_kwargs.
    let drb = entry("c404-drb-zonal-OSN");
    assert_eq!(
        drb["access"]["endpoint_url"],
        "https://usgs.osn.mghpcc.org/"
    );
    assert_eq!(drb["kind"], "other");

    let sub = entry("conus404-catalog");
    assert_eq!(sub["kind"], "catalog");
    assert_eq!(
        sub["url"],
        "https://raw.githubusercontent.com/hytest-org/hytest/main/dataset_catalog/subcatalogs/conus404-catalog.yml"
    );

    // The text listing: one line per entry with its access summary.
    let out = zarrscope()
        .args([
            "catalog",
            path_str(&hytest().join("subcatalogs/conus404-catalog.yml")),
        ])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("conus404-hourly-osn "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains("zarr") && line.contains("anon, endpoint https://usgs.osn.mghpcc.org/"),
        "{line}"
    );
}

/// (b) `--check` of the fixture intake catalog: each entry's state and why,
/// exit 1; only metadata keys, the reference file and HEADs of its
/// targets are asked for.
#[test]
fn check_reports_every_entry_healthy_or_broken_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let servers = set_up(dir.path());
    let server = &servers.stores;
    let catalog = dir.path().join("catalog.yml");
    let out = zarrscope()
        .args(["catalog", path_str(&catalog), "--check", "--json"])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let doc = json(&out);
    let found = states(&doc);
    expect_state(&found, "healthy-osn", "ok", "");
    expect_state(&found, "moved-osn", "broken", "moved");
    expect_state(&found, "private-internal", "broken", "access-denied");
    expect_state(&found, "stale-osn", "broken", "stale");
    expect_state(&found, "refs-osn", "broken", "rotten-references");
    expect_state(&found, "onprem-hw", "broken", "not-on-this-machine");
    expect_state(&found, "summary-nc", "not-checked", "");
    expect_state(&found, "sub-catalog", "not-checked", "");
    assert_eq!(
        (&doc["ok"], &doc["broken"], &doc["not_checked"]),
        (&Value::from(1), &Value::from(5), &Value::from(2))
    );
    let refs = found.iter().find(|s| s.0 == "refs-osn").unwrap();
    assert!(
        refs.3
            .contains("s3://zarrscope-refs/netcdf/day2.nc (missing)"),
        "{refs:?}"
    );
    let healthy = &doc["entries"][0];
    assert_eq!(healthy["dataset"]["kind"], "zarr");
    assert_eq!(healthy["dataset"]["zarr_format"], 2);
    assert_eq!(healthy["dataset"]["metadata"], "consolidated");
    assert_eq!(healthy["dataset"]["arrays"], 4);
    assert_eq!(doc["entries"][3]["dataset"]["metadata"], "stale");

    // Nothing but metadata: GETs of Zarr metadata keys and the reference
    // file, listings (the staleness crawl), HEADs of the targets.
    for r in server.requests() {
        let key = r.key().unwrap_or("").to_string();
        match r.method.as_str() {
            "GET" if r.query.contains("list-type") => {}
            "GET" => assert!(
                zarrscope::source::probed_metadata_key(&key)
                    || key.ends_with("references/multi-v1.json"),
                "GET of {key}"
            ),
            other => panic!("{other} {key}"),
        }
    }
    // The targets were asked for with their own access (remote_options):
    // on their server, anonymously, one HEAD each.
    let mut heads: Vec<String> = servers
        .targets
        .requests()
        .iter()
        .map(|r| format!("{} {} signed={}", r.method, r.path, r.signed))
        .collect();
    heads.sort();
    assert_eq!(
        heads,
        [
            "HEAD /zarrscope-refs/netcdf/day1.nc signed=false",
            "HEAD /zarrscope-refs/netcdf/day2.nc signed=false",
            "HEAD /zarrscope-refs/netcdf/day3.nc signed=false",
        ]
    );

    let out = zarrscope()
        .args(["catalog", path_str(&catalog), "--check"])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let stdout = text(&out.stdout);
    for (state, name, why) in [
        ("ok", "healthy-osn", "zarr v2, consolidated, 4 arrays"),
        ("BROKEN", "moved-osn", "moved: no Zarr metadata found"),
        (
            "BROKEN",
            "private-internal",
            "access denied: access denied (403)",
        ),
        (
            "BROKEN",
            "stale-osn",
            "stale: consolidated metadata is stale",
        ),
        (
            "BROKEN",
            "refs-osn",
            "rotten references: 1 of 3 target file(s) broken",
        ),
        ("BROKEN", "onprem-hw", "not on this machine"),
        ("not checked", "summary-nc", "driver netcdf"),
    ] {
        assert!(
            stdout.lines().any(|l| l.starts_with(state)
                && l.contains(&format!(" {name} "))
                && l.contains(why)),
            "{state} {name} {why}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("8 entries: 1 ok, 5 broken, 2 not checked"),
        "{stdout}"
    );

    // A given endpoint overrides every entry's in --check too: nothing
    // listens there.
    let out = zarrscope()
        .args([
            "catalog",
            path_str(&catalog),
            "--check",
            "--json",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--retries",
            "0",
        ])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let found = states(&json(&out));
    expect_state(&found, "healthy-osn", "broken", "unreachable");
    expect_state(&found, "refs-osn", "broken", "unreachable");
}

/// (b) `catalog URL ENTRY` opens the entry with the catalog's endpoint and
/// anon (no flag given); a flag given wins over the catalog's field.
#[test]
fn an_entry_opens_with_the_access_the_catalog_declares_and_flags_override() {
    let dir = tempfile::tempdir().unwrap();
    let servers = set_up(dir.path());
    let server = &servers.stores;
    let catalog = dir.path().join("catalog.yml");
    let catalog = path_str(&catalog);
    let out = zarrscope()
        .args(["catalog", catalog, "healthy-osn"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("│   │       └── flow  (8760, 50)"),
        "{stdout}"
    );
    // Anonymous, as declared: not even the "no credentials" notice.
    assert!(server.requests().iter().all(|r| !r.signed));
    assert!(
        !text(&out.stderr).contains("no AWS credentials"),
        "{}",
        text(&out.stderr)
    );

    // --show prints the show view of the same entry.
    let out = zarrscope()
        .args(["catalog", catalog, "healthy-osn", "--show"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("Dimensions:"),
        "{}",
        text(&out.stdout)
    );

    // The private entry: refused anonymously, read with --profile (which
    // also drops a catalog's anon).
    let home = Home::new(&server.endpoint);
    let out = run(&home, &["catalog", catalog, "private-internal"]);
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("access denied (403)"),
        "{}",
        text(&out.stderr)
    );
    server.reset();
    let out = run(
        &home,
        &["catalog", catalog, "private-internal", "--profile", "zs"],
    );
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("temp"), "{}", text(&out.stdout));
    assert!(server.requests().iter().all(|r| r.signed));
    server.reset();
    let out = run(
        &home,
        &["catalog", catalog, "healthy-osn", "--profile", "zs"],
    );
    assert_code(&out, 0);
    assert!(server.requests().iter().all(|r| r.signed));

    // A given endpoint wins over the catalog's: nothing listens there.
    server.reset();
    let out = zarrscope()
        .args([
            "catalog",
            catalog,
            "healthy-osn",
            "--endpoint-url",
            "http://127.0.0.1:9",
            "--retries",
            "0",
        ])
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("127.0.0.1:9"),
        "{}",
        text(&out.stderr)
    );
    assert!(server.requests().is_empty());

    // The reference set opens from its fo with its target_options.
    let out = zarrscope()
        .args(["catalog", catalog, "refs-osn"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("temperature  (12, 5, 6)"),
        "{}",
        text(&out.stdout)
    );

    // Non-Zarr entries and on-prem paths: a clear error each.
    let out = zarrscope()
        .args(["catalog", catalog, "summary-nc"])
        .output()
        .unwrap();
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("summary-nc is a netcdf entry")
            && stderr.contains("zarrscope reads Zarr stores"),
        "{stderr}"
    );
    let out = zarrscope()
        .args(["catalog", catalog, "onprem-hw"])
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("not on this machine"),
        "{}",
        text(&out.stderr)
    );
    let out = zarrscope()
        .args(["catalog", catalog, "no-such-entry"])
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("healthy-osn, moved-osn"),
        "{}",
        text(&out.stderr)
    );
}

/// Sub-catalogs by `{{ CATALOG_DIR }}`, entries inside them by NAME/ENTRY,
/// and the notice of a requester-pays entry.
#[test]
fn sub_catalogs_list_and_a_requester_pays_entry_says_who_is_billed() {
    let dir = tempfile::tempdir().unwrap();
    let servers = set_up(dir.path());
    let server = &servers.stores;
    let catalog = dir.path().join("catalog.yml");
    let catalog = path_str(&catalog);
    let out = zarrscope()
        .args(["catalog", catalog, "sub-catalog", "--json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let doc = json(&out);
    let names: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["healthy-in-sub", "billed"]);

    let home = Home::new(&server.endpoint);
    let out = run(
        &home,
        &["catalog", catalog, "sub-catalog/billed", "--profile", "zs"],
    );
    assert_code(&out, 0);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("billed is in a Requester Pays bucket: you (the requester)"),
        "{stderr}"
    );
    assert!(
        text(&out.stdout).contains("forcing"),
        "{}",
        text(&out.stdout)
    );
    let out = run(&home, &["catalog", catalog, "sub-catalog/healthy-in-sub"]);
    assert_code(&out, 0);
    assert!(
        !text(&out.stderr).contains("Requester Pays"),
        "{}",
        text(&out.stderr)
    );
}

/// The STAC collection: assets by media type and role, their
/// xarray:storage_options, the item link listed and opened on request.
#[test]
fn a_stac_collection_is_checked_and_its_item_opened() {
    let dir = tempfile::tempdir().unwrap();
    // Kept until the end: the servers stop when dropped.
    let _servers = set_up(dir.path());
    let collection = dir.path().join("collection.json");
    let collection = path_str(&collection);
    let out = zarrscope()
        .args(["catalog", collection, "--check", "--json"])
        .output()
        .unwrap();
    assert_code(&out, 1);
    let doc = json(&out);
    assert_eq!(doc["format"], "stac-collection");
    let found = states(&doc);
    expect_state(&found, "healthy", "ok", "");
    expect_state(&found, "moved", "broken", "moved");
    expect_state(&found, "private", "broken", "access-denied");
    expect_state(&found, "stale", "broken", "stale");
    expect_state(&found, "references", "broken", "rotten-references");
    expect_state(&found, "icechunk", "ok", "");
    let icechunk = &doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "icechunk")
        .unwrap()["dataset"];
    assert_eq!(icechunk["kind"], "icechunk");
    assert_eq!(icechunk["zarr_format"], 3);
    expect_state(&found, "thumbnail", "not-checked", "");
    expect_state(&found, "day1", "not-checked", "");

    let out = zarrscope()
        .args(["catalog", collection, "day1", "--json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let doc = json(&out);
    assert_eq!(doc["format"], "stac-item");
    assert_eq!(doc["entries"][0]["name"], "zarr");
    let out = zarrscope()
        .args(["catalog", collection, "day1/zarr"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert!(
        text(&out.stdout).contains("precip"),
        "{}",
        text(&out.stdout)
    );

    // The Icechunk repository's tree, from its main branch.
    let out = zarrscope()
        .args(["catalog", collection, "icechunk", "--json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let tree = json(&out);
    assert_eq!(tree["zarr_format"], 3, "{tree}");
}

/// The catalog read over HTTP (the test server path-style) and from S3 (one
/// GET through the guard), and what it lists is what intake itself makes
/// of the same file (fixtures/catalogs/intake-view.json, recorded by the
/// fixtures script with intake 0.7).
#[test]
fn a_remote_catalog_lists_what_intake_lists() {
    let dir = tempfile::tempdir().unwrap();
    let servers = set_up(dir.path());
    let server = &servers.stores;
    let view: Value =
        serde_json::from_slice(&std::fs::read(fixtures().join("intake-view.json")).unwrap())
            .unwrap();
    let over_http = format!("{}/public/catalogs/catalog.yml", server.endpoint);
    let out = zarrscope()
        .args(["catalog", &over_http, "--json"])
        .output()
        .unwrap();
    assert_code(&out, 0);
    let doc = json(&out);
    let catalog_dir = format!("{}/public/catalogs", server.endpoint);
    let ours = doc["entries"].as_array().unwrap();
    let intakes = view["catalog.yml"].as_array().unwrap();
    assert_eq!(ours.len(), intakes.len());
    for (ours, theirs) in ours.iter().zip(intakes) {
        assert_eq!(ours["name"], theirs["name"]);
        assert_eq!(ours["driver"], theirs["driver"]);
        let args = &theirs["args"];
        let options = &args["storage_options"];
        let (url, access) = match &options["fo"] {
            Value::String(fo) => (fo.clone(), &options["target_options"]),
            _ => {
                let url = args["urlpath"]
                    .as_str()
                    .or(args["path"].as_str())
                    .unwrap()
                    .replace("@CATALOG_DIR@/", &format!("{catalog_dir}/"));
                (url, options)
            }
        };
        // intake renders CATALOG_DIR with a trailing slash: `dir//sub.yml`.
        let url = url.replace(&format!("{catalog_dir}//"), &format!("{catalog_dir}/"));
        assert_eq!(ours["url"], url.as_str(), "{}", theirs["name"]);
        let endpoint = access["client_kwargs"]["endpoint_url"]
            .as_str()
            .map(|e| e.replace("@ENDPOINT@", &server.endpoint));
        assert_eq!(
            ours["access"]["endpoint_url"].as_str(),
            endpoint.as_deref(),
            "{}",
            theirs["name"]
        );
        assert_eq!(
            ours["access"]["anon"],
            access["anon"].as_bool().unwrap_or(false),
            "{}",
            theirs["name"]
        );
        assert_eq!(
            ours["access"]["requester_pays"],
            access["requester_pays"].as_bool().unwrap_or(false),
            "{}",
            theirs["name"]
        );
        if let Value::Object(remote) = &options["remote_options"] {
            assert_eq!(ours["targets"]["access"]["anon"], remote["anon"]);
            assert_eq!(ours["targets"]["protocol"], options["remote_protocol"]);
            let endpoint = remote["client_kwargs"]["endpoint_url"]
                .as_str()
                .map(|e| e.replace("@TARGETS@", &servers.targets.endpoint));
            assert_eq!(
                ours["targets"]["access"]["endpoint_url"].as_str(),
                endpoint.as_deref()
            );
        }
    }

    // From S3: one GET of the catalog through the guard, nothing else.
    server.reset();
    let out = zarrscope()
        .args(common::anon(
            server,
            &["catalog", "s3://public/catalogs/catalog.yml", "--json"],
        ))
        .output()
        .unwrap();
    assert_code(&out, 0);
    assert_eq!(
        json(&out)["entries"].as_array().unwrap().len(),
        intakes.len()
    );
    let requests: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(requests, ["GET /public/catalogs/catalog.yml"]);

    // A catalog over the byte budget is refused before its body is read
    // whole, naming the flag.
    let out = zarrscope()
        .args(common::anon(
            server,
            &[
                "catalog",
                "s3://public/catalogs/catalog.yml",
                "--max-bytes",
                "100",
            ],
        ))
        .output()
        .unwrap();
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("--max-bytes"),
        "{}",
        text(&out.stderr)
    );
}
