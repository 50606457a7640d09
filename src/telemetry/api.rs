//! Halo API happenings: requests, 429s, retries, token refreshes, in-flight.
//!
//! Label values come from small fixed sets: `endpoint` is a route template
//! (`/api/Agent/{id}`), never a raw path; `status` is an HTTP code or a
//! transport failure class; `reason` and `result` come from the Halo layer's
//! enums. Each function below is one happening: it counts and logs.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus::{HistogramVec, IntCounter, IntCounterVec, IntGauge};

/// Retry reasons, the complete label set of `api_retries_total`.
pub const RETRY_REASONS: [&str; 7] = [
    "rate_limited",
    "server_error",
    "timeout",
    "connect",
    "reset",
    "unauthorized",
    "token",
];

/// Token refresh results: `success` or an error kind label.
pub const TOKEN_RESULTS: [&str; 5] = ["success", "auth", "transient", "rate_limited", "protocol"];

static REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "api_requests_total",
        "HTTP attempts sent to the Halo API, by route template, method and status (code or transport failure class).",
        &["endpoint", "method", "status"],
    )
});

static DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    super::histogram_vec(
        "api_request_duration_seconds",
        "Duration of one HTTP attempt to the Halo API (excluding pacing waits).",
        &["endpoint", "method"],
        vec![
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
        ],
    )
});

static RATE_LIMITED: LazyLock<IntCounter> = LazyLock::new(|| {
    super::counter(
        "api_rate_limited_total",
        "HTTP 429 responses from the Halo API; each pauses all traffic.",
    )
});

static RETRIES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "api_retries_total",
        "Halo API attempts retried, by reason.",
        &["reason"],
    )
});

static TOKEN_REFRESHES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    super::counter_vec(
        "token_refreshes_total",
        "OAuth token requests to the Halo authorisation server, by result.",
        &["result"],
    )
});

static INFLIGHT: LazyLock<IntGauge> = LazyLock::new(|| {
    super::int_gauge(
        "api_inflight",
        "Halo API requests admitted by the gateway and not yet finished.",
    )
});

pub fn init() {
    LazyLock::force(&REQUESTS);
    LazyLock::force(&DURATION);
    LazyLock::force(&RATE_LIMITED);
    LazyLock::force(&INFLIGHT);
    for reason in RETRY_REASONS {
        let _ = RETRIES.get_metric_with_label_values(&[reason]);
    }
    for result in TOKEN_RESULTS {
        let _ = TOKEN_REFRESHES.get_metric_with_label_values(&[result]);
    }
}

/// One HTTP attempt finished (any outcome). `status` is the code or a
/// transport class (`timeout`, `connect`, `reset`).
pub fn api_request_finished(endpoint: &'static str, method: &str, status: &str, elapsed: Duration) {
    super::inc(&REQUESTS, &[endpoint, method, status]);
    if let Ok(h) = DURATION.get_metric_with_label_values(&[endpoint, method]) {
        h.observe(elapsed.as_secs_f64());
    }
    tracing::debug!(
        endpoint,
        method,
        status,
        elapsed_ms = elapsed.as_millis() as u64,
        "halo request finished"
    );
}

/// A 429 arrived; all traffic pauses for `pause`.
pub fn api_rate_limited(endpoint: &'static str, pause: Duration, retry_after: bool) {
    RATE_LIMITED.inc();
    tracing::warn!(
        endpoint,
        pause_ms = pause.as_millis() as u64,
        retry_after,
        "halo rate limit hit; pausing all requests"
    );
}

/// An attempt failed and will be retried after `delay`.
pub fn api_retry_scheduled(
    endpoint: &'static str,
    reason: &'static str,
    attempt: u32,
    delay: Duration,
) {
    super::inc(&RETRIES, &[reason]);
    tracing::info!(
        endpoint,
        reason,
        attempt,
        delay_ms = delay.as_millis() as u64,
        "retrying halo request"
    );
}

/// A request failed for good (after any retries). `kind` is an ErrorKind label.
pub fn api_request_failed(
    endpoint: &'static str,
    method: &str,
    kind: &'static str,
    attempts: u32,
    message: &str,
) {
    match kind {
        // Expected outcomes the caller maps (absent ids, rejected writes).
        "not_found" | "validation" => {
            tracing::info!(
                endpoint,
                method,
                kind,
                attempts,
                message,
                "halo request failed"
            )
        }
        _ => tracing::warn!(
            endpoint,
            method,
            kind,
            attempts,
            message,
            "halo request failed"
        ),
    }
}

/// Halo attached `_warning` to a successful response.
pub fn api_warning(endpoint: &'static str, warning: &str) {
    tracing::warn!(endpoint, warning, "halo returned a warning");
}

/// A token request finished. `result` is `success` or an ErrorKind label.
pub fn token_refreshed(result: &'static str, elapsed: Duration, expires_in: Option<Duration>) {
    super::inc(&TOKEN_REFRESHES, &[result]);
    let elapsed_ms = elapsed.as_millis() as u64;
    match (result, expires_in) {
        ("success", Some(exp)) => {
            tracing::info!(
                elapsed_ms,
                expires_in_s = exp.as_secs(),
                "halo token refreshed"
            )
        }
        ("auth", _) => tracing::error!(
            elapsed_ms,
            "halo token request rejected: check client id, secret, scope and tenant"
        ),
        _ => tracing::warn!(elapsed_ms, result, "halo token request failed"),
    }
}

/// Marks one request in flight until dropped (so cancellation cannot leak it).
pub struct InflightGuard(());

pub fn api_request_started() -> InflightGuard {
    INFLIGHT.inc();
    InflightGuard(())
}

impl Drop for InflightGuard {
    fn drop(&mut self) {
        INFLIGHT.dec();
    }
}

/// Current value of a counter series, for tests and `/status`.
pub fn retries(reason: &str) -> u64 {
    RETRIES
        .get_metric_with_label_values(&[reason])
        .map(|c| c.get())
        .unwrap_or(0)
}

pub fn rate_limited() -> u64 {
    RATE_LIMITED.get()
}

pub fn token_refreshes(result: &str) -> u64 {
    TOKEN_REFRESHES
        .get_metric_with_label_values(&[result])
        .map(|c| c.get())
        .unwrap_or(0)
}

pub fn requests(endpoint: &str, method: &str, status: &str) -> u64 {
    REQUESTS
        .get_metric_with_label_values(&[endpoint, method, status])
        .map(|c| c.get())
        .unwrap_or(0)
}

pub fn inflight() -> i64 {
    INFLIGHT.get()
}

#[cfg(test)]
mod tests {
    #[test]
    fn init_exports_known_series_at_zero() {
        super::init();
        let text = crate::telemetry::render();
        for reason in super::RETRY_REASONS {
            let series = format!("baton_haloitsm_api_retries_total{{reason=\"{reason}\"}}");
            assert!(text.contains(&series), "{series}");
        }
        for result in super::TOKEN_RESULTS {
            let series = format!("baton_haloitsm_token_refreshes_total{{result=\"{result}\"}}");
            assert!(text.contains(&series), "{series}");
        }
        assert!(text.contains("baton_haloitsm_api_rate_limited_total"));
        assert!(text.contains("baton_haloitsm_api_inflight"));
    }
}
