//! The one place where the daemon's actors are created and wired together.
//! Every actor here is supervised: its callers hold a `Slot`, and its factory is
//! what the supervisor calls on restart.
//!
//! Mailboxes (capacity per actor, set here where the actor is created):
//! - TokenManager, ApiGateway: `MAILBOX`; their handlers answer at once with a
//!   future, so the mailbox drains immediately; concurrency to Halo is bounded
//!   by the process-wide `RateBudget` (in-flight cap + pacer), not by mailboxes.
//! - SnapshotWriter: `MAILBOX`; callers wait for each reply (`send().await`),
//!   so each producer has one batch in flight.
//! - SyncCoordinator, Uploader, Scheduler: `MAILBOX`; a handful of messages.
//!
//! State that must outlive any one actor instance is created here, once: the
//! rate budget (so a restarted gateway cannot double it).

use std::sync::Arc;

use url::Url;

use super::supervisor::ChildSpec;
use crate::actor_slot::Slot;
use crate::c1z::snapshot_writer::SnapshotWriter;
use crate::config::Config;
use crate::halo::{ApiGateway, HaloClient, RateBudget, TokenManager};
use crate::sync::coordinator::{CancelSync, CoordinatorSettings, IsSyncing, SyncCoordinator};
use crate::sync::scheduler::Scheduler;
use crate::sync::uploader::Uploader;

crate::supervised!(TokenManager);
crate::supervised!(ApiGateway);

/// Mailbox capacity of every supervised actor (see the header).
const MAILBOX: usize = 64;

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
    pub client: HaloClient,
    /// External ticketing (not an actor: a cloneable service over the gateway's slot).
    pub ticketing: crate::ticketing::Ticketing,
    /// Hears every published snapshot (set by `add_provisioning`).
    pub published: crate::sync::coordinator::PublishedListener,
    /// Closes fallback tickets (started by `add_provisioning`).
    pub fallback_resolver: Option<Slot<crate::provisioning::fallback_resolver::FallbackResolver>>,
}

/// `halo_base_url` overrides `halo.base_url` (the embedded simulator's address).
pub fn build(cfg: &Config, halo_base_url: Option<Url>, mode: Mode) -> Pipeline {
    let settings = Arc::new(cfg.halo_settings(halo_base_url));
    let budget = Arc::new(RateBudget::new(&settings));
    let mut children = Vec::new();

    let (s, b) = (settings.clone(), budget.clone());
    let (spec, tokens) = ChildSpec::start("token_manager", MAILBOX, move || {
        TokenManager::new(s.clone(), b.clone())
    });
    children.push(spec);

    let (s, t, b) = (settings.clone(), tokens.clone(), budget);
    let (spec, gateway) = ChildSpec::start("api_gateway", MAILBOX, move || {
        ApiGateway::new(s.clone(), t.clone(), b.clone())
    });
    children.push(spec);
    let client = HaloClient::new(gateway)
        .with_page_size(settings.page_size)
        .with_list_order(cfg.sync.agent_order);

    let (spec, writer) = ChildSpec::start("snapshot_writer", MAILBOX, SnapshotWriter::new);
    children.push(spec);

    // C1 service mode: C1 receives the c1z by upload, so no local publishing (see `add_c1`).
    let c1_mode = mode == Mode::Daemon && cfg.c1.enabled();
    let uploader = (mode == Mode::Daemon && !c1_mode).then(|| {
        let (dir, keep) = (cfg.output.dir.clone(), cfg.output.keep);
        let (spec, slot) = ChildSpec::start("uploader", MAILBOX, move || {
            Uploader::new(dir.clone(), keep)
        });
        children.push(spec);
        slot
    });

    let coord_settings = CoordinatorSettings {
        output_dir: cfg.output.dir.clone(),
        include_end_users: cfg.sync.include_end_users,
        max_consistency_passes: cfg.sync.max_consistency_passes,
    };
    let published = crate::sync::coordinator::PublishedListener::default();
    let (c, w, u, l) = (client.clone(), writer, uploader, published.clone());
    let (spec, coordinator) = ChildSpec::start("sync_coordinator", MAILBOX, move || {
        SyncCoordinator::new(c.clone(), w.clone(), u.clone(), coord_settings.clone())
            .with_published(l.clone())
    });
    let drain_slot = coordinator.clone();
    // Draining a sync means cancelling it: it stops within one page and
    // publishes nothing, rather than holding shutdown for a long sync.
    children.push(spec.drain_with(move || {
        let addr = drain_slot.addr();
        async move {
            if addr.send(CancelSync).await.unwrap_or(false) {
                while addr.send(IsSyncing).await.unwrap_or(false) {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }));

    if mode == Mode::Daemon && (!c1_mode || cfg.c1.run_local_scheduler) {
        let sync = cfg.sync.clone();
        let sched_coord = coordinator.clone();
        let first = std::cell::Cell::new(true);
        // A restarted scheduler does not re-run the on-start sync.
        let (spec, _scheduler) = ChildSpec::start("scheduler", MAILBOX, move || {
            let on_start = first.replace(false) && sync.on_start;
            Scheduler::new(sched_coord.clone(), sync.interval, sync.jitter, on_start)
                .with_retry_initial(sync.retry_initial)
        });
        children.push(spec);
    }

    let ticketing = crate::ticketing::Ticketing::new(
        client.clone(),
        cfg.ticketing.clone(),
        settings.base_url.clone(),
    );
    Pipeline {
        children,
        coordinator,
        client,
        ticketing,
        published,
        fallback_resolver: None,
    }
}

/// Add the ProvisioningQueue (supervised) over an opened journal. `fallback`
/// is the ticketing seam (None until the ticketing module is wired).
pub fn add_provisioning(
    p: &mut Pipeline,
    cfg: &Config,
    journal: crate::provisioning::journal::Journal,
) -> crate::provisioning::Provisioning {
    // Changes that cannot be automated open a ticket through the ticketing
    // module when `provisioning.fallback_ticket_type` is set.
    let fallback = cfg.provisioning.fallback_ticket_type.map(|_| {
        std::rc::Rc::new(p.ticketing.clone())
            as std::rc::Rc<dyn crate::provisioning::provisioning_queue::FallbackTickets>
    });
    use crate::provisioning::provisioning_queue::ProvisioningQueue;
    let pcfg = Arc::new(cfg.provisioning.clone());
    let capacity = Arc::new(tokio::sync::Semaphore::new(pcfg.capacity));
    let (client, journal_c, capacity_c) = (p.client.clone(), journal.clone(), capacity.clone());
    let pcfg_c = pcfg.clone();
    let (spec, queue) = ChildSpec::start("provisioning_queue", MAILBOX, move || {
        ProvisioningQueue::new(
            client.clone(),
            pcfg_c.clone(),
            journal_c.clone(),
            capacity_c.clone(),
            fallback.clone(),
        )
    });
    let drain_slot = queue.clone();
    // Let accepted operations finish within the grace period; whatever is
    // left stays in the journal and runs at the next start.
    p.children.push(spec.drain_with(move || {
        let addr = drain_slot.addr();
        async move {
            use crate::provisioning::provisioning_queue::Depth;
            while addr.send(Depth).await.unwrap_or(0) > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
    }));
    // Fallback tickets are noted and moved once a published snapshot shows the change.
    use crate::provisioning::fallback_resolver::FallbackResolver;
    let (j, t) = (journal.clone(), p.ticketing.clone());
    let (spec, resolver) = ChildSpec::start("fallback_resolver", MAILBOX, move || {
        FallbackResolver::new(j.clone(), t.clone())
    });
    p.children.push(spec);
    let r = resolver.clone();
    p.published.set(move |msg| r.addr().do_send(msg));
    p.fallback_resolver = Some(resolver);
    crate::provisioning::Provisioning::new(queue, journal, capacity, &cfg.provisioning)
}

/// C1 service mode (issue 12): C1Auth owns the C1 token, C1Link the channel and
/// the task loop. Tasks are dispatched to the actors that do the work: syncs to
/// the coordinator, provisioning to the queue (`None` when provisioning is off:
/// its tasks then answer FailedPrecondition, as the SDK does), ticketing to the
/// ticketing service when `ticketing.enabled`.
pub fn add_c1(
    p: &mut Pipeline,
    cfg: &Config,
    provisioning: Option<crate::provisioning::Provisioning>,
) {
    use crate::c1::{auth::C1Auth, link::C1Link, tasks::Deps};
    let settings = match cfg.c1_settings() {
        Ok(Some(s)) => s,
        Ok(None) => return,
        // The config loader already checked the formats; this only guards a mismatch.
        Err(e) => {
            tracing::error!(error = %e, "C1 service mode is configured but unusable");
            return;
        }
    };
    let s = settings.clone();
    let (spec, auth) = ChildSpec::start("c1_auth", MAILBOX, move || C1Auth::new(s.clone()));
    p.children.push(spec);
    let deps = Deps {
        coordinator: Some(p.coordinator.clone()),
        provisioning,
        ticketing: cfg.ticketing.enabled.then(|| p.ticketing.clone()),
    };
    let (spec, _link) = ChildSpec::start("c1_link", MAILBOX, move || {
        C1Link::new(settings.clone(), auth.clone(), deps.clone())
    });
    p.children.push(spec);
}
