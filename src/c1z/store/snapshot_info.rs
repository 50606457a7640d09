//! What a finished store reports: where the c1z went, its size, row counts and
//! where the time went.

use std::path::PathBuf;
use std::time::Duration;

/// Row counts per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub resource_types: u64,
    pub resources: u64,
    pub entitlements: u64,
    pub grants: u64,
}

/// A published snapshot.
#[derive(Clone, Debug)]
pub struct SnapshotInfo {
    /// Where the c1z now is.
    pub path: PathBuf,
    pub sync_id: String,
    /// Size of the c1z file.
    pub bytes: u64,
    /// Size of the SQLite database inside it.
    pub db_bytes: u64,
    pub counts: Counts,
    pub phases: Phases,
}

/// Where the time went, for `snapshot_phase_seconds`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Phases {
    /// From `create` to the end of `end_sync` (all rows in SQLite).
    pub rows: Duration,
    /// Building the deferred indexes.
    pub indexes: Duration,
    /// Compressing, fsyncing and renaming.
    pub compress: Duration,
}

impl SnapshotInfo {
    /// The plain values telemetry reports for a published snapshot.
    pub fn published(&self, elapsed: Duration) -> crate::telemetry::snapshot::Published<'_> {
        let c = &self.counts;
        let p = &self.phases;
        crate::telemetry::snapshot::Published {
            path: &self.path,
            sync_id: &self.sync_id,
            bytes: self.bytes,
            db_bytes: self.db_bytes,
            rows: [c.resource_types, c.resources, c.entitlements, c.grants],
            phases: [p.rows, p.indexes, p.compress],
            elapsed,
        }
    }
}
