//! Supervisor: starts the daemon's actors, restarts any that die, with backoff.
//!
//! Owns: the list of children (each a factory plus the `Slot` its callers hold),
//! their restart counts and backoff state.
//! Never does: real work. Its handlers are short and synchronous so that the
//! supervisor itself cannot wedge or panic under load.
//!
//! Why not `actix::Supervisor` alone: it restarts only after `ctx.stop()`, never
//! after a panic (the mailbox is closed for good), and has no backoff
//! (reference/rust-stack.md §2). Here every child is checked for liveness on a
//! short interval; a stopped *or* panicked actor is rebuilt from its factory
//! after an exponential backoff, its `Slot` is pointed at the new address, and
//! `baton_haloitsm_actor_restarts_total{actor}` is incremented.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use actix::dev::ToEnvelope;
use actix::prelude::*;
use serde::Serialize;

use crate::actor_slot::Slot;
use crate::telemetry;

/// How often children are checked. Short, because it bounds restart latency.
const CHECK_EVERY: Duration = Duration::from_millis(100);

type DrainFuture = Pin<Box<dyn Future<Output = ()>>>;

pub use crate::actor_slot::Crash;

/// One supervised actor: how to tell it is alive, how to rebuild it, and optionally
/// how to crash it (tests) and drain it (shutdown).
pub struct ChildSpec {
    pub name: &'static str,
    alive: Box<dyn Fn() -> bool>,
    restart: Box<dyn Fn()>,
    crash: Option<Box<dyn Fn()>>,
    drain: Option<Box<dyn Fn() -> DrainFuture>>,
}

impl ChildSpec {
    /// `factory` builds and starts a fresh instance; the slot already holds the first one.
    pub fn new<A, F>(name: &'static str, slot: Slot<A>, factory: F) -> Self
    where
        A: Actor,
        F: Fn() -> Addr<A> + 'static,
    {
        let alive_slot = slot.clone();
        ChildSpec {
            name,
            alive: Box::new(move || alive_slot.is_alive()),
            restart: Box::new(move || slot.replace(factory())),
            crash: None,
            drain: None,
        }
    }

    pub fn crashable<A>(mut self, slot: Slot<A>) -> Self
    where
        A: Actor + Handler<Crash>,
        A::Context: ToEnvelope<A, Crash>,
    {
        self.crash = Some(Box::new(move || slot.addr().do_send(Crash)));
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

struct Child {
    spec: ChildSpec,
    restarts: u64,
    backoff: Duration,
    restart_pending: bool,
    last_restart: Option<Instant>,
}

pub struct Supervisor {
    children: Vec<Child>,
    backoff: Backoff,
    started_at: Instant,
}

impl Supervisor {
    pub fn new(children: Vec<ChildSpec>, backoff: Backoff) -> Self {
        let children = children
            .into_iter()
            .map(|spec| {
                telemetry::actors::register_actor(spec.name);
                Child {
                    spec,
                    restarts: 0,
                    backoff: backoff.initial,
                    restart_pending: false,
                    last_restart: None,
                }
            })
            .collect();
        Supervisor {
            children,
            backoff,
            started_at: Instant::now(),
        }
    }

    fn check_children(&mut self, ctx: &mut Context<Self>) {
        for idx in 0..self.children.len() {
            let child = &mut self.children[idx];
            if child.restart_pending {
                continue;
            }
            if (child.spec.alive)() {
                // A child that stayed up for a full max-backoff period earns a fresh start.
                if let Some(t) = child.last_restart
                    && t.elapsed() > self.backoff.max
                {
                    child.backoff = self.backoff.initial;
                    child.last_restart = None;
                }
                continue;
            }
            child.restart_pending = true;
            let delay = child.backoff;
            tracing::warn!(
                actor = child.spec.name,
                delay_ms = delay.as_millis() as u64,
                "actor is down; restarting after backoff"
            );
            ctx.run_later(delay, move |act, _| {
                let max = act.backoff.max;
                let child = &mut act.children[idx];
                (child.spec.restart)();
                child.restarts += 1;
                child.restart_pending = false;
                child.last_restart = Some(Instant::now());
                telemetry::actors::actor_restarted(child.spec.name, child.restarts, delay);
                child.backoff = (child.backoff * 2).min(max);
            });
        }
    }
}

impl Actor for Supervisor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(CHECK_EVERY, |act, ctx| act.check_children(ctx));
        let names: Vec<_> = self.children.iter().map(|c| c.spec.name).collect();
        tracing::info!(actors = ?names, "supervisor started");
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ActorStatus {
    pub name: &'static str,
    pub alive: bool,
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
                    alive: (c.spec.alive)(),
                    restarts: c.restarts,
                })
                .collect(),
        })
    }
}

/// Watchdog probe: answered only if the actor system's thread is making progress.
/// `true` when every child is alive or has a restart scheduled.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct Ping;

impl Handler<Ping> for Supervisor {
    type Result = bool;

    fn handle(&mut self, _: Ping, _: &mut Self::Context) -> bool {
        self.children
            .iter()
            .all(|c| c.restart_pending || (c.spec.alive)())
    }
}

/// Crash one child by name (fault injection).
#[derive(Message)]
#[rtype(result = "Result<(), String>")]
pub struct CrashChild(pub String);

impl Handler<CrashChild> for Supervisor {
    type Result = Result<(), String>;

    fn handle(&mut self, msg: CrashChild, _: &mut Self::Context) -> Self::Result {
        let child = self
            .children
            .iter()
            .find(|c| c.spec.name == msg.0)
            .ok_or_else(|| format!("no actor named `{}`", msg.0))?;
        let crash = child
            .spec
            .crash
            .as_ref()
            .ok_or_else(|| format!("actor `{}` does not take fault injection", msg.0))?;
        tracing::warn!(actor = child.spec.name, "crashing actor on request");
        crash();
        Ok(())
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
        for c in &mut self.children {
            c.restart_pending = true;
        }
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
