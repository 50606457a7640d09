//! Actor lifecycle happenings: an actor went down, and was restarted.

use std::sync::LazyLock;

use prometheus::IntCounterVec;

const REASONS: [&str; 3] = ["stopped", "panicked", "unresponsive"];

static RESTARTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "actor_restarts_total",
        "Actors restarted by the supervisor, by why they went down: stopped, panicked, \
         or unresponsive (a progress probe through the mailbox went unanswered).",
        &["actor", "reason"],
    )
});

pub fn init() {
    LazyLock::force(&RESTARTS);
}

/// Pre-create the series for an actor so it is exported at 0.
pub fn register_actor(actor: &'static str) {
    for reason in REASONS {
        let _ = RESTARTS.get_metric_with_label_values(&[actor, reason]);
    }
}

/// The supervisor found `actor` down; it restarts it after `backoff`.
pub fn actor_down(actor: &'static str, reason: &'static str, backoff: std::time::Duration) {
    tracing::warn!(
        actor,
        reason,
        delay_ms = backoff.as_millis() as u64,
        "actor is down; restarting after backoff"
    );
}

pub fn actor_restarted(
    actor: &'static str,
    reason: &'static str,
    restarts: u64,
    backoff: std::time::Duration,
) {
    super::inc(&RESTARTS, &[actor, reason]);
    tracing::warn!(
        actor,
        reason,
        restarts,
        backoff_ms = backoff.as_millis() as u64,
        "actor restarted"
    );
}

/// Restarts of `actor` for `reason` so far (tests and `/status`).
pub fn restarts(actor: &str, reason: &str) -> u64 {
    RESTARTS
        .get_metric_with_label_values(&[actor, reason])
        .map(|c| c.get())
        .unwrap_or(0)
}
