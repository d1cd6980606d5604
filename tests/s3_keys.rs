//! Keys are names, not URL fragments: a corpus of awkward key names (every
//! printable ASCII punctuation character, spaces, non-ASCII, percent
//! sequences, a 900-byte key) through ls, info, head, glob, du, cp, mv, rm,
//! tree --crawl, consolidate and check, in both directions and bucket to
//! bucket — asserting on what the server holds afterwards. And keys S3
//! allows but no file system holds (`a/../b`, `a//b`, `a/./b`, a folder
//! marker `x/sub/`), served from memory by the test server.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Home, PRIVATE, PUBLIC, S3Server, assert_ok, text};
use common::{json, run};
use serde_json::Value;

fn signed<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(["--profile", "zs"]);
    v
}

/// Every string field named `key` anywhere in a JSON document (whatever
/// envelope the command wraps its entries in).
fn keys_in(doc: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "key"
                        && let Some(s) = v.as_str()
                    {
                        out.insert(s.to_string());
                    }
                    walk(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(doc, &mut out);
    out
}

/// The awkward names, each a single file name (a key segment).
fn corpus() -> Vec<String> {
    let mut names: Vec<String> = (0x21u8..0x7f)
        .map(char::from)
        .filter(|c| !c.is_ascii_alphanumeric() && *c != '/')
        .map(|c| format!("p{c}q"))
        .collect();
    let punctuation: String = (0x21u8..0x7f)
        .map(char::from)
        .filter(|c| !c.is_ascii_alphanumeric() && *c != '/')
        .collect();
    names.push(format!("all{punctuation}"));
    for name in [
        "x*y",
        "home~user.txt",
        "pct%41.txt",
        "%2F",
        "100%",
        "%",
        "with space",
        " lead",
        "ärr",
        "日本",
        "a#b",
        "t~1",
        "q?x=1&y=2",
    ] {
        names.push(name.to_string());
    }
    names
}

/// A 900-byte key below `prefix` (segments under the 255-byte file name limit).
fn long_key(prefix: &str) -> String {
    let mut key = format!("{prefix}/long");
    while key.len() < 880 {
        key.push('/');
        key.push_str(&"l".repeat(200.min(899 - key.len())));
    }
    key
}

/// Write the corpus below `dir` on disk: `name` holds `body of {name}`;
/// returns the keys relative to `dir`.
fn write_corpus(dir: &Path) -> Vec<String> {
    let mut keys = corpus();
    keys.push(long_key("deep").to_string());
    for key in &keys {
        let file = dir.join(key);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("body of {key}")).unwrap();
    }
    keys
}

/// Every file below `dir`, as `/`-joined relative names.
fn files_below(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(base, &entry.path(), out);
            } else {
                let rel = entry.path().strip_prefix(base).unwrap().to_path_buf();
                out.insert(rel.to_string_lossy().into_owned());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// What `bucket` holds below `prefix`, relative to it: files on disk and
/// the keys the test server keeps in memory.
fn stored(server: &S3Server, bucket: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = files_below(&server.bucket_dir(bucket).join(prefix));
    let dir = format!("{prefix}/");
    out.extend(
        server
            .awkward_keys(bucket)
            .into_iter()
            .filter_map(|k| k.strip_prefix(&dir).map(str::to_string)),
    );
    out
}

fn with_prefix(prefix: &str, keys: &[String]) -> BTreeSet<String> {
    keys.iter().map(|k| format!("{prefix}/{k}")).collect()
}

#[test]
fn info_head_ls_du_and_glob_name_every_awkward_key_exactly() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let keys = write_corpus(&server.bucket_dir(PRIVATE).join("odd"));

    // ls -r and du see every key, exactly.
    let out = run(&home, &signed(&["ls", "-r", "s3://private/odd", "--json"]));
    assert_ok(&out);
    assert_eq!(keys_in(&json(&out)), with_prefix("odd", &keys));
    let out = run(&home, &signed(&["du", "s3://private/odd", "--json"]));
    assert_ok(&out);
    let doc = json(&out);
    assert!(
        doc.to_string()
            .contains(&format!("\"objects\":{}", keys.len())),
        "{doc}"
    );

    // Flat ls of the prefix names each object once, by its own name.
    let out = run(&home, &signed(&["ls", "s3://private/odd/", "--json"]));
    assert_ok(&out);
    let flat = keys_in(&json(&out));
    for name in corpus() {
        assert!(
            flat.contains(&format!("odd/{name}")),
            "{name:?} in {flat:?}"
        );
    }

    // info and head of each key, straight from its URL.
    for key in &keys {
        let url = format!("s3://private/odd/{key}");
        let out = run(&home, &signed(&["info", &url, "--json"]));
        assert_ok(&out);
        assert!(
            keys_in(&json(&out)).contains(&format!("odd/{key}")),
            "{key:?}: {}",
            text(&out.stdout)
        );
        let out = run(&home, &signed(&["head", "-c", "2000", &url]));
        assert_ok(&out);
        assert_eq!(text(&out.stdout), format!("body of {key}"), "{key:?}");
    }

    // glob matches names holding its metacharacters literally (escaped).
    let out = run(&home, &signed(&["glob", "s3://private/odd/p*q", "--json"]));
    assert_ok(&out);
    let matched = keys_in(&json(&out));
    for name in corpus()
        .iter()
        .filter(|n| n.starts_with('p') && n.ends_with('q'))
    {
        assert!(
            matched.contains(&format!("odd/{name}")),
            "{name:?} not in {matched:?}"
        );
    }
    let out = run(
        &home,
        &signed(&["glob", "s3://private/odd/x\\*y", "--json"]),
    );
    assert_ok(&out);
    assert_eq!(keys_in(&json(&out)), ["odd/x*y".to_string()].into());
}

#[test]
fn rm_r_deletes_exactly_the_listed_keys_and_nothing_else() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PRIVATE);
    let keys = write_corpus(&bucket.join("odd"));
    // Objects named like the second encoding of corpus keys, outside the prefix.
    for trap in ["trap/x%2Ay", "trap/home%7Euser.txt", "trap/pct%2541.txt"] {
        let file = bucket.join(trap);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, "trap").unwrap();
    }
    let trap_objects = files_below(&bucket.join("trap"));

    let out = run(&home, &signed(&["rm", "-r", "s3://private/odd", "--yes"]));
    assert_ok(&out);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("deleted {} of {}", keys.len(), keys.len())),
        "{stdout}"
    );
    assert!(
        files_below(&bucket.join("odd")).is_empty(),
        "left behind: {:?}",
        files_below(&bucket.join("odd"))
    );
    assert_eq!(files_below(&bucket.join("trap")), trap_objects);

    // One object by its URL: that object, not the one named like its
    // percent-encoding.
    let one = bucket.join("one");
    std::fs::create_dir_all(&one).unwrap();
    for name in ["x*y", "x%2Ay", "home~user.txt", "home%7Euser.txt"] {
        std::fs::write(one.join(name), name).unwrap();
    }
    for url in ["s3://private/one/x*y", "s3://private/one/home~user.txt"] {
        let out = run(&home, &signed(&["rm", url, "--yes"]));
        assert_ok(&out);
    }
    assert_eq!(
        files_below(&one),
        ["home%7Euser.txt".to_string(), "x%2Ay".to_string()].into()
    );
}

#[test]
fn cp_and_mv_keep_exact_names_both_ways_and_bucket_to_bucket() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let bucket = server.bucket_dir(PRIVATE);
    let keys = write_corpus(&bucket.join("odd"));
    let expected: BTreeSet<String> = keys.iter().cloned().collect();

    // Download.
    let local = tempfile::tempdir().unwrap();
    let down = local.path().join("down");
    let down_arg = format!("{}/", down.display());
    let out = run(
        &home,
        &signed(&["cp", "-r", "s3://private/odd", &down_arg, "--yes"]),
    );
    assert_ok(&out);
    assert_eq!(files_below(&down), expected);
    for key in &keys {
        assert_eq!(
            std::fs::read_to_string(down.join(key)).unwrap(),
            format!("body of {key}")
        );
    }

    // Upload (pct%41.txt and friends), to the other bucket. A name the
    // local listing leaves out is named, not skipped silently.
    std::fs::write(down.join("part#12"), "p").unwrap();
    let out = run(
        &home,
        &signed(&[
            "cp",
            "-r",
            down.to_str().unwrap(),
            "s3://public/up",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert_eq!(stored(&server, PUBLIC, "up"), expected);
    assert!(
        text(&out.stderr).contains("part#12"),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(down.join("part#12")).unwrap();

    // Bucket to bucket, server-side, then mv -r.
    let out = run(
        &home,
        &signed(&["cp", "-r", "s3://private/odd", "s3://private/copy", "--yes"]),
    );
    assert_ok(&out);
    assert_eq!(stored(&server, PRIVATE, "copy"), expected);
    let out = run(
        &home,
        &signed(&[
            "mv",
            "-r",
            "s3://private/copy",
            "s3://private/moved",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert_eq!(stored(&server, PRIVATE, "moved"), expected);
    assert!(stored(&server, PRIVATE, "copy").is_empty());

    // Between buckets (download and upload in a stream).
    let out = run(
        &home,
        &signed(&[
            "cp",
            "-r",
            "s3://private/odd",
            "s3://public/streamed",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert_eq!(stored(&server, PUBLIC, "streamed"), expected);
    // One object by its own URL.
    let out = run(
        &home,
        &signed(&[
            "cp",
            "s3://private/odd/pct%41.txt",
            "s3://private/one/",
            "--yes",
        ]),
    );
    assert_ok(&out);
    assert!(bucket.join("one/pct%41.txt").is_file());
}

/// A v2 store whose arrays have awkward names, without consolidated metadata.
fn awkward_store(root: &Path) -> Vec<&'static str> {
    let fixture = common::repo_root().join("fixtures/nested-unconsolidated-v2.zarr");
    std::fs::create_dir_all(root).unwrap();
    std::fs::copy(fixture.join(".zgroup"), root.join(".zgroup")).unwrap();
    let names = vec!["ärr", "日本", "pct%41", "t~1", "a#b", "sp ace", "x*y"];
    for name in &names {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(fixture.join("time/.zarray"), dir.join(".zarray")).unwrap();
        std::fs::write(dir.join(".zattrs"), r#"{"_ARRAY_DIMENSIONS": ["t"]}"#).unwrap();
    }
    names
}

fn node_paths(doc: &Value) -> BTreeSet<String> {
    doc["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("no nodes: {doc}"))
        .iter()
        .filter_map(|n| n["path"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn crawl_consolidate_and_check_include_arrays_with_awkward_names() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let root = server.bucket_dir(PRIVATE).join("awk.zarr");
    let names = awkward_store(&root);
    let url = "s3://private/awk.zarr";

    let out = run(&home, &signed(&["tree", url, "--crawl", "--json"]));
    assert_ok(&out);
    let doc = json(&out);
    let paths = node_paths(&doc);
    for name in &names {
        assert!(
            paths.contains(&format!("/{name}")),
            "/{name} not in {paths:?}"
        );
    }
    assert!(!doc.to_string().contains("without Zarr metadata"), "{doc}");

    let out = run(&home, &signed(&["consolidate", url, "--yes"]));
    assert_ok(&out);
    let zmetadata: Value =
        serde_json::from_slice(&std::fs::read(root.join(".zmetadata")).unwrap()).unwrap();
    for name in &names {
        assert!(
            zmetadata["metadata"]
                .get(format!("{name}/.zarray"))
                .is_some(),
            "{name} missing from .zmetadata"
        );
    }
    let out = run(&home, &signed(&["check", url]));
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("consistent"),
        "{}",
        text(&out.stdout)
    );

    // A URL straight to each node: from consolidated metadata and by crawl.
    for name in &names {
        let node = format!("{url}/{name}");
        for extra in [&[][..], &["--crawl"][..]] {
            let mut args = vec!["tree", node.as_str(), "--json"];
            args.extend_from_slice(extra);
            let out = run(&home, &signed(&args));
            assert_ok(&out);
            assert!(
                text(&out.stdout).contains("\"shape\""),
                "{name} {extra:?}: {}",
                text(&out.stdout)
            );
        }
    }
}

/// `weird/` holds keys no file system can: served from memory.
fn add_weird(server: &S3Server, bucket: &str) -> Vec<&'static str> {
    let keys = vec![
        "weird/a/../b",
        "weird/a//b",
        "weird/a/./b",
        "weird/x/sub/",
        "weird/x/sub//deeper",
    ];
    for key in &keys {
        server.add_awkward(bucket, key, format!("body of {key}").as_bytes());
    }
    keys
}

#[test]
fn keys_object_store_rejects_are_listed_and_counted() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let weird = add_weird(&server, PUBLIC);
    let anon = |args: &[&'static str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend([
            "--anon".into(),
            "--endpoint-url".into(),
            server.endpoint.clone(),
        ]);
        v
    };
    let go = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&home, &args)
    };

    // The whole bucket, recursively: no failure, every key as it is.
    let out = go(anon(&["ls", "-r", "s3://public/", "--json"]));
    assert_ok(&out);
    let listed = keys_in(&json(&out));
    for key in &weird {
        assert!(listed.contains(*key), "{key} not in the listing");
    }
    assert!(
        !listed.contains("weird/x/sub"),
        "a folder marker is its own key"
    );

    let out = go(anon(&["du", "s3://public/weird", "--json"]));
    assert_ok(&out);
    assert!(
        json(&out)
            .to_string()
            .contains(&format!("\"objects\":{}", weird.len())),
        "{}",
        text(&out.stdout)
    );
    let out = go(anon(&["du", "s3://public/"]));
    assert_ok(&out);

    // A delimited listing shows the common prefix `a//` as a directory.
    let out = go(anon(&["ls", "s3://public/weird/a/", "--json"]));
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("weird/a/"),
        "{}",
        text(&out.stdout)
    );

    // A URL names its key as typed: `a//b` is not `a/b`.
    let out = go(anon(&["info", "s3://public/weird/a//b", "--json"]));
    assert_ok(&out);
    assert_eq!(keys_in(&json(&out)), ["weird/a//b".to_string()].into());
    let out = go(anon(&["cat", "s3://public/weird/x/sub//deeper"]));
    assert_ok(&out);
    assert_eq!(text(&out.stdout), "body of weird/x/sub//deeper");
}

#[test]
fn rm_r_deletes_folder_markers_and_names_what_it_cannot_delete() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    add_weird(&server, PRIVATE);
    std::fs::create_dir_all(server.bucket_dir(PRIVATE).join("weird/x/sub")).unwrap();
    std::fs::write(server.bucket_dir(PRIVATE).join("weird/x/sub/real.txt"), "r").unwrap();

    // A prefix: its folder markers go too.
    let out = run(
        &home,
        &signed(&["rm", "-r", "s3://private/weird/x", "--yes"]),
    );
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("deleted 3 of 3"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        server.awkward_keys(PRIVATE),
        ["weird/a/../b", "weird/a/./b", "weird/a//b"]
    );
    assert!(files_below(&server.bucket_dir(PRIVATE).join("weird")).is_empty());

    // Everything: `a//b` is deleted; a key with a `..` or `.` segment cannot
    // be named by an HTTP request path and is reported by name.
    let out = run(&home, &signed(&["rm", "-r", "s3://private/weird", "--yes"]));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("weird/a/../b"), "{stderr}");
    assert!(stderr.contains("weird/a/./b"), "{stderr}");
    assert_eq!(
        server.awkward_keys(PRIVATE),
        ["weird/a/../b", "weird/a/./b"]
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn rm_r_of_a_prefix_deletes_its_folder_markers() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    let dir = server.bucket_dir(PRIVATE).join("m/sub");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("real.txt"), "r").unwrap();
    server.add_awkward(PRIVATE, "m/", b"");
    server.add_awkward(PRIVATE, "m/sub/", b"");
    server.add_awkward(PRIVATE, "m/empty/", b"");

    let out = run(&home, &signed(&["ls", "-r", "s3://private/m", "--json"]));
    assert_ok(&out);
    assert_eq!(
        keys_in(&json(&out)),
        ["m/", "m/empty/", "m/sub/", "m/sub/real.txt"]
            .map(String::from)
            .into()
    );
    let out = run(&home, &signed(&["rm", "-r", "s3://private/m", "--yes"]));
    assert_ok(&out);
    assert!(
        text(&out.stdout).contains("deleted 4 of 4"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        server.awkward_keys(PRIVATE).is_empty(),
        "{:?}",
        server.awkward_keys(PRIVATE)
    );
    assert!(files_below(&server.bucket_dir(PRIVATE).join("m")).is_empty());
}

#[test]
fn cp_r_copies_what_it_can_name_and_skips_the_rest_by_name() {
    let server = S3Server::start();
    let home = Home::new(&server.endpoint);
    add_weird(&server, PRIVATE);
    std::fs::write(server.bucket_dir(PRIVATE).join("weird/plain.txt"), "p").ok();
    std::fs::create_dir_all(server.bucket_dir(PRIVATE).join("weird")).unwrap();
    std::fs::write(server.bucket_dir(PRIVATE).join("weird/plain.txt"), "p").unwrap();

    // Bucket to bucket (streamed): `a//b` and the markers keep their names.
    let out = run(
        &home,
        &signed(&["cp", "-r", "s3://private/weird", "s3://public/w2", "--yes"]),
    );
    assert_ok(&out);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("weird/a/../b"), "{stderr}");
    assert_eq!(
        server.awkward_keys(PUBLIC),
        ["w2/a//b", "w2/x/sub/", "w2/x/sub//deeper"]
    );
    assert!(server.bucket_dir(PUBLIC).join("w2/plain.txt").is_file());

    // To a local directory: names a file cannot have are skipped, by name.
    let local = tempfile::tempdir().unwrap();
    let dest = format!("{}/", local.path().join("w").display());
    let out = run(
        &home,
        &signed(&["cp", "-r", "s3://private/weird", &dest, "--yes"]),
    );
    assert_ok(&out);
    let stderr = text(&out.stderr);
    for skipped in ["weird/a//b", "weird/x/sub/", "weird/a/../b"] {
        assert!(stderr.contains(skipped), "{skipped}: {stderr}");
    }
    assert_eq!(
        files_below(&local.path().join("w")),
        ["plain.txt".to_string()].into()
    );
}
