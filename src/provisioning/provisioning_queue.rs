//! The ProvisioningQueue actor: runs journaled operations against Halo.
//!
//! Owns: the in-memory schedule of operations that are queued or running (their
//! journal ids, capacity permits and the callers waiting for their outcome),
//! the set of agents being changed, and the retry loop of each operation.
//! Never: accepts an operation that is not in the journal (submitters journal
//! first, through `Provisioning::submit`), changes two things on one agent at
//! once, or talks to Halo outside the priority lane.
//!
//! Ordering: operations with the same serial key (the agent, or the email of an
//! account being created) run in submission order, one at a time; different
//! keys run in parallel up to `provisioning.max_parallel`. A transient failure
//! keeps the key busy during its backoff, so a later operation on that agent
//! can never overtake it. Under `team_strategy = "team_agents"` a team
//! grant/revoke also holds the key of its team: `POST /api/Team` rewrites the
//! whole member list, so two changes of one team must not overlap either.
//!
//! Mailbox: the default actix capacity (16). Handlers only update in-memory
//! state and spawn futures, so the mailbox drains fast; the real bound is the
//! capacity semaphore the submitters take before journaling.

use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures::future::LocalBoxFuture;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::agent_changes::{self, Step};
use super::journal::{Journal, OpId, OpRecord};
use super::operation::Operation;
use super::outcome::{FailureKind, Outcome};
use super::settings::{ProvisioningSection, TeamWriteStrategy};
use crate::contract::ids::{EntitlementRef, TEAM_TYPE};
use crate::halo::{HaloClient, Lane};
use crate::telemetry::provisioning as tm;

/// A change that cannot be automated, described for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackRequest {
    /// `provisioning.fallback_ticket_type`.
    pub ticket_type: i64,
    pub summary: String,
    /// Agent, entitlement, who asked, why it could not be automated.
    pub details: String,
    pub agent: Option<String>,
    pub entitlement: Option<String>,
    pub requested_by: String,
    pub reason: String,
    pub op_id: OpId,
}

/// The seam to the ticketing module: open one Halo ticket, answer its id.
/// The queue never writes ticket code itself.
pub trait FallbackTickets {
    fn open(&self, req: FallbackRequest) -> LocalBoxFuture<'static, Result<String, String>>;
}

struct Pending {
    id: OpId,
    op: Operation,
    requested_by: String,
}

#[derive(Default)]
struct Tracked {
    watchers: Vec<oneshot::Sender<Outcome>>,
    /// Released when the operation finishes (dropped with this entry).
    permit: Option<OwnedSemaphorePermit>,
}

pub struct ProvisioningQueue {
    client: HaloClient,
    cfg: Arc<ProvisioningSection>,
    journal: Journal,
    fallback: Option<Rc<dyn FallbackTickets>>,
    capacity: Arc<Semaphore>,
    pending: VecDeque<Pending>,
    /// Serial keys held by running operations (an operation may hold two).
    busy: HashSet<String>,
    /// Operations running (bounded by `max_parallel`).
    running: usize,
    tracked: HashMap<OpId, Tracked>,
}

impl ProvisioningQueue {
    pub fn new(
        client: HaloClient,
        cfg: Arc<ProvisioningSection>,
        journal: Journal,
        capacity: Arc<Semaphore>,
        fallback: Option<Rc<dyn FallbackTickets>>,
    ) -> Self {
        ProvisioningQueue {
            // Provisioning is served ahead of sync paging by the gateway.
            client: client.with_lane(Lane::Priority),
            cfg,
            journal,
            fallback,
            capacity,
            pending: VecDeque::new(),
            busy: HashSet::new(),
            running: 0,
            tracked: HashMap::new(),
        }
    }

    fn track(&mut self, p: Pending, permit: Option<OwnedSemaphorePermit>, replayed: bool) {
        if let Some(t) = self.tracked.get_mut(&p.id) {
            // Replayed at start while its submitter was still enqueueing it:
            // keep the submitter's capacity permit, so the bound stays exact.
            if t.permit.is_none() {
                t.permit = permit;
            }
            return;
        }
        tm::operation_accepted(p.id, p.op.label(), &p.op.serial_key(), replayed);
        self.tracked.insert(
            p.id,
            Tracked {
                watchers: Vec::new(),
                permit,
            },
        );
        self.pending.push_back(p);
        tm::queue_depth(self.tracked.len());
    }

    /// Start every pending operation whose agent is free, up to the limit.
    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        let mut i = 0;
        // Keys seen busy or skipped in this pass keep their later operations waiting (FIFO per key).
        let mut blocked: HashSet<String> = HashSet::new();
        while i < self.pending.len() && self.running < self.cfg.max_parallel {
            let keys = serial_keys(&self.pending[i].op, &self.cfg);
            if keys
                .iter()
                .any(|k| self.busy.contains(k) || blocked.contains(k))
            {
                blocked.extend(keys);
                i += 1;
                continue;
            }
            let Some(p) = self.pending.remove(i) else {
                break;
            };
            self.busy.extend(keys.iter().cloned());
            self.running += 1;
            self.spawn_run(p, keys, ctx);
        }
    }

    fn spawn_run(&self, p: Pending, keys: Vec<String>, ctx: &mut Context<Self>) {
        let client = self.client.clone();
        let cfg = self.cfg.clone();
        let journal = self.journal.clone();
        let fallback = self.fallback.clone();
        let id = p.id;
        let fut = async move {
            let started = Instant::now();
            let outcome = run_with_retries(&client, &cfg, &journal, fallback, &p).await;
            let record = outcome.clone();
            // Durable before anyone hears it.
            if let Err(e) = journal.call(move |j| j.finish(id, &record)).await {
                tm::journal_error(&e.to_string());
            }
            let message = match &outcome {
                Outcome::Failed { message, .. } => message.as_str(),
                _ => "",
            };
            tm::operation_finished(
                id,
                p.op.label(),
                outcome.result_label(),
                started.elapsed(),
                message,
            );
            outcome
        };
        ctx.spawn(fut.into_actor(self).map(move |outcome, act, ctx| {
            for k in &keys {
                act.busy.remove(k);
            }
            act.running = act.running.saturating_sub(1);
            if let Some(t) = act.tracked.remove(&id) {
                for w in t.watchers {
                    let _ = w.send(outcome.clone());
                }
            }
            tm::queue_depth(act.tracked.len());
            act.dispatch(ctx);
        }));
    }
}

/// The keys an operation must hold alone: its agent (or email), and under
/// `team_agents` the team whose whole member list a team change rewrites.
fn serial_keys(op: &Operation, cfg: &ProvisioningSection) -> Vec<String> {
    let mut keys = vec![op.serial_key()];
    if cfg.team_strategy == TeamWriteStrategy::TeamAgents
        && let Operation::Grant { grant } | Operation::Revoke { grant } = op
        && let EntitlementRef::TeamMember(team) = grant.entitlement
    {
        keys.push(format!("{TEAM_TYPE}:{team}"));
    }
    keys
}

async fn run_with_retries(
    client: &HaloClient,
    cfg: &ProvisioningSection,
    journal: &Journal,
    fallback: Option<Rc<dyn FallbackTickets>>,
    p: &Pending,
) -> Outcome {
    if !cfg.enabled {
        // Journaled while enabled, replayed after it was switched off.
        return Outcome::not_enabled();
    }
    let id = p.id;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        if let Err(e) = journal.call(move |j| j.mark_running(id)).await {
            tm::journal_error(&e.to_string());
        }
        let outcome = match agent_changes::apply(client, cfg, &p.op).await {
            Step::Done(o) => o,
            Step::NeedsHuman { kind, reason } => {
                open_fallback(cfg, fallback.as_deref(), p, kind, reason).await
            }
        };
        if !outcome.is_transient_failure() || attempt >= cfg.max_attempts {
            return outcome;
        }
        let backoff = cfg
            .retry_backoff
            .saturating_mul(1u32 << (attempt - 1).min(16))
            .min(Duration::from_secs(300));
        let message = match &outcome {
            Outcome::Failed { message, .. } => message.clone(),
            _ => String::new(),
        };
        tm::operation_retry(id, p.op.label(), attempt, backoff, &message);
        if let Err(e) = journal.call(move |j| j.mark_queued(id, &message)).await {
            tm::journal_error(&e.to_string());
        }
        tokio::time::sleep(backoff).await;
    }
}

async fn open_fallback(
    cfg: &ProvisioningSection,
    fallback: Option<&dyn FallbackTickets>,
    p: &Pending,
    kind: FailureKind,
    reason: String,
) -> Outcome {
    let Some(ticket_type) = cfg.fallback_ticket_type else {
        return Outcome::failed(
            kind,
            format!(
                "{reason} (set provisioning.fallback_ticket_type to open a Halo ticket instead)"
            ),
        );
    };
    let Some(tickets) = fallback else {
        return Outcome::failed(
            kind,
            format!(
                "{reason} (provisioning.fallback_ticket_type is set, but this build has no ticketing wired)"
            ),
        );
    };
    let (agent, entitlement) = match &p.op {
        Operation::Grant { grant } | Operation::Revoke { grant } => (
            Some(format!("agent:{}", grant.agent_id)),
            Some(grant.entitlement.to_string()),
        ),
        Operation::SetDisabled { agent_id, .. } | Operation::Delete { agent_id } => {
            (Some(format!("agent:{agent_id}")), None)
        }
        Operation::CreateAccount { account } => (Some(account.email.clone()), None),
    };
    let summary = format!(
        "Manual provisioning needed: {} {} {}",
        p.op.label(),
        entitlement.as_deref().unwrap_or(""),
        agent.as_deref().unwrap_or("")
    );
    let details = format!(
        "Operation {} ({}) could not be made automatically.\nAgent: {}\nEntitlement: {}\nRequested by: {}\nWhy: {}",
        p.id,
        p.op.label(),
        agent.as_deref().unwrap_or("-"),
        entitlement.as_deref().unwrap_or("-"),
        p.requested_by,
        reason
    );
    let req = FallbackRequest {
        ticket_type,
        summary,
        details,
        agent,
        entitlement,
        requested_by: p.requested_by.clone(),
        reason: reason.clone(),
        op_id: p.id,
    };
    match tickets.open(req).await {
        Ok(ticket_id) => Outcome::Ticketed { ticket_id, reason },
        Err(e) => Outcome::failed(
            kind,
            format!("{reason}; opening the fallback ticket failed: {e}"),
        ),
    }
}

impl Actor for ProvisioningQueue {
    type Context = Context<Self>;

    /// Replay: everything the journal holds unfinished runs again (idempotent),
    /// and finished operations past retention are pruned.
    fn started(&mut self, ctx: &mut Self::Context) {
        let journal = self.journal.clone();
        let retention = self.cfg.retention;
        let fut = async move {
            let pruned = journal.call(move |j| j.prune(retention)).await;
            let rows = journal.call(|j| j.unfinished()).await;
            (pruned, rows)
        };
        ctx.wait(fut.into_actor(self).map(|(pruned, rows), act, ctx| {
            match pruned {
                Ok(n) => tm::journal_pruned(n),
                Err(e) => tm::journal_error(&e.to_string()),
            }
            match rows {
                Ok(rows) => {
                    for OpRecord {
                        id,
                        operation,
                        requested_by,
                        ..
                    } in rows
                    {
                        let permit = act.capacity.clone().try_acquire_owned().ok();
                        act.track(
                            Pending {
                                id,
                                op: operation,
                                requested_by,
                            },
                            permit,
                            true,
                        );
                    }
                }
                // The journal opened fine at start; a failure here is worth a restart.
                Err(e) => {
                    tm::journal_error(&e.to_string());
                    ctx.stop();
                    return;
                }
            }
            act.dispatch(ctx);
        }));
        // Retention is enforced hourly, not only at start.
        ctx.run_interval(Duration::from_secs(3600), |act, _| {
            let (journal, retention) = (act.journal.clone(), act.cfg.retention);
            actix::spawn(async move {
                match journal.call(move |j| j.prune(retention)).await {
                    Ok(n) => tm::journal_pruned(n),
                    Err(e) => tm::journal_error(&e.to_string()),
                }
            });
        });
    }
}

crate::supervised!(ProvisioningQueue);

/// A journaled operation to schedule. Sent only by `Provisioning::submit`
/// after the journal commit.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Enqueue {
    pub id: OpId,
    pub op: Operation,
    pub requested_by: String,
    pub permit: Option<OwnedSemaphorePermit>,
}

impl Handler<Enqueue> for ProvisioningQueue {
    type Result = ();
    fn handle(&mut self, msg: Enqueue, ctx: &mut Self::Context) {
        self.track(
            Pending {
                id: msg.id,
                op: msg.op,
                requested_by: msg.requested_by,
            },
            msg.permit,
            false,
        );
        self.dispatch(ctx);
    }
}

/// Wait for an operation's outcome: `None` when this queue does not hold it
/// (finished already: read the journal).
#[derive(Message)]
#[rtype(result = "Option<oneshot::Receiver<Outcome>>")]
pub struct Watch(pub OpId);

impl Handler<Watch> for ProvisioningQueue {
    type Result = Option<oneshot::Receiver<Outcome>>;
    fn handle(&mut self, msg: Watch, _: &mut Self::Context) -> Self::Result {
        let t = self.tracked.get_mut(&msg.0)?;
        let (tx, rx) = oneshot::channel();
        t.watchers.push(tx);
        Some(rx)
    }
}

/// Operations queued or running here.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct Depth;

impl Handler<Depth> for ProvisioningQueue {
    type Result = usize;
    fn handle(&mut self, _: Depth, _: &mut Self::Context) -> usize {
        self.tracked.len()
    }
}
