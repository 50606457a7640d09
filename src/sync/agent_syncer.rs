//! AgentSyncer: pages through every agent (disabled and API-only included) and
//! writes each page as `agent` resources plus their team and role grants.
//!
//! Membership comes from the agent rows themselves (`include_membership_info`,
//! `includeroles`): ceil(agents/100) requests in all, never one per agent or
//! per team. A membership pointing at a team or role that the team/role lists
//! did not return is logged and counted, and skipped; it does not fail the sync.
//! One instance per sync; memory is one page at a time.

use std::collections::HashMap;
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
}

impl AgentSyncer {
    pub fn new(
        run: SyncRun,
        teams: Arc<HashMap<i64, EntitlementRef>>,
        roles: Arc<HashMap<String, EntitlementRef>>,
    ) -> Self {
        AgentSyncer { run, teams, roles }
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
        Box::pin(async move {
            let mut done = AgentsSynced::default();
            let mut pages = Box::pin(run.client.agents());
            while let Some(page) = pages.next().await {
                run.cancel.check()?;
                let page = page?;
                let mut resources = Vec::with_capacity(page.len());
                let mut grants = Vec::new();
                for agent in &page {
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
            if done.dangling > 0 {
                tracing::warn!(sync_id = %run.sync_id, skipped = done.dangling, "memberships pointed at teams or roles missing from their lists (see baton_haloitsm_sync_dangling_memberships_total)");
            }
            tracing::info!(sync_id = %run.sync_id, agents = done.agents, grants = done.grants, "agents synced");
            Ok(done)
        })
    }
}
