//! A stable handle to a supervised actor.
//!
//! actix closes an actor's mailbox for good when a handler panics (see
//! docs/reference/rust-stack.md §2), so the supervisor rebuilds the actor and gets a
//! *new* `Addr`. Everyone who talks to a supervised actor holds a `Slot`
//! instead of an `Addr`; the supervisor swaps the address inside on restart,
//! and the next `addr()` call reaches the new instance.

use std::sync::{Arc, RwLock};

use actix::{Actor, Addr};

pub struct Slot<A: Actor> {
    inner: Arc<RwLock<Addr<A>>>,
}

impl<A: Actor> Clone for Slot<A> {
    fn clone(&self) -> Self {
        Slot {
            inner: self.inner.clone(),
        }
    }
}

impl<A: Actor> Slot<A> {
    pub fn new(addr: Addr<A>) -> Self {
        Slot {
            inner: Arc::new(RwLock::new(addr)),
        }
    }

    /// The current address. A poisoned lock still holds a valid `Addr`, so use it.
    pub fn addr(&self) -> Addr<A> {
        match self.inner.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Called by the supervisor after it rebuilt the actor.
    pub fn replace(&self, addr: Addr<A>) {
        match self.inner.write() {
            Ok(mut guard) => *guard = addr,
            Err(poisoned) => *poisoned.into_inner() = addr,
        }
    }

    /// False once the actor stopped or its mailbox closed after a panic.
    pub fn is_alive(&self) -> bool {
        self.addr().connected()
    }
}

/// Fault injection: a supervised actor that receives `Crash` panics in its handler.
/// Reachable only from tests and from `/debug/crash/{actor}` when
/// `http.enable_fault_injection` is on.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Crash;

/// Progress probe: the supervisor sends it through the actor's mailbox and
/// expects the answer within a deadline. An actor that is alive but stuck (a
/// handler that never returns, a full mailbox that never drains) misses it and
/// is restarted as `unresponsive`.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Probe;

/// Fault injection: the actor stops handling messages for good (an async
/// handler that never finishes and holds the mailbox). Tests use it to prove
/// that the supervisor notices an actor that is alive but makes no progress.
#[derive(actix::Message)]
#[rtype(result = "()")]
pub struct Hang;

/// Start `actor` on the current actix System with a bounded mailbox, keeping
/// the task that runs it. The supervisor needs the task: it tells whether the
/// actor stopped or panicked (actix itself only closes the mailbox), and
/// aborting it is the only way to get rid of an actor that stopped answering.
/// Aborting drops the actor, so its `Drop` impls (a sync run's cancel guard,
/// say) run as they would after a panic.
pub fn spawn_actor<A>(actor: A, capacity: usize) -> (Addr<A>, tokio::task::JoinHandle<()>)
where
    A: Actor<Context = actix::Context<A>>,
{
    let mut ctx = actix::Context::new();
    ctx.set_mailbox_capacity(capacity);
    let addr = actix::AsyncContext::address(&ctx);
    let task = actix::spawn(ctx.into_future(actor));
    (addr, task)
}

/// Make an actor supervisable in one line: it answers `Probe` from its mailbox,
/// panics on `Crash` and wedges on `Hang`. Actors whose progress lives elsewhere (the
/// SnapshotWriter's SQLite thread) implement the two handlers themselves.
#[macro_export]
macro_rules! supervised {
    ($actor:ty) => {
        impl ::actix::Handler<$crate::actor_slot::Crash> for $actor {
            type Result = ();
            fn handle(
                &mut self,
                _: $crate::actor_slot::Crash,
                _: &mut Self::Context,
            ) -> Self::Result {
                panic!("fault injection: {} crashed on request", stringify!($actor));
            }
        }
        impl ::actix::Handler<$crate::actor_slot::Probe> for $actor {
            type Result = ();
            fn handle(
                &mut self,
                _: $crate::actor_slot::Probe,
                _: &mut Self::Context,
            ) -> Self::Result {
            }
        }
        impl ::actix::Handler<$crate::actor_slot::Hang> for $actor {
            type Result = ::actix::AtomicResponse<Self, ()>;
            fn handle(
                &mut self,
                _: $crate::actor_slot::Hang,
                _: &mut Self::Context,
            ) -> Self::Result {
                tracing::warn!(
                    actor = stringify!($actor),
                    "fault injection: hanging on request"
                );
                ::actix::AtomicResponse::new(Box::pin(::actix::fut::wrap_future(
                    ::futures::future::pending::<()>(),
                )))
            }
        }
    };
}
