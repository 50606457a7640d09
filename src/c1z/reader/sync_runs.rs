//! What a foreign c1z's layout offers and which sync it shows: table and column
//! probes (older SDKs wrote fewer columns), and the sync run picked as the SDK's
//! readers pick it.

use rusqlite::Connection;

use super::SyncRunInfo;
use crate::c1z::schema;

pub(super) fn table_names(conn: &Connection) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

pub(super) fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?;
    stmt.exists((table, column))
}

/// Chooses the sync to show: the latest finished `full` sync, else the latest sync.
pub(super) fn pick_sync(conn: &Connection) -> rusqlite::Result<Option<SyncRunInfo>> {
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
