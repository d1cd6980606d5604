//! "zarrscope never falls through to the EC2 instance-metadata service"
//! (README, src/store/credentials.rs), checked where such traffic would go:
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT` points at a local listener that
//! records every connection. Unsigned reads (no credentials at all, or
//! --anon, even with a profile that would use IMDS) and explicit keys must
//! leave it untouched; a profile whose credentials come from the instance
//! (`credential_source = Ec2InstanceMetadata`), which the user asked for,
//! does reach it — the proof that the listener would see the traffic.

mod common;

use common::imds::MetadataListener;
use common::{ACCESS_KEY, Home, S3Server, SECRET_KEY, anon, assert_ok, text};

/// A profile whose credentials come from the instance's role.
const INSTANCE_PROFILE: &str = "instance";

/// The test Home plus a profile that uses IMDS.
fn home_with_instance_profile(server: &S3Server) -> Home {
    let home = Home::new(&server.endpoint);
    let aws = home.dir.path().join(".aws");
    let config = std::fs::read_to_string(aws.join("config")).unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "{config}\n[profile {INSTANCE_PROFILE}]\nrole_arn = arn:aws:iam::123456789012:role/zarrscope-test\ncredential_source = Ec2InstanceMetadata\nendpoint_url = {}\n",
            server.endpoint
        ),
    )
    .unwrap();
    home
}

/// Run zarrscope with IMDS pointed at `imds` and `env` set.
fn run_with_imds(
    home: &Home,
    imds: &MetadataListener,
    args: &[&str],
    env: &[(&str, &str)],
) -> std::process::Output {
    let mut cmd = home.zarrscope();
    cmd.args(args)
        .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", &imds.endpoint)
        .args(["--retries", "0"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// What the case shows, the arguments, extra environment.
type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>);

#[test]
fn reads_without_a_credential_chain_never_reach_the_metadata_service() {
    let server = S3Server::start();
    let home = home_with_instance_profile(&server);
    let imds = MetadataListener::start();
    let e = server.endpoint.as_str();
    let public_tree = ["tree", "s3://public/nwm-chrtout-v2.zarr"];
    let cases: Vec<Case> = vec![
        (
            "no credentials anywhere: unsigned, with a notice",
            vec![
                "tree",
                "s3://public/nwm-chrtout-v2.zarr",
                "--endpoint-url",
                e,
            ],
            vec![],
        ),
        (
            "no credentials, a listing",
            vec!["ls", "s3://public/", "--endpoint-url", e],
            vec![],
        ),
        (
            "no credentials, a HEAD",
            vec!["info", "s3://public/make_fixtures.py", "--endpoint-url", e],
            vec![],
        ),
        ("--anon", anon(&server, &public_tree), vec![]),
        (
            "--anon beats a profile that would use IMDS",
            vec![
                "tree",
                "s3://public/nwm-chrtout-v2.zarr",
                "--anon",
                "--profile",
                INSTANCE_PROFILE,
            ],
            vec![],
        ),
        (
            "--anon beats AWS_PROFILE naming such a profile",
            anon(&server, &public_tree),
            vec![("AWS_PROFILE", INSTANCE_PROFILE)],
        ),
        (
            "static keys from the environment",
            vec![
                "tree",
                "s3://private/nwm-chrtout-v2.zarr",
                "--endpoint-url",
                e,
            ],
            vec![
                ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
                ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ],
        ),
        (
            "a profile with static keys",
            vec![
                "tree",
                "s3://private/nwm-chrtout-v2.zarr",
                "--profile",
                "zs",
            ],
            vec![],
        ),
    ];
    for (case, args, env) in cases {
        let out = run_with_imds(&home, &imds, &args, &env);
        assert_eq!(
            imds.connections(),
            Vec::<String>::new(),
            "{case}: the metadata service was consulted\nstderr: {}",
            text(&out.stderr)
        );
        let stdout = assert_ok(&out);
        assert!(!stdout.is_empty(), "{case}");
    }
}

/// The control: the same listener, the same way of pointing at it, and a
/// profile the user set up to take credentials from the instance. aws-config
/// asks the metadata service (here, the listener), which has nothing to give.
#[test]
fn a_profile_that_uses_the_instance_role_does_reach_the_listener() {
    let server = S3Server::start();
    let home = home_with_instance_profile(&server);
    let imds = MetadataListener::start();
    let out = run_with_imds(
        &home,
        &imds,
        &[
            "tree",
            "s3://private/nwm-chrtout-v2.zarr",
            "--profile",
            INSTANCE_PROFILE,
        ],
        &[],
    );
    let connections = imds.connections();
    assert!(
        connections.iter().any(|line| line.contains("/latest/")),
        "{connections:?}\nstderr: {}",
        text(&out.stderr)
    );
    // No credentials came of it: nothing signed reached the S3 server.
    assert_eq!(out.status.code(), Some(2));
    assert!(server.requests().iter().all(|r| !r.signed));
}
