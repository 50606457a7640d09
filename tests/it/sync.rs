//! Full sync against the simulator over HTTP, into real c1z files: the round
//! trip is exact, the request count is the floor, output is deterministic, the
//! writer's pace bounds the syncers, and failed/cancelled/overlapping syncs
//! publish nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use actix::prelude::*;
use baton_haloitsm::actor_slot::Slot;
use baton_haloitsm::c1z::StoreOptions;
use baton_haloitsm::c1z::reader::Snapshot;
use baton_haloitsm::c1z::snapshot_writer::SnapshotWriter;
use baton_haloitsm::halo;
use baton_haloitsm::pb;
use baton_haloitsm::sync::coordinator::{
    CancelSync, CoordinatorSettings, StartSync, SyncCoordinator, SyncReport,
};
use baton_haloitsm::sync::syncer::SyncError;
use haloitsm_sim::{SimConfig, SimHandle};

use crate::support::c1z;
use crate::support::halo::unpaced;
use crate::support::metrics::{local, ran_in_own_process};
use crate::support::sim::start;

fn sim_config(agents: usize, users: usize) -> SimConfig {
    SimConfig {
        seed: 11,
        agents,
        teams: 12,
        roles: 6,
        users,
        ..SimConfig::default()
    }
}

fn coordinator(
    sim: &SimHandle,
    dir: &Path,
    end_users: bool,
    write_delay: Duration,
) -> Addr<SyncCoordinator> {
    let client = halo::start(unpaced(sim));
    let writer = Slot::new(SnapshotWriter::start_with(
        StoreOptions::default(),
        write_delay,
    ));
    SyncCoordinator::new(
        client,
        writer,
        None,
        CoordinatorSettings {
            output_dir: dir.to_path_buf(),
            include_end_users: end_users,
            max_consistency_passes: 3,
        },
    )
    .start()
}

async fn sync_into(coord: &Addr<SyncCoordinator>, dest: &Path) -> Result<SyncReport, SyncError> {
    coord
        .send(StartSync {
            reason: "test",
            dest: Some(dest.to_path_buf()),
        })
        .await
        .expect("coordinator answers")
}

fn ids(resources: &[pb::Resource]) -> BTreeSet<String> {
    resources
        .iter()
        .map(|r| r.id.as_ref().unwrap().resource.clone())
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    v.sort();
    v
}

#[actix::test]
async fn round_trip_reproduces_the_tenant_exactly() {
    let sim = start(sim_config(257, 130)).await;
    let tenant = sim.control().snapshot();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("sync.c1z");
    let coord = coordinator(&sim, dir.path(), true, Duration::ZERO);
    let report = sync_into(&coord, &dest).await.expect("sync succeeds");
    assert_eq!(report.snapshot.path, dest);

    let snap = Snapshot::open(&dest).expect("our c1z reads back");
    let run = snap.sync().expect("one sync run");
    assert!(run.ended_at.is_some(), "sync run must be finished");

    // Resource types.
    let types: BTreeSet<String> = snap
        .resource_types()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(
        types,
        ["agent", "role", "team", "user"].map(String::from).into()
    );

    // Every agent, disabled and API-only included, with the right status and account type.
    let agents = snap.resources(Some("agent")).unwrap();
    let want: BTreeSet<String> = tenant.agents.iter().map(|a| a.id.to_string()).collect();
    assert_eq!(ids(&agents), want);
    assert!(
        tenant.agents.iter().any(|a| a.disabled),
        "tenant should have disabled agents"
    );
    assert!(
        tenant.agents.iter().any(|a| a.api_agent),
        "tenant should have API agents"
    );
    let by_id: BTreeMap<String, &pb::Resource> = agents
        .iter()
        .map(|r| (r.id.as_ref().unwrap().resource.clone(), r))
        .collect();
    for a in &tenant.agents {
        let r = by_id[&a.id.to_string()];
        let want_status = if a.disabled {
            pb::status::ResourceStatus::Disabled
        } else {
            pb::status::ResourceStatus::Enabled
        };
        assert_eq!(
            r.status.as_ref().unwrap().status,
            want_status as i32,
            "agent {}",
            a.id
        );
        let ut: pb::UserTrait = pb::find_annotation(&r.annotations).expect("UserTrait");
        let want_type = if a.api_agent {
            pb::user_trait::AccountType::Service
        } else {
            pb::user_trait::AccountType::Human
        };
        assert_eq!(ut.account_type, want_type as i32, "agent {}", a.id);
        if !a.email.is_empty() {
            assert_eq!(ut.emails[0].address, a.email);
        }
        assert_eq!(r.display_name, a.name);
    }

    // Teams and roles, each with exactly one entitlement.
    let teams = snap.resources(Some("team")).unwrap();
    assert_eq!(
        ids(&teams),
        tenant.teams.iter().map(|t| t.id.to_string()).collect()
    );
    let roles = snap.resources(Some("role")).unwrap();
    assert_eq!(
        ids(&roles),
        tenant.roles.iter().map(|r| r.id.clone()).collect()
    );
    let ents: BTreeSet<String> = snap
        .entitlements(None)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut want_ents: BTreeSet<String> = tenant
        .teams
        .iter()
        .map(|t| format!("team:{}:member", t.id))
        .collect();
    want_ents.extend(
        tenant
            .roles
            .iter()
            .map(|r| format!("role:{}:assigned", r.id)),
    );
    assert_eq!(ents, want_ents);

    // Every membership, exactly.
    let grants: BTreeSet<String> = snap
        .grants(None)
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .collect();
    let mut want_grants = BTreeSet::new();
    for a in &tenant.agents {
        for t in &a.team_ids {
            want_grants.insert(format!("team:{t}:member:agent:{}", a.id));
        }
        for r in &a.role_ids {
            want_grants.insert(format!("role:{r}:assigned:agent:{}", a.id));
        }
    }
    assert_eq!(grants.len(), want_grants.len());
    assert_eq!(grants, want_grants);

    // End users, inactive included.
    let users = snap.resources(Some("user")).unwrap();
    assert_eq!(
        ids(&users),
        tenant.users.iter().map(|u| u.id.to_string()).collect()
    );
}

#[actix::test]
async fn request_count_is_the_floor() {
    let (agents, users) = (1_234, 250);
    let sim = start(sim_config(agents, users)).await;
    let dir = tempfile::tempdir().unwrap();
    let coord = coordinator(&sim, dir.path(), true, Duration::ZERO);
    sim.control().clear_requests();
    sync_into(&coord, &dir.path().join("a.c1z"))
        .await
        .expect("sync");
    let log = sim.control().requests();
    let api: Vec<_> = log.iter().filter(|r| r.path.starts_with("/api/")).collect();
    let count = |p: &str| {
        api.iter()
            .filter(|r| r.path.eq_ignore_ascii_case(p))
            .count()
    };
    // The agent list holds disabled and API-only agents too: all `agents` of the tenant.
    assert_eq!(count("/api/Agent"), agents.div_ceil(100), "{api:?}");
    assert_eq!(count("/api/Users"), users.div_ceil(100));
    assert_eq!(count("/api/Team"), 1);
    assert_eq!(count("/api/Roles"), 1);
    assert_eq!(
        api.len(),
        agents.div_ceil(100) + users.div_ceil(100) + 2,
        "no N+1"
    );
    assert_eq!(sim.control().token_requests(), 1);
}

#[actix::test]
async fn same_tenant_twice_gives_identical_rows_and_blobs() {
    let sim = start(sim_config(180, 40)).await;
    let dir = tempfile::tempdir().unwrap();
    let coord = coordinator(&sim, dir.path(), true, Duration::ZERO);
    let (a, b) = (dir.path().join("a.c1z"), dir.path().join("b.c1z"));
    let ra = sync_into(&coord, &a).await.unwrap();
    let rb = sync_into(&coord, &b).await.unwrap();
    assert_ne!(ra.sync_id, rb.sync_id, "each sync has its own id");
    let (rows_a, rows_b) = (c1z::rows(&a), c1z::rows(&b));
    assert!(rows_a["v1_grants"].len() > 100);
    assert_eq!(rows_a, rows_b);
}

#[actix::test]
async fn a_slow_writer_holds_the_syncers_back_and_loses_nothing() {
    let agents = 1_000; // 10 agent pages, 2 writes per page
    let delay = Duration::from_millis(60);
    let sim = start(sim_config(agents, 0)).await;
    let dir = tempfile::tempdir().unwrap();
    let coord = coordinator(&sim, dir.path(), false, delay);
    let control = sim.control();
    let dest = dir.path().join("slow.c1z");

    let started = Instant::now();
    let sync = coord.send(StartSync {
        reason: "test",
        dest: Some(dest.clone()),
    });
    // Sample how many agent pages the simulator served while the writer is busy.
    let sampler = async {
        let mut worst_lead = i64::MIN;
        for _ in 0..20 {
            actix_rt::time::sleep(Duration::from_millis(50)).await;
            let served = control
                .requests()
                .iter()
                .filter(|r| r.path.eq_ignore_ascii_case("/api/Agent"))
                .count() as i64;
            // Writes finished so far (teams+roles+types take 5 writes; then 2 per page).
            let written_pages =
                ((started.elapsed().as_millis() as i64) / delay.as_millis() as i64 - 5) / 2;
            worst_lead = worst_lead.max(served - written_pages.max(0));
        }
        worst_lead
    };
    let (res, worst_lead) = futures::join!(sync, sampler);
    let report = res.unwrap().expect("sync succeeds");
    let elapsed = started.elapsed();
    // With a fast simulator the only thing slowing the agent pages is the writer.
    assert!(
        elapsed >= delay * (5 + 2 * (agents / 100) as u32),
        "writer delay should pace the sync: {elapsed:?}"
    );
    assert!(
        worst_lead <= 2,
        "syncers ran {worst_lead} pages ahead of the writer: not bounded"
    );
    assert_eq!(report.agents as usize, agents);
    assert_eq!(
        Snapshot::open(&dest)
            .unwrap()
            .resources(Some("agent"))
            .unwrap()
            .len(),
        agents
    );
}

#[actix::test]
async fn overlapping_triggers_run_once_and_cancel_publishes_nothing() {
    let sim = start(sim_config(600, 0)).await;
    let dir = tempfile::tempdir().unwrap();
    let coord = coordinator(&sim, dir.path(), false, Duration::from_millis(40));
    let dest = dir.path().join("never.c1z");

    let first = coord.send(StartSync {
        reason: "test",
        dest: Some(dest.clone()),
    });
    let control = sim.control();
    let second = async {
        // Once the first sync has reached the simulator, it is running.
        for _ in 0..1000 {
            if !control.requests().is_empty() {
                break;
            }
            actix_rt::time::sleep(Duration::from_millis(5)).await;
        }
        let r = coord
            .send(StartSync {
                reason: "overlap",
                dest: Some(dir.path().join("second.c1z")),
            })
            .await
            .unwrap();
        // Then cancel the first one midway.
        assert!(coord.send(CancelSync).await.unwrap(), "a sync was running");
        r
    };
    let (first, second) = futures::join!(first, second);
    assert!(
        matches!(second, Err(SyncError::AlreadyRunning(_))),
        "{second:?}"
    );
    assert!(matches!(first.unwrap(), Err(SyncError::Cancelled)));
    assert!(!dest.exists(), "a cancelled sync must not publish");
    assert!(
        files_in(dir.path()).is_empty(),
        "temp files left: {:?}",
        files_in(dir.path())
    );

    // The coordinator is free again afterwards.
    let ok = sync_into(&coord, &dest).await.expect("next sync runs");
    assert!(ok.snapshot.path.exists());
}

#[actix::test]
async fn unwritable_destination_fails_naming_the_path_and_keeps_the_previous_file() {
    let sim = start(sim_config(50, 0)).await;
    let dir = tempfile::tempdir().unwrap();
    let coord = coordinator(&sim, dir.path(), false, Duration::ZERO);
    let good = dir.path().join("good.c1z");
    sync_into(&coord, &good).await.expect("first sync");
    let before = std::fs::read(&good).unwrap();

    // A destination under a regular file cannot be created (even as root).
    let bad: PathBuf = good.join("nested.c1z");
    let err = sync_into(&coord, &bad).await.expect_err("must fail");
    assert!(
        err.to_string().contains(&good.display().to_string()),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&good).unwrap(),
        before,
        "previous snapshot changed"
    );
    assert_eq!(files_in(dir.path()), ["good.c1z"]);
}

#[actix::test]
async fn memberships_to_unknown_teams_or_roles_are_counted_not_fatal() {
    if ran_in_own_process(
        module_path!(),
        "memberships_to_unknown_teams_or_roles_are_counted_not_fatal",
    ) {
        return;
    }
    use baton_haloitsm::c1z::snapshot_writer::{AbortSnapshot, BeginSnapshot};
    use baton_haloitsm::sync::agent_syncer::{AgentSyncer, SyncAgents};
    use baton_haloitsm::sync::mapping::{self, EntitlementRef};
    use baton_haloitsm::sync::syncer::{Cancel, SyncRun};
    use std::collections::HashMap;
    use std::sync::Arc;

    baton_haloitsm::telemetry::init();
    let sim = start(sim_config(120, 0)).await;
    let tenant = sim.control().snapshot();
    let dir = tempfile::tempdir().unwrap();
    let writer = SnapshotWriter::new().start();
    writer
        .send(BeginSnapshot {
            sync_id: "x".repeat(27),
            dest: dir.path().join("d.c1z"),
            sync_type: "full",
        })
        .await
        .unwrap()
        .unwrap();
    // The team list "lost" every team; only the first role is known.
    let role = &tenant.roles[0];
    let role_res = mapping::role_resource(&baton_haloitsm::halo::Role {
        id: role.id.clone(),
        name: role.name.clone(),
        ..Default::default()
    });
    let roles: HashMap<String, EntitlementRef> = [(
        role.id.clone(),
        EntitlementRef::of(&mapping::role_entitlement(&role_res)),
    )]
    .into();
    let run = SyncRun {
        sync_id: "x".repeat(27),
        client: halo::start(unpaced(&sim)),
        writer: writer.clone(),
        cancel: Cancel::default(),
        plan: std::sync::Arc::new(baton_haloitsm::sync::plan::SyncPlan::full()),
    };
    let dangling = |kind: &str| {
        local(&format!(
            "baton_haloitsm_sync_dangling_memberships_total{{kind=\"{kind}\"}}"
        ))
    };
    let (teams_before, roles_before) = (dangling("team"), dangling("role"));
    let done = AgentSyncer::new(run, Arc::new(HashMap::new()), Arc::new(roles), 1)
        .start()
        .send(SyncAgents)
        .await
        .unwrap()
        .expect("dangling memberships do not fail the sync");
    writer
        .send(AbortSnapshot {
            sync_id: "x".repeat(27),
        })
        .await
        .unwrap();

    let team_links: usize = tenant.agents.iter().map(|a| a.team_ids.len()).sum();
    let known_role_links = tenant
        .agents
        .iter()
        .filter(|a| a.role_ids.contains(&role.id))
        .count();
    let other_role_links: usize = tenant
        .agents
        .iter()
        .map(|a| a.role_ids.len())
        .sum::<usize>()
        - known_role_links;
    assert_eq!(done.agents as usize, tenant.agents.len());
    assert_eq!(done.grants as usize, known_role_links);
    assert_eq!(done.dangling as usize, team_links + other_role_links);
    assert_eq!(dangling("team") - teams_before, team_links as f64);
    assert_eq!(dangling("role") - roles_before, other_role_links as f64);
}
