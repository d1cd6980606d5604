//! How many requests a walk of many keys (the crawl; `find`) keeps in flight:
//! additive increase, multiplicative decrease (AIMD), as TCP and the AWS
//! SDKs' adaptive retry mode do, so a store that throttles is slowed down
//! to what it serves instead of having every request retried until the
//! retry budget is gone.
//!
//! - It starts at `start` and never goes past `ceiling` (`--concurrency`)
//!   or below 1.
//! - Until the first throttle, each success adds 1 (the bound doubles each
//!   round trip, "slow start"); after one, each success adds 1/limit (one
//!   more per round trip). Only a success while at least half the bound was
//!   in use counts: a walk waiting for its next listing has not tried the
//!   bound, so it must not grow it.
//! - A throttle (503 SlowDown / ServiceUnavailable, 429; [`ThrottleWatch`]
//!   sees them, retried attempts included) multiplies the bound by a random
//!   factor in [0.4, 0.6): halved, with jitter, so that clients throttled
//!   together do not come back together (S3's advice for 503 SlowDown).
//!   The requests already out when it was lowered were sent under the old
//!   bound: their throttles do not lower it again until as many requests
//!   as the new bound have answered (about once per round trip).
//!
//! The type is plain state: the caller says what happened. It holds no
//! clock and no lock, so it is tested alone.

use std::sync::Arc;

use super::instrument::RequestStats;

/// The share of the bound kept on a throttle: [`DECREASE_LOW`] + up to
/// [`DECREASE_SPREAD`].
const DECREASE_LOW: f64 = 0.4;
const DECREASE_SPREAD: f64 = 0.2;

pub struct Limiter {
    limit: f64,
    ceiling: usize,
    /// No throttle seen yet: grow by 1 per success.
    slow_start: bool,
    /// Completions to see before a throttle may lower the bound again.
    deaf_for: usize,
    /// For the jitter.
    random: fastrand::Rng,
}

impl Limiter {
    /// A bound starting at `start` (at most `ceiling`), seeded at random.
    pub fn new(start: usize, ceiling: usize) -> Self {
        Self::with_rng(start, ceiling, fastrand::Rng::new())
    }

    /// As [`Limiter::new`], with the jitter's seed given (tests).
    pub fn seeded(start: usize, ceiling: usize, seed: u64) -> Self {
        Self::with_rng(start, ceiling, fastrand::Rng::with_seed(seed))
    }

    fn with_rng(start: usize, ceiling: usize, random: fastrand::Rng) -> Self {
        let ceiling = ceiling.max(1);
        Self {
            limit: start.clamp(1, ceiling) as f64,
            ceiling,
            slow_start: true,
            deaf_for: 0,
            random,
        }
    }

    /// Requests that may be in flight now.
    pub fn limit(&self) -> usize {
        (self.limit as usize).clamp(1, self.ceiling)
    }

    pub fn ceiling(&self) -> usize {
        self.ceiling
    }

    /// A request answered without throttling; `in_flight` were out when it
    /// did (itself included).
    pub fn succeeded(&mut self, in_flight: usize) {
        self.completed();
        if in_flight * 2 < self.limit() {
            return;
        }
        let step = if self.slow_start {
            1.0
        } else {
            1.0 / self.limit
        };
        self.limit = (self.limit + step).min(self.ceiling as f64);
    }

    /// A request answered with an error that is not throttling.
    pub fn failed(&mut self) {
        self.completed();
    }

    /// The store throttled (once or more since the last call); `in_flight`
    /// requests are out now.
    pub fn throttled(&mut self, in_flight: usize) {
        self.slow_start = false;
        if self.deaf_for > 0 {
            return;
        }
        let factor = DECREASE_LOW + DECREASE_SPREAD * self.random.f64();
        self.limit = (self.limit * factor).max(1.0);
        // Until a window at the new bound has answered; no longer, or a
        // bound still too high would stay until all the old one drained.
        self.deaf_for = in_flight.min(self.limit());
    }

    fn completed(&mut self) {
        self.deaf_for = self.deaf_for.saturating_sub(1);
    }
}

/// A random factor in [0.5, 1.0), for a retry's backoff ("equal jitter").
pub fn jitter_factor() -> f64 {
    0.5 + 0.5 * fastrand::f64()
}

/// Whether an HTTP status is the store asking to slow down: 503 (S3's
/// SlowDown and ServiceUnavailable, Azure's ServerBusy, GCS) or 429.
pub fn is_throttling(status: u16) -> bool {
    status == 503 || status == 429
}

/// New throttling answers in a command's counters since the last look.
pub struct ThrottleWatch {
    stats: Arc<RequestStats>,
    seen: u64,
}

impl ThrottleWatch {
    pub fn new(stats: &Arc<RequestStats>) -> Self {
        Self {
            stats: Arc::clone(stats),
            seen: stats.throttled(),
        }
    }

    /// Whether a throttling answer came since the last call.
    pub fn throttled_since(&mut self) -> bool {
        let now = self.stats.throttled();
        let new = now > self.seen;
        self.seen = now;
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` successes with the bound in full use.
    fn succeed(limiter: &mut Limiter, n: usize) {
        for _ in 0..n {
            let busy = limiter.limit();
            limiter.succeeded(busy);
        }
    }

    #[test]
    fn it_starts_at_start_within_one_and_the_ceiling() {
        assert_eq!(Limiter::seeded(64, 256, 1).limit(), 64);
        assert_eq!(Limiter::seeded(64, 16, 1).limit(), 16);
        assert_eq!(Limiter::seeded(0, 16, 1).limit(), 1);
        assert_eq!(Limiter::seeded(4, 0, 1).limit(), 1);
    }

    #[test]
    fn it_doubles_per_round_trip_until_a_throttle_then_grows_by_one() {
        let mut limiter = Limiter::seeded(8, 1000, 1);
        succeed(&mut limiter, 8);
        assert_eq!(limiter.limit(), 16);
        succeed(&mut limiter, 16);
        assert_eq!(limiter.limit(), 32);
        limiter.throttled(32);
        let after = limiter.limit();
        // The throttled round trip's own answers come back.
        for _ in 0..32 {
            limiter.failed();
        }
        succeed(&mut limiter, after + 1);
        assert_eq!(limiter.limit(), after + 1, "one more per round trip");
    }

    #[test]
    fn it_does_not_grow_while_the_bound_is_not_in_use() {
        let mut limiter = Limiter::seeded(64, 1000, 1);
        for _ in 0..1000 {
            limiter.succeeded(3);
        }
        assert_eq!(limiter.limit(), 64);
    }

    #[test]
    fn it_stops_at_the_ceiling() {
        let mut limiter = Limiter::seeded(64, 100, 1);
        succeed(&mut limiter, 10_000);
        assert_eq!(limiter.limit(), 100);
    }

    #[test]
    fn a_throttle_halves_with_jitter_once_per_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..50 {
            let mut limiter = Limiter::seeded(100, 1000, seed);
            limiter.throttled(100);
            let halved = limiter.limit();
            assert!((40..60).contains(&halved), "{halved}");
            seen.insert(halved);
            // More 503s while a window at the new bound answers: no change.
            for _ in 0..halved - 1 {
                limiter.failed();
                limiter.throttled(100);
            }
            assert_eq!(limiter.limit(), halved);
            // The next round trip's throttle counts.
            limiter.failed();
            limiter.throttled(halved);
            assert!(limiter.limit() < halved, "{} {halved}", limiter.limit());
        }
        assert!(seen.len() > 5, "jitter: {seen:?}");
    }

    #[test]
    fn it_never_goes_below_one() {
        let mut limiter = Limiter::seeded(16, 16, 7);
        for _ in 0..100 {
            limiter.throttled(0);
        }
        assert_eq!(limiter.limit(), 1);
        succeed(&mut limiter, 1);
        assert_eq!(limiter.limit(), 2, "and grows back from 1");
    }

    #[test]
    fn a_watch_sees_new_throttles_only() {
        let stats = Arc::new(RequestStats::default());
        stats.record_throttled();
        let mut watch = ThrottleWatch::new(&stats);
        assert!(!watch.throttled_since());
        stats.record_throttled();
        stats.record_throttled();
        assert!(watch.throttled_since());
        assert!(!watch.throttled_since());
    }
}
