//! ApiGateway: the actor every Halo API request goes through.
//!
//! - **Owns** the only HTTP client for the resource server (reqwest + rustls).
//!   It classifies every outcome into a `halo::Error` once, and retries what is
//!   safe to retry. Pacing, the in-flight cap and the 429 pause live in the
//!   process-wide [`RateBudget`], which outlives this actor: a restarted
//!   gateway shares it with requests still in flight from its predecessor.
//! - **Never** holds the OAuth token longer than one attempt (it asks the
//!   TokenManager each time), never retries a non-idempotent write that may
//!   have been applied, never logs a raw path with ids as a metric label
//!   (the route template is the label), never logs a token or secret.
//! - **Mailbox:** default capacity (16). The handler returns a
//!   `ResponseFuture` that touches no actor state (everything shared lives in
//!   an `Arc`), so handlers interleave freely: the mailbox does *not* bound
//!   concurrency; the Semaphore bounds requests in flight (including those
//!   waiting for the pacer) and the pacer bounds the rate.
//!
//! Retry policy (per request):
//! - 429: pause everything until `Retry-After` (seconds) or an exponential
//!   backoff long enough for a rolling window to drain; then one request
//!   probes alone, and the others follow only once it got through. Bounded by
//!   `max_retry_elapsed` only: a 429 is pacing, not a failure of the request.
//! - 500/502/503/504/408, timeouts, connection resets: capped exponential
//!   backoff with jitter, at most `max_attempts` attempts and
//!   `max_retry_elapsed` in total; not at all for a non-idempotent request once
//!   it may have reached the server (only connect errors are safe then).
//! - 401: invalidate that token, retry once with a fresh one, then Auth error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use bytes::Bytes;
use rand::Rng;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::body::{BodyError, MAX_ERROR_BODY_BYTES, check_json_body, read_capped};
use super::error::{Error, ErrorKind, Result};
use super::lane::Lane;
use super::rate_budget::{RateBudget, exponential};
use super::settings::HaloSettings;
use super::token_manager::{AccessToken, GetToken, InvalidateToken, TokenManager};
use crate::actor_slot::Slot;
use crate::telemetry;

/// One API call. `endpoint` is the route template (`/api/Agent/{id}`) used as
/// the metrics label; `path` is the concrete path (`/api/Agent/42`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<HaloResponse, Error>")]
pub struct HaloRequest {
    pub method: Method,
    pub endpoint: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// Safe to send again even if a previous attempt may have been applied.
    pub idempotent: bool,
    /// Send a bearer token (false only for discovery such as `/api/authinfo`).
    pub authenticated: bool,
    /// Which lane of the rate budget this request waits in.
    pub lane: Lane,
}

impl HaloRequest {
    fn new(
        method: Method,
        endpoint: &'static str,
        path: impl Into<String>,
        idempotent: bool,
    ) -> Self {
        HaloRequest {
            method,
            endpoint,
            path: path.into(),
            query: Vec::new(),
            body: None,
            idempotent,
            authenticated: true,
            lane: Lane::Bulk,
        }
    }

    pub fn get(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::GET, endpoint, path, true)
    }

    /// Not idempotent unless marked with [`HaloRequest::idempotent`].
    pub fn post(endpoint: &'static str, path: impl Into<String>, body: Value) -> Self {
        let mut req = Self::new(Method::POST, endpoint, path, false);
        req.body = Some(body);
        req
    }

    pub fn delete(endpoint: &'static str, path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, endpoint, path, true)
    }

    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    pub fn lane(mut self, lane: Lane) -> Self {
        self.lane = lane;
        self
    }

    pub fn anonymous(mut self) -> Self {
        self.authenticated = false;
        self
    }
}

/// A 2xx answer (every other status is an `Error`).
#[derive(Debug, Clone)]
pub struct HaloResponse {
    pub status: u16,
    pub body: Bytes,
}

impl HaloResponse {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::protocol(format!("response body is not valid JSON: {e}")))
    }
}

pub struct ApiGateway {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ApiGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGateway")
            .field("base_url", &self.inner.settings.base_url.as_str())
            .field("budget", &self.inner.budget)
            .finish()
    }
}

struct Inner {
    settings: Arc<HaloSettings>,
    tokens: Slot<TokenManager>,
    http: Result<reqwest::Client>,
    budget: Arc<RateBudget>,
}

impl ApiGateway {
    /// `budget` is the process-wide one (see [`RateBudget`]): pass the same
    /// `Arc` to every incarnation of the gateway and to the TokenManager.
    pub fn new(
        settings: Arc<HaloSettings>,
        tokens: Slot<TokenManager>,
        budget: Arc<RateBudget>,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            // Idle pooled connections are a known source of resets
            // (docs/reference/peer-lessons.md §3.5).
            .pool_idle_timeout(Duration::from_secs(30))
            // Never follow a redirect: a 307/308 re-sends the body (the client secret, on the
            // token endpoint) to wherever Location points, plain http included. Halo's API
            // does not redirect, so a 3xx is answered as an error naming the status.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("baton-haloitsm/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("cannot build API HTTP client: {e}"),
                )
            });
        ApiGateway {
            inner: Arc::new(Inner {
                settings,
                tokens,
                http,
                budget,
            }),
        }
    }
}

impl Actor for ApiGateway {
    type Context = Context<Self>;
}

impl Handler<HaloRequest> for ApiGateway {
    type Result = ResponseFuture<Result<HaloResponse>>;

    fn handle(&mut self, req: HaloRequest, _: &mut Context<Self>) -> Self::Result {
        let inner = self.inner.clone();
        Box::pin(async move { inner.execute(req).await })
    }
}

/// What one attempt came to.
enum Attempt {
    Done(HaloResponse),
    RateLimited {
        retry_after: Option<Duration>,
        error: Error,
    },
    Unauthorized {
        generation: Option<u64>,
        error: Error,
    },
    Retry {
        reason: &'static str,
        maybe_applied: bool,
        error: Error,
    },
    Fail(Error),
}

impl Inner {
    async fn execute(&self, req: HaloRequest) -> Result<HaloResponse> {
        let method = req.method.as_str().to_string();
        let result = self.execute_inner(&req).await;
        if let Err((e, attempts)) = &result {
            telemetry::api::api_request_failed(
                req.endpoint,
                &method,
                e.kind().as_str(),
                *attempts,
                e.message(),
            );
        }
        result.map_err(|(e, _)| e.with_endpoint(req.endpoint))
    }

    async fn execute_inner(
        &self,
        req: &HaloRequest,
    ) -> std::result::Result<HaloResponse, (Error, u32)> {
        let http = self.http.as_ref().map_err(|e| (e.clone(), 0))?;
        let s = &self.settings;
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut reauthed = false;
        // The retry budget runs from the first attempt: time spent queueing
        // for a permit or the pacer is the budget's doing, not a failure.
        let mut first_attempt: Option<Instant> = None;
        loop {
            // The token first: a token fetch takes a turn of its own from the
            // same budget, so holding one here while waiting could deadlock.
            let outcome = match self.token(req).await {
                Ok(token) => {
                    let turn = self
                        .budget
                        .admit(req.lane)
                        .await
                        .map_err(|e| (Error::internal(e.to_string()), attempts))?;
                    attempts += 1;
                    first_attempt.get_or_insert_with(Instant::now);
                    let outcome = self.attempt(http, req, token.as_ref()).await;
                    if turn.is_probe() && !matches!(outcome, Attempt::RateLimited { .. }) {
                        // Anything but a 429 means the window has room again.
                        self.budget.end_probing();
                    }
                    outcome
                }
                Err(e) => {
                    attempts += 1;
                    token_outcome(e)
                }
            };
            let started = *first_attempt.get_or_insert_with(Instant::now);
            match outcome {
                Attempt::Done(resp) => {
                    self.budget.succeeded();
                    return Ok(resp);
                }
                Attempt::Fail(e) => return Err((e, attempts)),
                Attempt::RateLimited { retry_after, error } => {
                    // Safe for any method: a 429 was not applied.
                    let pause = self.budget.rate_limited(req.endpoint, retry_after);
                    if started.elapsed() + pause > s.max_retry_elapsed {
                        return Err((error, attempts));
                    }
                    telemetry::api::api_retry_scheduled(
                        req.endpoint,
                        "rate_limited",
                        attempts,
                        pause,
                    );
                    // admit() waits until the shared pause ends.
                }
                Attempt::Unauthorized { generation, error } => {
                    if reauthed {
                        return Err((
                            Error::new(
                                ErrorKind::Auth,
                                format!(
                                    "still unauthorized after a token refresh: {}",
                                    error.message()
                                ),
                            )
                            .with_status(401),
                            attempts,
                        ));
                    }
                    reauthed = true;
                    if let Some(generation) = generation {
                        self.tokens.addr().do_send(InvalidateToken { generation });
                    }
                    telemetry::api::api_retry_scheduled(
                        req.endpoint,
                        "unauthorized",
                        attempts,
                        Duration::ZERO,
                    );
                }
                Attempt::Retry {
                    reason,
                    maybe_applied,
                    error,
                } => {
                    failures += 1;
                    if maybe_applied && !req.idempotent {
                        return Err((error, attempts));
                    }
                    let delay = backoff(s.backoff_initial, s.backoff_max, failures);
                    if failures >= s.max_attempts || started.elapsed() + delay > s.max_retry_elapsed
                    {
                        return Err((error, attempts));
                    }
                    telemetry::api::api_retry_scheduled(req.endpoint, reason, attempts, delay);
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn token(&self, req: &HaloRequest) -> Result<Option<AccessToken>> {
        if !req.authenticated {
            return Ok(None);
        }
        match self.tokens.addr().send(GetToken).await {
            Ok(result) => result.map(Some),
            Err(e) => Err(Error::new(
                ErrorKind::Transient,
                format!("token manager unavailable: {e}"),
            )),
        }
    }

    async fn attempt(
        &self,
        http: &reqwest::Client,
        req: &HaloRequest,
        token: Option<&AccessToken>,
    ) -> Attempt {
        let method = req.method.as_str();
        let mut builder = http
            .request(req.method.clone(), self.settings.api_url(&req.path))
            .header(reqwest::header::ACCEPT, "application/json");
        if !req.query.is_empty() {
            builder = builder.query(&req.query);
        }
        if let Some(t) = token {
            builder = builder.bearer_auth(t.token.expose());
        }
        if let Some(body) = &req.body {
            builder = builder.json(body);
        }
        let sent = Instant::now();
        let response = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                let (class, maybe_applied) = transport_class(&e, false);
                telemetry::api::api_request_finished(req.endpoint, method, class, sent.elapsed());
                return transport_attempt(class, maybe_applied, e);
            }
        };
        let status = response.status();
        let retry_after = parse_retry_after(response.headers());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let limit = self.settings.max_response_bytes;
        let (limit, truncate) = if status.is_success() {
            (limit, false)
        } else {
            (limit.min(MAX_ERROR_BODY_BYTES), true)
        };
        let body = match read_capped(response, limit, truncate).await {
            Ok(b) => b,
            Err(BodyError::TooLarge { limit, declared }) => {
                telemetry::api::api_request_finished(
                    req.endpoint,
                    method,
                    status.as_str(),
                    sent.elapsed(),
                );
                // The same server would send the same body again: no retry.
                return Attempt::Fail(
                    BodyError::too_large(limit, declared).with_status(status.as_u16()),
                );
            }
            Err(BodyError::Transport(e)) => {
                // The server answered, so the request was processed.
                let (class, _) = transport_class(&e, true);
                telemetry::api::api_request_finished(req.endpoint, method, class, sent.elapsed());
                return transport_attempt(class, true, e);
            }
        };
        telemetry::api::api_request_finished(req.endpoint, method, status.as_str(), sent.elapsed());
        let code = status.as_u16();
        let token_secret = token.map(|t| t.token.clone()).unwrap_or_default();
        let scrub = [self.settings.client_secret.expose(), token_secret.expose()];
        if status.is_success() {
            if let Err(e) = check_json_body(&body, content_type.as_deref(), &scrub) {
                return Attempt::Fail(e.with_status(code));
            }
            return Attempt::Done(HaloResponse { status: code, body });
        }
        let error = Error::from_response(code, &body, &scrub);
        match error.kind() {
            ErrorKind::RateLimited => Attempt::RateLimited { retry_after, error },
            ErrorKind::Auth => Attempt::Unauthorized {
                generation: token.map(|t| t.generation),
                error,
            },
            ErrorKind::Transient => Attempt::Retry {
                reason: if code == 408 {
                    "timeout"
                } else {
                    "server_error"
                },
                // A 5xx may come after the write was applied.
                maybe_applied: true,
                error,
            },
            _ => Attempt::Fail(error),
        }
    }
}

/// A token failure decides the attempt: credentials wrong → fail; the auth
/// server rate limiting or flaky → treat like the same failure of the API.
fn token_outcome(e: Error) -> Attempt {
    match e.kind() {
        ErrorKind::RateLimited => Attempt::RateLimited {
            retry_after: None,
            error: e,
        },
        // The request was never sent, so even a POST may be retried.
        ErrorKind::Transient => Attempt::Retry {
            reason: "token",
            maybe_applied: false,
            error: e,
        },
        _ => Attempt::Fail(e),
    }
}

/// Transport failure class (also the metrics `status` label) and whether the
/// request may have reached the server.
fn transport_class(e: &reqwest::Error, after_response: bool) -> (&'static str, bool) {
    if e.is_connect() && !after_response {
        // No connection was established: nothing was sent.
        ("connect", false)
    } else if e.is_timeout() {
        ("timeout", true)
    } else {
        ("reset", true)
    }
}

fn transport_attempt(class: &'static str, maybe_applied: bool, e: reqwest::Error) -> Attempt {
    if e.is_builder() {
        return Attempt::Fail(Error::new(
            ErrorKind::Config,
            format!("invalid request: {}", e.without_url()),
        ));
    }
    Attempt::Retry {
        reason: class,
        maybe_applied,
        error: Error::new(
            ErrorKind::Transient,
            format!("{class}: {}", crate::halo::error::describe_transport(e)),
        ),
    }
}

/// `Retry-After` in seconds (integer or decimal). HTTP dates are ignored, the
/// exponential backoff then applies. Capped at 15 minutes against nonsense.
fn parse_retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = value.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(900.0)))
}

/// Exponential backoff with "equal jitter": half fixed, half random.
fn backoff(initial: Duration, max: Duration, n: u32) -> Duration {
    let d = exponential(initial, max, n);
    d / 2 + d.mul_f64(rand::rng().random_range(0.0..0.5))
}

#[cfg(test)]
mod tests;
