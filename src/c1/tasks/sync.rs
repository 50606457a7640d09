//! sync_full: one sync into a temp file while heartbeating, then the upload; the task is
//! finished only after the upload succeeded. A cancel cancels the sync and uploads nothing.
//! Syncs run one at a time even when tasks run concurrently.
//!
//! The task's options are honoured as baton-sdk's syncer honours them (`sync::plan`):
//! targeted resources make a `partial` sync of just those resources,
//! `sync_resource_type_ids` filters types, `skip_grants` and
//! `skip_entitlements_and_grants` leave rows out, `skip_expand_grants` needs
//! nothing (we write no expandable grants). `storage_engine`: we always write the
//! SQLite c1z, which C1 reads whatever it asked; `pebble` is logged once and
//! answered with SQLite, any other value is refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tonic::Code;

use super::Uplink;
use crate::actor_slot::Slot;
use crate::c1::C1Settings;
use crate::c1::status::{Outcome, TaskFailure};
use crate::pb::baton::task::SyncFullTask;
use crate::sync::coordinator::{CancelSync, IsSyncing, StartScopedSync, SyncCoordinator};
use crate::sync::plan::{SyncPlan, SyncType, check_storage_engine};

/// Logged once per process: C1 asked for pebble and got SQLite.
static PEBBLE_NOTED: std::sync::Once = std::sync::Once::new();

/// A sync_full task, with its options.
#[derive(Debug)]
pub struct Command(pub SyncFullTask);

/// The coordinator that runs syncs, and what sync_full needs of the settings.
pub struct SyncTasks {
    coordinator: Option<Slot<SyncCoordinator>>,
    skip_full_sync: bool,
    temp_dir: PathBuf,
    keep_failed_upload: Duration,
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl SyncTasks {
    pub fn new(settings: &C1Settings, coordinator: Option<Slot<SyncCoordinator>>) -> Self {
        SyncTasks {
            coordinator,
            skip_full_sync: settings.skip_full_sync,
            temp_dir: settings.temp_dir.clone(),
            keep_failed_upload: settings.keep_failed_upload,
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    pub async fn run(
        &self,
        link: &impl Uplink,
        task_id: &str,
        task: Command,
        next_heartbeat: Option<Duration>,
    ) -> Result<Outcome, TaskFailure> {
        // Refused before anything runs, with the value named, and final: C1 sent
        // something no retry can fix.
        let bad = |e: crate::sync::plan::PlanError| {
            TaskFailure::new(Code::InvalidArgument, e.to_string())
        };
        if check_storage_engine(&task.0.storage_engine).map_err(bad)? {
            PEBBLE_NOTED.call_once(|| {
                tracing::info!("C1 asked for the pebble storage engine; this connector writes the SQLite c1z (v1), which C1 reads");
            });
        }
        let plan = SyncPlan::from_task(&task.0).map_err(bad)?;
        if self.skip_full_sync && plan.sync_type() == SyncType::Full {
            return Err(TaskFailure::new(
                Code::FailedPrecondition,
                "full syncs are disabled on this connector (skip_full_sync)",
            ));
        }
        let _one_at_a_time = self.one_at_a_time.lock().await;
        std::fs::create_dir_all(&self.temp_dir).map_err(|e| {
            TaskFailure::new(
                Code::Internal,
                format!("cannot create {}: {e}", self.temp_dir.display()),
            )
        })?;
        let dest = self.temp_dir.join(format!("task-{task_id}.c1z"));
        let Some(coordinator) = self.coordinator.as_ref().map(Slot::addr) else {
            return Err(TaskFailure::disabled("sync"));
        };
        let start = coordinator.send(StartScopedSync {
            reason: "c1",
            dest: Some(dest.clone()),
            plan,
        });
        let report = match link.with_heartbeats(task_id, next_heartbeat, start).await {
            Ok(Ok(Ok(report))) => report,
            Ok(Ok(Err(e))) => {
                return Err(TaskFailure::new(
                    Code::Unavailable,
                    format!("sync failed: {e}"),
                ));
            }
            Ok(Err(e)) => {
                return Err(TaskFailure::new(
                    Code::Unavailable,
                    format!("sync coordinator is not running: {e}"),
                ));
            }
            Err(cancelled) => {
                // Stop the sync we started and wait for it to wind down: nothing is published.
                if coordinator.send(CancelSync).await.unwrap_or(false) {
                    while coordinator.send(IsSyncing).await.unwrap_or(false) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
                let _ = std::fs::remove_file(&dest);
                return Err(cancelled);
            }
        };
        let path = report.snapshot.path.clone();
        match link.upload(task_id, &path).await {
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
                Ok(Outcome::ok(None))
            }
            Err(e) => {
                keep_for_diagnosis(path.clone(), self.keep_failed_upload);
                Err(TaskFailure::new(
                    Code::Unavailable,
                    format!(
                        "upload failed after 3 attempts ({e}); c1z kept at {}",
                        path.display()
                    ),
                ))
            }
        }
    }
}

/// Once per process, before the first task: clear what a killed process left in the C1 temp
/// dir. The writer's work dirs and temp files (`task-<id>.c1z.<hex>.tmp`) belong to no one
/// now (syncs run in this process only, and none has started), so they go at once. A whole
/// `task-<id>.c1z` is a kept failed upload or an upload cut by the kill (C1 hands that task
/// out again and it is synced afresh): it goes once `keep` has passed since it was written,
/// as it would have without the restart.
pub fn clean_temp_dir_once(temp_dir: &Path, keep: Duration) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| clean_temp_dir(temp_dir, keep));
}

fn clean_temp_dir(temp_dir: &Path, keep: Duration) {
    let Ok(entries) = std::fs::read_dir(temp_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("task-") {
            continue;
        }
        let path = entry.path();
        if name.ends_with(".tmp") {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Ok(()) => {
                    tracing::warn!(path = %path.display(), "removed a temp file left by an interrupted sync task")
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot remove a stale temp file")
                }
            }
        } else if name.ends_with(".c1z") {
            let age = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .unwrap_or_default();
            keep_for_diagnosis(path, keep.saturating_sub(age));
        }
    }
}

/// A failed upload's file stays for `keep`, then goes (after a restart, for what is left of
/// `keep`: see [`clean_temp_dir_once`]).
fn keep_for_diagnosis(path: PathBuf, keep: Duration) {
    tracing::warn!(path = %path.display(), keep_s = keep.as_secs(), "keeping the c1z whose upload failed");
    actix::spawn(async move {
        tokio::time::sleep(keep).await;
        let _ = std::fs::remove_file(&path);
    });
}
