//! Uploader, standalone mode: makes a finished snapshot the published one.
//!
//! The SnapshotWriter has already written the c1z into `output.dir` under a
//! staged name (`sync-<id>.staged.tmp`, see [`staged_name`]); the Uploader
//! renames it to `sync-<id>.c1z` (atomic) and points `latest.c1z` at it (a symlink swapped in by rename, so a
//! reader never sees a missing or half-written latest) and keeps the newest
//! `output.keep` snapshots. Service mode (upload to C1) comes with its own issue.
//!
//! Owns: the output directory's layout. Never does: file I/O on the actor
//! thread (it runs on a blocking thread).

use std::path::{Path, PathBuf};

use actix::prelude::*;

use crate::c1z::SnapshotInfo;
use crate::c1z::store;

pub const LATEST: &str = "latest.c1z";

/// Where a finished, not yet published snapshot of `sync_id` waits in the
/// output dir. It ends in `.tmp`, so a leftover is removed as stale.
pub fn staged_name(sync_id: &str) -> String {
    format!("sync-{sync_id}.staged.tmp")
}

/// The published name for a staged file (`sync-<id>.staged.tmp` → `sync-<id>.c1z`).
fn published_name(staged: &Path) -> Option<String> {
    let name = staged.file_name()?.to_str()?;
    let id = name.strip_prefix("sync-")?.strip_suffix(".staged.tmp")?;
    Some(format!("sync-{id}.c1z"))
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    // The cause is in the message, so it is not also a `source()` (printed twice).
    #[error("publishing {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("publishing task failed: {0}")]
    Join(String),
}

#[derive(Message)]
#[rtype(result = "Result<PathBuf, UploadError>")]
pub struct Publish(pub SnapshotInfo);

pub struct Uploader {
    dir: PathBuf,
    keep: usize,
}

impl Uploader {
    pub fn new(dir: PathBuf, keep: usize) -> Self {
        Uploader { dir, keep }
    }
}

impl Actor for Uploader {
    type Context = Context<Self>;
}

impl Handler<Publish> for Uploader {
    type Result = ResponseFuture<Result<PathBuf, UploadError>>;

    fn handle(&mut self, msg: Publish, _: &mut Self::Context) -> Self::Result {
        let dir = self.dir.clone();
        let keep = self.keep;
        Box::pin(async move {
            tokio::task::spawn_blocking(move || publish(&dir, &msg.0.path, keep))
                .await
                .map_err(|e| UploadError::Join(e.to_string()))?
        })
    }
}

crate::supervised!(Uploader);

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UploadError + '_ {
    move |cause| UploadError::Io {
        path: path.to_path_buf(),
        cause,
    }
}

/// Move a staged `snapshot` to its published name (if staged), point
/// latest.c1z at it and prune old snapshots. Returns the published path.
pub fn publish(dir: &Path, snapshot: &Path, keep: usize) -> Result<PathBuf, UploadError> {
    let snapshot = match published_name(snapshot) {
        Some(name) => {
            let target = dir.join(name);
            std::fs::rename(snapshot, &target).map_err(io(&target))?;
            target
        }
        None => snapshot.to_path_buf(),
    };
    let snapshot = snapshot.as_path();
    let name = snapshot
        .file_name()
        .map(PathBuf::from)
        .unwrap_or_else(|| snapshot.to_path_buf());
    let latest = dir.join(LATEST);
    let tmp = dir.join(format!(".{LATEST}.tmp"));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    std::os::unix::fs::symlink(&name, &tmp).map_err(io(&tmp))?;
    #[cfg(not(unix))]
    std::fs::copy(snapshot, &tmp).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &latest).map_err(io(&latest))?;
    prune(dir, keep)?;
    tracing::info!(snapshot = %snapshot.display(), latest = %latest.display(), "snapshot published");
    Ok(snapshot.to_path_buf())
}

/// Remove what a killed process left behind: the writer's `*.c1z.<hex>.tmp`
/// working directories and files (only those no live writer holds, see
/// `c1z::store::remove_stale_work_files`), a staged file never published, and a half-made
/// `latest` link. Called at start and before each staged sync. Returns how many entries
/// were removed.
pub fn remove_stale_temp(dir: &Path) -> usize {
    remove_stale_temp_except(dir, None)
}

/// `remove_stale_temp`, sparing `keep` (the staged file about to be published).
pub fn remove_stale_temp_except(dir: &Path, keep: Option<&Path>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let path = entry.path();
        if store::is_work_name(&name, None) {
            removed += usize::from(store::remove_if_stale(&path));
            continue;
        }
        let ours = (name.starts_with("sync-") && name.ends_with(".staged.tmp"))
            || name == format!(".{LATEST}.tmp");
        if !ours || path.is_dir() || keep.is_some_and(|k| k == path) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                removed += 1;
                tracing::warn!(path = %path.display(), "removed a temp file left by an interrupted sync");
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot remove stale temp file")
            }
        }
    }
    removed
}

/// Snapshots are named `sync-<ksuid>.c1z`; KSUIDs sort by time, so names do too.
fn prune(dir: &Path, keep: usize) -> Result<(), UploadError> {
    let mut snaps: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("sync-") && n.ends_with(".c1z"))
        })
        .collect();
    snaps.sort();
    let excess = snaps.len().saturating_sub(keep);
    for old in &snaps[..excess] {
        std::fs::remove_file(old).map_err(io(old))?;
        tracing::info!(path = %old.display(), "old snapshot removed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temp_files_are_removed_and_snapshots_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("sync-A.c1z"), b"x").unwrap();
        std::fs::write(d.join("sync-B.c1z.00ff00ff00ff00ff.tmp"), b"C1ZF\0...").unwrap();
        std::fs::create_dir(d.join("sync-B.c1z.1234123412341234.tmp")).unwrap();
        std::fs::write(d.join("sync-B.c1z.1234123412341234.tmp/snapshot.db"), b"x").unwrap();
        std::fs::write(d.join("notes.tmp"), b"x").unwrap();
        assert_eq!(remove_stale_temp(d), 2);
        let mut left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(left, ["notes.tmp", "sync-A.c1z"]);
    }

    #[test]
    fn a_staged_file_about_to_be_published_is_spared() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (orphan, ours) = (d.join(staged_name("1")), d.join(staged_name("2")));
        std::fs::write(&orphan, b"x").unwrap();
        std::fs::write(&ours, b"x").unwrap();
        assert_eq!(remove_stale_temp_except(d, Some(&ours)), 1);
        assert!(!orphan.exists() && ours.exists());
    }

    #[test]
    fn publish_links_latest_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for n in ["sync-1.c1z", "sync-2.c1z", "sync-3.c1z"] {
            std::fs::write(d.join(n), n).unwrap();
        }
        std::fs::write(d.join(staged_name("4")), "sync-4").unwrap();
        publish(d, &d.join("sync-3.c1z"), 3).unwrap();
        let published = publish(d, &d.join(staged_name("4")), 2).unwrap();
        assert_eq!(published, d.join("sync-4.c1z"));
        assert!(!d.join(staged_name("4")).exists());
        assert!(!d.join("sync-2.c1z").exists());
        assert!(!d.join("sync-1.c1z").exists());
        assert_eq!(std::fs::read_to_string(d.join(LATEST)).unwrap(), "sync-4");
    }
}
