//! The writer's files: the private working directory next to the destination, the
//! SQLite database in it (opened without durability: it is discarded on any failure),
//! the temp c1z renamed over the destination, and the fsync that makes the rename
//! durable. Every temp file is removed on drop unless published.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use super::StoreOptions;
use crate::c1z::error::{Error, Result};

pub(super) fn open_private_db(path: &Path, opts: &StoreOptions) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).map_err(|e| Error::sqlite(path, "open", e))?;
    // The file is private until renamed and discarded on any failure, so
    // durability features buy nothing here: no journal, no fsync, no locking
    // round trips. page_size must be set before the first table exists.
    let pragmas = format!(
        "PRAGMA page_size = {};
         PRAGMA journal_mode = OFF;
         PRAGMA synchronous = OFF;
         PRAGMA locking_mode = EXCLUSIVE;
         PRAGMA temp_store = FILE;
         PRAGMA cache_size = -{};
         PRAGMA threads = {};",
        opts.page_size, opts.cache_kib, opts.sorter_threads
    );
    conn.execute_batch(&pragmas)
        .map_err(|e| Error::sqlite(path, "configure", e))?;
    Ok(conn)
}

/// `<dest>.<random>.<suffix>` in `dest`'s directory.
pub(super) fn temp_name(dest: &Path, suffix: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot.c1z".into());
    dest.with_file_name(format!("{name}.{:016x}.{suffix}", rand::random::<u64>()))
}

/// The private working directory; removed with everything in it on drop.
pub(super) struct WorkDir {
    pub(super) path: PathBuf,
}

impl WorkDir {
    pub(super) fn create(dest: &Path) -> Result<WorkDir> {
        let path = temp_name(dest, "tmp");
        let mut b = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        b.create(&path)
            .map_err(|e| Error::io("create temp dir", &path, e))?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A temp file removed on drop unless disarmed (after the rename).
pub(super) struct TempFile(pub(super) Option<PathBuf>);

impl TempFile {
    pub(super) fn path(&self) -> &Path {
        self.0.as_deref().unwrap_or(Path::new(""))
    }
    pub(super) fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Makes the rename durable. Best effort: some file systems refuse to fsync a directory.
pub(super) fn sync_parent_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}
