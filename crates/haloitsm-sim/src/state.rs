//! State shared by the HTTP side and `SimControl`: one struct, one lock per concern.
//!
//! Locks are std (never held across an `.await`) and poisoning is ignored: a panic in one
//! request must not turn every later request into a panic too.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::auth::{AuthSettings, TokenStore};
use crate::config::QuirkConfig;
use crate::faults::FaultState;
use crate::rate_limit::SlidingWindow;
use crate::request_log::RequestLog;
use crate::tenant::Tenant;

pub(crate) struct Shared {
    pub auth: AuthSettings,
    /// `http://127.0.0.1:PORT`, used for `web_url` and `auth_url`.
    pub base_url: String,
    pub tenant: RwLock<Tenant>,
    pub tokens: Mutex<TokenStore>,
    pub rate: Mutex<SlidingWindow>,
    pub faults: Mutex<FaultState>,
    /// Swapped whole, so a request sees one consistent set of quirks.
    pub quirks: RwLock<Arc<QuirkConfig>>,
    pub log: Mutex<RequestLog>,
    pub token_requests: AtomicU64,
    pub rate_limited: AtomicU64,
    /// Flips to `true` on shutdown; stalls and latency sleeps wake up on it.
    pub shutdown: watch::Receiver<bool>,
    /// Token expiry and the rate-limit window read this clock, not `Instant::now()`.
    pub clock: SimClock,
}

/// The clock behind token expiry and the rate-limit window: real time, or
/// frozen and moved by hand (`SimControl::freeze_clock`/`advance_clock`), so a
/// test of a window or a lifetime never races the wall clock. Latency and
/// stalls are real sleeps either way (they exercise the client's timers).
#[derive(Debug, Default)]
pub(crate) struct SimClock {
    frozen: Mutex<Option<Instant>>,
}

impl SimClock {
    pub(crate) fn now(&self) -> Instant {
        lock(&self.frozen).unwrap_or_else(Instant::now)
    }

    pub(crate) fn freeze(&self) {
        lock(&self.frozen).get_or_insert_with(Instant::now);
    }

    pub(crate) fn advance(&self, d: Duration) {
        let mut f = lock(&self.frozen);
        *f = Some(f.unwrap_or_else(Instant::now) + d);
    }
}

impl Shared {
    pub(crate) fn quirks(&self) -> Arc<QuirkConfig> {
        read(&self.quirks).clone()
    }

    /// Sleeps `d`, or less if the simulator is shutting down.
    pub(crate) async fn sleep(&self, d: std::time::Duration) {
        if d.is_zero() {
            return;
        }
        let mut rx = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = rx.wait_for(|stop| *stop) => {}
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}
