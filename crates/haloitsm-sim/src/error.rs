//! Errors that cross module boundaries inside the simulator and out of its public API.
//! (HTTP-facing Halo error bodies are `api::ApiError`, rendered per configured style.)

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid simulator config: {0}")]
    InvalidConfig(String),
    #[error("unknown team id {0}")]
    UnknownTeam(i64),
    #[error("unknown role id {0:?}")]
    UnknownRole(String),
    #[error("agent name must not be empty")]
    MissingName,
    /// The cause is in the message, so it is not also a `source()` (printed twice).
    #[error("simulator I/O: {0}")]
    Io(io::Error),
    #[error("simulator thread failed: {0}")]
    Thread(String),
}

impl From<io::Error> for SimError {
    fn from(e: io::Error) -> Self {
        SimError::Io(e)
    }
}

/// The public start functions return `io::Result` (what a CLI or a test harness expects);
/// configuration problems map to `InvalidInput` with the message kept.
impl From<SimError> for io::Error {
    fn from(e: SimError) -> Self {
        match e {
            SimError::Io(e) => e,
            SimError::Thread(m) => io::Error::other(m),
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}
