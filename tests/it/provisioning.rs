//! Provisioning against the simulator over HTTP, through the daemon's own
//! pipeline, queue and SQLite journal: the lifecycle peers run against real
//! tenants, the last team, concurrency on one agent, transient failures,
//! writes that do not verify, and refusals.

use std::collections::BTreeSet;

use baton_haloitsm::c1z::reader::Snapshot;
use baton_haloitsm::provisioning::journal::OpStatus;
use baton_haloitsm::provisioning::operation::{NewAccount, OpRequest};
use baton_haloitsm::provisioning::outcome::{AlreadyKind, FailureKind, Outcome};
use baton_haloitsm::sync::coordinator::StartSync;
use haloitsm_sim::{ListWrites, QuirkConfig};

use crate::support::metrics::ran_in_own_process;
use crate::support::provisioning::*;

fn ok_with_grant(o: &Outcome, grant_id: &str) -> bool {
    matches!(o, Outcome::Ok { grants, .. } if grants == &vec![grant_id.to_string()])
}

fn already(o: &Outcome) -> Option<AlreadyKind> {
    match o {
        Outcome::Already { kind, .. } => Some(*kind),
        _ => None,
    }
}

/// Grant ids of `agent` in a fresh sync's c1z.
async fn synced_grants(h: &Harness, agent: i64, n: usize) -> BTreeSet<String> {
    let dest = h.dir.join(format!("sync-{n}.c1z"));
    h.pipeline
        .coordinator
        .addr()
        .send(StartSync {
            reason: "test",
            dest: Some(dest.clone()),
        })
        .await
        .expect("coordinator alive")
        .expect("sync succeeds");
    let suffix = format!(":agent:{agent}");
    Snapshot::open(&dest)
        .unwrap()
        .grants(None)
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .filter(|id| id.ends_with(&suffix))
        .collect()
}

async fn lifecycle(h: &Harness, entitlement: &str, agent: i64) {
    let gid = format!("{entitlement}:agent:{agent}");
    let o = h.run(grant(entitlement, agent)).await;
    assert!(ok_with_grant(&o, &gid), "grant: {o:?}");
    let o = h.run(grant(entitlement, agent)).await;
    assert_eq!(already(&o), Some(AlreadyKind::GrantAlreadyExists), "{o:?}");
    assert!(
        synced_grants(h, agent, 1).await.contains(&gid),
        "sync shows the grant"
    );
    let o = h.run(revoke(&gid)).await;
    assert!(matches!(o, Outcome::Ok { .. }), "revoke: {o:?}");
    let o = h.run(revoke(&gid)).await;
    assert_eq!(already(&o), Some(AlreadyKind::GrantAlreadyRevoked), "{o:?}");
    assert!(
        !synced_grants(h, agent, 2).await.contains(&gid),
        "sync shows it gone"
    );
    let o = h.run(grant(entitlement, agent)).await;
    assert!(ok_with_grant(&o, &gid), "grant again: {o:?}");
}

#[actix::test]
async fn team_lifecycle_changes_only_that_membership() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(20), "", "").await;
    let agent = 3;
    let team = h.team_not_held(agent);
    let (teams_before, roles_before) = (h.teams_of(agent), h.roles_of(agent));
    let before = h.agent(agent);
    lifecycle(&h, &format!("team:{team}:member"), agent).await;
    let mut expected = teams_before.clone();
    expected.insert(team);
    assert_eq!(h.teams_of(agent), expected);
    assert_eq!(h.roles_of(agent), roles_before, "roles untouched");
    let after = h.agent(agent);
    assert_eq!(
        (
            after.name,
            after.email,
            after.disabled,
            after.managed_team_ids
        ),
        (
            before.name,
            before.email,
            before.disabled,
            before.managed_team_ids
        ),
        "other fields and manager flags untouched"
    );
}

#[actix::test]
async fn role_lifecycle_with_each_strategy() {
    for strategy in ["agent_list", "add_roles"] {
        let dir = tempfile::tempdir().unwrap();
        let extra = format!("role_strategy = \"{strategy}\"");
        let h = Harness::start(dir.path(), sim_config(20), "", &extra).await;
        let agent = 4;
        let role = h.role_not_held(agent);
        let teams_before = h.teams_of(agent);
        let mut roles = h.roles_of(agent);
        lifecycle(&h, &format!("role:{role}:assigned"), agent).await;
        roles.insert(role);
        assert_eq!(h.roles_of(agent), roles, "{strategy}");
        assert_eq!(
            h.teams_of(agent),
            teams_before,
            "{strategy}: teams untouched"
        );
    }
}

#[actix::test]
async fn revoking_the_last_team_sends_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(10), "", "").await;
    let agent = 2;
    let teams = h.teams_of(agent);
    assert!(!teams.is_empty());
    for t in &teams {
        let o = h
            .run(revoke(&format!("team:{t}:member:agent:{agent}")))
            .await;
        assert!(matches!(o, Outcome::Ok { .. }), "{o:?}");
    }
    // With replace semantics an omitted `teams` would leave the last team in
    // place (and fail verification); only `teams: []` empties the list.
    assert!(h.teams_of(agent).is_empty());
}

#[actix::test]
async fn fifty_concurrent_changes_on_one_agent_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(10), "", "max_parallel = 8").await;
    let agent = 5;
    let teams: Vec<i64> = h
        .sim
        .control()
        .snapshot()
        .teams
        .iter()
        .map(|t| t.id)
        .collect();
    // A deterministic mix of grants and revokes; the sequential result is the
    // last word per team, applied in submission order.
    let mut expected = h.teams_of(agent);
    let mut reqs = Vec::new();
    for i in 0..50usize {
        let t = teams[(i * 7 + 3) % teams.len()];
        let ent = format!("team:{t}:member");
        if (i * 13) % 3 == 0 {
            expected.remove(&t);
            reqs.push(revoke(&format!("{ent}:agent:{agent}")));
        } else {
            expected.insert(t);
            reqs.push(grant(&ent, agent));
        }
    }
    // Submit all in order (acknowledged = journaled), then wait for all at once.
    let mut ids = Vec::new();
    for r in reqs {
        ids.push(h.submit(r).await);
    }
    let outcomes = futures::future::join_all(ids.iter().map(|id| h.prov.outcome(*id))).await;
    for o in &outcomes {
        assert!(o.as_ref().unwrap().is_success(), "{o:?}");
    }
    assert_eq!(h.teams_of(agent), expected);
    let finished = h.prov.list(Some(OpStatus::Finished), 100).await.unwrap();
    assert_eq!(finished.len(), 50);
}

#[actix::test]
async fn transient_failures_retry_and_permanent_ones_are_final() {
    let dir = tempfile::tempdir().unwrap();
    // The gateway does not retry here, so the queue's own retries are what is tested.
    let h = Harness::start(
        dir.path(),
        sim_config(10),
        "max_attempts = 1",
        "max_attempts = 4",
    )
    .await;
    let agent = 1;
    let team = h.team_not_held(agent);
    for status in [503, 429] {
        h.sim.control().fail_next(2, status, Some("/api/Agent"));
        let o = h.run(grant(&format!("team:{team}:member"), agent)).await;
        assert!(o.is_success(), "{status}: {o:?}");
        h.run(revoke(&format!("team:{team}:member:agent:{agent}")))
            .await;
    }
    let rows = h.prov.list(None, 10).await.unwrap();
    assert!(
        rows.iter().any(|r| r.attempts >= 3),
        "a retried operation: {rows:?}"
    );
    assert!(h.teams_of(agent).iter().all(|t| *t != team));

    // Out of attempts: unavailable, nothing half-applied.
    h.sim.control().fail_next(50, 503, Some("/api/Agent"));
    let o = h.run(grant(&format!("team:{team}:member"), agent)).await;
    assert_eq!(
        failed(&o).map(|f| f.0),
        Some(FailureKind::Unavailable),
        "{o:?}"
    );
    h.sim.control().clear_scripted_faults();
    assert!(!h.teams_of(agent).contains(&team));

    // Permanent: 403 names the permission, 404 the agent, 400 carries Halo's message.
    h.sim.control().fail_next(1, 403, Some("/api/Agent"));
    let o = h.run(grant(&format!("team:{team}:member"), agent)).await;
    assert_eq!(
        failed(&o).map(|f| f.0),
        Some(FailureKind::PermissionDenied),
        "{o:?}"
    );
    let o = h.run(grant(&format!("team:{team}:member"), 99_999)).await;
    let (kind, msg) = failed(&o).unwrap();
    assert_eq!(kind, FailureKind::NotFound);
    assert!(msg.contains("agent:99999"), "{msg}");
    let o = h.run(grant("team:424242:member", agent)).await;
    let (kind, msg) = failed(&o).unwrap();
    assert_eq!(kind, FailureKind::InvalidArgument);
    assert!(
        msg.contains("424242"),
        "Halo's message names the team: {msg}"
    );
    let rows = h.prov.list(None, 100).await.unwrap();
    assert!(rows.iter().all(|r| r.status == OpStatus::Finished));
}

#[actix::test]
async fn a_write_that_does_not_take_is_a_failure_in_every_mode() {
    if ran_in_own_process(
        module_path!(),
        "a_write_that_does_not_take_is_a_failure_in_every_mode",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(10), "", "").await;
    let agent = 6;
    let team = h.team_not_held(agent);
    let held = *h.teams_of(agent).iter().next().unwrap();
    for (mode, req) in [
        (
            ListWrites::Ignore,
            grant(&format!("team:{team}:member"), agent),
        ),
        (
            ListWrites::Merge,
            revoke(&format!("team:{held}:member:agent:{agent}")),
        ),
        (
            ListWrites::Ignore,
            revoke(&format!("team:{held}:member:agent:{agent}")),
        ),
    ] {
        h.sim.control().set_quirks(QuirkConfig {
            agent_list_writes: mode,
            ..QuirkConfig::default()
        });
        let o = h.run(req.clone()).await;
        let (kind, msg) = failed(&o).unwrap_or_else(|| panic!("{mode:?} {req:?}: {o:?}"));
        assert_eq!(kind, FailureKind::VerificationFailed, "{mode:?}");
        assert!(
            msg.contains(&format!("agent:{agent}")) && msg.contains("read back"),
            "{msg}"
        );
    }
    let role = h.role_not_held(agent);
    h.sim.control().set_quirks(QuirkConfig {
        agent_list_writes: ListWrites::Ignore,
        ..QuirkConfig::default()
    });
    let o = h.run(grant(&format!("role:{role}:assigned"), agent)).await;
    assert_eq!(
        failed(&o).map(|f| f.0),
        Some(FailureKind::VerificationFailed),
        "{o:?}"
    );
    let text = baton_haloitsm::telemetry::render();
    assert!(
        text.contains("baton_haloitsm_provisioning_verify_failures_total{op=\"grant\"} 2"),
        "{text}"
    );
}

#[actix::test]
async fn accounts_create_disable_enable_delete() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(5), "", "").await;
    let snap = h.sim.control().snapshot();
    let (team, role) = (snap.teams[0].id, snap.roles[0].id.clone());
    let new = NewAccount {
        email: "new.person@example.com".into(),
        name: "New Person".into(),
        firstname: Some("New".into()),
        surname: Some("Person".into()),
        team: Some(team),
        role: Some(role.clone()),
    };
    let o = h.run(OpRequest::CreateAccount(new.clone())).await;
    let Outcome::Ok {
        resource: Some(res),
        ..
    } = &o
    else {
        panic!("{o:?}")
    };
    let id: i64 = res.strip_prefix("agent:").unwrap().parse().unwrap();
    let a = h.agent(id);
    assert_eq!(
        (a.email.as_str(), a.team_ids.clone(), a.role_ids.clone()),
        ("new.person@example.com", vec![team], vec![role])
    );
    let o = h
        .run(OpRequest::CreateAccount(NewAccount {
            email: "NEW.person@example.com".into(),
            ..new
        }))
        .await;
    assert_eq!(
        o,
        Outcome::Already {
            kind: AlreadyKind::AccountAlreadyExists,
            resource: Some(res.clone())
        }
    );

    let disable = OpRequest::DisableAccount {
        resource: res.clone(),
    };
    assert!(matches!(h.run(disable.clone()).await, Outcome::Ok { .. }));
    assert!(h.agent(id).disabled);
    assert_eq!(
        already(&h.run(disable).await),
        Some(AlreadyKind::AlreadyDisabled)
    );
    let enable = OpRequest::EnableAccount {
        resource: res.clone(),
    };
    assert!(matches!(h.run(enable.clone()).await, Outcome::Ok { .. }));
    assert_eq!(
        already(&h.run(enable).await),
        Some(AlreadyKind::AlreadyEnabled)
    );

    // Delete is refused without allow_delete.
    let o = h
        .run(OpRequest::DeleteResource {
            resource: res.clone(),
        })
        .await;
    let (kind, msg) = failed(&o).unwrap();
    assert_eq!(kind, FailureKind::FailedPrecondition);
    assert!(msg.contains("allow_delete"), "{msg}");
    assert!(!h.agent(id).disabled, "nothing happened");
}

#[actix::test]
async fn delete_with_allow_delete() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(5), "", "allow_delete = true").await;
    let o = h
        .run(OpRequest::DeleteResource {
            resource: "agent:3".into(),
        })
        .await;
    assert!(matches!(o, Outcome::Ok { .. }), "{o:?}");
    assert!(h.sim.control().snapshot().agents.iter().all(|a| a.id != 3));
    let o = h
        .run(OpRequest::DeleteResource {
            resource: "agent:3".into(),
        })
        .await;
    assert_eq!(already(&o), Some(AlreadyKind::AlreadyDeleted));
}

#[actix::test]
async fn everything_is_refused_while_disabled_and_bad_ids_name_the_shape() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(5), "", "enabled = false").await;
    let before = h.sim.control().snapshot();
    for req in [
        grant("team:1:member", 1),
        revoke("team:1:member:agent:1"),
        OpRequest::DisableAccount {
            resource: "agent:1".into(),
        },
        OpRequest::DeleteResource {
            resource: "agent:1".into(),
        },
    ] {
        let o = h.run(req).await;
        let (kind, msg) = failed(&o).unwrap();
        assert_eq!(kind, FailureKind::FailedPrecondition);
        assert!(msg.contains("provisioning is not enabled"), "{msg}");
    }
    assert_eq!(h.sim.control().snapshot().agents, before.agents);
    assert!(
        h.prov.list(None, 10).await.unwrap().is_empty(),
        "nothing journaled"
    );

    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(5), "", "").await;
    for (req, needle) in [
        (grant("team:x:member", 1), "team:<id>:member"),
        (grant("team:1:owner", 1), "team:<id>:member"),
        (
            OpRequest::Grant {
                entitlement: "team:1:member".into(),
                principal: "user:4".into(),
            },
            "only agents",
        ),
        (revoke("team:1:member"), "agent:<id>"),
        (
            OpRequest::DisableAccount {
                resource: "team:1".into(),
            },
            "agent:<id>",
        ),
    ] {
        let o = h.run(req.clone()).await;
        let (kind, msg) = failed(&o).unwrap_or_else(|| panic!("{req:?}: {o:?}"));
        assert_eq!(kind, FailureKind::InvalidArgument);
        assert!(msg.contains(needle), "{msg}");
    }
    assert!(h.prov.list(None, 10).await.unwrap().is_empty());
}

#[actix::test]
async fn c1_tasks_run_once_and_are_reported_once() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(5), "", "").await;
    let team = h.team_not_held(2);
    let sub = |task: &str| baton_haloitsm::provisioning::Submission {
        request: grant(&format!("team:{team}:member"), 2),
        requested_by: "c1".into(),
        c1_task_id: Some(task.to_string()),
        when_full: baton_haloitsm::provisioning::WhenFull::Reject,
    };
    let a = h.prov.submit(sub("task-1")).await.unwrap();
    let b = h.prov.submit(sub("task-1")).await.unwrap();
    assert_eq!(a.id, b.id);
    assert!(b.existing);
    let o = h.prov.outcome(a.id).await.unwrap();
    assert!(matches!(o, Outcome::Ok { .. }));
    let unreported = h.prov.unreported_tasks().await.unwrap();
    assert_eq!(unreported.len(), 1);
    assert_eq!(unreported[0].c1_task_id.as_deref(), Some("task-1"));
    assert_eq!(unreported[0].outcome.as_ref(), Some(&o));
    assert!(h.prov.mark_reported("task-1".into()).await.unwrap());
    assert!(h.prov.unreported_tasks().await.unwrap().is_empty());
    let posts = h
        .sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/api/Agent")
        .count();
    assert_eq!(posts, 1, "one write for one task");
}

#[actix::test]
async fn changes_that_cannot_be_automated_open_a_fallback_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_config(8);
    let h0 = Harness::start(dir.path(), sim.clone(), "", "").await;
    let snap = h0.sim.control().snapshot();
    let ticket_type = snap.ticket_types[0].id;
    let manual_team = h0.team_not_held(1);
    drop(h0);

    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "fallback_ticket_type = {ticket_type}\nmanual_entitlements = [\"team:{manual_team}:member\"]"
    );
    let h = Harness::start_with(dir.path(), sim, "", &extra).await;
    // A manual entitlement: never written, a ticket instead.
    let o = h.run(grant(&format!("team:{manual_team}:member"), 1)).await;
    let Outcome::Ticketed { ticket_id, reason } = &o else {
        panic!("{o:?}")
    };
    assert!(reason.contains("manual"), "{reason}");
    assert!(!h.teams_of(1).contains(&manual_team));
    let t = h.ticket(ticket_id);
    assert_eq!(t.tickettype_id, ticket_type);
    assert!(
        t.details.contains("agent:1") && t.details.contains(&format!("team:{manual_team}:member"))
    );
    assert!(t.details.contains("Requested by: test"), "{}", t.details);

    // A write that does not verify: also a ticket, recorded in the journal.
    h.sim.control().set_quirks(QuirkConfig {
        agent_list_writes: ListWrites::Ignore,
        ..QuirkConfig::default()
    });
    let team = h.team_not_held(2);
    let o = h.run(grant(&format!("team:{team}:member"), 2)).await;
    assert!(
        matches!(&o, Outcome::Ticketed { reason, .. } if reason.contains("did not verify")),
        "{o:?}"
    );
    let rows = h.prov.list(None, 10).await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.fallback_ticket_id.is_some())
            .count(),
        2
    );
}

#[actix::test]
async fn a_manual_entitlement_without_a_ticket_type_is_a_failure_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(
        dir.path(),
        sim_config(5),
        "",
        "manual_entitlements = [\"team:1:member\"]",
    )
    .await;
    let o = h.run(grant("team:1:member", 2)).await;
    let (kind, msg) = failed(&o).unwrap();
    assert_eq!(kind, FailureKind::FailedPrecondition);
    assert!(
        msg.contains("manual") && msg.contains("fallback_ticket_type"),
        "{msg}"
    );
}

/// The gateway's priority lane (being implemented by the lead on main) must
/// serve a grant ahead of the sync's pages: between the grant's first and last
/// request, at most the one page already in flight may be served.
#[actix::test]
async fn a_grant_during_a_large_sync_is_served_ahead_of_its_pages() {
    let dir = tempfile::tempdir().unwrap();
    // Client budget 10 req/s: a 3,000-agent sync (30 pages) takes ~3 s.
    let h = Harness::start(
        dir.path(),
        sim_config(3000),
        "[halo.rate_limit]\nrequests = 10\nwindow = \"1s\"",
        "",
    )
    .await;
    let coord = h.pipeline.coordinator.addr();
    let dest = h.dir.join("busy.c1z");
    let sync = actix::spawn(async move {
        coord
            .send(StartSync {
                reason: "test",
                dest: Some(dest),
            })
            .await
    });
    let paged =
        |r: &haloitsm_sim::LoggedRequest| r.path == "/api/Agent" && r.query.contains("page_no");
    for _ in 0..200 {
        if h.sim
            .control()
            .requests()
            .iter()
            .filter(|r| paged(r))
            .count()
            >= 3
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let team = h.team_not_held(7);
    let o = h.run(grant(&format!("team:{team}:member"), 7)).await;
    assert!(o.is_success(), "{o:?}");
    let log = h.sim.control().requests();
    let mine: Vec<u64> = log
        .iter()
        .filter(|r| r.path == "/api/Agent/7" || (r.method == "POST" && r.path == "/api/Agent"))
        .map(|r| r.seq)
        .collect();
    let (first, last) = (mine[0], *mine.last().unwrap());
    let pages_between = log
        .iter()
        .filter(|r| paged(r) && r.seq > first && r.seq < last)
        .count();
    assert!(
        pages_between <= 1,
        "{pages_between} sync pages served while the grant waited"
    );
    sync.await
        .unwrap()
        .unwrap()
        .expect("the sync still finishes");
}

#[actix::test]
async fn a_full_queue_answers_queue_full_with_a_hint_or_makes_the_submitter_wait() {
    use baton_haloitsm::provisioning::{Submission, SubmitError, WhenFull};
    let dir = tempfile::tempdir().unwrap();
    let mut sim = sim_config(5);
    sim.latency = haloitsm_sim::LatencyConfig {
        fixed: std::time::Duration::from_millis(100),
        jitter: std::time::Duration::ZERO,
    };
    let h = Harness::start(dir.path(), sim, "", "capacity = 1").await;
    let sub = |agent: i64, when_full| Submission {
        request: OpRequest::DisableAccount {
            resource: format!("agent:{agent}"),
        },
        requested_by: "test".into(),
        c1_task_id: None,
        when_full,
    };
    let first = h.prov.submit(sub(1, WhenFull::Reject)).await.unwrap();
    match h.prov.submit(sub(2, WhenFull::Reject)).await {
        Err(e @ SubmitError::QueueFull { retry_after, .. }) => {
            assert!(
                retry_after >= std::time::Duration::from_secs(1),
                "{retry_after:?}"
            );
            assert!(e.to_string().contains("queue full"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Waiting: admitted once the first finishes; nothing was dropped.
    let second = h.prov.submit(sub(2, WhenFull::Wait)).await.unwrap();
    assert!(h.prov.outcome(first.id).await.unwrap().is_success());
    assert!(h.prov.outcome(second.id).await.unwrap().is_success());
    assert!(h.agent(1).disabled && h.agent(2).disabled);
    assert_eq!(
        h.prov.list(None, 10).await.unwrap().len(),
        2,
        "the refused one was never journaled"
    );
}

/// Run one sync through the real coordinator, then wait until the fallback
/// resolver has handled the snapshot it published (its passes are atomic, so
/// `Settled` answers after them).
async fn sync_and_settle(h: &Harness, n: usize) {
    use baton_haloitsm::provisioning::fallback_resolver::Settled;
    synced_grants(h, 1, n).await;
    h.pipeline
        .fallback_resolver
        .as_ref()
        .expect("add_provisioning starts the resolver")
        .addr()
        .send(Settled)
        .await
        .expect("resolver alive");
}

#[actix::test]
async fn a_fallback_ticket_is_noted_and_resolved_once_a_sync_sees_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_config(8);
    let h0 = Harness::start(dir.path(), sim.clone(), "", "").await;
    let snap = h0.sim.control().snapshot();
    let ticket_type = snap.ticket_types[0].id;
    let resolved = h0.resolved_status();
    let manual_team = h0.team_not_held(1);
    let held_team = *h0.teams_of(1).iter().next().expect("agent 1 holds a team");
    drop(h0);

    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "fallback_ticket_type = {ticket_type}\nmanual_entitlements = [\"team:{manual_team}:member\", \"team:{held_team}:member\"]"
    );
    let ticketing = "\n[ticketing]\nfallback_resolved_status = \"Resolved\"\n";
    let h = Harness::start_with(dir.path(), sim, ticketing, &extra).await;
    let entitlement = format!("team:{manual_team}:member");
    let o = h.run(grant(&entitlement, 1)).await;
    let Outcome::Ticketed { ticket_id, .. } = &o else {
        panic!("{o:?}")
    };
    let ticket_id: i64 = ticket_id.parse().expect("a Halo ticket id");
    let revoked = format!("team:{held_team}:member:agent:1");
    let o = h.run(revoke(&revoked)).await;
    let Outcome::Ticketed {
        ticket_id: revoke_ticket,
        ..
    } = &o
    else {
        panic!("{o:?}")
    };
    let revoke_ticket: i64 = revoke_ticket.parse().expect("a Halo ticket id");
    assert_ne!(revoke_ticket, ticket_id);
    let ticket_of = |h: &Harness, ticket_id: i64| {
        let snap = h.sim.control().snapshot();
        let t = snap
            .tickets
            .iter()
            .find(|t| t.id == ticket_id)
            .expect("ticket exists")
            .clone();
        let notes: Vec<_> = snap
            .actions
            .into_iter()
            .filter(|a| a.ticket_id == ticket_id)
            .collect();
        (t, notes)
    };
    let ticket = |h: &Harness| ticket_of(h, ticket_id);
    let (before, notes) = ticket(&h);
    assert_ne!(before.status_id, resolved);
    assert!(notes.is_empty(), "{notes:?}");

    // Nobody made the change yet: a sync leaves the ticket untouched.
    sync_and_settle(&h, 1).await;
    let (t, notes) = ticket(&h);
    assert_eq!(t.status_id, before.status_id);
    assert!(notes.is_empty(), "{notes:?}");
    assert!(ticket_of(&h, revoke_ticket).1.is_empty());
    let rows = h.prov.list(None, 10).await.unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.fallback_resolved_at_ms.is_none()));

    // Someone makes the change in Halo directly.
    let mut teams: Vec<i64> = h
        .teams_of(1)
        .into_iter()
        .filter(|t| *t != held_team)
        .collect();
    teams.push(manual_team);
    let body = serde_json::json!({
        "id": 1,
        "teams": teams.iter().map(|t| serde_json::json!({"team_id": t})).collect::<Vec<_>>(),
    });
    h.pipeline.client.upsert_agent(&body).await.unwrap();
    assert!(h.teams_of(1).contains(&manual_team));
    assert!(!h.teams_of(1).contains(&held_team));

    // The next sync sees it: one private note naming the operation, and the status.
    sync_and_settle(&h, 2).await;
    let (t, notes) = ticket(&h);
    assert_eq!(t.status_id, resolved);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].hiddenfromuser, "private note");
    assert_eq!(notes[0].new_status, Some(resolved));
    let grant_id = format!("{entitlement}:agent:1");
    assert!(notes[0].note.contains(&grant_id), "{}", notes[0].note);
    let (rt, rnotes) = ticket_of(&h, revoke_ticket);
    assert_eq!(rt.status_id, resolved, "the revoke's ticket too");
    assert_eq!(rnotes.len(), 1, "{rnotes:?}");
    assert!(rnotes[0].note.contains(&revoked), "{}", rnotes[0].note);
    let rows = h.prov.list(None, 10).await.unwrap();
    assert!(
        rows.iter().all(|r| r.fallback_resolved_at_ms.is_some()),
        "{rows:?}"
    );

    // Later syncs write nothing more.
    sync_and_settle(&h, 3).await;
    let (t, notes) = ticket(&h);
    assert_eq!(t.status_id, resolved);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(ticket_of(&h, revoke_ticket).1.len(), 1);
}

/// Account operations with an open fallback ticket are resolved by what a
/// snapshot shows of the agent: disabled/enabled as asked, deleted = absent,
/// created = an agent with that email holding the team it asked for. The
/// simulator always applies `isdisabled`, deletes and creates, so the queue
/// cannot be made to ticket these; the test records the ticketed outcome in
/// the journal as the queue does (`finish` with `Ticketed`), for real tickets
/// opened through the ticketing code.
#[actix::test]
async fn fallback_tickets_of_account_operations_resolve_once_a_sync_sees_the_agent() {
    use baton_haloitsm::provisioning::operation::Operation;
    use baton_haloitsm::ticketing::FallbackTicket;
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_config(8);
    let h0 = Harness::start(dir.path(), sim.clone(), "", "").await;
    let snap = h0.sim.control().snapshot();
    let ticket_type = snap.ticket_types[0].id;
    let resolved = h0.resolved_status();
    let team = snap.teams[0].id;
    drop(h0);

    let dir = tempfile::tempdir().unwrap();
    let ticketing = "\n[ticketing]\nfallback_resolved_status = \"Resolved\"\n";
    let extra = format!("fallback_ticket_type = {ticket_type}");
    let h = Harness::start_with(dir.path(), sim, ticketing, &extra).await;
    // Through the queue, which also means its start-up replay is over before
    // the rows below are journaled by hand (it would otherwise run them).
    let o = h
        .run(OpRequest::DisableAccount {
            resource: "agent:2".into(),
        })
        .await;
    assert!(matches!(o, Outcome::Ok { .. }), "{o:?}");
    assert!(!h.agent(1).disabled && h.agent(2).disabled);

    let email = "late.hire@example.com";
    let ops = [
        (
            Operation::SetDisabled {
                agent_id: 1,
                disabled: true,
            },
            "agent:1",
        ),
        (
            Operation::SetDisabled {
                agent_id: 2,
                disabled: false,
            },
            "agent:2",
        ),
        (Operation::Delete { agent_id: 3 }, "agent:3"),
        (
            Operation::CreateAccount {
                account: NewAccount {
                    email: "Late.Hire@example.com".into(),
                    name: "Late Hire".into(),
                    firstname: None,
                    surname: None,
                    team: Some(team),
                    role: None,
                },
            },
            email,
        ),
    ];
    let mut tickets = Vec::new();
    for (i, (op, subject)) in ops.iter().enumerate() {
        let t = h
            .pipeline
            .ticketing
            .open_fallback_ticket(&FallbackTicket {
                ticket_type_id: ticket_type,
                summary: format!("{} {subject}", op.label()),
                details: "could not be automated".into(),
                agent: subject.to_string(),
                entitlement: String::new(),
                requester: "test".into(),
                request_key: format!("account-op-{i}"),
            })
            .await
            .expect("ticket opens");
        let (op, ticket_id) = (op.clone(), t.id.to_string());
        h.prov
            .journal()
            .call(move |j| {
                let s = j.submit(&op, "test", None)?;
                j.finish(
                    s.id,
                    &Outcome::Ticketed {
                        ticket_id,
                        reason: "did not verify".into(),
                    },
                )
            })
            .await
            .unwrap();
        tickets.push((t.id, *subject));
    }
    let state = |h: &Harness| {
        let snap = h.sim.control().snapshot();
        tickets
            .iter()
            .map(|(id, subject)| {
                let t = snap.tickets.iter().find(|t| t.id == *id).expect("ticket");
                let notes: Vec<String> = snap
                    .actions
                    .iter()
                    .filter(|a| a.ticket_id == *id)
                    .map(|a| a.note.clone())
                    .collect();
                (*subject, t.status_id == resolved, notes)
            })
            .collect::<Vec<_>>()
    };
    let unresolved = |h: &Harness| {
        state(h)
            .into_iter()
            .filter(|(_, done, _)| !done)
            .map(|(s, _, _)| s)
            .collect::<Vec<_>>()
    };

    // Nothing changed yet in Halo: every ticket stays as it is.
    sync_and_settle(&h, 1).await;
    assert_eq!(unresolved(&h), vec!["agent:1", "agent:2", "agent:3", email]);
    assert!(state(&h).iter().all(|(_, _, notes)| notes.is_empty()));

    // Someone makes the changes in Halo, the account without its team at first.
    let client = &h.pipeline.client;
    client
        .upsert_agent(&serde_json::json!({"id": 1, "isdisabled": true}))
        .await
        .unwrap();
    client
        .upsert_agent(&serde_json::json!({"id": 2, "isdisabled": false}))
        .await
        .unwrap();
    client.delete_agent(3).await.unwrap();
    let created = client
        .upsert_agent(&serde_json::json!({"name": "Late Hire", "email": email}))
        .await
        .unwrap();
    sync_and_settle(&h, 2).await;
    assert_eq!(
        unresolved(&h),
        vec![email],
        "the account lacks the team it asked for"
    );
    for (subject, done, notes) in state(&h) {
        if done {
            assert_eq!(notes.len(), 1, "{subject}: {notes:?}");
            assert!(notes[0].contains(subject), "{subject}: {}", notes[0]);
        }
    }

    client
        .upsert_agent(&serde_json::json!({"id": created.id, "teams": [{"team_id": team}]}))
        .await
        .unwrap();
    sync_and_settle(&h, 3).await;
    assert!(unresolved(&h).is_empty());
    let st = state(&h);
    assert!(st.iter().all(|(_, _, notes)| notes.len() == 1), "{st:?}");
    assert!(st[3].2[0].contains(email), "{}", st[3].2[0]);
    let rows = h.prov.list(None, 10).await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.fallback_resolved_at_ms.is_some())
            .count(),
        4,
        "{rows:?}"
    );
}
