//! Simulator configuration: tenant size, credentials, and every fault and quirk switch.
//!
//! Everything here deserializes from TOML/JSON with unknown keys refused, so a typo in a test
//! or demo config fails loudly instead of silently running with defaults.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SimError;

/// The whole simulator configuration. `Default` is a small tenant with no faults.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Seed for the tenant generator (and, derived from it, the fault RNG).
    pub seed: u64,
    pub agents: usize,
    pub teams: usize,
    pub roles: usize,
    pub users: usize,
    /// Maximum team memberships per agent (actual count is uniform in 1..=max; a few agents get none).
    pub teams_per_agent: usize,
    /// Maximum roles per agent (uniform in 1..=max; a few agents get none).
    pub roles_per_agent: usize,
    pub ticket_types: usize,
    pub client_id: String,
    pub client_secret: String,
    /// When set, `POST /auth/token` requires `?tenant=` (or a `tenant` form field) equal to this.
    pub tenant: Option<String>,
    #[serde(with = "humantime_serde")]
    pub token_lifetime: Duration,
    pub rate_limit: Option<RateLimitConfig>,
    pub latency: LatencyConfig,
    pub faults: FaultConfig,
    pub quirks: QuirkConfig,
    /// Newest entries kept in the request log; older ones are dropped. Each entry
    /// costs ~300 B (method, path and query strings), so this bounds the log's
    /// memory (10,000 ≈ 3 MB). It was 100,000: in a daemon with the embedded
    /// simulator that grew ~16 KB per 5,000-agent sync for ~1,800 syncs (30 MB).
    pub request_log_limit: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            agents: 50,
            teams: 8,
            roles: 5,
            users: 20,
            teams_per_agent: 5,
            roles_per_agent: 3,
            ticket_types: 4,
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            tenant: None,
            token_lifetime: Duration::from_secs(3600),
            rate_limit: None,
            latency: LatencyConfig::default(),
            faults: FaultConfig::default(),
            quirks: QuirkConfig::default(),
            request_log_limit: 10_000,
        }
    }
}

// Hand-written so the (fake, but still) client secret never reaches a log line.
impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("seed", &self.seed)
            .field("agents", &self.agents)
            .field("teams", &self.teams)
            .field("roles", &self.roles)
            .field("users", &self.users)
            .field("teams_per_agent", &self.teams_per_agent)
            .field("roles_per_agent", &self.roles_per_agent)
            .field("ticket_types", &self.ticket_types)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("tenant", &self.tenant)
            .field("token_lifetime", &self.token_lifetime)
            .field("rate_limit", &self.rate_limit)
            .field("latency", &self.latency)
            .field("faults", &self.faults)
            .field("quirks", &self.quirks)
            .field("request_log_limit", &self.request_log_limit)
            .finish()
    }
}

impl SimConfig {
    /// Refuses values that would make the simulator misbehave rather than fail cleanly.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.token_lifetime.is_zero() {
            return Err(SimError::InvalidConfig("token_lifetime must be > 0".into()));
        }
        if self.client_id.is_empty() {
            return Err(SimError::InvalidConfig(
                "client_id must not be empty".into(),
            ));
        }
        if let Some(rl) = &self.rate_limit {
            rl.validate()?;
        }
        self.faults.validate()
    }
}

/// A true rolling window: at most `requests` admitted in any interval of length `window`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    pub requests: u32,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Send `Retry-After` (seconds until the oldest request leaves the window, rounded up).
    /// Off by default because no source shows Halo sending it.
    pub retry_after: bool,
}

impl Default for RateLimitConfig {
    /// Hosted Halo's documented limit.
    fn default() -> Self {
        Self {
            requests: 300,
            window: Duration::from_secs(300),
            retry_after: false,
        }
    }
}

impl RateLimitConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        if self.requests == 0 || self.window.is_zero() {
            return Err(SimError::InvalidConfig(
                "rate_limit.requests and rate_limit.window must be > 0".into(),
            ));
        }
        Ok(())
    }
}

/// Added to every `/api` and `/auth` request: `fixed` plus a uniform draw from `[0, jitter]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyConfig {
    #[serde(with = "humantime_serde")]
    pub fixed: Duration,
    #[serde(with = "humantime_serde")]
    pub jitter: Duration,
}

/// Random faults, drawn from an RNG seeded from `SimConfig::seed` so runs repeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultConfig {
    /// Fraction (0..=1) of requests answered with a status picked from `error_statuses`.
    pub error_rate: f64,
    pub error_statuses: Vec<u16>,
    /// Fraction of requests whose connection is reset without any response.
    pub reset_rate: f64,
    /// Fraction of requests that sleep `stall` before being answered normally.
    pub stall_rate: f64,
    #[serde(with = "humantime_serde")]
    pub stall: Duration,
    /// Restrict the random faults to paths starting with this prefix (case-insensitive).
    pub path_prefix: Option<String>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        Self {
            error_rate: 0.0,
            error_statuses: vec![500, 502, 503, 504],
            reset_rate: 0.0,
            stall_rate: 0.0,
            stall: Duration::from_secs(30),
            path_prefix: None,
        }
    }
}

impl FaultConfig {
    pub fn validate(&self) -> Result<(), SimError> {
        for (name, rate) in [
            ("error_rate", self.error_rate),
            ("reset_rate", self.reset_rate),
            ("stall_rate", self.stall_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(SimError::InvalidConfig(format!(
                    "faults.{name} must be within 0..=1, got {rate}"
                )));
            }
        }
        if self.error_rate > 0.0 && self.error_statuses.is_empty() {
            return Err(SimError::InvalidConfig(
                "faults.error_statuses must not be empty when error_rate > 0".into(),
            ));
        }
        if let Some(bad) = self
            .error_statuses
            .iter()
            .find(|s| !(400..=599).contains(*s))
        {
            return Err(SimError::InvalidConfig(format!(
                "faults.error_statuses: {bad} is not a 4xx/5xx status"
            )));
        }
        Ok(())
    }
}

/// Response shapes seen on live tenants; each one can be switched so clients prove they cope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuirkConfig {
    /// Body shape of every error the API answers (validation, 401, 404, injected 5xx).
    pub error_style: ErrorStyle,
    /// Where the rows of a paginated `GET /api/Agent` go.
    pub agent_page_rows: AgentPageRows,
    /// Wrap the unpaginated lists (Agent, Team, Roles, Status, TicketType) in
    /// `{"record_count": n, "<entity>": [...]}` instead of answering a bare array.
    pub list_envelopes: bool,
    /// When set, every JSON object the API returns carries `"_warning": <this text>`.
    pub warning: Option<String>,
    /// What `POST /api/Agent` does with a posted `teams`/`roles` list, and `POST /api/Team` with
    /// a posted `agents` list (real Halo is unverified).
    pub agent_list_writes: ListWrites,
    /// `GET /api/Team/{id}?includeagents=true` answers without its `agents` array, as a Halo
    /// that ignores the flag would (tests: provisioning must not post a list built from
    /// nothing).
    pub team_reads_without_agents: bool,
    /// Paged `GET /api/Agent` and `/api/Users` ignore `order=id&orderdesc=true` and serve
    /// ascending ids, as a Halo that does not take the parameter on a list would.
    pub ignore_list_order: bool,
}

/// List semantics of `POST /api/Agent`'s `teams` and `roles` (and `POST /api/Team`'s `agents`), switchable so that
/// tests prove verification catches a write that did not take.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListWrites {
    /// The posted list replaces the stored one (an empty list clears it).
    #[default]
    Replace,
    /// The posted list is added to the stored one (nothing is ever removed).
    Merge,
    /// Accepted with 200, but the stored lists do not change.
    Ignore,
}

impl Default for QuirkConfig {
    fn default() -> Self {
        Self {
            error_style: ErrorStyle::ResultCode,
            agent_page_rows: AgentPageRows::Results,
            list_envelopes: false,
            warning: None,
            agent_list_writes: ListWrites::Replace,
            team_reads_without_agents: false,
            ignore_list_order: false,
        }
    }
}

/// The non-uniform error bodies Halo clients have to parse (docs/reference/haloitsm-api.md §10).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStyle {
    /// `{"resultCode": <status>, "errorMessage": "..."}`
    ResultCode,
    /// `{"ClassName": "System....Exception", "Message": "..."}`
    ClassName,
    /// `{"Message": "..."}`
    Message,
    /// The message as `text/plain`.
    PlainText,
    /// ASP.NET model-state errors keyed by field path, e.g. `{"[0].name": "The name field is required"}`.
    /// Errors that concern no field (401, 404, 5xx) fall back to `{"Message": "..."}`.
    FieldErrors,
}

impl ErrorStyle {
    pub const ALL: [ErrorStyle; 5] = [
        ErrorStyle::ResultCode,
        ErrorStyle::ClassName,
        ErrorStyle::Message,
        ErrorStyle::PlainText,
        ErrorStyle::FieldErrors,
    ];
}

/// Envelope key for paged agent rows. A live tenant answered `results`
/// (docs/reference/haloitsm-api.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentPageRows {
    Results,
    Agents,
    /// No envelope at all: the page is a bare array (no `record_count`).
    Bare,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_humantime_and_refuses_unknown_keys() {
        let cfg: SimConfig = serde_json::from_str(
            r#"{"agents": 10, "token_lifetime": "2s",
                "rate_limit": {"requests": 5, "window": "1s"},
                "latency": {"fixed": "5ms"},
                "quirks": {"error_style": "field_errors", "agent_page_rows": "bare"}}"#,
        )
        .unwrap();
        assert_eq!(cfg.agents, 10);
        assert_eq!(cfg.token_lifetime, Duration::from_secs(2));
        assert_eq!(cfg.rate_limit.as_ref().unwrap().requests, 5);
        assert!(!cfg.rate_limit.as_ref().unwrap().retry_after);
        assert_eq!(cfg.quirks.error_style, ErrorStyle::FieldErrors);
        assert!(serde_json::from_str::<SimConfig>(r#"{"agentz": 1}"#).is_err());
        assert!(!format!("{cfg:?}").contains("sim-secret"));
    }

    #[test]
    fn validate_refuses_bad_rates() {
        let mut cfg = SimConfig::default();
        cfg.faults.error_rate = 1.5;
        assert!(cfg.validate().is_err());
        cfg.faults.error_rate = 0.5;
        cfg.faults.error_statuses = vec![200];
        assert!(cfg.validate().is_err());
    }
}
