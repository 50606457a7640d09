//! The local control socket: the CLI's door into a running daemon.
//!
//! A Unix domain socket in the state dir, mode 0600 (only the daemon's own
//! user may connect; a local user without access to it cannot grant
//! anything). Protocol: one JSON request line, one JSON response line, then
//! the connection closes.
//!
//! ```text
//! → {"submit": {"request": {"op": "grant", "entitlement": "team:3:member", "principal": "agent:42"},
//!               "requested_by": "alice", "wait": true}}
//! ← {"op_id": 17, "outcome": {"result": "ok", "resource": "agent:42", "grants": ["team:3:member:agent:42"]}}
//! → {"list": {"status": "queued", "limit": 100}}
//! ← {"operations": [...]}
//! ```

use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

use super::journal::{OpId, OpRecord, OpStatus};
use super::operation::OpRequest;
use super::outcome::Outcome;
use super::{Provisioning, Submission, WhenFull};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlRequest {
    Submit {
        request: OpRequest,
        requested_by: String,
        /// Wait for the outcome; false answers as soon as the operation is journaled.
        wait: bool,
    },
    List {
        status: Option<OpStatus>,
        limit: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ControlResponse {
    Operations {
        operations: Vec<OpRecord>,
    },
    // Before `Submitted`, whose fields are all optional and would match anything.
    Error {
        error: String,
    },
    /// `outcome` is absent when the caller did not wait.
    Submitted {
        op_id: Option<OpId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("control socket {path}: bad answer: {message}")]
    Protocol { path: PathBuf, message: String },
}

/// Bind the socket (replacing a stale file: the caller holds the journal lock,
/// so no other daemon owns it). The daemon binds before it spawns any actor, so a
/// refusal here leaves nothing running.
pub fn bind(path: &Path) -> Result<UnixListener, SocketError> {
    let io = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    let listener = UnixListener::bind(path).map_err(io)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
    Ok(listener)
}

/// Serve on the listener `bind` made for `path` until the process ends.
pub fn serve(listener: UnixListener, path: &Path, prov: Provisioning) {
    tracing::info!(path = %path.display(), "control socket listening");
    actix::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let prov = prov.clone();
                    actix::spawn(async move { serve_one(stream, prov).await });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
}

async fn serve_one(stream: UnixStream, prov: Provisioning) {
    let (read, mut write) = stream.into_split();
    let mut line = String::new();
    let mut reader = tokio::io::BufReader::new(read);
    // One request per connection; a client that sends nothing is dropped.
    if reader.read_line(&mut line).await.is_err() {
        return;
    }
    let response = match serde_json::from_str::<ControlRequest>(line.trim()) {
        Ok(req) => answer(req, &prov).await,
        Err(e) => ControlResponse::Error {
            error: format!("bad request: {e}"),
        },
    };
    let mut text =
        serde_json::to_string(&response).unwrap_or_else(|e| format!(r#"{{"error":"{e}"}}"#));
    text.push('\n');
    let _ = write.write_all(text.as_bytes()).await;
}

pub async fn answer(req: ControlRequest, prov: &Provisioning) -> ControlResponse {
    match req {
        ControlRequest::Submit {
            request,
            requested_by,
            wait,
        } => {
            let submission = Submission {
                request,
                requested_by,
                c1_task_id: None,
                when_full: WhenFull::Wait,
            };
            if wait {
                let (op_id, outcome) = prov.run(submission).await;
                ControlResponse::Submitted {
                    op_id,
                    outcome: Some(outcome),
                }
            } else {
                match prov.submit(submission).await {
                    Ok(s) => ControlResponse::Submitted {
                        op_id: Some(s.id),
                        outcome: None,
                    },
                    Err(e) => ControlResponse::Submitted {
                        op_id: None,
                        outcome: Some(e.into_outcome()),
                    },
                }
            }
        }
        ControlRequest::List { status, limit } => match prov.list(status, limit).await {
            Ok(operations) => ControlResponse::Operations { operations },
            Err(e) => ControlResponse::Error {
                error: e.to_string(),
            },
        },
    }
}

/// Ask the daemon. `Ok(None)` when no daemon answers on `path` (no socket, or
/// nobody listening): the caller runs the operation in-process instead.
pub fn request(path: &Path, req: &ControlRequest) -> Result<Option<ControlResponse>, SocketError> {
    let io = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = match std::os::unix::net::UnixStream::connect(path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io(e)),
    };
    let mut text = serde_json::to_string(req).map_err(|e| SocketError::Protocol {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    text.push('\n');
    stream.write_all(text.as_bytes()).map_err(io)?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).map_err(io)?;
    if line.trim().is_empty() {
        return Err(SocketError::Protocol {
            path: path.to_path_buf(),
            message: "the daemon closed the connection without answering".into(),
        });
    }
    serde_json::from_str(line.trim())
        .map(Some)
        .map_err(|e| SocketError::Protocol {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}
