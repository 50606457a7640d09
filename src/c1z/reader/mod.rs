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
//!
//! Files: `decoded.rs` (the payload into a private temp database), `sync_runs.rs`
//! (layout probes and the sync picked), `row_counts.rs` (`Snapshot::stats`),
//! `names.rs` (display names by id), `compare.rs` (rows that differ between two files).

mod compare;
mod decoded;
mod names;
mod row_counts;
mod sync_runs;

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use prost::{Message, Name};
use rusqlite::{Connection, OpenFlags};

use self::decoded::TempDb;
use self::sync_runs::{has_column, pick_sync, table_names};
use super::envelope::{self, Format};
use super::error::{Error, Result};
use super::natural;
use super::schema::{self, REQUIRED_TABLES};
use crate::pb;

pub use self::compare::{RowDiff, Side};
pub use self::names::NameCache;
pub use self::row_counts::SnapshotStats;

/// The SDK's default cap on the decoded database (`BATON_DECODER_MAX_DECODED_SIZE_MB`).
pub const DEFAULT_MAX_DECODED_BYTES: u64 = 10 << 30;

#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Refuse payloads that decode to more than this.
    pub max_decoded_bytes: u64,
    /// Where the decoded database goes (default: `$TMPDIR`, which the container and
    /// the Kubernetes manifests point at the state volume: the root file system is read-only).
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

/// An opened c1z. The decoded database is deleted when this is dropped.
pub struct Snapshot {
    conn: Connection,
    path: PathBuf,
    sync: Option<SyncRunInfo>,
    grants_have_expansion: bool,
    /// Rows in natural id order (`agent:2` before `agent:10`) instead of text order.
    natural_order: bool,
    db: TempDb,
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

        let db = TempDb::decode(&mut input, path, opts)?;

        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&db.path, flags).map_err(|e| Error::NotC1z {
            path: path.to_path_buf(),
            reason: format!("payload is not a readable SQLite database: {e}"),
        })?;
        conn.create_collation(natural::COLLATION, natural::natural_cmp)
            .map_err(|e| Error::sqlite(path, "register collation", e))?;

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
            natural_order: false,
            db,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Scans return rows in natural id order (`agent:2` before `agent:10`). That is a
    /// sort rather than an index walk; SQLite spills it to temp files (under `$TMPDIR`)
    /// when it outgrows memory, so scans still stream.
    pub fn set_natural_order(&mut self, on: bool) {
        self.natural_order = on;
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
        let collate = if self.natural_order {
            format!(" COLLATE {}", natural::COLLATION)
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT id, data, {expansion} FROM {table} \
             WHERE (?1 IS NULL OR sync_id = ?1) AND (?2 IS NULL OR {type_filter} = ?2) \
             ORDER BY {order}{collate}, id"
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
