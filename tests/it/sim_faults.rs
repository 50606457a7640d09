//! Fault and quirk switches, in-process (`SimControl`) and over the admin HTTP API:
//! 5xx injection, connection resets, stalls, latency, scripted faults, error styles,
//! `_warning`, ignored query parameters and unknown routes.

use std::time::{Duration, Instant};

use haloitsm_sim::{ErrorStyle, FaultConfig, LatencyConfig, NO_RESPONSE, QuirkConfig, SimConfig};
use serde_json::{Value, json};

use crate::support::sim::{Api, get_json_no_auth, start, token_response};

#[tokio::test]
async fn error_rate_answers_only_listed_statuses() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    sim.control()
        .set_faults(FaultConfig {
            error_rate: 1.0,
            error_statuses: vec![502, 504],
            ..FaultConfig::default()
        })
        .unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        seen.insert(api.get("/api/Team").await.status().as_u16());
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![502, 504]);

    // Scoped to a prefix, other paths are untouched.
    sim.control()
        .set_faults(FaultConfig {
            error_rate: 1.0,
            path_prefix: Some("/api/agent".into()),
            ..FaultConfig::default()
        })
        .unwrap();
    assert_eq!(api.get("/api/Team").await.status(), 200);
    assert!(api.get("/api/Agent").await.status().is_server_error());
    assert!(
        sim.control()
            .set_faults(FaultConfig {
                reset_rate: 2.0,
                ..FaultConfig::default()
            })
            .is_err()
    );
}

#[tokio::test]
async fn reset_gives_a_connection_error_and_the_next_request_works() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    ctl.clear_requests();
    ctl.reset_next(1, Some("/api/Agent"));
    let err = api
        .c
        .get(format!("{}/api/Agent", api.base))
        .bearer_auth(&api.token)
        .send()
        .await
        .expect_err("the connection is reset");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(err.status().is_none());
    assert_eq!(api.get("/api/Agent").await.status(), 200);
    let log = ctl.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].status, NO_RESPONSE);
    assert_eq!(log[1].status, 200);

    // The random rate does the same.
    ctl.set_faults(FaultConfig {
        reset_rate: 1.0,
        ..FaultConfig::default()
    })
    .unwrap();
    assert!(
        api.c
            .get(format!("{}/api/Team", api.base))
            .bearer_auth(&api.token)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn stall_outlasts_a_client_timeout_then_answers() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    // Longer than any test: the simulator wakes it when it stops.
    ctl.stall_next(1, Duration::from_secs(3600), None);
    let err = api
        .c
        .get(format!("{}/api/Team", api.base))
        .bearer_auth(&api.token)
        .timeout(Duration::from_millis(300))
        .send()
        .await
        .expect_err("client times out");
    assert!(err.is_timeout(), "{err:?}");
    // The client gave up while the simulator still held the request unanswered
    // (on a loaded machine the arrival may be logged a moment after the timeout).
    let mut stalled = None;
    for _ in 0..1000 {
        stalled = ctl.requests().into_iter().find(|r| r.path == "/api/Team");
        if stalled.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(stalled.expect("logged").status, NO_RESPONSE);

    // Without a short client timeout the stalled request is answered normally.
    ctl.stall_next(1, Duration::from_millis(400), None);
    let t0 = Instant::now();
    assert_eq!(api.get("/api/Team").await.status(), 200);
    assert!(t0.elapsed() >= Duration::from_millis(400));
}

#[tokio::test]
async fn latency_fixed_plus_jitter() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    sim.control().set_latency(LatencyConfig {
        fixed: Duration::from_millis(150),
        jitter: Duration::from_millis(50),
    });
    for _ in 0..3 {
        let t0 = Instant::now();
        assert_eq!(api.get("/api/Roles").await.status(), 200);
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(150), "{took:?}");
    }
    // Switched off, it is gone: an hour of latency, then the default, and the
    // next request is answered (with the hour still on, this test would hang).
    sim.control().set_latency(LatencyConfig {
        fixed: Duration::from_secs(3600),
        jitter: Duration::ZERO,
    });
    sim.control().set_latency(LatencyConfig::default());
    assert_eq!(api.get("/api/Roles").await.status(), 200);
}

#[tokio::test]
async fn fail_next_by_prefix_in_order() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    ctl.fail_next(2, 503, Some("/api/Agent"));
    assert_eq!(api.get("/api/Team").await.status(), 200);
    assert_eq!(api.get("/api/agent?pageinate=true").await.status(), 503);
    assert_eq!(api.get("/api/Agent/1").await.status(), 503);
    assert_eq!(api.get("/api/Agent/1").await.status(), 200);
    // Token endpoint can be failed too.
    ctl.fail_next(1, 500, Some("/auth"));
    assert_eq!(
        token_response(&api.c, &api.base, "sim-secret")
            .await
            .status(),
        500
    );
}

#[tokio::test]
async fn each_error_style_and_warning_quirk() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    for style in ErrorStyle::ALL {
        ctl.set_quirks(QuirkConfig {
            error_style: style,
            ..QuirkConfig::default()
        });
        let r = api.get("/api/Agent/999999").await;
        assert_eq!(r.status(), 404);
        let text = r.text().await.unwrap();
        match style {
            ErrorStyle::ResultCode => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["resultCode"], 404);
                assert!(v["errorMessage"].as_str().unwrap().contains("999999"));
            }
            ErrorStyle::ClassName => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert!(v["ClassName"].as_str().unwrap().starts_with("System."));
                assert!(v["Message"].is_string());
            }
            ErrorStyle::Message | ErrorStyle::FieldErrors => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert!(v["Message"].as_str().unwrap().contains("999999"));
            }
            ErrorStyle::PlainText => {
                assert!(serde_json::from_str::<Value>(&text).is_err());
                assert!(text.contains("999999"));
            }
        }
        // Injected 5xx use the same style.
        ctl.fail_next(1, 503, None);
        let r = api.get("/api/Team").await;
        assert_eq!(r.status(), 503);
        let text = r.text().await.unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&text).is_ok(),
            style != ErrorStyle::PlainText
        );
    }

    ctl.set_quirks(QuirkConfig {
        warning: Some("Licence expiring".into()),
        ..QuirkConfig::default()
    });
    let v = api.get_json("/api/Agent/1?includedetails=true").await;
    assert_eq!(v["_warning"], "Licence expiring");
    let v = api.get_json("/api/Team").await;
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|t| t["_warning"] == "Licence expiring")
    );
    let v = api.get_json("/api/Agent?pageinate=true&page_size=3").await;
    assert_eq!(v["_warning"], "Licence expiring");
    assert_eq!(v["results"][0]["_warning"], "Licence expiring");
    ctl.set_quirks(QuirkConfig::default());
    assert!(api.get_json("/api/Agent/1").await.get("_warning").is_none());
}

#[tokio::test]
async fn unknown_params_ignored_unknown_routes_404() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let a = api.get_json("/api/Agent").await;
    let b = api
        .get_json("/api/Agent?serach=typo&team_idz=3&includedisabled=maybe")
        .await;
    assert_eq!(a, b);
    assert_eq!(api.get("/api/NoSuchThing").await.status(), 404);
    assert_eq!(api.get("/nowhere").await.status(), 404);
    assert_eq!(api.get("/api/Agent/abc").await.status(), 400);
    assert_eq!(
        api.c
            .put(format!("{}/api/Agent", api.base))
            .bearer_auth(&api.token)
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    // Path case does not matter.
    assert_eq!(api.get_json("/API/AGENT").await, a);
}

#[tokio::test]
async fn admin_http_api_drives_the_same_switches() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let admin = |p: &str| format!("{}/_sim/{p}", api.base);
    let c = &api.c;
    let ok = |r: reqwest::Response| {
        assert!(r.status().is_success(), "{}", r.status());
    };

    ok(c.post(admin("fail_next"))
        .json(&json!({"n": 1, "status": 504, "path_prefix": "/api/Team"}))
        .send()
        .await
        .unwrap());
    assert_eq!(api.get("/api/Team").await.status(), 504);
    ok(c.post(admin("reset_next"))
        .json(&json!({"n": 1}))
        .send()
        .await
        .unwrap());
    assert!(
        c.get(format!("{}/api/Team", api.base))
            .bearer_auth(&api.token)
            .send()
            .await
            .is_err()
    );
    ok(c.post(admin("stall_next"))
        .json(&json!({"n": 1, "duration": "2s"}))
        .send()
        .await
        .unwrap());
    let err = c
        .get(format!("{}/api/Team", api.base))
        .bearer_auth(&api.token)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout());

    ok(c.put(admin("quirks"))
        .json(&json!({"error_style": "plain_text", "warning": "w"}))
        .send()
        .await
        .unwrap());
    assert_eq!(api.get_json("/api/Roles").await[0]["_warning"], "w");
    ok(c.put(admin("latency"))
        .json(&json!({"fixed": "1ms"}))
        .send()
        .await
        .unwrap());
    ok(c.put(admin("faults"))
        .json(&json!({"error_rate": 0.0}))
        .send()
        .await
        .unwrap());
    assert_eq!(
        c.put(admin("faults"))
            .json(&json!({"error_rate": 3.0}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );
    assert_eq!(
        c.put(admin("faults"))
            .json(&json!({"bogus": 1}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
            / 100,
        4
    );
    ok(c.put(admin("rate_limit"))
        .json(&json!({"requests": 1, "window": "10s"}))
        .send()
        .await
        .unwrap());
    let cfg: Value = get_json_no_auth(c, &admin("config")).await;
    assert_eq!(cfg["rate_limit"]["requests"], 1);
    assert_eq!(cfg["quirks"]["error_style"], "plain_text");
    ok(c.put(admin("rate_limit"))
        .json(&Value::Null)
        .send()
        .await
        .unwrap());

    ok(c.post(admin("expire_tokens")).send().await.unwrap());
    assert_eq!(api.get("/api/Team").await.status(), 401);

    let r = c
        .post(admin("agents"))
        .json(&json!({"name": "Admin Added", "team_ids": [1]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let snap: Value = get_json_no_auth(c, &admin("snapshot")).await;
    assert!(
        snap["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id)
    );
    ok(c.delete(admin(&format!("agents/{id}")))
        .send()
        .await
        .unwrap());
    assert_eq!(
        c.delete(admin(&format!("agents/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.post(admin("agents"))
            .json(&json!({"name": "x", "team_ids": [999]}))
            .send()
            .await
            .unwrap()
            .status(),
        400
    );

    let log: Value = get_json_no_auth(c, &admin("requests")).await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|r| !r["path"].as_str().unwrap().starts_with("/_sim"))
    );
    ok(c.delete(admin("requests")).send().await.unwrap());
    let stats: Value = get_json_no_auth(c, &admin("stats")).await;
    assert_eq!(stats["requests_logged"], 0);
    assert_eq!(stats["token_requests"], 1);
}

/// The hostile answers (issue 18) as the simulator serves them: each on its path only,
/// once per arming, the rest of the API untouched.
#[tokio::test]
async fn hostile_answers_replace_or_edit_one_answer() {
    use futures::StreamExt;
    use haloitsm_sim::{Hostile, RowEdit};

    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();

    ctl.hostile_next(1, Hostile::Html200, Some("/api/Agent"));
    assert_eq!(api.get("/api/Team").await.status(), 200);
    let html = api.get("/api/Agent").await;
    assert_eq!(html.status(), 200);
    assert_eq!(html.headers()["content-type"], "text/html; charset=utf-8");
    assert!(html.text().await.unwrap().starts_with("<!DOCTYPE html>"));
    assert!(api.get_json("/api/Agent").await.is_array(), "armed once");

    // An endless body keeps coming: read 4 MiB of it, then hang up.
    ctl.hostile_next(1, Hostile::EndlessBody, Some("/api/Agent"));
    let mut body = api.get("/api/Agent").await.bytes_stream();
    let mut read = 0usize;
    while read < 4 << 20 {
        read += body.next().await.expect("more").expect("chunk").len();
    }
    drop(body);

    ctl.hostile_next(1, Hostile::OversizedBody(300_000), Some("/api/Team"));
    let big = api.get("/api/Team").await;
    assert_eq!(big.content_length(), Some(300_000));
    assert_eq!(big.bytes().await.unwrap().len(), 300_000);

    ctl.hostile_next(1, Hostile::InvalidUtf8, Some("/api/Agent"));
    let bytes = api.get("/api/Agent").await.bytes().await.unwrap();
    assert!(std::str::from_utf8(&bytes).is_err());

    // Edits: the last row loses its id; every row takes a renamed field; record_count.
    ctl.hostile_next(
        1,
        Hostile::Rows {
            key: None,
            edit: RowEdit::Drop("id".into()),
            every: false,
        },
        Some("/api/Team"),
    );
    let teams = api.get_json("/api/Team").await;
    let rows = teams.as_array().unwrap();
    assert!(rows[0].get("id").is_some() && rows.last().unwrap().get("id").is_none());
    ctl.hostile_next(1, Hostile::RecordCount(json!(-5)), Some("/api/Agent"));
    let page = api
        .get_json("/api/Agent?pageinate=true&page_size=5&page_no=1")
        .await;
    assert_eq!(page["record_count"], -5);
}
