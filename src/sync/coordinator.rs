//! SyncCoordinator: runs one full sync at a time.
//!
//! Owns: the "a sync is running" state and its cancel switch. Never does HTTP or
//! SQLite itself: it starts the per-resource syncers (teams and roles first, then
//! agents and end users, which need the team/role entitlements), and has the
//! SnapshotWriter begin, finish or abort the snapshot.
//!
//! A trigger that arrives while a sync runs is refused (logged and counted), so
//! overlapping schedules never run twice. A failed or cancelled sync aborts the
//! snapshot: no file is published and no temp file is left.
//!
//! A running sync is owned by one value, [`RunOwner`], held in `running`.
//! Dropping it cancels the run, whatever the reason: the sync ended, or the
//! coordinator itself died (a panic or an abort by the supervisor drops the
//! actor and, with it, the owner). The syncers then stop within one page and
//! the writer discards the snapshot if it is still open.
//!
//! In daemon mode a finished snapshot is staged (`sync-<id>.staged.tmp`) and
//! only the Uploader renames it into place, so a coordinator that dies between
//! the two leaves nothing that looks published; the next sync removes it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;

use super::agent_syncer::{AgentSyncer, AgentsSynced, SyncAgents};
use super::mapping;
use super::plan::{SyncPlan, SyncType};
use super::role_syncer::{RoleSyncer, SyncRoles};
use super::syncer::{Cancel, SyncError, SyncRun};
use super::targeted;
use super::team_syncer::{SyncTeams, TeamSyncer};
use super::uploader::{Publish, Uploader};
use super::user_syncer::{SyncUsers, UserSyncer};
use crate::actor_slot::Slot;
use crate::c1z::snapshot_writer::{
    AbortSnapshot, BeginSnapshot, FinishSnapshot, Rows, SnapshotWriter,
};
use crate::c1z::{SnapshotInfo, ksuid};
use crate::contract::events::SnapshotPublished;
use crate::contract::ids;
use crate::halo::HaloClient;
use crate::telemetry;

pub use super::syncer::SyncError as Error;

/// Ask for one full sync. `reason` labels the trigger in logs ("start",
/// "schedule", "cli"); `dest` overrides the published path (`sync -f FILE`).
#[derive(Message, Debug)]
#[rtype(result = "Result<SyncReport, SyncError>")]
pub struct StartSync {
    pub reason: &'static str,
    pub dest: Option<PathBuf>,
}

/// Ask for a sync of less than everything (C1's `SyncFullTask` options, or the
/// `sync` command's baton flags). A `partial` or `resources_only` sync is never
/// published into the snapshot directory and never announced as a snapshot:
/// the daemon's own snapshots stay full.
#[derive(Message, Debug)]
#[rtype(result = "Result<SyncReport, SyncError>")]
pub struct StartScopedSync {
    pub reason: &'static str,
    pub dest: Option<PathBuf>,
    pub plan: SyncPlan,
}

/// Cancel the running sync, if any. Answers whether one was running.
#[derive(Message)]
#[rtype(result = "bool")]
pub struct CancelSync;

#[derive(Debug, Clone)]
pub struct SyncReport {
    pub sync_id: String,
    pub sync_type: SyncType,
    pub snapshot: SnapshotInfo,
    pub agents: u64,
    pub elapsed: Duration,
}

type Notify = Arc<dyn Fn(SnapshotPublished) + Send + Sync>;

/// Who hears about published snapshots. Created once in the pipeline and
/// shared by every coordinator instance, so it survives restarts; the listener
/// is set later (provisioning is wired after the coordinator) and should send
/// through a `Slot`, so it also survives restarts of the listening actor.
#[derive(Clone, Default)]
pub struct PublishedListener(Arc<Mutex<Option<Notify>>>);

impl PublishedListener {
    pub fn set(&self, f: impl Fn(SnapshotPublished) + Send + Sync + 'static) {
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some(Arc::new(f));
    }

    fn notify(&self, msg: SnapshotPublished) {
        let f = match self.0.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        if let Some(f) = f {
            f(msg);
        }
    }
}

#[derive(Clone)]
pub struct CoordinatorSettings {
    pub output_dir: PathBuf,
    pub include_end_users: bool,
    /// How many times the agent list may be paged before a sync whose counts
    /// never agree fails (see `AgentSyncer`).
    pub max_consistency_passes: u32,
}

pub struct SyncCoordinator {
    client: HaloClient,
    writer: Slot<SnapshotWriter>,
    /// Standalone mode publishes through the Uploader; `sync -f` has none.
    uploader: Option<Slot<Uploader>>,
    settings: CoordinatorSettings,
    running: Option<RunOwner>,
    published: PublishedListener,
}

/// The owner of the running sync. See the module header.
struct RunOwner {
    sync_id: String,
    cancel: Cancel,
    writer: Slot<SnapshotWriter>,
}

impl Drop for RunOwner {
    fn drop(&mut self) {
        self.cancel.cancel();
        // A notification that may be dropped: if the writer is gone, its
        // thread took the snapshot with it; aborting a finished sync is a no-op.
        self.writer.addr().do_send(AbortSnapshot {
            sync_id: self.sync_id.clone(),
        });
    }
}

impl SyncCoordinator {
    pub fn new(
        client: HaloClient,
        writer: Slot<SnapshotWriter>,
        uploader: Option<Slot<Uploader>>,
        settings: CoordinatorSettings,
    ) -> Self {
        SyncCoordinator {
            client,
            writer,
            uploader,
            settings,
            running: None,
            published: PublishedListener::default(),
        }
    }

    /// Tell `listener` about every published snapshot.
    pub fn with_published(mut self, listener: PublishedListener) -> Self {
        self.published = listener;
        self
    }
}

impl Actor for SyncCoordinator {
    type Context = Context<Self>;
}

impl Handler<StartSync> for SyncCoordinator {
    type Result = ResponseActFuture<Self, Result<SyncReport, SyncError>>;

    fn handle(&mut self, msg: StartSync, ctx: &mut Self::Context) -> Self::Result {
        let scoped = StartScopedSync {
            reason: msg.reason,
            dest: msg.dest,
            plan: SyncPlan::full(),
        };
        <Self as Handler<StartScopedSync>>::handle(self, scoped, ctx)
    }
}

impl Handler<StartScopedSync> for SyncCoordinator {
    type Result = ResponseActFuture<Self, Result<SyncReport, SyncError>>;

    fn handle(&mut self, msg: StartScopedSync, _: &mut Self::Context) -> Self::Result {
        let plan = Arc::new(msg.plan);
        let sync_type = plan.sync_type();
        if let Some(running) = &self.running {
            telemetry::sync::sync_refused(msg.reason, sync_type.as_str(), &running.sync_id);
            let err = SyncError::AlreadyRunning(running.sync_id.clone());
            return Box::pin(actix::fut::ready(Err(err)));
        }
        let sync_id = ksuid::new();
        let cancel = Cancel::default();
        self.running = Some(RunOwner {
            sync_id: sync_id.clone(),
            cancel: cancel.clone(),
            writer: self.writer.clone(),
        });
        // Only a full sync is published (staged, then renamed into place by the
        // Uploader); any other kind is written where it was asked for, or beside
        // the snapshots under a name the Uploader never touches.
        let staged = msg.dest.is_none() && self.uploader.is_some() && sync_type == SyncType::Full;
        let dest = msg.dest.unwrap_or_else(|| {
            let name = if staged {
                super::uploader::staged_name(&sync_id)
            } else {
                match sync_type {
                    SyncType::Full => format!("sync-{sync_id}.c1z"),
                    other => format!("{other}-{sync_id}.c1z"),
                }
            };
            self.settings.output_dir.join(name)
        });
        tracing::info!(sync_id, reason = msg.reason, sync_type = %sync_type, targets = plan.targets().len(), dest = %dest.display(), "sync started");
        let run = SyncRun {
            sync_id: sync_id.clone(),
            client: self.client.clone(),
            writer: self.writer.addr(),
            cancel,
            plan,
        };
        let include_end_users = self.settings.include_end_users;
        let max_passes = self.settings.max_consistency_passes;
        let uploader = self.uploader.as_ref().map(Slot::addr);
        let output_dir = self.settings.output_dir.clone();
        let published = self.published.clone();
        let started = Instant::now();
        Box::pin(
            async move {
                if staged {
                    // Whatever an earlier run left (a staged file its dead owner
                    // never published, a writer temp) is stale: one sync at a time.
                    let dir = output_dir.clone();
                    let _ = tokio::task::spawn_blocking(move || {
                        super::uploader::remove_stale_temp(&dir)
                    })
                    .await;
                }
                let (mut snapshot, agents) =
                    run_sync(&run, dest, include_end_users, max_passes).await?;
                if staged {
                    // Again now that the writer has done every job queued before ours: a sync
                    // whose coordinator crashed may have finished its staged file after the
                    // sweep above; no one will publish it.
                    let (dir, ours) = (output_dir.clone(), snapshot.path.clone());
                    let _ = tokio::task::spawn_blocking(move || {
                        super::uploader::remove_stale_temp_except(&dir, Some(&ours))
                    })
                    .await;
                }
                if let Some(up) = uploader.filter(|_| staged) {
                    snapshot.path =
                        up.send(Publish(snapshot.clone()))
                            .await
                            .map_err(|source| SyncError::Mailbox {
                                actor: "uploader",
                                source,
                            })??;
                }
                if sync_type == SyncType::Full {
                    published.notify(SnapshotPublished {
                        path: snapshot.path.clone(),
                        sync_id: run.sync_id.clone(),
                    });
                }
                Ok(SyncReport {
                    sync_id: run.sync_id.clone(),
                    sync_type,
                    snapshot,
                    agents: agents.agents,
                    elapsed: started.elapsed(),
                })
            }
            .into_actor(self)
            .map(move |res: Result<SyncReport, SyncError>, act, _| {
                act.running = None;
                match &res {
                    Ok(r) => telemetry::sync::sync_succeeded(
                        &r.sync_id,
                        sync_type.as_str(),
                        r.elapsed,
                        r.snapshot.counts.resources,
                        r.snapshot.counts.entitlements,
                        r.snapshot.counts.grants,
                    ),
                    Err(e) => telemetry::sync::sync_failed(
                        &sync_id,
                        sync_type.as_str(),
                        started.elapsed(),
                        e,
                    ),
                }
                res
            }),
        )
    }
}

impl Handler<CancelSync> for SyncCoordinator {
    type Result = bool;

    fn handle(&mut self, _: CancelSync, _: &mut Self::Context) -> bool {
        match &self.running {
            Some(run) => {
                tracing::warn!(sync_id = %run.sync_id, "cancelling the running sync");
                run.cancel.cancel();
                true
            }
            None => false,
        }
    }
}

/// Whether a sync is running (for draining on shutdown).
#[derive(Message)]
#[rtype(result = "bool")]
pub struct IsSyncing;

impl Handler<IsSyncing> for SyncCoordinator {
    type Result = bool;

    fn handle(&mut self, _: IsSyncing, _: &mut Self::Context) -> bool {
        self.running.is_some()
    }
}

crate::supervised!(SyncCoordinator);

fn mailbox(actor: &'static str) -> impl FnOnce(MailboxError) -> SyncError {
    move |source| SyncError::Mailbox { actor, source }
}

/// One sync into `dest`; on any failure the snapshot is aborted before returning.
async fn run_sync(
    run: &SyncRun,
    dest: PathBuf,
    include_end_users: bool,
    max_passes: u32,
) -> Result<(SnapshotInfo, AgentsSynced), SyncError> {
    run.writer
        .send(BeginSnapshot {
            sync_id: run.sync_id.clone(),
            dest,
            sync_type: run.plan.sync_type().as_str(),
        })
        .await
        .map_err(mailbox("snapshot_writer"))??;
    let result = collect(run, include_end_users, max_passes).await;
    let result = match result {
        Ok(agents) => run
            .writer
            .send(FinishSnapshot {
                sync_id: run.sync_id.clone(),
            })
            .await
            .map_err(mailbox("snapshot_writer"))
            .and_then(|r| r.map_err(SyncError::from))
            .map(|info| (info, agents)),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // Best effort: the run's owner sends the same abort when it is dropped.
        let _ = run
            .writer
            .send(AbortSnapshot {
                sync_id: run.sync_id.clone(),
            })
            .await;
    }
    result
}

async fn collect(
    run: &SyncRun,
    include_end_users: bool,
    max_passes: u32,
) -> Result<AgentsSynced, SyncError> {
    let types = ids::resource_types(include_end_users)
        .iter()
        .map(mapping::resource_type_pb)
        .collect();
    run.write(Rows::ResourceTypes(types)).await?;
    if run.plan.is_targeted() {
        targeted::sync_targets(run, include_end_users).await?;
        return Ok(AgentsSynced::default());
    }
    let plan = &run.plan;
    // The agent list carries every grant, so it is paged whenever agents or any
    // grant is asked for; teams and roles are listed whenever it is (a grant
    // needs its entitlement), and skipped only when nothing needs them.
    let need_agents = plan.includes_type(ids::AGENT.id)
        || (plan.writes_grants()
            && (plan.includes_type(ids::TEAM.id) || plan.includes_type(ids::ROLE.id)));
    let need_teams = need_agents || plan.includes_type(ids::TEAM.id);
    let need_roles = need_agents || plan.includes_type(ids::ROLE.id);
    let include_end_users = include_end_users && plan.includes_type(ids::END_USER.id);

    // Teams and roles are one request each; agents need their entitlements.
    let teams = async {
        if !need_teams {
            return Ok(Default::default());
        }
        let teams = TeamSyncer::new(run.clone()).start();
        Ok(teams
            .send(SyncTeams)
            .await
            .map_err(mailbox("team_syncer"))??
            .entitlements)
    };
    let roles = async {
        if !need_roles {
            return Ok(Default::default());
        }
        let roles = RoleSyncer::new(run.clone()).start();
        Ok(roles
            .send(SyncRoles)
            .await
            .map_err(mailbox("role_syncer"))??
            .entitlements)
    };
    let (teams, roles): (Result<_, SyncError>, Result<_, SyncError>) = futures::join!(teams, roles);
    let (teams, roles) = (teams?, roles?);

    let agents = async {
        if !need_agents {
            return Ok(AgentsSynced::default());
        }
        let agents =
            AgentSyncer::new(run.clone(), Arc::new(teams), Arc::new(roles), max_passes).start();
        agents
            .send(SyncAgents)
            .await
            .map_err(mailbox("agent_syncer"))?
    };
    if include_end_users {
        let users = UserSyncer::new(run.clone(), max_passes).start();
        let (agents, users) = futures::join!(agents, users.send(SyncUsers));
        users.map_err(mailbox("user_syncer"))??;
        agents
    } else {
        agents.await
    }
}
