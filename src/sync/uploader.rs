//! Uploader, standalone mode: makes a finished snapshot the published one.
//!
//! The SnapshotWriter has already renamed the c1z into `output.dir` atomically;
//! the Uploader points `latest.c1z` at it (a symlink swapped in by rename, so a
//! reader never sees a missing or half-written latest) and keeps the newest
//! `output.keep` snapshots. Service mode (upload to C1) comes with its own issue.
//!
//! Owns: the output directory's layout. Never does: file I/O on the actor
//! thread (it runs on a blocking thread).

use std::path::{Path, PathBuf};

use actix::prelude::*;

use crate::c1z::SnapshotInfo;

pub const LATEST: &str = "latest.c1z";

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("publishing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
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

crate::crashable!(Uploader);

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> UploadError + '_ {
    move |source| UploadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Point latest.c1z at `snapshot` and prune old snapshots. Returns the latest link path.
pub fn publish(dir: &Path, snapshot: &Path, keep: usize) -> Result<PathBuf, UploadError> {
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
    Ok(latest)
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
