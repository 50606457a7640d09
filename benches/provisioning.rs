//! Provisioning benchmark: operations through the ProvisioningQueue (journal,
//! per-agent ordering, read-write-verify) against the simulator over HTTP.
//!
//!   cargo bench --bench provisioning
//!   PROV_BENCH_OPS=400 PROV_BENCH_SYNC_AGENTS=10000 cargo bench --bench provisioning
//!
//! 1. No rate limit: ops/s through the queue, requests per op, and a plain
//!    baseline: the same GET/POST/GET sequence sent straight through the
//!    HaloClient (no queue, no journal, one agent per task, same parallelism).
//! 2. Halo's budget scaled in time (250 requests per 5 min → 250 per 5 s, 60×
//!    faster): ops/s against the floor = budget rate / requests per op.
//! 3. Grant latency p50/p95, idle and during a running 10,000-agent sync under
//!    the same scaled budget. Goal: p95 during the sync ≤ 2× idle p95.

// The tests' support folder (config over a simulator): one copy, shared.
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use baton_haloitsm::config::Config;
use baton_haloitsm::daemon::pipeline::{self, Mode};
use baton_haloitsm::halo::HaloClient;
use baton_haloitsm::provisioning::journal::Journal;
use baton_haloitsm::provisioning::operation::OpRequest;
use baton_haloitsm::provisioning::{Provisioning, Submission, WhenFull};
use baton_haloitsm::sim::{SimConfig, SimHandle};
use baton_haloitsm::sync::coordinator::StartSync;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sim(agents: usize) -> SimHandle {
    SimHandle::start_background(
        SimConfig {
            seed: 1,
            agents,
            teams: 50,
            roles: 10,
            users: 0,
            teams_per_agent: 3,
            roles_per_agent: 1,
            request_log_limit: 1_000_000,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .expect("simulator")
}

fn config(dir: &Path, sim: &SimHandle, requests: u32, window: &str) -> Config {
    let text = support::provisioning::config_text(
        dir,
        &sim.base_url(),
        &format!("[halo.rate_limit]\nrequests = {requests}\nwindow = \"{window}\""),
        "max_parallel = 4",
    );
    support::provisioning::load(dir, &text)
}

/// Grant then revoke one team per agent, spread over `agents` agents.
fn requests(sim: &SimHandle, ops: usize, agents: usize) -> Vec<OpRequest> {
    let snap = sim.control().snapshot();
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < ops {
        let a = &snap.agents[i % agents.min(snap.agents.len())];
        let round = i / agents;
        let t = snap
            .teams
            .iter()
            .map(|t| t.id)
            .filter(|t| !a.team_ids.contains(t))
            .nth(round / 2 % 10)
            .unwrap();
        let ent = format!("team:{t}:member");
        out.push(if round.is_multiple_of(2) {
            OpRequest::Grant {
                entitlement: ent,
                principal: format!("agent:{}", a.id),
            }
        } else {
            OpRequest::Revoke {
                grant: format!("{ent}:agent:{}", a.id),
            }
        });
        i += 1;
    }
    out
}

async fn run_all(prov: &Provisioning, reqs: Vec<OpRequest>) -> Duration {
    let t0 = Instant::now();
    let mut ids = Vec::new();
    for r in reqs {
        let s = prov
            .submit(Submission {
                request: r,
                requested_by: "bench".into(),
                c1_task_id: None,
                when_full: WhenFull::Wait,
            })
            .await
            .expect("acknowledged");
        ids.push(s.id);
    }
    let outcomes = futures::future::join_all(ids.iter().map(|id| prov.outcome(*id))).await;
    let bad = outcomes
        .iter()
        .filter(|o| !o.as_ref().is_ok_and(|o| o.is_success()))
        .count();
    assert_eq!(bad, 0, "every operation succeeds");
    t0.elapsed()
}

/// The plain baseline: GET, POST, GET per op, straight through the client.
async fn direct(client: &HaloClient, sim: &SimHandle, ops: usize, parallel: usize) -> Duration {
    let snap = sim.control().snapshot();
    let t0 = Instant::now();
    let chunks: Vec<Vec<i64>> = (0..parallel)
        .map(|p| {
            (0..ops)
                .filter(|i| i % parallel == p)
                .map(|i| snap.agents[i % snap.agents.len()].id)
                .collect()
        })
        .collect();
    futures::future::join_all(chunks.into_iter().map(|agents| {
        let client = client.clone();
        async move {
            for id in agents {
                let a = client.get_agent(id).await.expect("get");
                let teams: Vec<_> = a
                    .teams
                    .iter()
                    .map(|t| serde_json::json!({"team_id": t.team_id}))
                    .collect();
                client
                    .upsert_agent(&serde_json::json!({"id": id, "teams": teams}))
                    .await
                    .expect("post");
                client.get_agent(id).await.expect("read back");
            }
        }
    }))
    .await;
    t0.elapsed()
}

fn agent_requests(sim: &SimHandle) -> usize {
    sim.control()
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/Agent"))
        .count()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

async fn grant_latencies(prov: &Provisioning, reqs: Vec<OpRequest>) -> Vec<f64> {
    let mut out = Vec::new();
    for r in reqs {
        let t0 = Instant::now();
        let (_, o) = prov
            .run(Submission {
                request: r,
                requested_by: "bench".into(),
                c1_task_id: None,
                when_full: WhenFull::Wait,
            })
            .await;
        assert!(o.is_success(), "{o:?}");
        out.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

fn main() {
    let ops = env_usize("PROV_BENCH_OPS", 200);
    let sync_agents = env_usize("PROV_BENCH_SYNC_AGENTS", 10_000);
    let samples = env_usize("PROV_BENCH_LATENCY_SAMPLES", 20);
    let system = actix::System::new();
    system.block_on(async move {
        baton_haloitsm::telemetry::init();

        // 1. No rate limit.
        let s = sim(200);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &s, 100_000, "1s");
        let mut p = pipeline::build(&cfg, None, Mode::OneShot);
        let client = p.client.clone();
        let prov = pipeline::add_provisioning(&mut p, &cfg, Journal::open(&cfg.provisioning.journal).unwrap());
        let reqs = requests(&s, ops, 50);
        s.control().clear_requests();
        let took = run_all(&prov, reqs).await;
        let per_op = agent_requests(&s) as f64 / ops as f64;
        s.control().clear_requests();
        let base = direct(&client, &s, ops, 4).await;
        println!("# provisioning bench: {ops} grant/revoke ops over 50 agents, max_parallel 4, no latency");
        println!("{:<44} {:>10} {:>10}", "", "ops/s", "req/op");
        println!("{:<44} {:>10.1} {:>10.2}", "queue (journal + verify), no rate limit", ops as f64 / took.as_secs_f64(), per_op);
        println!("{:<44} {:>10.1} {:>10.2}", "baseline: GET/POST/GET direct, 4 parallel", ops as f64 / base.as_secs_f64(), 3.0);
        drop(p);

        // 2. Scaled budget: 250 requests per 5 s (Halo's 300/5 min with headroom, 60x faster).
        let budget_ops = ops.min(120);
        let s = sim(200);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &s, 250, "5s");
        let mut p = pipeline::build(&cfg, None, Mode::OneShot);
        let prov = pipeline::add_provisioning(&mut p, &cfg, Journal::open(&cfg.provisioning.journal).unwrap());
        let reqs = requests(&s, budget_ops, 50);
        s.control().clear_requests();
        let took = run_all(&prov, reqs).await;
        let per_op = agent_requests(&s) as f64 / budget_ops as f64;
        let floor = 250.0 / 5.0 / per_op;
        println!("{:<44} {:>10.1} {:>10.2}   floor {:.1} ops/s (50 req/s / req/op)", "queue under 250 req / 5 s", budget_ops as f64 / took.as_secs_f64(), per_op, floor);
        drop(p);

        // 3. Grant latency idle vs during a sync, same budget.
        let s = sim(sync_agents);
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &s, 250, "5s");
        let mut p = pipeline::build(&cfg, None, Mode::OneShot);
        let prov = pipeline::add_provisioning(&mut p, &cfg, Journal::open(&cfg.provisioning.journal).unwrap());
        // 2 x samples grants, each on its own agent: the first half idle, the second during the sync.
        let mut idle_reqs = requests(&s, samples * 2, samples * 2);
        let busy_reqs = idle_reqs.split_off(samples);
        let mut idle = grant_latencies(&prov, idle_reqs).await;
        tokio::time::sleep(Duration::from_secs(5)).await; // let the budget refill
        let coord = p.coordinator.addr();
        let dest = dir.path().join("bench.c1z");
        let sync = actix::spawn(async move { coord.send(StartSync { reason: "bench", dest: Some(dest) }).await });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let mut busy = grant_latencies(&prov, busy_reqs).await;
        let report = sync.await.expect("sync task").expect("coordinator").expect("sync");
        let (ip50, ip95, bp50, bp95) = (pct(&mut idle, 0.5), pct(&mut idle, 0.95), pct(&mut busy, 0.5), pct(&mut busy, 0.95));
        println!("# grant latency, {samples} sequential grants, budget 250 req / 5 s; sync of {sync_agents} agents took {:.1}s", report.elapsed.as_secs_f64());
        println!("{:<44} {:>10} {:>10}", "", "p50 ms", "p95 ms");
        println!("{:<44} {:>10.1} {:>10.1}", "idle", ip50, ip95);
        println!("{:<44} {:>10.1} {:>10.1}   goal p95 <= {:.1} (2x idle): {}", "during the sync", bp50, bp95, 2.0 * ip95, if bp95 <= 2.0 * ip95 { "met" } else { "NOT met" });
        drop(p);
    });
}
