//! Service-mode faults, one test each, against the real daemon, the fake C1 and a simulator
//! in the test process: C1 unreachable at start, C1's token endpoint answering 5xx, an
//! upload cut mid-stream, FinishTask failing, heartbeats failing.
//!
//! Every test hands out a sync task and a grant task (or what its fault needs) and checks
//! that each ends with exactly one accepted FinishTask, with the right outcome (a sync: a
//! complete upload whose SQLite passes `integrity_check` and holds the tenant's agents; a
//! grant: the simulator holds the membership), and that the daemon is still running. Each
//! prints one `fault:` line (the figures of docs/reliability.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use baton_haloitsm::pb::baton::baton_service_finish_task_request::FinalState;
use haloitsm_sim::{LatencyConfig, SimConfig, SimHandle};

use crate::support::daemon::Daemon;
use crate::support::fake_c1::{FakeC1, Recorded, Script, grant_team_task, sync_task, task_id};
use crate::support::metrics::metric;
use crate::support::provisioning::config_text;
use crate::support::{c1z, sim};

const AGENTS: usize = 40;

struct Env {
    sim: SimHandle,
    config: PathBuf,
    dir: tempfile::TempDir,
}

async fn env(latency: Duration) -> Env {
    let sim = sim::start(SimConfig {
        seed: 21,
        agents: AGENTS,
        teams: 5,
        roles: 3,
        users: 0,
        teams_per_agent: 2,
        latency: LatencyConfig {
            fixed: latency,
            jitter: Duration::ZERO,
        },
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let text = config_text(dir.path(), &sim.base_url(), "", "")
        + &format!(
            "\n[c1]\ntemp_dir = \"{}\"\n",
            dir.path().join("c1-tmp").display()
        );
    std::fs::write(&config, text).unwrap();
    Env { sim, config, dir }
}

impl Env {
    fn start(&self, fake: &FakeC1) -> Daemon {
        Daemon::start_owned(&self.config, &fake.baton_env("faults-host"))
    }

    /// A grant task for an agent and a team it is not in: (task, agent, team).
    fn grant(&self, n: u32) -> (String, i64, i64) {
        let snap = self.sim.control().snapshot();
        let agent = &snap.agents[n as usize % snap.agents.len()];
        let team = snap
            .teams
            .iter()
            .map(|t| t.id)
            .find(|t| !agent.team_ids.contains(t))
            .expect("a team the agent is not in");
        (task_id(n), agent.id, team)
    }

    fn holds(&self, agent: i64, team: i64) -> bool {
        self.sim
            .control()
            .snapshot()
            .agents
            .iter()
            .any(|a| a.id == agent && a.team_ids.contains(&team))
    }

    fn c1_tmp(&self) -> PathBuf {
        self.dir.path().join("c1-tmp")
    }
}

/// The one accepted FinishTask of `id` is a success.
fn finished_once_ok(rec: &Recorded, id: &str) {
    assert_eq!(rec.finishes_of(id), 1, "task {id}: {:?}", rec.finishes);
    let f = rec.finishes.iter().find(|f| f.task_id == id).unwrap();
    assert!(
        matches!(f.final_state, Some(FinalState::Success(_))),
        "task {id}: {f:?}"
    );
}

/// A sync task's outcome: one success and one complete upload, a sound c1z with every agent.
fn synced_once(rec: &Recorded, id: &str, dir: &Path) {
    finished_once_ok(rec, id);
    let ups = rec.uploads_of(id);
    assert_eq!(ups.len(), 1, "task {id}: one complete upload");
    let file = dir.join(format!("upload-{id}.c1z"));
    std::fs::write(&file, &ups[0].data).unwrap();
    let (check, counts) = c1z::integrity_and_counts(&file);
    assert_eq!(check, "ok", "task {id}: integrity_check");
    assert_eq!(counts.get("agent"), Some(&(AGENTS as i64)), "{counts:?}");
}

fn still_running(daemon: &mut Daemon) {
    assert!(
        daemon.child.try_wait().expect("try_wait").is_none(),
        "the daemon exited: {}",
        daemon.logs()
    );
    assert_eq!(daemon.get("/healthz").0, 200);
}

/// Waits (bounded by a number of checks) until the daemon's `/metrics` has `name` ≥ `at_least`.
async fn wait_metric(daemon: &Daemon, name: &str, at_least: f64) {
    for _ in 0..600 {
        if metric(&daemon.metrics(), name).unwrap_or(0.0) >= at_least {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("gave up waiting for {name} >= {at_least}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_unreachable_at_start_then_every_task_is_reported_once() {
    let e = env(Duration::ZERO).await;
    let fake = FakeC1::not_listening(Script::default());
    let mut daemon = e.start(&fake);
    // Nobody on the port: the token request fails, twice, and the link backs off.
    wait_metric(
        &daemon,
        r#"baton_haloitsm_c1_rpc_errors_total{rpc="token"}"#,
        2.0,
    )
    .await;
    still_running(&mut daemon);
    fake.listen().await;
    let sync = task_id(1);
    let (grant, agent, team) = e.grant(2);
    fake.push_task(sync_task(1));
    fake.push_task(grant_team_task(&grant, team, agent));
    fake.wait_until("both FinishTasks", |r| {
        r.finishes_of(&sync) > 0 && r.finishes_of(&grant) > 0
    })
    .await;
    let rec = fake.rec.lock().unwrap();
    synced_once(&rec, &sync, e.dir.path());
    finished_once_ok(&rec, &grant);
    assert!(e.holds(agent, team), "the grant took effect");
    let errors = metric(
        &daemon.metrics(),
        r#"baton_haloitsm_c1_rpc_errors_total{rpc="token"}"#,
    )
    .unwrap_or(0.0);
    eprintln!(
        "fault: C1 unreachable at start | outcome: sync uploaded, grant held | FinishTask: 1 per task | retries: {errors} failed token requests before C1 listened"
    );
    drop(rec);
    still_running(&mut daemon);
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_5xx_delays_but_loses_no_task() {
    let e = env(Duration::ZERO).await;
    let fake = FakeC1::start(Script {
        token_5xx: 3,
        ..Script::default()
    })
    .await;
    let sync = task_id(1);
    fake.push_task(sync_task(1));
    let mut daemon = e.start(&fake);
    fake.wait_until("the sync's FinishTask", |r| r.finishes_of(&sync) > 0)
        .await;
    assert_eq!(fake.rec.lock().unwrap().token_errors, 3);

    // Mid-run: every token revoked and the next token request fails, while a grant task
    // waits; the poll that meets the revoked token has to get a new one first.
    let (grant, agent, team) = e.grant(2);
    fake.hold_tokens(true);
    fake.script.lock().unwrap().token_5xx = 1;
    fake.hold_tokens(false);
    fake.push_task(grant_team_task(&grant, team, agent));
    fake.wait_until("the grant's FinishTask", |r| r.finishes_of(&grant) > 0)
        .await;
    let polls = fake.rec.lock().unwrap().get_tasks;
    fake.wait_until("five more polls", |r| r.get_tasks >= polls + 5)
        .await;
    let rec = fake.rec.lock().unwrap();
    synced_once(&rec, &sync, e.dir.path());
    finished_once_ok(&rec, &grant);
    assert_eq!(rec.token_errors, 4, "every scripted 5xx was met");
    assert!(rec.bad_assertions.is_empty(), "{:?}", rec.bad_assertions);
    assert!(e.holds(agent, team), "the grant took effect");
    eprintln!(
        "fault: token endpoint 5xx (3 at start, 1 mid-run after a revocation) | outcome: sync uploaded, grant held | FinishTask: 1 per task | retries: {} token 5xx answered, {} unauthenticated calls",
        rec.token_errors, rec.unauthenticated
    );
    drop(rec);
    still_running(&mut daemon);
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_cut_mid_stream_is_retried_or_reported_once_as_retryable() {
    let e = env(Duration::ZERO).await;
    // Two cuts: the third attempt goes through.
    let fake = FakeC1::start(Script {
        fail_uploads: 2,
        ..Script::default()
    })
    .await;
    let first = task_id(1);
    fake.push_task(sync_task(1));
    let mut daemon = e.start(&fake);
    fake.wait_until("the first sync's FinishTask", |r| r.finishes_of(&first) > 0)
        .await;
    {
        let rec = fake.rec.lock().unwrap();
        synced_once(&rec, &first, e.dir.path());
        assert_eq!(rec.upload_attempts, 3);
    }
    assert!(
        crate::support::dir_names(&e.c1_tmp()).is_empty(),
        "the uploaded c1z is removed"
    );

    // Three cuts: every attempt fails; the task fails once, retryable, and the c1z is kept.
    fake.script.lock().unwrap().fail_uploads = 3;
    let second = task_id(2);
    fake.push_task(sync_task(2));
    fake.wait_until("the second sync's FinishTask", |r| {
        r.finishes_of(&second) > 0
    })
    .await;
    let polls = fake.rec.lock().unwrap().get_tasks;
    fake.wait_until("five more polls", |r| r.get_tasks >= polls + 5)
        .await;
    let rec = fake.rec.lock().unwrap();
    assert_eq!(rec.finishes_of(&second), 1);
    assert!(rec.uploads_of(&second).is_empty(), "no upload completed");
    let f = rec.finishes.iter().find(|f| f.task_id == second).unwrap();
    let status = f.status.as_ref().expect("a status");
    assert_eq!(status.code, tonic::Code::Unavailable as i32, "{status:?}");
    assert!(status.message.contains("upload failed"), "{status:?}");
    let Some(FinalState::Error(err)) = &f.final_state else {
        panic!("{f:?}")
    };
    assert!(!err.non_retryable, "C1 may retry the task");
    assert_eq!(rec.upload_attempts, 6);
    assert_eq!(
        crate::support::dir_names(&e.c1_tmp()),
        [format!("task-{second}.c1z")],
        "the c1z whose upload failed is kept for diagnosis"
    );
    eprintln!(
        "fault: upload cut mid-stream (2 cuts; then 3 cuts) | outcome: uploaded on the 3rd attempt; then a retryable Unavailable failure, c1z kept | FinishTask: 1 per task | retries: {} upload attempts for 2 tasks",
        rec.upload_attempts
    );
    drop(rec);
    still_running(&mut daemon);
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_task_failing_is_retried_and_recorded_once() {
    let e = env(Duration::ZERO).await;
    let fake = FakeC1::start(Script {
        fail_finishes: 3,
        ..Script::default()
    })
    .await;
    let sync = task_id(1);
    let (grant, agent, team) = e.grant(2);
    fake.push_task(sync_task(1));
    fake.push_task(grant_team_task(&grant, team, agent));
    let mut daemon = e.start(&fake);
    fake.wait_until("both FinishTasks", |r| {
        r.finishes_of(&sync) > 0 && r.finishes_of(&grant) > 0
    })
    .await;
    let polls = fake.rec.lock().unwrap().get_tasks;
    fake.wait_until("five more polls", |r| r.get_tasks >= polls + 5)
        .await;
    let attempts = {
        let rec = fake.rec.lock().unwrap();
        synced_once(&rec, &sync, e.dir.path());
        finished_once_ok(&rec, &grant);
        // The sync came first: its FinishTask was refused three times.
        assert_eq!(rec.finish_attempts_of(&sync), 4);
        assert_eq!(rec.finish_attempts_of(&grant), 1);
        rec.finish_attempts.len()
    };
    assert!(e.holds(agent, team));

    // Past the link's five tries: a journaled grant stays unreported, and the next start
    // reports it, once.
    let (late, agent2, team2) = e.grant(3);
    fake.script.lock().unwrap().fail_finishes = 5;
    fake.push_task(grant_team_task(&late, team2, agent2));
    fake.wait_until("five refused FinishTasks", |r| {
        r.finish_attempts_of(&late) >= 5
    })
    .await;
    assert!(
        daemon.wait_for_log("could not report the task to C1", Duration::from_secs(30)),
        "{}",
        daemon.logs()
    );
    assert_eq!(fake.rec.lock().unwrap().finishes_of(&late), 0);
    assert!(e.holds(agent2, team2), "the grant took effect meanwhile");
    daemon.sigterm();
    let mut daemon = e.start(&fake);
    fake.wait_until("the late grant's FinishTask", |r| r.finishes_of(&late) > 0)
        .await;
    let polls = fake.rec.lock().unwrap().get_tasks;
    fake.wait_until("five more polls", |r| r.get_tasks >= polls + 5)
        .await;
    let rec = fake.rec.lock().unwrap();
    finished_once_ok(&rec, &late);
    assert_eq!(rec.finish_attempts_of(&late), 6);
    for id in [&sync, &grant] {
        assert_eq!(
            rec.finishes_of(id),
            1,
            "not reported again after the restart"
        );
    }
    eprintln!(
        "fault: FinishTask failing (3 refusals; then 5) | outcome: sync uploaded, grants held | FinishTask: 1 accepted per task | retries: {attempts} calls for 2 tasks; the 5-times-refused grant reported by the next start ({} calls)",
        rec.finish_attempts_of(&late)
    );
    drop(rec);
    still_running(&mut daemon);
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_heartbeats_short_of_the_limit_do_not_fail_the_sync() {
    let e = env(Duration::ZERO).await;
    // Halo holds the first agent page: the sync outlasts several heartbeats.
    e.sim
        .control()
        .stall_next(1, Duration::from_secs(7), Some("/api/agent"));
    let fake = FakeC1::start(Script {
        fail_heartbeats_n: 4,
        ..Script::default()
    })
    .await;
    let sync = task_id(1);
    fake.push_task(sync_task(1));
    let mut daemon = e.start(&fake);
    fake.wait_until("the sync's FinishTask", |r| r.finishes_of(&sync) > 0)
        .await;
    let rec = fake.rec.lock().unwrap();
    synced_once(&rec, &sync, e.dir.path());
    assert_eq!(rec.failed_heartbeats, 4, "every scripted failure was met");
    let beats = rec.heartbeats.iter().filter(|t| **t == sync).count();
    assert!(beats > 4, "the sync heartbeated past the failures: {beats}");
    eprintln!(
        "fault: heartbeats failing (4 in a row, limit 10) | outcome: sync uploaded | FinishTask: 1 | retries: {beats} heartbeats, 4 refused"
    );
    drop(rec);
    still_running(&mut daemon);
    daemon.sigterm();
}
