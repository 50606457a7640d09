//! The supervisor in-process, on tokio's paused clock: an actor that stops,
//! panics or stops answering its progress probe is rebuilt after a growing
//! backoff, callers holding its Slot reach the new instance, each restart is
//! counted with its reason, and health reflects a child that is down.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use actix::prelude::*;
use baton_haloitsm::actor_slot::Slot;
use baton_haloitsm::daemon::supervisor::{
    Backoff, ChildSpec, DownReason, Fault, GetStatus, InjectFault, Ping, Probing, Supervisor,
};
use baton_haloitsm::telemetry;
use tokio::time::Instant;

use crate::support::metrics::ran_in_own_process;

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

const BACKOFF: Backoff = Backoff {
    initial: Duration::from_millis(100),
    max: Duration::from_secs(2),
};

fn start(name: &'static str, probing: Probing) -> (Addr<Supervisor>, Slot<Worker>) {
    let built = Arc::new(AtomicUsize::new(0));
    let (spec, slot) = ChildSpec::start(name, 16, move || Worker {
        generation: built.fetch_add(1, Ordering::SeqCst),
    });
    let sup = Supervisor::with_probing(vec![spec], BACKOFF, probing).start();
    (sup, slot)
}

async fn restarts(sup: &Addr<Supervisor>) -> u64 {
    sup.send(GetStatus).await.unwrap().actors[0].restarts
}

/// Wait (on the paused clock, so this takes no real time) until restart `n`.
async fn wait_restarts(sup: &Addr<Supervisor>, n: u64) -> Duration {
    let t = Instant::now();
    for _ in 0..10_000 {
        if restarts(sup).await >= n {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("restart {n} never happened");
}

#[actix::test]
async fn stopped_and_panicked_actors_restart_with_growing_backoff() {
    if ran_in_own_process(
        module_path!(),
        "stopped_and_panicked_actors_restart_with_growing_backoff",
    ) {
        return;
    }
    tokio::time::pause();
    telemetry::init();
    let (sup, slot) = start("worker_a", Probing::default());
    assert_eq!(slot.addr().send(Generation).await.unwrap(), 0);

    // 1. A clean stop.
    slot.addr().do_send(StopNow);
    let first = wait_restarts(&sup, 1).await;
    assert_eq!(slot.addr().send(Generation).await.unwrap(), 1);
    assert_eq!(telemetry::actors::restarts("worker_a", "stopped"), 1);

    // 2. A panic (actix alone would never restart this one).
    sup.send(InjectFault {
        actor: "worker_a".into(),
        fault: Fault::Crash,
    })
    .await
    .unwrap()
    .unwrap();
    let second = wait_restarts(&sup, 2).await;
    assert_eq!(slot.addr().send(Generation).await.unwrap(), 2);
    assert_eq!(telemetry::actors::restarts("worker_a", "panicked"), 1);
    assert_eq!(telemetry::actors::restarts("worker_a", "stopped"), 1);
    // On the paused clock the backoffs are exact, plus at most one 100 ms check tick.
    assert!(
        first >= Duration::from_millis(100) && first <= Duration::from_millis(220),
        "first backoff {first:?}"
    );
    assert!(
        second >= Duration::from_millis(200) && second <= Duration::from_millis(320),
        "backoff should double: {second:?}"
    );

    // Unknown names are refused.
    let unknown = sup
        .send(InjectFault {
            actor: "nope".into(),
            fault: Fault::Crash,
        })
        .await
        .unwrap();
    assert!(unknown.is_err());
}

#[actix::test]
async fn a_hung_actor_is_restarted_as_unresponsive_and_readiness_drops_meanwhile() {
    if ran_in_own_process(
        module_path!(),
        "a_hung_actor_is_restarted_as_unresponsive_and_readiness_drops_meanwhile",
    ) {
        return;
    }
    tokio::time::pause();
    telemetry::init();
    let probing = Probing {
        every: Duration::from_secs(1),
        timeout: Duration::from_secs(3),
    };
    let (sup, slot) = start("worker_b", probing);
    let health = sup.send(Ping).await.unwrap();
    assert!(health.progressing && health.children_up);

    sup.send(InjectFault {
        actor: "worker_b".into(),
        fault: Fault::Hang,
    })
    .await
    .unwrap()
    .unwrap();
    // The hung instance never answers again...
    let stuck = tokio::time::timeout(Duration::from_secs(2), slot.addr().send(Generation)).await;
    assert!(stuck.is_err(), "a hung actor answered");

    // ...until its probe times out; then it is down (not ready) and restarted.
    let mut saw_down = false;
    for _ in 0..1_000 {
        let status = sup.send(GetStatus).await.unwrap();
        if status.actors[0].down == Some(DownReason::Unresponsive) {
            saw_down = true;
            assert!(!sup.send(Ping).await.unwrap().children_up);
        }
        if status.actors[0].restarts == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(saw_down, "the supervisor never reported the child down");
    assert_eq!(restarts(&sup).await, 1);
    assert_eq!(telemetry::actors::restarts("worker_b", "unresponsive"), 1);
    assert_eq!(slot.addr().send(Generation).await.unwrap(), 1);
    assert!(sup.send(Ping).await.unwrap().children_up);
}
