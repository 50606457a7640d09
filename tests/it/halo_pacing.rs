//! ApiGateway pacing and 429 handling against the simulator's true rolling window.

use std::time::{Duration, Instant};

use baton_haloitsm::halo::{self, HaloSettings};
use baton_haloitsm::telemetry;
use haloitsm_sim::{RateLimitConfig, SimConfig};

use crate::support::halo::{bounded, settings};
use crate::support::metrics::ran_in_own_process;
use crate::support::sim::{count_requests, count_status, start};

#[actix::test]
async fn paced_requests_never_draw_a_429() {
    bounded(25, async {
        let window = Duration::from_secs(3);
        let sim = start(SimConfig {
            rate_limit: Some(RateLimitConfig {
                requests: 30,
                window,
                retry_after: false,
            }),
            ..SimConfig::default()
        })
        .await;
        let client = halo::start(HaloSettings {
            rate_limit_requests: 27,
            rate_limit_window: window,
            max_in_flight: 8,
            ..settings(&sim)
        });
        let n = 80usize;
        let start = Instant::now();
        let results = futures::future::join_all((0..n).map(|_| client.roles())).await;
        let elapsed = start.elapsed();
        for r in &results {
            assert!(r.is_ok(), "{r:?}");
        }
        assert_eq!(sim.control().rate_limited(), 0, "paced proactively: no 429");
        // The sim lets 30 through at once, then 30 per 3 s: 80 cannot finish before
        // (80 - 30) / 30 * 3 s = 5 s, whoever sends them.
        let floor = window.mul_f64((n as f64 - 30.0) / 30.0);
        println!(
            "{n} requests under a 30/3s rolling window (budget 27/3s): {:.2} s, floor {:.2} s, {:.1} req/s",
            elapsed.as_secs_f64(),
            floor.as_secs_f64(),
            n as f64 / elapsed.as_secs_f64()
        );
        assert!(elapsed >= floor, "{elapsed:?}");
        // How close to the budget it runs is a benchmark's question (benches/gateway.rs,
        // FULL_SYNC_BUDGET=1 benches/full_sync.rs), not a test's.
    })
    .await;
}

async fn storm(retry_after: bool) {
    let sim = start(SimConfig {
        rate_limit: Some(RateLimitConfig {
            requests: 5,
            window: Duration::from_secs(1),
            retry_after,
        }),
        ..SimConfig::default()
    })
    .await;
    // Unpaced client: it will run into the limit and must recover.
    let client = halo::start(HaloSettings {
        max_in_flight: 4,
        ..settings(&sim)
    });
    let before_metric = telemetry::api::rate_limited();
    let before_retries = telemetry::api::retries("rate_limited");
    let start = Instant::now();
    let results = futures::future::join_all((0..20).map(|_| client.roles())).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    let sim_429 = sim.control().rate_limited();
    let metric = telemetry::api::rate_limited() - before_metric;
    let retries = telemetry::api::retries("rate_limited") - before_retries;
    println!(
        "429 storm (Retry-After {retry_after}): 20 requests in {:.2} s, {sim_429} 429s",
        start.elapsed().as_secs_f64()
    );
    assert!(sim_429 >= 1, "the storm happened");
    assert_eq!(metric, sim_429, "every 429 counted");
    assert_eq!(retries, sim_429, "every 429 retried");
    assert_eq!(count_status(&sim, 429) as u64, sim_429);
    // All traffic pauses after a 429 and one probe goes first, so 429s come only from
    // requests already in flight and from bursts after a probe succeeds (this client is
    // deliberately unpaced). Without the shared pause, four workers retrying would draw
    // hundreds of 429s in these seconds.
    assert!(sim_429 <= 40, "no hammering: {sim_429}");
}

#[actix::test]
async fn a_429_storm_with_retry_after_recovers() {
    if ran_in_own_process(module_path!(), "a_429_storm_with_retry_after_recovers") {
        return;
    }
    bounded(20, storm(true)).await;
}

#[actix::test]
async fn a_429_storm_without_retry_after_recovers() {
    if ran_in_own_process(module_path!(), "a_429_storm_without_retry_after_recovers") {
        return;
    }
    bounded(20, storm(false)).await;
}

#[actix::test]
async fn a_429_on_a_post_is_retried_because_it_was_not_applied() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let tt = client.ticket_types().await.unwrap()[0].id;
        sim.control().fail_next(2, 429, Some("/api/Tickets"));
        let ticket = client
            .create_ticket(&serde_json::json!({"tickettype_id": tt, "summary": "after 429"}))
            .await
            .expect("retried after 429");
        assert!(ticket.id > 0);
        assert_eq!(count_requests(&sim, "POST", "/api/Tickets"), 3);
        assert_eq!(sim.control().snapshot().tickets.len(), 1, "created once");
    })
    .await;
}

#[actix::test]
async fn a_429_longer_than_the_retry_budget_fails_as_rate_limited() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(HaloSettings {
            rate_limited_backoff_initial: Duration::from_secs(5),
            rate_limited_backoff_max: Duration::from_secs(5),
            max_retry_elapsed: Duration::from_secs(2),
            ..settings(&sim)
        });
        sim.control().fail_next(1, 429, Some("/api/Roles"));
        let e = client.roles().await.expect_err("budget exceeded");
        assert_eq!(e.kind(), halo::ErrorKind::RateLimited, "{e}");
        assert!(e.is_retryable());
        // A 5 s backoff does not fit a 2 s budget: it gave up at once, without
        // sleeping and retrying (one request, the 429).
        assert_eq!(count_requests(&sim, "GET", "/api/Roles"), 1);
    })
    .await;
}
