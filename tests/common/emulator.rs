//! A real storage emulator (Azurite, fake-gcs-server) as a child process on
//! 127.0.0.1, shared by the tests of one binary: started once, on a free
//! port, waited for (bounded), and killed with the test process. Its access
//! log (one line per request, in the common log format both print) is what
//! the tests assert on. One test at a time talks to it ([`Emulator::session`]),
//! so the log lines after a session's start are that test's.
//!
//! A missing tool is a loud skip on a developer's machine and a failure in
//! CI (`CI` set), where `.ci/run` installs both.

use std::io::{BufRead, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, mpsc};
use std::time::{Duration, Instant};

/// How long an emulator may take to answer its first request: a hang
/// guard, not a measurement (Azurite takes about a second).
const START_LIMIT: Duration = Duration::from_secs(60);

pub struct Emulator {
    pub name: &'static str,
    pub port: u16,
    child: Mutex<Child>,
    log: PathBuf,
    one_at_a_time: Mutex<()>,
    /// Last, so the emulator is gone before its files are removed.
    pub dir: tempfile::TempDir,
}

/// A free port on 127.0.0.1 (free when asked: the emulator binds it next).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The tool is not installed: say so loudly; in CI that fails the test.
/// Returns normally only outside CI (the caller then skips).
pub fn tool_missing(tool: &str, why: &str, install: &str) {
    let message = format!(
        "\n==================== SKIPPED: {tool} NOT FOUND ====================\n\
         {why}\n\
         Install it with: {install}\n\
         (.ci/run installs it; with CI set this is a failure, not a skip.)\n\
         ===================================================================\n"
    );
    // Straight to stderr: the harness captures eprintln! of passing tests.
    let _ = std::io::stderr().write_all(message.as_bytes());
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is missing in CI:{message}");
    }
}

impl Emulator {
    /// Start `command` (its stdout and stderr go to `dir/access.log`) and
    /// wait until `ready_path` on `port` answers with any HTTP status.
    ///
    /// The child is spawned from a thread that lives as long as the test
    /// process and gets SIGKILL when that process ends (PR_SET_PDEATHSIG),
    /// so a shared emulator in a `static` (never dropped) does not outlive
    /// the tests, even after a panic.
    pub fn start(
        name: &'static str,
        mut command: Command,
        port: u16,
        ready_path: &str,
        dir: tempfile::TempDir,
    ) -> std::io::Result<Self> {
        let log = dir.path().join("access.log");
        let out = std::fs::File::create(&log)?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        // SAFETY: prctl is async-signal-safe; nothing else runs in the child.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(command.spawn());
            loop {
                std::thread::park();
            }
        });
        let mut child = rx.recv().expect("the spawning thread answers")?;
        let started = Instant::now();
        loop {
            if http_status(port, "GET", ready_path).is_some() {
                break;
            }
            if let Some(status) = child.try_wait()? {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("{name} exited ({status}) before answering:\n{said}");
            }
            if started.elapsed() > START_LIMIT {
                let _ = child.kill();
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                panic!("{name} did not answer on 127.0.0.1:{port} in {START_LIMIT:?}:\n{said}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Emulator {
            name,
            port,
            child: Mutex::new(child),
            log,
            one_at_a_time: Mutex::new(()),
            dir,
        })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// This test's turn: the requests it causes are the log lines from here.
    pub fn session(&self) -> Session<'_> {
        // A test that panicked holding the lock leaves nothing to repair.
        let guard = self
            .one_at_a_time
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let start = std::fs::metadata(&self.log).map_or(0, |m| m.len());
        Session {
            emulator: self,
            start,
            fences: 0,
            _turn: guard,
        }
    }

    /// Everything the emulator printed (for failure messages).
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Ok(child) = self.child.get_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One request as the emulator's access log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub method: String,
    /// Percent-decoded.
    pub path: String,
    /// As sent (still encoded).
    pub query: String,
    pub status: u16,
}

pub struct Session<'a> {
    emulator: &'a Emulator,
    start: u64,
    fences: usize,
    _turn: MutexGuard<'a, ()>,
}

/// The path of the fence request: no bucket or container is named so.
const FENCE: &str = "/zarrscope-log-fence";

impl Session<'_> {
    /// The requests since the session began (or since [`Session::restart`]),
    /// in the order logged. A log line is written after its answer, so a
    /// fence request is sent and waited for: every request that was answered
    /// before it is then in the log.
    pub fn requests(&mut self) -> Vec<Access> {
        self.fences += 1;
        let fence = format!("{FENCE}-{}", self.fences);
        http_status(self.emulator.port, "GET", &fence);
        let started = Instant::now();
        loop {
            let lines = self.lines();
            if let Some(at) = lines.iter().position(|a| a.path == fence) {
                return lines[..at]
                    .iter()
                    .filter(|a| !a.path.starts_with(FENCE))
                    .cloned()
                    .collect();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{}'s log never showed {fence}:\n{}",
                self.emulator.name,
                self.emulator.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Forget the requests so far.
    pub fn restart(&mut self) {
        self.requests();
        self.start = std::fs::metadata(&self.emulator.log).map_or(0, |m| m.len());
    }

    fn lines(&self) -> Vec<Access> {
        let mut file = std::fs::File::open(&self.emulator.log).unwrap();
        let mut text = String::new();
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(self.start)).unwrap();
        file.read_to_string(&mut text).unwrap();
        text.lines().filter_map(access_line).collect()
    }
}

/// `... "GET /path?query HTTP/1.1" 200 ...` (fake-gcs-server quotes the
/// request line as `\"...\"` inside its own quoted message).
fn access_line(line: &str) -> Option<Access> {
    let line = line.replace("\\\"", "\"");
    let version = line.find(" HTTP/1.")?;
    let open = line[..version].rfind('"')?;
    let close = version + line[version..].find('"')?;
    let (request, after) = (&line[open + 1..close], &line[close + 1..]);
    let mut parts = request.split(' ');
    let (method, target, version) = (parts.next()?, parts.next()?, parts.next()?);
    if !version.starts_with("HTTP/") {
        return None;
    }
    let status = after.split_whitespace().next()?.parse().ok()?;
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some(Access {
        method: method.to_string(),
        path: super::percent_decode(path),
        query: query.to_string(),
        status,
    })
}

/// Send one HTTP/1.1 request to 127.0.0.1:`port`; its status, or `None`
/// when nothing answered.
pub fn http_status(port: u16, method: &str, target: &str) -> Option<u16> {
    http(port, method, target, &[], &[]).map(|(status, _)| status)
}

/// Send one HTTP/1.1 request (`Connection: close`) and read the answer:
/// (status, body), or `None` when nothing answered.
pub fn http(
    port: u16,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(START_LIMIT)).ok()?;
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("host") {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut reader = std::io::BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).ok()?;
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let mut rest = Vec::new();
    let _ = reader.read_to_end(&mut rest);
    let body = match rest.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => rest[at + 4..].to_vec(),
        None => Vec::new(),
    };
    Some((status, body))
}

/// Every file under `dir`, as (key relative to `dir` with `/`, path).
pub fn files_under(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let key = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((key, path));
            }
        }
    }
    out.sort();
    out
}
