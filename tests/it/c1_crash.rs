//! Exactly once across a crash: the real daemon in C1 service mode takes a grant or revoke
//! task from the fake C1, acknowledges it (journals it with the task id), and is SIGKILLed
//! before its FinishTask, at a seeded point:
//!
//! 0. while Halo holds the first read of the agent (nothing written yet);
//! 1. while Halo holds the answer to the write (the write took effect);
//! 2. while Halo holds the read-back (written, not verified);
//! 3. after the journal has the outcome, while C1's token endpoint is held and the token
//!    the FinishTask would use has been revoked.
//!
//! After a restart (the fake C1 hands the unfinished task out again on Hello in a seeded half
//! of the iterations, as a C1 that saw the connector go away might) the fake C1 must receive exactly one FinishTask for the task,
//! a success; Halo must hold the asked state; and the agent must have been written exactly
//! once across both runs.
//!
//! `C1_CRASH_ITERATIONS` (default 8) and `C1_CRASH_SEED` widen the search.

use std::path::Path;
use std::time::Duration;

use baton_haloitsm::pb;
use baton_haloitsm::pb::baton::baton_service_finish_task_request::FinalState;
use baton_haloitsm::pb::baton::{Task, task};
use haloitsm_sim::{SimConfig, SimHandle};
use prost::Message;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::daemon::Daemon;
use crate::support::env_or;
use crate::support::fake_c1::{FakeC1, Script, grant_team_task, task_id};
use crate::support::metrics::metric;
use crate::support::provisioning::config_text;
use crate::support::sim::start;

const KILL_POINTS: [&str; 4] = [
    "first read held",
    "write answer held",
    "read-back held",
    "finished, token held",
];

/// (status, reported) of the task's journal row, read by a second connection as an
/// operator would; `None` until the task is acknowledged.
fn journal_row(journal: &Path, task: &str) -> Option<(String, bool)> {
    let conn = rusqlite::Connection::open_with_flags(
        journal,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    conn.query_row(
        "SELECT status, reported FROM operations WHERE c1_task_id = ?1",
        [task],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? == 1)),
    )
    .ok()
}

async fn wait_for_row(journal: &Path, task: &str, what: &str, f: impl Fn(&(String, bool)) -> bool) {
    for _ in 0..2000 {
        if journal_row(journal, task).as_ref().is_some_and(&f) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("journal: gave up waiting for {what} of task {task}");
}

/// Agent writes since `from_seq` (one operation runs per iteration, so all are its own).
fn agent_writes(sim: &SimHandle, from_seq: u64) -> usize {
    sim.control()
        .requests()
        .iter()
        .filter(|r| {
            r.seq >= from_seq && r.method == "POST" && r.path.eq_ignore_ascii_case("/api/Agent")
        })
        .count()
}

/// A simulator, a fake C1 and a service-mode config with provisioning on; `http_extra`
/// goes into `[http]`.
async fn setup(http_extra: &str) -> (SimHandle, FakeC1, tempfile::TempDir, std::path::PathBuf) {
    let sim = start(SimConfig {
        seed: 9,
        agents: 12,
        teams: 5,
        roles: 3,
        users: 0,
        teams_per_agent: 2,
        ..SimConfig::default()
    })
    .await;
    let fake = FakeC1::start(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let text = config_text(dir.path(), &sim.base_url(), "", "").replace(
        "listen = \"127.0.0.1:0\"",
        &format!("listen = \"127.0.0.1:0\"\n{http_extra}"),
    ) + &format!(
        "\n[c1]\ntemp_dir = \"{}\"\n",
        dir.path().join("c1-tmp").display()
    );
    std::fs::write(&config, text).unwrap();
    (sim, fake, dir, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_acknowledgement_and_finish_task_reports_exactly_once() {
    let iterations = env_or("C1_CRASH_ITERATIONS", 8);
    let seed = env_or("C1_CRASH_SEED", 0x5eed12);
    let mut rng = StdRng::seed_from_u64(seed);
    let (sim, fake, dir, config) = setup("").await;
    let journal = dir.path().join("journal.sqlite3");
    let mut points_seen = [0usize; 4];
    let mut redelivered = 0usize;

    for it in 0..iterations {
        let snap = sim.control().snapshot();
        let agent = &snap.agents[rng.random_range(0..snap.agents.len())];
        let team = snap.teams[rng.random_range(0..snap.teams.len())].id;
        let grant = !agent.team_ids.contains(&team);
        let point = rng.random_range(0..KILL_POINTS.len());
        let extra_delay = Duration::from_millis(rng.random_range(0..80));
        // Whether C1 hands the unfinished task out again is C1's business: cover both.
        let redeliver = rng.random_bool(0.5);
        fake.script.lock().unwrap().redeliver_on_hello = redeliver;
        let ctx = format!(
            "seed {seed:#x} iteration {it}: {} team {team} agent {} at \"{}\", redelivered: {redeliver}",
            if grant { "grant" } else { "revoke" },
            agent.id,
            KILL_POINTS[point]
        );
        points_seen[point] += 1;
        redelivered += usize::from(redeliver);

        let path = format!("/api/agent/{}", agent.id);
        let control = sim.control();
        let hold = Duration::from_secs(60);
        match point {
            0 => control.stall_next(1, hold, Some(&path)),
            1 => control.stall_answer_next(1, hold, Some("POST"), Some("/api/agent")),
            2 => {
                control.stall_answer_next(1, Duration::ZERO, Some("GET"), Some(&path));
                control.stall_answer_next(1, hold, Some("GET"), Some(&path));
            }
            // Time for the test to hold the token endpoint before the outcome is journaled.
            _ => control.stall_next(1, Duration::from_millis(1500), Some(&path)),
        }
        let first_seq = control.requests().last().map_or(0, |r| r.seq + 1);

        let mut daemon = Daemon::start_owned(&config, &fake.baton_env("crash-host"));
        let id = task_id(1000 + it as u32);
        let entitlement = format!("team:{team}:member");
        let task = if grant {
            grant_team_task(&id, team, agent.id)
        } else {
            Task {
                id: id.clone(),
                task_type: Some(task::TaskType::Revoke(task::RevokeTask {
                    grant: Some(pb::Grant {
                        id: format!("{entitlement}:agent:{}", agent.id),
                        ..Default::default()
                    }),
                    ..Default::default()
                })),
                ..Default::default()
            }
        };
        fake.push_task(task);

        wait_for_row(&journal, &id, "the acknowledgement", |_| true).await;
        if point == 3 {
            fake.hold_tokens(true);
            wait_for_row(&journal, &id, "the outcome", |(status, _)| {
                status == "finished"
            })
            .await;
        }
        tokio::time::sleep(extra_delay).await;
        let finished_before_kill = fake
            .rec
            .lock()
            .unwrap()
            .finishes
            .iter()
            .filter(|f| f.task_id == id)
            .count();
        assert_eq!(
            finished_before_kill, 0,
            "{ctx}: the kill point was not before FinishTask"
        );
        daemon.child.kill().unwrap();
        let _ = daemon.child.wait();
        let (status, reported) = journal_row(&journal, &id).expect("acknowledged row");
        assert!(!reported, "{ctx}: reported before FinishTask ({status})");

        control.clear_scripted_faults();
        fake.hold_tokens(false);
        let mut daemon = Daemon::start_owned(&config, &fake.baton_env("crash-host"));
        fake.wait_until("the task's FinishTask", |r| {
            r.finishes.iter().any(|f| f.task_id == id)
        })
        .await;
        wait_for_row(&journal, &id, "reported", |(_, reported)| *reported).await;
        // Room for a second FinishTask to show up: ten more polls of GetTask.
        let polls = fake.rec.lock().unwrap().get_tasks;
        fake.wait_until("ten more polls", |r| r.get_tasks >= polls + 10)
            .await;

        let rec = fake.rec.lock().unwrap();
        let finishes: Vec<_> = rec.finishes.iter().filter(|f| f.task_id == id).collect();
        assert_eq!(finishes.len(), 1, "{ctx}: FinishTasks {finishes:?}");
        let Some(FinalState::Success(s)) = &finishes[0].final_state else {
            panic!("{ctx}: not a success: {:?}", finishes[0]);
        };
        let any = s.response.as_ref().expect("a response");
        if grant {
            let resp = pb::GrantManagerServiceGrantResponse::decode(any.value.as_slice())
                .expect("a grant response");
            assert_eq!(
                resp.grants.first().map(|g| g.id.clone()),
                Some(format!("{entitlement}:agent:{}", agent.id)),
                "{ctx}"
            );
        } else {
            pb::GrantManagerServiceRevokeResponse::decode(any.value.as_slice())
                .expect("a revoke response");
        }
        drop(rec);

        let now = sim.control().snapshot();
        let holds = now
            .agents
            .iter()
            .find(|a| a.id == agent.id)
            .expect("agent")
            .team_ids
            .contains(&team);
        assert_eq!(holds, grant, "{ctx}: Halo does not hold the asked state");
        assert_eq!(
            agent_writes(&sim, first_seq),
            1,
            "{ctx}: the agent was not written exactly once"
        );
        daemon.sigterm();
    }
    eprintln!(
        "kill points seen: {points_seen:?}, redelivered {redelivered}, over {iterations} iterations (seed {seed:#x})"
    );
}

/// The C1Link actor panicking while a grant is in hand: the restarted link finishes and
/// reports the task; the dead link's task future dies with it, so there is one FinishTask.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c1_link_crash_mid_task_reports_the_task_once() {
    let (sim, fake, dir, config) = setup("enable_fault_injection = true").await;
    let journal = dir.path().join("journal.sqlite3");
    let snap = sim.control().snapshot();
    let agent = &snap.agents[0];
    let team = snap
        .teams
        .iter()
        .map(|t| t.id)
        .find(|t| !agent.team_ids.contains(t))
        .expect("a team the agent is not in");
    // The grant's first read is held long enough for the crash to land mid-task.
    sim.control().stall_next(
        1,
        Duration::from_millis(1500),
        Some(&format!("/api/agent/{}", agent.id)),
    );
    let mut daemon = Daemon::start_owned(&config, &fake.baton_env("crash-host"));
    let id = task_id(7);
    fake.push_task(grant_team_task(&id, team, agent.id));
    wait_for_row(&journal, &id, "the acknowledgement", |_| true).await;
    let (code, body) = daemon.post("/debug/crash/c1_link");
    assert_eq!(code, 202, "{body}");
    fake.wait_until("the task's FinishTask", |r| {
        r.finishes.iter().any(|f| f.task_id == id)
    })
    .await;
    wait_for_row(&journal, &id, "reported", |(_, reported)| *reported).await;
    // Room for a second FinishTask (the old link's) to show up: ten more polls.
    let polls = fake.rec.lock().unwrap().get_tasks;
    fake.wait_until("ten more polls", |r| r.get_tasks >= polls + 10)
        .await;
    let rec = fake.rec.lock().unwrap();
    let finishes = rec.finishes.iter().filter(|f| f.task_id == id).count();
    assert_eq!(finishes, 1, "one FinishTask after a link crash");
    assert_eq!(rec.hellos.len(), 2, "the restarted link said Hello again");
    drop(rec);
    let now = sim.control().snapshot();
    assert!(
        now.agents
            .iter()
            .find(|a| a.id == agent.id)
            .is_some_and(|a| a.team_ids.contains(&team)),
        "the grant took effect"
    );
    let restarts = metric(
        &daemon.metrics(),
        r#"baton_haloitsm_actor_restarts_total{actor="c1_link",reason="panicked"}"#,
    );
    assert_eq!(restarts, Some(1.0));
    daemon.sigterm();
}
