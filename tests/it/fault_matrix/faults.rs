//! The faults of the matrix: what each one configures in the simulator, arms before the
//! sync, and does while the sync runs.

use std::time::Duration;

use haloitsm_sim::{FaultConfig, LatencyConfig, RateLimitConfig, SimConfig, SimControl};

use crate::support::env_or;
/// Per-request timeout of the sync under test; the latency fault stalls past it.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Fault {
    None,
    RateLimitStorm,
    ServerErrors,
    ConnectionResets,
    LatencyPastTimeout,
    ShortLivedTokens,
    TokenEndpointDown,
    InsertDeleteBetweenPages,
    InsertDeleteBalanced,
    DiskFull,
}

pub(super) const FAULTS: [Fault; 9] = [
    Fault::ServerErrors,
    Fault::ConnectionResets,
    Fault::RateLimitStorm,
    Fault::LatencyPastTimeout,
    Fault::ShortLivedTokens,
    Fault::TokenEndpointDown,
    Fault::InsertDeleteBetweenPages,
    Fault::InsertDeleteBalanced,
    Fault::DiskFull,
];

pub(super) struct Sizes {
    pub(super) agents: usize,
    pub(super) seed: u64,
    pub(super) token_outage: Duration,
}

pub(super) fn sizes() -> Sizes {
    let full = std::env::var("FAULT_MATRIX_FULL").is_ok_and(|v| v == "1");
    Sizes {
        agents: env_or("FAULT_MATRIX_AGENTS", 1_000) as usize,
        // The random faults' draws are a function of the seed alone (no path filter), so
        // this one makes the short CI run meet both a 5xx and a reset.
        seed: env_or("FAULT_MATRIX_SEED", 1),
        token_outage: Duration::from_secs(if full { 30 } else { 3 }),
    }
}

impl Fault {
    pub(super) fn describe(self, s: &Sizes) -> String {
        match self {
            Fault::None => "none (fault-free)".into(),
            Fault::RateLimitStorm => {
                "429 storms: Halo's rolling window admits 10 per 2 s, no Retry-After; client unpaced".into()
            }
            Fault::ServerErrors => "10% of requests answer 500/502/503/504 (seeded)".into(),
            Fault::ConnectionResets => "10% of requests get their connection reset (seeded)".into(),
            Fault::LatencyPastTimeout => format!(
                "3 agent-page requests stall {}s, past the {}s request timeout",
                2 * REQUEST_TIMEOUT.as_secs(),
                REQUEST_TIMEOUT.as_secs()
            ),
            Fault::ShortLivedTokens => {
                "token lifetime 3 s, and every token revoked every 3 s (401s)".into()
            }
            Fault::TokenEndpointDown => format!(
                "token endpoint answers 503 for the first {} s",
                s.token_outage.as_secs()
            ),
            Fault::InsertDeleteBetweenPages => {
                "once agent page 3 is requested: 3 agents inserted, 1 read and 1 unread deleted".into()
            }
            Fault::InsertDeleteBalanced => {
                "once agent page 3 is requested: 1 agent inserted, 1 read deleted (counts unchanged)".into()
            }
            Fault::DiskFull => {
                "output disk full: 4x the snapshot's size, less than its working database".into()
            }
        }
    }

    pub(super) fn sim_config(self, s: &Sizes) -> SimConfig {
        let mut cfg = SimConfig {
            seed: s.seed,
            agents: s.agents,
            teams: 25,
            roles: 8,
            users: 0,
            latency: LatencyConfig {
                fixed: Duration::from_millis(5),
                jitter: Duration::ZERO,
            },
            ..SimConfig::default()
        };
        match self {
            Fault::RateLimitStorm => {
                cfg.rate_limit = Some(RateLimitConfig {
                    requests: 10,
                    window: Duration::from_secs(2),
                    retry_after: false,
                })
            }
            Fault::ServerErrors => {
                cfg.faults = FaultConfig {
                    error_rate: 0.1,
                    ..FaultConfig::default()
                }
            }
            Fault::ConnectionResets => {
                cfg.faults = FaultConfig {
                    reset_rate: 0.1,
                    ..FaultConfig::default()
                }
            }
            Fault::ShortLivedTokens => cfg.token_lifetime = Duration::from_secs(3),
            _ => {}
        }
        cfg
    }

    /// Scripted faults armed before the sync starts.
    pub(super) fn arm(self, ctl: &SimControl) {
        match self {
            Fault::LatencyPastTimeout => ctl.stall_next(3, 2 * REQUEST_TIMEOUT, Some("/api/Agent")),
            Fault::TokenEndpointDown => ctl.fail_next(u32::MAX, 503, Some("/auth/token")),
            _ => {}
        }
    }
}

/// What a fault does while the sync runs, polled every few milliseconds.
#[derive(Default)]
pub(super) struct Driver {
    pub(super) done: bool,
    pub(super) next_revoke: Duration,
    /// Agents inserted or deleted while the sync ran.
    pub(super) changed: Vec<i64>,
}

impl Driver {
    pub(super) fn tick(&mut self, fault: Fault, s: &Sizes, ctl: &SimControl, elapsed: Duration) {
        match fault {
            // Revoked first while agent page 2 waits in the sim (its auth check comes
            // after the latency, so it gets a 401), then every 3 s.
            Fault::ShortLivedTokens => {
                let due = if self.done {
                    elapsed >= self.next_revoke
                } else {
                    agent_page_seen(ctl, 2)
                };
                if due {
                    ctl.expire_tokens();
                    self.done = true;
                    self.next_revoke = elapsed + Duration::from_secs(3);
                }
            }
            Fault::TokenEndpointDown if !self.done && elapsed >= s.token_outage => {
                ctl.clear_scripted_faults();
                self.done = true;
            }
            // The sim logs a request on arrival and answers after its latency, so the change
            // usually lands before page 3 is read; a late poll moves it a page on. Either
            // way pages 1 and 2 have been read and later ones have not all been.
            Fault::InsertDeleteBetweenPages | Fault::InsertDeleteBalanced
                if !self.done && agent_page_seen(ctl, 3) =>
            {
                self.changed = shift_agents(ctl, fault == Fault::InsertDeleteBalanced);
                self.done = true;
            }
            _ => {}
        }
    }
}

/// Whether the sim has seen a request for agent page `n`.
pub(super) fn agent_page_seen(ctl: &SimControl, n: u32) -> bool {
    let param = format!("page_no={n}");
    ctl.requests().iter().any(|r| {
        r.path.eq_ignore_ascii_case("/api/Agent") && r.query.split('&').any(|kv| kv == param)
    })
}

/// Insert agents (new ids, so at the front of the newest-first order the sync pages in) and
/// delete the agent with the highest id (page 1, read already); unbalanced, also the lowest
/// (the last page, not read yet) and two more inserts. Returns the ids inserted and deleted.
pub(super) fn shift_agents(ctl: &SimControl, balanced: bool) -> Vec<i64> {
    let tenant = ctl.snapshot();
    let mut changed = vec![];
    // The snapshot lists agents in ascending id order.
    let (lowest, highest) = (&tenant.agents[0], &tenant.agents[tenant.agents.len() - 1]);
    let inserts = if balanced { 1 } else { 3 };
    for i in 0..inserts {
        let mut a = lowest.clone();
        a.name = format!("Inserted Agent {i}");
        a.email = format!("inserted{i}@example.com");
        changed.push(ctl.insert_agent(a).expect("insert agent"));
    }
    assert!(ctl.delete_agent(highest.id));
    changed.push(highest.id);
    if !balanced {
        assert!(ctl.delete_agent(lowest.id));
        changed.push(lowest.id);
    }
    changed
}
