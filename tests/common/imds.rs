//! A stand-in for the EC2 instance-metadata service on 127.0.0.1 that
//! records every connection. Point `AWS_EC2_METADATA_SERVICE_ENDPOINT` at it:
//! aws-config's IMDS client (and object_store's, which zarrscope points at
//! the same variable) then come here instead of 169.254.169.254. It answers
//! 404 to every request, so a client gives up at once. It stops with its
//! handle.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct MetadataListener {
    pub endpoint: String,
    /// The request line of each connection ("" when it sent none).
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetadataListener {
    pub fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::SeqCst) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                // Counted on connection, before anything is read.
                let index = {
                    let mut seen = seen2.lock().unwrap();
                    seen.push(String::new());
                    seen.len() - 1
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let n = stream.read(&mut buf).unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                seen2.lock().unwrap()[index] = head.lines().next().unwrap_or("").to_string();
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        Self {
            endpoint: format!("http://{addr}"),
            seen,
            stop,
            thread: Some(thread),
        }
    }

    /// The request line of every connection so far.
    pub fn connections(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for MetadataListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
