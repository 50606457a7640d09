//! C1Link: the connector's side of BatonService — Hello, GetTask polling, heartbeats,
//! FinishTask and uploads.
//!
//! Owns: the one gRPC channel to C1 (HTTP/2, opened lazily, reused by every call; the SDK
//! dials per RPC), the task loop and its worker slots, and the service-mode status shown on
//! `/status`. Never does: Halo requests or c1z writing itself — tasks go to the actors that do
//! the work (see `tasks`), the token comes from C1Auth. The calls on the channel are in `rpc`.
//!
//! Mailbox: the actor only receives `Probe`/`Crash`; the loop runs in a local task started in
//! `started()` and aborted when the actor stops, so a restarted C1Link starts a fresh loop
//! (Hello again) on the same channel settings.

mod rpc;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::Semaphore;
use tonic::Code;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::auth::C1Auth;
use super::status::{Outcome, TaskFailure};
use super::task_kind::TaskKind;
use super::tasks::{self, Command, Deps, Tasks};
use super::{C1Error, C1Settings};
use crate::actor_slot::Slot;
use crate::pb::baton::Task;
use crate::pb::baton::baton_service_client::BatonServiceClient;
use crate::telemetry;
use rpc::to_duration;

const MAX_POLL: Duration = Duration::from_secs(300);
/// C1 may answer next_poll = 0; never spin on it.
const MIN_POLL: Duration = Duration::from_millis(100);
const HELLO_BACKOFF_MAX: Duration = Duration::from_secs(300);

/// What `/status` shows about service mode.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LinkStatus {
    pub state: &'static str,
    pub api_host: String,
    pub host_id: String,
    pub last_error: Option<String>,
    pub last_task: Option<LastTask>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct LastTask {
    pub id: String,
    pub kind: &'static str,
    pub result: &'static str,
    pub message: String,
    pub elapsed_ms: u64,
}

static STATUS: LazyLock<Mutex<Option<LinkStatus>>> = LazyLock::new(|| Mutex::new(None));

fn set_status(f: impl FnOnce(&mut LinkStatus)) {
    if let Ok(mut s) = STATUS.lock() {
        f(s.get_or_insert_with(LinkStatus::default));
    }
}

/// The service-mode status, `None` when service mode is off.
pub fn status() -> Option<LinkStatus> {
    STATUS.lock().ok().and_then(|s| s.clone())
}

pub struct C1Link {
    settings: C1Settings,
    auth: Slot<C1Auth>,
    deps: Deps,
    handle: Option<tokio::task::JoinHandle<()>>,
    link: Option<Rc<Link>>,
}

impl C1Link {
    pub fn new(settings: C1Settings, auth: Slot<C1Auth>, deps: Deps) -> Self {
        C1Link {
            settings,
            auth,
            deps,
            handle: None,
            link: None,
        }
    }
}

/// Stopped or panicked, the loop and every task it started die with the actor: a task
/// left running would report beside the restarted link's own report of it (journaled
/// provisioning tasks are finished and reported once by the restarted link).
impl Drop for C1Link {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
        if let Some(link) = self.link.take() {
            link.abort_tasks();
        }
    }
}

impl Actor for C1Link {
    type Context = Context<Self>;

    fn started(&mut self, _: &mut Self::Context) {
        set_status(|s| {
            s.state = "connecting";
            s.api_host = self.settings.api_host.clone();
            s.host_id = self.settings.host_id.clone();
        });
        match Link::new(self.settings.clone(), self.auth.clone(), self.deps.clone()) {
            Ok(link) => {
                let link = Rc::new(link);
                self.link = Some(link.clone());
                self.handle = Some(actix::spawn(run(link)));
            }
            Err(e) => {
                telemetry::c1::refused("connect", &e.to_string());
                set_status(|s| {
                    s.state = "stopped";
                    s.last_error = Some(e.to_string());
                });
            }
        }
    }
}

crate::supervised!(C1Link);

/// The state the loop and every task share (single-threaded: the actix System thread).
pub struct Link {
    pub settings: C1Settings,
    auth: Slot<C1Auth>,
    client: BatonServiceClient<Channel>,
    /// The engines the tasks call and what the tasks keep between runs.
    tasks: Tasks,
    /// Tasks being worked on or reported right now: C1 handing one over again meanwhile
    /// (it may, after our restart) must not produce a second FinishTask.
    in_hand: RefCell<HashSet<String>>,
    /// The task futures this link started (aborted with it).
    spawned: RefCell<Vec<tokio::task::JoinHandle<()>>>,
}

impl Link {
    pub fn new(settings: C1Settings, auth: Slot<C1Auth>, deps: Deps) -> Result<Link, C1Error> {
        let uri = settings.grpc_uri();
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(|_| C1Error::Address(uri.clone()))?
            .connect_timeout(Duration::from_secs(30))
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true)
            .user_agent(format!(
                "{} baton-haloitsm/{}",
                settings.client_id.name,
                env!("CARGO_PKG_VERSION")
            ))
            .map_err(|_| C1Error::Address(uri.clone()))?;
        if !settings.plaintext() {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| C1Error::Address(format!("{uri}: {e}")))?;
        }
        // Lazy: the first call connects, and the channel reconnects by itself after a drop.
        let channel = endpoint.connect_lazy();
        Ok(Link {
            tasks: Tasks::new(&settings, deps),
            settings,
            auth,
            client: BatonServiceClient::new(channel),
            in_hand: RefCell::default(),
            spawned: RefCell::default(),
        })
    }

    fn spawn_task(&self, task: impl Future<Output = ()> + 'static) {
        let handle = actix::spawn(task);
        let mut spawned = self.spawned.borrow_mut();
        spawned.retain(|h| !h.is_finished());
        spawned.push(handle);
    }

    fn abort_tasks(&self) {
        for h in self.spawned.borrow_mut().drain(..) {
            h.abort();
        }
    }
}

fn poll_interval(d: Option<prost_types::Duration>) -> Duration {
    d.map(to_duration)
        .unwrap_or(Duration::ZERO)
        .clamp(MIN_POLL, MAX_POLL)
}

/// C1 will not accept us: retrying cannot help.
fn is_fatal(e: &C1Error) -> bool {
    match e {
        C1Error::Rpc { status, .. } => matches!(
            status.code(),
            Code::Unauthenticated
                | Code::PermissionDenied
                | Code::InvalidArgument
                | Code::Unimplemented
                | Code::FailedPrecondition
                | Code::NotFound
        ),
        C1Error::TokenRefused(_) | C1Error::Credentials(_) | C1Error::Address(_) => true,
        _ => false,
    }
}

fn rpc_name(e: &C1Error, default: &'static str) -> &'static str {
    match e {
        C1Error::Token(_) | C1Error::TokenRefused(_) => "token",
        _ => default,
    }
}

async fn run(link: Rc<Link>) {
    // Before any sync task of this process can have started.
    tasks::sync::clean_temp_dir_once(&link.settings.temp_dir, link.settings.keep_failed_upload);
    // Hello with exponential backoff from 1 s to 5 min.
    let mut backoff = Duration::from_secs(1);
    loop {
        match link.hello("").await {
            Ok(()) => {
                telemetry::c1::connected(&link.settings.api_host);
                set_status(|s| {
                    s.state = "connected";
                    s.last_error = None;
                });
                break;
            }
            Err(e) if is_fatal(&e) => {
                telemetry::c1::refused(rpc_name(&e, "hello"), &e.to_string());
                set_status(|s| {
                    s.state = "refused";
                    s.last_error = Some(e.to_string());
                });
                return;
            }
            Err(e) => {
                telemetry::c1::rpc_failed(rpc_name(&e, "hello"), &e.to_string(), backoff);
                set_status(|s| {
                    s.state = "connecting";
                    s.last_error = Some(e.to_string());
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(HELLO_BACKOFF_MAX);
            }
        }
    }

    // Operations acknowledged before a restart but never reported: finish and report each
    // once. Claimed before polling starts, so a re-delivered task cannot overtake them.
    if let Some(prov) = link.tasks.provisioning().cloned() {
        let pending = tasks::provisioning::unreported(&prov).await;
        if !pending.is_empty() {
            tracing::info!(
                tasks = pending.len(),
                "finishing C1 tasks acknowledged before the restart"
            );
        }
        for task_id in pending {
            link.in_hand.borrow_mut().insert(task_id.clone());
            let (this, prov) = (link.clone(), prov.clone());
            link.spawn_task(async move {
                let link = this;
                if let Some((kind, outcome)) = tasks::provisioning::recover(&prov, &task_id).await
                    && report(&link, &task_id, kind, outcome).await
                {
                    tracing::info!(
                        task_id,
                        "reported the outcome of a task acknowledged before the restart"
                    );
                }
                link.in_hand.borrow_mut().remove(&task_id);
            });
        }
    }

    let slots = std::sync::Arc::new(Semaphore::new(link.settings.task_concurrency));
    let mut errors: u64 = 0;
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        match link.get_task().await {
            Ok(resp) => {
                errors = 0;
                telemetry::c1::connected(&link.settings.api_host);
                set_status(|s| {
                    s.state = "connected";
                    s.last_error = None;
                });
                let next_heartbeat = resp.next_heartbeat.map(to_duration);
                match resp.task {
                    Some(task) if tasks::has_work(&task) => {
                        let this = link.clone();
                        link.spawn_task(async move {
                            run_task(&this, task, next_heartbeat).await;
                            drop(permit);
                        });
                    }
                    _ => {
                        drop(permit);
                        tokio::time::sleep(poll_interval(resp.next_poll)).await;
                    }
                }
            }
            Err(e) => {
                drop(permit);
                errors += 1;
                let wait = Duration::from_secs((errors * errors).min(60));
                telemetry::c1::rpc_failed(rpc_name(&e, "get_task"), &e.to_string(), wait);
                set_status(|s| {
                    s.state = "disconnected";
                    s.last_error = Some(e.to_string());
                });
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// FinishTask, then mark a journaled task reported (never before C1 has it). Whether C1 has it.
async fn report(link: &Link, task_id: &str, kind: TaskKind, outcome: Outcome) -> bool {
    match link.finish(task_id, kind, outcome).await {
        Ok(()) => {
            if kind.is_journaled()
                && let Some(prov) = link.tasks.provisioning()
            {
                tasks::provisioning::reported(prov, task_id).await;
            }
            true
        }
        Err(e) => {
            tracing::error!(task_id, error = %e, "could not report the task to C1; a journaled outcome is reported at the next start");
            false
        }
    }
}

async fn run_task(link: &Link, task: Task, next_heartbeat: Option<Duration>) {
    let started = Instant::now();
    let id = task.id.clone();
    let command = Command::parse(task.task_type);
    let kind = command.kind();
    if !link.in_hand.borrow_mut().insert(id.clone()) {
        tracing::info!(task_id = %id, %kind, "C1 handed over a task already in hand; it is reported once, by the run in hand");
        return;
    }
    telemetry::c1::task_started(kind.label(), &id);
    let outcome = if let Command::Hello = command {
        // A hello task is answered with a Hello carrying its id; there is no FinishTask.
        match link.hello(&id).await {
            Ok(()) => Outcome::ok(None),
            Err(e) => Outcome::Failed(TaskFailure::new(Code::Unavailable, e.to_string())),
        }
    } else {
        let outcome = link.tasks.run(link, &id, command, next_heartbeat).await;
        report(link, &id, kind, outcome.clone()).await;
        outcome
    };
    link.in_hand.borrow_mut().remove(&id);
    let message = match &outcome {
        Outcome::Failed(f) => f.message.clone(),
        Outcome::Success { .. } => String::new(),
    };
    let result = outcome.result_label();
    telemetry::c1::task_finished(kind.label(), &id, result, started.elapsed(), &message);
    set_status(|s| {
        s.last_task = Some(LastTask {
            id,
            kind: kind.label(),
            result,
            message,
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps() {
        let d = |s| prost_types::Duration {
            seconds: s,
            nanos: 0,
        };
        assert_eq!(poll_interval(Some(d(3600))), MAX_POLL);
        assert_eq!(poll_interval(Some(d(0))), MIN_POLL);
        assert_eq!(poll_interval(None), MIN_POLL);
        assert_eq!(poll_interval(Some(d(7))), Duration::from_secs(7));
    }
}
