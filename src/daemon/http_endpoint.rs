//! The daemon's one HTTP listener: `/metrics`, `/healthz`, `/readyz`, `/status`.
//!
//! Owns: the listening socket. Never does: work on behalf of a request beyond
//! asking the supervisor for a status snapshot.
//! `/healthz` answers as long as the process serves HTTP; `/readyz` only once the
//! config is loaded and every actor is up; `/status` is JSON for humans.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::Addr;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use super::supervisor::{CrashChild, GetStatus, StatusReport, Supervisor};
use crate::telemetry;

#[derive(Clone)]
pub struct HttpState {
    pub supervisor: Addr<Supervisor>,
    pub ready: Arc<AtomicBool>,
    pub fault_injection: bool,
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
        .with_state(state)
}

/// Bind now (so a bad `http.listen` fails at start), serve in the background.
pub async fn serve(
    listen: SocketAddr,
    state: HttpState,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let app = router(state);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "http endpoint stopped");
        }
    });
    tracing::info!(%addr, "http endpoint listening (/metrics /healthz /readyz /status)");
    Ok((addr, task))
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::render(),
    )
        .into_response()
}

async fn readyz(State(s): State<HttpState>) -> Response {
    if s.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n").into_response()
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

async fn crash(State(s): State<HttpState>, Path(actor): Path<String>) -> Response {
    if !s.fault_injection {
        return (
            StatusCode::NOT_FOUND,
            "fault injection is disabled (http.enable_fault_injection)\n",
        )
            .into_response();
    }
    match s.supervisor.send(CrashChild(actor)).await {
        Ok(Ok(())) => (StatusCode::ACCEPTED, "crashed\n").into_response(),
        Ok(Err(e)) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")).into_response(),
    }
}
