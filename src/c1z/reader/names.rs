//! Display names by id, for output that shows a name beside each id (`inspect grants`,
//! `diff`). One indexed lookup per id (`external_id` is unique within a sync), cached:
//! a principal or an entitlement usually appears in many grants.

use std::collections::HashMap;

use prost::Message;

use super::Snapshot;
use crate::c1z::error::{Error, Result};
use crate::c1z::schema;
use crate::pb;

/// Names looked up in one snapshot, remembered (misses too).
#[derive(Default)]
pub struct NameCache {
    resources: HashMap<String, Option<String>>,
    entitlements: HashMap<String, Option<String>>,
}

impl NameCache {
    /// The display name of resource `rtype:rid` in `snap`, if it has one.
    pub fn resource(&mut self, snap: &Snapshot, rtype: &str, rid: &str) -> Result<Option<String>> {
        let key = format!("{rtype}:{rid}");
        if let Some(hit) = self.resources.get(&key) {
            return Ok(hit.clone());
        }
        let name = snap
            .lookup::<pb::Resource>(schema::RESOURCES, &key)?
            .map(|r| r.display_name)
            .filter(|n| !n.is_empty());
        self.resources.insert(key, name.clone());
        Ok(name)
    }

    /// The display name of entitlement `id` in `snap`, if it has one.
    pub fn entitlement(&mut self, snap: &Snapshot, id: &str) -> Result<Option<String>> {
        if let Some(hit) = self.entitlements.get(id) {
            return Ok(hit.clone());
        }
        let name = snap
            .lookup::<pb::Entitlement>(schema::ENTITLEMENTS, id)?
            .map(|e| e.display_name)
            .filter(|n| !n.is_empty());
        self.entitlements.insert(id.to_string(), name.clone());
        Ok(name)
    }
}

impl Snapshot {
    /// The row of `table` with `external_id` in the selected sync, decoded.
    fn lookup<M: Message + Default>(
        &self,
        table: &'static str,
        external_id: &str,
    ) -> Result<Option<M>> {
        let sql = format!(
            "SELECT id, data FROM {table} WHERE external_id = ?1 AND (?2 IS NULL OR sync_id = ?2) \
             ORDER BY id DESC LIMIT 1"
        );
        let sync_id = self.sync.as_ref().map(|s| s.sync_id.as_str());
        let sq = |e| Error::sqlite(&self.path, "look up a name", e);
        let mut stmt = self.conn.prepare_cached(&sql).map_err(sq)?;
        let mut rows = stmt.query((external_id, sync_id)).map_err(sq)?;
        let Some(row) = rows.next().map_err(sq)? else {
            return Ok(None);
        };
        let row_id: i64 = row.get(0).map_err(sq)?;
        let data = row.get_ref(1).map_err(sq)?.as_bytes().unwrap_or_default();
        M::decode(data).map(Some).map_err(|cause| Error::Decode {
            path: self.path.clone(),
            table,
            row_id,
            cause,
        })
    }
}
