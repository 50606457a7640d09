//! The sync's config sections: `[sync]` (the schedule and how a sync runs) and
//! `[output]` (where snapshots are published in standalone mode).

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::halo::paging::ListOrder;
use crate::settings::default_state_dir;

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Time between scheduled full syncs (standalone mode).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub interval: Duration,
    /// Random delay added to each interval so that many daemons don't sync in lockstep.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub jitter: Duration,
    /// Run a sync as soon as the daemon is up.
    pub on_start: bool,
    /// Also sync Halo end users as the `user` resource type.
    pub include_end_users: bool,
    /// First retry after a failed sync; doubles per failure, capped at `interval`.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub retry_initial: Duration,
    /// Times the agent list may be paged when its count changes under the sync
    /// before the sync fails (nothing is published then).
    pub max_consistency_passes: u32,
    /// Row order of the agent (and end-user) listings: `id_desc` (newest first,
    /// `order=id&orderdesc=true`) or `none` (Halo's default order). Halo pages by offset
    /// and gives new rows higher ids, so newest first an insert can only shift rows
    /// that were read already: an agent is skipped only when more were deleted than
    /// inserted, which changes the count and makes the sync page again. Without it, an
    /// insert and a delete between two pages skip one agent unnoticed (C1 reads it as
    /// revoked access). Each page is checked to really descend; if Halo ignores the
    /// parameter, a warning is logged once per sync and
    /// `baton_haloitsm_sync_list_order_ignored_total` counts it. Set `none` only for a
    /// tenant that rejects the parameter.
    pub agent_order: ListOrder,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            interval: Duration::from_secs(3600),
            jitter: Duration::from_secs(60),
            on_start: true,
            include_end_users: false,
            retry_initial: Duration::from_secs(60),
            max_consistency_passes: 3,
            agent_order: ListOrder::IdDesc,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Where finished snapshots are published (standalone mode); default
    /// `$STATE_DIRECTORY/snapshots` under systemd, else `./var/snapshots`.
    pub dir: PathBuf,
    /// How many snapshots to keep.
    pub keep: usize,
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            dir: default_state_dir().join("snapshots"),
            keep: 5,
        }
    }
}
