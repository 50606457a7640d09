//! The daemon's one HTTP listener: `/metrics`, `/healthz`, `/readyz`, `/status`.
//!
//! Owns: the listening socket. Never does: work on behalf of a request beyond
//! asking the supervisor for a status snapshot.
//! `/healthz` answers as long as the process serves HTTP; `/readyz` only once the
//! config is loaded, the supervisor answers through its mailbox, and every
//! actor is up and answered its last progress probe (503 while one is down or
//! unresponsive); `/status` is JSON for humans.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::Addr;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::supervisor::{
    Fault, GetStatus, InjectFault, Ping, StatusReport, Supervisor, WedgeSystem,
};
use crate::actor_slot::Slot;
use crate::sync::coordinator::{StartSync, SyncCoordinator};
use crate::telemetry;

#[derive(Clone)]
pub struct HttpState {
    pub supervisor: Addr<Supervisor>,
    pub ready: Arc<AtomicBool>,
    pub fault_injection: bool,
    /// For `POST /debug/sync` (fault-injection tests only).
    pub coordinator: Option<Slot<SyncCoordinator>>,
}

#[derive(Serialize)]
struct Status {
    version: &'static str,
    ready: bool,
    #[serde(flatten)]
    report: StatusReport,
    /// C1 service mode: connection state and the last task (absent when off).
    #[serde(skip_serializing_if = "Option::is_none")]
    c1: Option<crate::c1::link::LinkStatus>,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/debug/crash/{actor}", post(crash))
        .route("/debug/hang/{actor}", post(hang))
        .route("/debug/wedge/{ms}", post(wedge))
        .route("/debug/sync", post(debug_sync))
        .with_state(state)
}

/// Bind `http.listen`; returns the listener and the address it got (port 0 picks one).
/// The daemon binds before it spawns any actor, so a busy or forbidden port stops the
/// start with nothing to tear down.
pub async fn bind(listen: SocketAddr) -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

/// Serve on the listener `bind` returned (at `addr`) in the background.
pub fn serve(
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    state: HttpState,
) -> tokio::task::JoinHandle<()> {
    let app = router(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "http endpoint stopped");
        }
    });
    tracing::info!(%addr, "http endpoint listening (/metrics /healthz /readyz /status)");
    task
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::render(),
    )
        .into_response()
}

async fn readyz(State(s): State<HttpState>) -> Response {
    if !s.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response();
    }
    let answer =
        tokio::time::timeout(std::time::Duration::from_secs(2), s.supervisor.send(Ping)).await;
    match answer {
        Ok(Ok(h)) if h.progressing && h.children_up => (StatusCode::OK, "ready\n").into_response(),
        Ok(Ok(h)) if !h.progressing => (
            StatusCode::SERVICE_UNAVAILABLE,
            "supervisor not making progress\n",
        )
            .into_response(),
        Ok(Ok(_)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "an actor is down or unresponsive (see /status)\n",
        )
            .into_response(),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "supervisor unavailable\n").into_response(),
    }
}

async fn status(State(s): State<HttpState>) -> Response {
    match s.supervisor.send(GetStatus).await {
        Ok(report) => axum::Json(Status {
            version: env!("CARGO_PKG_VERSION"),
            ready: s.ready.load(Ordering::Acquire),
            report,
            c1: crate::c1::link::status(),
        })
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("supervisor unavailable: {e}\n"),
        )
            .into_response(),
    }
}

async fn crash(state: State<HttpState>, actor: Path<String>) -> Response {
    inject(state, actor, Fault::Crash).await
}

async fn hang(state: State<HttpState>, actor: Path<String>) -> Response {
    inject(state, actor, Fault::Hang).await
}

/// Block the actor system's thread for `ms` (at most a minute): the watchdog test.
async fn wedge(State(s): State<HttpState>, Path(ms): Path<u64>) -> Response {
    if !s.fault_injection {
        return (
            StatusCode::NOT_FOUND,
            "fault injection is disabled (http.enable_fault_injection)\n",
        )
            .into_response();
    }
    let d = Duration::from_millis(ms.min(60_000));
    s.supervisor.do_send(WedgeSystem(d));
    (StatusCode::ACCEPTED, "wedging\n").into_response()
}

async fn inject(State(s): State<HttpState>, Path(actor): Path<String>, fault: Fault) -> Response {
    if !s.fault_injection {
        return (
            StatusCode::NOT_FOUND,
            "fault injection is disabled (http.enable_fault_injection)\n",
        )
            .into_response();
    }
    match s.supervisor.send(InjectFault { actor, fault }).await {
        Ok(Ok(())) => (StatusCode::ACCEPTED, "injected\n").into_response(),
        Ok(Err(e)) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}

/// Run one sync now and answer with its outcome (tests: crash a running sync
/// at a chosen moment, then check the next one). Off unless fault injection is.
async fn debug_sync(State(s): State<HttpState>) -> Response {
    let coordinator = match (&s.coordinator, s.fault_injection) {
        (Some(c), true) => c.addr(),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                "fault injection is disabled (http.enable_fault_injection)\n",
            )
                .into_response();
        }
    };
    match coordinator
        .send(StartSync {
            reason: "debug",
            dest: None,
        })
        .await
    {
        Ok(Ok(report)) => (
            StatusCode::OK,
            format!("{}\n", report.snapshot.path.display()),
        )
            .into_response(),
        Ok(Err(e)) => (StatusCode::CONFLICT, format!("sync failed: {e}\n")).into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("sync coordinator unavailable: {e}\n"),
        )
            .into_response(),
    }
}
