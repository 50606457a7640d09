//! Crash test: the real daemon binary, operations submitted over its control
//! socket, SIGKILL at seeded random points, restart, and every acknowledged
//! operation must have taken effect exactly as asked.
//!
//! `PROVISIONING_CRASH_ITERATIONS` (default 50) and `PROVISIONING_CRASH_SEED`
//! (default fixed) widen the search; a failure prints the seed and iteration.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use baton_haloitsm::provisioning::control_socket::{self, ControlRequest, ControlResponse};
use baton_haloitsm::provisioning::journal::OpStatus;
use baton_haloitsm::provisioning::operation::OpRequest;
use haloitsm_sim::{SimConfig, SimHandle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::daemon::Daemon;
use crate::support::env_or;
use crate::support::provisioning::{self, submit_until_refused};

fn start(config: &Path, socket: &Path) -> Daemon {
    let d = Daemon::start(config, &[]);
    assert!(
        d.wait_for_log("control socket listening", Duration::from_secs(20)),
        "no control socket: {}",
        d.logs()
    );
    assert!(socket.exists());
    d
}

fn unfinished(socket: &Path) -> Option<usize> {
    let mut n = 0;
    for status in [OpStatus::Queued, OpStatus::Running] {
        match control_socket::request(
            socket,
            &ControlRequest::List {
                status: Some(status),
                limit: 1000,
            },
        ) {
            Ok(Some(ControlResponse::Operations { operations })) => n += operations.len(),
            _ => return None,
        }
    }
    Some(n)
}

/// One planned change on a distinct (agent, team) pair: grant when absent, revoke when held.
#[derive(Clone, Debug)]
struct Planned {
    agent: i64,
    team: i64,
    grant: bool,
}

impl Planned {
    fn request(&self) -> OpRequest {
        let ent = format!("team:{}:member", self.team);
        if self.grant {
            OpRequest::Grant {
                entitlement: ent,
                principal: format!("agent:{}", self.agent),
            }
        } else {
            OpRequest::Revoke {
                grant: format!("{ent}:agent:{}", self.agent),
            }
        }
    }
}

#[test]
fn acknowledged_operations_survive_sigkill() {
    let iterations = env_or("PROVISIONING_CRASH_ITERATIONS", 50);
    let seed = env_or("PROVISIONING_CRASH_SEED", 0x5eed10);
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = SimHandle::start_background(
        SimConfig {
            seed: 9,
            agents: 40,
            teams: 8,
            roles: 3,
            users: 0,
            teams_per_agent: 3,
            // Slow enough that some kills land while Halo requests are in flight.
            latency: haloitsm_sim::LatencyConfig {
                fixed: Duration::from_millis(2),
                jitter: Duration::from_millis(2),
            },
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = provisioning::write_config(dir.path(), &sim.base_url(), "");
    let socket = dir.path().join("control.sock");
    let mut daemon = start(&config, &socket);
    let mut acknowledged_total = 0usize;
    let (mut cut_short, mut all_acked, mut replays) = (0, 0, 0);

    for it in 0..iterations {
        let snap = sim.control().snapshot();
        let teams: Vec<i64> = snap.teams.iter().map(|t| t.id).collect();
        // Distinct pairs: a pair is touched by at most one operation per iteration.
        let mut used = BTreeSet::new();
        let mut plan = Vec::new();
        let n_ops = rng.random_range(2..=6);
        while plan.len() < n_ops {
            let a = &snap.agents[rng.random_range(0..snap.agents.len())];
            let t = teams[rng.random_range(0..teams.len())];
            if used.insert((a.id, t)) {
                plan.push(Planned {
                    agent: a.id,
                    team: t,
                    grant: !a.team_ids.contains(&t),
                });
            }
        }
        let submitter = submit_until_refused(&socket, plan.clone(), "crash-test", Planned::request);
        std::thread::sleep(Duration::from_micros(rng.random_range(0..40_000)));
        daemon.child.kill().unwrap();
        daemon.child.wait().unwrap();
        let acked = submitter.join().unwrap();

        daemon = start(&config, &socket);
        let deadline = Instant::now() + Duration::from_secs(60);
        while unfinished(&socket) != Some(0) {
            assert!(
                Instant::now() < deadline,
                "seed {seed} iteration {it}: replay did not finish: {}",
                daemon.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if daemon.logs().contains("\"replayed\":true") {
            replays += 1;
        }
        let after = sim.control().snapshot();
        acknowledged_total += acked.len();
        if acked.len() < plan.len() {
            cut_short += 1;
        } else {
            all_acked += 1;
        }
        for p in &acked {
            let a = after.agents.iter().find(|a| a.id == p.agent).unwrap();
            assert_eq!(
                a.team_ids.contains(&p.team),
                p.grant,
                "seed {seed} iteration {it}: acknowledged {p:?} did not take effect"
            );
        }
    }
    // Each iteration stands on its own; across the run, the kill points must
    // land both before and after acknowledgements, or the test proves little.
    eprintln!(
        "seed {seed}: {iterations} iterations, {acknowledged_total} acknowledged operations, \
         {cut_short} iterations killed mid-submission, {all_acked} after all acknowledgements, \
         {replays} restarts replayed unfinished operations"
    );
    assert!(acknowledged_total > 0, "no operation was ever acknowledged");
    if iterations >= 50 {
        assert!(cut_short > 0 && all_acked > 0, "kill points did not vary");
        assert!(
            replays > 0,
            "no kill left an acknowledged operation unfinished"
        );
    }
    let rows = match control_socket::request(
        &socket,
        &ControlRequest::List {
            status: Some(OpStatus::Finished),
            limit: 100_000,
        },
    ) {
        Ok(Some(ControlResponse::Operations { operations })) => operations,
        other => panic!("{other:?}"),
    };
    assert!(rows.len() >= acknowledged_total);
    assert!(
        rows.iter()
            .all(|r| r.outcome.as_ref().is_some_and(|o| o.is_success())),
        "every operation succeeded"
    );
    daemon.sigterm();
}
