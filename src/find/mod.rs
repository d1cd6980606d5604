//! `find`: every dataset under a prefix, from delimited listings and each
//! dataset's own metadata documents, never a chunk.
//!
//! One queue of jobs runs with a bound on the requests in flight for the
//! whole command: listings of directories (each recognised from its own
//! listing, [`classify`]), and each dataset's read as soon as it is found
//! (its one document, or a crawl when it has no consolidated metadata),
//! and the first bytes of each `.json` candidate ([`sniff`]). A dataset
//! root is never listed below, nor past the listing page that showed it.
//!
//! Bounds: each job takes as many slots of the bound on requests in flight
//! as it may have requests in flight — the bound adapts as the crawl's does
//! ([`crate::store::limiter`]): it starts at 128, grows up to
//! `--concurrency` while the store keeps up and is cut when it throttles — and reserves as many requests of `--max-requests`
//! as it may make (a crawl: what is left, up to one crawl's cap) before it
//! starts; what it did not use is returned when it ends. Requests are
//! counted as the store counts them, so the cap holds over every job.

pub mod classify;
mod read;
pub mod sniff;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::future::LocalBoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

use crate::error::Result;
use crate::inventory::{DatasetKind, Metadata, Summary};
use crate::progress::Progress;
use crate::store::StoreHandle;
use crate::store::instrument::RequestStats;
use crate::store::limiter::{Limiter, ThrottleWatch};
use crate::store::listing::{Keys, ObjectInfo, list_directory_until};
use classify::{Directory, Found, Markers, Plan, classify};
use read::{CheckPlan, CrawlPlan, Next, Read};

/// The most requests in flight (the adaptive bound's ceiling): as many as
/// s5cmd's default workers. A bucket of 1,000 small stores three prefix
/// levels down takes about 2,100 requests (a listing per directory, a GET
/// per store); at 256 in flight that is about 9 waves of round trips
/// against the 5 the depth alone needs, where 128 would take 17.
pub const DEFAULT_CONCURRENCY: usize = 256;
/// Where the bound starts: a walk fans out fast (the bound doubles each
/// round trip until the store throttles), without opening at full width
/// on a store that cannot take it.
const START_CONCURRENCY: usize = 128;
/// Requests in all: enough for tens of thousands of stores, a bound on a
/// walk into a bucket of many plain directories.
pub const DEFAULT_MAX_REQUESTS: u64 = 100_000;
/// Requests in flight for one crawl (an unconsolidated store, `--check`).
const CRAWL_WIDTH: usize = 16;
/// The most requests one crawl may take of the cap.
const CRAWL_MAX_REQUESTS: u64 = crate::source::crawl::DEFAULT_MAX_REQUESTS;

pub struct FindOptions {
    /// Requests in flight at once (at least 1).
    pub concurrency: usize,
    /// Requests in all.
    pub max_requests: u64,
    /// Prefix levels below the URL to list; `None`: no limit.
    pub depth: Option<usize>,
    /// Crawl consolidated Zarr stores and compare (`--check`).
    pub check: bool,
    pub progress: Progress,
}

/// What the walk did, for the summary line, the warnings and the exit code.
#[derive(Debug, Default)]
pub struct Walked {
    pub datasets: usize,
    pub directories_listed: usize,
    /// `.json` files looked at that are not reference sets.
    pub not_references: usize,
    /// Directories not listed because of `--depth`.
    pub beyond_depth: usize,
    /// Directories not listed (or not listed to the end) at the cap.
    pub not_listed: usize,
    /// `.json` files not looked at, at the cap.
    pub candidates_not_read: usize,
    /// Datasets found but not (completely) read, at the cap.
    pub not_read: usize,
    pub broken: usize,
    pub stale: usize,
    /// Directories whose listing failed: the inventory may miss datasets.
    pub unlisted: usize,
    /// Whether `--max-requests` stopped anything.
    pub cap_reached: bool,
    pub warnings: Vec<String>,
}

/// Requests reserved by running jobs, against the cap.
struct Ledger {
    cap: u64,
    reserved: AtomicU64,
    stats: Arc<RequestStats>,
}

impl Ledger {
    /// Requests neither made nor reserved.
    fn remaining(&self) -> u64 {
        self.cap.saturating_sub(
            self.stats
                .requests()
                .saturating_add(self.reserved.load(Ordering::SeqCst)),
        )
    }

    fn try_reserve(&self, n: u64) -> bool {
        let mut reserved = self.reserved.load(Ordering::SeqCst);
        loop {
            if self
                .stats
                .requests()
                .saturating_add(reserved)
                .saturating_add(n)
                > self.cap
            {
                return false;
            }
            match self.reserved.compare_exchange(
                reserved,
                reserved + n,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => reserved = now,
            }
        }
    }

    fn release(&self, n: u64) {
        self.reserved.fetch_sub(n, Ordering::SeqCst);
    }
}

enum Job {
    List { dir: String, depth: usize },
    Read(Found),
    Sniff(ObjectInfo),
    Reference(ObjectInfo),
    Crawl(Box<CrawlPlan>),
    Check(Box<CheckPlan>),
}

impl Job {
    /// Requests it may have in flight at once.
    fn width(&self, concurrency: usize) -> usize {
        let width = match self {
            Job::Read(Found {
                plan: Plan::LoneArrayV2 { zattrs: true },
                ..
            }) => 2,
            Job::Crawl(_) | Job::Check(_) => CRAWL_WIDTH,
            _ => 1,
        };
        width.min(concurrency.max(1))
    }

    /// Requests to reserve before it starts (`None`: not enough are left).
    fn cost(&self, ledger: &Ledger) -> Option<u64> {
        let fixed = match self {
            Job::Read(Found {
                plan: Plan::Icechunk { .. } | Plan::LoneArrayV2 { zattrs: true },
                ..
            }) => 2,
            // A crawl takes what is left, up to its own cap; it needs its
            // first documents (v2: .zgroup and .zattrs; --check: the root's
            // three documents and its listing, at once).
            Job::Crawl(_) | Job::Check(_) => {
                let least = if matches!(self, Job::Check(_)) { 4 } else { 2 };
                let take = ledger.remaining().min(CRAWL_MAX_REQUESTS);
                return (take >= least && ledger.try_reserve(take)).then_some(take);
            }
            _ => 1,
        };
        ledger.try_reserve(fixed).then_some(fixed)
    }
}

enum Outcome {
    Listed {
        dir: String,
        depth: usize,
        listing: object_store::Result<(Keys, bool)>,
        /// Whether it stopped because the cap allowed no further page.
        capped: bool,
    },
    Next(Next),
    Sniffed {
        object: ObjectInfo,
        reference: Result<bool>,
    },
    Done(Read),
}

struct Walk<'a> {
    root: &'a StoreHandle,
    options: &'a FindOptions,
    ledger: Arc<Ledger>,
    listings: VecDeque<Job>,
    reads: VecDeque<Job>,
    walked: Walked,
}

/// Walk the location of `root` and read every dataset found; `emit` gets
/// each dataset's summary as soon as it is read. An error only when the
/// location itself cannot be listed.
pub async fn find(
    root: &StoreHandle,
    options: &FindOptions,
    emit: &mut dyn FnMut(&Summary),
) -> Result<Walked> {
    let ledger = Arc::new(Ledger {
        cap: options.max_requests,
        reserved: AtomicU64::new(0),
        stats: Arc::clone(&root.stats),
    });
    let mut walk = Walk {
        root,
        options,
        ledger,
        listings: VecDeque::new(),
        reads: VecDeque::new(),
        walked: Walked::default(),
    };
    walk.listings.push_back(Job::List {
        dir: root.location.prefix.clone(),
        depth: 0,
    });
    walk.run(emit).await?;
    options.progress.finish();
    Ok(walk.walked)
}

impl<'a> Walk<'a> {
    async fn run(&mut self, emit: &mut dyn FnMut(&Summary)) -> Result<()> {
        let ceiling = self.options.concurrency.max(1);
        // The crawl's adaptive bound: up to --concurrency while the store
        // keeps up, cut with jitter when it throttles (503, 429).
        let mut limiter = Limiter::new(START_CONCURRENCY.min(ceiling), ceiling);
        let mut throttles = ThrottleWatch::new(&self.root.stats);
        let mut in_flight: FuturesUnordered<LocalBoxFuture<'a, (usize, u64, Outcome)>> =
            FuturesUnordered::new();
        let mut slots_used = 0usize;
        loop {
            // Start what the bounds allow: listings first, since they find
            // the rest of the work.
            loop {
                let queue = if self.listings.is_empty() {
                    &mut self.reads
                } else {
                    &mut self.listings
                };
                let Some(job) = queue.front() else { break };
                let bound = limiter.limit();
                let width = job.width(bound);
                if slots_used > 0 && slots_used + width > bound {
                    break;
                }
                let Some(cost) = job.cost(&self.ledger) else {
                    break;
                };
                let Some(job) = queue.pop_front() else { break };
                slots_used += width;
                in_flight.push(self.start(job, width, cost));
            }
            let Some((width, reserved, outcome)) = in_flight.next().await else {
                break;
            };
            // In flight when it answered, itself included.
            if throttles.throttled_since() {
                limiter.throttled(slots_used);
            } else {
                limiter.succeeded(slots_used);
            }
            slots_used -= width;
            self.ledger.release(reserved);
            self.handle(outcome, emit)?;
            self.options.progress.message(format!(
                "find: {} datasets, {} directories listed, {} requests",
                self.walked.datasets,
                self.walked.directories_listed,
                self.root.stats.requests()
            ));
        }
        // Work left means the cap stopped it.
        if !self.listings.is_empty() || !self.reads.is_empty() {
            self.walked.cap_reached = true;
            for job in std::mem::take(&mut self.listings)
                .into_iter()
                .chain(std::mem::take(&mut self.reads))
            {
                self.not_started(job, emit);
            }
        }
        // Warnings arrive as requests complete: sorted, the output is the
        // same from one run to the next.
        self.walked.warnings.sort();
        Ok(())
    }

    /// A job's future, which returns its slots and reservation with its
    /// outcome.
    fn start(
        &self,
        job: Job,
        width: usize,
        cost: u64,
    ) -> LocalBoxFuture<'a, (usize, u64, Outcome)> {
        let root = self.root;
        let check = self.options.check;
        let ledger = Arc::clone(&self.ledger);
        Box::pin(async move {
            let (more_pages, outcome) = match job {
                Job::List { dir, depth } => {
                    let mut markers = Markers::default();
                    let mut extra_pages = 0;
                    let mut capped = false;
                    let listing = list_directory_until(root, &dir, &mut |page| {
                        markers.add(&dir, page);
                        // Never a second page of a dataset root.
                        if markers.dataset() {
                            return true;
                        }
                        if ledger.try_reserve(1) {
                            extra_pages += 1;
                            false
                        } else {
                            capped = true;
                            true
                        }
                    })
                    .await;
                    (
                        extra_pages,
                        Outcome::Listed {
                            dir,
                            depth,
                            listing,
                            capped,
                        },
                    )
                }
                Job::Read(found) => {
                    let ms = root.at(&found.prefix);
                    (
                        0,
                        Outcome::Next(read::read(&ms, &found, check, width).await),
                    )
                }
                Job::Sniff(object) => {
                    let reference = sniff::is_reference_set(root, &object).await;
                    (0, Outcome::Sniffed { object, reference })
                }
                Job::Reference(object) => {
                    (0, Outcome::Done(read::reference_file(root, &object).await))
                }
                Job::Crawl(plan) => {
                    let ms = root.at(&plan.prefix);
                    (
                        0,
                        Outcome::Done(read::crawl_group(&ms, &plan, width, cost).await),
                    )
                }
                Job::Check(plan) => {
                    let ms = root.at(&plan.prefix);
                    (0, Outcome::Done(read::check(&ms, *plan, width, cost).await))
                }
            };
            (width, cost + more_pages, outcome)
        })
    }

    fn handle(&mut self, outcome: Outcome, emit: &mut dyn FnMut(&Summary)) -> Result<()> {
        match outcome {
            Outcome::Listed {
                dir,
                depth,
                listing,
                capped,
            } => {
                let url = self.root.location.url_of(&dir);
                let (keys, stopped) = match listing {
                    Ok(listed) => listed,
                    // The location itself: nothing to walk, say why.
                    Err(e) if depth == 0 => return Err(self.root.explain_url(&url, &e)),
                    Err(e) => {
                        self.walked.unlisted += 1;
                        self.walked.warnings.push(format!(
                            "{} (its datasets, if any, are not in this inventory)",
                            self.root.explain_url(&url, &e).message()
                        ));
                        return Ok(());
                    }
                };
                self.walked.directories_listed += 1;
                if capped {
                    self.walked.cap_reached = true;
                    self.walked.not_listed += 1;
                }
                match classify(&dir, keys, !stopped) {
                    Directory::Dataset(found) => {
                        let job = match found.plan {
                            Plan::GroupV2 { zattrs } => Job::Crawl(Box::new(CrawlPlan {
                                prefix: found.prefix,
                                last_modified: found.last_modified,
                                zarr_json: None,
                                zattrs,
                                children: found.children,
                            })),
                            _ => Job::Read(found),
                        };
                        self.reads.push_back(job);
                    }
                    Directory::Plain {
                        subdirectories,
                        candidates,
                    } => {
                        let deeper = self.options.depth.is_none_or(|max| depth < max);
                        for sub in subdirectories {
                            if deeper {
                                self.listings.push_back(Job::List {
                                    dir: sub,
                                    depth: depth + 1,
                                });
                            } else {
                                self.walked.beyond_depth += 1;
                            }
                        }
                        self.reads.extend(candidates.into_iter().map(Job::Sniff));
                    }
                }
            }
            Outcome::Next(Next::Done(read)) => self.done(read, emit),
            Outcome::Next(Next::Crawl(plan)) => self.reads.push_back(Job::Crawl(plan)),
            Outcome::Next(Next::Check(plan)) => self.reads.push_back(Job::Check(plan)),
            Outcome::Sniffed { object, reference } => match reference {
                Ok(true) => self.reads.push_back(Job::Reference(object)),
                Ok(false) => self.walked.not_references += 1,
                Err(e) => {
                    self.walked.not_references += 1;
                    self.walked.warnings.push(format!(
                        "{} (skipped: not known to be a reference set)",
                        e.message()
                    ));
                }
            },
            Outcome::Done(read) => self.done(read, emit),
        }
        Ok(())
    }

    /// A dataset read (or not): its line out, its warnings kept.
    fn done(&mut self, read: Read, emit: &mut dyn FnMut(&Summary)) {
        let summary = &read.summary;
        self.walked.datasets += 1;
        if read.capped {
            self.walked.cap_reached = true;
            self.walked.not_read += 1;
        } else if summary.error.is_some() {
            self.walked.broken += 1;
        }
        if summary.metadata == Some(Metadata::Stale) {
            self.walked.stale += 1;
        }
        for warning in &read.warnings {
            let warning = self.root.redact(warning);
            self.walked
                .warnings
                .push(if warning.contains(&summary.url) {
                    warning
                } else {
                    format!("{}: {warning}", summary.url)
                });
        }
        emit(summary);
    }

    /// A job the cap left unstarted: a dataset found is still listed, with
    /// what the listing showed.
    fn not_started(&mut self, job: Job, emit: &mut dyn FnMut(&Summary)) {
        let url_of = |prefix: &str| self.root.location.url_of(prefix);
        let read = match job {
            Job::List { .. } => {
                self.walked.not_listed += 1;
                return;
            }
            Job::Sniff(_) => {
                self.walked.candidates_not_read += 1;
                return;
            }
            Job::Read(found) => Read::not_read(
                url_of(&found.prefix),
                read::kind_of(&found.plan),
                found.last_modified,
            ),
            Job::Reference(object) => Read::not_read(
                url_of(&object.key),
                DatasetKind::KerchunkJson,
                Some(object.last_modified),
            ),
            Job::Crawl(plan) => {
                Read::not_read(url_of(&plan.prefix), DatasetKind::Zarr, plan.last_modified)
            }
            Job::Check(plan) => {
                let mut read = plan.read;
                read.capped = true;
                read.warnings
                    .push("not checked: the request cap was reached first".into());
                read
            }
        };
        self.done(read, emit);
    }
}
