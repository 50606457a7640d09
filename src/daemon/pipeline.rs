//! The one place where the daemon's actors are created and wired together.
//! Every actor here is supervised: its callers hold a `Slot`, and its factory is
//! what the supervisor calls on restart.
//!
//! Mailboxes: the SnapshotWriter is a one-thread `SyncArbiter` whose callers
//! wait for each reply (`send().await`), which bounds it; every other actor
//! here answers quickly or runs its work in spawned futures, and concurrency to
//! Halo is bounded by the gateway's in-flight cap, not by mailbox size.

use std::sync::Arc;

use actix::Actor;
use url::Url;

use super::supervisor::ChildSpec;
use crate::actor_slot::Slot;
use crate::c1z::snapshot_writer::SnapshotWriter;
use crate::config::Config;
use crate::halo::{ApiGateway, HaloClient, TokenManager};
use crate::sync::coordinator::{CancelSync, CoordinatorSettings, IsSyncing, SyncCoordinator};
use crate::sync::scheduler::Scheduler;
use crate::sync::uploader::Uploader;

crate::supervised!(TokenManager);
crate::supervised!(ApiGateway);

/// How the pipeline runs: the daemon (scheduled, published with retention) or
/// one `sync -f FILE` (no scheduler, no uploader).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Daemon,
    OneShot,
}

pub struct Pipeline {
    pub children: Vec<ChildSpec>,
    pub coordinator: Slot<SyncCoordinator>,
    /// The bulk-lane client; provisioning derives its priority-lane client from it.
    pub client: HaloClient,
}

/// `halo_base_url` overrides `halo.base_url` (the embedded simulator's address).
pub fn build(cfg: &Config, halo_base_url: Option<Url>, mode: Mode) -> Pipeline {
    let settings = Arc::new(cfg.halo_settings(halo_base_url));
    let mut children = Vec::new();

    let s = settings.clone();
    let tokens = Slot::new(TokenManager::new(s.clone()).start());
    children.push(
        ChildSpec::new("token_manager", tokens.clone(), move || {
            TokenManager::new(s.clone()).start()
        })
        .crashable(tokens.clone()),
    );

    let (s, t) = (settings.clone(), tokens.clone());
    let gateway = Slot::new(ApiGateway::new(s.clone(), t.clone()).start());
    children.push(
        ChildSpec::new("api_gateway", gateway.clone(), move || {
            ApiGateway::new(s.clone(), t.clone()).start()
        })
        .crashable(gateway.clone()),
    );
    let client = HaloClient::new(gateway).with_page_size(settings.page_size);

    let writer = Slot::new(SnapshotWriter::start());
    children.push(ChildSpec::new(
        "snapshot_writer",
        writer.clone(),
        SnapshotWriter::start,
    ));

    let uploader = (mode == Mode::Daemon).then(|| {
        let (dir, keep) = (cfg.output.dir.clone(), cfg.output.keep);
        let slot = Slot::new(Uploader::new(dir.clone(), keep).start());
        children.push(
            ChildSpec::new("uploader", slot.clone(), move || {
                Uploader::new(dir.clone(), keep).start()
            })
            .crashable(slot.clone()),
        );
        slot
    });

    let coord_settings = CoordinatorSettings {
        output_dir: cfg.output.dir.clone(),
        include_end_users: cfg.sync.include_end_users,
    };
    let make_coordinator = {
        let (client, writer, uploader) = (client.clone(), writer.clone(), uploader.clone());
        move || {
            SyncCoordinator::new(
                client.clone(),
                writer.clone(),
                uploader.clone(),
                coord_settings.clone(),
            )
            .start()
        }
    };
    let coordinator = Slot::new(make_coordinator());
    let drain_slot = coordinator.clone();
    children.push(
        ChildSpec::new("sync_coordinator", coordinator.clone(), make_coordinator)
            .crashable(coordinator.clone())
            // Draining a sync means cancelling it: it stops within one request and
            // publishes nothing, rather than holding shutdown for a long sync.
            .drain_with(move || {
                let addr = drain_slot.addr();
                async move {
                    if addr.send(CancelSync).await.unwrap_or(false) {
                        while addr.send(IsSyncing).await.unwrap_or(false) {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    }
                }
            }),
    );

    if mode == Mode::Daemon {
        let sync = cfg.sync.clone();
        let sched_coord = coordinator.clone();
        let scheduler = Slot::new(
            Scheduler::new(
                coordinator.clone(),
                sync.interval,
                sync.jitter,
                sync.on_start,
            )
            .start(),
        );
        // A restarted scheduler does not re-run the on-start sync.
        children.push(
            ChildSpec::new("scheduler", scheduler.clone(), move || {
                Scheduler::new(sched_coord.clone(), sync.interval, sync.jitter, false).start()
            })
            .crashable(scheduler),
        );
    }

    Pipeline {
        children,
        coordinator,
        client,
    }
}

/// Add the ProvisioningQueue (supervised) over an opened journal. `fallback`
/// is the ticketing seam (None until the ticketing module is wired).
pub fn add_provisioning(
    p: &mut Pipeline,
    cfg: &Config,
    journal: crate::provisioning::journal::Journal,
    fallback: Option<std::rc::Rc<dyn crate::provisioning::provisioning_queue::FallbackTickets>>,
) -> crate::provisioning::Provisioning {
    use crate::provisioning::provisioning_queue::ProvisioningQueue;
    let pcfg = Arc::new(cfg.provisioning.clone());
    let capacity = Arc::new(tokio::sync::Semaphore::new(pcfg.capacity));
    let make = {
        let (client, pcfg, journal, capacity) = (
            p.client.clone(),
            pcfg.clone(),
            journal.clone(),
            capacity.clone(),
        );
        move || {
            ProvisioningQueue::new(
                client.clone(),
                pcfg.clone(),
                journal.clone(),
                capacity.clone(),
                fallback.clone(),
            )
            .start()
        }
    };
    let queue = Slot::new(make());
    let drain_slot = queue.clone();
    p.children.push(
        ChildSpec::new("provisioning_queue", queue.clone(), make)
            .crashable(queue.clone())
            // Let accepted operations finish within the grace period; whatever is
            // left stays in the journal and runs at the next start.
            .drain_with(move || {
                let addr = drain_slot.addr();
                async move {
                    use crate::provisioning::provisioning_queue::Depth;
                    while addr.send(Depth).await.unwrap_or(0) > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                }
            }),
    );
    crate::provisioning::Provisioning::new(queue, journal, capacity, &cfg.provisioning)
}
