//! TokenManager: the actor that owns the Halo OAuth client-credentials token.
//!
//! - **Owns** the cached access token (a `Secret`), the single in-flight token
//!   request (a `Shared` future every waiter clones, so N concurrent callers
//!   cause one token call), and a short negative cache of credential
//!   rejections. It owns a small reqwest client used **only** for the
//!   authorisation server; the API client lives in the ApiGateway. Every token
//!   request takes a priority turn from the process-wide [`RateBudget`], so it
//!   counts against the same pacer, in-flight cap and 429 pause as the API.
//! - **Never** talks to the resource server, retries a rejected credential,
//!   logs or formats the token or the client secret.
//! - **Mailbox:** default capacity (16). Every handler finishes synchronously
//!   (a ready value or a clone of the shared refresh future), so the mailbox
//!   drains immediately; waiting happens in the caller's future, not here.
//!   The cache is updated by one `ctx.spawn`ed completion, so interleaving
//!   waiters can never write stale state.
//!
//! Refresh policy: the token is refreshed in the background once
//! `token_refresh_fraction` of `expires_in` has passed, while callers keep
//! using the still-valid token; it is treated as expired a little before the
//! server expires it (clock skew, request latency).

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use serde::Deserialize;

use super::body::{BodyError, MAX_ERROR_BODY_BYTES, check_json_body, read_capped};
use super::error::{Error, ErrorKind, Result};
use super::lane::Lane;
use super::rate_budget::RateBudget;
use super::settings::HaloSettings;
use crate::secret::Secret;
use crate::telemetry;

/// After the authorisation server rejected our credentials, answer with that
/// error for this long instead of asking again: a bad secret must not turn
/// into a request storm. A rebuilt TokenManager starts clean.
pub const AUTH_FAILURE_COOLDOWN: Duration = Duration::from_secs(30);

/// The label token requests carry in rate-limit telemetry.
const TOKEN_ENDPOINT: &str = "/auth/token";

/// Halo documents `expires_in` = 3600; used when the field is missing or zero.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// A bearer token plus the generation that produced it. The generation lets
/// `InvalidateToken` drop exactly the token that drew the 401, not a newer one.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: Secret,
    pub generation: u64,
}

/// Ask for a usable token (cached, or fetched once for all concurrent callers).
#[derive(Message)]
#[rtype(result = "Result<AccessToken, Error>")]
pub struct GetToken;

/// The resource server answered 401 to a request carrying this generation.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvalidateToken {
    pub generation: u64,
}

#[derive(Clone)]
struct Fetched {
    token: AccessToken,
    refresh_at: Instant,
    expires_at: Instant,
}

type RefreshFuture = Shared<BoxFuture<'static, Result<Fetched>>>;

/// Where the token manager reads the time for refresh, expiry and the
/// auth-failure cooldown: the monotonic system clock, unless a test steps its
/// own (`TokenManager::with_clock`) to cross a token's lifetime without waiting.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

pub struct TokenManager {
    settings: Arc<HaloSettings>,
    budget: Arc<RateBudget>,
    /// Auth-server client; `Err` if reqwest could not be built (reported per call).
    http: Result<reqwest::Client>,
    cached: Option<Fetched>,
    inflight: Option<RefreshFuture>,
    generation: u64,
    rejected: Option<(Instant, Error)>,
    clock: Clock,
}

impl std::fmt::Debug for TokenManager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenManager")
            .field("token_url", &self.settings.token_url().as_str())
            .field("client_id", &self.settings.client_id)
            .field(
                "cached_generation",
                &self.cached.as_ref().map(|c| c.token.generation),
            )
            .field("refreshing", &self.inflight.is_some())
            .finish()
    }
}

impl TokenManager {
    pub fn new(settings: Arc<HaloSettings>, budget: Arc<RateBudget>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(settings.connect_timeout)
            // Never follow a redirect: a 307/308 re-sends the body (the client secret, on the
            // token endpoint) to wherever Location points, plain http included. Halo's API
            // does not redirect, so a 3xx is answered as an error naming the status.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Config,
                    format!("cannot build auth HTTP client: {e}"),
                )
            });
        TokenManager {
            settings,
            budget,
            http,
            cached: None,
            inflight: None,
            generation: 0,
            rejected: None,
            clock: Arc::new(Instant::now),
        }
    }

    /// The same manager, reading the time from `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The in-flight refresh, starting one if none is running.
    fn refresh(&mut self, ctx: &mut Context<Self>) -> RefreshFuture {
        if let Some(fut) = &self.inflight {
            return fut.clone();
        }
        self.generation += 1;
        let fut = fetch_token(
            self.http.clone(),
            self.settings.clone(),
            self.budget.clone(),
            self.generation,
            self.clock.clone(),
        )
        .boxed()
        .shared();
        self.inflight = Some(fut.clone());
        // The one place the cache is written.
        ctx.spawn(
            actix::fut::wrap_future::<_, Self>(fut.clone()).map(|res, act, _| {
                act.inflight = None;
                match res {
                    Ok(fetched) => {
                        act.rejected = None;
                        act.cached = Some(fetched);
                    }
                    Err(e) if e.kind() == ErrorKind::Auth => {
                        act.rejected = Some(((act.clock)() + AUTH_FAILURE_COOLDOWN, e));
                    }
                    Err(_) => {}
                }
            }),
        );
        fut
    }
}

impl Actor for TokenManager {
    type Context = Context<Self>;
}

impl Handler<GetToken> for TokenManager {
    type Result = ResponseFuture<Result<AccessToken>>;

    fn handle(&mut self, _: GetToken, ctx: &mut Context<Self>) -> Self::Result {
        let now = (self.clock)();
        if let Some((until, err)) = &self.rejected {
            if now < *until {
                let err = err.clone();
                return Box::pin(async move { Err(err) });
            }
            self.rejected = None;
        }
        if let Some(cached) = &self.cached {
            if now < cached.expires_at {
                let token = cached.token.clone();
                if now >= cached.refresh_at {
                    // Refresh ahead in the background; keep serving the valid token.
                    // The spawned completion updates the cache; nobody awaits this clone.
                    drop(self.refresh(ctx));
                }
                return Box::pin(async move { Ok(token) });
            }
            self.cached = None;
        }
        let fut = self.refresh(ctx);
        Box::pin(async move { fut.await.map(|f| f.token) })
    }
}

impl Handler<InvalidateToken> for TokenManager {
    type Result = ();

    fn handle(&mut self, msg: InvalidateToken, _: &mut Context<Self>) {
        // Only the token that drew the 401: concurrent 401s for the same
        // generation then cause one refresh, and a newer token survives.
        if self
            .cached
            .as_ref()
            .is_some_and(|c| c.token.generation == msg.generation)
        {
            tracing::debug!(
                generation = msg.generation,
                "halo token invalidated after 401"
            );
            self.cached = None;
        }
    }
}

/// The token endpoint's answer. Never derive Debug here: it holds the token.
#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default, deserialize_with = "super::model::lenient::opt_int")]
    expires_in: Option<i64>,
}

async fn fetch_token(
    http: Result<reqwest::Client>,
    settings: Arc<HaloSettings>,
    budget: Arc<RateBudget>,
    generation: u64,
    clock: Clock,
) -> Result<Fetched> {
    let started = Instant::now();
    let queued_at = clock();
    let result = match budget.admit(Lane::Priority).await {
        Ok(turn) => {
            // Lifetimes count from when the request is sent, not queued.
            let result = request_token(http, &settings, generation, clock()).await;
            match &result {
                Err(e) if e.kind() == ErrorKind::RateLimited => {
                    budget.rate_limited(TOKEN_ENDPOINT, None);
                }
                _ if turn.is_probe() => budget.end_probing(),
                _ => {}
            }
            result
        }
        Err(e) => Err(Error::internal(e.to_string())),
    };
    let label = match &result {
        Ok(_) => "success",
        Err(e) => e.kind().as_str(),
    };
    telemetry::api::token_refreshed(
        label,
        started.elapsed(),
        result
            .as_ref()
            .ok()
            .map(|f| f.expires_at.saturating_duration_since(queued_at)),
    );
    result
}

async fn request_token(
    http: Result<reqwest::Client>,
    settings: &HaloSettings,
    generation: u64,
    started: Instant,
) -> Result<Fetched> {
    let http = http?;
    let secret = settings.client_secret.expose();
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", settings.client_id.as_str()),
        ("client_secret", secret),
        ("scope", settings.scope.as_str()),
    ];
    let response = http
        .post(settings.token_url())
        .header(reqwest::header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .map_err(|e| {
            let kind = transport_kind(&e);
            Error::new(
                kind,
                format!(
                    "token request failed: {}",
                    crate::halo::error::describe_transport(e)
                ),
            )
        })?;
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let ok = (200..300).contains(&status);
    let limit = if ok {
        settings.max_response_bytes
    } else {
        settings.max_response_bytes.min(MAX_ERROR_BODY_BYTES)
    };
    let body = read_capped(response, limit, !ok)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit, declared } => {
                token_answer(BodyError::too_large(limit, declared))
            }
            BodyError::Transport(e) => Error::new(
                ErrorKind::Transient,
                format!("token response unreadable: {}", e.without_url()),
            ),
        })?;
    let scrub = [secret];
    match status {
        200..=299 => check_json_body(&body, content_type.as_deref(), &scrub)
            .map_err(|e| token_answer(e).with_status(status))?,
        429 => return Err(Error::from_response(429, &body, &scrub)),
        500..=599 => {
            // A wrong tenant on a shared auth server is known to surface as a 500.
            let e = Error::from_response_as(ErrorKind::Transient, status, &body, &scrub);
            return Err(Error::new(
                ErrorKind::Transient,
                format!(
                    "token endpoint error (check tenant if this persists): {}",
                    e.message()
                ),
            )
            .with_status(status));
        }
        // 400 invalid_client/invalid_scope, 401, 403: the credentials or the
        // app registration are wrong; retrying cannot help.
        _ => {
            let e = Error::from_response_as(ErrorKind::Auth, status, &body, &scrub);
            return Err(Error::new(
                ErrorKind::Auth,
                format!(
                    "token request rejected (check client id, secret, scope, tenant): {}",
                    e.message()
                ),
            )
            .with_status(status));
        }
    }
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| Error::protocol(format!("token response is not the expected JSON: {e}")))?;
    let token = parsed
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::protocol("token response has no access_token"))?;
    let lifetime = match parsed.expires_in {
        Some(s) if s > 0 => Duration::from_secs(s as u64),
        _ => DEFAULT_LIFETIME,
    };
    let (refresh_after, usable_for) = token_timing(lifetime, settings.token_refresh_fraction);
    Ok(Fetched {
        token: AccessToken {
            token: Secret::new(token),
            generation,
        },
        // Measured from when we *sent* the request: conservative.
        refresh_at: started + refresh_after,
        expires_at: started + usable_for,
    })
}

/// A Protocol error about the token answer: the caller's endpoint is an API route, so
/// the message says the failure came from the authorisation server.
fn token_answer(e: Error) -> Error {
    Error::protocol(format!(
        "token answer from {TOKEN_ENDPOINT}: {}",
        e.message()
    ))
}

/// (refresh after, stop using after) for a token of `lifetime`.
/// The safety margin before real expiry is half the refresh lead, capped at
/// 30 s, so a request sent just before the cutoff still arrives in time.
pub fn token_timing(lifetime: Duration, fraction: f64) -> (Duration, Duration) {
    let fraction = if fraction.is_finite() {
        fraction.clamp(0.1, 0.95)
    } else {
        0.8
    };
    let refresh_after = lifetime.mul_f64(fraction);
    let margin = (lifetime.saturating_sub(refresh_after) / 2).min(Duration::from_secs(30));
    (refresh_after, lifetime.saturating_sub(margin))
}

/// Transport failures talking to the auth server. No HTTP exchange happened,
/// so this is transient, except a malformed request which is our own config.
fn transport_kind(e: &reqwest::Error) -> ErrorKind {
    if e.is_builder() {
        ErrorKind::Config
    } else {
        ErrorKind::Transient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_refreshes_at_fraction_and_stops_before_expiry() {
        let (refresh, usable) = token_timing(Duration::from_secs(3600), 0.8);
        assert_eq!(refresh, Duration::from_secs(2880));
        assert_eq!(usable, Duration::from_secs(3570));
        let (refresh, usable) = token_timing(Duration::from_secs(2), 0.8);
        assert_eq!(refresh, Duration::from_millis(1600));
        assert_eq!(usable, Duration::from_millis(1800));
        assert!(refresh < usable);
        // Nonsense fractions are clamped, never panic.
        let (refresh, _) = token_timing(Duration::from_secs(100), f64::NAN);
        assert_eq!(refresh, Duration::from_secs(80));
        let (refresh, usable) = token_timing(Duration::from_secs(100), 5.0);
        assert!(refresh <= usable);
    }

    #[test]
    fn debug_hides_secrets() {
        let settings = Arc::new(HaloSettings {
            client_secret: Secret::new("very-secret-value"),
            ..Default::default()
        });
        let budget = Arc::new(crate::halo::RateBudget::new(&settings));
        let tm = TokenManager::new(settings.clone(), budget);
        let out = format!("{tm:?} {settings:?}");
        assert!(!out.contains("very-secret-value"), "{out}");
    }
}
