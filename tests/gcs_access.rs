//! How gs:// reaches its server and with which credentials, and
//! consolidate's conditional write by generation, against the in-process
//! GCS stand-in (tests/common/gcs.rs) on 127.0.0.1. fake-gcs-server is not
//! used here: its XML API has no generation preconditions on object_store's
//! upload call, which these tests are about.

mod common;

use common::gcs::{BUCKET, generation};
use common::standin::{Object, StandIn};
use common::{Home, LoggedRequest, assert_code, assert_ok, text};

/// A service account's key as object_store reads it, for an emulator:
/// `disable_oauth` sends no token (and fetches none), so the key is only
/// what makes the client credentialed — no secret in it.
const EMULATOR_SERVICE_ACCOUNT: &str =
    r#"{"private_key": "", "private_key_id": "", "client_email": "", "disable_oauth": true}"#;

fn home() -> Home {
    // The HOME only keeps the machine's settings out; AWS's play no part.
    Home::new("http://127.0.0.1:9")
}

/// zarrscope with an empty environment but HOME and `vars`.
fn zarrscope(home: &Home, vars: &[(&str, &str)], args: &[&str]) -> std::process::Output {
    let mut cmd = home.zarrscope();
    cmd.args(args);
    for (name, value) in vars {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

/// `host:port` of the stand-in, as STORAGE_EMULATOR_HOST is usually given.
fn host_port(server: &StandIn) -> &str {
    server.endpoint.trim_start_matches("http://")
}

fn puts(server: &StandIn) -> Vec<LoggedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .collect()
}

fn header<'a>(request: &'a LoggedRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The generation the stand-in gives the object stored as `body`.
fn generation_of(body: Vec<u8>) -> String {
    generation(&Object {
        body,
        last_modified: chrono::Utc::now(),
    })
    .to_string()
}

#[test]
fn storage_emulator_host_reaches_the_emulator_without_endpoint_url() {
    let server = common::gcs::start();
    let home = home();
    let url = format!("gs://{BUCKET}/nwm-chrtout-v2.zarr");
    // Both of fake-gcs-server's spellings: host:port (plain HTTP, as
    // Google's client libraries read it) and a URL.
    let with_scheme = server.endpoint.clone();
    for host in [host_port(&server), with_scheme.as_str()] {
        server.reset();
        let out = zarrscope(
            &home,
            &[("STORAGE_EMULATOR_HOST", host)],
            &["tree", &url, "--anon"],
        );
        let stdout = assert_ok(&out);
        assert!(stdout.contains("streamflow"), "{host}: {stdout}");
        let requests = server.requests();
        assert!(!requests.is_empty(), "{host}: nothing reached the stand-in");
        assert!(requests.iter().all(|r| !r.signed), "{requests:?}");
    }
    // A value the client could not send to is an error naming the variable.
    for bad in ["bad host:1", "ftp://127.0.0.1:1"] {
        let out = zarrscope(
            &home,
            &[("STORAGE_EMULATOR_HOST", bad)],
            &["tree", &url, "--anon"],
        );
        assert_code(&out, 2);
        let stderr = text(&out.stderr);
        assert!(stderr.contains("STORAGE_EMULATOR_HOST"), "{bad}: {stderr}");
        assert!(!stderr.contains("panicked"), "{bad}: {stderr}");
    }
    // --endpoint-url wins over the variable (which names a closed port).
    server.reset();
    let out = zarrscope(
        &home,
        &[("STORAGE_EMULATOR_HOST", "127.0.0.1:9")],
        &["tree", &url, "--anon", "--endpoint-url", &server.endpoint],
    );
    assert_ok(&out);
    assert!(!server.requests().is_empty());
}

#[test]
fn no_credentials_reads_anonymously_and_an_adc_file_is_used_when_present() {
    let server = common::gcs::start();
    let home = home();
    let url = format!("gs://{BUCKET}/nwm-chrtout-v2.zarr");
    let emulator = [("STORAGE_EMULATOR_HOST", host_port(&server))];
    // No variable and no ~/.config/gcloud file: unsigned, with a notice
    // naming where credentials were looked for.
    let out = zarrscope(&home, &emulator, &["tree", &url]);
    assert_ok(&out);
    let stderr = text(&out.stderr);
    for place in [
        "GOOGLE_APPLICATION_CREDENTIALS",
        "GOOGLE_SERVICE_ACCOUNT_KEY",
        "application_default_credentials.json",
        "sending anonymous requests",
    ] {
        assert!(stderr.contains(place), "{place} missing from {stderr}");
    }
    assert!(server.requests().iter().all(|r| !r.signed));

    // gcloud's application-default file decides: credentials are used (this
    // one is unreadable, so setting up the client fails and says so) ...
    let adc = home.dir.path().join(".config/gcloud");
    std::fs::create_dir_all(&adc).unwrap();
    std::fs::write(adc.join("application_default_credentials.json"), "not json").unwrap();
    server.reset();
    let out = zarrscope(&home, &emulator, &["tree", &url]);
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot set up the GCS client"), "{stderr}");
    assert!(
        stderr.contains(".config/gcloud/application_default_credentials.json"),
        "the file is named: {stderr}"
    );
    assert!(server.requests().is_empty());
    // A key given inline that cannot be read is not quoted back.
    let secret = "not-a-private-key-9f3a";
    let key = format!(r#"{{"private_key": "{secret}", "disable_oauth": "{secret}"}}"#);
    let out = zarrscope(
        &home,
        &[("GOOGLE_SERVICE_ACCOUNT_KEY", &key), emulator[0]],
        &["tree", &url],
    );
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("GOOGLE_SERVICE_ACCOUNT_KEY"), "{stderr}");
    assert!(!stderr.contains(secret), "{stderr}");
    // ... and --anon reads no credentials file at all.
    let out = zarrscope(&home, &emulator, &["tree", &url, "--anon"]);
    assert_ok(&out);
}

#[test]
fn consolidate_writes_conditioned_on_the_generation_read_and_creates_with_generation_zero() {
    let server = common::gcs::start();
    let home = home();
    let vars = [
        ("STORAGE_EMULATOR_HOST", host_port(&server)),
        ("GOOGLE_SERVICE_ACCOUNT_KEY", EMULATOR_SERVICE_ACCOUNT),
    ];
    for (store, key, existed) in [
        ("v3-nested-unconsolidated.zarr", "zarr.json", true),
        ("stale-v2.zarr", ".zmetadata", true),
        ("nested-unconsolidated-v2.zarr", ".zmetadata", false),
    ] {
        let on_disk = server.bucket_dir(BUCKET).join(store).join(key);
        let before = std::fs::read(&on_disk).ok();
        assert_eq!(before.is_some(), existed, "{store}");
        server.reset();
        let url = format!("gs://{BUCKET}/{store}");
        let out = zarrscope(&home, &vars, &["consolidate", &url, "--yes"]);
        assert_code(&out, 0);
        let puts = puts(&server);
        assert_eq!(puts.len(), 1, "{puts:?}");
        assert_eq!(puts[0].key(), Some(format!("{store}/{key}").as_str()));
        assert_eq!(puts[0].status, 200, "{:?}", puts[0]);
        // Update: the generation read; create: 0 (the key must not exist).
        let expected = before.map_or_else(|| "0".to_string(), generation_of);
        assert_eq!(
            header(&puts[0], "x-goog-if-generation-match"),
            Some(expected.as_str()),
            "{store}: {:?}",
            puts[0]
        );
        // What was written reads back as consolidated metadata.
        let out = zarrscope(&home, &vars, &["check", &url]);
        assert_code(&out, 0);
    }
}

#[test]
fn consolidate_over_a_concurrent_change_is_a_conflict_and_overwrites_nothing() {
    let (server, rival) = common::gcs::start_with_rival();
    let home = home();
    let vars = [
        ("STORAGE_EMULATOR_HOST", host_port(&server)),
        ("GOOGLE_SERVICE_ACCOUNT_KEY", EMULATOR_SERVICE_ACCOUNT),
    ];
    // An update (zarr.json changed since read) and a create (.zmetadata
    // created since read).
    for (store, key) in [
        ("v3-nested-unconsolidated.zarr", "zarr.json"),
        ("nested-unconsolidated-v2.zarr", ".zmetadata"),
    ] {
        let theirs = br#"{"zarr_format": 3, "node_type": "group", "attributes": {"theirs": true}}"#;
        rival.writes_before_next_put(theirs);
        server.reset();
        let url = format!("gs://{BUCKET}/{store}");
        let out = zarrscope(&home, &vars, &["consolidate", &url, "--yes"]);
        assert_code(&out, 2);
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("conflict: {url}/{key} changed since it was read")),
            "{stderr}"
        );
        let puts = puts(&server);
        assert_eq!(puts.len(), 1, "{puts:?}");
        assert_eq!(puts[0].status, 412, "{:?}", puts[0]);
        let on_disk = server.bucket_dir(BUCKET).join(store).join(key);
        assert_eq!(std::fs::read(&on_disk).unwrap(), theirs, "{store}");
    }
}
