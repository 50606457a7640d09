//! The local control socket: the CLI's door into a running daemon, for provisioning and
//! for tickets (so that the CLI and the daemon share one state: one journal, one Halo
//! client and its schema cache, and the embedded simulator of the demo).
//!
//! A Unix domain socket (`provisioning.socket`), mode 0600 (only the daemon's own user
//! may connect; a local user without access to it cannot grant anything). The daemon
//! serves it whether or not provisioning is enabled. Protocol: one JSON request line,
//! one JSON response line, then the connection closes.
//!
//! ```text
//! → {"submit": {"request": {"op": "grant", "entitlement": "team:3:member", "principal": "agent:42"},
//!               "requested_by": "alice", "wait": true}}
//! ← {"op_id": 17, "outcome": {"result": "ok", "resource": "agent:42", "grants": ["team:3:member:agent:42"]}}
//! → {"list": {"status": "queued", "limit": 100}}
//! ← {"operations": [...]}
//! → {"tickets": {"get": {"id": "12"}}}
//! ← {"ticket": {...}}
//! ```
//!
//! Bounded (issue 18): a request line longer than `socket_max_request_bytes`, a client
//! that has not sent its line within `socket_idle_timeout`, and a connection over
//! `socket_max_connections` are each answered with one `{"error": ..., "kind": ...}` line
//! and closed; nothing a client sends grows the daemon's memory past those bounds.
//!
//! - `protocol`: the request and response lines;
//! - `server`: the listener, its bounds, and the answers (`tickets`: the ticket commands);
//! - `client`: the CLI's side.

mod client;
mod protocol;
mod server;
mod tickets;

use std::path::PathBuf;

pub use client::request;
pub use protocol::{ControlRequest, ControlResponse, ErrorKind, TicketCommand};
pub use server::{Limits, Services, answer, bind, serve};

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("control socket {path}: bad answer: {message}")]
    Protocol { path: PathBuf, message: String },
    /// Another daemon answers on the socket: never steal it.
    #[error("control socket {path} is in use by another running daemon")]
    InUse { path: PathBuf },
}
