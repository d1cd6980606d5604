//! The tests' in-process S3 server as a program, for `bench/run.sh`:
//! `cargo run --release --example s3server -- DELAY_MS LOG_FILE`.
//! Serves buckets `public` (anonymous reads) and `private` on 127.0.0.1 with
//! DELAY_MS added to every request; prints `endpoint=…` and `public=<dir>`
//! (write stores there), and appends one line per request to LOG_FILE:
//! `METHOD /bucket/key?query STATUS BYTES`. Runs until stdin closes.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, Write};
use std::time::Duration;

fn main() {
    let mut args = std::env::args().skip(1);
    let delay: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(50);
    let Some(log_path) = args.next() else {
        eprintln!("usage: s3server DELAY_MS LOG_FILE");
        std::process::exit(2);
    };
    let server = common::S3Server::start_for_bench(Duration::from_millis(delay));
    println!("endpoint={}", server.endpoint);
    println!("public={}", server.bucket_dir(common::PUBLIC).display());
    let _ = std::io::stdout().flush();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    std::thread::spawn(move || {
        // Closing stdin (the driving script exiting) stops the server.
        for _ in std::io::stdin().lock().lines() {}
        stop2.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let mut written = 0;
    let mut log = match std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
    {
        Ok(f) => f,
        Err(e) => {
            eprintln!("cannot open {log_path}: {e}");
            std::process::exit(2);
        }
    };
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let requests = server.requests();
        for r in &requests[written..] {
            let _ = writeln!(
                log,
                "{} {}?{} {} {}",
                r.method, r.path, r.query, r.status, r.bytes
            );
        }
        written = requests.len();
        let _ = log.flush();
        std::thread::sleep(Duration::from_millis(20));
    }
}
