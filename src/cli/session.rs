//! A command's session: when it started, how it reaches object storage
//! (its access and reporting flags, its byte budget), every store it opened,
//! and the lines about them on stderr — notices once per store and the
//! `--stats` totals over all of them.
//!
//! Every command opens its stores through [`Session::open`], the one route
//! from a location to a guarded [`StoreHandle`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::args::{AccessArgs, ReportArgs};
use super::output::note;
use crate::error::{Error, Result};
use crate::location::{Backend, Location, is_remote_url};
use crate::render::Stats;
use crate::store::backend::{self, Vocabulary, http::writes_refused};
use crate::store::env::ProcessEnv;
use crate::store::guard::Policy;
use crate::store::instrument::RequestLogger;
use crate::store::{StoreHandle, StoreOptions, TimeoutKind};

pub(super) struct Session<'a> {
    started: Instant,
    access: &'a AccessArgs,
    report: &'a ReportArgs,
    /// What every store of the command is opened with (its budget included).
    options: StoreOptions,
    /// In the order they were opened.
    opened: Mutex<Vec<Arc<StoreHandle>>>,
    /// The `--stats` line is printed once: where the command chooses, else
    /// when the session ends (an error exit included).
    stats_printed: AtomicBool,
    /// Flags already warned about as ignored: once per command, however
    /// many stores it opens.
    warned: Mutex<Vec<&'static str>>,
    /// Buckets already named as billed to the caller (--requester-pays):
    /// once per bucket, however many stores of it the command opens.
    billed: Mutex<Vec<String>>,
}

impl<'a> Session<'a> {
    /// Each store the command opens gets a byte budget of its own:
    /// --max-bytes, else `default_max_bytes`.
    pub fn new(access: &'a AccessArgs, report: &'a ReportArgs, default_max_bytes: u64) -> Self {
        Self::with_options(access, report, access.store_options(default_max_bytes))
    }

    /// Every store the command opens draws on one budget: --max-bytes
    /// bounds the whole command.
    pub fn sharing_budget(
        access: &'a AccessArgs,
        report: &'a ReportArgs,
        default_max_bytes: u64,
    ) -> Self {
        let budget = access.command_budget(default_max_bytes);
        let options = StoreOptions {
            budget: Some(Arc::clone(&budget)),
            ..access.store_options(budget.max())
        };
        Self::with_options(access, report, options)
    }

    /// `cp`/`mv`: `--timeout` as an idle timeout (a large object may take
    /// longer than the timeout to transfer, as long as bytes keep moving),
    /// and no byte budget unless one is given: copies move data on purpose.
    pub fn for_transfer(access: &'a AccessArgs, report: &'a ReportArgs) -> Self {
        let options = StoreOptions {
            timeout_kind: TimeoutKind::Idle,
            ..access.store_options(u64::MAX)
        };
        Self::with_options(access, report, options)
    }

    pub fn with_options(
        access: &'a AccessArgs,
        report: &'a ReportArgs,
        options: StoreOptions,
    ) -> Self {
        Self {
            started: Instant::now(),
            access,
            report,
            options,
            opened: Mutex::new(Vec::new()),
            stats_printed: AtomicBool::new(false),
            warned: Mutex::new(Vec::new()),
            billed: Mutex::new(Vec::new()),
        }
    }

    /// Open `location` rooted at its bucket behind a guard with `policy`,
    /// and show the notices that opening produced.
    pub async fn open(&self, location: Location, policy: Policy) -> Result<Arc<StoreHandle>> {
        self.warn_ignored_flags(&location);
        let handle = StoreHandle::open_with(
            location,
            &self.options,
            &ProcessEnv,
            self.report.verbose.then(verbose_logger),
            policy,
        )
        .await?;
        let handle = Arc::new(handle);
        self.note_billing(&handle);
        print_notices(&handle, self.report);
        self.opened().push(Arc::clone(&handle));
        Ok(handle)
    }

    /// A warning for each access flag `location`'s backend ignores (e.g.
    /// --profile for gs://), unless --quiet; each flag once per command.
    fn warn_ignored_flags(&self, location: &Location) {
        let mut warned = self
            .warned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for ignored in backend::ignored_flags(&self.options, &location.backend) {
            if warned.contains(&ignored.flag) {
                continue;
            }
            warned.push(ignored.flag);
            if !self.report.quiet {
                note!(
                    "warning: {} applies to {} only; ignored for {}",
                    ignored.flag,
                    ignored.applies_to,
                    location.url
                );
            }
        }
    }

    /// With --requester-pays, that the caller pays for what the command
    /// reads from an S3 bucket: once per bucket, unless --quiet. The
    /// credentials are named by where they came from, never shown.
    fn note_billing(&self, handle: &StoreHandle) {
        let Backend::S3 { bucket } = &handle.location.backend else {
            return;
        };
        if !self.options.s3.requester_pays || self.report.quiet {
            return;
        }
        let mut billed = self
            .billed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if billed.contains(bucket) {
            return;
        }
        billed.push(bucket.clone());
        note!(
            "note: requester pays: requests and bytes to s3://{bucket} are billed to your account ({})",
            handle.credential_source
        );
    }

    fn opened(&self) -> std::sync::MutexGuard<'_, Vec<Arc<StoreHandle>>> {
        self.opened
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Notices of the opened stores not shown yet (some arrive after the
    /// opening: a discovered region), unless --quiet.
    pub fn print_notices(&self) {
        for handle in self.opened().iter() {
            print_notices(handle, self.report);
        }
    }

    /// Requests and bytes of every store the command opened.
    pub fn totals(&self) -> Stats {
        let opened = self.opened();
        Stats {
            requests: opened.iter().map(|h| h.stats.requests()).sum(),
            bytes: opened.iter().map(|h| h.stats.bytes()).sum(),
        }
    }

    /// `requests: N  bytes: M  elapsed: T` on stderr, with --stats.
    pub fn print_stats(&self) {
        if self.report.stats && !self.stats_printed.swap(true, Ordering::SeqCst) {
            let Stats { requests, bytes } = self.totals();
            note!(
                "requests: {requests}  bytes: {bytes}  elapsed: {:.3}s",
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// The end of a command's requests: the notices they produced, then the
    /// totals.
    pub fn print_notices_and_stats(&self) {
        self.print_notices();
        self.print_stats();
    }

    /// [`Session::print_notices_and_stats`], then `result`: the totals are
    /// worth seeing even when the requests failed.
    pub fn settle<T>(&self, result: Result<T>) -> Result<T> {
        self.print_notices_and_stats();
        result
    }

    /// `text` with the secrets of every opened store scrubbed.
    pub fn redact(&self, text: &str) -> String {
        self.opened()
            .iter()
            .fold(text.to_string(), |text, handle| handle.redact(&text))
    }

    /// Writes never go out unsigned: `--anon` refuses them before any
    /// request. The hint names the credentials of the backends `urls` (the
    /// command's arguments) are on.
    pub fn refuse_anon(&self, command: &str, urls: &[&str]) -> Result<()> {
        if !self.access.anon {
            return Ok(());
        }
        let mut words: Vec<&Vocabulary> = Vec::new();
        for url in urls.iter().filter(|url| is_remote_url(url)) {
            // A plain HTTP server takes no writes, with or without --anon.
            if let Ok(location) = Location::parse(url)
                && !matches!(location.backend, Backend::Http { .. })
            {
                let these = backend::vocabulary(&location.backend);
                if !words.iter().any(|w| std::ptr::eq(*w, these)) {
                    words.push(these);
                }
            }
        }
        let hint = match words.as_slice() {
            [] => "drop --anon".to_string(),
            [one] => format!(
                "drop --anon and use credentials: {}",
                one.credentials_advice
            ),
            many => format!(
                "drop --anon and use credentials: {}",
                many.iter()
                    .map(|w| format!("for {} {}", w.scheme, w.credentials_advice))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        Err(Error::new(format!("{command} writes, and --anon never writes")).with_hint(hint))
    }
}

/// Every exit reports what it cost: a command that returns (an error
/// included) before printing its `--stats` line prints it now, before the
/// error itself.
impl Drop for Session<'_> {
    fn drop(&mut self) {
        self.print_stats();
    }
}

/// ... nor when no credentials were found (nor ever to a plain HTTP
/// server, which gets none).
pub(super) fn require_credentials(command: &str, handle: &StoreHandle) -> Result<()> {
    if let Backend::Http { .. } = handle.location.backend {
        return Err(writes_refused(&handle.location.url));
    }
    if handle.anonymous {
        return Err(Error::new(format!(
            "{command} writes to {}, but no credentials were found",
            handle.location.url
        ))
        .with_hint(match handle.location.backend {
            Backend::S3 { .. } => "configure credentials: --profile NAME, AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY".to_string(),
            _ => format!("configure credentials: {}", handle.credentials_advice()),
        }));
    }
    Ok(())
}

/// Notices not shown yet (credentials, a discovered region), unless --quiet.
fn print_notices(handle: &StoreHandle, report: &ReportArgs) {
    for notice in handle.take_notices() {
        if !report.quiet {
            note!("{}", handle.redact(&notice));
        }
    }
}

fn verbose_logger() -> RequestLogger {
    Arc::new(|record| note!("zarrscope: {record}"))
}
