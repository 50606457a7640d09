//! The rolling-window rate limit over real HTTP: exact admission count, Halo's 429 body, the
//! window sliding per request, optional Retry-After, and run-time switching.

use std::time::Duration;

use baton_haloitsm::sim::{RateLimitConfig, SimConfig};

use crate::support::sim::{Api, get_json_no_auth, start, token_response};

const BODY: &str = "Rate Limit Reached - 10 Requests per rolling 1 second window";

fn limit(retry_after: bool) -> Option<RateLimitConfig> {
    Some(RateLimitConfig {
        requests: 10,
        window: Duration::from_secs(1),
        retry_after,
    })
}

// The window is read from the simulator's clock, frozen here and moved by hand:
// these tests step through it exactly and never race the wall clock.

#[tokio::test]
async fn ten_per_second_then_429_then_slides() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await; // token call happens before the limit is on
    let ctl = sim.control();
    ctl.freeze_clock();
    ctl.set_rate_limit(limit(false)).unwrap();

    for i in 0..10 {
        assert_eq!(api.get("/api/Team").await.status(), 200, "request {i}");
    }
    let r = api.get("/api/Team").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_none());
    assert_eq!(r.text().await.unwrap(), BODY);
    assert_eq!(ctl.rate_limited(), 1);

    // A moment before the earlier requests are a full window old: still limited.
    ctl.advance_clock(Duration::from_millis(999));
    assert_eq!(api.get("/api/Team").await.status(), 429);
    // Once they are, requests pass again.
    ctl.advance_clock(Duration::from_millis(1));
    assert_eq!(api.get("/api/Team").await.status(), 200);

    // The token endpoint counts against the same window.
    ctl.set_rate_limit(None).unwrap();
    ctl.set_rate_limit(limit(false)).unwrap();
    for _ in 0..10 {
        assert_eq!(
            token_response(&api.c, &api.base, "sim-secret")
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        token_response(&api.c, &api.base, "sim-secret")
            .await
            .status(),
        429
    );
    assert_eq!(api.get("/api/Team").await.status(), 429);
    assert_eq!(ctl.rate_limited(), 4);
}

#[tokio::test]
async fn sliding_not_fixed_buckets() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    ctl.freeze_clock();
    ctl.set_rate_limit(limit(true)).unwrap();

    // 5 early, 5 half a window later: the window is full.
    for _ in 0..5 {
        assert_eq!(api.get("/api/Roles").await.status(), 200);
    }
    ctl.advance_clock(Duration::from_millis(500));
    for _ in 0..5 {
        assert_eq!(api.get("/api/Roles").await.status(), 200);
    }
    let r = api.get("/api/Roles").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1"); // 500 ms until the oldest leaves, rounded up

    // Just after the first five expire, exactly five more pass: a fixed 1 s bucket
    // starting at the first request would have admitted ten.
    ctl.advance_clock(Duration::from_millis(580));
    let mut passed = 0;
    for _ in 0..10 {
        if api.get("/api/Roles").await.status() == 200 {
            passed += 1;
        }
    }
    assert_eq!(passed, 5);
}

#[tokio::test]
async fn configured_at_start_with_halo_defaults() {
    let sim = start(SimConfig {
        rate_limit: Some(RateLimitConfig {
            requests: 3,
            ..RateLimitConfig::default()
        }),
        ..SimConfig::default()
    })
    .await;
    let api = Api::new(&sim).await; // 1 of 3
    assert_eq!(api.get("/api/Team").await.status(), 200);
    assert_eq!(api.get("/api/Team").await.status(), 200);
    let r = api.get("/api/Team").await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.text().await.unwrap(),
        "Rate Limit Reached - 3 Requests per rolling 5 minute window"
    );
    // Admin calls are never limited.
    let stats = get_json_no_auth(&api.c, &format!("{}/_sim/stats", api.base)).await;
    assert_eq!(stats["rate_limited"], 1);
}
