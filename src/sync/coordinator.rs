//! SyncCoordinator: runs one full sync at a time.
//!
//! Owns: the "a sync is running" state. Never does: HTTP or SQLite itself; it
//! drives the per-resource syncers and the SnapshotWriter.
//! (Frame placeholder: the full-sync issue fills in the pipeline.)

use actix::prelude::*;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("full sync is not implemented yet")]
    NotImplemented,
}

/// Ask for one full sync. `reason` is logged and labels the trigger ("schedule", "start", "cli").
#[derive(Message, Debug)]
#[rtype(result = "Result<(), SyncError>")]
pub struct StartSync {
    pub reason: &'static str,
}

#[derive(Default)]
pub struct SyncCoordinator;

impl Actor for SyncCoordinator {
    type Context = Context<Self>;
}

impl Handler<StartSync> for SyncCoordinator {
    type Result = Result<(), SyncError>;

    fn handle(&mut self, msg: StartSync, _: &mut Self::Context) -> Self::Result {
        tracing::warn!(
            reason = msg.reason,
            "sync requested, but full sync is not implemented yet"
        );
        Err(SyncError::NotImplemented)
    }
}

crate::crashable!(SyncCoordinator);
