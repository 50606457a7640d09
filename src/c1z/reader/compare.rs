//! The rows of one table that differ between two snapshots, for `diff`: the second
//! file's decoded database is attached to the first's connection and SQLite joins them
//! on `external_id` (unique within a sync, and indexed in every layout), so nothing is
//! loaded into memory and rows that are byte-for-byte equal are never decoded.

use super::Snapshot;
use crate::c1z::error::{Error, Result};

/// Which of the two files a row comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Old,
    New,
}

/// One row that differs: present in one file only, or in both with different bytes.
/// `(row id, data)` per side.
pub struct RowDiff<'a> {
    pub key: &'a str,
    pub old: Option<(i64, &'a [u8])>,
    pub new: Option<(i64, &'a [u8])>,
}

/// The schema name the other file is attached under.
const OTHER: &str = "diff_new";

impl Snapshot {
    /// Calls `f` for each row of `table` that `self` (old) and `new` do not share:
    /// removed rows, then added rows, and with `changed` the rows whose `data` differs.
    /// Rows come in text order of `external_id` within each kind.
    pub fn compare_rows(
        &self,
        new: &Snapshot,
        table: &'static str,
        changed: bool,
        mut f: impl FnMut(RowDiff<'_>) -> Result<()>,
    ) -> Result<()> {
        let sq = |ctx: &'static str| {
            let p = self.path.clone();
            move |e| Error::sqlite(&p, ctx, e)
        };
        let attach_path = new.db.path.to_string_lossy().into_owned();
        self.conn
            .execute(&format!("ATTACH DATABASE ?1 AS {OTHER}"), [attach_path])
            .map_err(sq("attach the other file"))?;
        let result = self.compare_attached(new, table, changed, &mut f);
        // Detach even after an error, so the connection stays usable.
        let detached = self
            .conn
            .execute_batch(&format!("DETACH DATABASE {OTHER}"))
            .map_err(sq("detach the other file"));
        result.and(detached)
    }

    fn compare_attached(
        &self,
        new: &Snapshot,
        table: &'static str,
        changed: bool,
        f: &mut dyn FnMut(RowDiff<'_>) -> Result<()>,
    ) -> Result<()> {
        let old_sync = self.sync.as_ref().map(|s| s.sync_id.as_str());
        let new_sync = new.sync.as_ref().map(|s| s.sync_id.as_str());
        let also_changed = if changed {
            " OR n.data IS NOT o.data"
        } else {
            ""
        };
        // Removed (and changed): every old row, its new twin looked up by the unique index.
        let removed = format!(
            "SELECT o.external_id, o.id, o.data, n.id, n.data FROM main.{table} o \
             LEFT JOIN {OTHER}.{table} n ON n.external_id = o.external_id \
               AND (?2 IS NULL OR n.sync_id = ?2) \
             WHERE (?1 IS NULL OR o.sync_id = ?1) AND (n.id IS NULL{also_changed}) \
             ORDER BY o.external_id"
        );
        let added = format!(
            "SELECT n.external_id, NULL, NULL, n.id, n.data FROM {OTHER}.{table} n \
             WHERE (?2 IS NULL OR n.sync_id = ?2) AND NOT EXISTS ( \
               SELECT 1 FROM main.{table} o WHERE o.external_id = n.external_id \
                 AND (?1 IS NULL OR o.sync_id = ?1)) \
             ORDER BY n.external_id"
        );
        let sq = |e| Error::sqlite(&self.path, "compare rows", e);
        for sql in [removed, added] {
            let mut stmt = self.conn.prepare(&sql).map_err(sq)?;
            let mut rows = stmt.query((old_sync, new_sync)).map_err(sq)?;
            while let Some(row) = rows.next().map_err(sq)? {
                let key = row.get_ref(0).map_err(sq)?.as_str().unwrap_or_default();
                let side = |id: usize, data: usize| -> Result<Option<(i64, &[u8])>> {
                    let id: Option<i64> = row.get(id).map_err(sq)?;
                    let data = row
                        .get_ref(data)
                        .map_err(sq)?
                        .as_bytes()
                        .unwrap_or_default();
                    Ok(id.map(|id| (id, data)))
                };
                f(RowDiff {
                    key,
                    old: side(1, 2)?,
                    new: side(3, 4)?,
                })?;
            }
        }
        Ok(())
    }
}
