//! RoleSyncer: lists Halo agent roles (one request) and writes them as `role`
//! resources with their `assigned` entitlement. Role ids are GUID strings.
//!
//! One instance per sync. Never reads assignments: those come from the agent list.

use std::collections::HashMap;

use actix::prelude::*;

use super::mapping::{self, EntitlementRef};
use super::syncer::{SyncError, SyncRun};
use crate::c1z::snapshot_writer::Rows;

pub struct RoleSyncer {
    run: SyncRun,
}

impl RoleSyncer {
    pub fn new(run: SyncRun) -> Self {
        RoleSyncer { run }
    }
}

impl Actor for RoleSyncer {
    type Context = Context<Self>;
}

/// The role entitlements, by role GUID, for the agent syncer's grants.
pub struct RolesSynced {
    pub entitlements: HashMap<String, EntitlementRef>,
}

#[derive(Message)]
#[rtype(result = "Result<RolesSynced, SyncError>")]
pub struct SyncRoles;

impl Handler<SyncRoles> for RoleSyncer {
    type Result = ResponseFuture<Result<RolesSynced, SyncError>>;

    fn handle(&mut self, _: SyncRoles, _: &mut Self::Context) -> Self::Result {
        let run = self.run.clone();
        Box::pin(async move {
            let roles = run.client.roles().await?;
            let resources: Vec<_> = roles.iter().map(mapping::role_resource).collect();
            let ents: Vec<_> = resources.iter().map(mapping::role_entitlement).collect();
            let entitlements = roles
                .iter()
                .zip(&ents)
                .map(|(r, e)| (r.id.clone(), EntitlementRef::of(e)))
                .collect();
            tracing::info!(sync_id = %run.sync_id, roles = roles.len(), "roles listed");
            run.write(Rows::Resources(resources)).await?;
            run.write(Rows::Entitlements(ents)).await?;
            Ok(RolesSynced { entitlements })
        })
    }
}
