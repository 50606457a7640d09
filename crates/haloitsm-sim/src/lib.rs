//! HaloITSM simulator (issue #3): a fake Halo tenant over real HTTP for tests, benches and
//! the demo. A crate of its own (issue 16): it knows nothing of the connector, and the
//! connector links it only for the demo's embedded tenant and the `simulate` subcommand.
//!
//! - `SimHandle::start` serves on the current tokio runtime (also inside an actix `System`);
//!   `SimHandle::start_background` runs its own runtime on its own thread;
//!   `serve_until` serves until a future completes (the `simulate` subcommand).
//! - `SimControl` flips faults and quirks at run time and inspects the tenant and request log;
//!   the same switches are served as JSON under `/_sim/...` (see `admin.rs`).
//! - `ROUTES` is the single table of Halo routes served, checked against the OpenAPI document.
//!
//! Layout: `config` (all knobs), `generate` + `tenant` + `table` (data), `routes` + `server`
//! (dispatch pipeline), `api/*` (one file per entity), `query`, `auth`, `rate_limit`, `faults`, `hostile` (broken 200s), `conn`
//! (connection resets), `request_log`, `control` + `admin` (run-time switches).

mod admin;
mod api;
mod auth;
mod config;
mod conn;
mod control;
mod dates;
mod error;
mod faults;
mod generate;
mod hostile;
mod model;
mod query;
mod rate_limit;
mod request_log;
mod routes;
mod server;
mod state;
mod table;
mod tenant;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::watch;

pub use config::{
    AgentPageRows, ErrorStyle, FaultConfig, LatencyConfig, ListWrites, QuirkConfig,
    RateLimitConfig, SimConfig,
};
pub use control::{RuntimeConfig, SimControl};
pub use dates::NEVER as NEVER_DATE;
pub use error::SimError;
pub use hostile::{Hostile, RowEdit};
pub use model::{
    FieldKind, SimAction, SimAgent, SimCustomValue, SimField, SimRole, SimStatus, SimTeam,
    SimTicket, SimTicketType, SimUser, StatusKind, TenantSnapshot,
};
pub use request_log::{LoggedRequest, NO_RESPONSE};
pub use routes::{Endpoint, ROUTES, Route};

use auth::{AuthSettings, TokenStore};
use faults::FaultState;
use rate_limit::SlidingWindow;
use request_log::RequestLog;
use state::Shared;

/// A running simulator. Dropping it (or `shutdown`) stops it.
pub struct SimHandle {
    addr: SocketAddr,
    control: SimControl,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("background", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// Serve on the *current* tokio runtime (works inside an actix System too, via tokio::spawn).
    pub async fn start(cfg: SimConfig, bind: SocketAddr) -> io::Result<SimHandle> {
        let (stop, stop_rx) = watch::channel(false);
        let (listener, shared) = prepare(cfg, bind, stop_rx.clone()).await?;
        let addr = listener.local_addr()?;
        let control = SimControl {
            shared: shared.clone(),
        };
        tokio::spawn(async move {
            if let Err(e) = server::run(listener, shared, stop_rx).await {
                tracing::error!(error = %e, "HaloITSM simulator stopped with an error");
            }
        });
        Ok(SimHandle {
            addr,
            control,
            stop,
            thread: None,
        })
    }

    /// Serve on its own thread with its own multi-thread runtime (demo, benches); usable from
    /// any thread, including one without a runtime.
    pub fn start_background(cfg: SimConfig, bind: SocketAddr) -> io::Result<SimHandle> {
        type Ready = io::Result<(SocketAddr, SimControl, watch::Sender<bool>)>;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Ready>();
        let thread = std::thread::Builder::new()
            .name("halo-sim".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("halo-sim-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let (stop, stop_rx) = watch::channel(false);
                    let prepared = prepare(cfg, bind, stop_rx.clone()).await;
                    let (listener, shared) = match prepared {
                        Ok(p) => p,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.into()));
                            return;
                        }
                    };
                    let addr = match listener.local_addr() {
                        Ok(a) => a,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let control = SimControl {
                        shared: shared.clone(),
                    };
                    if ready_tx.send(Ok((addr, control, stop))).is_err() {
                        return;
                    }
                    if let Err(e) = server::run(listener, shared, stop_rx).await {
                        tracing::error!(error = %e, "HaloITSM simulator stopped with an error");
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })?;
        let (addr, control, stop) = ready_rx
            .recv()
            .map_err(|_| io::Error::other("simulator thread exited before it was ready"))??;
        Ok(SimHandle {
            addr,
            control,
            stop,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT` (the Halo "base URL": `/api` and `/auth` hang off it).
    pub fn base_url(&self) -> String {
        server::base_url(self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    pub fn shutdown(self) {
        drop(self);
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Serves the simulator on `bind` until `shutdown` completes, then stops gracefully.
/// What `baton-haloitsm simulate` runs; the admin API is the way to steer it.
pub async fn serve_until(
    cfg: SimConfig,
    bind: SocketAddr,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let (stop, stop_rx) = watch::channel(false);
    let (listener, shared) = prepare(cfg, bind, stop_rx.clone()).await?;
    let server = server::run(listener, shared, stop_rx);
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => return r,
        () = shutdown => {}
    }
    let _ = stop.send(true);
    server.await
}

/// Validates the config, binds, and generates the tenant (off the async threads).
async fn prepare(
    cfg: SimConfig,
    bind: SocketAddr,
    stop: watch::Receiver<bool>,
) -> Result<(TcpListener, Arc<Shared>), SimError> {
    cfg.validate()?;
    let listener = TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let started = Instant::now();
    let gen_cfg = cfg.clone();
    let tenant = tokio::task::spawn_blocking(move || generate::generate(&gen_cfg))
        .await
        .map_err(|e| SimError::Thread(e.to_string()))??;
    let base_url = server::base_url(addr);
    tracing::info!(
        addr = %addr,
        base_url = %base_url,
        agents = cfg.agents,
        teams = cfg.teams,
        roles = cfg.roles,
        users = cfg.users,
        generated_ms = started.elapsed().as_millis() as u64,
        "HaloITSM simulator listening"
    );
    let shared = Shared {
        auth: AuthSettings {
            client_id: cfg.client_id,
            client_secret: cfg.client_secret,
            tenant: cfg.tenant,
            token_lifetime: cfg.token_lifetime,
        },
        base_url,
        tenant: RwLock::new(tenant),
        tokens: Mutex::new(TokenStore::default()),
        rate: Mutex::new(SlidingWindow::new(cfg.rate_limit)),
        faults: Mutex::new(FaultState::new(cfg.seed, cfg.faults, cfg.latency)),
        quirks: RwLock::new(Arc::new(cfg.quirks)),
        log: Mutex::new(RequestLog::new(cfg.request_log_limit)),
        token_requests: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
        shutdown: stop,
        clock: Default::default(),
    };
    Ok((listener, Arc::new(shared)))
}

/// Builds a tenant exactly as the server would and returns its snapshot (determinism tests,
/// benches).
pub fn generate_snapshot(cfg: &SimConfig) -> Result<TenantSnapshot, SimError> {
    Ok(generate::generate(cfg)?.snapshot())
}
