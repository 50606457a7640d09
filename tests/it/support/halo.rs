//! HaloClient settings for a simulator (unpaced, short timeouts and backoffs), and the
//! hang guard the `halo_*` tests run under.

use std::future::Future;
use std::time::Duration;

use baton_haloitsm::halo::HaloSettings;
use haloitsm_sim::SimHandle;

pub const SECRET: &str = "sim-secret";

/// The simulator's credentials, no pacing (the simulator has no rate limit unless a test
/// sets one), every other setting at its default.
pub fn unpaced(sim: &SimHandle) -> HaloSettings {
    super::leaks::capture_in_process_logs();
    HaloSettings {
        base_url: sim.base_url().parse().unwrap(),
        client_id: "sim-client".into(),
        client_secret: SECRET.into(),
        rate_limit_requests: 100_000,
        rate_limit_window: Duration::from_secs(1),
        ..HaloSettings::default()
    }
}

/// `unpaced`, with short timeouts and backoffs so that retries take no time.
pub fn settings(sim: &SimHandle) -> HaloSettings {
    super::leaks::capture_in_process_logs();
    HaloSettings {
        max_in_flight: 16,
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(2),
        max_attempts: 4,
        max_retry_elapsed: Duration::from_secs(15),
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(100),
        rate_limited_backoff_initial: Duration::from_millis(200),
        rate_limited_backoff_max: Duration::from_secs(1),
        ..unpaced(sim)
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
