//! What every per-resource syncer shares: the context of one sync run, the
//! error type, cancellation, and the one way rows reach the SnapshotWriter.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::Addr;

use super::plan::SyncPlan;
use crate::c1z::snapshot_writer::{Rows, SnapshotWriter, WriteRows};
use crate::halo::HaloClient;
use crate::pb;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("a sync is already running ({0})")]
    AlreadyRunning(String),
    #[error("{0}")] // the Halo error already says "halo ..."
    Halo(#[from] crate::halo::Error),
    /// A targeted resource whose read failed for good (not a 404: that is skipped).
    #[error("targeted resource {resource}: {source}")]
    Target {
        resource: String,
        source: crate::halo::Error,
    },
    #[error("snapshot: {0}")]
    Snapshot(#[from] crate::c1z::Error),
    #[error("{0}")]
    Publish(#[from] super::uploader::UploadError),
    #[error("sync cancelled")]
    Cancelled,
    #[error(
        "{list} changed while paging: {distinct} distinct {list} read, but Halo reported \
         {first} on the first page and {last} on the last, in each of {passes} passes; \
         nothing was published (a row skipped by shifting offsets would read as revoked access)"
    )]
    Inconsistent {
        /// `agents` or `end users`.
        list: &'static str,
        distinct: u64,
        first: u64,
        last: u64,
        passes: u32,
    },
    #[error("{actor} is unavailable: {source}")]
    Mailbox {
        actor: &'static str,
        source: actix::MailboxError,
    },
}

/// Set when the run's owner lets go of it (shutdown, a failure, or the
/// coordinator dying); syncers check it between pages, so a cancelled sync
/// stops within one page and never publishes.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Release);
    }

    pub fn check(&self) -> Result<(), SyncError> {
        if self.0.load(Ordering::Acquire) {
            Err(SyncError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Everything a syncer needs for one run. Cheap to clone.
#[derive(Clone)]
pub struct SyncRun {
    pub sync_id: String,
    pub client: HaloClient,
    pub writer: Addr<SnapshotWriter>,
    pub cancel: Cancel,
    /// What this sync holds; rows outside it never reach the writer.
    pub plan: Arc<SyncPlan>,
}

impl SyncRun {
    /// Hand a batch to the writer and wait until it is written: the bounded
    /// hand-off that makes a slow writer slow the syncers down.
    pub async fn write(&self, rows: Rows) -> Result<(), SyncError> {
        let rows = scope(&self.plan, rows);
        if rows.is_empty() {
            return Ok(());
        }
        self.cancel.check()?;
        self.writer
            .send(WriteRows {
                sync_id: self.sync_id.clone(),
                rows,
            })
            .await
            .map_err(|source| SyncError::Mailbox {
                actor: "snapshot_writer",
                source,
            })??;
        Ok(())
    }
}

/// Keeps the rows `plan` asks for. The one place a filtered sync is filtered, so
/// the syncers stay the same for every kind of sync. A grant belongs to the type
/// of its entitlement's resource, as the SDK lists grants per resource.
fn scope(plan: &SyncPlan, rows: Rows) -> Rows {
    let type_of = |r: Option<&pb::Resource>| {
        r.and_then(|r| r.id.as_ref())
            .map(|id| id.resource_type.clone())
            .unwrap_or_default()
    };
    match rows {
        Rows::ResourceTypes(mut v) => {
            v.retain(|t| plan.includes_type(&t.id));
            Rows::ResourceTypes(v)
        }
        Rows::Resources(mut v) => {
            v.retain(|r| plan.includes_type(&type_of(Some(r))));
            Rows::Resources(v)
        }
        Rows::Entitlements(mut v) => {
            v.retain(|e| {
                plan.writes_entitlements() && plan.includes_type(&type_of(e.resource.as_ref()))
            });
            Rows::Entitlements(v)
        }
        Rows::Grants(mut v) => {
            v.retain(|g| {
                plan.writes_grants()
                    && plan.includes_type(&type_of(
                        g.entitlement.as_ref().and_then(|e| e.resource.as_ref()),
                    ))
            });
            Rows::Grants(v)
        }
    }
}
