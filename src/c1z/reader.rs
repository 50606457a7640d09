//! Reads any c1z v1 file, ours or one the Go SDK wrote.
//!
//! Opening checks the magic (a `C1Z3` Pebble file is recognised and refused by
//! name), stream-decodes the zstd payload into a private temp file (never into
//! memory, capped like the SDK's reader at 10 GiB), and opens that file with
//! SQLite read-only. Older layouts load too: a 7-column `v1_sync_runs` without
//! `sync_type`, grants without `expansion`, a WAL-mode header.
//!
//! The rows shown are those of one sync: the latest *finished full* sync, as
//! the SDK's readers pick it, else the latest sync of any kind (`SyncRunInfo`
//! says which, so callers can tell the user).
//!
//! Every failure is an `Error` naming the file; nothing here panics on input.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use prost::{Message, Name};
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use super::envelope::{self, Format};
use super::error::{Error, Result};
use super::schema::{self, REQUIRED_TABLES};
use super::stats::SyncStats;
use crate::pb;

/// The SDK's default cap on the decoded database (`BATON_DECODER_MAX_DECODED_SIZE_MB`).
pub const DEFAULT_MAX_DECODED_BYTES: u64 = 10 << 30;

#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Refuse payloads that decode to more than this.
    pub max_decoded_bytes: u64,
    /// Where the decoded database goes (default: the system temp dir).
    pub temp_dir: Option<PathBuf>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_decoded_bytes: DEFAULT_MAX_DECODED_BYTES,
            temp_dir: None,
        }
    }
}

/// The sync run whose rows a `Snapshot` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRunInfo {
    pub sync_id: String,
    pub sync_type: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// True when this is the latest finished full sync (what SDK readers use);
    /// false when there was none and this is just the latest sync.
    pub is_latest_finished_full: bool,
}

/// Counts for the selected sync, computed from the rows, plus the writer's
/// cached `stats` JSON when it has one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    pub counts: SyncStats,
    pub assets: u64,
    pub cached: Option<SyncStats>,
}

/// An opened c1z. The decoded database is deleted when this is dropped.
pub struct Snapshot {
    conn: Connection,
    path: PathBuf,
    sync: Option<SyncRunInfo>,
    grants_have_expansion: bool,
    _db: TempDb,
}

impl Snapshot {
    pub fn open(path: &Path) -> Result<Snapshot> {
        Snapshot::open_with(path, &ReadOptions::default())
    }

    pub fn open_with(path: &Path, opts: &ReadOptions) -> Result<Snapshot> {
        let file = File::open(path).map_err(|e| Error::io("open", path, e))?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        match envelope::read_magic(&mut input, path)? {
            Format::V1 => {}
            Format::V3 => {
                return Err(Error::UnsupportedV3 {
                    path: path.to_path_buf(),
                });
            }
        }

        let db = TempDb::create(opts.temp_dir.as_deref())?;
        {
            let mut out = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&db.path)
                .map_err(|e| Error::io("open", &db.path, e))?;
            envelope::decode_payload(&mut input, path, &mut out, &db.path, opts.max_decoded_bytes)?;
            check_and_unwal(&mut out, path, &db.path)?;
        }

        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&db.path, flags).map_err(|e| Error::NotC1z {
            path: path.to_path_buf(),
            reason: format!("payload is not a readable SQLite database: {e}"),
        })?;

        let tables = table_names(&conn).map_err(|e| Error::NotC1z {
            path: path.to_path_buf(),
            reason: format!("payload is not a readable SQLite database: {e}"),
        })?;
        if let Some(missing) = REQUIRED_TABLES
            .iter()
            .find(|t| !tables.iter().any(|n| n == *t))
        {
            return Err(Error::NotC1z {
                path: path.to_path_buf(),
                reason: format!("table {missing} missing"),
            });
        }
        let sq = |ctx: &'static str| {
            let p = path.to_path_buf();
            move |e| Error::sqlite(&p, ctx, e)
        };
        let grants_have_expansion =
            has_column(&conn, schema::GRANTS, "expansion").map_err(sq("read schema"))?;
        let sync = pick_sync(&conn).map_err(sq("read v1_sync_runs"))?;
        Ok(Snapshot {
            conn,
            path: path.to_path_buf(),
            sync,
            grants_have_expansion,
            _db: db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sync whose rows are shown; `None` if the file has no sync run at all
    /// (then every row is shown).
    pub fn sync(&self) -> Option<&SyncRunInfo> {
        self.sync.as_ref()
    }

    pub fn resource_types(&self) -> Result<Vec<pb::ResourceType>> {
        let mut out = Vec::new();
        self.scan(schema::RESOURCE_TYPES, None, "external_id", |_, data, _| {
            out.push(decode::<pb::ResourceType>(data)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Resources, optionally of one type, in `external_id` order.
    pub fn for_each_resource(
        &self,
        resource_type: Option<&str>,
        mut f: impl FnMut(pb::Resource) -> Result<()>,
    ) -> Result<()> {
        self.scan(
            schema::RESOURCES,
            resource_type,
            "external_id",
            |_, data, _| f(decode(data)?),
        )
    }

    pub fn resources(&self, resource_type: Option<&str>) -> Result<Vec<pb::Resource>> {
        let mut out = Vec::new();
        self.for_each_resource(resource_type, |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }

    /// Entitlements, optionally of resources of one type.
    pub fn for_each_entitlement(
        &self,
        resource_type: Option<&str>,
        mut f: impl FnMut(pb::Entitlement) -> Result<()>,
    ) -> Result<()> {
        self.scan(
            schema::ENTITLEMENTS,
            resource_type,
            "external_id",
            |_, data, _| f(decode(data)?),
        )
    }

    pub fn entitlements(&self, resource_type: Option<&str>) -> Result<Vec<pb::Entitlement>> {
        let mut out = Vec::new();
        self.for_each_entitlement(resource_type, |e| {
            out.push(e);
            Ok(())
        })?;
        Ok(out)
    }

    /// Grants, optionally on entitlements of resources of one type. A
    /// `GrantExpandable` that a newer SDK moved into the `expansion` column is
    /// put back among the annotations, so the message reads as the connector sent it.
    pub fn for_each_grant(
        &self,
        resource_type: Option<&str>,
        mut f: impl FnMut(pb::Grant) -> Result<()>,
    ) -> Result<()> {
        self.scan(
            schema::GRANTS,
            resource_type,
            "external_id",
            |_, data, expansion| {
                let mut g: pb::Grant = decode(data)?;
                if let Some(exp) = expansion {
                    g.annotations.push(prost_types::Any {
                        type_url: pb::GrantExpandable::type_url(),
                        value: exp.to_vec(),
                    });
                }
                f(g)
            },
        )
    }

    pub fn grants(&self, resource_type: Option<&str>) -> Result<Vec<pb::Grant>> {
        let mut out = Vec::new();
        self.for_each_grant(resource_type, |g| {
            out.push(g);
            Ok(())
        })?;
        Ok(out)
    }

    /// Row counts of the selected sync, per table and per resource type.
    pub fn stats(&self) -> Result<SnapshotStats> {
        let sq = |ctx: &'static str| {
            let p = self.path.clone();
            move |e| Error::sqlite(&p, ctx, e)
        };
        let sync_id = self.sync.as_ref().map(|s| s.sync_id.clone());
        let count = |table: &str| -> rusqlite::Result<u64> {
            let sql = format!("SELECT count(*) FROM {table} WHERE ?1 IS NULL OR sync_id = ?1");
            self.conn
                .query_row(&sql, [&sync_id], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
        };
        let by_type = |table: &str| -> rusqlite::Result<BTreeMap<String, u64>> {
            let sql = format!(
                "SELECT resource_type_id, count(*) FROM {table} WHERE ?1 IS NULL OR sync_id = ?1 \
                 GROUP BY resource_type_id ORDER BY resource_type_id"
            );
            let mut stmt = self.conn.prepare(&sql)?;
            let rows = stmt.query_map([&sync_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })?;
            rows.collect()
        };
        let mut counts = SyncStats {
            resource_types: count(schema::RESOURCE_TYPES).map_err(sq("count"))?,
            resources: count(schema::RESOURCES).map_err(sq("count"))?,
            entitlements: count(schema::ENTITLEMENTS).map_err(sq("count"))?,
            grants: count(schema::GRANTS).map_err(sq("count"))?,
            resources_by_resource_type: by_type(schema::RESOURCES).map_err(sq("count"))?,
            entitlements_by_resource_type: by_type(schema::ENTITLEMENTS).map_err(sq("count"))?,
            grants_by_resource_type: by_type(schema::GRANTS).map_err(sq("count"))?,
        };
        // Every resource type is listed, with 0 where empty, as the SDK does.
        let type_ids: Vec<String> = {
            let sql = format!(
                "SELECT external_id FROM {} WHERE ?1 IS NULL OR sync_id = ?1",
                schema::RESOURCE_TYPES
            );
            let mut stmt = self.conn.prepare(&sql).map_err(sq("count"))?;
            stmt.query_map([&sync_id], |r| r.get::<_, String>(0))
                .and_then(|rows| rows.collect())
                .map_err(sq("count"))?
        };
        counts.list_every_type(type_ids.iter().map(String::as_str));
        let tables = table_names(&self.conn).map_err(sq("read schema"))?;
        let assets = if tables.iter().any(|t| t == schema::ASSETS) {
            count(schema::ASSETS).map_err(sq("count"))?
        } else {
            0
        };
        let cached = match &sync_id {
            Some(id)
                if has_column(&self.conn, schema::SYNC_RUNS, "stats")
                    .map_err(sq("read schema"))? =>
            {
                self.conn
                    .query_row(
                        "SELECT stats FROM v1_sync_runs WHERE sync_id = ?1",
                        [id],
                        |r| r.get::<_, Option<String>>(0),
                    )
                    .optional()
                    .map_err(sq("read stats"))?
                    .flatten()
                    // A cache in a shape we do not know is just not shown.
                    .and_then(|json| serde_json::from_str::<SyncStats>(&json).ok())
            }
            _ => None,
        };
        Ok(SnapshotStats {
            counts,
            assets,
            cached,
        })
    }

    /// Streams `(id, data, expansion)` of one table's rows in the selected sync.
    fn scan(
        &self,
        table: &'static str,
        resource_type: Option<&str>,
        order: &str,
        mut f: impl FnMut(i64, &[u8], Option<&[u8]>) -> Result<()>,
    ) -> Result<()> {
        let expansion = if table == schema::GRANTS && self.grants_have_expansion {
            "expansion"
        } else {
            "NULL"
        };
        let type_filter = if table == schema::RESOURCE_TYPES {
            "external_id"
        } else {
            "resource_type_id"
        };
        let sql = format!(
            "SELECT id, data, {expansion} FROM {table} \
             WHERE (?1 IS NULL OR sync_id = ?1) AND (?2 IS NULL OR {type_filter} = ?2) \
             ORDER BY {order}, id"
        );
        let sync_id = self.sync.as_ref().map(|s| s.sync_id.as_str());
        let sq = |ctx: &'static str| {
            let p = self.path.clone();
            move |e| Error::sqlite(&p, ctx, e)
        };
        let mut stmt = self.conn.prepare(&sql).map_err(sq("query"))?;
        let mut rows = stmt.query((sync_id, resource_type)).map_err(sq("query"))?;
        while let Some(row) = rows.next().map_err(sq("read row"))? {
            let id: i64 = row.get(0).map_err(sq("read row"))?;
            // `data` is a blob (text from a foreign writer reads the same); NULL reads as empty.
            let data = row
                .get_ref(1)
                .map_err(sq("read row"))?
                .as_bytes()
                .unwrap_or_default();
            let exp = row.get_ref(2).map_err(sq("read row"))?.as_bytes().ok();
            f(id, data, exp).map_err(|e| match e {
                Error::Decode { cause, .. } => Error::Decode {
                    path: self.path.clone(),
                    table,
                    row_id: id,
                    cause,
                },
                other => other,
            })?;
        }
        Ok(())
    }
}

/// Decodes a blob; the path/table/row are filled in by `scan`.
fn decode<M: Message + Default>(data: &[u8]) -> Result<M> {
    M::decode(data).map_err(|cause| Error::Decode {
        path: PathBuf::new(),
        table: "",
        row_id: 0,
        cause,
    })
}

fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?;
    stmt.exists((table, column))
}

/// Chooses the sync to show: the latest finished `full` sync, else the latest sync.
fn pick_sync(conn: &Connection) -> rusqlite::Result<Option<SyncRunInfo>> {
    // Oldest layouts have `is_partial` instead of `sync_type`; older than that, neither.
    let type_expr = if has_column(conn, schema::SYNC_RUNS, "sync_type")? {
        "sync_type"
    } else if has_column(conn, schema::SYNC_RUNS, "is_partial")? {
        "CASE WHEN is_partial THEN 'partial' ELSE 'full' END"
    } else {
        "'full'"
    };
    let sql = format!(
        "SELECT sync_id, {type_expr}, CAST(started_at AS TEXT), CAST(ended_at AS TEXT) \
         FROM v1_sync_runs ORDER BY id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let runs: Vec<SyncRunInfo> = stmt
        .query_map([], |r| {
            Ok(SyncRunInfo {
                sync_id: r.get(0)?,
                sync_type: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                started_at: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                ended_at: r.get(3)?,
                is_latest_finished_full: false,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    // Timestamps share one fixed-width layout, so text order is time order; ties go to the later row.
    let finished = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| r.ended_at.is_some() && r.sync_type == "full")
        .max_by(|(ia, a), (ib, b)| a.ended_at.cmp(&b.ended_at).then(ia.cmp(ib)))
        .map(|(_, r)| r.clone());
    if let Some(mut run) = finished {
        run.is_latest_finished_full = true;
        return Ok(Some(run));
    }
    Ok(runs
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.started_at.cmp(&b.started_at).then(ia.cmp(ib)))
        .map(|(_, r)| r.clone()))
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

/// The decoded database: a private temp file, removed (with any SQLite side
/// files) on drop.
struct TempDb {
    path: PathBuf,
}

impl TempDb {
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
