//! Row counts of a sync, the shape of the SDK's `c1.reader.v2.SyncStats`.
//!
//! The writer caches this as JSON in `v1_sync_runs.stats` at `end_sync` (the
//! column may be NULL; the SDK recomputes it on demand). Keys are the proto
//! field names and counts are plain JSON numbers: Go's `protojson` accepts that
//! form as well as its own camelCase/quoted-int64 output, and so does
//! `encoding/json` with the generated struct tags [I: the SDK's exact cache
//! format was not available to check].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStats {
    pub resource_types: u64,
    pub resources: u64,
    pub entitlements: u64,
    pub grants: u64,
    /// Keyed by `resource_type_id`.
    pub resources_by_resource_type: BTreeMap<String, u64>,
    /// Keyed by the entitlement's resource type.
    pub entitlements_by_resource_type: BTreeMap<String, u64>,
    /// Keyed by the resource type of the grant's entitlement.
    pub grants_by_resource_type: BTreeMap<String, u64>,
}

impl SyncStats {
    /// Lists every resource type in the per-type maps, with 0 where a type has
    /// no rows, as the SDK's stats do (a consumer can tell "none" from "unknown").
    pub fn list_every_type<'a>(&mut self, type_ids: impl IntoIterator<Item = &'a str>) {
        for id in type_ids {
            for map in [
                &mut self.resources_by_resource_type,
                &mut self.entitlements_by_resource_type,
                &mut self.grants_by_resource_type,
            ] {
                map.entry(id.to_string()).or_insert(0);
            }
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising plain maps and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}
