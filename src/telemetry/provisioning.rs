//! Provisioning happenings: queue depth, operations by result, duration,
//! verification failures. Labels come from fixed sets registered at init.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{HistogramVec, IntCounterVec, IntGauge};

static DEPTH: LazyLock<IntGauge> = LazyLock::new(|| {
    super::int_gauge(
        "provisioning_queue_depth",
        "Provisioning operations queued or running.",
    )
});
static OPERATIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "provisioning_operations_total",
        "Finished provisioning operations by op and result (ok, already, failed, ticketed).",
        &["op", "result"],
    )
});
static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    super::histogram_vec(
        "provisioning_duration_seconds",
        "Time from acceptance to the final outcome of a provisioning operation.",
        &["op"],
        vec![
            0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0, 60.0, 300.0, 1800.0,
        ],
    )
});
static VERIFY_FAILURES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "provisioning_verify_failures_total",
        "Writes Halo accepted whose read-back showed they did not take (or changed something else).",
        &["op"],
    )
});

static FALLBACKS_RESOLVED: LazyLock<prometheus::IntCounter> = LazyLock::new(|| {
    super::counter(
        "provisioning_fallbacks_resolved_total",
        "Fallback tickets noted and moved to the resolved status because a sync saw the change.",
    )
});

pub const RESULTS: &[&str] = &["ok", "already", "failed", "ticketed"];
/// Every operation label (`Operation::label`).
pub const OPS: &[&str] = &[
    "grant",
    "revoke",
    "create_account",
    "disable_account",
    "enable_account",
    "delete_resource",
];

pub fn init() {
    LazyLock::force(&DEPTH);
    LazyLock::force(&FALLBACKS_RESOLVED);
    for op in OPS {
        for r in RESULTS {
            let _ = OPERATIONS.get_metric_with_label_values(&[op, r]);
        }
        let _ = DURATION.get_metric_with_label_values(&[op]);
        let _ = VERIFY_FAILURES.get_metric_with_label_values(&[op]);
    }
}

pub fn queue_depth(depth: usize) {
    DEPTH.set(depth as i64);
}

pub fn operation_accepted(op_id: i64, op: &str, serial_key: &str, replayed: bool) {
    tracing::info!(
        op_id,
        op,
        key = serial_key,
        replayed,
        "provisioning operation queued"
    );
}

pub fn operation_retry(op_id: i64, op: &str, attempt: u32, backoff: Duration, error: &str) {
    tracing::warn!(
        op_id,
        op,
        attempt,
        backoff_ms = backoff.as_millis() as u64,
        error,
        "provisioning operation failed transiently; will retry"
    );
}

pub fn operation_finished(op_id: i64, op: &str, result: &str, elapsed: Duration, message: &str) {
    super::inc(&OPERATIONS, &[op, result]);
    if let Ok(h) = DURATION.get_metric_with_label_values(&[op]) {
        h.observe(elapsed.as_secs_f64());
    }
    if result == "failed" {
        tracing::warn!(
            op_id,
            op,
            result,
            elapsed_s = elapsed.as_secs_f64(),
            message,
            "provisioning operation finished"
        );
    } else {
        tracing::info!(
            op_id,
            op,
            result,
            elapsed_s = elapsed.as_secs_f64(),
            "provisioning operation finished"
        );
    }
}

pub fn verify_failed(op: &str, detail: &str) {
    super::inc(&VERIFY_FAILURES, &[op]);
    tracing::error!(op, detail, "provisioning write did not verify");
}

pub fn journal_pruned(rows: usize) {
    if rows > 0 {
        tracing::info!(
            rows,
            "pruned finished provisioning operations past retention"
        );
    }
}

pub fn journal_error(error: &str) {
    tracing::error!(error, "provisioning journal error");
}

pub fn fallback_resolved(op_id: i64, ticket_id: i64, sync_id: &str) {
    FALLBACKS_RESOLVED.inc();
    tracing::info!(
        op_id,
        ticket_id,
        sync_id,
        "fallback ticket resolved: the sync saw the change"
    );
}

pub fn fallback_resolve_failed(op_id: i64, ticket_id: &str, error: &str) {
    tracing::warn!(
        op_id,
        ticket_id,
        error,
        "resolving a fallback ticket failed; retried at the next sync"
    );
}

pub fn fallback_resolution_off(unresolved: usize) {
    tracing::info!(
        unresolved,
        "fallback tickets are left open: ticketing.fallback_resolved_status is not set"
    );
}

pub fn fallback_snapshot_unreadable(path: &str, error: &str) {
    tracing::warn!(
        path,
        error,
        "cannot read the published snapshot to resolve fallback tickets; retried at the next sync"
    );
}
