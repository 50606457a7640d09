//! The daemon's configuration: one TOML file, every key overridable from the
//! environment, secrets only from the environment or from files.
//!
//! Loading goes through the `config` crate (file + environment), then through
//! `serde_path_to_error` so that every refusal names the key that caused it
//! (`halo.rate_limit.window: invalid duration ...`). Unknown keys are refused.
//!
//! Environment overrides use `BATON_<SECTION>__<KEY>` (double underscore between
//! levels, e.g. `BATON_HALO__BASE_URL`, `BATON_HALO__RATE_LIMIT__REQUESTS`).
//! Only variables that contain `__` are read here: baton's own flag variables
//! (`BATON_LOG_LEVEL`, `BATON_FILE`, ...) belong to the CLI and must not trip
//! the unknown-key check (docs/reference/rust-stack.md §3).
//!
//! The config layer sits above the capabilities and assembles them: each capability
//! owns its settings type (`halo::settings::HaloSection`, `sync::settings::SyncSection`,
//! `ticketing::settings::TicketingSettings`, ...), and [`Config`] holds one of each plus
//! the sections of the process itself (http, log, daemon, simulator), defined here.
//!
//! - `load`: file + environment → [`Config`], every refusal naming its key;
//! - `env`: the `BATON_<SECTION>__<KEY>` overrides, checked against the key table;
//! - `secrets`: the Halo and C1 secrets, from the environment or files only;
//! - `validate`: range checks that serde cannot express;
//! - `keys`: the key table, derived from the types' `JsonSchema`.
//!
//! The types are also the config schema: their `JsonSchema` derives (doc comments,
//! serde defaults, a few `#[schemars(...)]` markers) are walked by `keys` into the
//! key table that the overrides and `config-schema` use. Every field needs a doc
//! comment and a line in config/example.toml (drift tests).

mod env;
pub mod keys;
mod load;
mod secrets;
pub use secrets::Secrets;
mod validate;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::c1::settings::C1Section;
use crate::c1::{C1Error, C1Settings, hello};
use crate::halo::settings::{HaloSection, HaloSettings};
use crate::provisioning::settings::ProvisioningSection;
use crate::sync::settings::{OutputSection, SyncSection};
use crate::ticketing::TicketingSettings;

/// Environment prefix shared with baton's conventions.
pub const ENV_PREFIX: &str = "BATON_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The cause is in the message, so it is not also a `source()` (printed twice).
    #[error("cannot read config file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    /// A key that is present but wrong, or required and missing.
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The HaloITSM tenant and how it is called.
    pub halo: HaloSection,
    /// Scheduled syncs (standalone mode).
    #[serde(default)]
    pub sync: SyncSection,
    /// Published snapshots (standalone mode).
    #[serde(default)]
    pub output: OutputSection,
    /// The metrics and health listener.
    #[serde(default)]
    pub http: HttpSection,
    /// Logging.
    #[serde(default)]
    pub log: LogSection,
    /// Shutdown and supervision.
    #[serde(default)]
    pub daemon: DaemonSection,
    /// Embedded HaloITSM simulator (demo and tests). When present, the daemon
    /// starts it and talks to it instead of `halo.base_url`, with its credentials.
    #[serde(default)]
    #[schemars(extend("x-internal" = true))]
    pub simulator: Option<SimulatorSection>,
    /// External ticketing (C1 ticket schemas from Halo ticket types).
    #[serde(default)]
    pub ticketing: TicketingSettings,
    #[serde(default)]
    pub provisioning: ProvisioningSection,
    /// C1 service mode: on when a client id is set (here or in `BATON_CLIENT_ID`).
    #[serde(default)]
    pub c1: C1Section,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulatorSection {
    /// Where the simulator listens; port 0 picks a free one.
    #[serde(default = "default_sim_listen")]
    pub listen: SocketAddr,
    /// Tenant size, credentials, rate limit, faults and quirks (see `baton-haloitsm simulate --help`).
    #[serde(default)]
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")]
    pub tenant: haloitsm_sim::SimConfig,
}

fn default_sim_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    /// Listener for /metrics, /healthz, /readyz and /status.
    pub listen: SocketAddr,
    /// Enables POST /debug/crash/{actor} (fault injection for tests). Never in production.
    pub enable_fault_injection: bool,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 9898)),
            enable_fault_injection: false,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Console,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// An env-filter directive: `info`, `debug`, `baton_haloitsm=debug,info`, ...
    pub level: String,
    /// Log line format (`--log-format` / `BATON_LOG_FORMAT` override it).
    pub format: LogFormat,
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: "info".into(),
            format: LogFormat::Console,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonSection {
    /// How long SIGTERM waits for in-flight work before exiting anyway.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub shutdown_grace: Duration,
    /// First delay before restarting a failed actor; doubles up to `restart_backoff_max`.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub restart_backoff_initial: Duration,
    /// Longest delay before restarting a failed actor.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub restart_backoff_max: Duration,
    /// How often the supervisor sends each actor a progress probe through its mailbox.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub probe_interval: Duration,
    /// An actor that has not answered its probe after this long is restarted
    /// as unresponsive. Longer than the slowest legitimate handler (the c1z
    /// writer's finish on a large tenant).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub probe_timeout: Duration,
}

impl Default for DaemonSection {
    fn default() -> Self {
        DaemonSection {
            shutdown_grace: Duration::from_secs(30),
            restart_backoff_initial: Duration::from_millis(500),
            restart_backoff_max: Duration::from_secs(60),
            probe_interval: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(120),
        }
    }
}

impl Config {
    /// The Halo client's settings; `base_url` is replaced when an embedded simulator serves the tenant.
    pub fn halo_settings(&self, base_url: Option<Url>) -> HaloSettings {
        let h = &self.halo;
        HaloSettings {
            base_url: base_url.unwrap_or_else(|| h.base_url.clone()),
            auth_url: h.auth_url.clone(),
            tenant: h.tenant.clone(),
            client_id: h.client_id.clone(),
            client_secret: h.client_secret.clone(),
            scope: h.scope.clone(),
            rate_limit_requests: h.rate_limit.requests,
            rate_limit_window: h.rate_limit.window,
            priority_reserve: h.rate_limit.priority_reserve,
            max_in_flight: h.max_in_flight,
            request_timeout: h.request_timeout,
            max_attempts: h.max_attempts,
            max_retry_elapsed: h.max_retry_elapsed,
            max_response_bytes: h.max_response_bytes,
            ..HaloSettings::default()
        }
    }

    /// Service mode's settings; `None` when it is off (no client id).
    pub fn c1_settings(&self) -> Result<Option<C1Settings>, C1Error> {
        C1Settings::from_section(
            &self.c1,
            hello::Enabled {
                provisioning: self.provisioning.enabled,
                ticketing: self.ticketing.enabled,
                include_end_users: self.sync.include_end_users,
            },
        )
    }

    /// The effective configuration as TOML, secrets redacted (for `check-config`). A
    /// secret that is not set is left out rather than shown as `[REDACTED]`.
    pub fn to_redacted_toml(&self) -> String {
        let text = match toml::to_string_pretty(self) {
            Ok(t) => t,
            Err(e) => return format!("# cannot render: {e}\n"),
        };
        let unset = |table: &str| match table {
            "[halo]" => self.halo.client_secret.is_empty(),
            "[c1]" => self.c1.client_secret.is_empty(),
            _ => false,
        };
        let mut table = "";
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            if line.starts_with('[') {
                table = line.trim();
            }
            if unset(table) && line.starts_with("client_secret =") {
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}
