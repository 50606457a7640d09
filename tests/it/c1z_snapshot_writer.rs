//! The SnapshotWriter actor: a full snapshot through messages, clean failure,
//! and backpressure — with a slow writer, a producer's `send().await` does not
//! return until its batch is written.

use std::time::{Duration, Instant};

use actix::Actor;
use baton_haloitsm::c1z::{
    AbortSnapshot, BeginSnapshot, Error, FinishSnapshot, Rows, Snapshot, SnapshotWriter,
    StoreOptions, WriteRows, ksuid,
};
use baton_haloitsm::pb;

use crate::support::metrics::{local, ran_in_own_process, value};

fn grants(team: u32, n: u32) -> Vec<pb::Grant> {
    (0..n)
        .map(|i| pb::Grant {
            id: format!("team:{team}:member:agent:{i}"),
            entitlement: Some(pb::Entitlement {
                id: format!("team:{team}:member"),
                resource: Some(pb::Resource {
                    id: Some(pb::ResourceId {
                        resource_type: "team".into(),
                        resource: team.to_string(),
                        baton_resource: false,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            principal: Some(pb::Resource {
                id: Some(pb::ResourceId {
                    resource_type: "agent".into(),
                    resource: i.to_string(),
                    baton_resource: false,
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect()
}

#[actix::test]
async fn writes_and_publishes_a_snapshot() {
    if ran_in_own_process(module_path!(), "writes_and_publishes_a_snapshot") {
        return;
    }
    baton_haloitsm::telemetry::init();
    let before = baton_haloitsm::telemetry::render();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("snap.c1z");
    let writer = SnapshotWriter::new().start();
    let sync_id = ksuid::new();

    // A snapshot left open by a sync whose owner died is discarded by the next Begin.
    let stale = ksuid::new();
    writer
        .send(BeginSnapshot {
            sync_id: stale.clone(),
            dest: dest.clone(),
            sync_type: "full",
        })
        .await
        .unwrap()
        .unwrap();
    baton_haloitsm::telemetry::init();
    let discarded = || local("baton_haloitsm_snapshots_total{outcome=\"discarded_stale\"}");
    let discarded_before = discarded();
    writer
        .send(BeginSnapshot {
            sync_id: sync_id.clone(),
            dest: dest.clone(),
            sync_type: "full",
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(discarded(), discarded_before + 1.0);
    // Rows of the stale sync are refused: they would land in the wrong snapshot.
    let late = writer
        .send(WriteRows {
            sync_id: stale.clone(),
            rows: Rows::Grants(grants(9, 1)),
        })
        .await
        .unwrap();
    assert!(matches!(late, Err(Error::State(_))), "{late:?}");

    let types = vec![pb::ResourceType {
        id: "team".into(),
        ..Default::default()
    }];
    writer
        .send(WriteRows {
            sync_id: sync_id.clone(),
            rows: Rows::ResourceTypes(types),
        })
        .await
        .unwrap()
        .unwrap();
    let counts = writer
        .send(WriteRows {
            sync_id: sync_id.clone(),
            rows: Rows::Grants(grants(1, 50)),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(counts.grants, 50);
    let info = writer
        .send(FinishSnapshot {
            sync_id: sync_id.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.sync_id, sync_id);
    assert_eq!(info.counts.grants, 50);
    assert_eq!(info.counts.resource_types, 1);

    // The happening is visible on /metrics, with its values (telemetry::init
    // registers every series at 0, so only a value can show it happened).
    let after = baton_haloitsm::telemetry::render();
    let delta = |series: &str| value(&after, series) - value(&before, series);
    assert_eq!(
        delta("baton_haloitsm_snapshots_total{outcome=\"published\"}"),
        1.0
    );
    assert_eq!(
        delta("baton_haloitsm_snapshots_total{outcome=\"failed\"}"),
        0.0
    );
    assert_eq!(delta("baton_haloitsm_snapshot_write_seconds_count"), 1.0);
    assert_eq!(
        value(&after, "baton_haloitsm_snapshot_bytes"),
        info.bytes as f64
    );
    assert_eq!(
        value(&after, "baton_haloitsm_snapshot_rows{table=\"grants\"}"),
        50.0
    );

    let snap = Snapshot::open(&dest).unwrap();
    assert_eq!(snap.sync().unwrap().sync_id, sync_id);
    assert_eq!(snap.grants(None).unwrap().len(), 50);

    // Nothing open any more.
    let late = writer
        .send(WriteRows {
            sync_id: sync_id.clone(),
            rows: Rows::Grants(grants(2, 1)),
        })
        .await
        .unwrap();
    assert!(matches!(late, Err(Error::State(_))));
}

#[actix::test]
async fn bad_rows_fail_the_snapshot_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("snap.c1z");
    std::fs::write(&dest, b"previous").unwrap();
    let writer = SnapshotWriter::new().start();
    let sync_id = ksuid::new();
    writer
        .send(BeginSnapshot {
            sync_id: sync_id.clone(),
            dest: dest.clone(),
            sync_type: "full",
        })
        .await
        .unwrap()
        .unwrap();
    let bad = writer
        .send(WriteRows {
            sync_id: sync_id.clone(),
            rows: Rows::Grants(vec![pb::Grant::default()]),
        })
        .await
        .unwrap();
    assert!(matches!(bad, Err(Error::InvalidRow { .. })));
    // The snapshot was dropped: finishing now fails and nothing was published.
    assert!(
        writer
            .send(FinishSnapshot {
                sync_id: sync_id.clone()
            })
            .await
            .unwrap()
            .is_err()
    );
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // Abort of an open snapshot also leaves nothing behind.
    let sync_id = ksuid::new();
    writer
        .send(BeginSnapshot {
            sync_id: sync_id.clone(),
            dest: dest.clone(),
            sync_type: "full",
        })
        .await
        .unwrap()
        .unwrap();
    writer
        .send(WriteRows {
            sync_id: sync_id.clone(),
            rows: Rows::Grants(grants(1, 10)),
        })
        .await
        .unwrap()
        .unwrap();
    writer
        .send(AbortSnapshot {
            sync_id: sync_id.clone(),
        })
        .await
        .unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read(&dest).unwrap(), b"previous");
}

#[actix::test]
async fn slow_writer_makes_producers_wait() {
    const DELAY: Duration = Duration::from_millis(150);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("snap.c1z");
    let writer = SnapshotWriter::start_with(StoreOptions::default(), DELAY);
    let sync_id = ksuid::new();
    writer
        .send(BeginSnapshot {
            sync_id: sync_id.clone(),
            dest: dest.clone(),
            sync_type: "full",
        })
        .await
        .unwrap()
        .unwrap();

    let start = Instant::now();
    // Three producers, one batch each, sent at the same time.
    let producers: Vec<_> = (1..=3u32)
        .map(|team| {
            let writer = writer.clone();
            let sync_id = sync_id.clone();
            async move {
                let counts = writer
                    .send(WriteRows {
                        sync_id: sync_id.clone(),
                        rows: Rows::Grants(grants(team, 100)),
                    })
                    .await
                    .unwrap()
                    .unwrap();
                (team, start.elapsed(), counts.grants)
            }
        })
        .collect();

    // While the writer sleeps on the first batch, no producer has its answer.
    let all = futures::future::join_all(producers);
    futures::pin_mut!(all);
    assert!(
        tokio::time::timeout(DELAY / 2, &mut all).await.is_err(),
        "a producer returned before its batch could have been written"
    );
    let mut done = all.await;
    done.sort_by_key(|d| d.1);

    // The writer handles one batch at a time: the k-th reply comes after k delays,
    // and when a producer's send returns, its batch (and those before it) are in the store.
    for (k, (team, at, grants_in_store)) in done.iter().enumerate() {
        let k = k as u32 + 1;
        assert!(
            *at >= DELAY * k,
            "producer {team} returned after {at:?}, expected ≥ {:?}",
            DELAY * k
        );
        assert_eq!(*grants_in_store, 100 * u64::from(k), "producer {team}");
    }

    let info = writer
        .send(FinishSnapshot {
            sync_id: sync_id.clone(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info.counts.grants, 300);
}
