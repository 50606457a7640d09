//! Row counts of the selected sync (`Snapshot::stats`), computed from the rows as
//! the SDK computes them, next to the writer's cached `stats` JSON when it has one.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;

use super::Snapshot;
use super::sync_runs::{has_column, table_names};
use crate::c1z::error::{Error, Result};
use crate::c1z::schema;
use crate::c1z::stats::SyncStats;

/// Counts for the selected sync, computed from the rows, plus the writer's
/// cached `stats` JSON when it has one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    pub counts: SyncStats,
    pub assets: u64,
    pub cached: Option<SyncStats>,
}

impl Snapshot {
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
}
