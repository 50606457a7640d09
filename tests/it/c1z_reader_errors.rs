//! Bad input gives a clear `Error`, never a panic, and leaves no temp files.

use std::path::Path;

use baton_haloitsm::c1z::{Error, ReadOptions, Snapshot, Store, ksuid};
use baton_haloitsm::pb;

fn opts(tmp: &Path) -> ReadOptions {
    ReadOptions {
        temp_dir: Some(tmp.to_path_buf()),
        ..Default::default()
    }
}

fn open(path: &Path, tmp: &Path) -> Error {
    let err = Snapshot::open_with(path, &opts(tmp))
        .err()
        .expect("must fail");
    assert_eq!(
        std::fs::read_dir(tmp).unwrap().count(),
        0,
        "temp files left for {err}"
    );
    err
}

fn valid_c1z(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("valid.c1z");
    let mut store = Store::create(&out).unwrap();
    store.start_sync(&ksuid::new()).unwrap();
    let grants: Vec<pb::Grant> = (0..2000)
        .map(|i| pb::Grant {
            id: format!("team:1:member:agent:{i}"),
            ..Default::default()
        })
        .collect();
    store.put_grants(&grants).unwrap();
    store.end_sync().unwrap();
    store.finish(&out).unwrap();
    out
}

fn c1z_of(db_bytes: &[u8]) -> Vec<u8> {
    let mut out = b"C1ZF\0".to_vec();
    out.extend(zstd::encode_all(db_bytes, 1).unwrap());
    out
}

#[test]
fn corrupt_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t = tmp.path();

    let empty = d.join("empty.c1z");
    std::fs::write(&empty, b"").unwrap();
    let err = open(&empty, t);
    assert!(
        matches!(err, Error::NotC1z { .. }) && err.to_string().contains("empty"),
        "{err}"
    );
    assert!(err.to_string().contains("empty.c1z"), "{err}");

    let magic = d.join("magic.c1z");
    std::fs::write(&magic, b"PK\x03\x04 not a c1z at all").unwrap();
    let err = open(&magic, t);
    assert!(err.to_string().contains("bad magic"), "{err}");

    let short = d.join("short.c1z");
    std::fs::write(&short, b"C1").unwrap();
    assert!(matches!(open(&short, t), Error::NotC1z { .. }));

    let v3 = d.join("v3.c1z");
    std::fs::write(&v3, b"C1Z3\0\0\0\0\x10rest").unwrap();
    let err = open(&v3, t);
    assert!(matches!(err, Error::UnsupportedV3 { .. }), "{err}");
    assert!(
        err.to_string().contains("v3/Pebble c1z is not supported"),
        "{err}"
    );

    let garbage = d.join("garbage.c1z");
    let mut bytes = b"C1ZF\0".to_vec();
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&garbage, &bytes).unwrap();
    assert!(matches!(open(&garbage, t), Error::Corrupt { .. }));

    // A zstd frame whose magic is right but whose body is noise.
    let noisy = d.join("noisy.c1z");
    let mut bytes = b"C1ZF\0\x28\xB5\x2F\xFD".to_vec();
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(40_503) >> 3) as u8));
    std::fs::write(&noisy, &bytes).unwrap();
    assert!(matches!(open(&noisy, t), Error::Corrupt { .. }));

    let valid = valid_c1z(d);
    let full = std::fs::read(&valid).unwrap();
    let truncated = d.join("truncated.c1z");
    std::fs::write(&truncated, &full[..full.len() / 2]).unwrap();
    let err = open(&truncated, t);
    assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("truncated.c1z"), "{err}");

    let not_sqlite = d.join("text.c1z");
    std::fs::write(
        &not_sqlite,
        c1z_of(&b"hello world, not a database ".repeat(10)),
    )
    .unwrap();
    let err = open(&not_sqlite, t);
    assert!(err.to_string().contains("not a SQLite database"), "{err}");

    // Too large for the configured cap: refused from the frame header.
    let err = Snapshot::open_with(
        &valid,
        &ReadOptions {
            max_decoded_bytes: 1000,
            temp_dir: Some(t.to_path_buf()),
        },
    )
    .err()
    .expect("must fail");
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert_eq!(std::fs::read_dir(t).unwrap().count(), 0);

    // And the valid one opens, with nothing left behind once dropped.
    {
        let snap = Snapshot::open_with(&valid, &opts(t)).unwrap();
        assert_eq!(snap.grants(None).unwrap().len(), 2000);
    }
    assert_eq!(std::fs::read_dir(t).unwrap().count(), 0);
}

#[test]
fn sqlite_without_the_c1z_tables() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let db = dir.path().join("plain.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE v1_resource_types (id integer primary key, external_id text, data blob, sync_id text, discovered_at datetime);
             CREATE TABLE v1_resources (id integer primary key, resource_type_id text, external_id text, data blob, sync_id text, discovered_at datetime);
             CREATE TABLE v1_entitlements (id integer primary key, resource_type_id text, external_id text, data blob, sync_id text, discovered_at datetime);
             CREATE TABLE v1_sync_runs (id integer primary key, sync_id text, started_at datetime, ended_at datetime, sync_token text);",
        )
        .unwrap();
    }
    let path = dir.path().join("nogrants.c1z");
    std::fs::write(&path, c1z_of(&std::fs::read(&db).unwrap())).unwrap();
    let err = open(&path, tmp.path());
    assert!(
        err.to_string()
            .contains("not a c1z: table v1_grants missing"),
        "{err}"
    );
}

#[test]
fn undecodable_blob_names_table_and_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bad.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        for t in baton_haloitsm::c1z::schema::TABLES {
            conn.execute_batch(t.create).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO v1_sync_runs (sync_id, started_at, ended_at, sync_token) VALUES ('s', '2026-01-01 00:00:00', '2026-01-01 00:00:01', '');
             INSERT INTO v1_resources (id, resource_type_id, external_id, data, sync_id, discovered_at) VALUES (7, 'agent', 'agent:1', x'0aff', 's', '');",
        )
        .unwrap();
    }
    let path = dir.path().join("bad.c1z");
    std::fs::write(&path, c1z_of(&std::fs::read(&db).unwrap())).unwrap();
    let snap = Snapshot::open(&path).unwrap();
    let err = snap.resources(None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                row_id: 7,
                table: "v1_resources",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("bad.c1z"), "{err}");
}
