//! Running the binary, with one environment policy for every test: an empty
//! environment except PATH, and a HOME of the test's choosing (a `Home` with
//! AWS profiles, or an empty one), so nothing from the machine leaks in.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use super::{ACCESS_KEY, SECRET_KEY, text};

/// `args` signed with the `zs` profile of a [`super::Home`] (its keys and
/// its server's endpoint).
pub fn signed<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(["--profile", "zs"]);
    v
}

/// The binary with an empty environment except PATH, and `home` as HOME.
pub fn process_in(home: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("zarrscope"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home);
    cmd
}

/// [`process_in`] for assertions; 60 s is a hang guard, not a measurement.
pub fn zarrscope_in(home: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::from_std(process_in(home));
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// An empty HOME (no ~/.aws), shared by the tests of one binary.
pub fn empty_home() -> PathBuf {
    // Integration tests get a scratch directory in the target dir; the
    // example server that shares this module does not.
    let scratch = option_env!("CARGO_TARGET_TMPDIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let home = scratch.join("zarrscope-empty-home");
    std::fs::create_dir_all(&home).unwrap();
    assert!(
        std::fs::read_dir(&home).unwrap().next().is_none(),
        "{} must stay empty",
        home.display()
    );
    home
}

/// The binary with an empty environment and an empty HOME.
pub fn zarrscope() -> assert_cmd::Command {
    zarrscope_in(&empty_home())
}

/// The binary with an empty environment and an empty HOME, for pipes.
pub fn process() -> std::process::Command {
    process_in(&empty_home())
}

/// Run the binary with an empty environment and an empty HOME.
pub fn local(args: &[&str]) -> Output {
    zarrscope().args(args).output().unwrap()
}

/// The path of a bundled fixture.
pub fn fixture(name: &str) -> String {
    super::repo_root()
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

/// Static keys in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
pub fn with_keys(cmd: &mut assert_cmd::Command) -> &mut assert_cmd::Command {
    cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
}

/// Assert a usage or runtime error: exit 2, nothing on stdout (no partial
/// output), no panic; its stderr.
pub fn assert_failed(out: &Output) -> String {
    super::assert_code(out, 2);
    assert!(
        out.stdout.is_empty(),
        "no partial output on error: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Assert success; stdout as JSON.
pub fn json_ok(out: &Output) -> serde_json::Value {
    super::assert_ok(out);
    super::json(out)
}
