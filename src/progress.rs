//! Progress on a TTY for anything that may take more than a second; nothing
//! at all on a pipe or with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A spinner or bar on stderr, hidden unless stderr is a terminal.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn target(enabled: bool) -> ProgressDrawTarget {
        if enabled && std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        }
    }

    /// A spinner with a message (e.g. "listed 12,000 objects").
    pub fn spinner(enabled: bool) -> Self {
        let bar = ProgressBar::with_draw_target(None, Self::target(enabled));
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        // Appear only if the work lasts; short commands print nothing extra.
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar }
    }

    /// A byte-count bar for transfers.
    pub fn bytes(enabled: bool, total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), Self::target(enabled));
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
        ) {
            bar.set_style(style);
        }
        Self { bar }
    }

    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
        }
    }

    pub fn message(&self, msg: String) {
        self.bar.set_message(msg);
    }

    pub fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
