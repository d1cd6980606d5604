//! gs:// and az:// end to end against in-process stand-ins for the GCS and
//! Azure Blob APIs on 127.0.0.1 (tests/common/gcs.rs, azure.rs), reached
//! with `--endpoint-url`; assertions are on the stand-ins' request logs.

mod common;

use common::azure::{ACCOUNT, CONTAINER};
use common::gcs::BUCKET;
use common::inspect::assert_only_metadata_gets;
use common::standin::StandIn;
use common::{Home, LoggedRequest, assert_code, assert_ok, json, text};

/// Which of the two stand-ins.
#[derive(Clone, Copy)]
enum Kind {
    Gcs,
    Azure,
}

/// One of the two stand-ins, with what differs between them.
struct Cloud {
    kind: Kind,
    server: StandIn,
}

impl Cloud {
    fn gcs() -> Self {
        Cloud {
            kind: Kind::Gcs,
            server: common::gcs::start(),
        }
    }

    fn azure() -> Self {
        Cloud {
            kind: Kind::Azure,
            server: common::azure::start(),
        }
    }

    fn endpoint(&self) -> &str {
        &self.server.endpoint
    }

    /// The URL of `path` in the stand-in's bucket/container.
    fn url(&self, path: &str) -> String {
        match self.kind {
            Kind::Gcs => format!("gs://{BUCKET}/{path}"),
            Kind::Azure => format!("az://{CONTAINER}/{path}"),
        }
    }

    /// The listing parameter that carries a page token.
    fn page_token_param(&self) -> &'static str {
        match self.kind {
            Kind::Gcs => "continuation-token=",
            Kind::Azure => "marker=",
        }
    }

    fn requests(&self) -> Vec<LoggedRequest> {
        self.server.requests()
    }

    fn reset(&self) {
        self.server.reset()
    }

    /// The stand-in's bucket/container on disk.
    fn bucket_dir(&self) -> std::path::PathBuf {
        match self.kind {
            Kind::Gcs => self.server.bucket_dir(BUCKET),
            Kind::Azure => self.server.bucket_dir(CONTAINER),
        }
    }

    fn refuse(&self, status: u16, code: &str) {
        self.server.refuse(status, code)
    }

    /// The variable that gives this backend credentials.
    fn credentials_variable(&self) -> &'static str {
        match self.kind {
            Kind::Gcs => "GOOGLE_APPLICATION_CREDENTIALS",
            Kind::Azure => "AZURE_STORAGE_ACCOUNT_KEY",
        }
    }

    fn set_page_size(&self, entries: usize) {
        self.server.set_page_size(entries)
    }

    /// zarrscope with an empty environment (plus the Azure account name),
    /// pointed at the stand-in.
    fn command(&self, home: &Home, args: &[&str]) -> assert_cmd::Command {
        let mut cmd = home.zarrscope();
        cmd.args(args).args(["--endpoint-url", self.endpoint()]);
        if let Kind::Azure = self.kind {
            cmd.env("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT);
        }
        cmd
    }

    /// Run zarrscope unsigned at the stand-in.
    fn run(&self, home: &Home, args: &[&str]) -> std::process::Output {
        self.command(home, args).arg("--anon").output().unwrap()
    }

    /// Listing requests (bucket-level GETs).
    fn listings(&self) -> Vec<LoggedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.key().is_none())
            .collect()
    }
}

/// [`assert_only_metadata_gets`] of the stand-in's log, which is not empty.
fn assert_only_metadata_gets_on(cloud: &Cloud) -> Vec<String> {
    let log = cloud.requests();
    assert!(!log.is_empty(), "no requests reached the stand-in");
    assert_only_metadata_gets(&log)
}

/// Object GETs and listings only, and no object GET of a chunk key.
fn assert_no_chunk_key_requested(cloud: &Cloud) {
    for r in cloud.requests() {
        assert_eq!(r.method, "GET", "unexpected request {r:?}");
        if let Some(key) = r.key() {
            assert!(
                zarrscope::source::probed_metadata_key(key),
                "non-metadata key requested: {r:?}"
            );
        }
    }
}

fn home() -> Home {
    // No AWS settings matter here; the HOME only keeps the machine's out.
    Home::new("http://127.0.0.1:9")
}

fn tree_of_a_consolidated_v2_store_is_one_round_trip(cloud: Cloud) {
    let home = home();
    let url = cloud.url("nwm-chrtout-v2.zarr");
    let out = assert_ok(&cloud.run(&home, &["tree", &url]));
    assert!(out.starts_with("/\n"), "{out}");
    for name in ["streamflow", "velocity", "feature_id", "gage_id", "crs"] {
        assert!(out.contains(name), "{name} missing from\n{out}");
    }
    assert!(out.contains("(367439, 2776738)  int32"), "{out}");
    // Both probes at once, nothing else: .zmetadata found, zarr.json absent.
    let keys = assert_only_metadata_gets_on(&cloud);
    assert_eq!(
        keys,
        [
            "nwm-chrtout-v2.zarr/.zmetadata",
            "nwm-chrtout-v2.zarr/zarr.json"
        ]
    );
    let mut statuses: Vec<(String, u16)> = cloud
        .requests()
        .iter()
        .map(|r| (r.key().unwrap_or_default().to_string(), r.status))
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("nwm-chrtout-v2.zarr/.zmetadata".to_string(), 200),
            ("nwm-chrtout-v2.zarr/zarr.json".to_string(), 404)
        ]
    );
}

fn tree_of_a_consolidated_v3_store_is_one_get(cloud: Cloud) {
    let home = home();
    let url = cloud.url("cf-small-v3.zarr/");
    let out = cloud.run(&home, &["tree", &url, "--json"]);
    let v = json(&out);
    let names: Vec<&str> = v["nodes"]
        .as_array()
        .map(|n| n.iter().filter_map(|n| n["path"].as_str()).collect())
        .unwrap_or_default();
    for path in ["/flow", "/lat", "/lon", "/station", "/time"] {
        assert!(names.contains(&path), "{path} missing from {v}");
    }
    // The same two probes as for v2; zarr.json holds the whole tree.
    let keys = assert_only_metadata_gets_on(&cloud);
    assert_eq!(
        keys,
        ["cf-small-v3.zarr/.zmetadata", "cf-small-v3.zarr/zarr.json"]
    );
}

fn crawl_pages_through_listings(cloud: Cloud) {
    let home = home();
    // Two entries a page: every level of the store takes several pages.
    cloud.set_page_size(2);
    let url = cloud.url("nested-unconsolidated-v2.zarr");
    let out = cloud.run(&home, &["tree", &url, "--crawl", "--json"]);
    let v = json(&out);
    let paths: Vec<&str> = v["nodes"]
        .as_array()
        .map(|n| n.iter().filter_map(|n| n["path"].as_str()).collect())
        .unwrap_or_default();
    for path in [
        "/forcing",
        "/forcing/precip",
        "/forcing/hourly",
        "/forcing/hourly/station/flow",
    ] {
        assert!(paths.contains(&path), "{path} missing from {v}");
    }
    assert_no_chunk_key_requested(&cloud);
    let listings = cloud.listings();
    let token = cloud.page_token_param();
    assert!(
        listings.iter().any(|r| r.query.contains(token)),
        "no listing asked for a second page: {listings:#?}"
    );
    assert!(listings.iter().all(|r| r.status == 200), "{listings:#?}");
}

fn ls_lists_every_page(cloud: Cloud) {
    let home = home();
    let url = cloud.url("nwm-chrtout-v2.zarr/");
    let whole = assert_ok(&cloud.run(&home, &["ls", "-1", &url]));
    cloud.reset();
    cloud.set_page_size(3);
    let paged = assert_ok(&cloud.run(&home, &["ls", "-1", &url]));
    assert_eq!(whole, paged, "a paged listing must list the same");
    let mut names: Vec<&str> = paged.lines().collect();
    names.sort();
    assert_eq!(names, common::NWM_LISTING, "{paged}");
    // 13 entries, 3 a page: 5 pages, one delimited listing each.
    let listings = cloud.listings();
    assert_eq!(listings.len(), 5, "{listings:#?}");
    let token = cloud.page_token_param();
    assert_eq!(
        listings.iter().filter(|r| r.query.contains(token)).count(),
        4,
        "{listings:#?}"
    );
    assert!(
        listings.iter().all(|r| r.query.contains("delimiter=%2F")),
        "{listings:#?}"
    );
}

fn info_is_one_head(cloud: Cloud) {
    let home = home();
    let key = "nwm-chrtout-v2.zarr/.zmetadata";
    let size = std::fs::metadata(common::repo_root().join("fixtures").join(key))
        .unwrap()
        .len();
    let out = cloud.run(&home, &["info", &cloud.url(key), "--json"]);
    let v = json(&out);
    assert_eq!(v["size"], size, "{v}");
    let log = cloud.requests();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(log[0].method, "HEAD");
    assert_eq!(log[0].key(), Some(key));
    assert_eq!(log[0].status, 200);
}

fn head_reads_a_small_range(cloud: Cloud) {
    let home = home();
    // Larger than head's first 64 KiB window.
    let body: String = (0..30_000).map(|i| format!("line {i}\n")).collect();
    std::fs::create_dir_all(cloud.bucket_dir().join("logs")).unwrap();
    std::fs::write(cloud.bucket_dir().join("logs/big.txt"), &body).unwrap();
    let out = assert_ok(&cloud.run(&home, &["head", "-n", "3", &cloud.url("logs/big.txt")]));
    assert_eq!(out, "line 0\nline 1\nline 2\n");
    // One ranged GET of the first window, not the whole object.
    let log = cloud.requests();
    assert_eq!(log.len(), 1, "{log:#?}");
    assert_eq!(
        (
            log[0].method.as_str(),
            log[0].key(),
            log[0].status,
            log[0].bytes
        ),
        ("GET", Some("logs/big.txt"), 206, 64 * 1024),
        "{log:#?}"
    );
}

fn a_missing_key_is_not_found(cloud: Cloud) {
    let home = home();
    let url = cloud.url("nwm-chrtout-v2.zarr/nope.txt");
    let out = cloud.run(&home, &["head", &url]);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains(&format!("not found: {url}")), "{err}");
    assert!(
        err.contains(&format!(
            "zarrscope ls {}",
            cloud.url("nwm-chrtout-v2.zarr/")
        )),
        "{err}"
    );
    assert_no_s3_talk(&err);
}

fn a_missing_store_explains(cloud: Cloud) {
    let home = home();
    let url = cloud.url("no-such-store.zarr");
    let out = cloud.run(&home, &["tree", &url]);
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("no Zarr metadata found at {url} ")),
        "{err}"
    );
    assert_no_s3_talk(&err);
    assert_no_chunk_key_requested(&cloud);
}

fn a_missing_bucket_names_it(cloud: Cloud, what: &str) {
    let home = home();
    let url = match cloud.kind {
        Kind::Gcs => "gs://no-such-bucket/store.zarr".to_string(),
        Kind::Azure => "az://no-such-container/store.zarr".to_string(),
    };
    for args in [vec!["tree", url.as_str()], vec!["ls", url.as_str()]] {
        let out = cloud.run(&home, &args);
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains(what), "{args:?}: {err}");
        assert_no_s3_talk(&err);
    }
}

/// Messages about GCS or Azure must not send the user to AWS settings.
fn assert_no_s3_talk(err: &str) {
    for s3 in ["AWS", "S3", "s3://", "--profile"] {
        assert!(!err.contains(s3), "{s3:?} in a gs/az message: {err}");
    }
}

#[test]
fn gcs_tree_of_a_consolidated_v2_store_is_one_round_trip() {
    tree_of_a_consolidated_v2_store_is_one_round_trip(Cloud::gcs());
}

#[test]
fn azure_tree_of_a_consolidated_v2_store_is_one_round_trip() {
    tree_of_a_consolidated_v2_store_is_one_round_trip(Cloud::azure());
}

#[test]
fn gcs_tree_of_a_consolidated_v3_store_is_one_get() {
    tree_of_a_consolidated_v3_store_is_one_get(Cloud::gcs());
}

#[test]
fn azure_tree_of_a_consolidated_v3_store_is_one_get() {
    tree_of_a_consolidated_v3_store_is_one_get(Cloud::azure());
}

#[test]
fn gcs_crawl_pages_through_listings() {
    crawl_pages_through_listings(Cloud::gcs());
}

#[test]
fn azure_crawl_pages_through_listings() {
    crawl_pages_through_listings(Cloud::azure());
}

#[test]
fn gcs_ls_lists_every_page() {
    ls_lists_every_page(Cloud::gcs());
}

#[test]
fn azure_ls_lists_every_page() {
    ls_lists_every_page(Cloud::azure());
}

#[test]
fn gcs_info_is_one_head() {
    info_is_one_head(Cloud::gcs());
}

#[test]
fn azure_info_is_one_head() {
    info_is_one_head(Cloud::azure());
}

#[test]
fn gcs_head_reads_a_small_range() {
    head_reads_a_small_range(Cloud::gcs());
}

#[test]
fn azure_head_reads_a_small_range() {
    head_reads_a_small_range(Cloud::azure());
}

#[test]
fn gcs_a_missing_key_is_not_found() {
    a_missing_key_is_not_found(Cloud::gcs());
}

#[test]
fn azure_a_missing_key_is_not_found() {
    a_missing_key_is_not_found(Cloud::azure());
}

#[test]
fn gcs_a_missing_store_explains() {
    a_missing_store_explains(Cloud::gcs());
}

#[test]
fn azure_a_missing_store_explains() {
    a_missing_store_explains(Cloud::azure());
}

#[test]
fn gcs_a_missing_bucket_names_it() {
    a_missing_bucket_names_it(Cloud::gcs(), "no such bucket: no-such-bucket");
}

#[test]
fn azure_a_missing_container_names_it() {
    a_missing_bucket_names_it(Cloud::azure(), "no such container: no-such-container");
}

#[test]
fn azure_sends_a_shared_key_signature_when_given_a_key() {
    let cloud = Cloud::azure();
    let home = home();
    // Any base64 will do: the stand-in logs the signature, it does not check it.
    let key = "em9vLXNlY3JldC1NQVJLRVItYXp1cmUta2V5LTEyMzQ=";
    let url = cloud.url("nwm-chrtout-v2.zarr");
    let out = cloud
        .command(&home, &["tree", &url])
        .env("AZURE_STORAGE_ACCOUNT_KEY", key)
        .output()
        .unwrap();
    let stdout = assert_ok(&out);
    assert!(stdout.contains("streamflow"), "{stdout}");
    let log = cloud.requests();
    assert!(log.iter().all(|r| r.signed), "unsigned request: {log:#?}");
    assert!(
        !text(&out.stderr).contains(key) && !stdout.contains(key),
        "the key leaked"
    );
}

fn awkward_key_names_round_trip(cloud: Cloud) {
    let home = home();
    // A space, a plus, a percent sign and non-ASCII: each must reach the
    // server as the same key, in object paths and in listing prefixes.
    let store = "my data/ünï+code%41.zarr";
    common::copy_dir(
        &common::repo_root().join("fixtures/nested-unconsolidated-v2.zarr"),
        &cloud.bucket_dir().join(store),
    );
    let url = cloud.url(store);
    let v = json(&cloud.run(&home, &["tree", &url, "--crawl", "--json"]));
    let paths: Vec<&str> = v["nodes"]
        .as_array()
        .map(|n| n.iter().filter_map(|n| n["path"].as_str()).collect())
        .unwrap_or_default();
    assert!(paths.contains(&"/forcing/hourly/station/flow"), "{v}");
    assert_no_chunk_key_requested(&cloud);
    assert!(
        cloud
            .requests()
            .iter()
            .filter_map(|r| r.key())
            .all(|k| k.starts_with(&format!("{store}/"))),
        "{:#?}",
        cloud.requests()
    );
    cloud.reset();
    let ls = assert_ok(&cloud.run(&home, &["ls", "-1", &cloud.url("my data/")]));
    assert_eq!(ls, "ünï+code%41.zarr/\n");
}

#[test]
fn gcs_awkward_key_names_round_trip() {
    awkward_key_names_round_trip(Cloud::gcs());
}

#[test]
fn azure_awkward_key_names_round_trip() {
    awkward_key_names_round_trip(Cloud::azure());
}

fn a_private_bucket_names_this_backends_credentials(cloud: Cloud, status: u16, code: &str) {
    let home = home();
    cloud.refuse(status, code);
    let want = cloud.credentials_variable();
    // The tree's probes, then a single read.
    let url = cloud.url("nwm-chrtout-v2.zarr");
    let object = cloud.url("nwm-chrtout-v2.zarr/.zattrs");
    for args in [vec!["tree", url.as_str()], vec!["head", object.as_str()]] {
        let out = cloud.run(&home, &args);
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains(&format!("({status})")), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert_no_s3_talk(&err);
    }
}

#[test]
fn gcs_a_private_bucket_names_google_credentials() {
    a_private_bucket_names_this_backends_credentials(Cloud::gcs(), 403, "AccessDenied");
}

#[test]
fn azure_a_private_container_names_the_account_key() {
    a_private_bucket_names_this_backends_credentials(
        Cloud::azure(),
        401,
        "NoAuthenticationInformation",
    );
}

#[test]
fn azure_a_rejected_signature_names_the_account_key() {
    let cloud = Cloud::azure();
    let home = home();
    cloud.refuse(403, "AuthenticationFailed");
    let out = cloud
        .command(&home, &["head", &cloud.url("nwm-chrtout-v2.zarr/.zattrs")])
        .env("AZURE_STORAGE_ACCOUNT_KEY", "d3Jvbmcta2V5LU1BUktFUg==")
        .output()
        .unwrap();
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(err.contains("signature rejected by the server"), "{err}");
    assert!(err.contains("check AZURE_STORAGE_ACCOUNT_KEY"), "{err}");
    assert!(
        !err.contains("d3Jvbmcta2V5LU1BUktFUg=="),
        "the key leaked: {err}"
    );
    assert!(cloud.requests().iter().all(|r| r.signed));
}

#[test]
fn a_write_without_credentials_names_this_backends_credentials() {
    for cloud in [Cloud::gcs(), Cloud::azure()] {
        let home = home();
        let url = cloud.url("cf-small-v3.zarr/");
        let out = cloud
            .command(&home, &["rm", "-r", &url, "--yes"])
            .output()
            .unwrap();
        assert_code(&out, 2);
        let err = text(&out.stderr);
        assert!(err.contains("no credentials were found"), "{err}");
        assert!(err.contains(cloud.credentials_variable()), "{err}");
        assert_no_s3_talk(&err);
        assert!(
            cloud
                .requests()
                .iter()
                .all(|r| r.method == "GET" || r.method == "HEAD"),
            "{:#?}",
            cloud.requests()
        );
    }
}

#[test]
fn azure_an_endpoint_with_the_account_in_its_path_as_azurite_has_it() {
    let cloud = Cloud::azure();
    let home = home();
    let endpoint = format!("{}/{ACCOUNT}", cloud.endpoint());
    let out = home
        .zarrscope()
        .args(["tree", &cloud.url("nwm-chrtout-v2.zarr"), "--anon"])
        .args(["--endpoint-url", &endpoint])
        .env("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT)
        .output()
        .unwrap();
    assert!(assert_ok(&out).contains("streamflow"));
    let log = cloud.requests();
    assert!(!log.is_empty());
    for r in &log {
        assert!(
            r.path
                .starts_with(&format!("/{ACCOUNT}/{CONTAINER}/nwm-chrtout-v2.zarr/")),
            "{r:?}"
        );
    }
}
