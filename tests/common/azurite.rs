//! Azurite's Blob service (npm `azurite`, `azurite-blob`) on 127.0.0.1,
//! preloaded through the Blob API with Shared Key requests signed by
//! object_store's own `AzureAuthorizer` for the emulator's well-known
//! account: containers are created (one public, the rest private) and
//! fixture stores put blob by blob. Azurite checks signatures and refuses
//! anonymous reads of private containers, as Azure does.
//!
//! The program is `$AZURITE_BLOB`, else `azurite-blob` on PATH.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use object_store::azure::{AzureAccessKey, AzureAuthorizer, AzureCredential};
use object_store::client::{HttpRequest, HttpRequestBody};

use super::emulator::{Emulator, files_under, free_port, http, tool_missing};
use super::fakegcs::on_path;

/// Azurite's well-known development account and key (public, documented).
pub const ACCOUNT: &str = "devstoreaccount1";
pub const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Anonymous reads allowed (public access level "container"); holds [`STORES`].
pub const PUBLIC: &str = "az-fixtures";
/// Signed requests only; holds [`STORES`].
pub const PRIVATE: &str = "az-private";
/// A private container per write test, each holding [`WRITABLE`].
pub const WRITE_CONTAINERS: [&str; 2] = ["az-consolidate", "az-conflict"];
pub use super::fakegcs::{STORES, WRITABLE};

/// The version that `.ci/run` installs (3.36 and later need Node.js 22).
pub const INSTALL: &str = "npm install -g azurite@3.35.0";

/// The shared server, or `None` (after a loud message) when the tool is
/// not installed and `CI` is unset.
pub fn shared() -> Option<&'static Emulator> {
    static SERVER: OnceLock<Option<Emulator>> = OnceLock::new();
    let server = SERVER.get_or_init(|| program().map(start));
    if server.is_none() {
        tool_missing(
            "azurite-blob",
            "The az:// emulator tests need Azurite (Azure Storage emulator, Blob service).",
            INSTALL,
        );
    }
    server.as_ref()
}

/// The endpoint zarrscope is given: the account is the path's first segment.
pub fn endpoint(server: &Emulator) -> String {
    format!("{}/{ACCOUNT}", server.endpoint())
}

fn program() -> Option<PathBuf> {
    match std::env::var_os("AZURITE_BLOB") {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => on_path("azurite-blob"),
    }
}

fn start(program: PathBuf) -> Emulator {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(&program);
    command
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .arg("--location")
        .arg(dir.path().join("azurite"))
        // No --silent: the access log on stdout is what the tests read.
        // --disableTelemetry: Azurite would otherwise call out of loopback.
        .args(["--skipApiVersionCheck", "--loose", "--disableTelemetry"]);
    let server = Emulator::start("azurite-blob", command, port, "/", dir)
        .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
    let fixtures = super::repo_root().join("fixtures");
    for (container, public) in [(PUBLIC, true), (PRIVATE, false)] {
        create_container(&server, container, public);
        for store in STORES {
            put_dir(&server, container, store, &fixtures.join(store));
        }
    }
    for container in WRITE_CONTAINERS {
        create_container(&server, container, false);
        put_dir(&server, container, WRITABLE, &fixtures.join(WRITABLE));
    }
    server
}

/// A Shared Key request as the account's owner; its status.
pub fn signed(
    server: &Emulator,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> u16 {
    let url = format!("{}{path_and_query}", endpoint(server));
    let mut request = HttpRequest::new(HttpRequestBody::from(body.to_vec()));
    *request.method_mut() = method.parse().unwrap();
    *request.uri_mut() = url.parse().unwrap();
    for (name, value) in headers {
        request.headers_mut().insert(
            name.parse::<hyper::header::HeaderName>().unwrap(),
            value.parse().unwrap(),
        );
    }
    if !body.is_empty() {
        request
            .headers_mut()
            .insert("content-length", body.len().into());
    }
    let credential = AzureCredential::AccessKey(AzureAccessKey::try_new(KEY).unwrap());
    AzureAuthorizer::new(&credential, ACCOUNT)
        .try_authorize(&mut request)
        .unwrap();
    let sent: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
        .collect();
    let target = format!("/{ACCOUNT}{path_and_query}");
    let (status, answer) = http(server.port, method, &target, &sent, body)
        .unwrap_or_else(|| panic!("azurite did not answer {method} {target}"));
    assert!(
        status < 300,
        "{method} {target}: {status} {}",
        String::from_utf8_lossy(&answer)
    );
    status
}

fn create_container(server: &Emulator, container: &str, public: bool) {
    let mut headers = vec![];
    if public {
        headers.push(("x-ms-blob-public-access", "container"));
    }
    signed(
        server,
        "PUT",
        &format!("/{container}?restype=container"),
        &headers,
        &[],
    );
}

/// Put every file of `dir` as a block blob under `prefix/`.
pub fn put_dir(server: &Emulator, container: &str, prefix: &str, dir: &std::path::Path) {
    for (key, path) in files_under(dir) {
        put_blob(
            server,
            container,
            &format!("{prefix}/{key}"),
            &std::fs::read(path).unwrap(),
        );
    }
}

pub fn put_blob(server: &Emulator, container: &str, key: &str, body: &[u8]) {
    let key = percent_encoding::utf8_percent_encode(key, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2F", "/");
    signed(
        server,
        "PUT",
        &format!("/{container}/{key}"),
        &[("x-ms-blob-type", "BlockBlob")],
        body,
    );
}
