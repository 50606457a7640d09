//! UserSyncer (optional, `sync.include_end_users`): pages through Halo end
//! users, inactive ones included, and writes them as `user` resources. End users
//! carry no entitlements or grants (the type has SkipEntitlementsAndGrants).
//! One instance per sync; memory is one page at a time. The pages come newest
//! first like the agents' (`sync.agent_order`, see `ListOrder`), so an end user
//! added while paging never pushes another past a page boundary; there is no
//! count check here, so a deletion between pages can still skip one. A page not
//! newest first is logged and counted once per sync.

use std::collections::HashSet;

use actix::prelude::*;
use futures::StreamExt;

use super::mapping;
use super::syncer::{SyncError, SyncRun};
use crate::c1z::snapshot_writer::Rows;
use crate::telemetry;

pub struct UserSyncer {
    run: SyncRun,
    max_passes: u32,
}

impl UserSyncer {
    pub fn new(run: SyncRun, max_passes: u32) -> Self {
        UserSyncer { run, max_passes }
    }
}

impl Actor for UserSyncer {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "Result<u64, SyncError>")]
pub struct SyncUsers;

/// What one pass over the end-user list saw (rows are written as they come; a later pass
/// writes the same resources again, which the snapshot keeps once).
struct Pass {
    distinct: u64,
    first: Option<u64>,
    last: Option<u64>,
}

impl Handler<SyncUsers> for UserSyncer {
    type Result = ResponseFuture<Result<u64, SyncError>>;

    fn handle(&mut self, _: SyncUsers, _: &mut Self::Context) -> Self::Result {
        let run = self.run.clone();
        let max_passes = self.max_passes.max(1);
        Box::pin(async move {
            let mut order_warned = false;
            // As for agents: newest first keeps an insert from shifting unread rows, and the
            // count check catches a deletion that did (the list is paged again).
            let mut pass_no = 0;
            loop {
                pass_no += 1;
                let pass = one_pass(&run, &mut order_warned).await?;
                let (Some(first), Some(last)) = (pass.first, pass.last) else {
                    tracing::warn!(sync_id = %run.sync_id, "halo sent no record_count with the user pages; cannot check that no end user was skipped");
                    return Ok(done(&run, pass.distinct));
                };
                if first == last && last == pass.distinct {
                    return Ok(done(&run, pass.distinct));
                }
                tracing::warn!(sync_id = %run.sync_id, distinct = pass.distinct, first, last, pass = pass_no, "end users changed while paging; paging again");
                if pass_no >= max_passes {
                    return Err(SyncError::Inconsistent {
                        list: "end users",
                        distinct: pass.distinct,
                        first,
                        last,
                        passes: pass_no,
                    });
                }
            }
        })
    }
}

fn done(run: &SyncRun, users: u64) -> u64 {
    tracing::info!(sync_id = %run.sync_id, users, "end users synced");
    users
}

async fn one_pass(run: &SyncRun, order_warned: &mut bool) -> Result<Pass, SyncError> {
    let mut pass = Pass {
        distinct: 0,
        first: None,
        last: None,
    };
    let mut seen = HashSet::new();
    let mut pages = Box::pin(run.client.user_pages(true));
    while let Some(page) = pages.next().await {
        run.cancel.check()?;
        let page = page?;
        if page.out_of_order && !*order_warned {
            *order_warned = true;
            telemetry::sync::list_order_ignored(&run.sync_id, "users");
        }
        pass.first = pass.first.or(page.record_count);
        pass.last = page.record_count;
        for u in &page.rows {
            seen.insert(u.id);
        }
        let resources: Vec<_> = page.rows.iter().map(mapping::end_user_resource).collect();
        run.write(Rows::Resources(resources)).await?;
    }
    pass.distinct = seen.len() as u64;
    Ok(pass)
}
