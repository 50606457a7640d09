//! Authentication: the token endpoint's success and OAuth error shapes, tenant checks, and
//! 401 on missing, unknown, expired and revoked bearer tokens.

use std::time::Duration;

use baton_haloitsm::sim::{ErrorStyle, QuirkConfig, SimConfig};
use serde_json::Value;

use crate::support::sim::{client, get_json_no_auth, start, token, token_response};

async fn get_agents(c: &reqwest::Client, base: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut req = c.get(format!("{base}/api/Agent"));
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn token_success_shape_and_count() {
    let sim = start(SimConfig::default()).await;
    let c = client();
    let base = sim.base_url();
    let r = token_response(&c, &base, "sim-secret").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    assert_eq!(v["scope"], "all");
    let tok = v["access_token"].as_str().unwrap();
    assert_eq!(get_agents(&c, &base, Some(tok)).await.status(), 200);
    assert_eq!(sim.control().token_requests(), 1);
}

#[tokio::test]
async fn wrong_secret_and_bad_requests() {
    let sim = start(SimConfig::default()).await;
    let c = client();
    let base = sim.base_url();
    let r = token_response(&c, &base, "nope").await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_client");
    assert!(v["error_description"].is_string());

    let r = c
        .post(format!("{base}/auth/token"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unsupported_grant_type"
    );

    let r = c
        .post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
            ("scope", "read:agents"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_scope");

    // Garbage body: still an OAuth error, never a panic.
    let r = c
        .post(format!("{base}/auth/token"))
        .body("\u{0}\u{1}{{not a form")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(sim.control().token_requests(), 4);
}

#[tokio::test]
async fn tenant_is_required_when_configured() {
    let sim = start(SimConfig {
        tenant: Some("acme".into()),
        ..SimConfig::default()
    })
    .await;
    let c = client();
    let base = sim.base_url();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", "sim-client"),
        ("client_secret", "sim-secret"),
        ("scope", "all"),
    ];
    for url in [
        format!("{base}/auth/token"),
        format!("{base}/auth/token?tenant=other"),
    ] {
        let r = c.post(&url).form(&form).send().await.unwrap();
        assert_eq!(r.status(), 401, "{url}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    }
    let r = c
        .post(format!("{base}/auth/token?tenant=acme"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Discovery needs no token and names the tenant.
    let v: Value = get_json_no_auth(&c, &format!("{base}/api/authinfo")).await;
    assert_eq!(v["auth_url"], format!("{base}/auth"));
    assert_eq!(v["tenant_id"], "acme");
}

#[tokio::test]
async fn missing_unknown_expired_and_revoked_bearers_get_401() {
    let sim = start(SimConfig {
        token_lifetime: Duration::from_millis(300),
        quirks: QuirkConfig {
            error_style: ErrorStyle::Message,
            ..QuirkConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let c = client();
    let base = sim.base_url();

    let r = get_agents(&c, &base, None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        v["Message"],
        "Authorization has been denied for this request."
    );
    assert_eq!(get_agents(&c, &base, Some("made-up")).await.status(), 401);

    // Expiry is read from the simulator's clock, stepped by hand: no sleeping.
    sim.control().freeze_clock();
    let tok = token(&c, &base).await;
    assert_eq!(get_agents(&c, &base, Some(&tok)).await.status(), 200);
    sim.control().advance_clock(Duration::from_millis(299));
    assert_eq!(get_agents(&c, &base, Some(&tok)).await.status(), 200);
    sim.control().advance_clock(Duration::from_millis(1));
    assert_eq!(get_agents(&c, &base, Some(&tok)).await.status(), 401);

    // Refresh works; expire_tokens revokes what was issued.
    let tok = token(&c, &base).await;
    assert_eq!(get_agents(&c, &base, Some(&tok)).await.status(), 200);
    sim.control().expire_tokens();
    assert_eq!(get_agents(&c, &base, Some(&tok)).await.status(), 401);
    let tok = token(&c, &base).await;
    assert_eq!(get_agents(&c, &base, Some(&tok)).await.status(), 200);
    assert_eq!(sim.control().token_requests(), 3);
}
