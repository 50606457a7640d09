//! The writer: round trip through our reader, the exact schema, the sync run,
//! determinism, upsert semantics (including forced hash collisions), and that
//! failures leave the destination alone and no temp files behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use baton_haloitsm::c1z::{Error, Snapshot, Store, StoreOptions, SyncStats, ksuid, schema};
use baton_haloitsm::pb;
use prost::Message;

use crate::support::c1z::{agent_and_team_types, each_table, raw_db};

fn rid(t: &str, r: &str) -> Option<pb::ResourceId> {
    Some(pb::ResourceId {
        resource_type: t.into(),
        resource: r.into(),
        baton_resource: false,
    })
}

fn profile(pairs: &[(&str, &str)]) -> Option<prost_types::Struct> {
    let mut fields = BTreeMap::new();
    for (k, v) in pairs {
        fields.insert(
            k.to_string(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::StringValue(v.to_string())),
            },
        );
    }
    Some(prost_types::Struct { fields })
}

fn agent(id: &str, name: &str) -> pb::Resource {
    let trait_ = pb::UserTrait {
        emails: vec![pb::user_trait::Email {
            address: format!("{id}@example.com"),
            is_primary: true,
        }],
        status: Some(pb::user_trait::Status {
            status: pb::user_trait::status::Status::Enabled as i32,
            details: String::new(),
        }),
        profile: profile(&[("login", id), ("name", name)]),
        account_type: pb::user_trait::AccountType::Human as i32,
        login: id.into(),
        ..Default::default()
    };
    pb::Resource {
        id: rid("agent", id),
        display_name: name.into(),
        annotations: vec![pb::pack_any(&trait_)],
        profile: profile(&[("name", name), ("login", id)]),
        status: Some(pb::Status {
            status: pb::status::ResourceStatus::Enabled as i32,
            details: String::new(),
        }),
        ..Default::default()
    }
}

fn team(id: &str) -> pb::Resource {
    pb::Resource {
        id: rid("team", id),
        display_name: format!("Team {id}"),
        parent_resource_id: rid("org", "1"),
        annotations: vec![pb::pack_any(&pb::GroupTrait::default())],
        ..Default::default()
    }
}

fn member_entitlement(team_id: &str) -> pb::Entitlement {
    pb::Entitlement {
        resource: Some(team(team_id)),
        id: format!("team:{team_id}:member"),
        display_name: "member".into(),
        description: format!("Member of team {team_id}"),
        grantable_to: vec![agent_and_team_types()[0].clone()],
        purpose: pb::entitlement::PurposeValue::Assignment as i32,
        slug: "member".into(),
        ..Default::default()
    }
}

fn grant(team_id: &str, agent_id: &str) -> pb::Grant {
    let ent = member_entitlement(team_id);
    pb::Grant {
        id: format!("{}:agent:{agent_id}", ent.id),
        entitlement: Some(ent),
        principal: Some(pb::Resource {
            id: rid("agent", agent_id),
            ..Default::default()
        }),
        sources: Some(pb::GrantSources {
            sources: [
                (
                    "z".to_string(),
                    pb::grant_sources::GrantSource { is_direct: true },
                ),
                (
                    "a".to_string(),
                    pb::grant_sources::GrantSource { is_direct: false },
                ),
            ]
            .into_iter()
            .collect(),
        }),
        ..Default::default()
    }
}

struct Fixture {
    types: Vec<pb::ResourceType>,
    resources: Vec<pb::Resource>,
    entitlements: Vec<pb::Entitlement>,
    grants: Vec<pb::Grant>,
}

fn fixture() -> Fixture {
    Fixture {
        types: agent_and_team_types(),
        resources: vec![agent("1", "Ann"), agent("2", "Bob"), team("10"), team("11")],
        entitlements: vec![member_entitlement("10"), member_entitlement("11")],
        grants: vec![grant("10", "1"), grant("10", "2"), grant("11", "2")],
    }
}

fn write(dir: &Path, name: &str, f: &Fixture, sync_id: &str, opts: StoreOptions) -> PathBuf {
    let out = dir.join(name);
    let mut store = Store::create_with(&out, opts).unwrap();
    store.start_sync(sync_id).unwrap();
    store.put_resource_types(&f.types).unwrap();
    store.put_resources(&f.resources).unwrap();
    store.put_entitlements(&f.entitlements).unwrap();
    store.put_grants(&f.grants).unwrap();
    store.end_sync().unwrap();
    let info = store.finish(&out).unwrap();
    assert_eq!(info.path, out);
    assert_eq!(info.bytes, std::fs::metadata(&out).unwrap().len());
    out
}

fn sorted<T: Clone>(v: &[T], key: impl Fn(&T) -> String) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_by_key(|x| key(x));
    v
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

#[test]
fn round_trip_through_reader() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let sync_id = ksuid::new();
    let out = write(
        dir.path(),
        "snap.c1z",
        &f,
        &sync_id,
        StoreOptions::default(),
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "temp files left: {:?}",
        leftovers(dir.path())
    );

    let snap = Snapshot::open(&out).unwrap();
    let sync = snap.sync().unwrap();
    assert_eq!(sync.sync_id, sync_id);
    assert!(sync.is_latest_finished_full);

    assert_eq!(
        snap.resource_types().unwrap(),
        sorted(&f.types, |t| t.id.clone())
    );
    let key = |r: &pb::Resource| {
        let id = r.id.as_ref().unwrap();
        format!("{}:{}", id.resource_type, id.resource)
    };
    assert_eq!(snap.resources(None).unwrap(), sorted(&f.resources, key));
    assert_eq!(
        snap.resources(Some("team")).unwrap(),
        vec![team("10"), team("11")]
    );
    assert_eq!(
        snap.entitlements(None).unwrap(),
        sorted(&f.entitlements, |e| e.id.clone())
    );
    assert_eq!(
        snap.grants(None).unwrap(),
        sorted(&f.grants, |g| g.id.clone())
    );
    assert_eq!(snap.grants(Some("agent")).unwrap(), vec![]);

    let stats = snap.stats().unwrap();
    let expected = SyncStats {
        resource_types: 2,
        resources: 4,
        entitlements: 2,
        grants: 3,
        resources_by_resource_type: [("agent".into(), 2), ("team".into(), 2)]
            .into_iter()
            .collect(),
        // Every resource type is listed, 0 where empty (as the SDK's stats).
        entitlements_by_resource_type: [("agent".into(), 0), ("team".into(), 2)]
            .into_iter()
            .collect(),
        grants_by_resource_type: [("agent".into(), 0), ("team".into(), 3)]
            .into_iter()
            .collect(),
    };
    assert_eq!(stats.counts, expected);
    assert_eq!(stats.cached, Some(expected));
}

/// sync_id, started_at, ended_at, sync_token, sync_type, grants_backfilled, stats
type SyncRunRow = (
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    Option<String>,
);

#[test]
fn schema_and_sync_run_match_the_sdk() {
    let dir = tempfile::tempdir().unwrap();
    let sync_id = ksuid::new();
    let out = write(
        dir.path(),
        "snap.c1z",
        &fixture(),
        &sync_id,
        StoreOptions::default(),
    );
    let (_db, conn) = raw_db(&out);

    let mut stmt = conn
        .prepare("SELECT type, name, sql FROM sqlite_master ORDER BY rowid")
        .unwrap();
    let master: Vec<(String, String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let expected: Vec<(String, String, String)> = schema::expected_master()
        .into_iter()
        .map(|(t, n, s)| (t.to_string(), n.to_string(), s.to_string()))
        .collect();
    // Same DDL text for every object; tables in the SDK's order (bulk-table
    // indexes are built after the load, so they come later in sqlite_master).
    assert_eq!(
        sorted(&master, |m| m.1.clone()),
        sorted(&expected, |m| m.1.clone())
    );
    let tables: Vec<&str> = master
        .iter()
        .filter(|m| m.0 == "table")
        .map(|m| m.1.as_str())
        .collect();
    let sdk_tables: Vec<&str> = schema::TABLES.iter().map(|t| t.name).collect();
    assert_eq!(tables, sdk_tables);

    let runs: Vec<SyncRunRow> = conn
        .prepare("SELECT sync_id, started_at, ended_at, sync_token, sync_type, grants_backfilled, stats FROM v1_sync_runs")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(runs.len(), 1);
    let (id, started, ended, token, ty, backfilled, stats) = &runs[0];
    assert_eq!(id, &sync_id);
    assert_eq!(token, "");
    assert_eq!(ty, "full");
    assert_eq!(*backfilled, 1);
    let ended = ended.as_ref().expect("ended_at set");
    assert!(ended >= started);
    // "2006-01-02 15:04:05.999999999"
    assert_eq!(&ended[4..5], "-");
    assert_eq!(&ended[10..11], " ");
    let stats: SyncStats = serde_json::from_str(stats.as_ref().unwrap()).unwrap();
    assert_eq!(stats.grants, 3);
    assert_eq!(stats.grants_by_resource_type.get("agent"), Some(&0));
    // A finished full sync says it supports diffs, as the SDK's syncer does.
    let supports_diff: i64 = conn
        .query_row("SELECT supports_diff FROM v1_sync_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(supports_diff, 1);

    // Derived columns per the SDK's row conventions; every row in the sync.
    let r: (String, String, Option<String>, Option<String>) = conn
        .query_row(
            "SELECT resource_type_id, external_id, parent_resource_type_id, parent_resource_id FROM v1_resources WHERE external_id = 'team:10'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        r,
        (
            "team".into(),
            "team:10".into(),
            Some("org".into()),
            Some("1".into())
        )
    );
    let parentless: Option<String> = conn
        .query_row(
            "SELECT parent_resource_id FROM v1_resources WHERE external_id = 'agent:1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(parentless, None);
    let g: (String, String, String, String, String, Option<Vec<u8>>, i64) = conn
        .query_row(
            "SELECT resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id, expansion, needs_expansion FROM v1_grants WHERE external_id = 'team:10:member:agent:2'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .unwrap();
    assert_eq!(
        g,
        (
            "team".into(),
            "10".into(),
            "team:10:member".into(),
            "agent".into(),
            "2".into(),
            None,
            0
        )
    );
    for table in [
        "v1_resource_types",
        "v1_resources",
        "v1_entitlements",
        "v1_grants",
    ] {
        let other: i64 = conn
            .query_row(
                &format!("SELECT count(*) FROM {table} WHERE sync_id != ?1"),
                [&sync_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(other, 0, "{table}");
    }
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
}

#[test]
fn same_rows_give_identical_blobs_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let f = fixture();
    let a = write(
        dir.path(),
        "a.c1z",
        &f,
        "2SameSyncIdForBothFiles00000",
        StoreOptions::default(),
    );
    // Same content, maps filled in the opposite order.
    let mut f2 = fixture();
    for r in &mut f2.resources {
        if let Some(p) = &mut r.profile {
            let rev: Vec<_> = std::mem::take(&mut p.fields).into_iter().rev().collect();
            p.fields.extend(rev);
        }
    }
    let b = write(
        dir.path(),
        "b.c1z",
        &f2,
        "2SameSyncIdForBothFiles00000",
        StoreOptions::default(),
    );
    let dump = |p: &Path| {
        let (_db, conn) = raw_db(p);
        each_table(
            &conn,
            "SELECT id, external_id, data FROM {table} ORDER BY id",
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            },
        )
    };
    assert_eq!(dump(&a), dump(&b));
    // And the blob is exactly prost's encoding of the message.
    let first = &dump(&a)["v1_grants"][0];
    assert_eq!(first.2, f.grants[0].encode_to_vec());
}

#[test]
fn duplicate_external_id_keeps_the_last_write() {
    for (label, opts) in [
        ("pending", StoreOptions::default()),
        // Flush after every row: the repeat lands on a row already in SQLite.
        (
            "flushed",
            StoreOptions {
                flush_rows: 1,
                ..Default::default()
            },
        ),
        // Every id hashes alike: all hits go through the collision paths.
        (
            "collisions",
            StoreOptions {
                flush_rows: 2,
                constant_hash: true,
                ..Default::default()
            },
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("snap.c1z");
        let mut store = Store::create_with(&out, opts).unwrap();
        store.start_sync(&ksuid::new()).unwrap();
        let mut v2 = agent("1", "Ann v2");
        v2.description = "second write".into();
        let mut v3 = agent("2", "Bob v3");
        v3.description = "third".into();
        store
            .put_resources(&[agent("1", "Ann v1"), agent("2", "Bob")])
            .unwrap();
        store.put_resources(&[team("10"), v2.clone()]).unwrap();
        store
            .put_resources(&[team("11"), agent("3", "Cy")])
            .unwrap();
        store.put_resources(&[v3.clone(), team("11")]).unwrap();
        let stats = store.end_sync().unwrap();
        assert_eq!(stats.resources, 5, "{label}");
        assert_eq!(
            stats.resources_by_resource_type,
            [("agent".to_string(), 3), ("team".to_string(), 2)]
                .into_iter()
                .collect(),
            "{label}"
        );
        store.finish(&out).unwrap();

        let snap = Snapshot::open(&out).unwrap();
        let got = snap.resources(None).unwrap();
        assert_eq!(
            got,
            vec![
                v2.clone(),
                v3.clone(),
                agent("3", "Cy"),
                team("10"),
                team("11")
            ],
            "{label}"
        );
        assert_eq!(snap.stats().unwrap().counts.resources, 5, "{label}");
        // First write's position is kept (SQLite's upsert updates in place).
        let (_db, conn) = raw_db(&out);
        let order: Vec<String> = conn
            .prepare("SELECT external_id FROM v1_resources ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        if label != "collisions" {
            assert_eq!(
                order,
                ["agent:1", "agent:2", "team:10", "team:11", "agent:3"],
                "{label}"
            );
        } else {
            assert_eq!(order.len(), 5);
        }
        let unique: i64 = conn
            .query_row(
                "SELECT count(DISTINCT external_id) FROM v1_resources",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(unique, 5, "{label}");
    }
}

#[test]
fn many_rows_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.c1z");
    let opts = StoreOptions {
        flush_rows: 100,
        rows_per_insert: 7,
        ..Default::default()
    };
    let mut store = Store::create_with(&out, opts).unwrap();
    store.start_sync(&ksuid::new()).unwrap();
    for round in 0..3 {
        let grants: Vec<pb::Grant> = (0..500)
            .map(|i| grant(&format!("{}", i % 13), &format!("{i}")))
            .collect();
        store.put_grants(&grants).unwrap();
        let _ = round;
    }
    let stats = store.end_sync().unwrap();
    assert_eq!(stats.grants, 500);
    let info = store.finish(&out).unwrap();
    assert_eq!(info.counts.grants, 500);
    let snap = Snapshot::open(&out).unwrap();
    assert_eq!(snap.grants(None).unwrap().len(), 500);
    assert_eq!(snap.stats().unwrap().counts.grants, 500);
}

#[test]
fn abort_and_drop_leave_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.c1z");
    std::fs::write(&out, b"previous snapshot").unwrap();
    let f = fixture();

    let mut store = Store::create(&out).unwrap();
    store.start_sync(&ksuid::new()).unwrap();
    store.put_grants(&f.grants).unwrap();
    store.abort();
    assert!(leftovers(dir.path()).is_empty());

    {
        let mut store = Store::create(&out).unwrap();
        store.start_sync(&ksuid::new()).unwrap();
        store.put_resources(&f.resources).unwrap();
        store.end_sync().unwrap();
        // dropped without finish
    }
    assert!(leftovers(dir.path()).is_empty());
    assert_eq!(std::fs::read(&out).unwrap(), b"previous snapshot");
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("snap.c1z");
    let mut store = Store::create(&out).unwrap();
    assert!(matches!(
        store.put_grants(&[grant("1", "1")]),
        Err(Error::State(_))
    ));
    store.start_sync(&ksuid::new()).unwrap();
    assert!(matches!(store.start_sync("again"), Err(Error::State(_))));
    let err = store.put_grants(&[pb::Grant::default()]).unwrap_err();
    assert!(matches!(err, Error::InvalidRow { .. }), "{err}");
    assert!(matches!(store.finish(&out), Err(Error::State(_))));
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn unwritable_destination_names_the_path() {
    let dir = tempfile::tempdir().unwrap();

    // The destination's parent is a file: nothing can be created there.
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, b"x").unwrap();
    let err = Store::create(&blocker.join("snap.c1z"))
        .err()
        .expect("must fail");
    assert!(matches!(err, Error::Io { .. }), "{err}");
    assert!(
        err.to_string().contains(&blocker.display().to_string()),
        "{err}"
    );

    // A read-only directory holding the previous snapshot.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let ro = dir.path().join("ro");
        std::fs::create_dir(&ro).unwrap();
        let out = ro.join("snap.c1z");
        std::fs::write(&out, b"previous snapshot").unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = ro.join("probe");
        if std::fs::write(&probe, b"").is_ok() {
            let _ = std::fs::remove_file(&probe);
            eprintln!(
                "skipping read-only dir case: running with privileges that ignore permissions"
            );
        } else {
            let err = Store::create(&out).err().expect("must fail");
            assert!(err.to_string().contains(&ro.display().to_string()), "{err}");
            assert_eq!(std::fs::read(&out).unwrap(), b"previous snapshot");
            assert!(leftovers(&ro).is_empty());
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    // Failing at publish time: the destination is occupied by a directory.
    let out = dir.path().join("occupied.c1z");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep"), b"keep").unwrap();
    let mut store = Store::create(&out).unwrap();
    store.start_sync(&ksuid::new()).unwrap();
    store.put_grants(&fixture().grants).unwrap();
    store.end_sync().unwrap();
    let err = store.finish(&out).expect_err("must fail");
    assert!(
        err.to_string().contains(&out.display().to_string()),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("keep")).unwrap(), b"keep");
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}
