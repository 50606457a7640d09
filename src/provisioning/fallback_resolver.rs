//! The FallbackResolver actor: closes the loop on provisioning fallback tickets.
//!
//! After each published snapshot (`SnapshotPublished`, sent by the sync
//! coordinator), it lists the journal's operations whose fallback ticket is not
//! resolved yet, reads the snapshot, and for every requested change the sync
//! now sees in Halo (a grant's id present, a revoke's id gone; an agent
//! disabled or enabled as asked, a deleted agent absent, a created account's
//! email present with the team and role it asked for) adds a private
//! note to the ticket and moves it to `ticketing.fallback_resolved_status`
//! through `Ticketing::resolve_fallback`, then marks it resolved in the journal.
//! A failure is logged and the operation stays unresolved, so the next sync
//! tries again; `resolve_fallback` leaves a ticket already in the target status
//! alone, so a retry after a lost journal write adds no second note.
//!
//! Owns: nothing but one pass at a time. Never: opens tickets, changes agents,
//! or talks to Halo other than through `Ticketing` (priority lane).
//!
//! Mailbox: the pipeline's `MAILBOX`. A pass runs as an atomic response, so
//! passes never overlap and a later message waits for the running pass; a pass
//! is a few requests per ticket whose change appeared, usually none.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use actix::prelude::*;

use super::journal::{Journal, OpId};
use super::operation::Operation;
use crate::c1z::reader::Snapshot;
use crate::contract::events::SnapshotPublished;
use crate::contract::ids::{
    AGENT_TYPE, ROLE_ASSIGNED_SLUG, ROLE_TYPE, TEAM_MEMBER_SLUG, TEAM_TYPE, entitlement_id,
    grant_id,
};
use crate::pb;
use crate::telemetry::provisioning as tm;
use crate::ticketing::Ticketing;

pub struct FallbackResolver {
    journal: Journal,
    ticketing: Ticketing,
}

impl FallbackResolver {
    pub fn new(journal: Journal, ticketing: Ticketing) -> Self {
        FallbackResolver { journal, ticketing }
    }
}

impl Actor for FallbackResolver {
    type Context = Context<Self>;
}

crate::supervised!(FallbackResolver);

/// What would make an operation's ticket resolvable, as a snapshot shows it.
#[derive(Debug, Clone)]
enum Expect {
    GrantPresent(String),
    GrantAbsent(String),
    /// The agent's status is disabled (`true`) or enabled (`false`).
    AgentDisabled(i64, bool),
    AgentAbsent(i64),
    /// An agent with this (lower-cased) email, holding the team and role the
    /// create asked for: an account created without them is not done yet.
    Account {
        email: String,
        team: Option<i64>,
        role: Option<String>,
    },
}

impl Expect {
    fn of(op: &Operation) -> Expect {
        match op {
            Operation::Grant { grant } => Expect::GrantPresent(grant.to_string()),
            Operation::Revoke { grant } => Expect::GrantAbsent(grant.to_string()),
            Operation::SetDisabled { agent_id, disabled } => {
                Expect::AgentDisabled(*agent_id, *disabled)
            }
            Operation::Delete { agent_id } => Expect::AgentAbsent(*agent_id),
            Operation::CreateAccount { account } => Expect::Account {
                email: normal_email(&account.email),
                team: account.team,
                role: account.role.clone(),
            },
        }
    }

    /// What the change is about, for the note.
    fn subject(&self) -> String {
        match self {
            Expect::GrantPresent(g) | Expect::GrantAbsent(g) => g.clone(),
            Expect::AgentDisabled(id, _) | Expect::AgentAbsent(id) => format!("{AGENT_TYPE}:{id}"),
            Expect::Account { email, .. } => email.clone(),
        }
    }

    /// Whether the snapshot needs its agents read for this expectation.
    fn needs_agents(&self) -> bool {
        !matches!(self, Expect::GrantPresent(_) | Expect::GrantAbsent(_))
    }

    /// Grant ids that must be present on `agent` for a created account.
    fn account_grants(&self, agent: i64) -> Vec<String> {
        let Expect::Account { team, role, .. } = self else {
            return Vec::new();
        };
        let agent = agent.to_string();
        let team = team.map(|t| entitlement_id(TEAM_TYPE, &t.to_string(), TEAM_MEMBER_SLUG));
        let role = role
            .as_ref()
            .map(|r| entitlement_id(ROLE_TYPE, r, ROLE_ASSIGNED_SLUG));
        team.into_iter()
            .chain(role)
            .map(|e| grant_id(&e, AGENT_TYPE, &agent))
            .collect()
    }

    fn met(&self, seen: &Seen) -> bool {
        match self {
            Expect::GrantPresent(g) => seen.grants.contains(g),
            Expect::GrantAbsent(g) => !seen.grants.contains(g),
            Expect::AgentDisabled(id, disabled) => seen.agents.get(id) == Some(disabled),
            Expect::AgentAbsent(id) => !seen.agents.contains_key(id),
            Expect::Account { email, .. } => seen.emails.get(email).is_some_and(|ids| {
                ids.iter().any(|id| {
                    self.account_grants(*id)
                        .iter()
                        .all(|g| seen.grants.contains(g))
                })
            }),
        }
    }
}

fn normal_email(email: &str) -> String {
    email.trim().to_lowercase()
}

struct Candidate {
    op_id: OpId,
    ticket: String,
    label: &'static str,
    expect: Expect,
}

/// One pass over the unresolved fallback tickets against one snapshot.
/// Answers how many tickets it resolved.
async fn resolve_pass(journal: Journal, ticketing: Ticketing, msg: SnapshotPublished) -> usize {
    let rows = match journal.call(|j| j.fallback_unresolved()).await {
        Ok(rows) => rows,
        Err(e) => {
            tm::journal_error(&e.to_string());
            return 0;
        }
    };
    if rows.is_empty() {
        return 0;
    }
    if !ticketing.resolves_fallbacks() {
        tm::fallback_resolution_off(rows.len());
        return 0;
    }
    let candidates: Vec<Candidate> = rows
        .into_iter()
        .filter_map(|r| {
            Some(Candidate {
                op_id: r.id,
                ticket: r.fallback_ticket_id?,
                label: r.operation.label(),
                expect: Expect::of(&r.operation),
            })
        })
        .collect();
    if candidates.is_empty() {
        return 0;
    }
    let expects: Vec<Expect> = candidates.iter().map(|c| c.expect.clone()).collect();
    let path = msg.path.clone();
    // The reader is blocking SQLite on a decompressed copy: off the event loop.
    let seen = tokio::task::spawn_blocking(move || snapshot_view(&path, &expects)).await;
    let seen = match seen {
        Ok(Ok(seen)) => seen,
        Ok(Err(e)) => {
            tm::fallback_snapshot_unreadable(&msg.path.display().to_string(), &e);
            return 0;
        }
        Err(e) => {
            tm::fallback_snapshot_unreadable(&msg.path.display().to_string(), &e.to_string());
            return 0;
        }
    };
    let mut resolved = 0;
    for c in candidates {
        if !c.expect.met(&seen) {
            continue;
        }
        let Some(ticket_id) = c.ticket.trim().parse::<i64>().ok().filter(|n| *n > 0) else {
            tm::fallback_resolve_failed(
                c.op_id,
                &c.ticket,
                "the stored ticket id is not a Halo id",
            );
            continue;
        };
        let note = format!(
            "Provisioning operation {} ({} {}) is now done in Halo: sync {} saw the change. \
             Closed automatically by the connector.",
            c.op_id,
            c.label,
            c.expect.subject(),
            msg.sync_id
        );
        if let Err(e) = ticketing.resolve_fallback(ticket_id, &note).await {
            tm::fallback_resolve_failed(c.op_id, &c.ticket, &e.to_string());
            continue;
        }
        let op_id = c.op_id;
        match journal.call(move |j| j.mark_fallback_resolved(op_id)).await {
            Ok(_) => {
                tm::fallback_resolved(op_id, ticket_id, &msg.sync_id);
                resolved += 1;
            }
            // The ticket is already in the target status: the next pass leaves
            // it alone and marks the journal then.
            Err(e) => tm::journal_error(&e.to_string()),
        }
    }
    resolved
}

/// What a snapshot shows of the things the candidates ask about; only those
/// are kept, so a large tenant's snapshot costs a scan, not its size in memory.
#[derive(Debug, Default)]
struct Seen {
    grants: HashSet<String>,
    /// Agents named by id or by a wanted email: id → disabled.
    agents: HashMap<i64, bool>,
    /// Wanted (lower-cased) emails → ids of the agents that have them.
    emails: HashMap<String, Vec<i64>>,
}

fn snapshot_view(path: &Path, expects: &[Expect]) -> Result<Seen, String> {
    let snapshot = Snapshot::open(path).map_err(|e| e.to_string())?;
    let mut seen = Seen::default();
    if expects.iter().any(Expect::needs_agents) {
        let ids: HashSet<i64> = expects
            .iter()
            .filter_map(|e| match e {
                Expect::AgentDisabled(id, _) | Expect::AgentAbsent(id) => Some(*id),
                _ => None,
            })
            .collect();
        let emails: HashSet<&str> = expects
            .iter()
            .filter_map(|e| match e {
                Expect::Account { email, .. } => Some(email.as_str()),
                _ => None,
            })
            .collect();
        snapshot
            .for_each_resource(Some(AGENT_TYPE), |r| {
                let Some(id) = r.id.as_ref().and_then(|id| id.resource.parse::<i64>().ok()) else {
                    return Ok(());
                };
                let user = pb::find_annotation::<pb::UserTrait>(&r.annotations);
                let mut wanted = ids.contains(&id);
                for e in user.iter().flat_map(|u| &u.emails) {
                    let e = normal_email(&e.address);
                    if emails.contains(e.as_str()) {
                        seen.emails.entry(e).or_default().push(id);
                        wanted = true;
                    }
                }
                if wanted {
                    seen.agents.insert(id, agent_disabled(&r, user.as_ref()));
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
    }
    let mut wanted: HashSet<String> = HashSet::new();
    for e in expects {
        match e {
            Expect::GrantPresent(g) | Expect::GrantAbsent(g) => {
                wanted.insert(g.clone());
            }
            Expect::Account { email, .. } => {
                for id in seen.emails.get(email).into_iter().flatten() {
                    wanted.extend(e.account_grants(*id));
                }
            }
            Expect::AgentDisabled(..) | Expect::AgentAbsent(_) => {}
        }
    }
    if !wanted.is_empty() {
        snapshot
            .for_each_grant(None, |g| {
                if wanted.contains(&g.id) {
                    seen.grants.insert(g.id);
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
    }
    Ok(seen)
}

/// The resource status the sync wrote, else the user trait's.
fn agent_disabled(r: &pb::Resource, user: Option<&pb::UserTrait>) -> bool {
    const DISABLED: i32 = pb::status::ResourceStatus::Disabled as i32;
    const USER_DISABLED: i32 = pb::user_trait::status::Status::Disabled as i32;
    match &r.status {
        Some(s) if s.status != 0 => s.status == DISABLED,
        _ => user
            .and_then(|u| u.status.as_ref())
            .is_some_and(|s| s.status == USER_DISABLED),
    }
}

impl Handler<SnapshotPublished> for FallbackResolver {
    type Result = AtomicResponse<Self, ()>;

    fn handle(&mut self, msg: SnapshotPublished, _: &mut Self::Context) -> Self::Result {
        let fut = resolve_pass(self.journal.clone(), self.ticketing.clone(), msg);
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(|_, _, _| ())))
    }
}

/// Answers once every pass sent before it has finished (passes are atomic):
/// lets a caller wait for the loop to close without polling a clock.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Settled;

impl Handler<Settled> for FallbackResolver {
    type Result = ();
    fn handle(&mut self, _: Settled, _: &mut Self::Context) {}
}
