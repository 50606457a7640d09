//! TeamSyncer: lists Halo teams (one request) and writes them as `team`
//! resources with their `member` entitlement.
//!
//! Owns nothing across runs; one instance per sync. Never reads membership:
//! that comes from the agent list (no request per team).

use std::collections::HashMap;

use actix::prelude::*;

use super::mapping::{self, EntitlementRef};
use super::syncer::{SyncError, SyncRun};
use crate::c1z::snapshot_writer::Rows;

pub struct TeamSyncer {
    run: SyncRun,
}

impl TeamSyncer {
    pub fn new(run: SyncRun) -> Self {
        TeamSyncer { run }
    }
}

impl Actor for TeamSyncer {
    type Context = Context<Self>;
}

/// The team entitlements, by Halo team id, for the agent syncer's grants.
pub struct TeamsSynced {
    pub entitlements: HashMap<i64, EntitlementRef>,
}

#[derive(Message)]
#[rtype(result = "Result<TeamsSynced, SyncError>")]
pub struct SyncTeams;

impl Handler<SyncTeams> for TeamSyncer {
    type Result = ResponseFuture<Result<TeamsSynced, SyncError>>;

    fn handle(&mut self, _: SyncTeams, _: &mut Self::Context) -> Self::Result {
        let run = self.run.clone();
        Box::pin(async move {
            let teams = run.client.teams().await?;
            let resources: Vec<_> = teams.iter().map(mapping::team_resource).collect();
            let ents: Vec<_> = resources.iter().map(mapping::team_entitlement).collect();
            let entitlements = teams
                .iter()
                .zip(&ents)
                .map(|(t, e)| (t.id, EntitlementRef::of(e)))
                .collect();
            tracing::info!(sync_id = %run.sync_id, teams = teams.len(), "teams listed");
            run.write(Rows::Resources(resources)).await?;
            run.write(Rows::Entitlements(ents)).await?;
            Ok(TeamsSynced { entitlements })
        })
    }
}
