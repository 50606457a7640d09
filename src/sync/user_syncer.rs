//! UserSyncer (optional, `sync.include_end_users`): pages through Halo end
//! users, inactive ones included, and writes them as `user` resources. End users
//! carry no entitlements or grants (the type has SkipEntitlementsAndGrants).
//! One instance per sync; memory is one page at a time. The pages come newest
//! first like the agents' (`sync.agent_order`, see `ListOrder`), so an end user
//! added while paging never pushes another past a page boundary; there is no
//! count check here, so a deletion between pages can still skip one. A page not
//! newest first is logged and counted once per sync.

use actix::prelude::*;
use futures::StreamExt;

use super::mapping;
use super::syncer::{SyncError, SyncRun};
use crate::c1z::snapshot_writer::Rows;
use crate::telemetry;

pub struct UserSyncer {
    run: SyncRun,
}

impl UserSyncer {
    pub fn new(run: SyncRun) -> Self {
        UserSyncer { run }
    }
}

impl Actor for UserSyncer {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "Result<u64, SyncError>")]
pub struct SyncUsers;

impl Handler<SyncUsers> for UserSyncer {
    type Result = ResponseFuture<Result<u64, SyncError>>;

    fn handle(&mut self, _: SyncUsers, _: &mut Self::Context) -> Self::Result {
        let run = self.run.clone();
        Box::pin(async move {
            let mut users = 0u64;
            let mut order_warned = false;
            let mut pages = Box::pin(run.client.user_pages(true));
            while let Some(page) = pages.next().await {
                run.cancel.check()?;
                let page = page?;
                if page.out_of_order && !order_warned {
                    order_warned = true;
                    telemetry::sync::list_order_ignored(&run.sync_id, "users");
                }
                let resources: Vec<_> = page.rows.iter().map(mapping::end_user_resource).collect();
                users += resources.len() as u64;
                run.write(Rows::Resources(resources)).await?;
            }
            tracing::info!(sync_id = %run.sync_id, users, "end users synced");
            Ok(users)
        })
    }
}
