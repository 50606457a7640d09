//! The FallbackResolver actor: closes the loop on provisioning fallback tickets.
//!
//! After each published snapshot (`SnapshotPublished`, sent by the sync
//! coordinator), it lists the journal's operations whose fallback ticket is not
//! resolved yet, reads the snapshot, and for every requested change the sync
//! now sees in Halo (a grant's id present, a revoke's id gone) adds a private
//! note to the ticket and moves it to `ticketing.fallback_resolved_status`
//! through `Ticketing::resolve_fallback`, then marks it resolved in the journal.
//! A failure is logged and the operation stays unresolved, so the next sync
//! tries again; `resolve_fallback` leaves a ticket already in the target status
//! alone, so a retry after a lost journal write adds no second note.
//!
//! Owns: nothing but one pass at a time. Never: opens tickets, changes agents,
//! or talks to Halo other than through `Ticketing` (priority lane). Only grant
//! and revoke operations are checked; account operations stay open for a human.
//!
//! Mailbox: the pipeline's `MAILBOX`. A pass runs as an atomic response, so
//! passes never overlap and a later message waits for the running pass; a pass
//! is a few requests per ticket whose change appeared, usually none.

use std::collections::HashSet;
use std::path::Path;

use actix::prelude::*;

use super::journal::{Journal, OpId};
use super::operation::Operation;
use crate::c1z::reader::Snapshot;
use crate::sync::coordinator::SnapshotPublished;
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

/// What would make an operation's ticket resolvable.
enum Expect {
    Present(String),
    Absent(String),
}

struct Candidate {
    op_id: OpId,
    ticket: String,
    label: &'static str,
    expect: Expect,
}

impl Candidate {
    fn grant_id(&self) -> &str {
        match &self.expect {
            Expect::Present(g) | Expect::Absent(g) => g,
        }
    }
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
            let expect = match &r.operation {
                Operation::Grant { grant } => Expect::Present(grant.to_string()),
                Operation::Revoke { grant } => Expect::Absent(grant.to_string()),
                // Account operations are not checked (see the header).
                _ => return None,
            };
            Some(Candidate {
                op_id: r.id,
                ticket: r.fallback_ticket_id?,
                label: r.operation.label(),
                expect,
            })
        })
        .collect();
    if candidates.is_empty() {
        return 0;
    }
    let wanted: HashSet<String> = candidates
        .iter()
        .map(|c| c.grant_id().to_string())
        .collect();
    let path = msg.path.clone();
    // The reader is blocking SQLite on a decompressed copy: off the event loop.
    let seen = tokio::task::spawn_blocking(move || grants_seen(&path, &wanted)).await;
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
        let visible = match &c.expect {
            Expect::Present(g) => seen.contains(g),
            Expect::Absent(g) => !seen.contains(g),
        };
        if !visible {
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
            c.grant_id(),
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

/// The ids among `wanted` that the snapshot holds as grants.
fn grants_seen(path: &Path, wanted: &HashSet<String>) -> Result<HashSet<String>, String> {
    let snapshot = Snapshot::open(path).map_err(|e| e.to_string())?;
    let mut seen = HashSet::new();
    snapshot
        .for_each_grant(None, |g| {
            if wanted.contains(&g.id) {
                seen.insert(g.id);
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    Ok(seen)
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
