//! The chaos loop: the real daemon in C1 service mode against a simulator and the fake C1,
//! SIGKILLed at a seeded random moment while three things run together: a sync (a local one
//! through `/debug/sync`, published into the output dir, or a C1 sync task, uploaded), a
//! burst of provisioning operations over the control socket, and a stream of C1 grant and
//! revoke tasks. After each restart, once its work is done:
//!
//! 1. every published snapshot (`sync-*.c1z`, `latest.c1z`) and every upload opens, passes
//!    SQLite's `integrity_check`, and holds the tenant's agents and teams;
//! 2. no temp file remains (`*.tmp` in the output dir and the state dir, anything in the C1
//!    temp dir);
//! 3. every acknowledged operation (the socket answered with an op id) took effect, and the
//!    simulator saw exactly one agent write per change that took effect (every planned
//!    change is on an agent of its own and flips a membership, so more writes than changes
//!    means a change was written twice);
//! 4. every C1 task handed out so far has exactly one accepted FinishTask (the fake C1 hands
//!    unfinished tasks out again on Hello, as C1 might), a success.
//!
//! `CHAOS_ITERATIONS` (default 20) and `CHAOS_SEED`; a failure names both. `CHAOS_LOG_LEVEL`
//! sets the daemons' log level (their logs are printed when the replay does not finish).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use baton_haloitsm::pb::baton::baton_service_finish_task_request::FinalState;
use baton_haloitsm::provisioning::control_socket::{self, ControlRequest, ControlResponse};
use baton_haloitsm::provisioning::journal::OpStatus;
use baton_haloitsm::provisioning::operation::OpRequest;
use haloitsm_sim::{SimConfig, SimHandle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::daemon::Daemon;
use crate::support::fake_c1::{
    FakeC1, Script, grant_team_task, revoke_team_task, sync_task, task_id,
};
use crate::support::leaks::Scanned as _;
use crate::support::provisioning::{config_text, submit_until_refused};
use crate::support::{c1z, dir_names, env_or, sim};

const AGENTS: usize = 300;
const TEAMS: usize = 10;

/// One change on an agent of its own: grant when the agent is not in the team, else revoke.
#[derive(Clone, Debug)]
struct Change {
    agent: i64,
    team: i64,
    grant: bool,
}

impl Change {
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

    fn took_effect(&self, sim: &SimHandle) -> bool {
        let held = sim
            .control()
            .snapshot()
            .agents
            .iter()
            .any(|a| a.id == self.agent && a.team_ids.contains(&self.team));
        held == self.grant
    }
}

fn start(config: &Path, fake: &FakeC1) -> Daemon {
    let mut env = fake.baton_env("chaos-host");
    if let Ok(level) = std::env::var("CHAOS_LOG_LEVEL") {
        env.push(("BATON_LOG_LEVEL", level));
    }
    let d = Daemon::start_owned(config, &env);
    assert!(
        d.wait_for_log("control socket listening", Duration::from_secs(30)),
        "no control socket: {}",
        d.logs()
    );
    d
}

/// Operations queued or running, `None` while the daemon does not answer.
fn unfinished(socket: &Path) -> Option<usize> {
    let mut n = 0;
    for status in [OpStatus::Queued, OpStatus::Running] {
        match control_socket::request(
            socket,
            &ControlRequest::List {
                status: Some(status),
                limit: 10_000,
            },
        ) {
            Ok(Some(ControlResponse::Operations { operations })) => n += operations.len(),
            _ => return None,
        }
    }
    Some(n)
}

/// (op id, status, reported) of every journal row of a C1 task, read as an operator would.
fn journal_rows(journal: &Path, task: &str) -> Vec<(i64, String, i64)> {
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(journal, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return Vec::new();
    };
    let Ok(mut stmt) =
        conn.prepare("SELECT id, status, reported FROM operations WHERE c1_task_id = ?1")
    else {
        return Vec::new();
    };
    stmt.query_map([task], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

/// `POST /debug/sync`, answered when the sync ends; a kill cuts it short, which is fine.
fn debug_sync(addr: SocketAddr) {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return;
    };
    let _ = write!(
        s,
        "POST /debug/sync HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    );
    let _ = s.read_to_end(&mut Vec::new());
}

/// A sound c1z with the whole tenant: `integrity_check` says ok, every agent and team is in.
fn sound(path: &Path, ctx: &str) {
    let (check, counts) = c1z::integrity_and_counts(path);
    assert_eq!(check, "ok", "{ctx}: {}", path.display());
    assert_eq!(
        (counts.get("agent"), counts.get("team")),
        (Some(&(AGENTS as i64)), Some(&(TEAMS as i64))),
        "{ctx}: {} holds {counts:?}",
        path.display()
    );
}

struct Totals {
    acked: usize,
    unacked_effects: usize,
    c1_tasks: usize,
    local_syncs: usize,
    c1_syncs: usize,
    snapshots_checked: usize,
    uploads_checked: usize,
    kill_ms: Vec<u64>,
    /// Tasks reported twice because the kill fell between C1 taking the FinishTask and the
    /// journal recording it.
    window_repeats: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_sync_provisioning_and_c1_tasks_keeps_every_promise() {
    let iterations = env_or("CHAOS_ITERATIONS", 20);
    let seed = env_or("CHAOS_SEED", 0xc4a05);
    let mut rng = StdRng::seed_from_u64(seed);
    let sim = sim::start(SimConfig {
        seed: 3,
        agents: AGENTS,
        teams: TEAMS,
        roles: 3,
        users: 0,
        teams_per_agent: 2,
        ..SimConfig::default()
    })
    .await;
    let fake = FakeC1::start(Script {
        redeliver_on_hello: true,
        ..Script::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (out, c1_tmp) = (dir.path().join("out"), dir.path().join("c1-tmp"));
    let socket = dir.path().join("control.sock");
    let config = dir.path().join("config.toml");
    let text = config_text(dir.path(), &sim.base_url(), "", "max_parallel = 4").replace(
        "listen = \"127.0.0.1:0\"",
        "listen = \"127.0.0.1:0\"\nenable_fault_injection = true",
    ) + &format!("\n[c1]\ntemp_dir = \"{}\"\n", c1_tmp.display());
    std::fs::write(&config, text).unwrap();

    let mut daemon = start(&config, &fake);
    // Every C1 task pushed so far, the grant/revoke ones' changes, and the iteration.
    let mut tasks: Vec<(String, Option<Change>, u64)> = Vec::new();
    let mut t = Totals {
        acked: 0,
        unacked_effects: 0,
        c1_tasks: 0,
        local_syncs: 0,
        c1_syncs: 0,
        snapshots_checked: 0,
        uploads_checked: 0,
        kill_ms: Vec::new(),
        window_repeats: 0,
    };
    let mut window_repeated: BTreeSet<String> = BTreeSet::new();
    let started = Instant::now();

    for it in 0..iterations {
        let ctx = format!("CHAOS_SEED={seed} iteration {it}");
        sim.control().clear_requests();
        let snap = sim.control().snapshot();
        // Changes on distinct agents: a socket burst and a few C1 tasks.
        let mut agents = BTreeSet::new();
        let mut change = |rng: &mut StdRng| loop {
            let a = &snap.agents[rng.random_range(0..snap.agents.len())];
            if agents.insert(a.id) {
                let team = snap.teams[rng.random_range(0..snap.teams.len())].id;
                return Change {
                    agent: a.id,
                    team,
                    grant: !a.team_ids.contains(&team),
                };
            }
        };
        let burst: Vec<Change> = (0..rng.random_range(3..=10))
            .map(|_| change(&mut rng))
            .collect();
        let c1_changes: Vec<Change> = (0..rng.random_range(1..=3))
            .map(|_| change(&mut rng))
            .collect();
        let local_sync = rng.random_bool(0.5);
        let kill_after = Duration::from_millis(rng.random_range(50..=1500));
        t.kill_ms.push(kill_after.as_millis() as u64);

        // The three streams, together.
        let submitter = submit_until_refused(&socket, burst.clone(), "chaos", Change::request);
        let syncer = local_sync.then(|| {
            let addr = daemon.http;
            std::thread::spawn(move || debug_sync(addr))
        });
        if local_sync {
            t.local_syncs += 1;
        } else {
            let n = 10_000 * (it as u32 + 1);
            fake.push_task(sync_task(n));
            tasks.push((task_id(n), None, it));
            t.c1_syncs += 1;
        }
        for (k, c) in c1_changes.iter().enumerate() {
            let id = task_id(10_000 * (it as u32 + 1) + 1 + k as u32);
            fake.push_task(if c.grant {
                grant_team_task(&id, c.team, c.agent)
            } else {
                revoke_team_task(&id, c.team, c.agent)
            });
            tasks.push((id, Some(c.clone()), it));
        }

        tokio::time::sleep(kill_after).await;
        daemon.child.kill().unwrap();
        let _ = daemon.child.wait();
        // What C1 had heard before the kill (the daemon is gone: nothing more arrives from it).
        let reported_before_kill: Vec<String> = {
            let rec = fake.rec.lock().unwrap();
            rec.finishes.iter().map(|f| f.task_id.clone()).collect()
        };
        let acked = submitter.join().unwrap();
        if let Some(s) = syncer {
            s.join().unwrap();
        }

        daemon = start(&config, &fake);
        // The restart's work: every C1 task reported (so their operations are submitted),
        // then every journaled operation finished.
        let ids: Vec<String> = tasks.iter().map(|(id, ..)| id.clone()).collect();
        fake.wait_until("every C1 task's FinishTask", |r| {
            ids.iter().all(|id| r.finishes_of(id) > 0)
        })
        .await;
        let mut drained = false;
        for _ in 0..3000 {
            if unfinished(&socket) == Some(0) {
                drained = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !drained {
            let stuck: Vec<String> = [OpStatus::Queued, OpStatus::Running]
                .into_iter()
                .map(|status| {
                    format!(
                        "{:?}",
                        control_socket::request(
                            &socket,
                            &ControlRequest::List {
                                status: Some(status),
                                limit: 100,
                            },
                        )
                    )
                })
                .collect();
            let requests: Vec<String> = sim
                .control()
                .requests()
                .iter()
                .map(|r| format!("{} {} {} {}", r.seq, r.method, r.path, r.status))
                .collect();
            // Is the simulator still serving? And what do the sockets to it hold?
            let probe = sim::client()
                .get(format!("{}/api/Agent/1", sim.base_url()))
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map(|r| r.status().as_u16());
            let port = sim.base_url().rsplit(':').next().unwrap_or("").to_string();
            let ss = std::process::Command::new("ss")
                .args(["-tnpi"])
                .output_scanned()
                .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
                .unwrap_or_default();
            let ss: Vec<&str> = ss
                .lines()
                .filter(|l| l.contains(&format!(":{port}")))
                .collect();
            panic!(
                "{ctx}: replay did not finish: {stuck:?}\nsim probe: {probe:?}\nsockets: {ss:#?}\nHalo saw: {requests:?}\n/status: {}\n{}",
                daemon.get("/status").1,
                daemon.logs()
            );
        }
        // Room for a second FinishTask to show up: a few more polls.
        let polls = fake.rec.lock().unwrap().get_tasks;
        fake.wait_until("three more polls", |r| r.get_tasks >= polls + 3)
            .await;

        // 1. Published snapshots and uploads are sound.
        for name in dir_names(&out) {
            if name.starts_with("sync-") && name.ends_with(".c1z") || name == "latest.c1z" {
                sound(&out.join(&name), &ctx);
                t.snapshots_checked += 1;
            }
        }
        // 2. No temp file remains.
        let temps: Vec<String> = dir_names(&out)
            .into_iter()
            .chain(dir_names(dir.path()))
            .filter(|n| n.ends_with(".tmp"))
            .chain(dir_names(&c1_tmp))
            .collect();
        assert!(temps.is_empty(), "{ctx}: temp files left: {temps:?}");
        // 3. Acknowledged operations took effect, each change written once.
        for c in &acked {
            assert!(
                c.took_effect(&sim),
                "{ctx}: acknowledged {c:?} did not take effect"
            );
        }
        let effects = burst
            .iter()
            .chain(&c1_changes)
            .filter(|c| c.took_effect(&sim))
            .count();
        let writes = sim
            .control()
            .requests()
            .iter()
            .filter(|r| {
                r.method == "POST"
                    && r.path.eq_ignore_ascii_case("/api/Agent")
                    && (200..300).contains(&r.status)
            })
            .count();
        assert_eq!(
            writes, effects,
            "{ctx}: {effects} changes took effect, written {writes} times"
        );
        t.acked += acked.len();
        t.unacked_effects += burst
            .iter()
            .filter(|c| c.took_effect(&sim))
            .count()
            .saturating_sub(acked.len());
        // 4. Every C1 task has exactly one FinishTask, a success with its effect.
        {
            let rec = fake.rec.lock().unwrap();
            for (id, change, when) in &tasks {
                // The one repeat allowed: C1 took the FinishTask, and the kill came before the
                // journal recorded that, so the restart reports the journaled outcome again
                // (at least once across that window; the connector cannot ask C1).
                let repeat = *when == it
                    && change.is_some()
                    && rec.finishes_of(id) == 2
                    && reported_before_kill.iter().filter(|t| *t == id).count() == 1;
                if repeat {
                    let states: Vec<bool> = rec
                        .finishes
                        .iter()
                        .filter(|f| &f.task_id == id)
                        .map(|f| matches!(f.final_state, Some(FinalState::Success(_))))
                        .collect();
                    assert_eq!(
                        states,
                        [true, true],
                        "{ctx}: task {id} repeated differently"
                    );
                    t.window_repeats += 1;
                    eprintln!(
                        "{ctx}: task {id} reported again after a kill between FinishTask and the journal; journal rows {:?}",
                        journal_rows(&dir.path().join("journal.sqlite3"), id)
                    );
                } else if *when == it || !window_repeated.contains(id) {
                    assert_eq!(rec.finishes_of(id), 1, "{ctx}: FinishTasks of task {id}");
                }
                let f = rec.finishes.iter().find(|f| &f.task_id == id).unwrap();
                assert!(
                    matches!(f.final_state, Some(FinalState::Success(_))),
                    "{ctx}: task {id}: {f:?}"
                );
                // A later iteration may change the same agent again.
                match change {
                    Some(c) if *when == it => {
                        assert!(c.took_effect(&sim), "{ctx}: task {id} {c:?}")
                    }
                    Some(_) => {}
                    None => assert!(!rec.uploads_of(id).is_empty(), "{ctx}: no upload of {id}"),
                }
            }
            let this_iteration = 10_000 * (it as u32 + 1);
            for up in rec.uploads.iter().filter(|u| {
                u.task_id
                    .parse::<u32>()
                    .is_ok_and(|n| n / 10_000 == this_iteration / 10_000)
            }) {
                let file = dir.path().join("upload.c1z");
                std::fs::write(&file, &up.data).unwrap();
                sound(&file, &ctx);
                t.uploads_checked += 1;
            }
        }
        {
            let rec = fake.rec.lock().unwrap();
            window_repeated.extend(
                tasks
                    .iter()
                    .filter(|(id, ..)| rec.finishes_of(id) == 2)
                    .map(|(id, ..)| id.clone()),
            );
        }
        t.c1_tasks = tasks.len();
        assert!(
            daemon.child.try_wait().expect("try_wait").is_none(),
            "{ctx}: the daemon exited"
        );
    }
    daemon.sigterm();
    let mut kills = t.kill_ms.clone();
    kills.sort_unstable();
    eprintln!(
        "chaos: seed {seed}, {iterations} iterations in {:.1} s: {} acknowledged operations \
         (+{} unacknowledged that took effect), {} C1 tasks each finished once, {} local and {} \
         C1 syncs, {} published snapshots and {} uploads checked, kill after {}..{} ms; {} tasks \
         reported again after a kill between FinishTask and the journal",
        started.elapsed().as_secs_f64(),
        t.acked,
        t.unacked_effects,
        t.c1_tasks,
        t.local_syncs,
        t.c1_syncs,
        t.snapshots_checked,
        t.uploads_checked,
        kills.first().unwrap_or(&0),
        kills.last().unwrap_or(&0),
        t.window_repeats,
    );
    assert!(t.acked > 0, "no operation was ever acknowledged");
}
