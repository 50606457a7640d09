//! TokenManager against the simulator: one token call for concurrent callers, refresh
//! before expiry, recovery from a 401 mid-stream, bad credentials, secrets never printed.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::Actor;
use baton_haloitsm::actor_slot::Slot;
use baton_haloitsm::halo::{self, ErrorKind, GetToken, HaloSettings, TokenManager};
use futures::StreamExt;
use haloitsm_sim::SimConfig;

use crate::support::halo::{SECRET, bounded, settings};
use crate::support::sim::{agent_ids, count_requests, count_status, start};

#[actix::test]
async fn concurrent_callers_share_one_token_request() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let calls = (0..20).map(|_| client.teams());
        let results = futures::future::join_all(calls).await;
        for r in &results {
            assert!(r.is_ok(), "{r:?}");
        }
        assert_eq!(sim.control().token_requests(), 1);
    })
    .await;
}

#[actix::test]
async fn token_refreshes_before_expiry() {
    bounded(20, async {
        let sim = start(SimConfig {
            token_lifetime: Duration::from_secs(2),
            ..SimConfig::default()
        })
        .await;
        // Both clocks, the simulator's (token expiry) and the token manager's (refresh,
        // expiry), are stepped by hand and together: 3.2 s pass without waiting.
        sim.control().freeze_clock();
        let origin = Instant::now();
        let elapsed = Arc::new(Mutex::new(Duration::ZERO));
        let clock = elapsed.clone();
        let settings = Arc::new(settings(&sim));
        let budget = Arc::new(halo::RateBudget::new(&settings));
        let tokens = TokenManager::new(settings.clone(), budget.clone())
            .with_clock(Arc::new(move || origin + *clock.lock().unwrap()))
            .start();
        let gateway = halo::ApiGateway::new(settings.clone(), Slot::new(tokens), budget).start();
        let client = halo::HaloClient::new(Slot::new(gateway));
        let step = Duration::from_millis(50);
        let mut calls = 0;
        while *elapsed.lock().unwrap() < Duration::from_millis(3200) {
            client
                .roles()
                .await
                .expect("no failure across token expiry");
            calls += 1;
            *elapsed.lock().unwrap() += step;
            sim.control().advance_clock(step);
        }
        let tokens = sim.control().token_requests();
        println!("{calls} calls over 3.2 s with a 2 s token: {tokens} token requests");
        assert_eq!(
            count_status(&sim, 401),
            0,
            "refreshed ahead, never presented an expired token"
        );
        assert!(tokens >= 2, "{tokens}");
        assert!(tokens <= 3, "refresh is shared, not per call: {tokens}");
    })
    .await;
}

#[actix::test]
async fn a_401_mid_stream_recovers() {
    bounded(20, async {
        let sim = start(SimConfig {
            agents: 250,
            ..SimConfig::default()
        })
        .await;
        let client = halo::start(settings(&sim));
        let stream = client.agents();
        futures::pin_mut!(stream);
        let mut ids = Vec::new();
        let mut page = 0;
        while let Some(rows) = stream.next().await {
            ids.extend(rows.expect("page").into_iter().map(|a| a.id));
            page += 1;
            if page == 1 {
                sim.control().expire_tokens();
            }
        }
        // Newest first: the client's default list order.
        let newest_first: Vec<i64> = agent_ids(&sim).into_iter().rev().collect();
        assert_eq!(ids, newest_first, "every agent, in order, once");
        assert_eq!(count_status(&sim, 401), 1);
        assert_eq!(sim.control().token_requests(), 2);
    })
    .await;
}

#[actix::test]
async fn bad_credentials_are_an_auth_error_without_retry_storm() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(HaloSettings {
            client_secret: "wrong-secret-value".into(),
            ..settings(&sim)
        });
        let concurrent = futures::future::join_all((0..10).map(|_| client.roles())).await;
        let mut errors: Vec<_> = concurrent
            .into_iter()
            .map(|r| r.expect_err("must fail"))
            .collect();
        for _ in 0..5 {
            errors.push(client.teams().await.expect_err("must fail"));
        }
        for e in &errors {
            assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
            assert!(!e.is_retryable());
            let text = format!("{e} {e:?}");
            assert!(text.contains("invalid_client"), "clear message: {text}");
            assert!(!text.contains("wrong-secret-value"), "{text}");
        }
        println!("bad credentials: {}", errors[0]);
        assert!(
            sim.control().token_requests() <= 2,
            "{}",
            sim.control().token_requests()
        );
        // Nothing reached the API without a token.
        assert_eq!(count_requests(&sim, "GET", "/api/"), 0);
    })
    .await;
}

#[actix::test]
async fn a_401_that_survives_a_refresh_is_an_auth_error() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        sim.control().fail_next(2, 401, Some("/api/Roles"));
        let e = client.roles().await.expect_err("two 401s");
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert_eq!(e.status(), Some(401));
        assert_eq!(sim.control().token_requests(), 2, "one refresh, not a loop");
        assert_eq!(count_requests(&sim, "GET", "/api/Roles"), 2);
        // The next call works again.
        client.roles().await.expect("recovered");
    })
    .await;
}

#[actix::test]
async fn secrets_never_appear_in_debug_or_errors() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let settings = Arc::new(settings(&sim));
        let budget = Arc::new(halo::RateBudget::new(&settings));
        let tm = TokenManager::new(settings.clone(), budget).start();
        let token = tm.send(GetToken).await.unwrap().expect("token");
        let raw = token.token.expose().to_string();
        assert!(!raw.is_empty());

        let client = halo::start((*settings).clone());
        sim.control().fail_next(1, 400, Some("/api/Team"));
        let validation = client.teams().await.expect_err("400");
        let missing = client.get_agent(987_654).await.expect_err("404");
        let texts = [
            format!("{settings:?}"),
            format!("{token:?}"),
            format!("{client:?}"),
            format!("{validation} {validation:?}"),
            format!("{missing} {missing:?}"),
        ];
        for t in &texts {
            assert!(!t.contains(SECRET), "client secret leaked: {t}");
            assert!(!t.contains(&raw), "token leaked: {t}");
        }
    })
    .await;
}

/// A mistyped `base_url` says what went wrong and where, not only "error sending request".
#[actix::test]
async fn unreachable_server_errors_name_the_root_cause() {
    let sim = start(SimConfig::default()).await;
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases = [
        (
            format!("http://127.0.0.1:{closed}"),
            format!("connection refused by 127.0.0.1:{closed}"),
        ),
        // `.invalid` never resolves (RFC 6761).
        (
            "http://halo.nosuch.invalid".to_string(),
            "DNS lookup failed for halo.nosuch.invalid".to_string(),
        ),
    ];
    for (url, want) in cases {
        let client = halo::start(HaloSettings {
            base_url: url.parse().unwrap(),
            max_attempts: 1,
            ..settings(&sim)
        });
        let e = client.roles().await.expect_err("nothing answers");
        let text = e.to_string();
        println!("{url}: {text}");
        assert!(text.contains("token request failed"), "{text}");
        assert!(text.contains(&want), "{want} in: {text}");
        assert_eq!(text.matches(&want).count(), 1, "said once: {text}");
    }
}
