//! The c1z writer: one sync into a private SQLite file, then one compressed,
//! atomically renamed c1z. This is the only writer; the sync, the actor and the
//! WritePack bench all go through it.
//!
//! Life cycle: `create` → `start_sync` → `put_*` (any order, any number of
//! batches) → `end_sync` → `finish(out)`. `abort()`, or dropping the store
//! before `finish` returns, removes every temporary file; the file at the
//! destination is only ever replaced by a complete snapshot (rename).
//!
//! Why it is fast (issue #6). Distinct 1M on the 2-core host, median of 5
//! interleaved runs (the host is noisy, ±20%): default 4.1 s.
//! - The database is a private temp file until renamed, so it is written
//!   without a journal, without fsync and under an exclusive lock; a crash
//!   simply discards it. 64 KiB pages: 4 KiB pages took 5.6 s.
//! - Upserts never reach SQLite as conflicts: they are resolved in memory
//!   (`upsert.rs`), so the bulk tables need no unique index during the load.
//!   Rows are appended in id order with multi-row INSERTs (1 row per INSERT:
//!   +0.45 s) and every index (the SDK's exact DDL) is built once at `finish`
//!   by sorting. Keeping the indexes live during the load costs about the same
//!   time but leaves half-full pages: a 48% larger c1z.
//! - A loader thread (`loader.rs`) owns the connection during the load, so
//!   encoding and SQLite work overlap (load phase 1.75 s → ~1.1 s); the
//!   channel between them holds one batch.
//! - Index keys are sorted in memory when they fit `sorter_memory_kib`
//!   (temp files instead: +0.15 s). More sorter helper threads or a bigger
//!   page cache did not help on two cores.
//! - Rows are encoded into recycled buffers: no allocation per row once warm.
//! - The finished database is streamed through zstd level 1 with two workers
//!   (single-threaded: +0.4 s; level 3: +0.7 s for a 5% smaller file).
//!
//! Files: `options.rs` (the tuning knobs), `snapshot_info.rs` (what `finish`
//! reports), `work_files.rs` (the private temp directory and database, the temp
//! c1z and the durable rename).

mod options;
mod snapshot_info;
mod work_files;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use self::work_files::{
    TempFile, WORK_C1Z, WORK_DB, WorkDir, open_private_db, sync_parent_dir, temp_name,
};
use super::encode::{Kind, Record, Row};
use super::envelope;
use super::error::{Error, Result};
use super::loader::{Loader, TableSql};
use super::schema::TABLES;
use super::stats::SyncStats;
use super::timestamp;
use super::upsert::Table;
use crate::pb;

pub use self::options::StoreOptions;
pub use self::snapshot_info::{Counts, Phases, SnapshotInfo};
pub use self::work_files::remove_stale_work_files;
pub(crate) use self::work_files::{is_work_name, remove_if_stale};

struct SyncRun {
    id: String,
    ended: bool,
}

/// The plain, synchronous c1z writer (see the module docs).
pub struct Store {
    /// The connection while no loader runs (before `start_sync`, after `end_sync`).
    conn: Option<Connection>,
    /// Owns the connection between `start_sync` and `end_sync`.
    loader: Option<Loader>,
    work: Option<WorkDir>,
    db_path: PathBuf,
    opts: StoreOptions,
    sync: Option<SyncRun>,
    tables: [Table; 4],
    /// Recycled row buffers, one pool per table. A buffer keeps the capacity
    /// of the largest row it ever held; a shared pool let ~1 KiB resource
    /// buffers drift into the (~300 B) grant rows, so the buffers in
    /// circulation kept growing with the number of batches (massif, 100k
    /// agents: 88 MB of row buffers at the peak).
    pools: [Vec<Row>; 4],
    clock: Clock,
    /// Every resource type id put, so the stats list each one (0 where empty).
    type_ids: BTreeSet<String>,
    indexes_built: bool,
    created: Instant,
    rows_time: Duration,
}

impl Store {
    /// Creates the private working database in a new temp directory next to
    /// `dest` (`<dest>.<random>.tmp/`), so the final rename stays on one file system.
    pub fn create(dest: &Path) -> Result<Store> {
        Store::create_with(dest, StoreOptions::default())
    }

    /// What an earlier writer killed here left behind is removed first
    /// ([`remove_stale_work_files`]).
    pub fn create_with(dest: &Path, opts: StoreOptions) -> Result<Store> {
        remove_stale_work_files(dest);
        let work = WorkDir::create(dest)?;
        let db_path = work.path.join(WORK_DB);
        let conn = open_private_db(&db_path, &opts)?;
        let tables = Kind::ALL.map(|k| Table::new(k, opts.constant_hash));
        let mut store = Store {
            conn: Some(conn),
            loader: None,
            work: Some(work),
            db_path,
            opts,
            sync: None,
            tables,
            pools: Default::default(),
            clock: Clock::new(),
            type_ids: BTreeSet::new(),
            indexes_built: false,
            created: Instant::now(),
            rows_time: Duration::ZERO,
        };
        store.create_schema()?;
        Ok(store)
    }

    /// Path of the working database (inside the temp directory).
    pub fn db_path(&self) -> &Path {
        &self.db_path
    }

    fn conn(&self) -> Result<&Connection> {
        self.conn
            .as_ref()
            .ok_or_else(|| Error::State("store is closed".into()))
    }

    fn create_schema(&mut self) -> Result<()> {
        let defer = self.opts.defer_indexes;
        let conn = self.conn()?;
        let path = &self.db_path;
        let sq = |ctx: &'static str| move |e| Error::sqlite(path, ctx, e);
        // One transaction: each autocommit would rewrite page 1 (64 KiB).
        conn.execute_batch("BEGIN").map_err(sq("begin"))?;
        for t in TABLES {
            conn.execute_batch(t.create).map_err(sq("create table"))?;
            if t.bulk && defer {
                continue;
            }
            for i in t.indexes {
                conn.execute_batch(i.create).map_err(sq("create index"))?;
            }
        }
        conn.execute_batch("COMMIT").map_err(sq("commit"))?;
        if !defer {
            self.indexes_built = true;
        }
        Ok(())
    }

    /// Starts the one `full` sync this file will hold: `sync_token` empty,
    /// `grants_backfilled` 1 (new-style sync, docs/reference/baton-compat.md §1.5).
    pub fn start_sync(&mut self, sync_id: &str) -> Result<()> {
        self.start_sync_as(sync_id, "full")
    }

    /// Starts the one sync this file will hold, of `sync_type` (`full`,
    /// `partial`, `resources_only`). `parent_sync_id` stays empty: the SDK sets
    /// it to the last full sync *in the same file*, and every file we write is new.
    pub fn start_sync_as(&mut self, sync_id: &str, sync_type: &str) -> Result<()> {
        if self.sync.is_some() {
            return Err(Error::State(
                "a sync was already started in this file".into(),
            ));
        }
        if sync_id.is_empty() {
            return Err(Error::State("empty sync id".into()));
        }
        let started = timestamp::now();
        self.conn()?
            .execute(
                "INSERT INTO v1_sync_runs (sync_id, started_at, sync_token, sync_type, parent_sync_id, grants_backfilled) \
                 VALUES (?1, ?2, '', ?3, '', 1)",
                (sync_id, &started, sync_type),
            )
            .map_err(|e| Error::sqlite(&self.db_path, "start sync", e))?;
        let sql = Kind::ALL.map(|k| TableSql::new(k, sync_id, self.opts.rows_per_insert));
        let conn = self
            .conn
            .take()
            .ok_or_else(|| Error::State("store is closed".into()))?;
        self.loader = Some(Loader::spawn(conn, &self.db_path, sql)?);
        self.sync = Some(SyncRun {
            id: sync_id.to_string(),
            ended: false,
        });
        Ok(())
    }

    pub fn sync_id(&self) -> Option<&str> {
        self.sync.as_ref().map(|s| s.id.as_str())
    }

    pub fn put_resource_types(&mut self, rows: &[pb::ResourceType]) -> Result<()> {
        self.put(rows)
    }

    pub fn put_resources(&mut self, rows: &[pb::Resource]) -> Result<()> {
        self.put(rows)
    }

    pub fn put_entitlements(&mut self, rows: &[pb::Entitlement]) -> Result<()> {
        self.put(rows)
    }

    pub fn put_grants(&mut self, rows: &[pb::Grant]) -> Result<()> {
        self.put(rows)
    }

    /// Upserts records into their table: last write wins per `external_id`.
    pub fn put<R: Record>(&mut self, records: &[R]) -> Result<()> {
        match &self.sync {
            Some(s) if !s.ended => {}
            Some(_) => return Err(Error::State("sync already ended".into())),
            None => return Err(Error::State("no sync started".into())),
        }
        let t = R::KIND as usize;
        let stamp = self.clock.stamp().to_owned();
        for rec in records {
            let pool = &mut self.pools[t];
            let mut row = pool.pop().unwrap_or_default();
            row.clear();
            if let Err(e) = rec.fill_row(&mut row, &stamp) {
                pool.push(row);
                return Err(e);
            }
            if let Some(id) = rec.type_id()
                && !self.type_ids.contains(id)
            {
                self.type_ids.insert(id.to_string());
            }
            let table = &mut self.tables[t];
            table.upsert(row, pool);
            let (rows, bytes) = table.backlog();
            if rows >= self.opts.flush_rows || bytes >= self.opts.flush_bytes {
                self.flush(t)?;
            }
        }
        Ok(())
    }

    /// Hands table `t`'s backlog to the loader (waits while one batch is queued).
    fn flush(&mut self, t: usize) -> Result<()> {
        let Some(batch) = self.tables[t].take_batch() else {
            return Ok(());
        };
        let loader = self
            .loader
            .as_mut()
            .ok_or_else(|| Error::State("no sync running".into()))?;
        if loader.send(batch).is_err() {
            // The loader stopped on an error; collect it.
            return Err(self
                .join_loader()
                .err()
                .unwrap_or_else(|| Error::State("the SQLite loader stopped".into())));
        }
        // Always take back what the loader has finished with: buffers left in
        // the channel are still allocated, and a pool that is not empty would
        // otherwise make the next batch allocate fresh ones.
        loader.recycle(&mut self.pools);
        Ok(())
    }

    /// Waits for the loader, takes the connection back and folds in its corrections.
    fn join_loader(&mut self) -> Result<()> {
        let Some(loader) = self.loader.take() else {
            return Ok(());
        };
        let (conn, deltas, error) = loader.join();
        self.conn = conn;
        for (t, d) in self.tables.iter_mut().zip(deltas.iter()) {
            t.apply(d);
        }
        match error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes what is pending, sets `ended_at` and caches the stats JSON.
    pub fn end_sync(&mut self) -> Result<SyncStats> {
        let sync_id = match &self.sync {
            Some(s) if !s.ended => s.id.clone(),
            Some(_) => return Err(Error::State("sync already ended".into())),
            None => return Err(Error::State("no sync started".into())),
        };
        let t0 = Instant::now();
        for t in 0..self.tables.len() {
            self.flush(t)?;
        }
        self.join_loader()?;
        tracing::debug!(
            flush_ms = t0.elapsed().as_millis() as u64,
            "c1z end_sync flushed"
        );
        let stats = self.stats();
        self.conn()?
            .execute(
                // supports_diff: the SDK sets it on every full sync that reaches
                // the end of collection, and consumers may rely on it.
                "UPDATE v1_sync_runs SET ended_at = ?1, stats = ?2, supports_diff = 1 WHERE sync_id = ?3",
                (timestamp::now(), stats.to_json(), &sync_id),
            )
            .map_err(|e| Error::sqlite(&self.db_path, "end sync", e))?;
        if let Some(s) = &mut self.sync {
            s.ended = true;
        }
        // No more puts: give the upsert index and buffers back before the
        // index build, which is where SQLite's sorter wants the memory.
        for t in &mut self.tables {
            t.release_memory();
        }
        self.pools = Default::default();
        self.rows_time = self.created.elapsed();
        Ok(stats)
    }

    /// Counts of distinct rows so far (pending included; exact after `end_sync`).
    pub fn stats(&self) -> SyncStats {
        let [rt, res, ent, gr] = &self.tables;
        let mut stats = SyncStats {
            resource_types: rt.count,
            resources: res.count,
            entitlements: ent.count,
            grants: gr.count,
            resources_by_resource_type: res.by_type_sorted(),
            entitlements_by_resource_type: ent.by_type_sorted(),
            grants_by_resource_type: gr.by_type_sorted(),
        };
        stats.list_every_type(self.type_ids.iter().map(String::as_str));
        stats
    }

    pub fn counts(&self) -> Counts {
        let [rt, res, ent, gr] = &self.tables;
        Counts {
            resource_types: rt.count,
            resources: res.count,
            entitlements: ent.count,
            grants: gr.count,
        }
    }

    /// Builds the deferred indexes, closes the database, compresses it to a
    /// temp file next to `out`, fsyncs it and renames it over `out`.
    /// On any error nothing at `out` changes and every temp file is removed.
    pub fn finish(mut self, out: &Path) -> Result<SnapshotInfo> {
        let sync_id = match &self.sync {
            Some(s) if s.ended => s.id.clone(),
            Some(_) => return Err(Error::State("finish before end_sync".into())),
            None => return Err(Error::State("finish without a sync".into())),
        };
        let t0 = Instant::now();
        self.build_indexes()?;
        let counts = self.counts();
        let t_index = t0.elapsed();

        // Closing writes SQLite's last pages; with journal_mode=OFF there is
        // no WAL to checkpoint, the file is complete once closed.
        if let Some(conn) = self.conn.take() {
            conn.close()
                .map_err(|(_, e)| Error::sqlite(&self.db_path, "close", e))?;
        }
        let db_bytes = fs::metadata(&self.db_path)
            .map_err(|e| Error::io("stat", &self.db_path, e))?
            .len();

        // Inside the locked working directory when it sits beside `out` (always, when
        // `out` is the `create` destination), so a killed writer leaves one entry.
        let beside = |p: &Path| p.parent().map(Path::to_path_buf);
        let tmp_path = match &self.work {
            Some(w) if beside(&w.path) == beside(out) => w.path.join(WORK_C1Z),
            _ => temp_name(out, "tmp"),
        };
        let tmp = TempFile(Some(tmp_path));
        let tmp_path = tmp.path().to_path_buf();
        let t1 = Instant::now();
        let bytes = envelope::write_c1z(&self.db_path, &tmp_path, self.opts.compression)?;
        fs::rename(&tmp_path, out).map_err(|e| Error::io("rename into", out, e))?;
        tmp.disarm();
        sync_parent_dir(out);
        let t_compress = t1.elapsed();
        tracing::debug!(
            index_ms = t_index.as_secs_f64() * 1e3,
            compress_ms = t_compress.as_secs_f64() * 1e3,
            total_ms = t0.elapsed().as_secs_f64() * 1e3,
            db_bytes,
            bytes,
            "c1z finished"
        );

        Ok(SnapshotInfo {
            path: out.to_path_buf(),
            sync_id,
            bytes,
            db_bytes,
            counts,
            phases: Phases {
                rows: self.rows_time,
                indexes: t_index,
                compress: t_compress,
            },
        })
    }

    /// Throws the snapshot away (same as dropping the store).
    pub fn abort(self) {}

    fn build_indexes(&mut self) -> Result<()> {
        if self.indexes_built {
            return Ok(());
        }
        // Sorting in memory saves 5–15% of the index build when it fits the budget.
        let key_bytes = self
            .tables
            .iter()
            .map(|t| t.key_bytes(self.sync.as_ref().map_or(0, |s| s.id.len())))
            .max()
            .unwrap_or(0);
        let in_memory = key_bytes <= u64::from(self.opts.sorter_memory_kib) * 1024;
        let conn = self.conn()?;
        let path = &self.db_path;
        let sq = |ctx: &'static str| move |e| Error::sqlite(path, ctx, e);
        let temp_store = if in_memory { "MEMORY" } else { "FILE" };
        conn.execute_batch(&format!("PRAGMA temp_store = {temp_store}"))
            .map_err(sq("configure"))?;
        conn.execute_batch("BEGIN").map_err(sq("begin"))?;
        for t in TABLES.iter().filter(|t| t.bulk) {
            for i in t.indexes {
                let t0 = Instant::now();
                conn.execute_batch(i.create).map_err(sq("create index"))?;
                tracing::trace!(
                    index = i.name,
                    ms = t0.elapsed().as_secs_f64() * 1e3,
                    "index built"
                );
            }
        }
        conn.execute_batch("COMMIT").map_err(sq("commit"))?;
        self.indexes_built = true;
        Ok(())
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Stop the loader and close SQLite before deleting its file.
        drop(self.loader.take());
        drop(self.conn.take());
        drop(self.work.take());
    }
}

/// `discovered_at` for a batch: formatted at most once a millisecond, because
/// formatting per row would cost more than the rest of the put.
struct Clock {
    at: Instant,
    text: String,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            at: Instant::now(),
            text: timestamp::now(),
        }
    }

    fn stamp(&mut self) -> &str {
        if self.at.elapsed() >= Duration::from_millis(1) {
            self.at = Instant::now();
            self.text = timestamp::now();
        }
        &self.text
    }
}
