//! The c1z v1 envelope: the 5-byte magic `C1ZF\0`, then one zstd frame holding
//! the SQLite database file (docs/reference/baton-compat.md §1.1).
//!
//! Both directions stream: the writer reads the database in chunks, the reader
//! decodes into a file, so neither holds the database in memory.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use super::error::{Error, Result};

pub const MAGIC_V1: &[u8; 5] = b"C1ZF\0";
pub const MAGIC_V3: &[u8; 5] = b"C1Z3\0";

/// Largest zstd window the SDK's reader accepts (`BATON_DECODER_MAX_MEMORY_MB` default).
pub const MAX_WINDOW_LOG: u32 = 27;

/// How to compress. Levels 1–3 keep the window far below the reader's 128 MiB limit.
#[derive(Clone, Copy, Debug)]
pub struct Compression {
    pub level: i32,
    /// zstd worker threads; 0 compresses on the calling thread.
    pub workers: u32,
}

impl Default for Compression {
    fn default() -> Self {
        // Level 1 with two workers measured best on the 2-core target (see benches/writepack.rs).
        Compression {
            level: 1,
            workers: 2,
        }
    }
}

const CHUNK: usize = 1 << 20;
const MT_THRESHOLD: u64 = 8 << 20;

/// Writes `db` as a c1z to `out` (created, must not exist), fsyncs it, and
/// returns the number of bytes written. The caller renames `out` into place.
pub fn write_c1z(db: &Path, out: &Path, c: Compression) -> Result<u64> {
    let mut input = File::open(db).map_err(|e| Error::io("open", db, e))?;
    let db_len = input
        .metadata()
        .map_err(|e| Error::io("stat", db, e))?
        .len();

    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Snapshots hold identity data: readable by the daemon's user only.
        opts.mode(0o600);
    }
    let file = opts.open(out).map_err(|e| Error::io("create", out, e))?;
    let wio = |e: io::Error| Error::io("write", out, e);

    let mut sink = BufWriter::with_capacity(CHUNK, file);
    sink.write_all(MAGIC_V1).map_err(wio)?;
    let mut enc = zstd::stream::write::Encoder::new(sink, c.level).map_err(wio)?;
    // The frame header then carries the decoded size, as the SDK's writer does,
    // which lets readers fail fast on oversize files.
    enc.set_pledged_src_size(Some(db_len)).map_err(wio)?;
    enc.include_contentsize(true).map_err(wio)?;
    enc.include_checksum(true).map_err(wio)?;
    // Worker threads only pay off past a few MiB (their start-up costs more
    // than compressing a small database on this thread).
    if c.workers > 0 && db_len >= MT_THRESHOLD {
        enc.multithread(c.workers).map_err(wio)?;
    }

    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", db, e)),
        };
        enc.write_all(&buf[..n]).map_err(wio)?;
    }
    let sink = enc.finish().map_err(wio)?;
    let file = sink.into_inner().map_err(|e| wio(e.into_error()))?;
    let t = std::time::Instant::now();
    file.sync_all().map_err(|e| Error::io("fsync", out, e))?;
    tracing::trace!(fsync_ms = t.elapsed().as_secs_f64() * 1e3, "c1z fsync");
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat", out, e))?
        .len();
    Ok(len)
}

/// What the first five bytes say a file is.
#[derive(Debug, PartialEq, Eq)]
pub enum Format {
    V1,
    V3,
}

/// Reads and checks the magic at the start of `r`.
pub fn read_magic(r: &mut impl Read, path: &Path) -> Result<Format> {
    let mut magic = [0u8; 5];
    let mut got = 0;
    while got < magic.len() {
        match r.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", path, e)),
        }
    }
    if got == 0 {
        return Err(Error::NotC1z {
            path: path.to_path_buf(),
            reason: "file is empty".into(),
        });
    }
    match &magic[..got] {
        m if m == MAGIC_V1 => Ok(Format::V1),
        m if m == MAGIC_V3 => Ok(Format::V3),
        m => Err(Error::NotC1z {
            path: path.to_path_buf(),
            reason: format!("bad magic \"{}\" (expected \"C1ZF\\0\")", m.escape_ascii()),
        }),
    }
}

/// Decodes the zstd payload after the magic into `out`, refusing to write more
/// than `limit` bytes. Returns the decoded size.
pub fn decode_payload(
    mut input: impl Read,
    path: &Path,
    out: &mut File,
    out_path: &Path,
    limit: u64,
) -> Result<u64> {
    // Peek the frame header: a declared content size over the limit fails before any work.
    let mut head = [0u8; 18];
    let mut got = 0;
    while got < head.len() {
        match input.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io("read", path, e)),
        }
    }
    let corrupt = |reason: String| Error::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    if got < 4 || head[..4] != [0x28, 0xB5, 0x2F, 0xFD] {
        return Err(corrupt("no zstd frame after the c1z magic".into()));
    }
    if let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(&head[..got])
        && size > limit
    {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit,
        });
    }

    let chained = io::Cursor::new(head[..got].to_vec()).chain(input);
    let mut dec = zstd::stream::read::Decoder::new(chained).map_err(|e| corrupt(e.to_string()))?;
    dec.window_log_max(MAX_WINDOW_LOG)
        .map_err(|e| corrupt(e.to_string()))?;
    let mut dec = dec.single_frame();

    let mut buf = vec![0u8; CHUNK];
    let mut total: u64 = 0;
    loop {
        let n = match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Truncated frames and bad blocks both surface here as decoder errors.
            Err(e) => return Err(corrupt(e.to_string())),
        };
        total += n as u64;
        if total > limit {
            return Err(Error::TooLarge {
                path: path.to_path_buf(),
                limit,
            });
        }
        out.write_all(&buf[..n])
            .map_err(|e| Error::io("write", out_path, e))?;
    }
    Ok(total)
}
