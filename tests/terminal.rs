//! Colour on a real terminal: the binary runs with a pseudo-terminal as its
//! stdout (openpty), so `--color auto` sees a tty as a user's shell would.
//! README: colour only when stdout is a terminal and NO_COLOR is not set;
//! `--color always`/`never` win over both.

mod common;

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::text;

struct TtyRun {
    /// What the terminal received.
    screen: String,
    stderr: String,
    code: Option<i32>,
}

/// Run zarrscope with `args` and extra `env`, its stdout a new pty (stdin
/// and stderr are not a terminal).
fn on_a_tty(args: &[&str], env: &[(&str, &str)]) -> TtyRun {
    let (mut master, slave) = {
        let (mut master, mut slave) = (-1, -1);
        let size = libc::winsize {
            ws_row: 40,
            ws_col: 160,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: out-pointers to live locals; no name buffer, default termios.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two new descriptors that nothing else owns.
        unsafe {
            (
                std::fs::File::from(OwnedFd::from_raw_fd(master)),
                OwnedFd::from_raw_fd(slave),
            )
        }
    };
    let stderr_file = tempfile::NamedTempFile::new().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zarrscope"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-zarrscope-home")
        .env("TERM", "xterm-256color")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::from(stderr_file.reopen().unwrap()));
    let mut child = cmd.spawn().unwrap();
    // The child holds the only slave descriptor now: reading the master
    // ends (EIO) when it exits.
    drop(cmd);
    let reader = std::thread::spawn(move || {
        let mut screen = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match master.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => screen.extend_from_slice(&buf[..n]),
            }
        }
        screen
    });
    // A guard against a hang only: a run takes well under a second.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("zarrscope {args:?} did not finish on a tty");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let screen = reader.join().unwrap();
    TtyRun {
        // The terminal turns each \n into \r\n.
        screen: text(&screen).replace("\r\n", "\n"),
        stderr: std::fs::read_to_string(stderr_file.path()).unwrap(),
        code: status.code(),
    }
}

fn fixture(name: &str) -> String {
    common::repo_root()
        .join("fixtures")
        .join(name)
        .display()
        .to_string()
}

/// `s` without its SGR sequences (`ESC [ … m`).
fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after.find('m').expect("an unterminated escape sequence");
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

fn ok(run: TtyRun) -> String {
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    run.screen
}

#[test]
fn colour_on_a_terminal_follows_no_color_and_the_flag() {
    let store = fixture("nwm-chrtout-v2.zarr");
    let tree = ["tree", store.as_str()];
    let plain = ok(on_a_tty(&[&tree[..], &["--color", "never"]].concat(), &[]));
    assert!(plain.contains("streamflow"), "{plain}");
    assert!(!plain.contains('\x1b'), "never: {plain:?}");

    // auto (the default) on a terminal: coloured, the same text underneath.
    let auto = ok(on_a_tty(&tree, &[]));
    assert!(auto.contains("\x1b["), "auto on a tty: {auto:?}");
    assert_eq!(strip_sgr(&auto), plain);
    // An empty NO_COLOR does not count (no-color.org).
    let empty = ok(on_a_tty(&tree, &[("NO_COLOR", "")]));
    assert_eq!(empty, auto);

    // NO_COLOR turns auto off.
    let no_color = ok(on_a_tty(&tree, &[("NO_COLOR", "1")]));
    assert_eq!(no_color, plain, "NO_COLOR=1: {no_color:?}");
    // --color never wins over a terminal, --color always over NO_COLOR.
    let never = ok(on_a_tty(&[&tree[..], &["--color", "never"]].concat(), &[]));
    assert_eq!(never, plain);
    let always = ok(on_a_tty(
        &[&tree[..], &["--color", "always"]].concat(),
        &[("NO_COLOR", "1")],
    ));
    assert_eq!(always, auto, "always beats NO_COLOR");
}

#[test]
fn output_to_a_file_is_not_coloured_even_from_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tree.txt");
    let store = fixture("nwm-chrtout-v2.zarr");
    let run = on_a_tty(&["tree", &store, "-o", file.to_str().unwrap()], &[]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.screen, "");
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(written.contains("streamflow"), "{written}");
    assert!(!written.contains('\x1b'), "{written:?}");
}
