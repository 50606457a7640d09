//! The decoded database behind a `Snapshot`: the zstd payload streamed into a private
//! temp file (never into memory; capped by `ReadOptions::max_decoded_bytes`), its SQLite
//! header checked and a WAL-mode header turned into a rollback one. The file and any
//! SQLite side files are removed on drop.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::ReadOptions;
use crate::c1z::envelope;
use crate::c1z::error::{Error, Result};

/// The decoded database: a private temp file, removed (with any SQLite side
/// files) on drop.
pub(super) struct TempDb {
    pub(super) path: PathBuf,
}

impl TempDb {
    /// Decodes the payload that follows the magic of `src` into a new temp database,
    /// ready for a read-only open.
    pub(super) fn decode(input: &mut impl Read, src: &Path, opts: &ReadOptions) -> Result<TempDb> {
        let db = TempDb::create(opts.temp_dir.as_deref())?;
        let mut out = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&db.path)
            .map_err(|e| Error::io("open", &db.path, e))?;
        envelope::decode_payload(input, src, &mut out, &db.path, opts.max_decoded_bytes)?;
        check_and_unwal(&mut out, src, &db.path)?;
        Ok(db)
    }

    fn create(dir: Option<&Path>) -> Result<TempDb> {
        let dir = dir.map_or_else(std::env::temp_dir, Path::to_path_buf);
        let path = dir.join(format!("baton-c1z-{:016x}.db", rand::random::<u64>()));
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        Ok(TempDb { path })
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
        for suffix in ["-journal", "-wal", "-shm"] {
            let mut side = self.path.clone().into_os_string();
            side.push(suffix);
            let _ = fs::remove_file(PathBuf::from(side));
        }
    }
}

/// Checks the SQLite header, and turns a WAL-mode header into a rollback one:
/// the payload is a checkpointed database without its `-wal` file, and a
/// read-only open of a WAL database would want to create `-shm`/`-wal` files.
fn check_and_unwal(out: &mut File, src: &Path, db: &Path) -> Result<()> {
    let mut header = [0u8; 100];
    out.seek(SeekFrom::Start(0))
        .map_err(|e| Error::io("seek", db, e))?;
    let n = read_full(out, &mut header).map_err(|e| Error::io("read", db, e))?;
    if n < header.len() || &header[..16] != b"SQLite format 3\0" {
        return Err(Error::NotC1z {
            path: src.to_path_buf(),
            reason: "payload is not a SQLite database".into(),
        });
    }
    // Bytes 18/19: file format write/read version, 2 = WAL, 1 = rollback journal.
    if header[18] == 2 || header[19] == 2 {
        out.seek(SeekFrom::Start(18))
            .map_err(|e| Error::io("seek", db, e))?;
        out.write_all(&[1, 1])
            .map_err(|e| Error::io("write", db, e))?;
    }
    Ok(())
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
