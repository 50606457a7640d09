//! `SimControl`: every run-time switch and inspection, usable from any thread.
//! The admin HTTP API (`admin.rs`) is a thin JSON skin over these same methods.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::config::{FaultConfig, LatencyConfig, QuirkConfig, RateLimitConfig};
use crate::error::SimError;
use crate::faults::Fault;
use crate::hostile::Hostile;
use crate::model::{SimAgent, TenantSnapshot};
use crate::request_log::LoggedRequest;
use crate::state::{Shared, lock, read, write};

#[derive(Clone)]
pub struct SimControl {
    pub(crate) shared: Arc<Shared>,
}

/// The switchable part of the configuration, as it is right now.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RuntimeConfig {
    pub rate_limit: Option<RateLimitConfig>,
    pub latency: LatencyConfig,
    pub faults: FaultConfig,
    pub quirks: QuirkConfig,
}

impl std::fmt::Debug for SimControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimControl")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl SimControl {
    /// `None` turns rate limiting off (and forgets the window's history).
    pub fn set_rate_limit(&self, cfg: Option<RateLimitConfig>) -> Result<(), SimError> {
        if let Some(c) = &cfg {
            c.validate()?;
        }
        lock(&self.shared.rate).set_config(cfg);
        Ok(())
    }

    pub fn set_latency(&self, cfg: LatencyConfig) {
        lock(&self.shared.faults).set_latency(cfg);
    }

    pub fn set_faults(&self, cfg: FaultConfig) -> Result<(), SimError> {
        cfg.validate()?;
        lock(&self.shared.faults).set_config(cfg);
        Ok(())
    }

    pub fn set_quirks(&self, cfg: QuirkConfig) {
        *write(&self.shared.quirks) = Arc::new(cfg);
    }

    pub fn runtime_config(&self) -> RuntimeConfig {
        let faults = lock(&self.shared.faults);
        RuntimeConfig {
            rate_limit: lock(&self.shared.rate).config().cloned(),
            latency: faults.latency_config().clone(),
            faults: faults.config().clone(),
            quirks: (*self.shared.quirks()).clone(),
        }
    }

    /// The next `n` requests (under `path_prefix`, case-insensitive) answer `status`.
    pub fn fail_next(&self, n: u32, status: u16, path_prefix: Option<&str>) {
        lock(&self.shared.faults).script(n, Fault::Fail(status), path_prefix);
    }

    /// The next `n` requests get their connection reset without an answer.
    pub fn reset_next(&self, n: u32, path_prefix: Option<&str>) {
        lock(&self.shared.faults).script(n, Fault::Reset, path_prefix);
    }

    /// The next `n` requests sleep `stall` before being answered normally.
    pub fn stall_next(&self, n: u32, stall: Duration, path_prefix: Option<&str>) {
        lock(&self.shared.faults).script(n, Fault::Stall(stall), path_prefix);
    }

    /// The next `n` requests are handled (writes take effect) and then sleep `stall` before
    /// the answer goes out: a client with a shorter timeout sees a timeout for a write that
    /// happened.
    /// `method: None` matches every method.
    pub fn stall_answer_next(
        &self,
        n: u32,
        stall: Duration,
        method: Option<&str>,
        path_prefix: Option<&str>,
    ) {
        lock(&self.shared.faults).script_method(n, Fault::StallAnswer(stall), method, path_prefix);
    }

    /// The next `n` requests (under `path_prefix`) get a hostile answer: a broken 200
    /// instead of the real one, or the real one edited (see [`Hostile`]).
    pub fn hostile_next(&self, n: u32, hostile: Hostile, path_prefix: Option<&str>) {
        lock(&self.shared.faults).script(n, Fault::Hostile(hostile), path_prefix);
    }

    /// Drops every armed `*_next` fault that has not fired yet.
    pub fn clear_scripted_faults(&self) {
        lock(&self.shared.faults).clear_scripted();
    }

    /// Every token issued so far is rejected from now on (401); clients must re-authenticate.
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).expire_all();
    }

    /// Requests to `POST /auth/token`, successful or not.
    /// Stops the simulator's clock (token expiry, rate-limit window) where it is;
    /// from now on only `advance_clock` moves it. Tests use it to step through a
    /// window or a token lifetime without sleeping.
    pub fn freeze_clock(&self) {
        self.shared.clock.freeze();
    }

    /// Moves the clock forward by `d` (freezing it first if it was running).
    pub fn advance_clock(&self, d: Duration) {
        self.shared.clock.advance(d);
    }

    pub fn token_requests(&self) -> u64 {
        self.shared.token_requests.load(Ordering::Relaxed)
    }

    /// Requests answered 429.
    pub fn rate_limited(&self) -> u64 {
        self.shared.rate_limited.load(Ordering::Relaxed)
    }

    /// Halo-facing requests (not `/_sim`), oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).entries()
    }

    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    pub fn snapshot(&self) -> TenantSnapshot {
        read(&self.shared.tenant).snapshot()
    }

    /// Adds an agent at run time (e.g. between two page requests); returns its new id.
    /// `agent.id` is ignored; team ids and role GUIDs must exist.
    pub fn insert_agent(&self, agent: SimAgent) -> Result<i64, SimError> {
        write(&self.shared.tenant).insert_agent(agent)
    }

    /// Removes an agent at run time; `false` if there was none with that id.
    pub fn delete_agent(&self, id: i64) -> bool {
        write(&self.shared.tenant).delete_agent(id).is_some()
    }

    /// Number of live agents (all classes).
    pub fn agent_count(&self) -> usize {
        read(&self.shared.tenant)
            .agents
            .count(crate::tenant::agent_mask(true, true, true))
    }
}
