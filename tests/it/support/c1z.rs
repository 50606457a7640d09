//! A c1z read with plain zstd + SQLite, not with our reader: what the file really holds.

use std::collections::BTreeMap;
use std::path::Path;

use baton_haloitsm::pb;

/// The four tables that hold a snapshot's rows.
pub const TABLES: [&str; 4] = [
    "v1_resource_types",
    "v1_resources",
    "v1_entitlements",
    "v1_grants",
];

/// The SQLite database inside a c1z (magic, then one zstd frame), decoded into a temp
/// file that lives as long as the returned handle.
pub fn raw_db(c1z: &Path) -> (tempfile::NamedTempFile, rusqlite::Connection) {
    let raw = std::fs::read(c1z).expect("read c1z");
    assert_eq!(&raw[..5], b"C1ZF\0", "{} is not a c1z", c1z.display());
    assert_eq!(&raw[5..9], &[0x28, 0xB5, 0x2F, 0xFD], "a zstd frame");
    let db = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        db.path(),
        zstd::decode_all(&raw[5..]).expect("one zstd frame"),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    (db, conn)
}

/// Every row of each of the `TABLES`, as `select` reads it (`{table}` stands for the
/// table's name) and `row` converts it.
pub fn each_table<T>(
    conn: &rusqlite::Connection,
    select: &str,
    row: impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> BTreeMap<String, Vec<T>> {
    TABLES
        .iter()
        .map(|table| {
            let mut stmt = conn.prepare(&select.replace("{table}", table)).unwrap();
            let rows = stmt
                .query_map([], &row)
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (table.to_string(), rows)
        })
        .collect()
}

/// (external_id, data) of every row of every table, ordered by external id.
pub fn rows(c1z: &Path) -> BTreeMap<String, Vec<(String, Vec<u8>)>> {
    let (_db, conn) = raw_db(c1z);
    each_table(
        &conn,
        "SELECT external_id, data FROM {table} ORDER BY external_id",
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// The agent (a user, no entitlements) and team (a group) resource types, for files
/// written by hand.
pub fn agent_and_team_types() -> Vec<pb::ResourceType> {
    vec![
        pb::ResourceType {
            id: "agent".into(),
            display_name: "Agent".into(),
            traits: vec![pb::resource_type::Trait::User as i32],
            annotations: vec![pb::pack_any(&pb::SkipEntitlementsAndGrants {})],
            ..Default::default()
        },
        pb::ResourceType {
            id: "team".into(),
            display_name: "Team".into(),
            traits: vec![pb::resource_type::Trait::Group as i32],
            ..Default::default()
        },
    ]
}

/// A c1z's `PRAGMA integrity_check` answer ("ok" when sound) and its resources counted by
/// type (`agent`, `team`, ...).
pub fn integrity_and_counts(c1z: &Path) -> (String, BTreeMap<String, i64>) {
    let (_db, conn) = raw_db(c1z);
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    let mut stmt = conn
        .prepare("SELECT resource_type_id, count(*) FROM v1_resources GROUP BY resource_type_id")
        .unwrap();
    let counts = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    (check, counts)
}
