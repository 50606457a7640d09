//! `team_strategy = "team_agents"`: team grants and revokes written as the
//! team's complete `agents` list (`POST /api/Team`) against the simulator over
//! HTTP, verified by reading the agent back. Membership in the simulator has
//! one source of truth (each agent's teams), so every check below reads the
//! agents.

use std::collections::{BTreeMap, BTreeSet};

use baton_haloitsm::halo::ErrorKind;
use baton_haloitsm::provisioning::outcome::{AlreadyKind, FailureKind, Outcome};
use baton_haloitsm::sim::{ListWrites, QuirkConfig};
use serde_json::json;

use crate::support::provisioning::*;

const TEAM_AGENTS: &str = "team_strategy = \"team_agents\"";

/// Team id → member agent ids, from the simulator's agents.
fn memberships(h: &Harness) -> BTreeMap<i64, BTreeSet<i64>> {
    let mut m: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for a in h.sim.control().snapshot().agents {
        for t in a.team_ids {
            m.entry(t).or_default().insert(a.id);
        }
    }
    m
}

fn members(h: &Harness, team: i64) -> BTreeSet<i64> {
    memberships(h).remove(&team).unwrap_or_default()
}

/// Every agent's (teams, roles, manager teams, name, email, disabled).
type AgentState = (
    BTreeSet<i64>,
    BTreeSet<String>,
    Vec<i64>,
    String,
    String,
    bool,
);

fn states(h: &Harness) -> BTreeMap<i64, AgentState> {
    h.sim
        .control()
        .snapshot()
        .agents
        .into_iter()
        .map(|a| {
            (
                a.id,
                (
                    a.team_ids.into_iter().collect(),
                    a.role_ids.into_iter().collect(),
                    a.managed_team_ids,
                    a.name,
                    a.email,
                    a.disabled,
                ),
            )
        })
        .collect()
}

/// Asserts that only `agent`'s membership of `team` differs between two states.
fn only_changed(
    before: &BTreeMap<i64, AgentState>,
    after: &BTreeMap<i64, AgentState>,
    agent: i64,
    team: i64,
    member: bool,
    step: &str,
) {
    let mut expected = before.clone();
    let s = expected.get_mut(&agent).expect("agent exists");
    if member {
        s.0.insert(team);
    } else {
        s.0.remove(&team);
        s.2.retain(|t| *t != team);
    }
    assert_eq!(
        after, &expected,
        "{step}: only agent:{agent} in team {team}"
    );
}

fn posts(h: &Harness, path: &str) -> usize {
    h.sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .count()
}

#[actix::test]
async fn team_agents_lifecycle_changes_only_that_membership() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(20), "", TEAM_AGENTS).await;
    let agent = 3;
    let team = h.team_not_held(agent);
    let others = members(&h, team);
    assert!(!others.is_empty(), "the team has other members to keep");
    let ent = format!("team:{team}:member");
    let gid = format!("{ent}:agent:{agent}");
    let s0 = states(&h);

    let o = h.run(grant(&ent, agent)).await;
    assert!(
        matches!(&o, Outcome::Ok { grants, .. } if grants == &vec![gid.clone()]),
        "grant: {o:?}"
    );
    let s1 = states(&h);
    only_changed(&s0, &s1, agent, team, true, "grant");
    assert_eq!(posts(&h, "/api/Team"), 1);
    assert_eq!(
        posts(&h, "/api/Agent"),
        0,
        "the agent itself is never posted"
    );

    let o = h.run(grant(&ent, agent)).await;
    assert!(
        matches!(
            o,
            Outcome::Already {
                kind: AlreadyKind::GrantAlreadyExists,
                ..
            }
        ),
        "{o:?}"
    );
    assert_eq!(states(&h), s1, "grant again changes nothing");
    assert_eq!(posts(&h, "/api/Team"), 1, "an `already` writes nothing");

    let o = h.run(revoke(&gid)).await;
    assert!(matches!(o, Outcome::Ok { .. }), "revoke: {o:?}");
    let s2 = states(&h);
    only_changed(&s1, &s2, agent, team, false, "revoke");
    assert_eq!(s2, s0, "back where it started");
    assert_eq!(members(&h, team), others, "the other members stay");

    let o = h.run(revoke(&gid)).await;
    assert!(
        matches!(
            o,
            Outcome::Already {
                kind: AlreadyKind::GrantAlreadyRevoked,
                ..
            }
        ),
        "{o:?}"
    );
    assert_eq!(states(&h), s2);

    let o = h.run(grant(&ent, agent)).await;
    assert!(matches!(o, Outcome::Ok { .. }), "grant again: {o:?}");
    only_changed(&s2, &states(&h), agent, team, true, "grant again");
    assert_eq!(posts(&h, "/api/Team"), 3);
    let gets = h
        .sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.path == format!("/api/Team/{team}") && r.query.contains("includeagents=true"))
        .count();
    assert_eq!(gets, 3, "each write is built from a fresh read of the team");
}

#[actix::test]
async fn revoking_the_last_member_sends_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(12), "", TEAM_AGENTS).await;
    let (team, team_members) = memberships(&h)
        .into_iter()
        .max_by_key(|(_, m)| m.len())
        .expect("some team has members");
    assert!(team_members.len() >= 2);
    for agent in &team_members {
        let before = states(&h);
        let o = h
            .run(revoke(&format!("team:{team}:member:agent:{agent}")))
            .await;
        assert!(matches!(o, Outcome::Ok { .. }), "agent:{agent}: {o:?}");
        only_changed(&before, &states(&h), *agent, team, false, "revoke");
    }
    // With replace semantics an omitted `agents` would leave the last member
    // in place (and fail verification); only `agents: []` empties the team.
    assert!(members(&h, team).is_empty());

    // One agent's every team, one by one: it ends with none, roles untouched.
    let agent = *team_members.iter().next().unwrap();
    let roles = h.roles_of(agent);
    for t in h.teams_of(agent) {
        let o = h
            .run(revoke(&format!("team:{t}:member:agent:{agent}")))
            .await;
        assert!(matches!(o, Outcome::Ok { .. }), "team {t}: {o:?}");
    }
    assert!(h.teams_of(agent).is_empty());
    assert_eq!(h.roles_of(agent), roles);
}

#[actix::test]
async fn a_team_write_that_does_not_take_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(10), "", TEAM_AGENTS).await;
    let agent = 6;
    let team = h.team_not_held(agent);
    let held = *h.teams_of(agent).iter().next().unwrap();
    for (mode, req, what) in [
        (
            ListWrites::Ignore,
            grant(&format!("team:{team}:member"), agent),
            format!("team:{team}:member"),
        ),
        (
            ListWrites::Merge,
            revoke(&format!("team:{held}:member:agent:{agent}")),
            format!("team:{held}:member"),
        ),
        (
            ListWrites::Ignore,
            revoke(&format!("team:{held}:member:agent:{agent}")),
            format!("team:{held}:member"),
        ),
    ] {
        h.sim.control().set_quirks(QuirkConfig {
            agent_list_writes: mode,
            ..QuirkConfig::default()
        });
        let before = states(&h);
        let o = h.run(req.clone()).await;
        let (kind, msg) = failed(&o).unwrap_or_else(|| panic!("{mode:?} {req:?}: {o:?}"));
        assert_eq!(kind, FailureKind::VerificationFailed, "{mode:?}");
        assert!(
            msg.contains(&format!("agent:{agent}"))
                && msg.contains(&what)
                && msg.contains("read back"),
            "names the agent, the membership and what was seen: {msg}"
        );
        assert_eq!(
            states(&h),
            before,
            "{mode:?}: nothing changed in the simulator"
        );
    }
}

#[actix::test]
async fn a_team_write_that_does_not_take_opens_a_fallback_ticket() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim_config(8);
    let h0 = Harness::start(dir.path(), sim.clone(), "", "").await;
    let ticket_type = h0.sim.control().snapshot().ticket_types[0].id;
    drop(h0);

    let dir = tempfile::tempdir().unwrap();
    let extra = format!("{TEAM_AGENTS}\nfallback_ticket_type = {ticket_type}");
    let h = Harness::start_with(dir.path(), sim, "", &extra).await;
    h.sim.control().set_quirks(QuirkConfig {
        agent_list_writes: ListWrites::Ignore,
        ..QuirkConfig::default()
    });
    let team = h.team_not_held(2);
    let o = h.run(grant(&format!("team:{team}:member"), 2)).await;
    let Outcome::Ticketed { ticket_id, reason } = &o else {
        panic!("{o:?}")
    };
    assert!(reason.contains("did not verify"), "{reason}");
    assert!(!h.teams_of(2).contains(&team));
    let t = h.ticket(ticket_id);
    assert_eq!(t.tickettype_id, ticket_type);
    assert!(
        t.details.contains("agent:2") && t.details.contains(&format!("team:{team}:member")),
        "{}",
        t.details
    );
    let rows = h.prov.list(None, 10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].fallback_ticket_id.as_ref(), Some(ticket_id));
}

#[actix::test]
async fn unknown_teams_and_bad_team_bodies_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(6), "", TEAM_AGENTS).await;
    let before = states(&h);
    // Through the queue: the team read answers 404, named in the outcome.
    let o = h.run(grant("team:424242:member", 1)).await;
    let (kind, msg) = failed(&o).unwrap_or_else(|| panic!("{o:?}"));
    assert_eq!(kind, FailureKind::NotFound);
    assert!(msg.contains("team:424242"), "{msg}");

    // The simulator's POST /api/Team, over HTTP through the client.
    let client = &h.pipeline.client;
    let team = *h.teams_of(1).iter().next().unwrap();
    for (body, needle) in [
        (json!({"id": 424242, "agents": []}), "Team 424242 not found"),
        (json!({"agents": []}), "id field is required"),
        (
            json!({"id": team, "agents": [{"team_id": team}]}),
            "agent_id field is required",
        ),
        (
            json!({"id": team, "agents": [{"agent_id": 99999}]}),
            "Agent 99999 not found",
        ),
        (
            json!({"id": team, "agents": {"agent_id": 1}}),
            "could not be converted",
        ),
    ] {
        let e = client.upsert_team(&body).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Validation, "{body}: {e}");
        assert!(e.to_string().contains(needle), "{body}: {e}");
    }
    assert_eq!(states(&h), before, "nothing was written");

    // And a good body writes exactly the posted list (replace semantics).
    let read = client.get_team_with_agents(team).await.unwrap();
    let listed: BTreeSet<i64> = read
        .agents
        .expect("includeagents answers the list")
        .iter()
        .map(|a| a.agent_id())
        .collect();
    assert_eq!(listed, members(&h, team));
    let written = client
        .upsert_team(&json!({"id": team, "agents": [{"agent_id": 1}]}))
        .await
        .unwrap();
    let back: Vec<i64> = written
        .agents
        .unwrap()
        .iter()
        .map(|a| a.agent_id())
        .collect();
    assert_eq!(back, vec![1]);
    assert_eq!(members(&h, team), BTreeSet::from([1]));
}

/// `POST /api/Team` rewrites the whole team, so changes of *different* agents
/// in one team must not overlap: two read-modify-writes of one list would
/// lose one of them (after it had verified). The queue serialises them on the
/// team as well as on the agent.
#[actix::test]
async fn concurrent_grants_of_one_team_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let extra = format!("{TEAM_AGENTS}\nmax_parallel = 8");
    let h = Harness::start(dir.path(), sim_config(30), "", &extra).await;
    let (team, before) = memberships(&h)
        .into_iter()
        .min_by_key(|(_, m)| m.len())
        .expect("a team");
    let joining: Vec<i64> = h
        .sim
        .control()
        .snapshot()
        .agents
        .iter()
        .map(|a| a.id)
        .filter(|id| !before.contains(id))
        .take(12)
        .collect();
    assert_eq!(joining.len(), 12);
    let mut ids = Vec::new();
    for agent in &joining {
        ids.push(
            h.submit(grant(&format!("team:{team}:member"), *agent))
                .await,
        );
    }
    let outcomes = futures::future::join_all(ids.iter().map(|id| h.prov.outcome(*id))).await;
    for o in &outcomes {
        assert!(
            matches!(o, Ok(Outcome::Ok { .. })),
            "every grant verified: {o:?}"
        );
    }
    let mut expected = before;
    expected.extend(joining);
    assert_eq!(members(&h, team), expected, "no grant was lost");
}

/// A team read that comes back without its `agents` list (a Halo that ignores
/// `includeagents`) is refused: posting a list built from nothing would remove every other
/// member. Nothing is written.
#[actix::test]
async fn a_team_read_without_its_agents_is_refused_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let h = Harness::start(dir.path(), sim_config(10), "", TEAM_AGENTS).await;
    let agent = 4;
    let team = h.team_not_held(agent);
    h.sim.control().set_quirks(QuirkConfig {
        team_reads_without_agents: true,
        ..QuirkConfig::default()
    });
    h.sim.control().clear_requests();
    let before = states(&h);
    let o = h.run(grant(&format!("team:{team}:member"), agent)).await;
    let (kind, msg) = failed(&o).unwrap_or_else(|| panic!("{o:?}"));
    assert_eq!(kind, FailureKind::Internal);
    assert!(
        msg.contains(&format!("team:{team}")) && msg.contains("without an `agents` list"),
        "{msg}"
    );
    let posts = h
        .sim
        .control()
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.to_ascii_lowercase().starts_with("/api/"))
        .count();
    assert_eq!(posts, 0, "nothing was posted to the API");
    assert_eq!(states(&h), before, "nothing changed in the simulator");
}
