//! Sync happenings: runs, duration, objects, last success, refused triggers,
//! memberships that point at unknown teams or roles.

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{Gauge, HistogramVec, IntCounterVec};

static RUNS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "sync_runs_total",
        "Syncs by result (success, failure, refused) and type (full, partial, resources_only).",
        &["result", "type"],
    )
});
static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    super::histogram_vec(
        "sync_duration_seconds",
        "Wall time of finished syncs, by type (full, partial, resources_only).",
        &["type"],
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

static INCONSISTENT: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    super::counter(
        "sync_inconsistent_passes_total",
        "Passes over the agent list whose distinct agents disagreed with Halo's record_count \
         on the first or last page (the list changed while paging); each is paged again.",
    )
});
static ORDER_IGNORED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "sync_list_order_ignored_total",
        "Syncs whose agent or end-user pages did not come newest first although \
         sync.agent_order asked for it (Halo ignored the parameter).",
        &["list"],
    )
});
static TRIGGERS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "sync_triggers_total",
        "Syncs the scheduler asked for, by reason (start, schedule, retry).",
        &["reason"],
    )
});
static RETRY_PENDING: LazyLock<prometheus::IntGauge> = LazyLock::new(|| {
    super::int_gauge(
        "sync_retry_pending",
        "1 while the scheduler holds a retry of a failed sync (never more than one).",
    )
});

pub const RESULTS: &[&str] = &["success", "failure", "refused"];
pub const KINDS: &[&str] = &["resource", "entitlement", "grant"];
/// `v1_sync_runs.sync_type` values, the `type` label.
pub const TYPES: &[&str] = &["full", "partial", "resources_only"];

pub fn init() {
    for t in TYPES {
        for r in RESULTS {
            let _ = RUNS.get_metric_with_label_values(&[r, t]);
        }
        let _ = DURATION.get_metric_with_label_values(&[t]);
    }
    for k in KINDS {
        let _ = OBJECTS.get_metric_with_label_values(&[k]);
    }
    for k in ["team", "role"] {
        let _ = DANGLING.get_metric_with_label_values(&[k]);
    }
    for l in ["agents", "users"] {
        let _ = ORDER_IGNORED.get_metric_with_label_values(&[l]);
    }
    for r in ["start", "schedule", "retry"] {
        let _ = TRIGGERS.get_metric_with_label_values(&[r]);
    }
    LazyLock::force(&DURATION);
    LazyLock::force(&LAST_SUCCESS);
    LazyLock::force(&INCONSISTENT);
    LazyLock::force(&RETRY_PENDING);
}

pub fn sync_succeeded(
    sync_id: &str,
    sync_type: &str,
    elapsed: Duration,
    resources: u64,
    entitlements: u64,
    grants: u64,
) {
    super::inc(&RUNS, &["success", sync_type]);
    if let Ok(h) = DURATION.get_metric_with_label_values(&[sync_type]) {
        h.observe(elapsed.as_secs_f64());
    }
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
    // The age alert watches full syncs: a partial one says nothing about the rest.
    if sync_type == "full" {
        LAST_SUCCESS.set(now);
    }
    tracing::info!(
        sync_id,
        sync_type,
        elapsed_s = elapsed.as_secs_f64(),
        resources,
        entitlements,
        grants,
        "sync finished"
    );
}

pub fn sync_failed(
    sync_id: &str,
    sync_type: &str,
    elapsed: Duration,
    error: &dyn std::fmt::Display,
) {
    super::inc(&RUNS, &["failure", sync_type]);
    tracing::error!(sync_id, sync_type, elapsed_s = elapsed.as_secs_f64(), error = %error, "sync failed; nothing was published");
}

pub fn sync_refused(reason: &str, sync_type: &str, running: &str) {
    super::inc(&RUNS, &["refused", sync_type]);
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

/// One pass over the agent list did not add up; it is paged again (or the
/// sync fails after the last pass).
pub fn agents_inconsistent(sync_id: &str, distinct: u64, first: u64, last: u64, pass: u32) {
    INCONSISTENT.inc();
    tracing::warn!(
        sync_id,
        distinct,
        first_record_count = first,
        last_record_count = last,
        pass,
        "agents changed while paging (offsets shifted); paging the agent list again"
    );
}

/// Halo ignored the newest-first order of a listing (once per sync and list).
pub fn list_order_ignored(sync_id: &str, list: &'static str) {
    super::inc(&ORDER_IGNORED, &[list]);
    tracing::warn!(
        sync_id,
        list,
        "halo ignored order=id&orderdesc=true (a page's ids do not descend): an insert and a \
         delete between two pages can skip a row unnoticed; only count changes are caught \
         (sync.agent_order)"
    );
}

/// The scheduler asked for a sync.
pub fn sync_triggered(reason: &'static str) {
    super::inc(&TRIGGERS, &[reason]);
}

/// The scheduler now holds a retry (`true`) or none (`false`).
pub fn retry_pending(pending: bool, delay: Duration) {
    RETRY_PENDING.set(i64::from(pending));
    if pending {
        tracing::warn!(
            retry_s = delay.as_secs_f64(),
            "sync failed; one retry scheduled"
        );
    }
}
