//! One error type for the whole c1z layer.
//!
//! Every variant that comes from the file system names the path it was about,
//! so "disk full" or "permission denied" says *which* file. Reader errors say
//! what is wrong with the input instead of surfacing a raw SQLite or zstd code.

use std::io;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Each message carries its cause's text, so the cause is not also exposed as
/// `source()`: a chain printer (anyhow's `{:#}`) would print it twice.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file-system call failed; `op` says what we were doing ("create", "write", ...).
    #[error("{op} {}: {cause}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        cause: io::Error,
    },

    /// SQLite failed while working on the database at `path`.
    #[error("sqlite {}: {context}: {cause}", path.display())]
    Sqlite {
        path: PathBuf,
        context: &'static str,
        cause: rusqlite::Error,
    },

    /// The input is not a c1z (wrong magic, missing tables, not SQLite, ...).
    #[error("{}: not a c1z: {reason}", path.display())]
    NotC1z { path: PathBuf, reason: String },

    /// A `C1Z3` (Pebble) file: recognised, but we only read v1 SQLite c1z files.
    #[error("{}: v3/Pebble c1z is not supported (only v1 SQLite c1z files can be read)", path.display())]
    UnsupportedV3 { path: PathBuf },

    /// The zstd payload is truncated or corrupt.
    #[error("{}: corrupt c1z payload: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },

    /// The decoded database would exceed the configured cap.
    #[error("{}: decoded database exceeds the {limit} byte limit", path.display())]
    TooLarge { path: PathBuf, limit: u64 },

    /// A stored protobuf blob does not decode as the message its table holds.
    #[error("{}: row {row_id} of {table} does not decode: {cause}", path.display())]
    Decode {
        path: PathBuf,
        table: &'static str,
        row_id: i64,
        cause: prost::DecodeError,
    },

    /// A row we were asked to write is unusable (e.g. an empty id).
    #[error("invalid {table} row: {reason}")]
    InvalidRow { table: &'static str, reason: String },

    /// The writer was used out of order (rows before `start_sync`, `finish` before `end_sync`, ...).
    #[error("snapshot writer: {0}")]
    State(String),

    /// The SnapshotWriter actor could not be reached (stopped or panicked).
    #[error("snapshot writer actor unavailable: {0}")]
    Mailbox(String),
}

impl Error {
    pub(crate) fn io(op: &'static str, path: &Path, cause: io::Error) -> Self {
        Error::Io {
            op,
            path: path.to_path_buf(),
            cause,
        }
    }

    pub(crate) fn sqlite(path: &Path, context: &'static str, cause: rusqlite::Error) -> Self {
        Error::Sqlite {
            path: path.to_path_buf(),
            context,
            cause,
        }
    }

    /// The reader of our output went away (`inspect … | head`): not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { cause, .. } if cause.kind() == io::ErrorKind::BrokenPipe)
    }
}
