//! c1z v1 snapshots: writer, reader, inspect (issues #5 and #6).
//!
//! A c1z v1 file is `C1ZF\0` + one zstd frame holding a SQLite database with the
//! baton SDK's `v1_*` tables; each row stores a deterministic protobuf blob of a
//! `c1.connector.v2` message (docs/reference/baton-compat.md §1).
//!
//! - `store`: the synchronous writer (one sync → one c1z, atomically published);
//! - `snapshot_writer`: the actor that owns a `Store` on a blocking thread;
//! - `reader` / `inspect`: open any v1 c1z (ours or the SDK's) and print it;
//! - `diff` (+ `diff_output`): what changed between two c1z files; `natural`: id order;
//! - `schema` (exact DDL), `encode` (row conventions), `envelope` (magic + zstd),
//!   `ksuid`, `timestamp`, `stats`. The wire types live in `crate::pb`.

pub mod diff;
mod diff_output;
pub mod encode;
pub mod envelope;
pub mod error;
pub mod inspect;
pub mod ksuid;
mod loader;
pub mod natural;
pub mod reader;
pub mod schema;
pub mod snapshot_writer;
pub mod stats;
pub mod store;
pub mod timestamp;
mod upsert;

pub use encode::{Kind, Record};
pub use error::{Error, Result};
pub use inspect::InspectWhat;
pub use reader::{ReadOptions, Snapshot, SnapshotStats, SyncRunInfo};
pub use snapshot_writer::{
    AbortSnapshot, BeginSnapshot, FinishSnapshot, Rows, SnapshotWriter, WriteRows,
};
pub use stats::SyncStats;
pub use store::{Counts, Phases, SnapshotInfo, Store, StoreOptions};
