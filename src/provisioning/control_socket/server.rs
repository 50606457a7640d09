//! The daemon's side: bind the socket, serve each connection within the bounds
//! (request size, time to send it, connections at once), and answer.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::Semaphore;

use super::protocol::{ControlRequest, ControlResponse, ErrorKind};
use super::{SocketError, tickets};
use crate::provisioning::outcome::Outcome;
use crate::provisioning::settings::ProvisioningSection;
use crate::provisioning::{Provisioning, Submission, WhenFull};
use crate::ticketing::Ticketing;

/// What the socket serves: `provisioning` is `None` when it is not enabled (its
/// requests are then refused as the in-process door refuses them).
#[derive(Clone, Default)]
pub struct Services {
    pub provisioning: Option<Provisioning>,
    pub ticketing: Option<Ticketing>,
}

/// The socket's bounds (`provisioning.socket_*`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    pub fn of(p: &ProvisioningSection) -> Limits {
        Limits {
            max_request_bytes: p.socket_max_request_bytes.max(1),
            idle_timeout: p.socket_idle_timeout,
            max_connections: p.socket_max_connections.max(1),
        }
    }
}

/// Bind the socket. A stale file is replaced; a socket another daemon still answers on is
/// not (`SocketError::InUse`). The daemon binds before it spawns any actor, so a refusal
/// here leaves nothing running.
pub fn bind(path: &Path) -> Result<UnixListener, SocketError> {
    let io = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(SocketError::InUse {
            path: path.to_path_buf(),
        });
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
pub fn serve(listener: UnixListener, path: &Path, services: Services, limits: Limits) {
    tracing::info!(
        path = %path.display(),
        max_request_bytes = limits.max_request_bytes,
        idle_timeout_ms = limits.idle_timeout.as_millis() as u64,
        max_connections = limits.max_connections,
        "control socket listening"
    );
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    actix::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        let services = services.clone();
                        actix::spawn(async move {
                            serve_one(stream, &services, limits).await;
                            drop(slot);
                        });
                    }
                    Err(_) => {
                        tracing::debug!(
                            max_connections = limits.max_connections,
                            "control socket busy: connection refused"
                        );
                        // Never waits: one short line into an empty socket buffer.
                        let busy = ControlResponse::error(
                            ErrorKind::Busy,
                            format!(
                                "busy: {} connections are being served (provisioning.socket_max_connections); try again",
                                limits.max_connections
                            ),
                        );
                        let _ = stream.try_write(busy.to_line().as_bytes());
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "control socket accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
}

/// One request line (at most `max_request_bytes`, within `idle_timeout`), one answer.
async fn serve_one(stream: UnixStream, services: &Services, limits: Limits) {
    let (read, mut write) = stream.into_split();
    let mut reader = tokio::io::BufReader::new(read);
    let cap = limits.max_request_bytes;
    let mut line = Vec::new();
    // `take` bounds what is buffered: a client that never sends a newline costs
    // at most `cap + 1` bytes, however much it sends.
    let read = tokio::time::timeout(
        limits.idle_timeout,
        (&mut reader)
            .take(cap as u64 + 1)
            .read_until(b'\n', &mut line),
    )
    .await;
    let response = match read {
        Err(_) => {
            tracing::debug!("control socket client idle: closed");
            ControlResponse::error(
                ErrorKind::Idle,
                format!(
                    "no complete request line within {} (provisioning.socket_idle_timeout)",
                    humantime::format_duration(limits.idle_timeout)
                ),
            )
        }
        // The client went away, or closed without asking anything.
        Ok(Err(_)) | Ok(Ok(0)) => return,
        Ok(Ok(n)) if n > cap && line.last() != Some(&b'\n') => {
            tracing::warn!(
                max_request_bytes = cap,
                "control socket request too long: closed"
            );
            ControlResponse::error(
                ErrorKind::TooLong,
                format!(
                    "request line longer than {cap} bytes (provisioning.socket_max_request_bytes)"
                ),
            )
        }
        Ok(Ok(_)) => match serde_json::from_slice::<ControlRequest>(line.trim_ascii()) {
            Ok(req) => answer(req, services).await,
            Err(e) => ControlResponse::error(ErrorKind::BadRequest, format!("bad request: {e}")),
        },
    };
    drop(line);
    // A client that does not read its answer does not hold its slot for ever.
    let _ = tokio::time::timeout(
        limits.idle_timeout,
        write.write_all(response.to_line().as_bytes()),
    )
    .await;
}

/// The answer to one request, from the daemon's services (the CLI's in-process door
/// calls this too, with services of its own).
pub async fn answer(req: ControlRequest, services: &Services) -> ControlResponse {
    match req {
        ControlRequest::Tickets(cmd) => match &services.ticketing {
            Some(t) => tickets::answer(cmd, t).await,
            None => ControlResponse::error(ErrorKind::Failed, "tickets are not served here"),
        },
        ControlRequest::Submit { .. } | ControlRequest::List { .. } => {
            match &services.provisioning {
                Some(prov) => provisioning(req, prov).await,
                None => not_enabled(req),
            }
        }
    }
}

/// Provisioning is off: no journal, every operation refused as `Provisioning` refuses it.
fn not_enabled(req: ControlRequest) -> ControlResponse {
    match req {
        ControlRequest::List { .. } => ControlResponse::error(
            ErrorKind::Failed,
            "provisioning is not enabled: there is no journal",
        ),
        _ => ControlResponse::Submitted {
            op_id: None,
            outcome: Some(Outcome::not_enabled()),
        },
    }
}

async fn provisioning(req: ControlRequest, prov: &Provisioning) -> ControlResponse {
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
            Err(e) => ControlResponse::error(ErrorKind::Failed, e.to_string()),
        },
        ControlRequest::Tickets(_) => {
            ControlResponse::error(ErrorKind::Failed, "not a provisioning request")
        }
    }
}
