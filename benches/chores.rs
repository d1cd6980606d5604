//! `cargo bench --bench chores`: the seed's object-store operations, each run
//! as the zarrscope binary against the in-process S3 server with 50 ms added
//! to every request. Prints, per operation: requests the server saw, bytes
//! zarrscope received, wall time, and the floor — one bare request of the
//! same kind on the same server (wall / floor is the ratio to read).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Home, S3Server};

const DELAY: Duration = Duration::from_millis(50);
const RUNS: usize = 5;

struct Row {
    seed: &'static str,
    command: String,
    requests: usize,
    bytes: u64,
    wall: Duration,
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// Run zarrscope `args` (plus --stats) `RUNS` times; `setup` runs before each.
fn measure(
    server: &S3Server,
    home: &Home,
    seed: &'static str,
    args: &[String],
    setup: &dyn Fn(),
) -> Row {
    let mut walls = Vec::new();
    let (mut requests, mut bytes) = (0, 0);
    for _ in 0..RUNS {
        setup();
        server.reset();
        let t0 = Instant::now();
        let out = home
            .zarrscope()
            .args(args)
            .arg("--stats")
            .output()
            .expect("zarrscope runs");
        walls.push(t0.elapsed());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        requests = server.requests().len();
        bytes = err
            .split("bytes: ")
            .nth(1)
            .and_then(|s| s.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
    }
    Row {
        seed,
        command: format!("zarrscope {}", args.join(" ")),
        requests,
        bytes,
        wall: median(walls),
    }
}

/// One bare request through object_store in-process (no process start-up,
/// no planning): what any tool pays at least for one round trip. `range`
/// asks for the first bytes only.
fn floor(server: &S3Server, key: &str, range: Option<u64>) -> Duration {
    use object_store::aws::AmazonS3Builder;
    use object_store::path::Path;
    use object_store::{GetOptions, GetRange, ObjectStore};
    let store = AmazonS3Builder::new()
        .with_bucket_name(common::PUBLIC)
        .with_endpoint(&server.endpoint)
        .with_allow_http(true)
        .with_skip_signature(true)
        .build()
        .expect("client");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut walls = Vec::new();
    for _ in 0..RUNS {
        let t0 = Instant::now();
        rt.block_on(async {
            let options = GetOptions {
                range: range.map(|n| GetRange::Bounded(0..n)),
                ..GetOptions::default()
            };
            let got = store
                .get_opts(&Path::from(key), options)
                .await
                .expect("GET");
            got.bytes().await.expect("body");
        });
        walls.push(t0.elapsed());
    }
    median(walls)
}

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    let server = S3Server::start_with_delay(DELAY);
    let home = Home::new(&server.endpoint);
    let e = server.endpoint.clone();
    let public = server.bucket_dir(common::PUBLIC);
    let private = server.bucket_dir(common::PRIVATE);
    // A 50 MB object of 100-byte lines for readline.
    let mut body = Vec::with_capacity(50_000_000);
    let mut i = 0u64;
    while body.len() < 50_000_000 {
        body.extend_from_slice(format!("{i:08},{}\n", "x".repeat(90)).as_bytes());
        i += 1;
    }
    std::fs::write(public.join("big.csv"), &body).expect("write big.csv");

    let none = || {};
    let anon = ["--anon", "--endpoint-url", e.as_str()];
    let with = |args: &[&'static str], extra: &[&str]| -> Vec<String> {
        args.iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let mut rows = Vec::new();
    let mut run = |seed: &'static str, args: Vec<String>, setup: &dyn Fn()| {
        rows.push(measure(&server, &home, seed, &args, setup));
    };
    run("anon ls", with(&["ls", "s3://public/"], &anon), &none);
    run("glob", with(&["glob", "s3://public/*.zarr"], &anon), &none);
    run(
        "info",
        with(
            &["info", "s3://public/nwm-chrtout-v2.zarr/.zmetadata"],
            &anon,
        ),
        &none,
    );
    run(
        "readline x5 (50 MB object)",
        with(&["head", "-n", "5", "s3://public/big.csv"], &anon),
        &none,
    );
    run(
        "profile access (tree)",
        with(
            &[
                "tree",
                "s3://private/nwm-chrtout-v2.zarr",
                "--profile",
                "zs",
            ],
            &[],
        ),
        &none,
    );
    let bucket_dir = server.bucket_dir("bench-new-bucket");
    run(
        "mkdir (new bucket)",
        with(
            &["mkdir", "s3://bench-new-bucket", "--profile", "zs", "--yes"],
            &[],
        ),
        &|| {
            let _ = std::fs::remove_dir_all(&bucket_dir);
        },
    );
    let (src, dst) = (private.join("seed.txt"), private.join("moved/seed.txt"));
    run(
        "mv (one object, server-side)",
        with(
            &[
                "mv",
                "s3://private/seed.txt",
                "s3://private/moved/seed.txt",
                "--profile",
                "zs",
                "--yes",
            ],
            &[],
        ),
        &|| {
            let _ = std::fs::remove_file(&dst);
            std::fs::write(&src, "seed").expect("write seed");
        },
    );
    let victim = private.join("victim.txt");
    run(
        "rm (one object)",
        with(
            &["rm", "s3://private/victim.txt", "--profile", "zs", "--yes"],
            &[],
        ),
        &|| std::fs::write(&victim, "v").expect("write victim"),
    );
    let store_src = private.join("nwm-chrtout-v2.zarr");
    let store_copy = private.join("rm-me.zarr");
    run(
        "rm -r (a store)",
        with(
            &[
                "rm",
                "-r",
                "s3://private/rm-me.zarr",
                "--profile",
                "zs",
                "--yes",
            ],
            &[],
        ),
        &|| copy_dir(&store_src, &store_copy),
    );

    let small = floor(&server, "nwm-chrtout-v2.zarr/.zgroup", None);
    let window = floor(&server, "big.csv", Some(64 * 1024));
    println!(
        "Seed operations against the local S3 server, {} ms per request, median of {RUNS} runs",
        DELAY.as_millis()
    );
    println!(
        "one round trip (bare object_store GET, in-process): {:.0} ms; a 64 KiB ranged GET of the 50 MB object: {:.0} ms\n",
        small.as_secs_f64() * 1e3,
        window.as_secs_f64() * 1e3
    );
    println!(
        "| seed operation | zarrscope command | requests (server log) | bytes received | wall | wall / one round trip |"
    );
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        let base = if r.seed.starts_with("readline") {
            window
        } else {
            small
        };
        println!(
            "| {} | `{}` | {} | {} | {:.0} ms | {:.2} |",
            r.seed,
            r.command.replace(&e, "$E"),
            r.requests,
            r.bytes,
            r.wall.as_secs_f64() * 1e3,
            r.wall.as_secs_f64() / base.as_secs_f64()
        );
    }
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}
