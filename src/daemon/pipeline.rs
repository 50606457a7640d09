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

    // C1 service mode: C1 receives the c1z by upload, so no local publishing (see `add_c1`).
    let c1_mode = mode == Mode::Daemon && cfg.c1.enabled();
    let uploader = (mode == Mode::Daemon && !c1_mode).then(|| {
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

    if mode == Mode::Daemon && (!c1_mode || cfg.c1.run_local_scheduler) {
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

    if c1_mode {
        add_c1(cfg, &coordinator, &mut children);
    }

    Pipeline {
        children,
        coordinator,
    }
}

/// C1 service mode (issue 12): C1Auth owns the C1 token, C1Link the channel and task loop.
/// Provisioning and ticketing are `None` until their engines are wired here; their tasks
/// then answer FailedPrecondition, as the SDK does when a capability is off.
fn add_c1(cfg: &Config, coordinator: &Slot<SyncCoordinator>, children: &mut Vec<ChildSpec>) {
    use crate::c1::{C1Settings, auth::C1Auth, dispatch::Deps, link::C1Link};
    let settings = match C1Settings::from_config(cfg) {
        Ok(Some(s)) => s,
        Ok(None) => return,
        // The config loader already checked the formats; this only guards a mismatch.
        Err(e) => {
            tracing::error!(error = %e, "C1 service mode is configured but unusable");
            return;
        }
    };
    let s = settings.clone();
    let auth = Slot::new(C1Auth::new(s.clone()).start());
    children.push(
        ChildSpec::new("c1_auth", auth.clone(), move || {
            C1Auth::new(s.clone()).start()
        })
        .crashable(auth.clone()),
    );
    let deps = Deps {
        coordinator: Some(coordinator.clone()),
        provisioning: None,
        ticketing: None,
    };
    let make_link = move || C1Link::new(settings.clone(), auth.clone(), deps.clone()).start();
    let link = Slot::new(make_link());
    children.push(ChildSpec::new("c1_link", link.clone(), make_link).crashable(link));
}
