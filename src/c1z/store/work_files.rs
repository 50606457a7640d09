//! The writer's files: the private working directory next to the destination, the
//! SQLite database in it (opened without durability: it is discarded on any failure),
//! the temp c1z renamed over the destination, and the fsync that makes the rename
//! durable. Every temp file is removed on drop unless published.
//!
//! A SIGKILL runs no drop, so the next writer in the same directory removes what a dead
//! one left ([`remove_stale_work_files`]). A live writer holds an exclusive `flock` on
//! its working directory from creation to drop; only entries with our exact name
//! (`<dest>.<16 hex>.tmp`), our contents and no lock holder are removed, so a concurrent
//! writer into the same directory (the daemon and a `sync -f`) loses nothing.

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

/// The file name inside the working directory of the database being written.
pub(super) const WORK_DB: &str = "snapshot.db";
/// The file name inside the working directory of the compressed c1z before its rename.
pub(super) const WORK_C1Z: &str = "snapshot.c1z";

/// The private working directory; removed with everything in it on drop. `_lock` is
/// the open directory holding the `flock` that tells cleanup it is alive.
pub(super) struct WorkDir {
    pub(super) path: PathBuf,
    _lock: fs::File,
}

impl WorkDir {
    pub(super) fn create(dest: &Path) -> Result<WorkDir> {
        // Another writer's cleanup may take a directory between its creation and our
        // lock (it saw it unlocked): then it is gone, and we try a new name.
        let mut attempt = 0;
        loop {
            let path = temp_name(dest, "tmp");
            let mut b = fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(&path)
                .map_err(|e| Error::io("create temp dir", &path, e))?;
            match lock_if_still_there(&path) {
                Ok(Some(lock)) => return Ok(WorkDir { path, _lock: lock }),
                Ok(None) if attempt < 3 => attempt += 1,
                Ok(None) => {
                    let e = std::io::Error::other("removed by a concurrent cleanup");
                    return Err(Error::io("lock temp dir", &path, e));
                }
                Err(e) => {
                    let _ = fs::remove_dir_all(&path);
                    return Err(Error::io("lock temp dir", &path, e));
                }
            }
        }
    }
}

/// Opens and locks `path`; `None` if it was removed (or replaced) meanwhile.
fn lock_if_still_there(path: &Path) -> std::io::Result<Option<fs::File>> {
    let f = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match f.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => return Ok(None),
        Err(fs::TryLockError::Error(e)) => return Err(e),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let held = f.metadata()?;
        match fs::symlink_metadata(path) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {}
            _ => return Ok(None),
        }
    }
    Ok(Some(f))
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        // Removed while still locked, so no cleanup can see it unlocked first.
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Removes what a writer killed while writing next to `dest` left in `dest`'s
/// directory: `<dest>.<16 hex>.tmp` working directories and temp c1z files, and the same
/// for any other `*.c1z` destination there (the daemon names each snapshot anew). An
/// entry is removed only if no live writer holds it and it holds only what a writer
/// puts there. Each removal is logged. Returns how many entries were removed.
pub fn remove_stale_work_files(dest: &Path) -> usize {
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let dest_name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_work_name(&name, Some(&dest_name)) {
            continue;
        }
        let path = entry.path();
        if remove_if_stale(&path) {
            removed += 1;
        }
    }
    removed
}

/// `<prefix>.<16 lowercase hex>.tmp` where the prefix is `dest_name` or ends in `.c1z`
/// (any prefix when `dest_name` is `None`).
pub(crate) fn is_work_name(name: &str, dest_name: Option<&str>) -> bool {
    let Some((prefix, hex)) = name.strip_suffix(".tmp").and_then(|s| s.rsplit_once('.')) else {
        return false;
    };
    hex.len() == 16
        && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && !prefix.is_empty()
        && dest_name.is_none_or(|d| prefix == d || prefix.ends_with(".c1z"))
}

/// Removes `path` (one of our temp names) if nobody holds it and it looks like ours.
/// True if it was removed.
pub(crate) fn remove_if_stale(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if !(meta.is_dir() && holds_only_work_files(path) || meta.is_file() && is_temp_c1z(path)) {
        tracing::debug!(path = %path.display(), "not removed: a temp name, but not our contents");
        return false;
    }
    // A live writer holds the lock; ours is held until the entry is gone.
    let Ok(lock) = fs::File::open(path) else {
        return false;
    };
    if lock.try_lock().is_err() {
        return false;
    }
    let result = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match result {
        Ok(()) => {
            tracing::warn!(path = %path.display(), "removed a temp file left by an interrupted sync");
            true
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a temp file left by an interrupted sync");
            false
        }
    }
}

/// A working directory holds the database (with SQLite's side files) and the temp c1z.
fn holds_only_work_files(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().all(|e| {
        let n = e.file_name();
        let n = n.to_string_lossy();
        e.file_type().is_ok_and(|t| t.is_file())
            && (n == WORK_C1Z
                || n.strip_prefix(WORK_DB)
                    .is_some_and(|rest| ["", "-journal", "-wal", "-shm"].contains(&rest)))
    })
}

/// A temp c1z (written by an older version next to the destination) is empty or starts
/// with the c1z magic.
fn is_temp_c1z(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 5];
    let Ok(mut f) = fs::File::open(path) else {
        return false;
    };
    let mut got = 0;
    while got < head.len() {
        match f.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(_) => return false,
        }
    }
    got == 0 || (got == head.len() && &head == crate::c1z::envelope::MAGIC_V1)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_names() {
        let d = Some("out.snap");
        assert!(is_work_name("out.snap.0123456789abcdef.tmp", d));
        assert!(is_work_name("sync-X.c1z.0123456789abcdef.tmp", d));
        assert!(!is_work_name("other.0123456789abcdef.tmp", d));
        assert!(is_work_name("other.0123456789abcdef.tmp", None));
        for bad in [
            "out.snap.0123456789ABCDEF.tmp",
            "out.snap.0123456789abcde.tmp",
            "out.snap.0123456789abcdef.tmpx",
            "out.snap.notes.tmp",
            ".0123456789abcdef.tmp",
            "out.snap",
        ] {
            assert!(!is_work_name(bad, d), "{bad}");
        }
    }

    #[test]
    fn a_live_writer_is_left_alone_a_dead_one_removed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.c1z");
        let live = WorkDir::create(&dest).unwrap();
        fs::write(live.path.join(WORK_DB), b"x").unwrap();
        // Dead: our name and contents, no lock.
        let dead = dir.path().join("out.c1z.00000000000000aa.tmp");
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join(WORK_DB), b"x").unwrap();
        let dead_file = dir.path().join("out.c1z.00000000000000bb.tmp");
        fs::write(&dead_file, b"C1ZF\0rest").unwrap();
        // Our name, not our contents: kept.
        let foreign = dir.path().join("out.c1z.00000000000000cc.tmp");
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("notes.txt"), b"x").unwrap();
        let foreign_file = dir.path().join("out.c1z.00000000000000dd.tmp");
        fs::write(&foreign_file, b"hello").unwrap();

        assert_eq!(remove_stale_work_files(&dest), 2);
        assert!(live.path.exists() && foreign.exists() && foreign_file.exists());
        assert!(!dead.exists() && !dead_file.exists());
        let live_path = live.path.clone();
        drop(live);
        assert!(!live_path.exists());
    }
}
