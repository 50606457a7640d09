//! A simulator on 127.0.0.1:0: start it, get a token, make authenticated calls, and
//! count what its request log saw.

use std::time::Duration;

use haloitsm_sim::{SimConfig, SimHandle};
use serde_json::Value;

pub async fn start(cfg: SimConfig) -> SimHandle {
    super::leaks::capture_in_process_logs();
    SimHandle::start(cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("simulator starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

pub async fn token_response(c: &reqwest::Client, base: &str, secret: &str) -> reqwest::Response {
    c.post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", secret),
            ("scope", "all"),
        ])
        .send()
        .await
        .unwrap()
}

pub async fn token(c: &reqwest::Client, base: &str) -> String {
    let r = token_response(c, base, "sim-secret").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// GET without a token (discovery, the admin API), the body as JSON whatever the status.
pub async fn get_json_no_auth(c: &reqwest::Client, url: &str) -> Value {
    c.get(url).send().await.unwrap().json().await.unwrap()
}

/// Ids of the simulator's agents, in id order.
pub fn agent_ids(sim: &SimHandle) -> Vec<i64> {
    sim.control()
        .snapshot()
        .agents
        .iter()
        .map(|a| a.id)
        .collect()
}

/// An authenticated client for one simulator.
pub struct Api {
    pub c: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub async fn new(sim: &SimHandle) -> Api {
        let c = client();
        let base = sim.base_url();
        let token = token(&c, &base).await;
        Api { c, base, token }
    }

    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.c
            .get(format!("{}{path_and_query}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    /// GET expecting 200 and JSON.
    pub async fn get_json(&self, path_and_query: &str) -> Value {
        let r = self.get(path_and_query).await;
        assert_eq!(r.status(), 200, "GET {path_and_query}");
        r.json().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.c
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> reqwest::Response {
        self.c
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.c
            .delete(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }
}

/// Ids of the rows of a JSON array.
pub fn ids(rows: &Value) -> Vec<i64> {
    rows.as_array()
        .expect("array")
        .iter()
        .map(|r| r["id"].as_i64().expect("id"))
        .collect()
}

/// Requests the simulator saw with this method under this path prefix (case-insensitive).
pub fn count_requests(sim: &SimHandle, method: &str, prefix: &str) -> usize {
    sim.control()
        .requests()
        .iter()
        .filter(|r| {
            r.method == method
                && r.path
                    .to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase())
        })
        .count()
}

/// Requests the simulator answered with this status.
pub fn count_status(sim: &SimHandle, status: u16) -> usize {
    sim.control()
        .requests()
        .iter()
        .filter(|r| r.status == status)
        .count()
}
