//! RateBudget: the one request budget toward Halo, shared by everything that
//! talks to it.
//!
//! - **Owns** the pacer (governor GCRA against the configured rolling window),
//!   the in-flight cap, and the shared 429 pause. It is created once per
//!   process (in the pipeline) and handed to the ApiGateway *and* the
//!   TokenManager, so a restarted gateway keeps the same budget (requests still
//!   in flight hold cells and permits of the one budget, never of a second
//!   one), and token requests take their cell from it too: whether Halo counts
//!   them in its window is unknown, so we assume it does.
//! - **Two lanes, one budget.** `Lane::Priority` (provisioning, ticketing,
//!   tokens) goes ahead of `Lane::Bulk` (sync paging):
//!   - a bulk request does not start waiting while a priority request waits
//!     (it yields its turn; after `BULK_MAX_YIELD` it goes anyway, so a steady
//!     stream of priority work cannot starve a sync forever);
//!   - bulk requests pass a second, slower pacer (the budget less
//!     `priority_reserve`), so during a long sync the shared bucket keeps some
//!     burst for priority requests, which then go without waiting;
//!   - bulk requests use at most `max_in_flight − 1` in-flight slots, so one is
//!     always free for priority work.
//! - **Never** sends anything itself and never sleeps on a thread.

use std::num::NonZeroU32;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use tokio::sync::futures::Notified;
use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use super::lane::Lane;
use super::settings::HaloSettings;
use crate::telemetry;

/// A bulk request yields to waiting priority requests for at most this long.
const BULK_MAX_YIELD: Duration = Duration::from_secs(10);

pub struct RateBudget {
    pacer: DefaultDirectRateLimiter,
    /// Bulk requests also pass this one: the budget less the priority reserve.
    bulk_pacer: Option<DefaultDirectRateLimiter>,
    permits: Semaphore,
    bulk_permits: Semaphore,
    pause: Mutex<PauseState>,
    probe_done: Notify,
    priority_waiting: AtomicUsize,
    priority_idle: Notify,
    rate_limited_backoff_initial: Duration,
    rate_limited_backoff_max: Duration,
}

impl std::fmt::Debug for RateBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateBudget")
            .field("available_permits", &self.permits.available_permits())
            .field(
                "priority_waiting",
                &self.priority_waiting.load(Ordering::Relaxed),
            )
            .finish()
    }
}

#[derive(Default)]
struct PauseState {
    blocked_until: Option<Instant>,
    /// 429 pauses since the last success; drives the exponential backoff.
    consecutive: u32,
    /// Set by a 429: when the pause ends, one request probes alone and the
    /// rest wait for its outcome, instead of every waiter hitting a window
    /// that may still be full.
    probing: bool,
    probe_in_flight: bool,
}

/// What `try_enter` decided for a request whose pause is over.
enum Entry<'a> {
    Go,
    Probe(ProbeGuard<'a>),
    Wait(Pin<Box<Notified<'a>>>),
}

/// The one request probing after a pause; dropping it (outcome recorded or
/// the request cancelled) lets the waiters re-check.
pub struct ProbeGuard<'a> {
    budget: &'a RateBudget,
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut p) = self.budget.pause.lock() {
            p.probe_in_flight = false;
        }
        self.budget.probe_done.notify_waiters();
    }
}

/// The right to send one request now: an in-flight slot (held until dropped)
/// and a pacer cell (already spent). Hold it for exactly one attempt.
pub struct Turn<'a> {
    _permit: SemaphorePermit<'a>,
    _bulk_permit: Option<SemaphorePermit<'a>>,
    probe: Option<ProbeGuard<'a>>,
    _inflight: telemetry::api::InflightGuard,
}

impl Turn<'_> {
    /// Whether this request probes alone after a 429 pause.
    pub fn is_probe(&self) -> bool {
        self.probe.is_some()
    }
}

/// Counts a waiting priority request; bulk requests yield while any exist.
struct PriorityWaiting<'a>(&'a RateBudget);

impl Drop for PriorityWaiting<'_> {
    fn drop(&mut self) {
        if self.0.priority_waiting.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.priority_idle.notify_waiters();
        }
    }
}

/// The budget is closed only if the process is shutting down in a way that
/// dropped it, which cannot happen while a caller holds `&self`.
#[derive(Debug, thiserror::Error)]
#[error("rate budget closed")]
pub struct Closed;

impl RateBudget {
    pub fn new(settings: &HaloSettings) -> Self {
        let requests = settings.rate_limit_requests;
        let window = settings.rate_limit_window;
        let reserve = settings.priority_reserve.clamp(0.0, 0.5);
        let bulk_requests = ((f64::from(requests)) * (1.0 - reserve)).floor() as u32;
        let cap = settings.max_in_flight.max(1);
        RateBudget {
            pacer: RateLimiter::direct(pacing_quota(requests, window)),
            bulk_pacer: (bulk_requests < requests)
                .then(|| RateLimiter::direct(pacing_quota(bulk_requests.max(1), window))),
            permits: Semaphore::new(cap),
            // One slot stays free for priority work when there is more than one.
            bulk_permits: Semaphore::new(if cap > 1 { cap - 1 } else { 1 }),
            pause: Mutex::new(PauseState::default()),
            probe_done: Notify::new(),
            priority_waiting: AtomicUsize::new(0),
            priority_idle: Notify::new(),
            rate_limited_backoff_initial: settings.rate_limited_backoff_initial,
            rate_limited_backoff_max: settings.rate_limited_backoff_max,
        }
    }

    /// Wait for the right to send one request in `lane`.
    pub async fn admit(&self, lane: Lane) -> Result<Turn<'_>, Closed> {
        let waiting = match lane {
            Lane::Priority => {
                self.priority_waiting.fetch_add(1, Ordering::AcqRel);
                Some(PriorityWaiting(self))
            }
            Lane::Bulk => {
                self.yield_to_priority().await;
                None
            }
        };
        let bulk_permit = match lane {
            Lane::Bulk => Some(self.bulk_permits.acquire().await.map_err(|_| Closed)?),
            Lane::Priority => None,
        };
        let permit = self.permits.acquire().await.map_err(|_| Closed)?;
        if lane == Lane::Bulk
            && let Some(bulk) = &self.bulk_pacer
        {
            bulk.until_ready().await;
        }
        let probe = self.wait_turn().await;
        drop(waiting);
        Ok(Turn {
            _permit: permit,
            _bulk_permit: bulk_permit,
            probe,
            _inflight: telemetry::api::api_request_started(),
        })
    }

    async fn yield_to_priority(&self) {
        let deadline = tokio::time::Instant::now() + BULK_MAX_YIELD;
        loop {
            let idle = self.priority_idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.priority_waiting.load(Ordering::Acquire) == 0 {
                return;
            }
            if tokio::time::timeout_at(deadline, idle).await.is_err() {
                return;
            }
        }
    }

    /// Wait for any 429 pause to end (and, right after one, for the probe),
    /// then for a pacer cell. A 429 can arrive while we wait for the cell, so
    /// the pause is checked again after it.
    async fn wait_turn(&self) -> Option<ProbeGuard<'_>> {
        let probe = loop {
            self.wait_unpaused().await;
            match self.try_enter() {
                Entry::Go => break None,
                Entry::Probe(guard) => break Some(guard),
                Entry::Wait(notified) => notified.await,
            }
        };
        self.pacer.until_ready().await;
        self.wait_unpaused().await;
        probe
    }

    fn try_enter(&self) -> Entry<'_> {
        // Register for the wake-up *before* looking at the state, so a probe
        // finishing in between cannot be missed.
        let mut notified = Box::pin(self.probe_done.notified());
        notified.as_mut().enable();
        let Ok(mut p) = self.pause.lock() else {
            return Entry::Go;
        };
        if !p.probing {
            Entry::Go
        } else if !p.probe_in_flight {
            p.probe_in_flight = true;
            Entry::Probe(ProbeGuard { budget: self })
        } else {
            Entry::Wait(notified)
        }
    }

    /// Anything but a 429 after a pause means the window has room again.
    pub fn end_probing(&self) {
        if let Ok(mut p) = self.pause.lock() {
            p.probing = false;
        }
    }

    /// A request got through: the 429 escalation starts over.
    pub fn succeeded(&self) {
        if let Ok(mut p) = self.pause.lock() {
            p.consecutive = 0;
        }
    }

    async fn wait_unpaused(&self) {
        loop {
            let until = self.pause.lock().ok().and_then(|p| p.blocked_until);
            match until {
                Some(until) if until > Instant::now() => {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
                }
                _ => return,
            }
        }
    }

    /// Record a 429 and extend the shared pause; returns how long it lasts from now.
    pub fn rate_limited(&self, endpoint: &'static str, retry_after: Option<Duration>) -> Duration {
        let now = Instant::now();
        let Ok(mut p) = self.pause.lock() else {
            return self.rate_limited_backoff_initial;
        };
        // Several requests in flight see the same 429 burst: escalate once per pause.
        if p.blocked_until.is_none_or(|u| u <= now) {
            p.consecutive += 1;
        }
        let mut rng = rand::rng();
        let pause = match retry_after {
            // Honour the server, plus a little spread so waiters do not stampede.
            Some(d) => d + d.mul_f64(rng.random_range(0.0..0.1)),
            None => {
                let base = exponential(
                    self.rate_limited_backoff_initial,
                    self.rate_limited_backoff_max,
                    p.consecutive,
                );
                // Jitter upwards only: a rolling window needs at least `base` to drain.
                (base + base.mul_f64(rng.random_range(0.0..0.25)))
                    .min(self.rate_limited_backoff_max.max(base))
            }
        };
        let until = now + pause;
        let until = p.blocked_until.map_or(until, |u| u.max(until));
        p.blocked_until = Some(until);
        p.probing = true;
        drop(p);
        telemetry::api::api_rate_limited(endpoint, pause, retry_after.is_some());
        until.saturating_duration_since(now)
    }
}

/// GCRA with emission interval T and burst b admits at most b + W/T requests
/// in any window W. Pick b ≈ 10% of the budget and T so that
/// b + W/T = budget − 1: the spare request absorbs the window's boundary
/// (inclusive or not) and network jitter between admission and arrival.
pub fn pacing_quota(requests: u32, window: Duration) -> Quota {
    let budget = requests.max(2);
    let burst = (budget / 10).max(1);
    let sustained = budget.saturating_sub(burst + 1).max(1);
    let period = (window / sustained).max(Duration::from_nanos(1));
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    // with_period only fails on a zero duration, excluded above.
    Quota::with_period(period).map_or_else(|| Quota::per_second(burst), |q| q.allow_burst(burst))
}

/// `initial · 2^(n−1)`, capped at `max`.
pub fn exponential(initial: Duration, max: Duration, n: u32) -> Duration {
    let factor = 2u32.saturating_pow(n.saturating_sub(1).min(20));
    initial.saturating_mul(factor).min(max)
}
