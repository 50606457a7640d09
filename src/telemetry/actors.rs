//! Actor lifecycle happenings: restarts.

use std::sync::LazyLock;

use prometheus::IntCounterVec;

static RESTARTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "actor_restarts_total",
        "Actors restarted by the supervisor after they stopped or panicked.",
        &["actor"],
    )
});

pub fn init() {
    LazyLock::force(&RESTARTS);
}

/// Pre-create the series for an actor so it is exported at 0.
pub fn register_actor(actor: &'static str) {
    let _ = RESTARTS.get_metric_with_label_values(&[actor]);
}

pub fn actor_restarted(actor: &'static str, restarts: u64, backoff: std::time::Duration) {
    super::inc(&RESTARTS, &[actor]);
    tracing::warn!(
        actor,
        restarts,
        backoff_ms = backoff.as_millis() as u64,
        "actor restarted"
    );
}
