//! The SQLite side of the store: one thread that owns the connection while a
//! sync's rows stream in.
//!
//! Encoding and de-duplicating rows (the caller's thread, `upsert.rs`) and
//! appending them to SQLite (this thread) overlap, which is worth ~0.5 s per
//! million distinct grants on two cores. The hand-off is a bounded channel of
//! one batch, so at most three batches exist at once (being built, queued,
//! being inserted) and a slow disk slows the producer down instead of growing
//! memory. Row buffers travel back on a second channel to be reused.
//!
//! Each batch is one transaction: its new rows, appended in id order with
//! multi-row INSERTs, then its updates (later writes of rows already flushed).
//! An update first checks that the target row really has that external id; if
//! not, the producer's 64-bit hash collided, and the row is inserted as new
//! with an id from a separate range (`COLLISION_IDS`). The count changes this
//! causes come back as `Delta`s when the loader is joined.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::thread::JoinHandle;

use rusqlite::types::{Null, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql};

use super::encode::{Kind, Row};
use super::error::{Error, Result};

/// Ids for rows found to be new only at flush time (hash collisions); far above
/// any id the producer hands out, so the two ranges never meet.
const COLLISION_IDS: i64 = 1 << 62;

/// Rows for one table: new rows with consecutive ids from `first_id`, then
/// `(id, row)` overwrites of rows sent earlier.
pub(crate) struct Batch {
    pub kind: Kind,
    pub first_id: i64,
    pub rows: Vec<Row>,
    pub updates: Vec<(i64, Row)>,
}

/// Count corrections discovered by the loader (collisions, type changes).
#[derive(Default)]
pub(crate) struct Delta {
    pub count: i64,
    pub by_type: HashMap<Vec<u8>, i64>,
}

/// The statements for one table of this sync.
pub(crate) struct TableSql {
    insert_one: String,
    insert_many: String,
    rows_per_insert: usize,
    update: String,
    verify: String,
}

impl TableSql {
    /// SQL texts for `kind` in sync `sync_id`. The sync id is inlined as a
    /// literal (quotes doubled) so that it is not bound once per row.
    pub(crate) fn new(kind: Kind, sync_id: &str, rows_per_insert: usize) -> TableSql {
        let lit = sync_id.replace('\'', "''");
        let cols = kind.columns();
        let table = kind.table();
        let one_row = format!("(?{}, '{lit}')", ", ?".repeat(cols.len()));
        let head = format!(
            "INSERT INTO {table} (id, {}, sync_id) VALUES ",
            cols.join(", ")
        );
        let rows_per_insert = rows_per_insert.max(1);
        let many: Vec<&str> = vec![one_row.as_str(); rows_per_insert];
        let sets: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c} = ?{}", i + 2))
            .collect();
        // What an update needs to know about the row it overwrites: its type (for stats).
        let probe = kind.type_col().map_or("external_id", |i| cols[i]);
        TableSql {
            insert_one: format!("{head}{one_row}"),
            insert_many: format!("{head}{}", many.join(", ")),
            rows_per_insert,
            update: format!("UPDATE {table} SET {} WHERE id = ?1", sets.join(", ")),
            verify: format!("SELECT {probe} FROM {table} WHERE id = ?1 AND external_id = ?2"),
        }
    }
}

/// What the thread hands back when joined: always the connection (so the
/// store can close it and delete its files), plus corrections or the error.
struct Joined {
    conn: Connection,
    deltas: [Delta; 4],
    error: Option<Error>,
}

pub(crate) struct Loader {
    tx: Option<SyncSender<Batch>>,
    recycled: Receiver<(Kind, Vec<Row>)>,
    handle: Option<JoinHandle<Joined>>,
}

impl Loader {
    pub(crate) fn spawn(conn: Connection, db_path: &Path, sql: [TableSql; 4]) -> Result<Loader> {
        let (tx, rx) = mpsc::sync_channel::<Batch>(1);
        let (back_tx, back_rx) = mpsc::channel::<(Kind, Vec<Row>)>();
        let db_path = db_path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("c1z-loader".into())
            .spawn(move || run(conn, db_path, sql, rx, back_tx))
            .map_err(|e| Error::State(format!("cannot start the SQLite loader thread: {e}")))?;
        Ok(Loader {
            tx: Some(tx),
            recycled: back_rx,
            handle: Some(handle),
        })
    }

    /// Queues a batch, waiting while the previous one is still queued.
    /// `Err(())` means the thread has stopped (its error comes from `join`).
    pub(crate) fn send(&mut self, batch: Batch) -> std::result::Result<(), ()> {
        match &self.tx {
            Some(tx) => tx.send(batch).map_err(|_| ()),
            None => Err(()),
        }
    }

    /// Moves returned row buffers into their table's pool without waiting.
    pub(crate) fn recycle(&self, pools: &mut [Vec<Row>; 4]) {
        loop {
            match self.recycled.try_recv() {
                Ok((kind, rows)) => pools[kind as usize].extend(rows),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return,
            }
        }
    }

    /// Waits for every queued batch to be written and takes the connection back.
    pub(crate) fn join(mut self) -> (Option<Connection>, [Delta; 4], Option<Error>) {
        self.tx = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(j)) => (Some(j.conn), j.deltas, j.error),
            Some(Err(_)) => (
                None,
                Default::default(),
                Some(Error::State("the SQLite loader thread panicked".into())),
            ),
            None => (None, Default::default(), None),
        }
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        // Closing the channel ends the thread; joining drops the connection
        // before the store deletes the database file.
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(
    conn: Connection,
    db: PathBuf,
    sql: [TableSql; 4],
    rx: Receiver<Batch>,
    back: mpsc::Sender<(Kind, Vec<Row>)>,
) -> Joined {
    let mut state = State {
        sql,
        overflow: Default::default(),
        next_collision_id: COLLISION_IDS,
        deltas: Default::default(),
    };
    let mut error = None;
    for mut batch in rx.iter() {
        if let Err(e) = state.write(&conn, &db, &mut batch) {
            // Leave the transaction (journal_mode=OFF cannot undo it, but the
            // file is discarded anyway) and stop taking batches.
            let _ = conn.execute_batch("ROLLBACK");
            error = Some(e);
            break;
        }
        let mut rows = batch.rows;
        rows.extend(batch.updates.into_iter().map(|(_, r)| r));
        // The producer may be gone (store dropped); then the buffers just drop.
        let _ = back.send((batch.kind, rows));
    }
    Joined {
        conn,
        deltas: state.deltas,
        error,
    }
}

struct State {
    sql: [TableSql; 4],
    /// Per table: external id → id of a row inserted after a hash collision.
    overflow: [HashMap<Vec<u8>, i64>; 4],
    next_collision_id: i64,
    deltas: [Delta; 4],
}

impl State {
    fn write(&mut self, conn: &Connection, db: &Path, batch: &mut Batch) -> Result<()> {
        let sq = |ctx: &'static str| move |e| Error::sqlite(db, ctx, e);
        let kind = batch.kind;
        let t = kind as usize;
        let sql = &self.sql[t];
        let ncols = kind.columns().len();
        let data_col = kind.data_col();
        conn.execute_batch("BEGIN").map_err(sq("begin"))?;

        let mut id = batch.first_id;
        {
            let per = sql.rows_per_insert;
            let mut many = conn
                .prepare_cached(&sql.insert_many)
                .map_err(sq("prepare insert"))?;
            let mut chunks = batch.rows.chunks_exact(per);
            for chunk in &mut chunks {
                for (r, row) in chunk.iter().enumerate() {
                    bind_insert(&mut many, r * (ncols + 1) + 1, id, row, ncols, data_col)
                        .map_err(sq("bind"))?;
                    id += 1;
                }
                many.raw_execute().map_err(sq("insert"))?;
            }
            let mut one = conn
                .prepare_cached(&sql.insert_one)
                .map_err(sq("prepare insert"))?;
            for row in chunks.remainder() {
                bind_insert(&mut one, 1, id, row, ncols, data_col).map_err(sq("bind"))?;
                one.raw_execute().map_err(sq("insert"))?;
                id += 1;
            }
        }

        for (target, row) in &batch.updates {
            self.update(conn, db, kind, *target, row)?;
        }
        conn.execute_batch("COMMIT").map_err(sq("commit"))?;
        Ok(())
    }

    /// Overwrites a flushed row with a later write of the same external id.
    fn update(
        &mut self,
        conn: &Connection,
        db: &Path,
        kind: Kind,
        target: i64,
        row: &Row,
    ) -> Result<()> {
        let sq = |ctx: &'static str| move |e| Error::sqlite(db, ctx, e);
        let t = kind as usize;
        let ncols = kind.columns().len();
        let data_col = kind.data_col();
        let ext = row.text(kind.external_id_col());
        // A row that collided earlier lives at its own id.
        let target = self.overflow[t].get(ext).copied().unwrap_or(target);
        let old: Option<Vec<u8>> = conn
            .prepare_cached(&self.sql[t].verify)
            .map_err(sq("prepare verify"))?
            .query_row((target, Text(ext)), |r| {
                Ok(r.get_ref(0)?
                    .as_bytes()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default())
            })
            .optional()
            .map_err(sq("verify"))?;
        let delta = &mut self.deltas[t];
        match old {
            Some(old_type) => {
                let mut stmt = conn
                    .prepare_cached(&self.sql[t].update)
                    .map_err(sq("prepare update"))?;
                stmt.raw_bind_parameter(1, target).map_err(sq("bind"))?;
                bind_cols(&mut stmt, 2, row, ncols, data_col).map_err(sq("bind"))?;
                stmt.raw_execute().map_err(sq("update"))?;
                if let Some(tc) = kind.type_col()
                    && old_type != row.text(tc)
                {
                    *delta.by_type.entry(old_type).or_default() -= 1;
                    *delta.by_type.entry(row.text(tc).to_vec()).or_default() += 1;
                }
            }
            None => {
                // The producer's hash matched another id: this one is new after all.
                let id = self.next_collision_id;
                self.next_collision_id += 1;
                let mut one = conn
                    .prepare_cached(&self.sql[t].insert_one)
                    .map_err(sq("prepare insert"))?;
                bind_insert(&mut one, 1, id, row, ncols, data_col).map_err(sq("bind"))?;
                one.raw_execute().map_err(sq("insert"))?;
                self.overflow[t].insert(ext.to_vec(), id);
                delta.count += 1;
                if let Some(tc) = kind.type_col() {
                    *delta.by_type.entry(row.text(tc).to_vec()).or_default() += 1;
                }
            }
        }
        Ok(())
    }
}

/// Binds a row's columns to parameters `start..start + ncols`.
fn bind_cols(
    stmt: &mut rusqlite::Statement<'_>,
    start: usize,
    row: &Row,
    ncols: usize,
    data_col: usize,
) -> rusqlite::Result<()> {
    for c in 0..ncols {
        let idx = start + c;
        match row.col(c) {
            None => stmt.raw_bind_parameter(idx, Null)?,
            Some(bytes) if c == data_col => stmt.raw_bind_parameter(idx, bytes)?,
            Some(bytes) => stmt.raw_bind_parameter(idx, Text(bytes))?,
        }
    }
    Ok(())
}

/// Binds one INSERT row: its id at `start`, then its columns.
fn bind_insert(
    stmt: &mut rusqlite::Statement<'_>,
    start: usize,
    id: i64,
    row: &Row,
    ncols: usize,
    data_col: usize,
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(start, id)?;
    bind_cols(stmt, start + 1, row, ncols, data_col)
}

/// UTF-8 bytes bound as SQL TEXT without re-validating (they came from `String`s).
struct Text<'a>(&'a [u8]);

impl ToSql for Text<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(self.0)))
    }
}
