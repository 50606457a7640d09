//! ApiGateway retries against the simulator: 5xx and resets retried and counted, writes that
//! may have been applied never retried, stalls classified as transient timeouts.

use std::time::Duration;

use baton_haloitsm::halo::{self, ErrorKind, HaloSettings};
use baton_haloitsm::telemetry;
use haloitsm_sim::{NO_RESPONSE, SimConfig};
use serde_json::json;

use crate::support::halo::{bounded, settings};
use crate::support::metrics::ran_in_own_process;
use crate::support::sim::{count_requests, start};

#[actix::test]
async fn server_errors_are_retried_and_counted() {
    if ran_in_own_process(module_path!(), "server_errors_are_retried_and_counted") {
        return;
    }
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(HaloSettings {
            max_attempts: 5,
            ..settings(&sim)
        });
        let before = telemetry::api::retries("server_error");
        let statuses = ["500", "502", "503", "504", "200"];
        let requests_before =
            statuses.map(|status| telemetry::api::requests("/api/Roles", "GET", status));
        for status in [500, 502, 503, 504] {
            sim.control().fail_next(1, status, Some("/api/Roles"));
        }
        let roles = client.roles().await.expect("succeeds on the 5th attempt");
        assert!(!roles.is_empty());
        assert_eq!(telemetry::api::retries("server_error") - before, 4);
        assert_eq!(count_requests(&sim, "GET", "/api/Roles"), 5);
        // One request of each status, counted under its own label.
        for (status, before) in statuses.iter().zip(requests_before) {
            assert_eq!(
                telemetry::api::requests("/api/Roles", "GET", status) - before,
                1,
                "{status}"
            );
        }
    })
    .await;
}

#[actix::test]
async fn attempts_are_capped() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(HaloSettings {
            max_attempts: 3,
            ..settings(&sim)
        });
        sim.control().fail_next(10, 503, Some("/api/Roles"));
        let e = client.roles().await.expect_err("gives up");
        assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
        assert_eq!(e.status(), Some(503));
        assert!(e.is_retryable());
        assert_eq!(count_requests(&sim, "GET", "/api/Roles"), 3);
        sim.control().clear_scripted_faults();
    })
    .await;
}

#[actix::test]
async fn connection_resets_are_retried_and_counted() {
    if ran_in_own_process(module_path!(), "connection_resets_are_retried_and_counted") {
        return;
    }
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let before = telemetry::api::retries("reset");
        sim.control().reset_next(2, Some("/api/Team"));
        let teams = client.teams().await.expect("succeeds after resets");
        assert!(!teams.is_empty());
        assert_eq!(telemetry::api::retries("reset") - before, 2);
        assert_eq!(count_requests(&sim, "GET", "/api/Team"), 3);
    })
    .await;
}

async fn ticket_type(client: &halo::HaloClient) -> i64 {
    client.ticket_types().await.expect("ticket types")[0].id
}

#[actix::test]
async fn a_post_is_not_retried_after_a_5xx() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let tt = ticket_type(&client).await;
        sim.control().fail_next(1, 503, Some("/api/Tickets"));
        let e = client
            .create_ticket(&json!({"tickettype_id": tt, "summary": "x"}))
            .await
            .expect_err("not retried");
        assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
        assert_eq!(count_requests(&sim, "POST", "/api/Tickets"), 1);
    })
    .await;
}

#[actix::test]
async fn a_post_is_not_retried_after_a_reset() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let tt = ticket_type(&client).await;
        sim.control().reset_next(1, Some("/api/Tickets"));
        let e = client
            .create_ticket(&json!({"tickettype_id": tt, "summary": "x"}))
            .await
            .expect_err("not retried");
        assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
        assert_eq!(count_requests(&sim, "POST", "/api/Tickets"), 1);
    })
    .await;
}

#[actix::test]
async fn an_idempotent_post_is_retried() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let agent = client
            .get_agent(sim.control().snapshot().agents[0].id)
            .await
            .unwrap();
        sim.control().fail_next(1, 502, Some("/api/Agent"));
        // An update carries its id: sending it twice is harmless, so it is retried.
        let updated = client
            .upsert_agent(&json!({"id": agent.id, "jobtitle": "Retried"}))
            .await
            .expect("retried update");
        assert_eq!(updated.jobtitle, "Retried");
        assert_eq!(count_requests(&sim, "POST", "/api/Agent"), 2);
    })
    .await;
}

#[actix::test]
async fn a_stall_hits_the_timeout_and_is_transient() {
    if ran_in_own_process(module_path!(), "a_stall_hits_the_timeout_and_is_transient") {
        return;
    }
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(HaloSettings {
            request_timeout: Duration::from_millis(300),
            max_attempts: 1,
            ..settings(&sim)
        });
        client.roles().await.expect("warm up the token");
        // The stall outlasts any test; the simulator wakes it when it stops.
        sim.control()
            .stall_next(1, Duration::from_secs(3600), Some("/api/Roles"));
        let e = client.roles().await.expect_err("times out");
        assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
        assert!(e.message().contains("timeout"), "{e}");
        // The client gave up while the simulator still held the request
        // unanswered (the warm-up call is the first /api/Roles, answered 200).
        let mut stalled = None;
        for _ in 0..1000 {
            stalled = sim
                .control()
                .requests()
                .into_iter()
                .filter(|r| r.path == "/api/Roles")
                .nth(1);
            if stalled.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(stalled.expect("logged").status, NO_RESPONSE);

        // With a second attempt allowed, the stall is retried (GET is idempotent).
        let client = halo::start(HaloSettings {
            request_timeout: Duration::from_millis(300),
            max_attempts: 2,
            ..settings(&sim)
        });
        let before = telemetry::api::retries("timeout");
        sim.control()
            .stall_next(1, Duration::from_secs(3), Some("/api/Roles"));
        client.roles().await.expect("second attempt succeeds");
        assert_eq!(telemetry::api::retries("timeout") - before, 1);
    })
    .await;
}
