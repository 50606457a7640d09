//! Ticketing happenings: one count per operation and result, the idempotent hits, and
//! ticket-type fields we cannot map (logged once each by the caller's cache).

use std::sync::LazyLock;

use prometheus::IntCounterVec;

static TICKETS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "tickets_total",
        "Ticketing operations by op and result (ok, existing, partial, or the error kind).",
        &["op", "result"],
    )
});

pub const OPS: &[&str] = &[
    "list_schemas",
    "get_schema",
    "create",
    "get",
    "note",
    "fallback_open",
    "fallback_resolve",
];
pub const RESULTS: &[&str] = &[
    "ok",
    "existing",
    "partial",
    "invalid_argument",
    "not_found",
    "permission_denied",
    "unauthenticated",
    "unavailable",
    "halo_rejected",
    "failed_precondition",
    "internal",
];

pub fn init() {
    for op in OPS {
        for r in RESULTS {
            let _ = TICKETS.get_metric_with_label_values(&[op, r]);
        }
    }
}

/// A ticketing operation finished.
pub fn finished(op: &'static str, result: &'static str) {
    super::inc(&TICKETS, &[op, result]);
    if matches!(result, "ok" | "existing") {
        tracing::debug!(op, result, "ticketing operation done");
    } else {
        tracing::info!(op, result, "ticketing operation did not fully succeed");
    }
}

/// A create found the ticket a previous attempt made (same request key).
pub fn existing_found(ticket_id: i64) {
    tracing::info!(
        ticket_id,
        "ticket with this request key already exists; returning it instead of creating another"
    );
}

/// A ticket-type field was left out of its schema.
pub fn field_unmappable(type_id: i64, field: &str, why: &str) {
    tracing::warn!(
        ticket_type_id = type_id,
        field,
        reason = why,
        "custom field left out of the ticket schema"
    );
}

/// The value of one series, for tests.
pub fn count(op: &str, result: &str) -> u64 {
    TICKETS
        .get_metric_with_label_values(&[op, result])
        .map(|c| c.get())
        .unwrap_or(0)
}
