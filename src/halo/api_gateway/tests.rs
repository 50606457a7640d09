//! Unit tests of the ApiGateway (`api_gateway.rs`).

use super::*;

use super::super::rate_budget::{exponential, pacing_quota};

#[test]
fn quota_respects_budget() {
    for (requests, window) in [(250, 300), (27, 3), (2, 1), (1, 1), (10_000, 60)] {
        let window = Duration::from_secs(window);
        let q = pacing_quota(requests, window);
        let burst = q.burst_size().get() as f64;
        let per_window = window.as_secs_f64() / q.replenish_interval().as_secs_f64();
        assert!(
            burst + per_window <= requests.max(2) as f64 + 1e-6,
            "{requests}: {burst} + {per_window}"
        );
        assert!(
            burst + per_window >= requests as f64 * 0.8 - 1.0,
            "{requests}: too conservative"
        );
    }
}

#[test]
fn backoff_grows_and_caps() {
    let i = Duration::from_millis(100);
    let m = Duration::from_secs(1);
    assert_eq!(exponential(i, m, 1), i);
    assert_eq!(exponential(i, m, 3), Duration::from_millis(400));
    assert_eq!(exponential(i, m, 50), m);
    for n in 1..10 {
        let d = backoff(i, m, n);
        let e = exponential(i, m, n);
        assert!(d >= e / 2 && d <= e, "{d:?} vs {e:?}");
    }
}

#[test]
fn retry_after_parsing() {
    let mut h = reqwest::header::HeaderMap::new();
    assert_eq!(parse_retry_after(&h), None);
    h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
    assert_eq!(parse_retry_after(&h), Some(Duration::from_secs(3)));
    h.insert(reqwest::header::RETRY_AFTER, "0.5".parse().unwrap());
    assert_eq!(parse_retry_after(&h), Some(Duration::from_millis(500)));
    h.insert(
        reqwest::header::RETRY_AFTER,
        "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
    );
    assert_eq!(parse_retry_after(&h), None);
}
