//! Recovery that holds: any actor may die (or hang) mid-sync, and the next
//! sync still succeeds, exactly. Real daemon processes against the embedded
//! simulator over HTTP, real c1z files; plus the pipeline in-process where the
//! simulator's own request accounting is the judge.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::support::c1z;
use crate::support::daemon::*;
use crate::support::dir_names;
use crate::support::env_or;
use crate::support::metrics::metric;
use crate::support::sim::start;

const ACTORS: [&str; 6] = [
    "token_manager",
    "api_gateway",
    "snapshot_writer",
    "uploader",
    "sync_coordinator",
    "scheduler",
];

fn daemon_config(out: &Path, agents: usize, daemon_extra: &str) -> String {
    format!(
        r#"
[halo]
base_url = "http://127.0.0.1:1"
client_id = "ignored"
rate_limit = {{ requests = 100000, window = "1s" }}

[simulator.tenant]
seed = 9
agents = {agents}
teams = 25
roles = 8
latency = {{ fixed = "6ms", jitter = "0s" }}

[sync]
on_start = false
interval = "1h"

[output]
dir = "{}"
keep = 10000

[http]
listen = "127.0.0.1:0"
enable_fault_injection = true

[daemon]
shutdown_grace = "5s"
{daemon_extra}
"#,
        out.display()
    )
}

fn metric_value(d: &Daemon, series: &str) -> f64 {
    metric(&d.metrics(), series).unwrap_or(0.0)
}

fn restarts(d: &Daemon, actor: &str, reason: &str) -> f64 {
    metric_value(
        d,
        &format!("baton_haloitsm_actor_restarts_total{{actor=\"{actor}\",reason=\"{reason}\"}}"),
    )
}

/// Poll (bounded) until `cond` holds.
fn wait_until(what: &str, d: &Daemon, mut cond: impl FnMut() -> bool) {
    for _ in 0..800 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("{what} never happened; logs:\n{}", d.logs());
}

/// Run syncs until one succeeds (actors may still be coming back); its path.
fn next_good_sync(d: &Daemon) -> String {
    let mut last = (0, String::new());
    for _ in 0..100 {
        let (code, body) = d.post("/debug/sync");
        if code == 200 {
            return body.trim().to_string();
        }
        last = (code, body);
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no sync succeeded after the crash: {last:?}\n{}", d.logs());
}

/// No temp or staged file is left, and every published snapshot is complete
/// and equal, row for row, to the fault-free one.
fn check_output(
    out: &Path,
    baseline: &std::collections::BTreeMap<String, Vec<(String, Vec<u8>)>>,
    checked: &mut Vec<String>,
    context: &str,
) {
    let names = dir_names(out);
    let temps: Vec<_> = names.iter().filter(|n| n.ends_with(".tmp")).collect();
    assert!(temps.is_empty(), "{context}: temp files left: {temps:?}");
    for n in names
        .iter()
        .filter(|n| n.starts_with("sync-") && n.ends_with(".c1z"))
    {
        if checked.contains(n) {
            continue;
        }
        let rows = c1z::rows(&out.join(n));
        assert!(
            rows == *baseline,
            "{context}: published {n} differs from the fault-free snapshot"
        );
        checked.push(n.clone());
    }
}

/// The crash matrix: every actor, crashed at a seeded random moment of a
/// 5,000-agent sync, three times each in CI (the chaos loop SIGKILLs the whole process).
/// `RECOVERY_ITERATIONS` / `RECOVERY_SEED` make it longer or different.
#[test]
fn any_actor_crashed_mid_sync_and_the_next_sync_is_exact() {
    let iterations = env_or("RECOVERY_ITERATIONS", 3 * ACTORS.len() as u64) as usize;
    let seed = env_or("RECOVERY_SEED", 0x5eed_0009);
    let cfg = temp_config("");
    let out = cfg.dir.path().join("snapshots");
    std::fs::write(
        &cfg.path,
        daemon_config(
            &out,
            5000,
            "restart_backoff_initial = \"20ms\"\nrestart_backoff_max = \"100ms\"\nprobe_interval = \"200ms\"\nprobe_timeout = \"5s\"",
        ),
    )
    .unwrap();
    let d = Daemon::start(&cfg.path, &[]);

    let started = std::time::Instant::now();
    let (code, first) = d.post("/debug/sync");
    assert_eq!(code, 200, "{first}\n{}", d.logs());
    // Crash points are spread over the length of a fault-free sync.
    let span_ms = (started.elapsed().as_millis() as u64).max(50);
    let baseline = c1z::rows(Path::new(first.trim()));
    assert!(baseline["v1_resources"].len() > 5000);
    let mut checked = vec![];
    check_output(&out, &baseline, &mut checked, "baseline");

    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..iterations {
        let actor = ACTORS[i % ACTORS.len()];
        let at = Duration::from_millis(rng.random_range(0..span_ms));
        let context = format!("iteration {i}: {actor} crashed {at:?} into a sync (seed {seed:#x})");
        let before = restarts(&d, actor, "panicked");
        let addr = d.http;
        let sync = std::thread::spawn(move || http(addr, "POST", "/debug/sync"));
        std::thread::sleep(at);
        let (code, body) = d.post(&format!("/debug/crash/{actor}"));
        assert_eq!(code, 202, "{context}: {body}");
        // Whatever the interrupted sync answered, it must not have published junk.
        let _ = sync.join();
        wait_until(&format!("{context}: restart counted"), &d, || {
            restarts(&d, actor, "panicked") >= before + 1.0
        });
        let path = next_good_sync(&d);
        assert!(
            c1z::rows(Path::new(&path)) == baseline,
            "{context}: the next sync differs from the fault-free one"
        );
        eprintln!("{context}: next sync exact ({:?} in)", started.elapsed());
        check_output(&out, &baseline, &mut checked, &context);
    }
    // Every crash was a panic; nothing was restarted for another reason.
    for actor in ACTORS {
        assert_eq!(restarts(&d, actor, "unresponsive"), 0.0, "{actor}");
    }
    let published = metric_value(&d, "baton_haloitsm_snapshots_total{outcome=\"published\"}");
    assert!(published > iterations as f64, "{published}");
}

/// A writer thread that stops answering is noticed by its probe, replaced as
/// `unresponsive`, `/readyz` says 503 meanwhile, and the next sync is exact.
#[test]
fn a_hung_writer_is_restarted_as_unresponsive_and_readiness_drops() {
    let cfg = temp_config("");
    let out = cfg.dir.path().join("snapshots");
    std::fs::write(
        &cfg.path,
        daemon_config(
            &out,
            2000,
            "restart_backoff_initial = \"1500ms\"\nrestart_backoff_max = \"3s\"\nprobe_interval = \"100ms\"\nprobe_timeout = \"500ms\"",
        ),
    )
    .unwrap();
    let d = Daemon::start(&cfg.path, &[]);
    let (code, first) = d.post("/debug/sync");
    assert_eq!(code, 200, "{first}");
    let baseline = c1z::rows(Path::new(first.trim()));
    assert_eq!(d.get("/readyz").0, 200);

    let addr = d.http;
    let sync = std::thread::spawn(move || http(addr, "POST", "/debug/sync"));
    // The writer hangs while the second sync is under way.
    wait_until("the second sync", &d, || {
        d.logs().matches("teams listed").count() >= 2
    });
    let (code, body) = d.post("/debug/hang/snapshot_writer");
    assert_eq!(code, 202, "{body}");
    wait_until("readyz 503 while the writer is down", &d, || {
        d.get("/readyz").0 == 503
    });
    let (code, _) = sync.join().expect("sync thread");
    assert_ne!(code, 200, "a sync whose writer hung must not succeed");
    wait_until("unresponsive restart counted", &d, || {
        restarts(&d, "snapshot_writer", "unresponsive") == 1.0
    });
    wait_until("readyz back to 200", &d, || d.get("/readyz").0 == 200);
    let path = next_good_sync(&d);
    assert!(c1z::rows(Path::new(&path)) == baseline);
    let mut checked = vec![];
    check_output(&out, &baseline, &mut checked, "after hang");
}

/// During a Halo outage over many scheduler intervals, failed syncs keep one
/// retry chain: retries never outnumber the periodic triggers by more than the
/// first interval's backoff steps.
#[test]
fn an_outage_keeps_one_pending_retry() {
    let cfg = temp_config(
        r#"
[halo]
base_url = "http://127.0.0.1:1"
client_id = "test-client"
max_attempts = 1
max_retry_elapsed = "1s"

[sync]
on_start = false
interval = "1s"
jitter = "0s"
retry_initial = "300ms"

[http]
listen = "127.0.0.1:0"
"#,
    );
    let d = Daemon::start(&cfg.path, &[("BATON_HALO__CLIENT_SECRET", "x")]);
    // (periodic triggers, retries, failed runs, refused runs), from one scrape.
    let counts = || {
        let m = d.metrics();
        let value = |series: &str| metric(&m, series).unwrap_or(0.0);
        let trig = |reason: &str| {
            value(&format!(
                "baton_haloitsm_sync_triggers_total{{reason=\"{reason}\"}}"
            ))
        };
        let runs = |result: &str| {
            value(&format!(
                "baton_haloitsm_sync_runs_total{{result=\"{result}\",type=\"full\"}}"
            ))
        };
        (
            trig("schedule"),
            trig("retry"),
            runs("failure"),
            runs("refused"),
        )
    };
    // Six periodic triggers, and the last trigger's attempt finished: every trigger so
    // far has its run (failed, or refused while another was running).
    let (mut ticks, mut retries, mut failures) = (0.0, 0.0, 0.0);
    wait_until("six periodic triggers, each with its run", &d, || {
        let refused;
        (ticks, retries, failures, refused) = counts();
        ticks >= 6.0 && failures + refused >= ticks + retries
    });
    // One chain: at most two retries fit in the first interval (300 ms, 600 ms),
    // then the capped backoff equals the interval and each tick supersedes the retry.
    // Piled-up chains would grow quadratically with the ticks instead.
    assert!(
        retries <= ticks + 2.0,
        "retries {retries} for {ticks} periodic triggers"
    );
    assert!(
        failures >= ticks,
        "every trigger failed: {failures} < {ticks}"
    );
    assert!(
        failures <= ticks + retries + 1.0,
        "{failures} failures for {ticks}+{retries} triggers"
    );
    let pending = metric_value(&d, "baton_haloitsm_sync_retry_pending");
    assert!(pending == 0.0 || pending == 1.0, "{pending}");
}

/// In-process: the whole pipeline under a budget equal to the simulator's
/// window (which counts token requests too). A gateway crash mid-sync must not
/// give the restarted gateway a budget of its own, and token refreshes take
/// their cells from the same budget: the simulator never answers 429.
#[actix::test]
async fn the_budget_holds_across_a_gateway_restart_tokens_included() {
    use actix::Actor;
    use baton_haloitsm::config::Config;
    use baton_haloitsm::daemon::pipeline::{self, Mode};
    use baton_haloitsm::daemon::supervisor::{
        Backoff, Fault, GetStatus, InjectFault, Probing, Supervisor,
    };
    use baton_haloitsm::sync::coordinator::StartSync;
    use haloitsm_sim::{RateLimitConfig, SimConfig};

    let sim = start(SimConfig {
        seed: 5,
        agents: 6000,
        teams: 10,
        roles: 4,
        token_lifetime: Duration::from_secs(1),
        rate_limit: Some(RateLimitConfig {
            requests: 30,
            window: Duration::from_secs(3),
            ..RateLimitConfig::default()
        }),
        ..SimConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[halo]
base_url = "{}"
client_id = "sim-client"
rate_limit = {{ requests = 30, window = "3s" }}
[output]
dir = "{}"
"#,
        sim.base_url(),
        dir.path().display()
    );
    let env: HashMap<String, String> = [(
        "BATON_HALO__CLIENT_SECRET".to_string(),
        "sim-secret".to_string(),
    )]
    .into();
    let cfg = Config::from_toml_str(&toml, &dir.path().join("c.toml"), &env).expect("config");
    let p = pipeline::build(&cfg, None, Mode::OneShot);
    let coordinator = p.coordinator.clone();
    let sup = Supervisor::with_probing(
        p.children,
        Backoff {
            initial: Duration::from_millis(50),
            max: Duration::from_millis(200),
        },
        Probing::default(),
    )
    .start();
    let dest = dir.path().join("out.c1z");
    let sync = coordinator.addr().send(StartSync {
        reason: "test",
        dest: Some(dest.clone()),
    });
    let crash = async {
        // Well into the sync: the window is full (30 requests, tokens included) when
        // the gateway dies.
        for _ in 0..4000 {
            if sim.control().requests().len() >= 30 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        sup.send(InjectFault {
            actor: "api_gateway".into(),
            fault: Fault::Crash,
        })
        .await
        .unwrap()
        .unwrap();
    };
    let (result, ()) = futures::join!(sync, crash);
    // Wait for the restart, then (if the crash failed the sync) sync again on
    // the new gateway.
    for _ in 0..400 {
        let status = sup.send(GetStatus).await.unwrap();
        if status
            .actors
            .iter()
            .any(|a| a.name == "api_gateway" && a.restarts == 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if !matches!(result, Ok(Ok(_))) {
        let again = coordinator
            .addr()
            .send(StartSync {
                reason: "test",
                dest: Some(dest.clone()),
            })
            .await;
        assert!(matches!(again, Ok(Ok(_))), "{again:?}");
    }
    let status = sup.send(GetStatus).await.unwrap();
    let gw = status
        .actors
        .iter()
        .find(|a| a.name == "api_gateway")
        .unwrap();
    assert_eq!(gw.restarts, 1, "the gateway was restarted");
    let control = sim.control();
    assert!(
        control.token_requests() >= 3,
        "token requests {} (lifetime 1 s)",
        control.token_requests()
    );
    let api = control
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .count();
    assert!(api > 60, "{api} API requests");
    assert_eq!(
        control.rate_limited(),
        0,
        "the simulator's window (30 per 3 s, tokens included) was exceeded"
    );
}

mod paging_consistency {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use actix::prelude::*;
    use baton_haloitsm::actor_slot::Slot;
    use baton_haloitsm::c1z::StoreOptions;
    use baton_haloitsm::c1z::reader::Snapshot;
    use baton_haloitsm::c1z::snapshot_writer::SnapshotWriter;
    use baton_haloitsm::halo;
    use baton_haloitsm::sync::coordinator::{CoordinatorSettings, StartSync, SyncCoordinator};
    use baton_haloitsm::sync::syncer::SyncError;
    use haloitsm_sim::{Hostile, LatencyConfig, SimAgent, SimConfig, SimControl, SimHandle};

    use crate::support::halo::unpaced;
    use crate::support::metrics::{local, ran_in_own_process};
    use crate::support::sim::{agent_ids, start};

    async fn sim() -> SimHandle {
        start(SimConfig {
            seed: 21,
            agents: 3000,
            teams: 12,
            roles: 6,
            latency: LatencyConfig {
                fixed: Duration::from_millis(3),
                ..LatencyConfig::default()
            },
            ..SimConfig::default()
        })
        .await
    }

    fn coordinator(sim: &SimHandle, dir: &std::path::Path, passes: u32) -> Addr<SyncCoordinator> {
        coordinator_with(sim, dir, passes, false)
    }

    fn coordinator_with(
        sim: &SimHandle,
        dir: &std::path::Path,
        passes: u32,
        include_end_users: bool,
    ) -> Addr<SyncCoordinator> {
        let client = halo::start(unpaced(sim));
        let writer = Slot::new(SnapshotWriter::start_with(
            StoreOptions::default(),
            Duration::ZERO,
        ));
        SyncCoordinator::new(
            client,
            writer,
            None,
            CoordinatorSettings {
                output_dir: dir.to_path_buf(),
                include_end_users,
                max_consistency_passes: passes,
            },
        )
        .start()
    }

    fn agent_pages(control: &SimControl) -> usize {
        control
            .requests()
            .iter()
            .filter(|r| r.path.eq_ignore_ascii_case("/api/Agent") && r.query.contains("page_no"))
            .count()
    }

    /// Delete the lowest-id agents (shifting every later offset) and add new
    /// ones, once the sync has read `after` agent pages; `rounds` times, one
    /// round per further page. Returns the deleted ids.
    async fn mutate(control: SimControl, after: usize, rounds: usize) -> BTreeSet<i64> {
        let mut deleted = BTreeSet::new();
        let mut done = 0;
        for _ in 0..20_000 {
            if done >= rounds {
                break;
            }
            if agent_pages(&control) >= after + done {
                let victims: Vec<i64> = control
                    .snapshot()
                    .agents
                    .iter()
                    .map(|a| a.id)
                    .take(3)
                    .collect();
                for id in victims {
                    control.delete_agent(id);
                    deleted.insert(id);
                }
                control
                    .insert_agent(SimAgent::named(format!("late {done}")))
                    .expect("insert");
                done += 1;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        deleted
    }

    fn inconsistent_passes() -> f64 {
        local("baton_haloitsm_sync_inconsistent_passes_total")
    }

    /// Agents deleted and added while the first pass pages: that pass does not
    /// add up, the list is paged again, and the published snapshot holds every
    /// agent that existed throughout the sync.
    #[actix::test]
    async fn a_list_that_changed_while_paging_is_paged_again() {
        if ran_in_own_process(
            module_path!(),
            "a_list_that_changed_while_paging_is_paged_again",
        ) {
            return;
        }
        baton_haloitsm::telemetry::init();
        let sim = sim().await;
        let before: BTreeSet<i64> = agent_ids(&sim).into_iter().collect();
        let dir = tempfile::tempdir().unwrap();
        let coord = coordinator(&sim, dir.path(), 3);
        let dest = dir.path().join("a.c1z");
        let passes_before = inconsistent_passes();
        let mutator = actix::spawn(mutate(sim.control(), 3, 2));
        let report = coord
            .send(StartSync {
                reason: "test",
                dest: Some(dest.clone()),
            })
            .await
            .unwrap()
            .expect("a later pass is consistent");
        let deleted = mutator.await.unwrap();
        assert_eq!(deleted.len(), 6);
        assert!(
            inconsistent_passes() > passes_before,
            "the first pass was not flagged"
        );
        let snap = Snapshot::open(&report.snapshot.path).unwrap();
        let synced: BTreeSet<i64> = snap
            .resources(Some("agent"))
            .unwrap()
            .iter()
            .filter_map(|r| r.id.as_ref()?.resource.parse().ok())
            .collect();
        let throughout: BTreeSet<i64> = before.difference(&deleted).copied().collect();
        let missing: Vec<_> = throughout.difference(&synced).collect();
        assert!(
            missing.is_empty(),
            "agents that existed throughout are missing: {missing:?}"
        );
    }

    /// End users get the agents' count check: a pass whose `record_count` does not match what
    /// it read is paged again; a list that never adds up fails the sync, naming the list, and
    /// publishes nothing. (The simulator rewrites `record_count` on the user pages.)
    #[actix::test]
    async fn end_users_that_do_not_add_up_are_paged_again_then_refused() {
        let sim = start(SimConfig {
            seed: 22,
            agents: 20,
            users: 250,
            ..SimConfig::default()
        })
        .await;
        let dir = tempfile::tempdir().unwrap();
        let users_in_tenant = sim.control().snapshot().users.len();
        let user_pages = |c: &SimControl| {
            c.requests()
                .iter()
                .filter(|r| {
                    r.path.eq_ignore_ascii_case("/api/Users") && r.query.contains("page_no")
                })
                .count()
        };

        // The first page of the first pass lies: a second pass is needed, and enough.
        sim.control()
            .hostile_next(1, Hostile::RecordCount(999.into()), Some("/api/Users"));
        let dest = dir.path().join("u.c1z");
        let report = coordinator_with(&sim, dir.path(), 3, true)
            .send(StartSync {
                reason: "test",
                dest: Some(dest.clone()),
            })
            .await
            .unwrap()
            .expect("the second pass adds up");
        let pages_one_pass = users_in_tenant.div_ceil(100);
        assert_eq!(user_pages(&sim.control()), 2 * pages_one_pass);
        let snap = Snapshot::open(&report.snapshot.path).unwrap();
        assert_eq!(
            snap.resources(Some("user")).unwrap().len(),
            users_in_tenant,
            "each end user once"
        );

        // Every page lies: refused after the configured passes, nothing published.
        sim.control().clear_requests();
        sim.control().hostile_next(
            u32::MAX,
            Hostile::RecordCount(999.into()),
            Some("/api/Users"),
        );
        let dest = dir.path().join("v.c1z");
        let result = coordinator_with(&sim, dir.path(), 2, true)
            .send(StartSync {
                reason: "test",
                dest: Some(dest.clone()),
            })
            .await
            .unwrap();
        match result {
            Err(e @ SyncError::Inconsistent { passes: 2, .. }) => {
                assert!(
                    e.to_string().starts_with("end users changed while paging"),
                    "{e}"
                )
            }
            other => panic!("expected an inconsistent-list failure, got {other:?}"),
        }
        assert!(!dest.exists(), "a failed sync published {}", dest.display());
    }

    /// A list that keeps changing on every pass fails the sync with the reason,
    /// and nothing is published.
    #[actix::test]
    async fn a_list_that_never_settles_fails_the_sync_and_publishes_nothing() {
        baton_haloitsm::telemetry::init();
        let sim = sim().await;
        let dir = tempfile::tempdir().unwrap();
        let coord = coordinator(&sim, dir.path(), 2);
        let dest = dir.path().join("b.c1z");
        // One round per page from the third one on, through both passes.
        let mutator = actix::spawn(mutate(sim.control(), 3, 60));
        let result = coord
            .send(StartSync {
                reason: "test",
                dest: Some(dest.clone()),
            })
            .await
            .unwrap();
        mutator.abort();
        match result {
            Err(SyncError::Inconsistent { passes, .. }) => assert_eq!(passes, 2),
            other => panic!("expected an inconsistent-list failure, got {other:?}"),
        }
        assert!(!dest.exists(), "a failed sync published {}", dest.display());
        let left = crate::support::dir_names(dir.path());
        assert!(left.is_empty(), "{left:?}");
    }
}
