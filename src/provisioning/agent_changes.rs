//! One try of one operation against Halo: read, write, read back, verify.
//!
//! Every change to an agent is a read-modify-write of the agent record
//! (`POST /api/Agent` is an upsert whose list semantics on real Halo are
//! unverified, docs/reference/haloitsm-api.md §5, §6.2), so the read-back decides: a write
//! that did not take, or that changed anything else we can see, is never a
//! success. The queue guarantees no two changes of one agent overlap.
//!
//! With `team_strategy = "team_agents"` a team grant/revoke writes the
//! team's complete `agents` list with `POST /api/Team` instead, and still
//! verifies by reading the *agent* back: the agent's `teams` is the view the
//! sync uses, so it is the one that must show the change. The queue then also
//! serialises changes of one team (the list is rewritten whole).
//!
//! Requests per operation (no retries): grant/revoke/enable/disable 3
//! (GET, POST, GET); a team grant/revoke under `team_agents` 4 (GET agent,
//! GET team, POST team, GET agent); create 3 (search, POST, GET); delete 2
//! (DELETE, GET); an answer of "already" costs 1.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::operation::{NewAccount, Operation};
use super::outcome::{AlreadyKind, FailureKind, Outcome};
use super::settings::{ProvisioningSection, RoleWriteStrategy, TeamWriteStrategy};
use crate::contract::ids::{AGENT_TYPE, EntitlementRef, GrantRef};
use crate::halo::{Agent, ErrorKind, HaloClient, TeamAgent};

/// What one try came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Done(Outcome),
    /// Could not be automated (a manual entitlement, or a write that did not
    /// verify). With a fallback ticket type the queue opens a ticket; without
    /// one the outcome is `Failed { kind, message: reason }`.
    NeedsHuman {
        kind: FailureKind,
        reason: String,
    },
}

fn agent_res(id: i64) -> Option<String> {
    Some(format!("{AGENT_TYPE}:{id}"))
}

fn done(o: Outcome) -> Step {
    Step::Done(o)
}

/// One try of `op`. Transient Halo failures come back as `Failed{Unavailable}`
/// for the queue to retry; everything else is final.
pub async fn apply(client: &HaloClient, cfg: &ProvisioningSection, op: &Operation) -> Step {
    match op {
        Operation::Grant { grant } => change_membership(client, cfg, grant, true).await,
        Operation::Revoke { grant } => change_membership(client, cfg, grant, false).await,
        Operation::CreateAccount { account } => create_account(client, account).await,
        Operation::SetDisabled { agent_id, disabled } => {
            set_disabled(client, *agent_id, *disabled).await
        }
        Operation::Delete { agent_id } => {
            if !cfg.allow_delete {
                return done(Outcome::failed(
                    FailureKind::FailedPrecondition,
                    format!(
                        "deleting agent:{agent_id} is refused: provisioning.allow_delete is not set (disable the account instead)"
                    ),
                ));
            }
            delete_agent(client, *agent_id).await
        }
    }
}

async fn read_agent(client: &HaloClient, id: i64) -> Result<Agent, Outcome> {
    client
        .get_agent(id)
        .await
        .map_err(|e| Outcome::from_halo(&format!("reading agent:{id}"), &e))
}

fn team_ids(a: &Agent) -> BTreeSet<String> {
    a.teams.iter().map(|t| t.team_id.to_string()).collect()
}

fn role_ids(a: &Agent) -> BTreeSet<String> {
    a.roles.iter().map(|r| r.id.clone()).collect()
}

/// The fields a membership change must leave alone (besides the other list).
fn identity(a: &Agent) -> (String, String, bool, bool) {
    (a.name.clone(), a.email.clone(), a.isdisabled, a.isapiagent)
}

async fn change_membership(
    client: &HaloClient,
    cfg: &ProvisioningSection,
    grant: &GrantRef,
    add: bool,
) -> Step {
    let ent = grant.entitlement.to_string();
    let id = grant.agent_id;
    if cfg.manual_entitlements.iter().any(|m| m == &ent) {
        return Step::NeedsHuman {
            kind: FailureKind::FailedPrecondition,
            reason: format!(
                "{ent} is configured as manual (provisioning.manual_entitlements); it is never changed automatically"
            ),
        };
    }
    let before = match read_agent(client, id).await {
        Ok(a) => a,
        Err(o) => return done(o),
    };
    let (key, is_team) = match &grant.entitlement {
        EntitlementRef::TeamMember(t) => (t.to_string(), true),
        EntitlementRef::RoleAssigned(g) => (g.clone(), false),
    };
    let list_of = |a: &Agent| if is_team { team_ids(a) } else { role_ids(a) };
    let other_of = |a: &Agent| if is_team { role_ids(a) } else { team_ids(a) };
    let held = list_of(&before);
    if held.contains(&key) == add {
        let kind = if add {
            AlreadyKind::GrantAlreadyExists
        } else {
            AlreadyKind::GrantAlreadyRevoked
        };
        return done(Outcome::Already {
            kind,
            resource: agent_res(id),
        });
    }
    let mut wanted = held.clone();
    if add {
        wanted.insert(key.clone());
    } else {
        wanted.remove(&key);
    }
    let verb = if add { "granting" } else { "revoking" };
    if is_team && cfg.team_strategy == TeamWriteStrategy::TeamAgents {
        if let Err(o) = post_team_agents(client, grant_team_id(grant), id, add, verb).await {
            return done(o);
        }
    } else if let Err(e) = client
        .upsert_agent(&agent_body(cfg, &before, grant, &wanted, add))
        .await
    {
        return done(Outcome::from_halo(
            &format!("{verb} {ent} to agent:{id}"),
            &e,
        ));
    }
    let after = match read_agent(client, id).await {
        Ok(a) => a,
        Err(o) => return done(o),
    };
    let seen = list_of(&after);
    let mut problems = Vec::new();
    if seen != wanted {
        let what = if is_team { "teams" } else { "roles" };
        problems.push(format!("{what} read back {seen:?}, expected {wanted:?}"));
    }
    if other_of(&after) != other_of(&before) {
        problems.push(format!(
            "{} changed from {:?} to {:?}",
            if is_team { "roles" } else { "teams" },
            other_of(&before),
            other_of(&after)
        ));
    }
    if identity(&after) != identity(&before) {
        problems.push("name, email or status changed".to_string());
    }
    if problems.is_empty() {
        let grants = if add { vec![grant.to_string()] } else { vec![] };
        return done(Outcome::Ok {
            resource: agent_res(id),
            grants,
        });
    }
    let reason = format!(
        "{} {ent} for agent:{id} did not verify: {}",
        if add { "grant of" } else { "revoke of" },
        problems.join("; ")
    );
    crate::telemetry::provisioning::verify_failed(if add { "grant" } else { "revoke" }, &reason);
    Step::NeedsHuman {
        kind: FailureKind::VerificationFailed,
        reason,
    }
}

/// The `POST /api/Agent` body of a membership change. The complete list,
/// always present: revoking the last membership sends `[]`.
fn agent_body(
    cfg: &ProvisioningSection,
    before: &Agent,
    grant: &GrantRef,
    wanted: &BTreeSet<String>,
    add: bool,
) -> Value {
    let id = before.id;
    match &grant.entitlement {
        EntitlementRef::TeamMember(team) => {
            let teams: Vec<Value> = before
                .teams
                .iter()
                .filter(|t| add || t.team_id != *team)
                .map(|t| json!({"team_id": t.team_id, "is_manager": t.is_manager}))
                .chain(add.then(|| json!({"team_id": team})))
                .collect();
            json!({"id": id, "teams": teams})
        }
        EntitlementRef::RoleAssigned(key)
            if add && cfg.role_strategy == RoleWriteStrategy::AddRoles =>
        {
            json!({"id": id, "add_roles": [{"id": key}]})
        }
        EntitlementRef::RoleAssigned(_) => {
            let roles: Vec<Value> = wanted.iter().map(|g| json!({"id": g})).collect();
            json!({"id": id, "roles": roles})
        }
    }
}

/// `team_agents`: read team `team` with its members and post its complete
/// `agents` list with `agent` added or removed (the last member removed
/// sends `[]`, never an omitted field). Other members keep their rows and
/// manager flags. Each row carries `agent_id` and `team_id` (`UnameSection`
/// names, docs/reference/haloitsm-api.md §5); whether Halo replaces or merges the list is
/// unverified, so the caller's read-back of the agent decides.
async fn post_team_agents(
    client: &HaloClient,
    team: i64,
    agent: i64,
    add: bool,
    verb: &str,
) -> Result<(), Outcome> {
    let read = client
        .get_team_with_agents(team)
        .await
        .map_err(|e| Outcome::from_halo(&format!("reading team:{team} with its agents"), &e))?;
    // Without the list we cannot know the other members: posting would drop them.
    let Some(members) = read.agents else {
        return Err(Outcome::failed(
            FailureKind::Internal,
            format!(
                "reading team:{team} with its agents: Halo answered without an `agents` list; \
                 nothing was written (posting would remove the team's other members)"
            ),
        ));
    };
    // A row we cannot name would be dropped from the posted list: refuse instead.
    if members.iter().any(|m| m.agent_id() <= 0) {
        return Err(Outcome::failed(
            FailureKind::Internal,
            format!(
                "reading team:{team} with its agents: a member row has no agent id; \
                 nothing was written (posting would remove that member)"
            ),
        ));
    }
    let mut rows: Vec<TeamAgent> = Vec::with_capacity(members.len() + 1);
    for m in members {
        let a = m.agent_id();
        if a != agent && rows.iter().all(|r| r.agent_id() != a) {
            rows.push(m);
        }
    }
    if add {
        rows.push(TeamAgent::new(agent, false));
    }
    let agents: Vec<Value> = rows
        .iter()
        .map(|r| json!({"agent_id": r.agent_id(), "team_id": team, "is_manager": r.is_manager}))
        .collect();
    client
        .upsert_team(&json!({"id": team, "agents": agents}))
        .await
        .map(drop)
        .map_err(|e| {
            Outcome::from_halo(
                &format!("{verb} team:{team}:member to agent:{agent} (POST /api/Team)"),
                &e,
            )
        })
}

fn grant_team_id(grant: &GrantRef) -> i64 {
    match grant.entitlement {
        EntitlementRef::TeamMember(t) => t,
        EntitlementRef::RoleAssigned(_) => 0,
    }
}

async fn create_account(client: &HaloClient, account: &NewAccount) -> Step {
    let existing = match client.find_agents_by_email(&account.email).await {
        Ok(v) => v,
        Err(e) => {
            return done(Outcome::from_halo(
                &format!("looking up agents with email {}", account.email),
                &e,
            ));
        }
    };
    if let Some(a) = existing.iter().min_by_key(|a| a.id) {
        return done(Outcome::Already {
            kind: AlreadyKind::AccountAlreadyExists,
            resource: agent_res(a.id),
        });
    }
    let mut body = json!({
        "name": account.name.trim(),
        "email": account.email,
        "isdisabled": false,
    });
    if let Some(f) = &account.firstname {
        body["firstname"] = json!(f);
    }
    if let Some(s) = &account.surname {
        body["surname"] = json!(s);
    }
    if let Some(t) = account.team {
        body["teams"] = json!([{"team_id": t}]);
    }
    if let Some(r) = &account.role {
        body["roles"] = json!([{"id": r}]);
    }
    let created = match client.upsert_agent(&body).await {
        Ok(a) => a,
        Err(e) => {
            return done(Outcome::from_halo(
                &format!("creating agent {}", account.email),
                &e,
            ));
        }
    };
    if created.id <= 0 {
        return done(Outcome::failed(
            FailureKind::Internal,
            format!(
                "creating agent {}: Halo answered without an id",
                account.email
            ),
        ));
    }
    let after = match read_agent(client, created.id).await {
        Ok(a) => a,
        Err(o) => return done(o),
    };
    let mut problems = Vec::new();
    if !after.email.eq_ignore_ascii_case(&account.email) {
        problems.push(format!("email read back `{}`", after.email));
    }
    if let Some(t) = account.team
        && !team_ids(&after).contains(&t.to_string())
    {
        problems.push(format!("team {t} missing"));
    }
    if let Some(r) = &account.role
        && !role_ids(&after).contains(r)
    {
        problems.push(format!("role {r} missing"));
    }
    if problems.is_empty() {
        return done(Outcome::Ok {
            resource: agent_res(after.id),
            grants: vec![],
        });
    }
    let reason = format!(
        "created agent:{} for {} did not verify: {}",
        after.id,
        account.email,
        problems.join("; ")
    );
    crate::telemetry::provisioning::verify_failed("create_account", &reason);
    Step::NeedsHuman {
        kind: FailureKind::VerificationFailed,
        reason,
    }
}

async fn set_disabled(client: &HaloClient, id: i64, disabled: bool) -> Step {
    let before = match read_agent(client, id).await {
        Ok(a) => a,
        Err(o) => return done(o),
    };
    if before.isdisabled == disabled {
        let kind = if disabled {
            AlreadyKind::AlreadyDisabled
        } else {
            AlreadyKind::AlreadyEnabled
        };
        return done(Outcome::Already {
            kind,
            resource: agent_res(id),
        });
    }
    if let Err(e) = client
        .upsert_agent(&json!({"id": id, "isdisabled": disabled}))
        .await
    {
        let verb = if disabled { "disabling" } else { "enabling" };
        return done(Outcome::from_halo(&format!("{verb} agent:{id}"), &e));
    }
    let after = match read_agent(client, id).await {
        Ok(a) => a,
        Err(o) => return done(o),
    };
    if after.isdisabled == disabled
        && team_ids(&after) == team_ids(&before)
        && role_ids(&after) == role_ids(&before)
    {
        return done(Outcome::Ok {
            resource: agent_res(id),
            grants: vec![],
        });
    }
    let op = if disabled {
        "disable_account"
    } else {
        "enable_account"
    };
    let reason = format!(
        "{op} of agent:{id} did not verify: isdisabled read back {}, teams {:?}, roles {:?}",
        after.isdisabled,
        team_ids(&after),
        role_ids(&after)
    );
    crate::telemetry::provisioning::verify_failed(op, &reason);
    Step::NeedsHuman {
        kind: FailureKind::VerificationFailed,
        reason,
    }
}

async fn delete_agent(client: &HaloClient, id: i64) -> Step {
    match client.delete_agent(id).await {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return done(Outcome::Already {
                kind: AlreadyKind::AlreadyDeleted,
                resource: agent_res(id),
            });
        }
        Err(e) => return done(Outcome::from_halo(&format!("deleting agent:{id}"), &e)),
    }
    match client.get_agent(id).await {
        Err(e) if e.kind() == ErrorKind::NotFound => done(Outcome::Ok {
            resource: agent_res(id),
            grants: vec![],
        }),
        Err(e) => done(Outcome::from_halo(&format!("reading back agent:{id}"), &e)),
        Ok(_) => {
            let reason = format!("delete of agent:{id} did not verify: the agent still reads back");
            crate::telemetry::provisioning::verify_failed("delete_resource", &reason);
            Step::NeedsHuman {
                kind: FailureKind::VerificationFailed,
                reason,
            }
        }
    }
}
