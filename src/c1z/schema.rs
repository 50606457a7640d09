//! The c1z v1 SQLite schema, text for text as the baton SDK creates it.
//!
//! SQLite keeps each `CREATE` statement verbatim in `sqlite_master` (only the
//! leading `create table if not exists` is normalised to `CREATE TABLE`), so the
//! strings below — including the SDK's mixed tab/space indentation and the
//! comments inside `v1_grants` — are what a reader of our file sees. They were
//! checked against the SDK-written fixture `sync-in-progress.c1z`. Two pieces
//! are newer than that fixture (docs/reference/baton-compat.md §1.3): the last four
//! `v1_sync_runs` columns (written here in the same layout as the columns
//! before them) and `idx_grants_entitlement_sync_grant_v1`.
//!
//! Quirk kept on purpose: the SDK's format arguments swap two index names, so
//! `idx_resources_external_sync_v1` indexes the parent columns and
//! `idx_resources_parent_resource_id_v1` is the unique (external_id, sync_id) one.

/// One table: its `CREATE TABLE` text and its indexes, in creation order.
pub struct TableDef {
    pub name: &'static str,
    pub create: &'static str,
    pub indexes: &'static [IndexDef],
    /// Bulk tables get their indexes after the data is loaded (see `store.rs`);
    /// the small ones get them at once.
    pub bulk: bool,
}

pub struct IndexDef {
    pub name: &'static str,
    pub create: &'static str,
}

pub const RESOURCE_TYPES: &str = "v1_resource_types";
pub const RESOURCES: &str = "v1_resources";
pub const ENTITLEMENTS: &str = "v1_entitlements";
pub const SYNC_RUNS: &str = "v1_sync_runs";
pub const GRANTS: &str = "v1_grants";
pub const ASSETS: &str = "v1_assets";
pub const CONNECTOR_SESSIONS: &str = "v1_connector_sessions";

/// All tables in the SDK's creation order (`allTableDescriptors`).
pub const TABLES: &[TableDef] = &[
    TableDef {
        name: RESOURCE_TYPES,
        create: "CREATE TABLE v1_resource_types (\n    id integer primary key,\n    external_id text not null,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
        indexes: &[IndexDef {
            name: "idx_resource_types_external_sync_v1",
            create: "CREATE UNIQUE INDEX idx_resource_types_external_sync_v1 on v1_resource_types (external_id, sync_id)",
        }],
        bulk: true,
    },
    TableDef {
        name: RESOURCES,
        create: "CREATE TABLE v1_resources (\n    id integer primary key,\n    resource_type_id text not null,\n    external_id text not null,\n\tparent_resource_type_id text,\n\tparent_resource_id text,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
        indexes: &[
            IndexDef {
                name: "idx_resources_resource_type_id_v1",
                create: "CREATE INDEX idx_resources_resource_type_id_v1 on v1_resources (resource_type_id)",
            },
            IndexDef {
                name: "idx_resources_external_sync_v1",
                create: "CREATE INDEX idx_resources_external_sync_v1 on v1_resources (parent_resource_type_id, parent_resource_id)",
            },
            IndexDef {
                name: "idx_resources_parent_resource_id_v1",
                create: "CREATE UNIQUE INDEX idx_resources_parent_resource_id_v1 on v1_resources (external_id, sync_id)",
            },
        ],
        bulk: true,
    },
    TableDef {
        name: ENTITLEMENTS,
        create: "CREATE TABLE v1_entitlements (\n    id integer primary key,\n    resource_type_id text not null,\n    resource_id text not null,\n    external_id text not null,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
        indexes: &[
            IndexDef {
                name: "idx_entitlements_resource_id_v1",
                create: "CREATE INDEX idx_entitlements_resource_id_v1 on v1_entitlements (resource_type_id, resource_id)",
            },
            IndexDef {
                name: "idx_entitlements_external_sync_v1",
                create: "CREATE UNIQUE INDEX idx_entitlements_external_sync_v1 on v1_entitlements (external_id, sync_id)",
            },
        ],
        bulk: true,
    },
    TableDef {
        name: SYNC_RUNS,
        create: "CREATE TABLE v1_sync_runs (\n    id integer primary key,\n    sync_id text not null,\n    started_at datetime not null,\n    ended_at datetime,\n    sync_token text not null,\n    sync_type text not null default 'full',\n    parent_sync_id text not null default '',\n    linked_sync_id text not null default '',\n    supports_diff integer not null default 0,\n    grants_backfilled integer not null default 0,\n    stats text,\n    ingest_invariant_generation text not null default '',\n    ingest_invariant_coverage text not null default '',\n    ingest_invariant_mode text not null default ''\n)",
        indexes: &[IndexDef {
            name: "idx_sync_runs_sync_id_v1",
            create: "CREATE UNIQUE INDEX idx_sync_runs_sync_id_v1 on v1_sync_runs (sync_id)",
        }],
        bulk: false,
    },
    TableDef {
        name: GRANTS,
        create: "CREATE TABLE v1_grants (\n    id integer primary key,\n\tresource_type_id text not null,\n    resource_id text not null,\n    entitlement_id text not null,\n    principal_resource_type_id text not null,\n    principal_resource_id text not null,\n    external_id text not null,\n    expansion blob,                             -- Serialized GrantExpandable proto; NULL if grant is not expandable.\n    needs_expansion integer not null default 0, -- 1 if grant should be processed during expansion.\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
        indexes: &[
            IndexDef {
                name: "idx_grants_resource_type_id_resource_id_v1",
                create: "CREATE INDEX idx_grants_resource_type_id_resource_id_v1 on v1_grants (resource_type_id, resource_id)",
            },
            IndexDef {
                name: "idx_grants_principal_id_v1",
                create: "CREATE INDEX idx_grants_principal_id_v1 on v1_grants (principal_resource_type_id, principal_resource_id)",
            },
            IndexDef {
                name: "idx_grants_entitlement_id_principal_id_v1",
                create: "CREATE INDEX idx_grants_entitlement_id_principal_id_v1 on v1_grants (entitlement_id, principal_resource_type_id, principal_resource_id)",
            },
            IndexDef {
                name: "idx_grants_external_sync_v1",
                create: "CREATE UNIQUE INDEX idx_grants_external_sync_v1 on v1_grants (external_id, sync_id)",
            },
            IndexDef {
                name: "idx_grants_entitlement_sync_grant_v1",
                create: "CREATE INDEX idx_grants_entitlement_sync_grant_v1 on v1_grants (entitlement_id, sync_id, id)",
            },
            // Created by an SDK migration, hence after the table's own indexes.
            IndexDef {
                name: "idx_grants_sync_expansion_v1",
                create: "CREATE INDEX idx_grants_sync_expansion_v1 on v1_grants (sync_id) where expansion is not null",
            },
            IndexDef {
                name: "idx_grants_sync_needs_expansion_v1",
                create: "CREATE INDEX idx_grants_sync_needs_expansion_v1 on v1_grants (sync_id) where needs_expansion = 1",
            },
        ],
        bulk: true,
    },
    TableDef {
        name: ASSETS,
        create: "CREATE TABLE v1_assets (\n    id integer primary key,\n    external_id text not null,\n    content_type text not null,\n    data blob not null,\n    sync_id text not null,\n    discovered_at datetime not null\n)",
        indexes: &[IndexDef {
            name: "idx_assets_external_sync_v1",
            create: "CREATE UNIQUE INDEX idx_assets_external_sync_v1 on v1_assets (external_id, sync_id)",
        }],
        bulk: false,
    },
    TableDef {
        name: CONNECTOR_SESSIONS,
        create: "CREATE TABLE v1_connector_sessions (\n    id integer primary key,\n\tsync_id text NOT NULL,\n\tkey TEXT NOT NULL,\n\tvalue BLOB NOT NULL\n)",
        indexes: &[IndexDef {
            name: "idx_session_store_sync_key_v1",
            create: "CREATE UNIQUE INDEX idx_session_store_sync_key_v1 on v1_connector_sessions (sync_id, key)",
        }],
        bulk: false,
    },
];

/// Tables a file must have for us to read it as a c1z.
pub const REQUIRED_TABLES: &[&str] = &[RESOURCE_TYPES, RESOURCES, ENTITLEMENTS, SYNC_RUNS, GRANTS];

/// Every `(type, name, sql)` our writer leaves in `sqlite_master`, in SDK order.
pub fn expected_master() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut out = Vec::new();
    for t in TABLES {
        out.push(("table", t.name, t.create));
        for i in t.indexes {
            out.push(("index", i.name, i.create));
        }
    }
    out
}
