//! The one place where the daemon's actors are created and wired together,
//! with their mailbox capacities. Every actor here is supervised: its callers
//! hold a `Slot`, and its factory is what the supervisor calls on restart.

use actix::Actor;

use super::DaemonError;
use super::supervisor::ChildSpec;
use crate::actor_slot::Slot;
use crate::config::Config;
use crate::sync::coordinator::SyncCoordinator;
use crate::sync::scheduler::Scheduler;

pub async fn build(cfg: &Config) -> Result<Vec<ChildSpec>, DaemonError> {
    let coordinator = Slot::new(SyncCoordinator.start());
    let coordinator_spec = ChildSpec::new("sync_coordinator", coordinator.clone(), || {
        SyncCoordinator.start()
    })
    .crashable(coordinator.clone());

    let sync = cfg.sync.clone();
    let scheduler = Slot::new(
        Scheduler::new(
            coordinator.clone(),
            sync.interval,
            sync.jitter,
            sync.on_start,
        )
        .start(),
    );
    let sched_coord = coordinator.clone();
    // A restarted scheduler does not re-run the on-start sync.
    let scheduler_spec = ChildSpec::new("scheduler", scheduler.clone(), move || {
        Scheduler::new(sched_coord.clone(), sync.interval, sync.jitter, false).start()
    })
    .crashable(scheduler);

    Ok(vec![coordinator_spec, scheduler_spec])
}
