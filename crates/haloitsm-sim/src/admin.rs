//! Admin HTTP API under `/_sim/...`: `SimControl` for tests that run the simulator in another
//! process. JSON in, JSON out; never rate limited, faulted or logged.
//!
//! | method | path | body / answer |
//! |---|---|---|
//! | GET | `/_sim/health` | `ok` |
//! | GET | `/_sim/stats` | `{token_requests, rate_limited, requests_logged, agents}` |
//! | GET | `/_sim/config` | current `{rate_limit, latency, faults, quirks}` |
//! | PUT | `/_sim/rate_limit` | `RateLimitConfig` or `null` (off) |
//! | PUT | `/_sim/latency` | `LatencyConfig` |
//! | PUT | `/_sim/faults` | `FaultConfig` |
//! | PUT | `/_sim/quirks` | `QuirkConfig` (incl. `agent_list_writes`: replace / merge / ignore, for agent and team list writes) |
//! | POST | `/_sim/fail_next` | `{n, status, path_prefix?}` |
//! | POST | `/_sim/reset_next` | `{n, path_prefix?}` |
//! | POST | `/_sim/stall_next` | `{n, duration: "30s", path_prefix?}` |
//! | POST | `/_sim/clear_faults` | drops armed `*_next` faults |
//! | POST | `/_sim/expire_tokens` | |
//! | GET / DELETE | `/_sim/requests` | `[LoggedRequest]` / clear |
//! | GET | `/_sim/snapshot` | `TenantSnapshot` |
//! | POST | `/_sim/agents` | `SimAgent` (name required) → 201 `{id}` |
//! | DELETE | `/_sim/agents/{id}` | 200, or 404 |
//!
//! Invalid switch values answer 400 `{"error": ...}`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::config::{FaultConfig, LatencyConfig, QuirkConfig, RateLimitConfig};
use crate::control::SimControl;
use crate::error::SimError;
use crate::model::SimAgent;
use crate::state::Shared;

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/stats", get(stats))
        .route("/config", get(config))
        .route("/rate_limit", put(set_rate_limit))
        .route("/latency", put(set_latency))
        .route("/faults", put(set_faults))
        .route("/quirks", put(set_quirks))
        .route("/fail_next", post(fail_next))
        .route("/reset_next", post(reset_next))
        .route("/stall_next", post(stall_next))
        .route("/clear_faults", post(clear_faults))
        .route("/expire_tokens", post(expire_tokens))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/snapshot", get(snapshot))
        .route("/agents", post(insert_agent))
        .route("/agents/{id}", delete(delete_agent))
}

fn control(shared: Arc<Shared>) -> SimControl {
    SimControl { shared }
}

fn done() -> Response {
    Json(json!({"ok": true})).into_response()
}

fn refused(e: SimError) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": e.to_string()})),
    )
        .into_response()
}

async fn stats(State(s): State<Arc<Shared>>) -> Response {
    let c = control(s);
    Json(json!({
        "token_requests": c.token_requests(),
        "rate_limited": c.rate_limited(),
        "requests_logged": crate::state::lock(&c.shared.log).len(),
        "agents": c.agent_count(),
    }))
    .into_response()
}

async fn config(State(s): State<Arc<Shared>>) -> Response {
    Json(control(s).runtime_config()).into_response()
}

/// Body: a `RateLimitConfig` object, or `null` to turn the limit off.
async fn set_rate_limit(
    State(s): State<Arc<Shared>>,
    Json(cfg): Json<Option<RateLimitConfig>>,
) -> Response {
    control(s)
        .set_rate_limit(cfg)
        .map_or_else(refused, |()| done())
}

async fn set_latency(State(s): State<Arc<Shared>>, Json(cfg): Json<LatencyConfig>) -> Response {
    control(s).set_latency(cfg);
    done()
}

async fn set_faults(State(s): State<Arc<Shared>>, Json(cfg): Json<FaultConfig>) -> Response {
    control(s).set_faults(cfg).map_or_else(refused, |()| done())
}

async fn set_quirks(State(s): State<Arc<Shared>>, Json(cfg): Json<QuirkConfig>) -> Response {
    control(s).set_quirks(cfg);
    done()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailNext {
    n: u32,
    status: u16,
    path_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetNext {
    n: u32,
    path_prefix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StallNext {
    n: u32,
    #[serde(with = "humantime_serde")]
    duration: Duration,
    path_prefix: Option<String>,
}

async fn fail_next(State(s): State<Arc<Shared>>, Json(b): Json<FailNext>) -> Response {
    if !(400..=599).contains(&b.status) {
        return refused(SimError::InvalidConfig(format!(
            "status {} is not a 4xx/5xx status",
            b.status
        )));
    }
    control(s).fail_next(b.n, b.status, b.path_prefix.as_deref());
    done()
}

async fn reset_next(State(s): State<Arc<Shared>>, Json(b): Json<ResetNext>) -> Response {
    control(s).reset_next(b.n, b.path_prefix.as_deref());
    done()
}

async fn stall_next(State(s): State<Arc<Shared>>, Json(b): Json<StallNext>) -> Response {
    control(s).stall_next(b.n, b.duration, b.path_prefix.as_deref());
    done()
}

async fn clear_faults(State(s): State<Arc<Shared>>) -> Response {
    control(s).clear_scripted_faults();
    done()
}

async fn expire_tokens(State(s): State<Arc<Shared>>) -> Response {
    control(s).expire_tokens();
    done()
}

async fn requests(State(s): State<Arc<Shared>>) -> Response {
    Json(control(s).requests()).into_response()
}

async fn clear_requests(State(s): State<Arc<Shared>>) -> Response {
    control(s).clear_requests();
    done()
}

async fn snapshot(State(s): State<Arc<Shared>>) -> Response {
    Json(control(s).snapshot()).into_response()
}

/// Body: a `SimAgent` (only `name` is required; `id` is ignored). Answers `{"id": N}`.
async fn insert_agent(State(s): State<Arc<Shared>>, Json(agent): Json<SimAgent>) -> Response {
    match control(s).insert_agent(agent) {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(e) => refused(e),
    }
}

async fn delete_agent(State(s): State<Arc<Shared>>, Path(id): Path<i64>) -> Response {
    if control(s).delete_agent(id) {
        done()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such agent"})),
        )
            .into_response()
    }
}
