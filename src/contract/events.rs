//! Events one capability announces and another listens to, so that neither
//! imports the other: the sync publishes snapshots, provisioning's fallback
//! resolver reads them.

use std::path::PathBuf;

use actix::Message;

/// A sync's snapshot is published (renamed into place by the Uploader in daemon
/// mode, finished in place otherwise). A notification: nobody answers it.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SnapshotPublished {
    pub path: PathBuf,
    pub sync_id: String,
}
