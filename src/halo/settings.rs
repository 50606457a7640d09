//! Settings of the Halo client layer, in two shapes:
//!
//! - [`HaloSection`]: the `[halo]` section of the config file, as written there
//!   (the config layer loads, overrides and validates it);
//! - [`HaloSettings`]: the plain settings the client runs with; the config layer
//!   maps the section into it, tests build it directly. `Default` holds the
//!   production defaults, except `base_url`, which has no sensible default and
//!   must always be set.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::Secret;

/// Variable that carries the Halo client secret.
pub const HALO_SECRET_ENV: &str = "BATON_HALO__CLIENT_SECRET";
/// File name looked up in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
pub const HALO_SECRET_CREDENTIAL: &str = "halo_client_secret";

/// Halo silently caps every list at 100 rows (docs/reference/haloitsm-api.md §3), so larger
/// page sizes are clamped to this.
pub const MAX_PAGE_SIZE: u32 = 100;

/// Default cap on one response body: a full 100-row agent page is about 130 KB, so this is
/// some 250 times that, yet a body that never ends stops long before it hurts the host.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct HaloSettings {
    /// Largest response body read from Halo or its authorisation server, in bytes; a longer
    /// (or endless) body is cut there and the request fails with a Protocol error.
    pub max_response_bytes: u64,
    /// Tenant root, e.g. `https://acme.haloitsm.com`. API paths (`/api/...`) are appended.
    pub base_url: Url,
    /// Authorisation server; defaults to `{base_url}/auth`.
    pub auth_url: Option<Url>,
    /// Sent as `?tenant=` on the token request only when set (hosted shared auth servers).
    pub tenant: Option<String>,
    pub client_id: String,
    pub client_secret: Secret,
    /// Space separated OAuth scopes; `all` is what nearly every integration uses.
    pub scope: String,
    /// Client-side budget: at most this many requests in any rolling `rate_limit_window`.
    /// Hosted Halo enforces 300 per rolling 5 minutes; 250 leaves headroom.
    pub rate_limit_requests: u32,
    pub rate_limit_window: Duration,
    /// Share of the budget sync paging leaves unused so that provisioning and
    /// ticketing requests find a free cell during a long sync (0 to 0.5).
    pub priority_reserve: f64,
    /// Requests in flight (including those waiting for the pacer) at once.
    pub max_in_flight: usize,
    /// Whole-request timeout (connect + send + body).
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Attempts per request for transient failures (5xx, timeouts, resets), first included.
    pub max_attempts: u32,
    /// Give up retrying (any reason, 429 included) once this much time has passed.
    pub max_retry_elapsed: Duration,
    /// Backoff for transient failures: initial delay, doubled per attempt, capped.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// Pause after a 429 without Retry-After: long enough for a rolling window to drain.
    pub rate_limited_backoff_initial: Duration,
    pub rate_limited_backoff_max: Duration,
    /// Refresh the access token after this fraction of `expires_in` has passed.
    pub token_refresh_fraction: f64,
    /// Rows per page for paged lists (clamped to `MAX_PAGE_SIZE`).
    pub page_size: u32,
}

impl Default for HaloSettings {
    fn default() -> Self {
        HaloSettings {
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            // Placeholder: a deployment always configures its own tenant URL.
            base_url: Url::parse("https://example.haloitsm.com/").expect("static URL parses"),
            auth_url: None,
            tenant: None,
            client_id: String::new(),
            client_secret: Secret::default(),
            scope: "all".to_string(),
            rate_limit_requests: 250,
            rate_limit_window: Duration::from_secs(300),
            priority_reserve: 0.1,
            max_in_flight: 4,
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_attempts: 5,
            max_retry_elapsed: Duration::from_secs(600),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            rate_limited_backoff_initial: Duration::from_secs(10),
            rate_limited_backoff_max: Duration::from_secs(90),
            token_refresh_fraction: 0.8,
            page_size: MAX_PAGE_SIZE,
        }
    }
}

impl HaloSettings {
    /// `{auth_url}/token`, with `?tenant=` only when a tenant is configured.
    pub fn token_url(&self) -> Url {
        let auth = match &self.auth_url {
            Some(u) => trim_slash(u).to_string(),
            None => format!("{}/auth", trim_slash(&self.base_url)),
        };
        let mut url = join(&auth, "/token", &self.base_url);
        if let Some(tenant) = self.tenant.as_deref().filter(|t| !t.is_empty()) {
            url.query_pairs_mut().append_pair("tenant", tenant);
        }
        url
    }

    /// `{base_url}{path}`; `path` starts with `/api/`. Plain concatenation keeps
    /// a base URL that has its own path prefix (`https://host/halo`) intact,
    /// which `Url::join` would drop.
    pub fn api_url(&self, path: &str) -> Url {
        join(trim_slash(&self.base_url), path, &self.base_url)
    }

    /// The page size actually requested.
    pub fn effective_page_size(&self) -> u32 {
        self.page_size.clamp(1, MAX_PAGE_SIZE)
    }
}

fn trim_slash(u: &Url) -> &str {
    u.as_str().trim_end_matches('/')
}

fn join(prefix: &str, path: &str, fallback: &Url) -> Url {
    let sep = if path.starts_with('/') { "" } else { "/" };
    // Both halves come from a valid URL and a route template we control, so
    // this only fails on a malformed path: fall back rather than panic.
    Url::parse(&format!("{prefix}{sep}{path}")).unwrap_or_else(|_| fallback.clone())
}

// ---- The `[halo]` config section -------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HaloSection {
    /// Largest response body (bytes) read from Halo or its authorisation server. A longer or
    /// endless body is cut there and the sync fails with a protocol error naming the limit.
    /// A 100-row page is about 130 KB.
    #[serde(default = "default_max_response_bytes")]
    #[schemars(range(min = 65536))]
    pub max_response_bytes: u64,
    /// Tenant URL, e.g. `https://acme.haloitsm.com`. The API is `{base_url}/api`.
    #[schemars(extend("x-display-name" = "Halo URL"), example = "https://acme.haloitsm.com")]
    pub base_url: Url,
    /// Authorisation server, only when Halo shows a separate one (not `{base_url}/auth`).
    #[serde(default)]
    #[schemars(example = "https://auth.haloservicedesk.com")]
    pub auth_url: Option<Url>,
    /// Sent as `?tenant=` on the token request, only when set.
    #[serde(default)]
    #[schemars(example = &"acme")]
    pub tenant: Option<String>,
    /// Halo API application (Client ID and Secret (Services)).
    #[schemars(example = "00000000-0000-0000-0000-000000000000")]
    pub client_id: String,
    /// Path of a file holding the client secret (e.g. under `$CREDENTIALS_DIRECTORY`).
    #[serde(default)]
    #[schemars(example = "/etc/baton-haloitsm/halo_client_secret")]
    pub client_secret_file: Option<PathBuf>,
    /// From `BATON_HALO__CLIENT_SECRET`, `halo.client_secret_file` or the systemd
    /// credential `halo_client_secret`; never read from the config file.
    #[serde(skip_deserializing, default)]
    #[schemars(
        with = "String",
        extend("x-secret-env" = HALO_SECRET_ENV, "x-required" = true)
    )]
    pub client_secret: Secret,
    /// OAuth scope. Agent, team and role writes need an admin-level application.
    #[serde(default = "default_scope")]
    pub scope: String,
    /// Client-side request budget.
    #[serde(default)]
    pub rate_limit: RateLimitSection,
    /// Requests in flight at once.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Per-request timeout.
    #[serde(default = "default_request_timeout", with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub request_timeout: Duration,
    /// Attempts per request (first try included) for retryable failures (5xx, resets, timeouts, 429).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Total time one request may spend retrying.
    #[serde(default = "default_max_retry_elapsed", with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub max_retry_elapsed: Duration,
    /// Accept an `http://` `base_url` or `auth_url` whose host is not loopback (127.0.0.0/8,
    /// ::1, localhost). The client secret and every token then cross the network in clear;
    /// a warning is logged at every start. Only for a network you trust end to end.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSection {
    /// Requests allowed per rolling `window`. Halo allows 300 per 5 minutes; stay below it.
    pub requests: u32,
    /// Rolling window of the budget.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub window: Duration,
    /// Share of the budget sync paging leaves unused, so provisioning and
    /// ticketing requests go without waiting during a long sync (0 to 0.5).
    pub priority_reserve: f64,
}

impl Default for RateLimitSection {
    fn default() -> Self {
        RateLimitSection {
            requests: 250,
            window: Duration::from_secs(300),
            priority_reserve: 0.1,
        }
    }
}

fn default_max_response_bytes() -> u64 {
    DEFAULT_MAX_RESPONSE_BYTES
}
fn default_scope() -> String {
    "all".into()
}
fn default_max_in_flight() -> usize {
    4
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_max_attempts() -> u32 {
    6
}
fn default_max_retry_elapsed() -> Duration {
    Duration::from_secs(600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_url_defaults_to_base_auth_without_tenant() {
        let s = HaloSettings {
            base_url: Url::parse("https://acme.haloitsm.com/").unwrap(),
            ..Default::default()
        };
        assert_eq!(
            s.token_url().as_str(),
            "https://acme.haloitsm.com/auth/token"
        );
    }

    #[test]
    fn token_url_with_auth_server_and_tenant() {
        let s = HaloSettings {
            auth_url: Some(Url::parse("https://auth.haloservicedesk.com").unwrap()),
            tenant: Some("acme co".into()),
            ..Default::default()
        };
        assert_eq!(
            s.token_url().as_str(),
            "https://auth.haloservicedesk.com/token?tenant=acme+co"
        );
    }

    #[test]
    fn api_url_keeps_base_path() {
        let s = HaloSettings {
            base_url: Url::parse("https://host/halo/").unwrap(),
            ..Default::default()
        };
        assert_eq!(
            s.api_url("/api/Agent/3").as_str(),
            "https://host/halo/api/Agent/3"
        );
    }

    #[test]
    fn page_size_is_clamped() {
        let s = HaloSettings {
            page_size: 1000,
            ..Default::default()
        };
        assert_eq!(s.effective_page_size(), 100);
    }
}
