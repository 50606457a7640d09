//! Snapshot (c1z) happenings: published, failed, aborted.
//!
//! One function per happening updates the metrics and writes the log line.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{
    Gauge, GaugeVec, Histogram, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
};

use std::path::Path;

static BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    super::int_gauge(
        "snapshot_bytes",
        "Size of the last published c1z snapshot, in bytes.",
    )
});

static DB_BYTES: LazyLock<IntGauge> = LazyLock::new(|| {
    super::int_gauge(
        "snapshot_db_bytes",
        "Size of the SQLite database inside the last published c1z, in bytes.",
    )
});

static ROWS: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    super::int_gauge_vec(
        "snapshot_rows",
        "Rows in the last published c1z snapshot, per table.",
        &["table"],
    )
});

static WRITE_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    super::histogram(
        "snapshot_write_seconds",
        "Time from opening a snapshot to its publication (rows, indexes, compression, rename).",
        vec![
            0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
        ],
    )
});

static PHASE_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    super::histogram_vec(
        "snapshot_phase_seconds",
        "Time per phase of a published snapshot: rows (load), indexes, compress (incl. fsync and rename).",
        &["phase"],
        vec![
            0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
        ],
    )
});

static LAST_PHASE_SECONDS: LazyLock<GaugeVec> = LazyLock::new(|| {
    super::gauge_vec(
        "snapshot_last_phase_seconds",
        "Per-phase time of the last published snapshot (rows, indexes, compress).",
        &["phase"],
    )
});

static ROWS_RECEIVED: LazyLock<IntCounter> = LazyLock::new(|| {
    super::counter(
        "snapshot_rows_received_total",
        "Rows handed to the snapshot writer, repeats of an id included.",
    )
});

static LAST_SUCCESS: LazyLock<Gauge> = LazyLock::new(|| {
    super::gauge(
        "snapshot_last_success_timestamp_seconds",
        "Unix time of the last published c1z snapshot.",
    )
});

static OUTCOMES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "snapshots_total",
        "Snapshots by outcome: published, failed, aborted, discarded_stale (left open by a sync whose owner died).",
        &["outcome"],
    )
});

const TABLES: [&str; 4] = ["resource_types", "resources", "entitlements", "grants"];
const PHASES: [&str; 3] = ["rows", "indexes", "compress"];

pub fn init() {
    LazyLock::force(&BYTES);
    LazyLock::force(&DB_BYTES);
    LazyLock::force(&WRITE_SECONDS);
    LazyLock::force(&LAST_SUCCESS);
    LazyLock::force(&ROWS_RECEIVED);
    for p in PHASES {
        let _ = PHASE_SECONDS.get_metric_with_label_values(&[p]);
        let _ = LAST_PHASE_SECONDS.get_metric_with_label_values(&[p]);
    }
    for t in TABLES {
        let _ = ROWS.get_metric_with_label_values(&[t]);
    }
    for o in ["published", "failed", "aborted", "discarded_stale"] {
        let _ = OUTCOMES.get_metric_with_label_values(&[o]);
    }
}

/// What a published snapshot looked like, in plain values (telemetry does not
/// depend on the c1z types; the writer fills this in).
#[derive(Debug, Clone, Copy)]
pub struct Published<'a> {
    pub path: &'a Path,
    pub sync_id: &'a str,
    pub bytes: u64,
    pub db_bytes: u64,
    /// Rows per table, in `TABLES` order.
    pub rows: [u64; 4],
    /// rows, indexes, compress (in `PHASES` order).
    pub phases: [Duration; 3],
    pub elapsed: Duration,
}

/// A c1z was published at `p.path`, `p.elapsed` after the snapshot was opened.
pub fn snapshot_finished(p: Published<'_>) {
    BYTES.set(clamp(p.bytes));
    DB_BYTES.set(clamp(p.db_bytes));
    for (t, n) in TABLES.iter().zip(p.rows) {
        if let Ok(g) = ROWS.get_metric_with_label_values(&[t]) {
            g.set(clamp(n));
        }
    }
    for (phase, d) in PHASES.iter().zip(p.phases) {
        if let Ok(h) = PHASE_SECONDS.get_metric_with_label_values(&[phase]) {
            h.observe(d.as_secs_f64());
        }
        if let Ok(g) = LAST_PHASE_SECONDS.get_metric_with_label_values(&[phase]) {
            g.set(d.as_secs_f64());
        }
    }
    WRITE_SECONDS.observe(p.elapsed.as_secs_f64());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    LAST_SUCCESS.set(now.as_secs_f64());
    super::inc(&OUTCOMES, &["published"]);
    let [resource_types, resources, entitlements, grants] = p.rows;
    let [rows_t, indexes_t, compress_t] = p.phases;
    tracing::info!(
        path = %p.path.display(),
        sync_id = %p.sync_id,
        bytes = p.bytes,
        db_bytes = p.db_bytes,
        resource_types,
        resources,
        entitlements,
        grants,
        rows_ms = rows_t.as_millis() as u64,
        indexes_ms = indexes_t.as_millis() as u64,
        compress_ms = compress_t.as_millis() as u64,
        elapsed_ms = p.elapsed.as_millis() as u64,
        // The writer's part ends here; in daemon mode the Uploader then renames a staged
        // file into place and logs the one "snapshot published" line with the final path.
        "snapshot written"
    );
}

/// The writer received a batch of `n` rows (counted before de-duplication).
pub fn rows_received(n: usize) {
    ROWS_RECEIVED.inc_by(n as u64);
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Writing or publishing a snapshot failed; nothing was published.
pub fn snapshot_failed(sync_id: &str, error: &dyn std::fmt::Display, elapsed: Duration) {
    super::inc(&OUTCOMES, &["failed"]);
    tracing::error!(
        sync_id,
        error = %error,
        elapsed_ms = elapsed.as_millis() as u64,
        "snapshot failed; nothing published"
    );
}

/// A snapshot was thrown away on request (sync cancelled or failed upstream).
pub fn snapshot_aborted(sync_id: &str) {
    super::inc(&OUTCOMES, &["aborted"]);
    tracing::warn!(sync_id, "snapshot aborted; nothing published");
}

/// A new sync found the snapshot of an earlier one still open (its owner died
/// without aborting it) and threw it away.
pub fn snapshot_stale_discarded(stale_sync_id: &str, new_sync_id: &str) {
    super::inc(&OUTCOMES, &["discarded_stale"]);
    tracing::warn!(
        stale_sync_id,
        new_sync_id,
        "discarding the snapshot of a sync whose owner is gone; nothing from it is published"
    );
}
