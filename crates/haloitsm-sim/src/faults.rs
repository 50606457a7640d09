//! Which fault (if any) hits a request: scripted ones first, then seeded random ones.
//!
//! Scripted faults ("fail the next 3 requests under /api/Agent with 503") make tests exact;
//! random rates model a flaky network for soak runs and benches, reproducibly per seed.

use std::collections::VecDeque;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::config::{FaultConfig, LatencyConfig};
use crate::hostile::Hostile;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fault {
    /// Answer with this status and an error body in the configured style.
    Fail(u16),
    /// Close the connection without answering.
    Reset,
    /// Sleep this long, then answer normally.
    Stall(Duration),
    /// Handle the request (a write takes effect), then sleep this long before answering:
    /// "Halo accepted it but the answer was lost" once the client has timed out.
    StallAnswer(Duration),
    /// Answer with a hostile 200, or edit the real answer (`hostile.rs`).
    Hostile(Hostile),
}

#[derive(Debug)]
struct Scripted {
    fault: Fault,
    remaining: u32,
    /// Lower-cased path prefix; `None` matches every request.
    prefix: Option<String>,
    /// Upper-cased HTTP method; `None` matches every method.
    method: Option<String>,
}

#[derive(Debug)]
pub(crate) struct FaultState {
    cfg: FaultConfig,
    latency: LatencyConfig,
    rng: StdRng,
    scripted: VecDeque<Scripted>,
}

/// Keeps the fault stream independent of the data generator's stream for the same seed.
const FAULT_SEED_SALT: u64 = 0x5eed_fa17_0000_0001;

impl FaultState {
    pub(crate) fn new(seed: u64, cfg: FaultConfig, latency: LatencyConfig) -> Self {
        Self {
            cfg,
            latency,
            rng: StdRng::seed_from_u64(seed ^ FAULT_SEED_SALT),
            scripted: VecDeque::new(),
        }
    }

    pub(crate) fn config(&self) -> &FaultConfig {
        &self.cfg
    }

    pub(crate) fn set_config(&mut self, cfg: FaultConfig) {
        self.cfg = cfg;
    }

    pub(crate) fn latency_config(&self) -> &LatencyConfig {
        &self.latency
    }

    pub(crate) fn set_latency(&mut self, latency: LatencyConfig) {
        self.latency = latency;
    }

    /// Arms `fault` for the next `n` requests whose path starts with `prefix`.
    pub(crate) fn script(&mut self, n: u32, fault: Fault, prefix: Option<&str>) {
        self.script_method(n, fault, None, prefix);
    }

    /// Like `script`, only for requests with this method (`POST` to `/api/Tickets`, say,
    /// while `GET /api/Tickets` goes through untouched).
    pub(crate) fn script_method(
        &mut self,
        n: u32,
        fault: Fault,
        method: Option<&str>,
        prefix: Option<&str>,
    ) {
        if n == 0 {
            return;
        }
        self.scripted.push_back(Scripted {
            fault,
            remaining: n,
            prefix: prefix.map(str::to_ascii_lowercase),
            method: method.map(str::to_ascii_uppercase),
        });
    }

    pub(crate) fn clear_scripted(&mut self) {
        self.scripted.clear();
    }

    /// Delay to add to this request.
    pub(crate) fn latency(&mut self) -> Duration {
        let LatencyConfig { fixed, jitter } = self.latency;
        if jitter.is_zero() {
            return fixed;
        }
        let extra = self.rng.random_range(0..=jitter.as_micros() as u64);
        fixed + Duration::from_micros(extra)
    }

    /// Decides this request's fault. Consumes one scripted entry if one applies.
    pub(crate) fn decide(&mut self, method: &str, path: &str) -> Option<Fault> {
        let lower = path.to_ascii_lowercase();
        let hit = self.scripted.iter().position(|s| {
            s.prefix.as_deref().is_none_or(|p| lower.starts_with(p))
                && s.method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
        });
        if let Some(i) = hit {
            let entry = &mut self.scripted[i];
            let fault = entry.fault.clone();
            entry.remaining -= 1;
            if entry.remaining == 0 {
                self.scripted.remove(i);
            }
            return Some(fault);
        }
        let cfg = &self.cfg;
        let in_scope = cfg
            .path_prefix
            .as_deref()
            .is_none_or(|p| lower.starts_with(&p.to_ascii_lowercase()));
        if !in_scope {
            return None;
        }
        // `x < rate` instead of `random_bool(rate)`: never panics, whatever the rate.
        if self.rng.random::<f64>() < cfg.reset_rate {
            return Some(Fault::Reset);
        }
        if self.rng.random::<f64>() < cfg.stall_rate {
            return Some(Fault::Stall(cfg.stall));
        }
        if !cfg.error_statuses.is_empty() && self.rng.random::<f64>() < cfg.error_rate {
            let i = self.rng.random_range(0..cfg.error_statuses.len());
            return Some(Fault::Fail(cfg.error_statuses[i]));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_faults_apply_in_order_and_by_prefix() {
        let mut f = FaultState::new(1, FaultConfig::default(), LatencyConfig::default());
        f.script(2, Fault::Fail(503), Some("/api/agent"));
        f.script(1, Fault::Reset, None);
        assert_eq!(f.decide("GET", "/api/Team"), Some(Fault::Reset));
        assert_eq!(f.decide("GET", "/api/Team"), None);
        assert_eq!(f.decide("GET", "/api/Agent"), Some(Fault::Fail(503)));
        assert_eq!(f.decide("GET", "/API/AGENT/3"), Some(Fault::Fail(503)));
        assert_eq!(f.decide("GET", "/api/Agent"), None);
        f.script_method(1, Fault::Reset, Some("post"), Some("/api/tickets"));
        assert_eq!(f.decide("GET", "/api/Tickets"), None);
        assert_eq!(f.decide("POST", "/api/Tickets"), Some(Fault::Reset));
    }

    #[test]
    fn random_rates_are_seeded() {
        let cfg = FaultConfig {
            error_rate: 0.3,
            ..FaultConfig::default()
        };
        let run = |seed| {
            let mut f = FaultState::new(seed, cfg.clone(), LatencyConfig::default());
            (0..200)
                .map(|_| f.decide("GET", "/api/Agent"))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        let hits = run(7).iter().filter(|x| x.is_some()).count();
        assert!((30..90).contains(&hits), "{hits}");
    }
}
