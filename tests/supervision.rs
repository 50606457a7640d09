//! The supervisor in-process: an actor that stops or panics is rebuilt after a
//! growing backoff, callers holding its Slot reach the new instance, and each
//! restart is counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix::prelude::*;
use baton_haloitsm::actor_slot::Slot;
use baton_haloitsm::daemon::supervisor::{Backoff, ChildSpec, CrashChild, GetStatus, Supervisor};

struct Worker {
    generation: usize,
}

impl Actor for Worker {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "usize")]
struct Generation;

impl Handler<Generation> for Worker {
    type Result = usize;
    fn handle(&mut self, _: Generation, _: &mut Context<Self>) -> usize {
        self.generation
    }
}

/// Turns a fault into a stop: the restart path actors use for recoverable errors.
#[derive(Message)]
#[rtype(result = "()")]
struct StopNow;

impl Handler<StopNow> for Worker {
    type Result = ();
    fn handle(&mut self, _: StopNow, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

baton_haloitsm::supervised!(Worker);

async fn restarts(sup: &Addr<Supervisor>) -> u64 {
    sup.send(GetStatus).await.unwrap().actors[0].restarts
}

async fn wait_restarts(sup: &Addr<Supervisor>, n: u64) -> Duration {
    let t = Instant::now();
    while restarts(sup).await < n {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "restart {n} never happened"
        );
        actix_rt::time::sleep(Duration::from_millis(10)).await;
    }
    t.elapsed()
}

#[actix::test]
async fn stopped_and_panicked_actors_restart_with_growing_backoff() {
    let built = Arc::new(AtomicUsize::new(0));
    let b = built.clone();
    let factory = move || {
        let generation = b.fetch_add(1, Ordering::SeqCst);
        Worker { generation }.start()
    };
    let slot = Slot::new(factory());
    let spec = ChildSpec::new("worker", slot.clone(), factory).crashable(slot.clone());
    let sup = Supervisor::new(
        vec![spec],
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        },
    )
    .start();

    assert_eq!(slot.addr().send(Generation).await.unwrap(), 0);

    // 1. A clean stop.
    slot.addr().do_send(StopNow);
    let first = wait_restarts(&sup, 1).await;
    assert_eq!(slot.addr().send(Generation).await.unwrap(), 1);

    // 2. A panic (actix alone would never restart this one).
    sup.send(CrashChild("worker".into()))
        .await
        .unwrap()
        .unwrap();
    let second = wait_restarts(&sup, 2).await;
    assert_eq!(slot.addr().send(Generation).await.unwrap(), 2);
    // Lower bounds only: the liveness check adds up to 100 ms on top of each backoff.
    assert!(
        first >= Duration::from_millis(100),
        "first backoff {first:?}"
    );
    assert!(
        second >= Duration::from_millis(200),
        "backoff should double: {second:?}"
    );

    // Unknown names are refused.
    assert!(sup.send(CrashChild("nope".into())).await.unwrap().is_err());
}
