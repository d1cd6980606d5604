//! Command-line conventions (issue 11, "CLI conventions" and broken pipes):
//! the argument forms coreutils users type, `-h`, one size text, `**` in
//! glob, one JSON envelope, --color, -o, the man page, closed pipes, and the
//! display details (diff codecs, shard lint, folded lints, plurals, table
//! width). Object-store commands run against the in-process S3 server.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;

use common::cli::{fixture, local, process, process_in};
use common::inspect::disk_usage;
use common::{Home, PUBLIC, S3Server, anon, assert_ok, json, run, text};
use serde_json::{Value, json};

// ------------------------------------------------------- argument forms

#[test]
fn head_minus_n_du_sh_rm_rf_and_mkdir_p_are_accepted() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let object = "s3://public/make_fixtures.py";

    // head -5 is head -n 5.
    let five = assert_ok(&run(&home, &anon(&server, &["head", "-5", object])));
    assert_eq!(five.lines().count(), 5, "{five}");
    assert_eq!(
        five,
        assert_ok(&run(&home, &anon(&server, &["head", "-n", "5", object])))
    );

    // ls -1 is what ls prints anyway.
    let names = assert_ok(&run(&home, &anon(&server, &["ls", "-1", "s3://public/"])));
    assert_eq!(
        names,
        assert_ok(&run(&home, &anon(&server, &["ls", "s3://public/"])))
    );

    // du -sh: the total only, in binary units.
    let du = assert_ok(&run(
        &home,
        &anon(&server, &["du", "-sh", "s3://public/nwm-chrtout-v2.zarr"]),
    ));
    assert_eq!(du.lines().count(), 1, "{du}");
    assert!(du.contains("KiB"), "{du}");

    // rm -rf of nothing: no error, nothing written, an empty plan.
    let out = run(
        &home,
        &[
            "rm",
            "-rf",
            "s3://private/no-such-prefix/",
            "--profile",
            "zs",
        ],
    );
    assert!(assert_ok(&out).contains("would delete 0 objects"));
    let out = run(
        &home,
        &[
            "rm",
            "-rf",
            "--yes",
            "--json",
            "s3://private/no-such-prefix/",
            "--profile",
            "zs",
        ],
    );
    assert_eq!(json(&out)["deleted"], json!([]), "{}", text(&out.stdout));
    // -f is not --yes: still a dry run for something that exists.
    let target = server.bucket_dir("private").join("make_fixtures.py");
    let out = run(
        &home,
        &[
            "rm",
            "-f",
            "s3://private/make_fixtures.py",
            "--profile",
            "zs",
        ],
    );
    let stdout = assert_ok(&out);
    assert!(stdout.contains("would delete 1 object"), "{stdout}");
    assert!(target.exists(), "rm -f without --yes deleted the object");
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" || r.method == "POST")
    );
    // aws-cli's --dryrun says what is the default anyway; never with --yes.
    let out = run(
        &home,
        &[
            "rm",
            "--dryrun",
            "s3://private/make_fixtures.py",
            "--profile",
            "zs",
        ],
    );
    assert!(assert_ok(&out).contains("would delete 1 object"));
    let out = run(
        &home,
        &[
            "rm",
            "--dryrun",
            "--yes",
            "s3://private/make_fixtures.py",
            "--profile",
            "zs",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(target.exists());
    let help = text(&run(&home, &["rm", "--help"]).stdout);
    assert!(help.contains("still a dry run"), "{help}");

    // mkdir -p of a bucket that exists: nothing to do, exit 0.
    let out = run(
        &home,
        &["mkdir", "-p", "s3://private", "--yes", "--profile", "zs"],
    );
    let stdout = assert_ok(&out);
    assert!(stdout.contains("already exists"), "{stdout}");
    assert!(!server.requests().iter().any(|r| r.method == "PUT"));
}

// ------------------------------------------------------- -h and sizes

#[test]
fn h_is_human_readable_in_ls_and_du_and_help_elsewhere() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = "s3://public/nwm-chrtout-v2.zarr/";
    let size = std::fs::metadata(
        server
            .bucket_dir(PUBLIC)
            .join("nwm-chrtout-v2.zarr/.zmetadata"),
    )
    .unwrap()
    .len();
    let (_, total) = disk_usage(&server.bucket_dir(PUBLIC).join("nwm-chrtout-v2.zarr"));

    // Without -h: exact bytes in both ls -l and du.
    let ls = assert_ok(&run(&home, &anon(&server, &["ls", "-l", store])));
    let line = ls.lines().find(|l| l.ends_with(" .zmetadata")).unwrap();
    assert!(line.contains(&format!(" {size} ")), "{line}");
    let du = assert_ok(&run(&home, &anon(&server, &["du", store])));
    assert!(du.trim_start().starts_with(&format!("{total} ")), "{du}");
    assert!(!du.contains("iB"), "{du}");

    // With -h: binary units in both.
    let ls = assert_ok(&run(&home, &anon(&server, &["ls", "-l", "-h", store])));
    assert!(ls.contains("KiB"), "{ls}");
    let du = assert_ok(&run(&home, &anon(&server, &["du", "-h", store])));
    assert!(du.contains("KiB"), "{du}");

    // Elsewhere -h is help.
    for command in ["tree", "info", "glob", "head"] {
        let out = run(&home, &[command, "-h"]);
        assert_ok(&out);
        assert!(text(&out.stdout).contains("Usage:"), "{command} -h");
    }
}

/// Any SI size text (`876.0 kB`, `3 MB`): there must be none.
fn has_si_size(text: &str) -> bool {
    let words: Vec<&str> = text.split_whitespace().collect();
    words.windows(2).any(|w| {
        w[0].parse::<f64>().is_ok()
            && ["kB", "KB", "MB", "GB", "TB"].contains(&w[1].trim_end_matches([')', ',', ';']))
    })
}

#[test]
fn one_size_convention_across_ls_du_check_and_tree() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let object = "s3://public/nwm-chrtout-v2.zarr/.zmetadata";
    let ls = assert_ok(&run(&home, &anon(&server, &["ls", "-l", "-h", object])));
    let du = assert_ok(&run(&home, &anon(&server, &["du", "-h", object])));
    let info = assert_ok(&run(&home, &anon(&server, &["info", object])));
    // The same bytes read the same everywhere.
    let ls_size: Vec<&str> = ls.split_whitespace().skip(1).take(2).collect();
    let ls_size = ls_size.join(" ");
    assert!(ls_size.ends_with("KiB"), "{ls}");
    assert!(du.contains(&ls_size), "ls {ls_size:?} vs du {du}");
    assert!(
        info.contains(&format!("({ls_size})")),
        "ls {ls_size:?} vs info {info}"
    );

    let check = local(&["check", &fixture("v3-nested-sharded.zarr")]);
    let check = text(&check.stdout);
    assert!(check.contains("small-chunks"), "{check}");
    assert!(check.contains("KiB") && !has_si_size(&check), "{check}");
    let tree = assert_ok(&local(&[
        "tree",
        &fixture("nwm-chrtout-v2.zarr"),
        "--sizes",
    ]));
    assert!(tree.contains("TiB") || tree.contains("GiB"), "{tree}");
    for t in [&ls, &du, &info, &tree] {
        assert!(!has_si_size(t), "{t}");
    }
}

// ------------------------------------------------------- glob **

#[test]
fn double_star_matches_zero_or_more_segments_below_the_fixed_prefix_only() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PUBLIC);
    for key in [
        "data/top.zarr/.zgroup",
        "data/a/b/deep.zarr/zarr.json",
        "data/a/b/deep.zarr/x/zarr.json",
        "data/readme.txt",
        "other/outside.zarr/.zgroup",
    ] {
        let path = bucket.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "{}").unwrap();
    }
    server.reset();
    let out = run(
        &home,
        &anon(&server, &["glob", "s3://public/data/**/*.zarr"]),
    );
    let stdout = assert_ok(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "s3://public/data/a/b/deep.zarr/",
            "s3://public/data/top.zarr/"
        ],
        "{stdout}"
    );
    let log = server.requests();
    assert!(!log.is_empty());
    assert!(
        log.iter()
            .all(|r| r.method == "GET" && r.query.contains("prefix=data%2F")),
        "a listing outside data/: {log:?}"
    );

    // Zero segments between fixed parts, objects at the end.
    let stdout = assert_ok(&run(
        &home,
        &anon(
            &server,
            &["glob", "s3://public/data/**/deep.zarr/**/zarr.json"],
        ),
    ));
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "s3://public/data/a/b/deep.zarr/x/zarr.json",
            "s3://public/data/a/b/deep.zarr/zarr.json"
        ]
    );
}

// ------------------------------------------------------- JSON envelope

#[test]
fn ls_glob_du_and_info_json_share_one_envelope() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let store = "s3://public/nwm-chrtout-v2.zarr";
    let cases: [(&str, Vec<&str>, &str, &str); 4] = [
        (
            "ls",
            vec!["ls", "--json", store],
            "objects",
            "nwm-chrtout-v2.zarr",
        ),
        (
            "glob",
            vec![
                "glob",
                "--json",
                "s3://public/nwm-chrtout-v2.zarr/*/.zarray",
            ],
            "matches",
            "nwm-chrtout-v2.zarr",
        ),
        (
            "du",
            vec!["du", "--json", store],
            "bytes",
            "nwm-chrtout-v2.zarr",
        ),
        (
            "info",
            vec![
                "info",
                "--json",
                "s3://public/nwm-chrtout-v2.zarr/.zmetadata",
            ],
            "size",
            "nwm-chrtout-v2.zarr/.zmetadata",
        ),
    ];
    for (command, args, field, prefix) in cases {
        let doc = json(&run(&home, &anon(&server, &args)));
        assert_eq!(doc["command"], command, "{doc}");
        assert_eq!(doc["bucket"], "public", "{doc}");
        assert_eq!(doc["prefix"], prefix, "{doc}");
        assert!(
            doc["url"]
                .as_str()
                .unwrap()
                .starts_with("s3://public/nwm-chrtout-v2.zarr"),
            "{doc}"
        );
        assert!(!doc[field].is_null(), "{command}: no {field} in {doc}");
    }
    let glob = json(&run(
        &home,
        &anon(
            &server,
            &[
                "glob",
                "--json",
                "s3://public/nwm-chrtout-v2.zarr/*/.zarray",
            ],
        ),
    ));
    assert_eq!(glob["pattern"], "nwm-chrtout-v2.zarr/*/.zarray");
    assert!(
        glob["matches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["type"] == "object" && m["key"] == "nwm-chrtout-v2.zarr/streamflow/.zarray"),
        "{glob}"
    );
}

// ------------------------------------------------------- --color, -o, man

#[test]
fn color_always_and_never() {
    let store = fixture("nwm-chrtout-v2.zarr");
    let always = assert_ok(&local(&["tree", &store, "--color", "always"]));
    assert!(always.contains("\x1b["), "{always}");
    let never = assert_ok(&local(&["tree", &store, "--color", "never"]));
    assert!(!never.contains('\x1b'), "{never}");
    // auto on a pipe: no colour.
    let auto = assert_ok(&local(&["tree", &store]));
    assert!(!auto.contains('\x1b'));
    assert_eq!(auto, never);
}

#[test]
fn output_file_takes_stdout_and_errors_stay_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tree.json");
    let file_arg = file.display().to_string();
    let out = local(&[
        "tree",
        &fixture("nwm-chrtout-v2.zarr"),
        "--json",
        "-o",
        &file_arg,
    ]);
    assert_ok(&out);
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(doc["nodes"].as_array().is_some_and(|n| !n.is_empty()));

    let out = local(&["--output", &file_arg, "ls", "not-a-url"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a storage URL"));
    let out = local(&[
        "tree",
        &fixture("nwm-chrtout-v2.zarr"),
        "-o",
        "/no/such/dir/x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("cannot write to /no/such/dir/x"));
}

#[test]
fn man_prints_a_roff_page() {
    let page = assert_ok(&local(&["man"]));
    assert!(page.contains(".TH zarrscope 1"), "{page}");
    assert!(page.contains(".SH NAME"));
    assert!(page.contains("glob"), "subcommands are listed");
}

// ------------------------------------------------------- closed pipes

fn spawn_with_closed(stream: &str, args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    // The read end is gone before the program starts: its first write fails.
    drop(reader);
    let mut cmd = process();
    cmd.args(args).stdin(Stdio::null());
    let mut other = String::new();
    let status = if stream == "stdout" {
        let mut child = cmd.stdout(writer).stderr(Stdio::piped()).spawn().unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut other)
            .unwrap();
        child.wait().unwrap()
    } else {
        let mut child = cmd.stdout(Stdio::piped()).stderr(writer).spawn().unwrap();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut other)
            .unwrap();
        child.wait().unwrap()
    };
    (status.code(), other)
}

#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        vec!["completions", "zsh"],
        vec!["man"],
        vec!["tree", &fixture("conus404-hourly-v2.zarr")],
    ] {
        let (code, stderr) = spawn_with_closed("stdout", &args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // stderr closed: the error cannot be shown, but it is no panic.
    let (code, _) = spawn_with_closed("stderr", &["ls", "not-a-url"]);
    assert_eq!(code, Some(2));

    // `completions zsh | head -1`: read one line, then go away.
    let mut child = process()
        .args(["completions", "zsh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    let n = child.stdout.as_mut().unwrap().read(&mut first).unwrap();
    assert!(n > 0);
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_ne!(out.status.code(), Some(101));
    assert!(!text(&out.stderr).contains("panicked"));
}

// ------------------------------------------------------- display

#[test]
fn diff_shows_codecs_as_tree_does() {
    let out = local(&[
        "diff",
        &fixture("nwm-chrtout-v2.zarr"),
        &fixture("nwm-chrtout-next-v2.zarr"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("codecs: blosc(lz4,5,shuffle) -> zstd(9)"),
        "{stdout}"
    );
    // JSON keeps the full codec documents.
    let out = local(&[
        "diff",
        "--json",
        &fixture("nwm-chrtout-v2.zarr"),
        &fixture("nwm-chrtout-next-v2.zarr"),
    ]);
    assert!(text(&out.stdout).contains("\"cname\""));
}

/// A v3 store of `n` identical sharded arrays (metadata only).
fn sharded_store(dir: &Path, n: usize, shard: [u64; 2]) {
    std::fs::write(
        dir.join("zarr.json"),
        json!({"zarr_format": 3, "node_type": "group", "attributes": {}}).to_string(),
    )
    .unwrap();
    for i in 0..n {
        let array = dir.join(format!("v{i:02}"));
        std::fs::create_dir_all(&array).unwrap();
        let meta = json!({
            "zarr_format": 3, "node_type": "array",
            "shape": [shard[0] * 4, shard[1] * 4], "data_type": "float32",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": shard}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0.0,
            "codecs": [{"name": "sharding_indexed", "configuration": {
                "chunk_shape": [1000, 1000],
                "codecs": [{"name": "bytes", "configuration": {"endian": "little"}},
                           {"name": "zstd", "configuration": {"level": 3, "checksum": false}}],
                "index_codecs": [{"name": "bytes", "configuration": {"endian": "little"}}],
                "index_location": "end"}}],
            "dimension_names": ["y", "x"],
            "attributes": {}
        });
        std::fs::write(array.join("zarr.json"), meta.to_string()).unwrap();
    }
}

#[test]
fn check_flags_large_shards_and_folds_identical_findings() {
    let dir = tempfile::tempdir().unwrap();
    // 24000 × 24000 float32 = 2.1 GiB per shard.
    sharded_store(dir.path(), 28, [24000, 24000]);
    let out = local(&["check", &dir.path().display().to_string()]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("large-shards"), "{stdout}");
    assert!(stdout.contains("2.1 GiB"), "{stdout}");
    let line = stdout.lines().find(|l| l.contains("large-shards")).unwrap();
    assert!(line.contains("28 arrays: /v00, /v01, /v02, …"), "{stdout}");
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("large-shards"))
            .count(),
        1,
        "{stdout}"
    );
    // JSON keeps one finding per array.
    let out = local(&["check", "--json", &dir.path().display().to_string()]);
    let doc = json(&out);
    let shards = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "large-shards")
        .count();
    assert_eq!(shards, 28);

    // Modest shards are not flagged.
    let small = tempfile::tempdir().unwrap();
    sharded_store(small.path(), 1, [4000, 4000]);
    let out = local(&["check", &small.path().display().to_string()]);
    assert!(
        !text(&out.stdout).contains("large-shards"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn du_of_one_object_says_1_object() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let du = assert_ok(&run(
        &home,
        &anon(
            &server,
            &["du", "s3://public/nwm-chrtout-v2.zarr/.zmetadata"],
        ),
    ));
    assert!(du.contains(" 1 object "), "{du}");
    assert!(!du.contains("1 objects"), "{du}");
}

#[test]
fn tables_fit_the_terminal_width() {
    let store = fixture("nwm-chrtout-v2.zarr");
    let wide = assert_ok(&local(&["tree", &store, "--format", "table"]));
    let widest = wide.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest > 100, "the fixture's table is wide: {widest}");
    let out = process_in(&common::cli::empty_home())
        .env("COLUMNS", "100")
        .args(["tree", &store, "--format", "table"])
        .output()
        .unwrap();
    let narrow = assert_ok(&out);
    for line in narrow.lines() {
        assert!(line.chars().count() <= 100, "{line:?} is wider than 100");
    }
    assert!(narrow.lines().count() > wide.lines().count(), "cells wrap");
}
