//! AWS profiles against the real S3 server with SigV4 checking: a profile
//! file in a temporary HOME signs correctly, a wrong secret is named by
//! profile without being printed, unknown profiles are listed, the profile's
//! endpoint_url is used, and precedence is flag > environment > profile.

mod common;

use common::{ACCESS_KEY, Home, PRIVATE, S3Server, SECRET_KEY, WRONG_SECRET, text};

const STORE: &str = "s3://private/nwm-chrtout-v2.zarr";

#[test]
fn a_profile_in_home_signs_and_supplies_the_endpoint() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // No --endpoint-url: it comes from the profile.
    let out = home
        .zarrscope()
        .args(["tree", STORE, "--profile", "zs", "-v"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(text(&out.stdout).contains("streamflow"));
    assert_eq!(server.requests().len(), 2);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.signed && r.path.starts_with(&format!("/{PRIVATE}/")))
    );
    assert!(!err.contains(SECRET_KEY) && !text(&out.stdout).contains(SECRET_KEY));

    server.reset();
    let by_env = home
        .zarrscope()
        .args(["tree", STORE])
        .env("AWS_PROFILE", "zs")
        .output()
        .unwrap();
    assert!(by_env.status.success(), "{}", text(&by_env.stderr));
    assert!(server.requests().iter().all(|r| r.signed));
}

#[test]
fn an_endpoint_in_a_services_section_is_used() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = home
        .zarrscope()
        .args(["tree", STORE, "--profile", "services-only"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_wrong_secret_names_the_profile_and_never_prints_the_secret() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = home
        .zarrscope()
        .args(["tree", STORE, "--profile", "wrong", "-v", "--stats"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("signature rejected"), "{err}");
    assert!(err.contains("profile wrong"), "{err}");
    assert!(!err.contains(WRONG_SECRET) && !text(&out.stdout).contains(WRONG_SECRET));
}

#[test]
fn an_unknown_profile_lists_the_profiles_found() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = home
        .zarrscope()
        .args(["tree", STORE, "--profile", "nhgf-development"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("AWS profile \"nhgf-development\" not found"),
        "{err}"
    );
    assert!(
        err.contains("profiles found: services-only, wrong, zs"),
        "{err}"
    );
    assert!(
        server.requests().is_empty(),
        "nothing is sent for a usage error"
    );
}

#[test]
fn precedence_is_flag_then_environment_then_profile() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    // The flag's profile beats wrong keys in the environment.
    let out = home
        .zarrscope()
        .args(["tree", STORE, "--profile", "zs"])
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", WRONG_SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Keys in the environment beat AWS_PROFILE; the profile still gives the endpoint.
    let out = home
        .zarrscope()
        .args(["tree", STORE])
        .env("AWS_PROFILE", "wrong")
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // An endpoint flag beats the profile's endpoint (a dead port here).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = home
        .zarrscope()
        .args(["tree", STORE, "--profile", "zs", "--retries", "0"])
        .args(["--endpoint-url", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains(&format!("127.0.0.1:{port}")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn anon_never_sends_the_profile_credentials() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let out = home
        .zarrscope()
        .args(["tree", STORE, "--profile", "zs", "--anon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("403"), "{}", text(&out.stderr));
    assert!(!server.requests().is_empty());
    assert!(server.requests().iter().all(|r| !r.signed));
}
