//! Every way of reaching Azure Blob Storage — endpoints (flag, variable,
//! emulator, connection string), accounts (variable, abfss:// and https://
//! URLs), credentials (account key, SAS by URL, flag, variable and
//! connection string, Entra ID) — against the in-process Azure stand-in
//! (tests/common/azure.rs); assertions are on its request log. And none of
//! the secrets ever shows in what zarrscope prints.

mod common;

use common::azure::{ACCOUNT, CONTAINER, EMULATOR_ACCOUNT, ENTRA_TOKEN};
use common::standin::StandIn;
use common::{Home, LoggedRequest, assert_code, assert_ok, json, text};

/// base64 of "KEY-MARKER-azure-account-key": any key will do, the stand-in
/// logs a Shared Key signature without checking it.
const KEY: &str = "S0VZLU1BUktFUi1henVyZS1hY2NvdW50LWtleQ==";
const KEY_MARKER: &str = "S0VZLU1BUktFUi1henVyZS1hY2NvdW50LWtleQ";
const STORE: &str = "nwm-chrtout-v2.zarr";

/// A SAS token whose signature (base64, so percent-encoded: `%3D`) carries
/// `marker`.
fn sas(marker: &str) -> String {
    format!("sv=2022-11-02&ss=b&srt=co&sp=rl&se=2099-01-01T00%3A00%3A00Z&sig={marker}%2Bsig%3D")
}

fn home() -> Home {
    // No AWS settings matter here; the HOME only keeps the machine's out.
    Home::new("http://127.0.0.1:9")
}

fn az_url(path: &str) -> String {
    format!("az://{CONTAINER}/{path}")
}

/// The https form on `account`'s blob host, with `query` (a SAS) if any.
fn https_url(account: &str, path: &str, query: Option<&str>) -> String {
    let url = format!("https://{account}.blob.core.windows.net/{CONTAINER}/{path}");
    match query {
        Some(q) => format!("{url}?{q}"),
        None => url,
    }
}

/// The stand-in's log, which is not empty.
fn log(server: &StandIn) -> Vec<LoggedRequest> {
    let log = server.requests();
    assert!(!log.is_empty(), "no request reached the stand-in");
    log
}

/// Every request went to `/{account}/{CONTAINER}/…` (`account` in the path,
/// as Azurite has it) or `/{CONTAINER}…` (`None`).
fn assert_paths_under(log: &[LoggedRequest], account: Option<&str>) {
    let root = match account {
        Some(account) => format!("/{account}/{CONTAINER}"),
        None => format!("/{CONTAINER}"),
    };
    for r in log {
        assert!(r.path.starts_with(&root), "not under {root}: {r:?}");
    }
}

/// Every request carries a Shared Key signature for `account`.
fn assert_shared_key_for(log: &[LoggedRequest], account: &str) {
    for r in log {
        let auth = r.header("authorization").unwrap_or_default();
        assert!(
            auth.starts_with(&format!("SharedKey {account}:")),
            "not signed for {account}: {r:?}"
        );
    }
}

/// Every request carries the SAS whose signature holds `marker` in its
/// query, and no Authorization header.
fn assert_sas_on_every_request(log: &[LoggedRequest], marker: &str) {
    for r in log {
        assert!(
            r.query.contains(&format!("sig={marker}")),
            "no SAS {marker} in the query: {r:?}"
        );
        assert!(r.header("authorization").is_none(), "{r:?}");
    }
}

/// `tree` of the fixture store by its az:// URL with `args` and an
/// environment of `vars` alone; the stand-in's log.
fn tree_of_store(server: &StandIn, args: &[&str], vars: &[(&str, String)]) -> Vec<LoggedRequest> {
    let out = home()
        .zarrscope()
        .args(["tree", &az_url(STORE)])
        .args(args)
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(assert_ok(&out).contains("streamflow"));
    log(server)
}

#[test]
fn azure_storage_endpoint_points_az_urls_at_another_server() {
    let server = common::azure::start();
    let log = tree_of_store(
        &server,
        &["--anon"],
        &[
            ("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT.into()),
            (
                "AZURE_STORAGE_ENDPOINT",
                format!("{}/{ACCOUNT}", server.endpoint),
            ),
        ],
    );
    assert_paths_under(&log, Some(ACCOUNT));
    assert!(log.iter().all(|r| !r.signed), "--anon signs nothing");
}

#[test]
fn the_emulator_switch_uses_azurites_account_and_key() {
    let server = common::azure::start();
    // Azurite's own port may be taken: the endpoint moves, the rest is the
    // switch's (no account name, no key given).
    let log = tree_of_store(
        &server,
        &[],
        &[
            ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
            (
                "AZURE_STORAGE_ENDPOINT",
                format!("{}/{EMULATOR_ACCOUNT}", server.endpoint),
            ),
        ],
    );
    assert_paths_under(&log, Some(EMULATOR_ACCOUNT));
    assert_shared_key_for(&log, EMULATOR_ACCOUNT);
}

#[test]
fn a_connection_string_gives_endpoint_account_and_key() {
    let server = common::azure::start();
    let connection = format!(
        "DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};BlobEndpoint={}/{ACCOUNT};",
        server.endpoint
    );
    let log = tree_of_store(
        &server,
        &[],
        &[("AZURE_STORAGE_CONNECTION_STRING", connection)],
    );
    assert_paths_under(&log, Some(ACCOUNT));
    assert_shared_key_for(&log, ACCOUNT);
}

#[test]
fn a_connection_string_with_a_sas_needs_no_account_name() {
    let server = common::azure::start();
    let connection = format!(
        "BlobEndpoint={}/{ACCOUNT};SharedAccessSignature={}",
        server.endpoint,
        sas("CONNSAS")
    );
    let log = tree_of_store(
        &server,
        &[],
        &[("AZURE_STORAGE_CONNECTION_STRING", connection)],
    );
    assert_paths_under(&log, Some(ACCOUNT));
    assert_sas_on_every_request(&log, "CONNSAS");
}

#[test]
fn a_broken_connection_string_names_the_field_and_sends_nothing() {
    let server = common::azure::start();
    let home = home();
    let out = home
        .zarrscope()
        .args(["tree", &az_url(STORE)])
        .env(
            "AZURE_STORAGE_CONNECTION_STRING",
            format!("AccountName={ACCOUNT};AccountKey={KEY};AccountKey={KEY}"),
        )
        .args(["--endpoint-url", &server.endpoint])
        .output()
        .unwrap();
    assert_code(&out, 2);
    let err = text(&out.stderr);
    assert!(
        err.contains("AZURE_STORAGE_CONNECTION_STRING: AccountKey is given twice"),
        "{err}"
    );
    assert!(!err.contains(KEY_MARKER), "the key leaked: {err}");
    assert!(server.requests().is_empty());
}

/// A SAS from the variable, then the flag over it, then the URL's over both.
#[test]
fn sas_tokens_from_variable_flag_and_url_reach_the_server_in_that_precedence() {
    let server = common::azure::start();
    let home = home();
    let run = |url: &str, flag: bool| {
        server.reset();
        let mut cmd = home.zarrscope();
        cmd.args(["tree", url, "--endpoint-url", &server.endpoint])
            .env("AZURE_STORAGE_SAS_TOKEN", sas("ENVSAS"));
        if flag {
            cmd.args(["--sas-token", &format!("?{}", sas("FLAGSAS"))]);
        }
        if url.starts_with("az://") {
            cmd.env("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT);
        }
        let out = cmd.output().unwrap();
        assert!(assert_ok(&out).contains("streamflow"));
        log(&server)
    };
    let log_env = run(&az_url(STORE), false);
    assert_sas_on_every_request(&log_env, "ENVSAS");
    assert_paths_under(&log_env, None);
    let log_flag = run(&az_url(STORE), true);
    assert_sas_on_every_request(&log_flag, "FLAGSAS");
    // No account variable: the URL names it.
    let url = https_url("fromurl", STORE, Some(&sas("URLSAS")));
    let log_url = run(&url, true);
    assert_sas_on_every_request(&log_url, "URLSAS");
    assert_paths_under(&log_url, None);
}

#[test]
fn abfss_and_https_urls_name_the_account_that_signs() {
    let server = common::azure::start();
    let home = home();
    for (url, account) in [
        (
            format!("abfss://{CONTAINER}@abfsacct.dfs.core.windows.net/{STORE}"),
            "abfsacct",
        ),
        (https_url("httpsacct", STORE, None), "httpsacct"),
    ] {
        server.reset();
        let out = home
            .zarrscope()
            .args(["tree", &url, "--endpoint-url", &server.endpoint])
            .env("AZURE_STORAGE_ACCOUNT_KEY", KEY)
            // The URL's account wins over the variable's.
            .env("AZURE_STORAGE_ACCOUNT_NAME", "fromvariable")
            .output()
            .unwrap();
        assert!(assert_ok(&out).contains("streamflow"), "{url}");
        let log = log(&server);
        assert_paths_under(&log, None);
        assert_shared_key_for(&log, account);
    }
}

#[test]
fn an_entra_id_service_principal_gets_a_token_at_the_first_request() {
    let server = common::azure::start();
    let home = home();
    let secret = "ENTRA-CLIENT-SECRET-MARKER";
    let out = home
        .zarrscope()
        .args(["tree", &az_url(STORE), "-v"])
        .args(["--endpoint-url", &server.endpoint])
        .env("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT)
        .env("AZURE_CLIENT_ID", "00000000-client")
        .env("AZURE_TENANT_ID", "tenant-one")
        .env("AZURE_CLIENT_SECRET", secret)
        .env("AZURE_AUTHORITY_HOST", &server.endpoint)
        .output()
        .unwrap();
    let stdout = assert_ok(&out);
    assert!(stdout.contains("streamflow"));
    let log = log(&server);
    let (token, blobs) = log.split_first().unwrap();
    assert_eq!(
        (token.method.as_str(), token.path.as_str()),
        ("POST", "/tenant-one/oauth2/v2.0/token"),
        "the token first: {log:#?}"
    );
    assert!(!blobs.is_empty());
    for r in blobs {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {ENTRA_TOKEN}").as_str()),
            "{r:?}"
        );
    }
    let err = text(&out.stderr);
    assert!(!err.contains(secret) && !stdout.contains(secret), "{err}");
}

/// SAS tokens by URL, flag and variable, account keys by variable and
/// connection string: each in use in one of the setups below (the server
/// shows it arrived), none printed by tree, ls (JSON too), -v logs or
/// errors (a missing key, a missing store, a refused request).
#[test]
fn sas_tokens_and_account_keys_never_show() {
    let home = home();
    let markers = ["URLSAS", "FLAGSAS", "ENVSAS", "CONNSAS", KEY_MARKER];
    let connection = format!(
        "AccountName={ACCOUNT};AccountKey={KEY};SharedAccessSignature={}",
        sas("CONNSAS")
    );
    let env_sas = ("AZURE_STORAGE_SAS_TOKEN", sas("ENVSAS"));
    let env_key = ("AZURE_STORAGE_ACCOUNT_KEY", KEY.to_string());
    // (URL form, --sas-token given, variables, the credential in use: a
    // SAS marker, or None for the account key).
    let setups = [
        (
            true,
            true,
            vec![env_sas.clone(), env_key.clone()],
            Some("URLSAS"),
        ),
        (
            false,
            true,
            vec![env_sas.clone(), env_key.clone()],
            Some("FLAGSAS"),
        ),
        (false, false, vec![env_sas.clone()], Some("ENVSAS")),
        (false, false, vec![env_key.clone(), env_sas.clone()], None),
        (
            false,
            false,
            vec![("AZURE_STORAGE_CONNECTION_STRING", connection.clone())],
            None,
        ),
    ];
    for (https, flag, vars, in_use) in &setups {
        let server = common::azure::start();
        let url = |path: &str| match https {
            true => https_url(ACCOUNT, path, Some(&sas("URLSAS"))),
            false => az_url(path),
        };
        let command = |args: &[String]| {
            let mut cmd = home.zarrscope();
            cmd.args(args)
                .args(["--endpoint-url", &server.endpoint])
                .env("AZURE_STORAGE_ACCOUNT_NAME", ACCOUNT)
                .envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
            if *flag {
                cmd.args(["--sas-token", &sas("FLAGSAS")]);
            }
            cmd
        };
        let assert_hidden = |args: &[String], out: &std::process::Output| {
            let printed = format!("{}\n{}", text(&out.stdout), text(&out.stderr));
            for marker in markers {
                assert!(
                    !printed.contains(marker),
                    "{marker} shows in `{}`:\n{printed}",
                    args.join(" ")
                );
            }
        };
        let tree = ["tree".into(), url(STORE), "-v".into()];
        let out = command(&tree).output().unwrap();
        assert!(assert_ok(&out).contains("streamflow"));
        assert_hidden(&tree, &out);
        match in_use {
            Some(marker) => assert_sas_on_every_request(&log(&server), marker),
            None => assert_shared_key_for(&log(&server), ACCOUNT),
        }
        let ls = ["ls".into(), url(STORE), "--json".into(), "-v".into()];
        let out = command(&ls).output().unwrap();
        assert_ok(&out);
        assert_hidden(&ls, &out);
        if *https {
            assert_eq!(json(&out)["url"], https_url(ACCOUNT, STORE, None));
        }
        let failing: [[String; 3]; 3] = [
            [
                "head".into(),
                url(&format!("{STORE}/no-such-key")),
                "-v".into(),
            ],
            ["tree".into(), url("no-such-store.zarr"), "-v".into()],
            ["show".into(), url(STORE), "no_such_variable".into()],
        ];
        for args in &failing {
            let out = command(args).output().unwrap();
            assert_code(&out, 2);
            assert_hidden(args, &out);
        }
        server.refuse(403, "AuthenticationFailed");
        let info = ["info".into(), url(&format!("{STORE}/.zattrs")), "-v".into()];
        let out = command(&info).output().unwrap();
        assert_code(&out, 2);
        assert_hidden(&info, &out);
    }
}

/// `info URL/` describes a directory: a listing, no HEAD of the prefix as
/// an object. On an https URL the `/` is before the SAS query, and still
/// counts.
#[test]
fn a_trailing_slash_before_the_sas_query_names_a_directory() {
    let server = common::azure::start();
    let home = home();
    let info = |url: &str| {
        server.reset();
        let out = home
            .zarrscope()
            .args(["info", url, "--json", "--endpoint-url", &server.endpoint])
            .output()
            .unwrap();
        assert_ok(&out);
        let heads = log(&server).iter().filter(|r| r.method == "HEAD").count();
        let mut found = json(&out);
        found["url"] = serde_json::Value::Null;
        (found, heads)
    };
    let (as_file, heads) = info(&https_url(ACCOUNT, STORE, Some(&sas("URLSAS"))));
    assert_eq!(heads, 1, "without the slash the prefix may be an object");
    let as_directory = info(&https_url(
        ACCOUNT,
        &format!("{STORE}/"),
        Some(&sas("URLSAS")),
    ));
    assert_eq!(as_directory, (as_file, 0));
}
