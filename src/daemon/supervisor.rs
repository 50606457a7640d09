//! Supervisor: starts the daemon's actors and restarts any that die or stop
//! making progress, with backoff.
//!
//! Owns: the list of children (each a factory, the task running the current
//! instance and the `Slot` its callers hold), their restart counts and
//! backoff state, and the time of its own last check (its progress).
//! Never does: real work. Its handlers are short and synchronous so that the
//! supervisor itself cannot wedge or panic under load.
//!
//! Why not `actix::Supervisor`: it restarts only after `ctx.stop()`, never
//! after a panic (the mailbox is closed for good), and has no backoff
//! (docs/reference/rust-stack.md §2). Here every child runs in a task we keep
//! (`actor_slot::spawn_actor`), so:
//! - a finished task is a `stopped` or `panicked` actor (the task's result
//!   tells which);
//! - a `Probe` sent through the child's mailbox that is not answered within
//!   `probe_timeout` is an `unresponsive` actor: its task is aborted, which
//!   drops it (and whatever work it owned is cancelled by its guards);
//!
//! and either way it is rebuilt from its factory after an exponential backoff,
//! its `Slot` is pointed at the new address, and
//! `baton_haloitsm_actor_restarts_total{actor,reason}` is incremented.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix::dev::ToEnvelope;
use actix::prelude::*;
use futures::FutureExt;
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::actor_slot::{Hang, Probe, Slot, spawn_actor};
use crate::telemetry;

pub use crate::actor_slot::Crash;

/// How often children are checked for a finished task. Short, because it
/// bounds restart latency.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// The supervisor counts as making progress while its own checks ran this recently.
const PROGRESS_STALE_AFTER: Duration = Duration::from_secs(5);

type DrainFuture = Pin<Box<dyn Future<Output = ()>>>;
type ProbeFuture = Pin<Box<dyn Future<Output = Result<(), MailboxError>>>>;

/// One supervised actor: how to (re)start it, probe it, and optionally crash
/// or hang it (tests) and drain it (shutdown).
pub struct ChildSpec {
    pub name: &'static str,
    start: Box<dyn Fn() -> JoinHandle<()>>,
    probe: Box<dyn Fn() -> ProbeFuture>,
    crash: Box<dyn Fn()>,
    hang: Box<dyn Fn()>,
    drain: Option<Box<dyn Fn() -> DrainFuture>>,
    first: Option<JoinHandle<()>>,
}

/// Every supervised actor answers these (`crate::supervised!`).
pub trait Supervisable:
    Actor<Context = Context<Self>> + Handler<Probe> + Handler<Crash> + Handler<Hang>
{
}

impl<A> Supervisable for A where
    A: Actor<Context = Context<A>> + Handler<Probe> + Handler<Crash> + Handler<Hang>
{
}

impl ChildSpec {
    /// Start the first instance of an actor built by `factory`, with a mailbox
    /// of `capacity`, and return the spec plus the `Slot` callers hold.
    pub fn start<A, F>(name: &'static str, capacity: usize, factory: F) -> (Self, Slot<A>)
    where
        A: Supervisable,
        F: Fn() -> A + 'static,
    {
        let (addr, task) = spawn_actor(factory(), capacity);
        let slot = Slot::new(addr);
        let spec = Self::with_slot(name, slot.clone(), move || spawn_actor(factory(), capacity));
        (spec.first_task(task), slot)
    }

    /// For actors with their own way of starting: `spawn` builds a fresh
    /// instance and returns its address and task; the slot already holds the
    /// first instance, whose task is passed with `first_task`.
    pub fn with_slot<A, F>(name: &'static str, slot: Slot<A>, spawn: F) -> Self
    where
        A: Actor + Handler<Probe> + Handler<Crash> + Handler<Hang>,
        A::Context: ToEnvelope<A, Probe> + ToEnvelope<A, Crash> + ToEnvelope<A, Hang>,
        F: Fn() -> (Addr<A>, JoinHandle<()>) + 'static,
    {
        let (s1, s2, s3, s4) = (slot.clone(), slot.clone(), slot.clone(), slot);
        ChildSpec {
            name,
            start: Box::new(move || {
                let (addr, task) = spawn();
                s1.replace(addr);
                task
            }),
            probe: Box::new(move || {
                let addr = s2.addr();
                Box::pin(async move { addr.send(Probe).await })
            }),
            crash: Box::new(move || s3.addr().do_send(Crash)),
            hang: Box::new(move || s4.addr().do_send(Hang)),
            drain: None,
            first: None,
        }
    }

    pub fn first_task(mut self, task: JoinHandle<()>) -> Self {
        self.first = Some(task);
        self
    }

    /// `drain` resolves once the actor's in-flight work is done (or abandoned cleanly).
    pub fn drain_with<F, Fut>(mut self, drain: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        self.drain = Some(Box::new(move || Box::pin(drain())));
        self
    }
}

#[derive(Debug, Clone)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
}

/// How the supervisor checks progress.
#[derive(Debug, Clone)]
pub struct Probing {
    /// Probe every child this often.
    pub every: Duration,
    /// A probe not answered within this is an unresponsive child.
    pub timeout: Duration,
}

impl Default for Probing {
    fn default() -> Self {
        Probing {
            every: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
        }
    }
}

/// Why a child is being restarted (the metric's `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DownReason {
    Stopped,
    Panicked,
    Unresponsive,
}

impl DownReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DownReason::Stopped => "stopped",
            DownReason::Panicked => "panicked",
            DownReason::Unresponsive => "unresponsive",
        }
    }
}

struct Child {
    spec: Rc<ChildSpec>,
    task: Option<JoinHandle<()>>,
    /// Bumped on every restart, so a late probe answer of an old instance is ignored.
    generation: u64,
    restarts: u64,
    backoff: Duration,
    /// Set while the child is down and its restart is scheduled.
    down: Option<DownReason>,
    probe_in_flight: bool,
    last_restart: Option<Instant>,
}

pub struct Supervisor {
    children: Vec<Child>,
    backoff: Backoff,
    probing: Probing,
    started_at: Instant,
    last_check: Instant,
    draining: bool,
}

impl Supervisor {
    pub fn new(children: Vec<ChildSpec>, backoff: Backoff) -> Self {
        Self::with_probing(children, backoff, Probing::default())
    }

    pub fn with_probing(children: Vec<ChildSpec>, backoff: Backoff, probing: Probing) -> Self {
        let children = children
            .into_iter()
            .map(|mut spec| {
                telemetry::actors::register_actor(spec.name);
                let task = spec.first.take();
                Child {
                    spec: Rc::new(spec),
                    task,
                    generation: 0,
                    restarts: 0,
                    backoff: backoff.initial,
                    down: None,
                    probe_in_flight: false,
                    last_restart: None,
                }
            })
            .collect();
        Supervisor {
            children,
            backoff,
            probing,
            started_at: Instant::now(),
            last_check: Instant::now(),
            draining: false,
        }
    }

    fn check_children(&mut self, ctx: &mut Context<Self>) {
        self.last_check = Instant::now();
        if self.draining {
            return;
        }
        for idx in 0..self.children.len() {
            let child = &mut self.children[idx];
            if child.down.is_some() {
                continue;
            }
            let Some(reason) = finished(&mut child.task) else {
                // A child that stayed up for a full max-backoff period earns a fresh start.
                if let Some(t) = child.last_restart
                    && t.elapsed() > self.backoff.max
                {
                    child.backoff = self.backoff.initial;
                    child.last_restart = None;
                }
                continue;
            };
            self.child_down(ctx, idx, reason);
        }
    }

    /// Mark a child down and schedule its restart after its backoff.
    fn child_down(&mut self, ctx: &mut Context<Self>, idx: usize, reason: DownReason) {
        let child = &mut self.children[idx];
        if let Some(task) = child.task.take() {
            // Unresponsive: drop the wedged instance (and what it owns) now.
            task.abort();
        }
        child.down = Some(reason);
        let delay = child.backoff;
        telemetry::actors::actor_down(child.spec.name, reason.as_str(), delay);
        ctx.run_later(delay, move |act, _| {
            if act.draining {
                return;
            }
            let max = act.backoff.max;
            let child = &mut act.children[idx];
            child.task = Some((child.spec.start)());
            child.generation += 1;
            child.restarts += 1;
            child.down = None;
            child.probe_in_flight = false;
            child.last_restart = Some(Instant::now());
            telemetry::actors::actor_restarted(
                child.spec.name,
                reason.as_str(),
                child.restarts,
                delay,
            );
            child.backoff = (child.backoff * 2).min(max);
        });
    }

    fn probe_children(&mut self, ctx: &mut Context<Self>) {
        if self.draining {
            return;
        }
        let timeout = self.probing.timeout;
        for idx in 0..self.children.len() {
            let child = &mut self.children[idx];
            if child.down.is_some() || child.probe_in_flight {
                continue;
            }
            child.probe_in_flight = true;
            let generation = child.generation;
            let probe = (child.spec.probe)();
            ctx.spawn(
                async move { tokio::time::timeout(timeout, probe).await }
                    .into_actor(self)
                    .map(move |answer, act, ctx| {
                        let child = &mut act.children[idx];
                        if child.generation != generation || child.down.is_some() {
                            return;
                        }
                        child.probe_in_flight = false;
                        // A closed mailbox is a finished task: check_children sees it.
                        if answer.is_err() && !act.draining {
                            act.child_down(ctx, idx, DownReason::Unresponsive);
                        }
                    }),
            );
        }
    }

    fn healthy(&self) -> Health {
        Health {
            progressing: self.last_check.elapsed() < PROGRESS_STALE_AFTER,
            children_up: self
                .children
                .iter()
                .all(|c| c.down.is_none() && c.task.as_ref().is_some_and(|t| !t.is_finished())),
        }
    }
}

/// If the task ended, why: a panic, or a stop (the actor's own `ctx.stop()`).
fn finished(task: &mut Option<JoinHandle<()>>) -> Option<DownReason> {
    let t = task.as_mut()?;
    if !t.is_finished() {
        return None;
    }
    let reason = match t.now_or_never() {
        Some(Err(e)) if e.is_panic() => DownReason::Panicked,
        _ => DownReason::Stopped,
    };
    *task = None;
    Some(reason)
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(CHECK_EVERY, |act, ctx| act.check_children(ctx));
        ctx.run_interval(self.probing.every, |act, ctx| act.probe_children(ctx));
        let names: Vec<_> = self.children.iter().map(|c| c.spec.name).collect();
        tracing::info!(actors = ?names, "supervisor started");
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActorStatus {
    pub name: &'static str,
    pub alive: bool,
    /// Why it is down right now (its restart is scheduled), if it is.
    pub down: Option<DownReason>,
    pub restarts: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub uptime_seconds: f64,
    pub actors: Vec<ActorStatus>,
}

/// Snapshot of every child, for `/status`.
#[derive(Message)]
#[rtype(result = "StatusReport")]
pub struct GetStatus;

impl Handler<GetStatus> for Supervisor {
    type Result = MessageResult<GetStatus>;

    fn handle(&mut self, _: GetStatus, _: &mut Self::Context) -> Self::Result {
        MessageResult(StatusReport {
            uptime_seconds: self.started_at.elapsed().as_secs_f64(),
            actors: self
                .children
                .iter()
                .map(|c| ActorStatus {
                    name: c.spec.name,
                    alive: c.down.is_none() && c.task.as_ref().is_some_and(|t| !t.is_finished()),
                    down: c.down,
                    restarts: c.restarts,
                })
                .collect(),
        })
    }
}

/// The answer to `Ping`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Health {
    /// The supervisor's own checks are running (the watchdog's condition).
    pub progressing: bool,
    /// Every child is up and answered its last probe (`/readyz`'s condition).
    pub children_up: bool,
}

/// Answered only if the actor system's thread is making progress; the
/// watchdog and `/readyz` use it.
#[derive(Message)]
#[rtype(result = "Health")]
pub struct Ping;

impl Handler<Ping> for Supervisor {
    type Result = MessageResult<Ping>;

    fn handle(&mut self, _: Ping, _: &mut Self::Context) -> Self::Result {
        MessageResult(self.healthy())
    }
}

/// What fault to inject into a child (tests only).
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    Crash,
    Hang,
}

/// Inject a fault into one child by name.
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct InjectFault {
    pub actor: String,
    pub fault: Fault,
}

impl Handler<InjectFault> for Supervisor {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: InjectFault, _: &mut Self::Context) -> Self::Result {
        let child = self
            .children
            .iter()
            .find(|c| c.spec.name == msg.actor)
            .ok_or_else(|| format!("no actor named `{}`", msg.actor))?;
        tracing::warn!(actor = child.spec.name, fault = ?msg.fault, "injecting a fault on request");
        match msg.fault {
            Fault::Crash => (child.spec.crash)(),
            Fault::Hang => (child.spec.hang)(),
        }
        Ok(())
    }
}

/// Fault injection: block the actor system's thread for this long (a blocking call
/// or busy loop wedging it). Tests use it to prove the systemd watchdog pings stop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct WedgeSystem(pub Duration);

impl Handler<WedgeSystem> for Supervisor {
    type Result = ();

    fn handle(&mut self, msg: WedgeSystem, _: &mut Self::Context) {
        tracing::warn!(
            ms = msg.0.as_millis() as u64,
            "fault injection: blocking the actor system's thread on request"
        );
        // Deliberately blocking: this is the fault being injected.
        std::thread::sleep(msg.0);
    }
}

/// Drain every child within `grace`. Resolves `true` if all drained in time.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Drain {
    pub grace: Duration,
}

impl Handler<Drain> for Supervisor {
    type Result = ResponseFuture<bool>;

    fn handle(&mut self, msg: Drain, _: &mut Self::Context) -> Self::Result {
        // No restarts while shutting down: a drained actor that stops is not a failure.
        self.draining = true;
        let drains: Vec<DrainFuture> = self
            .children
            .iter()
            .filter_map(|c| c.spec.drain.as_ref().map(|d| d()))
            .collect();
        Box::pin(async move {
            tokio::time::timeout(msg.grace, futures::future::join_all(drains))
                .await
                .is_ok()
        })
    }
}
