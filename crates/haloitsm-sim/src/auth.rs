//! The OAuth side: `POST /auth/token` (client credentials) and bearer checks on `/api/*`.
//!
//! Tokens are opaque random strings (as Halo's are), valid for `token_lifetime`. Errors from
//! the token endpoint always use the OAuth shape `{"error","error_description"}`, whatever the
//! configured API error style, because that is a different server in real deployments.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde_json::json;

use crate::query::QueryParams;

/// Scopes Halo knows (docs/reference/haloitsm-api.md §1.2); anything else is `invalid_scope`, as a live tenant answers
/// for e.g. `read:agents`.
const KNOWN_SCOPES: &[&str] = &[
    "all",
    "all:standard",
    "admin",
    "read:tickets",
    "edit:tickets",
    "read:calendar",
    "edit:calendar",
    "read:customers",
    "edit:customers",
    "read:crm",
    "edit:crm",
    "editMine:timesheets",
    "read:timesheets",
    "edit:timesheets",
    "read:contracts",
    "edit:contracts",
    "read:suppliers",
    "edit:suppliers",
    "read:items",
    "edit:items",
    "read:projects",
    "edit:projects",
    "read:sales",
    "edit:sales",
    "read:quotes",
    "edit:quotes",
    "read:sos",
    "edit:sos",
    "read:pos",
    "edit:pos",
    "read:invoices",
    "edit:invoices",
    "read:reporting",
    "edit:reporting",
    "read:software",
    "edit:software",
    "read:softwarelicensing",
    "edit:softwarelicensing",
    "read:kb",
    "edit:kb",
    "read:assets",
    "edit:assets",
    "access:chat",
    "access:adpasswordreset",
];

/// Credentials and token policy, fixed for the simulator's life.
#[derive(Clone)]
pub(crate) struct AuthSettings {
    pub client_id: String,
    pub client_secret: String,
    pub tenant: Option<String>,
    pub token_lifetime: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct TokenStore {
    expiry: HashMap<String, Instant>,
}

impl TokenStore {
    fn issue(&mut self, now: Instant, lifetime: Duration) -> String {
        // Drop dead tokens here so the map stays as small as the set of live ones.
        self.expiry.retain(|_, exp| *exp > now);
        let mut rng = rand::rng();
        let token = format!(
            "sim-{:016x}{:016x}",
            rng.random::<u64>(),
            rng.random::<u64>()
        );
        self.expiry.insert(token.clone(), now + lifetime);
        token
    }

    pub(crate) fn is_valid(&self, token: &str, now: Instant) -> bool {
        self.expiry.get(token).is_some_and(|exp| *exp > now)
    }

    /// Every token issued so far stops working now (clients must fetch a new one).
    pub(crate) fn expire_all(&mut self) {
        self.expiry.clear();
    }
}

/// Extracts the bearer token, if the header is present and well-formed.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /auth/token`: form body; the tenant may come as `?tenant=` or as a form field.
pub(crate) fn token_endpoint(
    settings: &AuthSettings,
    store: &mut TokenStore,
    query: &QueryParams,
    body: &[u8],
    now: Instant,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| form.get(name).map(String::as_str);

    let Some(grant_type) = field("grant_type") else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "grant_type is required",
        );
    };
    if grant_type != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials is supported by the simulator",
        );
    }
    if let Some(expected) = &settings.tenant {
        let given = query.get("tenant").or_else(|| field("tenant"));
        if given != Some(expected.as_str()) {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "unknown or missing tenant",
            );
        }
    }
    if field("client_id") != Some(settings.client_id.as_str())
        || field("client_secret") != Some(settings.client_secret.as_str())
    {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "invalid client_id or client_secret",
        );
    }
    let scope = field("scope")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("all");
    if let Some(bad) = scope.split(' ').find(|s| !KNOWN_SCOPES.contains(s)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("unknown scope {bad}"),
        );
    }
    let token = store.issue(now, settings.token_lifetime);
    (
        StatusCode::OK,
        axum::Json(json!({
            "access_token": token,
            "token_type": "Bearer",
            // Floor, so a client trusting it never holds a token past its real expiry.
            "expires_in": settings.token_lifetime.as_secs(),
            "scope": scope,
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn tokens_expire_and_can_be_revoked() {
        let mut s = TokenStore::default();
        let t0 = Instant::now();
        let tok = s.issue(t0, Duration::from_secs(1));
        assert!(s.is_valid(&tok, t0));
        assert!(!s.is_valid(&tok, t0 + Duration::from_secs(1)));
        let tok2 = s.issue(t0, Duration::from_secs(60));
        s.expire_all();
        assert!(!s.is_valid(&tok2, t0));
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer abc"),
        );
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }
}
