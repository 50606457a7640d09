//! C1Auth: owns the C1 bearer token (the second token owner beside the Halo TokenManager).
//!
//! Owns: the signing key, the cached token and its expiry, the HTTP client for the token
//! endpoint. Never does: gRPC, or anything with Halo.
//!
//! A token is fetched by POSTing a fresh Ed25519 client assertion to
//! `https://<api host>/auth/v1/token` (client_credentials + jwt-bearer). It is cached until
//! shortly before it expires. `GetC1Token` is an atomic handler, so when many callers ask while
//! the token is stale, the first refreshes and the others then find the fresh token: one
//! refresh for all waiters.
//!
//! Mailbox: default capacity; callers `send().await` and each answer is quick once cached.

use std::time::{Duration, Instant, SystemTime};

use actix::prelude::*;

use super::{C1Error, C1Settings};
use crate::secret::Secret;
use crate::telemetry;

/// Ask for a valid bearer token.
#[derive(Message)]
#[rtype(result = "Result<Secret, C1Error>")]
pub struct GetC1Token;

/// C1 answered Unauthenticated with the current token: forget it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct InvalidateC1Token;

#[derive(serde::Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: u64,
}

pub struct C1Auth {
    settings: C1Settings,
    http: reqwest::Client,
    cached: Option<(Secret, Instant)>,
}

impl C1Auth {
    pub fn new(settings: C1Settings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            // A redirect would re-send the signed assertion elsewhere; C1's token endpoint
            // does not redirect.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        C1Auth {
            settings,
            http,
            cached: None,
        }
    }
}

impl Actor for C1Auth {
    type Context = Context<Self>;
}

/// Refresh a little before expiry: a minute, or half the lifetime for short-lived tokens.
fn refresh_at(now: Instant, lifetime: Duration) -> Instant {
    let margin = Duration::from_secs(60).min(lifetime / 2);
    now + lifetime.saturating_sub(margin)
}

async fn fetch(settings: C1Settings, http: reqwest::Client) -> Result<(Secret, Duration), C1Error> {
    let assertion = settings
        .key
        .client_assertion(&settings.client_id, SystemTime::now());
    let form = [
        ("client_id", settings.client_id.full.as_str()),
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ];
    let resp = http
        .post(settings.token_url())
        .form(&form)
        .send()
        .await
        .map_err(|e| C1Error::Token(e.without_url().to_string()))?;
    let status = resp.status();
    if status.is_client_error() {
        return Err(C1Error::TokenRefused(status.as_u16()));
    }
    if !status.is_success() {
        return Err(C1Error::Token(format!("HTTP {status}")));
    }
    let body: TokenResponse = resp
        .json()
        .await
        .map_err(|_| C1Error::Token("the answer is not a token response".into()))?;
    if body.access_token.is_empty() {
        return Err(C1Error::TokenRefused(status.as_u16()));
    }
    // No expiry given: assume a short life and refresh often rather than use a dead token.
    let lifetime = Duration::from_secs(if body.expires_in == 0 {
        300
    } else {
        body.expires_in
    });
    Ok((Secret::new(body.access_token), lifetime))
}

impl Handler<GetC1Token> for C1Auth {
    type Result = AtomicResponse<Self, Result<Secret, C1Error>>;

    fn handle(&mut self, _: GetC1Token, _: &mut Self::Context) -> Self::Result {
        if let Some((token, until)) = &self.cached
            && Instant::now() < *until
        {
            return AtomicResponse::new(Box::pin(actix::fut::ready(Ok(token.clone()))));
        }
        let fut = fetch(self.settings.clone(), self.http.clone());
        AtomicResponse::new(Box::pin(fut.into_actor(self).map(|res, act, _| {
            let (token, lifetime) = res?;
            telemetry::c1::token_refreshed(lifetime);
            act.cached = Some((token.clone(), refresh_at(Instant::now(), lifetime)));
            Ok(token)
        })))
    }
}

impl Handler<InvalidateC1Token> for C1Auth {
    type Result = ();

    fn handle(&mut self, _: InvalidateC1Token, _: &mut Self::Context) {
        self.cached = None;
    }
}

crate::supervised!(C1Auth);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_before_expiry() {
        let now = Instant::now();
        assert_eq!(
            refresh_at(now, Duration::from_secs(3600)),
            now + Duration::from_secs(3540)
        );
        assert_eq!(
            refresh_at(now, Duration::from_secs(4)),
            now + Duration::from_secs(2)
        );
    }
}
