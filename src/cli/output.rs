//! Where a command's output goes and how it looks, decided once per run:
//! stdout or `-o FILE`, colour (`--color`, NO_COLOR, a terminal check), the
//! width tables wrap to, and the one place a closed pipe is handled.
//!
//! Every byte of a command's output goes through [`write_out`]; every line
//! for stderr through [`note!`](crate::cli::note). A reader that goes away
//! (`zarrscope … | head -1`) ends the output quietly, never with a panic.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::args::ColorChoice;
use crate::error::{Error, Result};

struct Settings {
    /// `-o FILE`, opened (truncated) once at the start of the run.
    file: Option<(PathBuf, Mutex<File>)>,
    color: bool,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

fn settings() -> &'static Settings {
    SETTINGS.get_or_init(|| Settings {
        file: None,
        color: decide_color(ColorChoice::Auto, false),
    })
}

/// Whether output goes to a terminal (never with `-o FILE`).
fn output_is_terminal(to_file: bool) -> bool {
    !to_file && io::stdout().is_terminal()
}

fn decide_color(choice: ColorChoice, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        // https://no-color.org: a non-empty NO_COLOR turns colour off.
        ColorChoice::Auto => {
            output_is_terminal(to_file) && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Set the run's output target and colour. Opening `-o FILE` fails early,
/// before any request is made.
pub fn configure(color: ColorChoice, output: Option<&Path>) -> Result<()> {
    let file = match output {
        None => None,
        Some(path) => {
            let file = File::create(path).map_err(|e| {
                Error::new(format!("cannot write to {}: {e}", path.display()))
                    .with_hint("give -o a path in a directory that exists and is writable")
            })?;
            Some((path.to_path_buf(), Mutex::new(file)))
        }
    };
    let to_file = file.is_some();
    let _ = SETTINGS.set(Settings {
        file,
        color: decide_color(color, to_file),
    });
    Ok(())
}

/// Colour for the command's output.
pub fn color() -> bool {
    settings().color
}

/// The width tables and long values fit to: `COLUMNS` when it holds a
/// number (as ls and clap read it), else the terminal's when the output is
/// one; `None` for a pipe or a file (never wrap).
pub fn terminal_width() -> Option<u16> {
    if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&c| c > 0)
    {
        return Some(columns);
    }
    output_is_terminal(settings().file.is_some())
        .then(|| terminal_size::terminal_size().map(|(w, _)| w.0))
        .flatten()
}

/// Write a command's output to stdout (or `-o FILE`). A closed pipe ends
/// the output quietly: the reader has what it wanted.
pub fn write_out(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let (result, target) = match &settings().file {
        Some((path, file)) => {
            let mut file = file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let mut out = io::BufWriter::new(&mut *file);
            let result = write(&mut out).and_then(|()| out.flush());
            (result, path.display().to_string())
        }
        None => {
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            let result = write(&mut out).and_then(|()| out.flush());
            (result, "stdout".to_string())
        }
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::new(format!("cannot write output to {target}: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// `value` as one pretty-printed JSON document, through [`write_out`].
pub fn json_out<T: serde::Serialize>(value: &T) -> Result<()> {
    write_out(|out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
        writeln!(out)
    })
}

/// One line on stderr. A closed or failing stderr is ignored: there is
/// nowhere left to report it, and a panic would turn it into exit 101.
pub fn note_line(args: std::fmt::Arguments) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// `eprintln!` that never panics (see [`note_line`]).
macro_rules! note {
    ($($arg:tt)*) => {
        $crate::cli::output::note_line(format_args!($($arg)*))
    };
}
pub(crate) use note;
