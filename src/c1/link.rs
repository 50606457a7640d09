//! C1Link: the connector's side of BatonService — Hello, GetTask polling, heartbeats,
//! FinishTask and uploads.
//!
//! Owns: the one gRPC channel to C1 (HTTP/2, opened lazily, reused by every call; the SDK
//! dials per RPC), the task loop and its worker slots, and the service-mode status shown on
//! `/status`. Never does: Halo requests or c1z writing itself — tasks go to the actors that do
//! the work (see `dispatch`), the token comes from C1Auth.
//!
//! Mailbox: the actor only receives `Probe`/`Crash`; the loop runs in a local task started in
//! `started()` and aborted when the actor stops, so a restarted C1Link starts a fresh loop
//! (Hello again) on the same channel settings.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use tokio::sync::Semaphore;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Code, Request};

use super::auth::{C1Auth, GetC1Token, InvalidateC1Token};
use super::dispatch::{self, Deps, task_kind};
use super::status::{Outcome, TaskFailure, finish_request};
use super::{C1Error, C1Settings, hello};
use crate::actor_slot::Slot;
use crate::pb::baton::baton_service_client::BatonServiceClient;
use crate::pb::baton::{
    BatonServiceGetTaskRequest, BatonServiceGetTaskResponse, BatonServiceHeartbeatRequest,
    BatonServiceHeartbeatResponse, Task,
};
use crate::telemetry;

const MAX_POLL: Duration = Duration::from_secs(300);
/// C1 may answer next_poll = 0; never spin on it.
const MIN_POLL: Duration = Duration::from_millis(100);
const HELLO_BACKOFF_MAX: Duration = Duration::from_secs(300);
const MAX_HEARTBEAT_FAILURES: u32 = 10;

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
    pub deps: Deps,
    /// Syncs run one at a time even when tasks run concurrently.
    pub sync_lock: tokio::sync::Mutex<()>,
    /// Action ids this process invoked, for action_status (bounded by `dispatch`).
    pub actions: RefCell<HashMap<String, (String, i32)>>,
    /// Tasks being worked on or reported right now: C1 handing one over again meanwhile
    /// (it may, after our restart) must not produce a second FinishTask.
    in_hand: RefCell<std::collections::HashSet<String>>,
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
            settings,
            auth,
            client: BatonServiceClient::new(channel),
            deps,
            sync_lock: tokio::sync::Mutex::new(()),
            actions: RefCell::new(HashMap::new()),
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

    /// `msg` with the bearer token attached.
    async fn authed<T>(&self, rpc: &'static str, msg: T) -> Result<Request<T>, C1Error> {
        let token =
            self.auth
                .addr()
                .send(GetC1Token)
                .await
                .map_err(|source| C1Error::Mailbox {
                    actor: "c1_auth",
                    source,
                })??;
        let mut req = Request::new(msg);
        let value = format!("Bearer {}", token.expose())
            .parse()
            .map_err(|_| C1Error::Rpc {
                rpc,
                status: tonic::Status::internal("the token is not a valid header value"),
            })?;
        req.metadata_mut().insert("authorization", value);
        req.set_timeout(Duration::from_secs(60));
        Ok(req)
    }

    async fn rpc_error(&self, rpc: &'static str, status: tonic::Status) -> C1Error {
        if status.code() == Code::Unauthenticated {
            let _ = self.auth.addr().send(InvalidateC1Token).await;
        }
        C1Error::Rpc { rpc, status }
    }

    pub async fn hello(&self, task_id: &str) -> Result<(), C1Error> {
        let req = hello::hello_request(&self.settings.host_id, task_id, self.settings.enabled);
        let req = self.authed("hello", req).await?;
        match self.client.clone().hello(req).await {
            Ok(_) => Ok(()),
            Err(s) => Err(self.rpc_error("hello", s).await),
        }
    }

    async fn get_task(&self) -> Result<BatonServiceGetTaskResponse, C1Error> {
        let req = BatonServiceGetTaskRequest {
            host_id: self.settings.host_id.clone(),
        };
        let req = self.authed("get_task", req).await?;
        match self.client.clone().get_task(req).await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) => Err(self.rpc_error("get_task", s).await),
        }
    }

    async fn heartbeat(&self, task_id: &str) -> Result<BatonServiceHeartbeatResponse, C1Error> {
        let req = BatonServiceHeartbeatRequest {
            host_id: self.settings.host_id.clone(),
            task_id: task_id.to_string(),
            ..Default::default()
        };
        let req = self.authed("heartbeat", req).await?;
        match self.client.clone().heartbeat(req).await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) => Err(self.rpc_error("heartbeat", s).await),
        }
    }

    /// FinishTask, retried a few times: an outcome C1 never hears about would run again.
    async fn finish(&self, task_id: &str, outcome: Outcome) -> Result<(), C1Error> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let req = finish_request(&self.settings.host_id, task_id, outcome.clone());
            let res: Result<(), C1Error> = match self.authed("finish_task", req).await {
                Ok(req) => match self.client.clone().finish_task(req).await {
                    Ok(_) => return Ok(()),
                    Err(s) => Err(self.rpc_error("finish_task", s).await),
                },
                Err(e) => Err(e),
            };
            let Err(e) = res else { return Ok(()) };
            let wait = Duration::from_secs(u64::from(attempt));
            telemetry::c1::rpc_failed("finish_task", &e.to_string(), wait);
            if attempt >= 5 {
                return Err(e);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// Upload a c1z for `task_id`: up to 3 attempts, waiting 0 s then 1 s between them.
    pub async fn upload(&self, task_id: &str, path: &std::path::Path) -> Result<u64, C1Error> {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let mut last = None;
        for attempt in 1..=3u32 {
            if attempt == 3 {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let stream = super::upload::request_stream(
                self.settings.host_id.clone(),
                task_id.to_string(),
                path,
            )
            .await
            .map_err(|e| C1Error::Upload(format!("{}: {e}", path.display())))?;
            let res = match self.authed("upload_asset", stream).await {
                Ok(req) => match self.client.clone().upload_asset(req).await {
                    Ok(_) => Ok(()),
                    Err(s) => Err(self.rpc_error("upload_asset", s).await),
                },
                Err(e) => Err(e),
            };
            match res {
                Ok(()) => {
                    telemetry::c1::upload_finished(task_id, size, attempt);
                    return Ok(size);
                }
                Err(e) => {
                    telemetry::c1::upload_failed(task_id, attempt, &e.to_string());
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| C1Error::Upload("no attempt made".into())))
    }

    /// Runs `work` while heartbeating `task_id`; C1 cancelling the task, or ten failed
    /// heartbeats in a row, end the wait with a Cancelled failure (`work` is dropped: the
    /// caller cancels what it started).
    pub async fn with_heartbeats<F: Future>(
        &self,
        task_id: &str,
        first_interval: Option<Duration>,
        work: F,
    ) -> Result<F::Output, TaskFailure> {
        let beats = async {
            let mut interval = heartbeat_interval(first_interval);
            let mut failures = 0u32;
            let mut first = true;
            loop {
                if !first {
                    tokio::time::sleep(interval).await;
                }
                first = false;
                match self.heartbeat(task_id).await {
                    Ok(r) if r.cancelled || r.cancelled_task_ids.iter().any(|t| t == task_id) => {
                        telemetry::c1::heartbeat(task_id, "cancelled");
                        return TaskFailure::cancelled("C1 cancelled the task");
                    }
                    Ok(r) => {
                        telemetry::c1::heartbeat(task_id, "ok");
                        telemetry::c1::connected(&self.settings.api_host);
                        failures = 0;
                        interval = heartbeat_interval(r.next_heartbeat.map(to_duration));
                    }
                    Err(e) => {
                        telemetry::c1::heartbeat(task_id, "error");
                        failures += 1;
                        if failures >= MAX_HEARTBEAT_FAILURES {
                            return TaskFailure::cancelled(format!(
                                "{failures} heartbeats failed in a row: {e}"
                            ));
                        }
                    }
                }
            }
        };
        tokio::select! {
            biased;
            out = work => Ok(out),
            failure = beats => Err(failure),
        }
    }
}

fn to_duration(d: prost_types::Duration) -> Duration {
    if d.seconds < 0 || (d.seconds == 0 && d.nanos <= 0) {
        return Duration::ZERO;
    }
    Duration::new(d.seconds as u64, d.nanos.max(0) as u32)
}

/// The SDK's clamp: [1 s, 5 min], 30 s when C1 says nothing.
fn heartbeat_interval(d: Option<Duration>) -> Duration {
    match d {
        None => Duration::from_secs(30),
        Some(d) if d.is_zero() => Duration::from_secs(30),
        Some(d) => d.clamp(Duration::from_secs(1), Duration::from_secs(300)),
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
    if let Some(prov) = link.deps.provisioning.clone() {
        let pending = prov.unreported().await;
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
                if let Some(outcome) = prov.recover(task_id.clone()).await {
                    report(&link, &task_id, "recovered", outcome).await;
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
                    Some(task) if dispatch::has_work(&task) => {
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

/// FinishTask, then mark a journaled task reported (never before C1 has it).
async fn report(link: &Link, task_id: &str, kind: &str, outcome: Outcome) {
    match link.finish(task_id, outcome).await {
        Ok(()) => {
            if (kind == "recovered" || dispatch::is_provisioning(kind))
                && let Some(prov) = link.deps.provisioning.clone()
            {
                prov.reported(task_id.to_string()).await;
            }
            if kind == "recovered" {
                tracing::info!(
                    task_id,
                    "reported the outcome of a task acknowledged before the restart"
                );
            }
        }
        Err(e) => {
            tracing::error!(task_id, error = %e, "could not report the task to C1; a journaled outcome is reported at the next start")
        }
    }
}

async fn run_task(link: &Link, task: Task, next_heartbeat: Option<Duration>) {
    let started = Instant::now();
    let kind = task_kind(&task);
    let id = task.id.clone();
    if !link.in_hand.borrow_mut().insert(id.clone()) {
        tracing::info!(task_id = %id, kind, "C1 handed over a task already in hand; it is reported once, by the run in hand");
        return;
    }
    telemetry::c1::task_started(kind, &id);
    let outcome = if kind == "hello" {
        // A hello task is answered with a Hello carrying its id; there is no FinishTask.
        match link.hello(&id).await {
            Ok(()) => Outcome::ok(None),
            Err(e) => Outcome::Failed(TaskFailure::new(Code::Unavailable, e.to_string(), true)),
        }
    } else {
        let outcome = dispatch::dispatch(link, task, next_heartbeat).await;
        report(link, &id, kind, outcome.clone()).await;
        outcome
    };
    link.in_hand.borrow_mut().remove(&id);
    let message = match &outcome {
        Outcome::Failed(f) => f.message.clone(),
        Outcome::Success { .. } => String::new(),
    };
    let result = outcome.result_label();
    telemetry::c1::task_finished(kind, &id, result, started.elapsed(), &message);
    set_status(|s| {
        s.last_task = Some(LastTask {
            id,
            kind,
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
        assert_eq!(heartbeat_interval(None), Duration::from_secs(30));
        assert_eq!(
            heartbeat_interval(Some(Duration::from_millis(10))),
            Duration::from_secs(1)
        );
        assert_eq!(
            heartbeat_interval(Some(Duration::from_secs(9000))),
            Duration::from_secs(300)
        );
    }
}
