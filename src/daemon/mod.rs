//! The long-running daemon: wires the actors under the supervisor, serves the
//! HTTP endpoint, talks to systemd, and shuts down cleanly on SIGTERM/SIGINT.

pub mod http_endpoint;
pub mod pipeline;
pub mod shutdown;
pub mod supervisor;
pub mod watchdog;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix::Actor;

use crate::config::Config;
use crate::telemetry;
use supervisor::{Backoff, Drain, Probing, Supervisor};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("cannot listen on {addr} (http.listen): {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// A directory the daemon writes into (`output.dir`) cannot be created or written.
    #[error("{key} {path} is not a writable directory: {source}")]
    StateDir {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Startup(String),
    /// The provisioning journal is locked, corrupt or unwritable: never start without it.
    #[error(transparent)]
    Journal(#[from] crate::provisioning::journal::JournalError),
    #[error(transparent)]
    ControlSocket(#[from] crate::provisioning::control_socket::SocketError),
}

/// Run until SIGTERM/SIGINT. Must be called inside an actix `System`.
///
/// Everything that can refuse the start (the output directory, the journal and its lock,
/// the HTTP port, the control socket) is acquired before the first actor is spawned. An actor that was spawned
/// but never polled is started by actix when it is dropped, and if that happens as the
/// runtime is torn down (after an early return), its `started` hook finds no reactor and
/// panics; so a refused start must leave no actor behind.
pub async fn run(cfg: Config) -> Result<(), DaemonError> {
    telemetry::init();
    let ready = Arc::new(AtomicBool::new(false));

    // The embedded simulator (demo) lives as long as the daemon.
    let (_sim, halo_base_url) = start_simulator(&cfg).await?;
    writable_dir("output.dir", &cfg.output.dir)?;
    crate::sync::uploader::remove_stale_temp(&cfg.output.dir);
    // Opened (and locked) before anything runs: a second daemon stops here.
    // With provisioning off nothing is ever journaled (every operation is
    // refused up front), so there is no journal.
    let journal = match cfg.provisioning.enabled {
        true => Some(crate::provisioning::journal::Journal::open(
            &cfg.provisioning.journal,
        )?),
        false => None,
    };
    let (listener, addr) = http_endpoint::bind(cfg.http.listen)
        .await
        .map_err(|source| DaemonError::Listen {
            addr: cfg.http.listen,
            source,
        })?;
    // Served whether or not provisioning is on: the `tickets` commands go through it.
    let socket = crate::provisioning::control_socket::bind(&cfg.provisioning.socket)?;

    // From here on nothing refuses the start.
    let mut pipeline = pipeline::build(&cfg, halo_base_url, pipeline::Mode::Daemon);
    let provisioning =
        journal.map(|journal| pipeline::add_provisioning(&mut pipeline, &cfg, journal));
    // The CLI's door, whether or not provisioning is on: the `tickets` commands go
    // through the daemon's ticketing service (its schema cache, its tenant).
    use crate::provisioning::control_socket::{self, Limits, Services};
    control_socket::serve(
        socket,
        &cfg.provisioning.socket,
        Services {
            provisioning: provisioning.clone(),
            ticketing: Some(pipeline.ticketing.clone()),
        },
        Limits::of(&cfg.provisioning),
    );
    // Service mode: one queue, so C1's tasks and the CLI share the journal.
    pipeline::add_c1(&mut pipeline, &cfg, provisioning);
    let coordinator = pipeline.coordinator.clone();
    let supervisor = Supervisor::with_probing(
        pipeline.children,
        Backoff {
            initial: cfg.daemon.restart_backoff_initial,
            max: cfg.daemon.restart_backoff_max,
        },
        Probing {
            every: cfg.daemon.probe_interval,
            timeout: cfg.daemon.probe_timeout,
        },
    )
    .start();

    let state = http_endpoint::HttpState {
        supervisor: supervisor.clone(),
        ready: ready.clone(),
        fault_injection: cfg.http.enable_fault_injection,
        coordinator: Some(coordinator),
    };
    let _http = http_endpoint::serve(listener, addr, state);

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

/// Start the embedded simulator when the config has one; returns its handle and URL.
pub async fn start_simulator(
    cfg: &Config,
) -> Result<(Option<haloitsm_sim::SimHandle>, Option<url::Url>), DaemonError> {
    let Some(sim) = &cfg.simulator else {
        return Ok((None, None));
    };
    let handle = haloitsm_sim::SimHandle::start(sim.tenant.clone(), sim.listen)
        .await
        .map_err(|e| DaemonError::Startup(format!("embedded simulator on {}: {e}", sim.listen)))?;
    let url = url::Url::parse(&handle.base_url())
        .map_err(|e| DaemonError::Startup(format!("simulator URL: {e}")))?;
    tracing::warn!(base_url = %url, "using the embedded HaloITSM simulator, not a real tenant");
    Ok((Some(handle), Some(url)))
}

/// Create `dir` if needed and prove it writable with a probe file, so that an unwritable
/// state directory stops the start instead of failing the first sync.
fn writable_dir(key: &'static str, dir: &Path) -> Result<(), DaemonError> {
    let err = |source| DaemonError::StateDir {
        key,
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    let probe = dir.join(format!(".write-test.{}", std::process::id()));
    std::fs::File::create(&probe).map_err(err)?;
    // Only a leftover dot file if this fails; not worth refusing the start for.
    let _ = std::fs::remove_file(&probe);
    Ok(())
}
