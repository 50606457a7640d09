//! C1 service-mode happenings: connection up/down, tasks finished, heartbeats, uploads,
//! token refreshes. One function per happening updates the metrics and writes the log line.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge};

/// Task types as metric labels (bounded: one per dispatch arm).
pub const TASK_TYPES: &[&str] = &[
    "hello",
    "sync_full",
    "grant",
    "revoke",
    "create_account",
    "delete_resource",
    "create_ticket",
    "get_ticket",
    "list_ticket_schemas",
    "bulk_create_tickets",
    "bulk_get_tickets",
    "action_list_schemas",
    "action_get_schema",
    "action_invoke",
    "action_status",
    "unsupported",
];
pub const TASK_RESULTS: &[&str] = &["success", "error", "cancelled", "disabled"];
const HEARTBEAT_RESULTS: &[&str] = &["ok", "cancelled", "error"];
const RPCS: &[&str] = &[
    "hello",
    "get_task",
    "heartbeat",
    "finish_task",
    "upload_asset",
    "token",
];

static TASKS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "c1_tasks_total",
        "C1 tasks finished, by task type and result.",
        &["type", "result"],
    )
});

static TASK_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    super::histogram_vec(
        "c1_task_duration_seconds",
        "Time from receiving a C1 task (GetTask) to its FinishTask, by task type.",
        &["type"],
        vec![0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 1800.0],
    )
});

static HEARTBEATS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "c1_heartbeats_total",
        "Heartbeats sent to C1 for running tasks, by result (ok, cancelled, error).",
        &["result"],
    )
});

static UPLOAD_BYTES: LazyLock<IntCounter> = LazyLock::new(|| {
    super::counter(
        "c1_upload_bytes_total",
        "c1z bytes streamed to C1 with UploadAsset (every attempt counts).",
    )
});

static CONNECTED: LazyLock<IntGauge> = LazyLock::new(|| {
    super::int_gauge(
        "c1_connected",
        "1 while the last call to C1 succeeded, 0 after a failure or before the first Hello.",
    )
});

static RPC_ERRORS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "c1_rpc_errors_total",
        "Failed calls to C1 (gRPC or token endpoint), by call.",
        &["rpc"],
    )
});

pub fn init() {
    for t in TASK_TYPES {
        for r in TASK_RESULTS {
            let _ = TASKS.get_metric_with_label_values(&[t, r]);
        }
        let _ = TASK_SECONDS.get_metric_with_label_values(&[t]);
    }
    for r in HEARTBEAT_RESULTS {
        let _ = HEARTBEATS.get_metric_with_label_values(&[r]);
    }
    for r in RPCS {
        let _ = RPC_ERRORS.get_metric_with_label_values(&[r]);
    }
    LazyLock::force(&UPLOAD_BYTES);
    LazyLock::force(&CONNECTED);
}

pub fn connected(host: &str) {
    if CONNECTED.get() != 1 {
        tracing::info!(host, "connected to C1");
    }
    CONNECTED.set(1);
}

/// A call to C1 failed; `retry_in` is the backoff before the next attempt.
pub fn rpc_failed(rpc: &'static str, error: &str, retry_in: Duration) {
    CONNECTED.set(0);
    super::inc(&RPC_ERRORS, &[rpc]);
    tracing::warn!(
        rpc,
        error,
        retry_in_ms = retry_in.as_millis() as u64,
        "call to C1 failed"
    );
}

/// C1 refused the connector for good (bad credentials, permission, invalid request).
pub fn refused(rpc: &'static str, error: &str) {
    CONNECTED.set(0);
    super::inc(&RPC_ERRORS, &[rpc]);
    tracing::error!(rpc, error, "C1 refused the connector; service mode stops");
}

pub fn token_refreshed(expires_in: Duration) {
    tracing::info!(expires_in_s = expires_in.as_secs(), "C1 token refreshed");
}

pub fn task_started(task_type: &str, task_id: &str) {
    tracing::info!(task_type, task_id, "C1 task started");
}

pub fn task_finished(
    task_type: &'static str,
    task_id: &str,
    result: &'static str,
    elapsed: Duration,
    message: &str,
) {
    super::inc(&TASKS, &[task_type, result]);
    if let Ok(h) = TASK_SECONDS.get_metric_with_label_values(&[task_type]) {
        h.observe(elapsed.as_secs_f64());
    }
    tracing::info!(
        task_type,
        task_id,
        result,
        elapsed_ms = elapsed.as_millis() as u64,
        message,
        "C1 task finished"
    );
}

pub fn heartbeat(task_id: &str, result: &'static str) {
    super::inc(&HEARTBEATS, &[result]);
    match result {
        "ok" => tracing::debug!(task_id, "heartbeat"),
        "cancelled" => tracing::warn!(task_id, "C1 cancelled the task"),
        _ => tracing::warn!(task_id, "heartbeat failed"),
    }
}

pub fn upload_bytes(n: u64) {
    UPLOAD_BYTES.inc_by(n);
}

pub fn upload_finished(task_id: &str, bytes: u64, attempt: u32) {
    tracing::info!(task_id, bytes, attempt, "c1z uploaded to C1");
}

pub fn upload_failed(task_id: &str, attempt: u32, error: &str) {
    tracing::warn!(task_id, attempt, error, "c1z upload attempt failed");
}
