//! AgentSyncer: pages through every agent (disabled and API-only included) and
//! writes each page as `agent` resources plus their team and role grants.
//!
//! Membership comes from the agent rows themselves (`include_membership_info`,
//! `includeroles`): ceil(agents/100) requests in all, never one per agent or
//! per team. A membership pointing at a team or role that the team/role lists
//! did not return is logged and counted, and skipped; it does not fail the sync.
//! One instance per sync; memory is one page at a time, plus one id per agent.
//!
//! **Consistency.** Halo pages by offset, so an agent added or removed between
//! two pages shifts the rest: one can be read twice (the writer merges it) or
//! skipped, and a skipped agent would vanish from C1, which reads that as
//! revoked access. So a pass counts the distinct agents it read and compares
//! them with the `record_count` Halo reported on the first and the last page;
//! if the three disagree, the list is paged again (rows are upserts, so the
//! pass before does no harm), up to `max_passes` times, after which the sync
//! fails with the counts and publishes nothing. Without a `record_count` the
//! check cannot run; that is logged once per sync.
//!
//! The count check alone misses an insert and a delete between the same two
//! pages (the counts stay equal). The client asks for newest-first order
//! (`sync.agent_order`, see `ListOrder`): inserts then land before every unread
//! row, so a skip needs more deletes than inserts, which the count check sees.
//! A page whose ids do not descend means Halo ignored the order: logged and
//! counted once per sync, and the sync carries on with the count check alone.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use actix::prelude::*;
use futures::StreamExt;

use super::mapping::{self, EntitlementRef};
use super::syncer::{SyncError, SyncRun};
use crate::c1z::snapshot_writer::Rows;
use crate::telemetry;

pub struct AgentSyncer {
    run: SyncRun,
    teams: Arc<HashMap<i64, EntitlementRef>>,
    roles: Arc<HashMap<String, EntitlementRef>>,
    max_passes: u32,
}

impl AgentSyncer {
    pub fn new(
        run: SyncRun,
        teams: Arc<HashMap<i64, EntitlementRef>>,
        roles: Arc<HashMap<String, EntitlementRef>>,
        max_passes: u32,
    ) -> Self {
        AgentSyncer {
            run,
            teams,
            roles,
            max_passes: max_passes.max(1),
        }
    }
}

/// What one pass over the agent list saw.
struct Pass {
    done: AgentsSynced,
    /// A page came back not newest first although that was asked for.
    out_of_order: bool,
    distinct: u64,
    first: Option<u64>,
    last: Option<u64>,
}

impl Pass {
    /// `None` when Halo gave no count to check against.
    fn consistent(&self) -> Option<bool> {
        let (first, last) = (self.first?, self.last?);
        Some(first == last && last == self.distinct)
    }
}

impl Actor for AgentSyncer {
    type Context = Context<Self>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct AgentsSynced {
    pub agents: u64,
    pub grants: u64,
    /// Memberships skipped because their team or role was not in the lists.
    pub dangling: u64,
}

#[derive(Message)]
#[rtype(result = "Result<AgentsSynced, SyncError>")]
pub struct SyncAgents;

impl Handler<SyncAgents> for AgentSyncer {
    type Result = ResponseFuture<Result<AgentsSynced, SyncError>>;

    fn handle(&mut self, _: SyncAgents, _: &mut Self::Context) -> Self::Result {
        let run = self.run.clone();
        let teams = self.teams.clone();
        let roles = self.roles.clone();
        let max_passes = self.max_passes;
        Box::pin(async move {
            let mut pass_no = 0;
            let mut order_warned = false;
            let done = loop {
                pass_no += 1;
                let pass = one_pass(&run, &teams, &roles).await?;
                if pass.out_of_order && !order_warned {
                    order_warned = true;
                    telemetry::sync::list_order_ignored(&run.sync_id, "agents");
                }
                match pass.consistent() {
                    Some(true) => break pass.done,
                    None => {
                        tracing::warn!(sync_id = %run.sync_id, "halo sent no record_count with the agent pages; cannot check that no agent was skipped");
                        break pass.done;
                    }
                    Some(false) => {
                        let (first, last) = (pass.first.unwrap_or(0), pass.last.unwrap_or(0));
                        telemetry::sync::agents_inconsistent(
                            &run.sync_id,
                            pass.distinct,
                            first,
                            last,
                            pass_no,
                        );
                        if pass_no >= max_passes {
                            return Err(SyncError::Inconsistent {
                                list: "agents",
                                distinct: pass.distinct,
                                first,
                                last,
                                passes: pass_no,
                            });
                        }
                    }
                }
            };
            if done.dangling > 0 {
                tracing::warn!(sync_id = %run.sync_id, skipped = done.dangling, "memberships pointed at teams or roles missing from their lists (see baton_haloitsm_sync_dangling_memberships_total)");
            }
            tracing::info!(sync_id = %run.sync_id, agents = done.agents, grants = done.grants, "agents synced");
            Ok(done)
        })
    }
}

/// Page through every agent once, writing each page.
async fn one_pass(
    run: &SyncRun,
    teams: &HashMap<i64, EntitlementRef>,
    roles: &HashMap<String, EntitlementRef>,
) -> Result<Pass, SyncError> {
    let mut pass = Pass {
        done: AgentsSynced::default(),
        out_of_order: false,
        distinct: 0,
        first: None,
        last: None,
    };
    let mut seen = HashSet::new();
    let mut pages = Box::pin(run.client.agent_pages());
    let mut first_page = true;
    while let Some(page) = pages.next().await {
        run.cancel.check()?;
        let page = page?;
        if first_page {
            pass.first = page.record_count;
            first_page = false;
        }
        pass.last = page.record_count;
        pass.out_of_order |= page.out_of_order;
        let done = &mut pass.done;
        let mut resources = Vec::with_capacity(page.rows.len());
        let mut grants = Vec::new();
        for agent in &page.rows {
            seen.insert(agent.id);
            resources.push(mapping::agent_resource(agent));
            for m in &agent.teams {
                match teams.get(&m.team_id) {
                    Some(e) => grants.push(mapping::agent_grant(e, agent.id)),
                    None => {
                        done.dangling += 1;
                        telemetry::sync::dangling_membership(
                            "team",
                            agent.id,
                            &m.team_id.to_string(),
                        )
                    }
                }
            }
            for r in &agent.roles {
                match roles.get(&r.id) {
                    Some(e) => grants.push(mapping::agent_grant(e, agent.id)),
                    None => {
                        done.dangling += 1;
                        telemetry::sync::dangling_membership("role", agent.id, &r.id)
                    }
                }
            }
        }
        done.agents += resources.len() as u64;
        done.grants += grants.len() as u64;
        run.write(Rows::Resources(resources)).await?;
        run.write(Rows::Grants(grants)).await?;
        tracing::debug!(sync_id = %run.sync_id, agents = done.agents, grants = done.grants, "agent page written");
    }
    pass.distinct = seen.len() as u64;
    pass.done.agents = pass.distinct;
    Ok(pass)
}
