//! A stable handle to a supervised actor.
//!
//! actix closes an actor's mailbox for good when a handler panics (see
//! reference/rust-stack.md §2), so the supervisor rebuilds the actor and gets a
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
