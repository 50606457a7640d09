//! Helpers shared by the `halo_*` integration tests: a simulator on 127.0.0.1:0 and client
//! settings tuned for fast tests (tiny backoffs, no pacing unless a test asks for it).
#![allow(dead_code)] // each test crate uses a different subset

use std::future::Future;
use std::time::Duration;

use baton_haloitsm::halo::HaloSettings;
use haloitsm_sim::{SimConfig, SimHandle};

pub const SECRET: &str = "sim-secret";

pub async fn sim(cfg: SimConfig) -> SimHandle {
    SimHandle::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

/// Settings for `sim`: effectively unpaced, short timeouts and backoffs.
pub fn settings(sim: &SimHandle) -> HaloSettings {
    HaloSettings {
        base_url: sim.base_url().parse().unwrap(),
        client_id: "sim-client".into(),
        client_secret: SECRET.into(),
        rate_limit_requests: 100_000,
        rate_limit_window: Duration::from_secs(1),
        max_in_flight: 16,
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_attempts: 4,
        max_retry_elapsed: Duration::from_secs(15),
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        rate_limited_backoff_initial: Duration::from_millis(200),
        rate_limited_backoff_max: Duration::from_secs(1),
        ..HaloSettings::default()
    }
}

/// A hang guard, not a speed limit: a test that hangs fails instead of
/// stalling CI, and a slow or busy machine never fails a test. `_typical_secs`
/// documents what the test usually takes; the guard is the same for all.
pub async fn bounded<F: Future>(_typical_secs: u64, fut: F) -> F::Output {
    tokio::time::timeout(HANG_GUARD, fut)
        .await
        .expect("test hung (no progress for 10 minutes)")
}

pub const HANG_GUARD: Duration = Duration::from_secs(600);

/// Tests in one file share the process-wide metrics; the ones asserting exact metric
/// deltas take this lock so their deltas are theirs alone.
pub static METRICS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Requests the simulator saw with this method under this path prefix (case-insensitive).
pub fn count_requests(sim: &SimHandle, method: &str, prefix: &str) -> usize {
    sim.control()
        .requests()
        .iter()
        .filter(|r| {
            r.method == method
                && r.path
                    .to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
        })
        .count()
}

pub fn count_status(sim: &SimHandle, status: u16) -> usize {
    sim.control()
        .requests()
        .iter()
        .filter(|r| r.status == status)
        .count()
}
