//! A gate in the test S3 server that holds chosen requests until a number
//! of them are in flight at once, then opens for good. It proves that a
//! client sends requests concurrently without a timing window: a client
//! that sends them one at a time never fills the gate: its first held
//! request is let go after `GRACE` (a hang guard, not a measurement), the
//! gate stops holding, and `opened()` is false.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// How long a held request waits for the gate to fill before it is served
/// anyway. Reached only when the client is not concurrent (a failing test).
pub const GRACE: Duration = Duration::from_secs(20);

pub struct Gate {
    /// Which requests (by percent-decoded path, `/bucket/key`) are held.
    holds: Box<dyn Fn(&str) -> bool + Send + Sync>,
    want: usize,
    /// Held requests waiting right now.
    waiting: AtomicUsize,
    /// Set once `want` waited together.
    filled: AtomicBool,
    /// Raised when the gate filled or gave up; nothing is held after that.
    open: tokio::sync::watch::Sender<bool>,
}

impl Gate {
    /// Hold the requests `holds` picks until `want` of them wait together.
    pub fn new(want: usize, holds: impl Fn(&str) -> bool + Send + Sync + 'static) -> Arc<Self> {
        Arc::new(Self {
            holds: Box::new(holds),
            want,
            waiting: AtomicUsize::new(0),
            filled: AtomicBool::new(false),
            open: tokio::sync::watch::Sender::new(false),
        })
    }

    /// Whether `want` held requests were ever in flight together.
    pub fn opened(&self) -> bool {
        self.filled.load(Ordering::SeqCst)
    }

    /// Wait here if this request is held and the gate is still shut.
    pub async fn pass(&self, path: &str) {
        if *self.open.borrow() || !(self.holds)(path) {
            return;
        }
        // Subscribe before counting, so the opening cannot be missed.
        let mut open = self.open.subscribe();
        if self.waiting.fetch_add(1, Ordering::SeqCst) + 1 >= self.want {
            self.filled.store(true, Ordering::SeqCst);
            self.open.send_replace(true);
            return;
        }
        if tokio::time::timeout(GRACE, open.wait_for(|open| *open))
            .await
            .is_err()
        {
            // Not concurrent: give up holding, so the run ends promptly
            // and the test fails on `opened()` instead of its time limit.
            self.open.send_replace(true);
        }
        self.waiting.fetch_sub(1, Ordering::SeqCst);
    }
}
