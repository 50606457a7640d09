//! Targeted and filtered syncs (issue 17), as C1 sends them: the real daemon in service
//! mode, the fake C1 over gRPC, the simulator in this process. Each task's uploaded c1z
//! is read with plain SQLite (`v1_sync_runs.sync_type`, the rows of every table) and
//! compared with the simulator's own state; the simulator's request log shows what the
//! sync cost. The CLI's baton flags are at the end.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use baton_haloitsm::pb;
use baton_haloitsm::pb::baton::baton_service_finish_task_request::FinalState;
use baton_haloitsm::pb::baton::task::SyncFullTask;
use baton_haloitsm::pb::baton::{BatonServiceFinishTaskRequest, Task, task};
use haloitsm_sim::{SimConfig, SimHandle};

use crate::support::c1z::raw_db;
use crate::support::daemon::{BIN, Daemon};
use crate::support::dir_names;
use crate::support::fake_c1::{FakeC1, Script, task_id};
use crate::support::leaks::Scanned as _;
use crate::support::provisioning::config_text;
use crate::support::sim::start;

struct Env {
    sim: SimHandle,
    fake: FakeC1,
    _daemon: Daemon,
    next: u32,
    dir: tempfile::TempDir,
}

fn sim_config() -> SimConfig {
    SimConfig {
        seed: 17,
        agents: 60,
        teams: 4,
        roles: 3,
        users: 5,
        ticket_types: 1,
        ..SimConfig::default()
    }
}

fn config(dir: &Path, sim: &SimHandle) -> std::path::PathBuf {
    let text = config_text(dir, &sim.base_url(), "", "").replace(
        "[sync]\non_start = false",
        "[sync]\non_start = false\ninclude_end_users = true",
    ) + &format!("\n[c1]\ntemp_dir = \"{}\"\n", dir.join("c1-tmp").display());
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

async fn env() -> Env {
    let sim = start(sim_config()).await;
    let fake = FakeC1::start(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim);
    let daemon = Daemon::start_owned(&cfg, &fake.baton_env("targeted-host"));
    Env {
        sim,
        fake,
        _daemon: daemon,
        next: 0,
        dir,
    }
}

/// What one uploaded c1z holds.
#[derive(Debug)]
struct Uploaded {
    sync_type: String,
    parent: String,
    resources: BTreeSet<String>,
    entitlements: BTreeSet<String>,
    grants: BTreeSet<String>,
}

fn read_c1z(path: &Path) -> Uploaded {
    let (_db, conn) = raw_db(path);
    let (sync_type, parent): (String, String) = conn
        .query_row(
            "SELECT sync_type, parent_sync_id FROM v1_sync_runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let ids = |sql: &str| -> BTreeSet<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        stmt.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    Uploaded {
        sync_type,
        parent,
        resources: ids("SELECT external_id FROM v1_resources"),
        entitlements: ids("SELECT external_id FROM v1_entitlements"),
        grants: ids("SELECT external_id FROM v1_grants"),
    }
}

fn target(t: &str, id: &str) -> pb::Resource {
    pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: t.into(),
            resource: id.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl Env {
    /// Hands one sync task to the connector; answers its FinishTask and, on success,
    /// what it uploaded. The simulator's request log is cleared first.
    async fn run(&mut self, t: SyncFullTask) -> (BatonServiceFinishTaskRequest, Option<Uploaded>) {
        self.sim.control().clear_requests();
        self.next += 1;
        let id = task_id(self.next);
        self.fake.push_task(Task {
            id: id.clone(),
            task_type: Some(task::TaskType::SyncFull(t)),
            ..Default::default()
        });
        self.fake
            .wait_until("the task's FinishTask", |r| {
                r.finishes.iter().any(|f| f.task_id == id)
            })
            .await;
        let rec = self.fake.rec.lock().unwrap();
        let finish = rec
            .finishes
            .iter()
            .find(|f| f.task_id == id)
            .cloned()
            .unwrap();
        let upload = rec.uploads.iter().find(|u| u.task_id == id).map(|u| {
            let file = self.dir.path().join(format!("{id}.c1z"));
            std::fs::write(&file, &u.data).unwrap();
            read_c1z(&file)
        });
        (finish, upload)
    }

    /// (method, path?query) of every request since the task started, token requests aside.
    fn requests(&self) -> Vec<String> {
        self.sim
            .control()
            .requests()
            .iter()
            .filter(|r| !r.path.starts_with("/auth"))
            .map(|r| format!("{} {}?{}", r.method, r.path, r.query))
            .collect()
    }

    /// Grant ids the simulator's state says agent `id` holds.
    fn grants_of_agent(&self, id: i64) -> BTreeSet<String> {
        let snap = self.sim.control().snapshot();
        let a = snap.agents.iter().find(|a| a.id == id).unwrap();
        let teams = a
            .team_ids
            .iter()
            .map(|t| format!("team:{t}:member:agent:{id}"));
        let roles = a
            .role_ids
            .iter()
            .map(|r| format!("role:{r}:assigned:agent:{id}"));
        teams.chain(roles).collect()
    }

    fn members_of_team(&self, team: i64) -> BTreeSet<String> {
        let snap = self.sim.control().snapshot();
        snap.agents
            .iter()
            .filter(|a| a.team_ids.contains(&team))
            .map(|a| format!("team:{team}:member:agent:{}", a.id))
            .collect()
    }
}

fn succeeded(f: &BatonServiceFinishTaskRequest) {
    assert!(
        matches!(f.final_state, Some(FinalState::Success(_))),
        "{f:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targeted_resources_make_a_partial_sync_of_just_them() {
    let mut env = env().await;
    let (finish, up) = env
        .run(SyncFullTask {
            targeted_sync_resources: vec![
                target("agent", "5"),
                target("team", "2"),
                target("agent", "5"),
                target("team", "999"),
            ],
            ..Default::default()
        })
        .await;
    succeeded(&finish);
    let up = up.expect("an upload");
    assert_eq!(up.sync_type, "partial");
    assert_eq!(up.parent, "", "a new file holds no earlier full sync");
    assert_eq!(
        up.resources,
        BTreeSet::from(["agent:5".to_string(), "team:2".to_string()])
    );
    assert_eq!(
        up.entitlements,
        BTreeSet::from(["team:2:member".to_string()])
    );
    let mut want = env.grants_of_agent(5);
    want.extend(env.members_of_team(2));
    assert_eq!(up.grants, want);
    // One read per target (the duplicate dropped, the 404 skipped), no listing at all.
    let mut reqs = env.requests();
    reqs.sort();
    assert_eq!(
        reqs,
        [
            "GET /api/Agent/5?includedetails=true",
            "GET /api/Team/2?includeagents=true",
            "GET /api/Team/999?includeagents=true",
        ]
    );
    // The daemon's own snapshots are untouched; the task's temp file is gone.
    let out = env.dir.path().join("out");
    assert!(
        dir_names(&out).iter().all(|n| !n.contains("partial")),
        "{:?}",
        dir_names(&out)
    );
    assert!(dir_names(&env.dir.path().join("c1-tmp")).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_targets_types_filter_and_skips() {
    let mut env = env().await;
    let role = env.sim.control().snapshot().roles[0].clone();
    // The reference: a plain full sync of the same tenant.
    let (finish, full) = env.run(SyncFullTask::default()).await;
    succeeded(&finish);
    let full = full.unwrap();
    assert_eq!(full.sync_type, "full");
    let of_types = |set: &BTreeSet<String>, types: &[&str]| -> BTreeSet<String> {
        set.iter()
            .filter(|id| types.iter().any(|t| id.starts_with(&format!("{t}:"))))
            .cloned()
            .collect()
    };

    // A role: its entitlement and every holder, from the role read and the filtered list.
    let (finish, up) = env
        .run(SyncFullTask {
            targeted_sync_resources: vec![target("role", &role.id)],
            ..Default::default()
        })
        .await;
    succeeded(&finish);
    let up = up.unwrap();
    let holders: BTreeSet<String> = env
        .sim
        .control()
        .snapshot()
        .agents
        .iter()
        .filter(|a| a.role_ids.contains(&role.id))
        .map(|a| format!("role:{}:assigned:agent:{}", role.id, a.id))
        .collect();
    assert!(!holders.is_empty());
    assert_eq!(up.grants, holders);
    assert_eq!(up.resources, BTreeSet::from([format!("role:{}", role.id)]));
    let reqs = env.requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert!(
        reqs[0].starts_with(&format!("GET /api/Roles/{}?", role.id)),
        "{reqs:?}"
    );
    assert!(
        reqs[1].contains(&format!("role={}", role.id_int)),
        "{reqs:?}"
    );

    // Targets whose type the filter excludes are dropped: only the team is read.
    let (finish, up) = env
        .run(SyncFullTask {
            targeted_sync_resources: vec![target("agent", "5"), target("team", "2")],
            sync_resource_type_ids: vec!["team".into()],
            ..Default::default()
        })
        .await;
    succeeded(&finish);
    let up = up.unwrap();
    assert_eq!(up.sync_type, "partial");
    assert_eq!(up.resources, BTreeSet::from(["team:2".to_string()]));
    assert_eq!(up.grants, env.members_of_team(2));
    assert_eq!(env.requests(), ["GET /api/Team/2?includeagents=true"]);

    // Targeted + skip_entitlements_and_grants stays partial, with the resources only.
    let (finish, up) = env
        .run(SyncFullTask {
            targeted_sync_resources: vec![target("agent", "5"), target("team", "2")],
            skip_entitlements_and_grants: true,
            ..Default::default()
        })
        .await;
    succeeded(&finish);
    let up = up.unwrap();
    assert_eq!(up.sync_type, "partial");
    assert_eq!(up.resources.len(), 2);
    assert!(up.entitlements.is_empty() && up.grants.is_empty(), "{up:?}");

    // Types team and role: their resources, entitlements and grants; no agent, no user.
    let (finish, up) = env
        .run(SyncFullTask {
            sync_resource_type_ids: vec!["team".into(), "role".into()],
            ..Default::default()
        })
        .await;
    succeeded(&finish);
    let up = up.unwrap();
    assert_eq!(up.sync_type, "full");
    assert_eq!(up.resources, of_types(&full.resources, &["team", "role"]));
    assert_eq!(up.resources.len(), 4 + 3);
    assert_eq!(up.entitlements, full.entitlements);
    assert_eq!(up.grants, full.grants, "team and role grants are theirs");
    assert!(full.resources.iter().any(|r| r.starts_with("user:")));

    // skip_entitlements_and_grants: resources_only, every resource, nothing else.
    let (finish, up) = env
        .run(SyncFullTask {
            skip_entitlements_and_grants: true,
            ..Default::default()
        })
        .await;
    succeeded(&finish);
    let up = up.unwrap();
    assert_eq!(up.sync_type, "resources_only");
    assert_eq!(up.resources, full.resources);
    assert!(up.entitlements.is_empty() && up.grants.is_empty());

    // skip_grants: a full sync with entitlements and no grants; skip_expand_grants and
    // the pebble engine are accepted (the file is SQLite, which C1 reads).
    let (finish, up) = env
        .run(SyncFullTask {
            skip_grants: true,
            skip_expand_grants: true,
            storage_engine: "pebble".into(),
            ..Default::default()
        })
        .await;
    succeeded(&finish);
    let up = up.unwrap();
    assert_eq!(up.sync_type, "full");
    assert_eq!(up.resources, full.resources);
    assert_eq!(up.entitlements, full.entitlements);
    assert!(up.grants.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_options_fail_the_task_before_any_request() {
    let mut env = env().await;
    for (t, needle) in [
        (
            SyncFullTask {
                storage_engine: "rocksdb".into(),
                ..Default::default()
            },
            "rocksdb",
        ),
        (
            SyncFullTask {
                targeted_sync_resources: vec![target("team", "abc")],
                ..Default::default()
            },
            "team:abc",
        ),
        (
            SyncFullTask {
                sync_resource_type_ids: vec!["widget".into()],
                ..Default::default()
            },
            "widget",
        ),
    ] {
        let (finish, up) = env.run(t).await;
        assert!(up.is_none(), "nothing is uploaded");
        let Some(FinalState::Error(e)) = &finish.final_state else {
            panic!("not an error: {finish:?}");
        };
        assert!(e.non_retryable, "{finish:?}");
        let status = finish.status.as_ref().unwrap();
        assert_eq!(status.code, tonic::Code::InvalidArgument as i32);
        assert!(status.message.contains(needle), "{}", status.message);
        assert!(env.requests().is_empty(), "{:?}", env.requests());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_sync_resources_with_baton_flags() {
    let sim = start(sim_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &sim);
    let out = dir.path().join("t.c1z");
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config")
            .arg(&cfg)
            .args(["sync", "-f"])
            .arg(&out)
            .args(args);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output_scanned().unwrap()
    };
    let o = run(&["--sync-resources", "agent:5,team:999,bid:r:team/2"], &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("partial sync"));
    let up = read_c1z(&out);
    assert_eq!(up.sync_type, "partial");
    assert_eq!(
        up.resources,
        BTreeSet::from(["agent:5".to_string(), "team:2".to_string()])
    );
    // The same from the environment, with types and a skip.
    let o = run(
        &[],
        &[
            ("BATON_SYNC_RESOURCE_TYPES", "team,role"),
            ("BATON_SKIP_ENTITLEMENTS_AND_GRANTS", "true"),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let up = read_c1z(&out);
    assert_eq!(up.sync_type, "resources_only");
    assert_eq!(up.resources.len(), 4 + 3);

    // Malformed ids: refused with the id named, exit 78, before any request.
    sim.control().clear_requests();
    for bad in ["agent:", "team:abc", "widget:1"] {
        let o = run(&["--sync-resources", bad], &[]);
        assert_eq!(o.status.code(), Some(78), "{bad}");
        assert!(String::from_utf8_lossy(&o.stderr).contains(bad), "{bad}");
    }
    let o = run(&["--sync-resource-types", "team,widget"], &[]);
    assert_eq!(o.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&o.stderr).contains("widget"));
    assert!(sim.control().requests().is_empty());
}
