//! Sync happenings: runs, duration, objects, last success, refused triggers,
//! memberships that point at unknown teams or roles.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{Gauge, Histogram, IntCounterVec};

static RUNS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "sync_runs_total",
        "Full syncs by result (success, failure, refused).",
        &["result"],
    )
});
static DURATION: LazyLock<Histogram> = LazyLock::new(|| {
    super::histogram(
        "sync_duration_seconds",
        "Wall time of finished full syncs.",
        vec![1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0],
    )
});
static OBJECTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "sync_objects_total",
        "Objects written into snapshots, by kind (resource, entitlement, grant).",
        &["kind"],
    )
});
static LAST_SUCCESS: LazyLock<Gauge> = LazyLock::new(|| {
    super::gauge(
        "sync_last_success_timestamp_seconds",
        "Unix time of the last successful full sync; alert on its age.",
    )
});
static DANGLING: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "sync_dangling_memberships_total",
        "Memberships that point at a team or role missing from the team/role lists.",
        &["kind"],
    )
});

pub const RESULTS: &[&str] = &["success", "failure", "refused"];
pub const KINDS: &[&str] = &["resource", "entitlement", "grant"];

pub fn init() {
    for r in RESULTS {
        let _ = RUNS.get_metric_with_label_values(&[r]);
    }
    for k in KINDS {
        let _ = OBJECTS.get_metric_with_label_values(&[k]);
    }
    for k in ["team", "role"] {
        let _ = DANGLING.get_metric_with_label_values(&[k]);
    }
    LazyLock::force(&DURATION);
    LazyLock::force(&LAST_SUCCESS);
}

pub fn sync_succeeded(
    sync_id: &str,
    elapsed: Duration,
    resources: u64,
    entitlements: u64,
    grants: u64,
) {
    super::inc(&RUNS, &["success"]);
    DURATION.observe(elapsed.as_secs_f64());
    for (kind, n) in [
        ("resource", resources),
        ("entitlement", entitlements),
        ("grant", grants),
    ] {
        if let Ok(c) = OBJECTS.get_metric_with_label_values(&[kind]) {
            c.inc_by(n);
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    LAST_SUCCESS.set(now);
    tracing::info!(
        sync_id,
        elapsed_s = elapsed.as_secs_f64(),
        resources,
        entitlements,
        grants,
        "sync finished"
    );
}

pub fn sync_failed(sync_id: &str, elapsed: Duration, error: &dyn std::fmt::Display) {
    super::inc(&RUNS, &["failure"]);
    tracing::error!(sync_id, elapsed_s = elapsed.as_secs_f64(), error = %error, "sync failed; nothing was published");
}

pub fn sync_refused(reason: &str, running: &str) {
    super::inc(&RUNS, &["refused"]);
    tracing::warn!(
        reason,
        running_sync_id = running,
        "sync trigger refused: a sync is already running"
    );
}

pub fn dangling_membership(kind: &'static str, agent_id: i64, target: &str) {
    super::inc(&DANGLING, &[kind]);
    tracing::warn!(
        kind,
        agent_id,
        target,
        "membership points at a {kind} missing from the {kind} list; skipped"
    );
}
