//! The long-running daemon: wires the actors under the supervisor, serves the
//! HTTP endpoint, talks to systemd, and shuts down cleanly on SIGTERM/SIGINT.

pub mod http_endpoint;
pub mod pipeline;
pub mod shutdown;
pub mod supervisor;
pub mod watchdog;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::Actor;

use crate::config::Config;
use crate::telemetry;
use supervisor::{Backoff, Drain, Supervisor};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot listen on {addr} (http.listen): {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Startup(String),
}

/// Run until SIGTERM/SIGINT. Must be called inside an actix `System`.
pub async fn run(cfg: Config) -> Result<(), DaemonError> {
    telemetry::init();
    let ready = Arc::new(AtomicBool::new(false));

    let children = pipeline::build(&cfg).await?;
    let supervisor = Supervisor::new(
        children,
        Backoff {
            initial: cfg.daemon.restart_backoff_initial,
            max: cfg.daemon.restart_backoff_max,
        },
    )
    .start();

    let state = http_endpoint::HttpState {
        supervisor: supervisor.clone(),
        ready: ready.clone(),
        fault_injection: cfg.http.enable_fault_injection,
    };
    let (addr, _http) = http_endpoint::serve(cfg.http.listen, state)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: cfg.http.listen,
            source,
        })?;

    ready.store(true, Ordering::Release);
    watchdog::notify_ready();
    watchdog::spawn(supervisor.clone());
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        http = %addr,
        "baton-haloitsm daemon ready"
    );

    let signal = shutdown::wait_for_signal().await;
    tracing::info!(
        signal,
        grace_s = cfg.daemon.shutdown_grace.as_secs_f64(),
        "shutting down"
    );
    ready.store(false, Ordering::Release);
    watchdog::notify_stopping();
    match supervisor
        .send(Drain {
            grace: cfg.daemon.shutdown_grace,
        })
        .await
    {
        Ok(true) => tracing::info!("in-flight work drained"),
        Ok(false) => tracing::warn!(
            "grace period over; abandoning in-flight work (nothing half-written is published)"
        ),
        Err(e) => tracing::warn!(error = %e, "supervisor gone during shutdown"),
    }
    Ok(())
}
