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
//! the unknown-key check (reference/rust-stack.md §3).
//!
//! The structs below are also the config schema: their `JsonSchema` derives (doc
//! comments, serde defaults, a few `#[schemars(...)]` markers) are walked by
//! src/config_keys.rs into the key table that the overrides and `config-schema` use.
//! Every field needs a doc comment and a line in config/example.toml (drift tests).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::secret::Secret;

/// Environment prefix shared with baton's conventions.
pub const ENV_PREFIX: &str = "BATON_";
/// Variable that carries the Halo client secret.
pub const HALO_SECRET_ENV: &str = "BATON_HALO__CLIENT_SECRET";
/// File name looked up in `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`).
pub const HALO_SECRET_CREDENTIAL: &str = "halo_client_secret";

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
    pub ticketing: crate::ticketing::TicketingSettings,
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
    pub tenant: crate::sim::SimConfig,
}

fn default_sim_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HaloSection {
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
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub request_timeout: Duration,
    /// Attempts per request (first try included) for retryable failures (5xx, resets, timeouts, 429).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Total time one request may spend retrying.
    #[serde(default = "default_max_retry_elapsed", with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub max_retry_elapsed: Duration,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitSection {
    /// Requests allowed per rolling `window`. Halo allows 300 per 5 minutes; stay below it.
    pub requests: u32,
    /// Rolling window of the budget.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
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

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSection {
    /// Time between scheduled full syncs (standalone mode).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub interval: Duration,
    /// Random delay added to each interval so that many daemons don't sync in lockstep.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub jitter: Duration,
    /// Run a sync as soon as the daemon is up.
    pub on_start: bool,
    /// Also sync Halo end users as the `user` resource type.
    pub include_end_users: bool,
    /// First retry after a failed sync; doubles per failure, capped at `interval`.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub retry_initial: Duration,
    /// Times the agent list may be paged when its count changes under the sync
    /// before the sync fails (nothing is published then).
    pub max_consistency_passes: u32,
}

impl Default for SyncSection {
    fn default() -> Self {
        SyncSection {
            interval: Duration::from_secs(3600),
            jitter: Duration::from_secs(60),
            on_start: true,
            include_end_users: false,
            retry_initial: Duration::from_secs(60),
            max_consistency_passes: 3,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OutputSection {
    /// Where finished snapshots are published (standalone mode); default
    /// `$STATE_DIRECTORY/snapshots` under systemd, else `./var/snapshots`.
    pub dir: PathBuf,
    /// How many snapshots to keep.
    pub keep: usize,
}

impl Default for OutputSection {
    fn default() -> Self {
        OutputSection {
            dir: default_state_dir().join("snapshots"),
            keep: 5,
        }
    }
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
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub shutdown_grace: Duration,
    /// First delay before restarting a failed actor; doubles up to `restart_backoff_max`.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub restart_backoff_initial: Duration,
    /// Longest delay before restarting a failed actor.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub restart_backoff_max: Duration,
    /// How often the supervisor sends each actor a progress probe through its mailbox.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub probe_interval: Duration,
    /// An actor that has not answered its probe after this long is restarted
    /// as unresponsive. Longer than the slowest legitimate handler (the c1z
    /// writer's finish on a large tenant).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
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

/// `$STATE_DIRECTORY` under systemd (`StateDirectory=`), else `./var`.
pub fn default_state_dir() -> PathBuf {
    match std::env::var_os("STATE_DIRECTORY") {
        // systemd may pass several colon-separated dirs; the first is ours.
        Some(v) => PathBuf::from(
            v.to_string_lossy()
                .split(':')
                .next()
                .unwrap_or("var")
                .to_string(),
        ),
        None => PathBuf::from("var"),
    }
}

impl Config {
    /// Load from a file plus the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Self::load_with_env(path, &env)
    }

    /// Load from a file plus an explicit environment (tests pass their own).
    pub fn load_with_env(
        path: &Path,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        Self::from_toml_str(&text, path, env)
    }

    pub fn from_toml_str(
        text: &str,
        path: &Path,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        // Secrets in the file would end up in backups and `ps`-visible tooling; refuse them.
        if let Ok(toml::Value::Table(t)) = toml::from_str::<toml::Value>(text) {
            if let Some(toml::Value::Table(halo)) = t.get("halo")
                && halo.contains_key("client_secret")
            {
                return Err(ConfigError::invalid(
                    "halo.client_secret",
                    format!(
                        "secrets are not accepted in the config file; use halo.client_secret_file or {HALO_SECRET_ENV}"
                    ),
                ));
            }
            if let Some(toml::Value::Table(c1)) = t.get("c1")
                && c1.contains_key("client_secret")
            {
                return Err(ConfigError::invalid(
                    "c1.client_secret",
                    format!(
                        "secrets are not accepted in the config file; use c1.client_secret_file or {C1_SECRET_ENV}"
                    ),
                ));
            }
        }

        let overrides = env_overrides(env)?;
        let built = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Toml))
            .add_source(env_source(overrides))
            .build()
            .map_err(|e| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        // Through JSON so that serde_path_to_error can name the failing key.
        let tree: serde_json::Value =
            built
                .try_deserialize()
                .map_err(|e: config::ConfigError| ConfigError::Parse {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
        let mut cfg: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let key = e.path().to_string();
            let key = if key == "." {
                "(top level)".to_string()
            } else {
                key
            };
            ConfigError::invalid(&key, e.into_inner().to_string())
        })?;
        cfg.halo.client_secret = match &cfg.simulator {
            // The embedded simulator's credentials are test values, not secrets.
            Some(sim) => {
                cfg.halo.client_id = sim.tenant.client_id.clone();
                Secret::new(sim.tenant.client_secret.clone())
            }
            None => resolve_halo_secret(&cfg.halo, env)?,
        };
        resolve_c1(&mut cfg.c1, env)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Range checks that serde cannot express; each names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let h = &self.halo;
        check_scheme("halo.base_url", &h.base_url)?;
        if let Some(u) = &h.auth_url {
            check_scheme("halo.auth_url", u)?;
        }
        if h.client_id.trim().is_empty() {
            return Err(ConfigError::invalid("halo.client_id", "must not be empty"));
        }
        range(
            "halo.rate_limit.requests",
            h.rate_limit.requests as u64,
            1,
            100_000,
        )?;
        dur_range(
            "halo.rate_limit.window",
            h.rate_limit.window,
            Duration::from_millis(100),
            Duration::from_secs(86_400),
        )?;
        range("halo.max_in_flight", h.max_in_flight as u64, 1, 64)?;
        dur_range(
            "halo.request_timeout",
            h.request_timeout,
            Duration::from_millis(100),
            Duration::from_secs(1800),
        )?;
        range("halo.max_attempts", h.max_attempts as u64, 1, 20)?;
        dur_range(
            "sync.interval",
            self.sync.interval,
            Duration::from_secs(1),
            Duration::from_secs(7 * 86_400),
        )?;
        if self.sync.jitter > self.sync.interval {
            return Err(ConfigError::invalid(
                "sync.jitter",
                "must not exceed sync.interval",
            ));
        }
        range("output.keep", self.output.keep as u64, 1, 10_000)?;
        let reserve = h.rate_limit.priority_reserve;
        if !(0.0..=0.5).contains(&reserve) {
            return Err(ConfigError::invalid(
                "halo.rate_limit.priority_reserve",
                format!("{reserve} is out of range 0..=0.5"),
            ));
        }
        dur_range(
            "sync.retry_initial",
            self.sync.retry_initial,
            Duration::from_millis(10),
            Duration::from_secs(86_400),
        )?;
        range(
            "sync.max_consistency_passes",
            u64::from(self.sync.max_consistency_passes),
            1,
            10,
        )?;
        dur_range(
            "daemon.probe_interval",
            self.daemon.probe_interval,
            Duration::from_millis(10),
            Duration::from_secs(3600),
        )?;
        dur_range(
            "daemon.probe_timeout",
            self.daemon.probe_timeout,
            Duration::from_millis(10),
            Duration::from_secs(3600),
        )?;
        if self.output.dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("output.dir", "must not be empty"));
        }
        dur_range(
            "daemon.shutdown_grace",
            self.daemon.shutdown_grace,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        )?;
        if self.daemon.restart_backoff_initial.is_zero()
            || self.daemon.restart_backoff_initial > self.daemon.restart_backoff_max
        {
            return Err(ConfigError::invalid(
                "daemon.restart_backoff_initial",
                "must be > 0 and <= daemon.restart_backoff_max",
            ));
        }
        if let Err((key, message)) = self.ticketing.validate() {
            return Err(ConfigError::invalid(key, message));
        }
        self.provisioning.validate()?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::invalid("log.level", e.to_string()));
        }
        Ok(())
    }

    /// The Halo client's settings; `base_url` is replaced when an embedded simulator serves the tenant.
    pub fn halo_settings(&self, base_url: Option<Url>) -> crate::halo::HaloSettings {
        let h = &self.halo;
        crate::halo::HaloSettings {
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
            ..crate::halo::HaloSettings::default()
        }
    }

    /// The effective configuration as TOML, secrets redacted (for `check-config`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}\n"))
    }
}

/// Keep only `BATON_<section>__...` variables, and refuse one whose section or key is
/// unknown (naming the variable, which the `config` crate would not do). Sections and keys
/// come from the config types (src/config_keys.rs).
fn env_overrides(env: &HashMap<String, String>) -> Result<HashMap<String, String>, ConfigError> {
    let sections = crate::config_keys::sections();
    let mut out = HashMap::new();
    for (k, v) in env {
        let Some(rest) = k.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        // A secret's own variable is read when the secret is resolved, after parsing.
        if !rest.contains("__") || crate::config_keys::secret_for_env(k).is_some() {
            continue;
        }
        let path = rest.to_lowercase().replace("__", ".");
        let section = path.split('.').next().unwrap_or_default();
        if !sections.contains(&section) {
            return Err(ConfigError::Env {
                var: k.clone(),
                message: format!(
                    "unknown config section `{section}` (known: {})",
                    sections.join(", ")
                ),
            });
        }
        match crate::config_keys::lookup(&path) {
            Some(spec) if spec.secret => {
                return Err(ConfigError::Env {
                    var: k.clone(),
                    message: format!(
                        "`{path}` is a secret and is not read from here; use {}",
                        spec.secret_env.as_deref().unwrap_or("its file")
                    ),
                });
            }
            Some(_) => {}
            None => {
                let known: Vec<&str> = crate::config_keys::keys()
                    .iter()
                    .filter(|k| k.section() == section)
                    .map(|k| &k.key[section.len() + 1..])
                    .collect();
                return Err(ConfigError::Env {
                    var: k.clone(),
                    message: format!(
                        "unknown config key `{path}` (known in [{section}]: {})",
                        known.join(", ")
                    ),
                });
            }
        }
        // config's Environment source strips nothing when given an explicit map,
        // so hand it keys already in `section__key` form.
        out.insert(rest.to_lowercase(), v.clone());
    }
    Ok(out)
}

/// The `config` crate's environment source: `__` between levels, values parsed, and the
/// string-list keys split on commas (`BATON_TICKETING__INCLUDE_TYPES=Incident,Change`).
fn env_source(overrides: HashMap<String, String>) -> config::Environment {
    let lists = crate::config_keys::keys()
        .iter()
        .filter(|k| k.kind == crate::config_keys::Kind::StringList);
    lists
        .fold(
            config::Environment::default()
                .separator("__")
                .try_parsing(true)
                .list_separator(","),
            |env, k| env.with_list_parse_key(&k.key),
        )
        .source(Some(overrides))
}

fn resolve_halo_secret(
    halo: &HaloSection,
    env: &HashMap<String, String>,
) -> Result<Secret, ConfigError> {
    if let Some(v) = env.get(HALO_SECRET_ENV) {
        if v.trim().is_empty() {
            return Err(ConfigError::Env {
                var: HALO_SECRET_ENV.into(),
                message: "is set but empty".into(),
            });
        }
        return Ok(Secret::new(v.trim()));
    }
    let path = match (&halo.client_secret_file, env.get("CREDENTIALS_DIRECTORY")) {
        (Some(p), _) => p.clone(),
        (None, Some(dir)) => Path::new(dir).join(HALO_SECRET_CREDENTIAL),
        (None, None) => {
            return Err(ConfigError::invalid(
                "halo.client_secret_file",
                format!(
                    "no Halo client secret: set halo.client_secret_file, {HALO_SECRET_ENV}, or a systemd credential named {HALO_SECRET_CREDENTIAL}"
                ),
            ));
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ConfigError::invalid(
            "halo.client_secret_file",
            format!("cannot read {}: {e}", path.display()),
        )
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(ConfigError::invalid(
            "halo.client_secret_file",
            format!("{} is empty", path.display()),
        ));
    }
    Ok(Secret::new(secret))
}

// ---- C1 service mode (issue 12) -------------------------------------------------------------

/// baton's own variable names, read explicitly (they have no `__`, so the generic override
/// mechanism never sees them): an admin following C1's deployment steps sets exactly these.
pub const C1_CLIENT_ID_ENV: &str = "BATON_CLIENT_ID";
pub const C1_SECRET_ENV: &str = "BATON_CLIENT_SECRET";
pub const C1_API_HOST_ENV: &str = "BATON_C1_API_HOST";
pub const C1_HOST_ID_ENV: &str = "BATON_HOST_ID";
/// File name looked up in `$CREDENTIALS_DIRECTORY` for the C1 client secret.
pub const C1_SECRET_CREDENTIAL: &str = "c1_client_secret";

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct C1Section {
    /// `<name>@<host>/<suffix>` from C1's connector page (or `BATON_CLIENT_ID`).
    /// Service mode is on when set.
    #[schemars(example = "haloitsm-prod@acme.conductor.one/pcc")]
    pub client_id: Option<String>,
    /// Path of a file holding the client secret (or `BATON_CLIENT_SECRET`, or the systemd
    /// credential `c1_client_secret`).
    #[schemars(example = "/etc/baton-haloitsm/c1_client_secret")]
    pub client_secret_file: Option<PathBuf>,
    /// From `BATON_CLIENT_SECRET`, `c1.client_secret_file` or the systemd credential
    /// `c1_client_secret`; never read from the config file.
    #[serde(skip_deserializing)]
    #[schemars(
        with = "String",
        extend("x-secret-env" = C1_SECRET_ENV)
    )]
    pub client_secret: Secret,
    /// `host[:port]` for the token endpoint and gRPC, when it is not the client id's host
    /// (`BATON_C1_API_HOST`). Plaintext is used only for a loopback host.
    #[schemars(example = "acme.conductor.one")]
    pub api_host: Option<String>,
    /// How C1 knows this instance (`BATON_HOST_ID`); default: the hostname.
    #[schemars(example = "halo-connector-1")]
    pub host_id: Option<String>,
    /// Tasks run at once (1..=100). Syncs still run one at a time.
    pub task_concurrency: usize,
    /// Refuse sync tasks (baton's `--skip-full-sync`).
    pub skip_full_sync: bool,
    /// Where sync tasks write their c1z before the upload; default `<state dir>/c1-tmp`.
    #[schemars(example = "/var/lib/baton-haloitsm/c1-tmp")]
    pub temp_dir: Option<PathBuf>,
    /// How long a c1z whose upload failed is kept for diagnosis.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub keep_failed_upload: Duration,
    /// In service mode C1 schedules syncs; set this to also run the local schedule.
    pub run_local_scheduler: bool,
}

impl Default for C1Section {
    fn default() -> Self {
        C1Section {
            client_id: None,
            client_secret_file: None,
            client_secret: Secret::default(),
            api_host: None,
            host_id: None,
            task_concurrency: 1,
            skip_full_sync: false,
            temp_dir: None,
            keep_failed_upload: Duration::from_secs(24 * 3600),
            run_local_scheduler: false,
        }
    }
}

impl C1Section {
    /// Service mode is on.
    pub fn enabled(&self) -> bool {
        self.client_id.is_some()
    }
}

/// Fills the C1 section from baton's variables and the secret sources, and checks the
/// credential formats now, so that a bad one fails at start (exit 78) without echoing it.
fn resolve_c1(c1: &mut C1Section, env: &HashMap<String, String>) -> Result<(), ConfigError> {
    let var = |name: &str| {
        env.get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(v) = var(C1_CLIENT_ID_ENV) {
        c1.client_id = Some(v);
    }
    if let Some(v) = var(C1_API_HOST_ENV) {
        c1.api_host = Some(v);
    }
    if let Some(v) = var(C1_HOST_ID_ENV) {
        c1.host_id = Some(v);
    }
    let Some(id) = &c1.client_id else {
        return Ok(());
    };
    crate::c1::credentials::ClientId::parse(id)
        .map_err(|e| ConfigError::invalid("c1.client_id", e.to_string()))?;
    c1.client_secret = if let Some(v) = var(C1_SECRET_ENV) {
        Secret::new(v)
    } else {
        let path = match (&c1.client_secret_file, env.get("CREDENTIALS_DIRECTORY")) {
            (Some(p), _) => p.clone(),
            (None, Some(dir)) => Path::new(dir).join(C1_SECRET_CREDENTIAL),
            (None, None) => {
                return Err(ConfigError::invalid(
                    "c1.client_secret_file",
                    format!(
                        "no C1 client secret: set {C1_SECRET_ENV}, c1.client_secret_file, or a systemd credential named {C1_SECRET_CREDENTIAL}"
                    ),
                ));
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ConfigError::invalid(
                "c1.client_secret_file",
                format!("cannot read {}: {e}", path.display()),
            )
        })?;
        Secret::new(text.trim())
    };
    crate::c1::credentials::SigningKey::from_client_secret(&c1.client_secret)
        .map_err(|e| ConfigError::invalid("c1.client_secret", e.to_string()))?;
    if let Some(h) = &c1.api_host
        && (h.contains('/') || h.is_empty())
    {
        return Err(ConfigError::invalid(
            "c1.api_host",
            "must be `host` or `host:port`, without a scheme or path",
        ));
    }
    range("c1.task_concurrency", c1.task_concurrency as u64, 1, 100)?;
    Ok(())
}

fn check_scheme(key: &str, url: &Url) -> Result<(), ConfigError> {
    match url.scheme() {
        "https" | "http" if url.host().is_some() => Ok(()),
        _ => Err(ConfigError::invalid(
            key,
            format!("`{url}` must be an http(s) URL with a host"),
        )),
    }
}

fn range(key: &str, v: u64, lo: u64, hi: u64) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        return Err(ConfigError::invalid(
            key,
            format!("{v} is out of range {lo}..={hi}"),
        ));
    }
    Ok(())
}

fn dur_range(key: &str, v: Duration, lo: Duration, hi: Duration) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{} is out of range {}..={}",
                humantime::format_duration(v),
                humantime::format_duration(lo),
                humantime::format_duration(hi)
            ),
        ));
    }
    Ok(())
}

// ---- [provisioning] (issue 10) ---------------------------------------------

/// How a team membership is written. Whatever the strategy, the read-back decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamWriteStrategy {
    /// `POST /api/Agent` with the agent's complete `teams` list (default).
    AgentList,
    /// `POST /api/Team` with the team's complete `agents` list (read with
    /// `GET /api/Team/{id}?includeagents=true`); the agent is read back to verify.
    TeamAgents,
}

/// How a role assignment is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleWriteStrategy {
    /// `POST /api/Agent` with the agent's complete `roles` list (default).
    AgentList,
    /// Grants post `add_roles: [role]` (additive); revokes still write the full list.
    AddRoles,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningSection {
    /// Off by default: every operation is then refused with "provisioning is not enabled".
    pub enabled: bool,
    /// `delete-resource` is refused unless set; disabling is the documented offboarding.
    pub allow_delete: bool,
    /// How a team membership is written; the agent is read back and the change verified.
    pub team_strategy: TeamWriteStrategy,
    /// How a role assignment is written; the agent is read back and the change verified.
    pub role_strategy: RoleWriteStrategy,
    /// Entitlement ids (`team:3:member`, `role:<guid>:assigned`) never changed
    /// automatically: a fallback ticket asks a human instead.
    #[schemars(example = ["team:3:member"])]
    pub manual_entitlements: Vec<String>,
    /// Halo ticket type id for changes that cannot be automated; none = report a failure.
    #[schemars(example = 12)]
    pub fallback_ticket_type: Option<i64>,
    /// Agents worked on at once (operations on one agent always run one after another).
    pub max_parallel: usize,
    /// Operations queued or running; a full queue makes submitters wait or answers "queue full".
    pub capacity: usize,
    /// Tries of an operation whose failures are transient (429, 5xx, resets, timeouts).
    pub max_attempts: u32,
    /// First pause between tries; doubles each time.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub retry_backoff: Duration,
    /// Finished operations are kept this long (audit trail), then pruned.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::config_keys::HumanDuration")]
    pub retention: Duration,
    /// SQLite journal; default `<state dir>/provisioning.sqlite3`.
    pub journal: PathBuf,
    /// Control socket for the CLI (mode 0600); default `<state dir>/control.sock`.
    pub socket: PathBuf,
}

impl Default for ProvisioningSection {
    fn default() -> Self {
        ProvisioningSection {
            enabled: false,
            allow_delete: false,
            team_strategy: TeamWriteStrategy::AgentList,
            role_strategy: RoleWriteStrategy::AgentList,
            manual_entitlements: Vec::new(),
            fallback_ticket_type: None,
            max_parallel: 4,
            capacity: 1000,
            max_attempts: 5,
            retry_backoff: Duration::from_secs(2),
            retention: Duration::from_secs(90 * 86_400),
            journal: default_state_dir().join("provisioning.sqlite3"),
            socket: default_state_dir().join("control.sock"),
        }
    }
}

impl ProvisioningSection {
    fn validate(&self) -> Result<(), ConfigError> {
        range("provisioning.max_parallel", self.max_parallel as u64, 1, 64)?;
        range("provisioning.capacity", self.capacity as u64, 1, 1_000_000)?;
        range("provisioning.max_attempts", self.max_attempts as u64, 1, 50)?;
        for e in &self.manual_entitlements {
            crate::contract::ids::EntitlementRef::parse(e).map_err(|err| {
                ConfigError::invalid("provisioning.manual_entitlements", err.to_string())
            })?;
        }
        // A Unix socket path is limited to ~107 bytes.
        if self.socket.as_os_str().len() > 100 {
            return Err(ConfigError::invalid(
                "provisioning.socket",
                "path too long for a Unix socket (max 100 bytes)",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str = r#"
[halo]
base_url = "https://acme.haloitsm.com"
client_id = "abc"
"#;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(text: &str, e: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, Path::new("test.toml"), &env(e))
    }

    #[test]
    fn minimal_config_with_env_secret() {
        let cfg = load(MIN, &[(HALO_SECRET_ENV, "s3cret")]).expect("loads");
        assert_eq!(cfg.halo.client_secret.expose(), "s3cret");
        assert_eq!(cfg.halo.rate_limit.requests, 250);
        assert_eq!(cfg.sync.interval, Duration::from_secs(3600));
        assert!(!cfg.to_redacted_toml().contains("s3cret"));
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }

    #[test]
    fn env_overrides_nested_keys_and_ignores_cli_vars() {
        let cfg = load(
            MIN,
            &[
                (HALO_SECRET_ENV, "x"),
                ("BATON_HALO__RATE_LIMIT__REQUESTS", "100"),
                ("BATON_SYNC__INTERVAL", "15m"),
                ("BATON_LOG_LEVEL", "debug"),
            ],
        )
        .expect("loads");
        assert_eq!(cfg.halo.rate_limit.requests, 100);
        assert_eq!(cfg.sync.interval, Duration::from_secs(900));
    }

    #[test]
    fn errors_name_the_key() {
        let s = &[(HALO_SECRET_ENV, "x")];
        let e = load(&format!("{MIN}bogus = 1\n"), s).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = load(&format!("{MIN}[sync]\ninterval = \"5 parsecs\"\n"), s).unwrap_err();
        assert!(e.to_string().contains("sync.interval"), "{e}");
        let e = load(&format!("{MIN}[output]\nkeep = 0\n"), s).unwrap_err();
        assert!(e.to_string().starts_with("output.keep"), "{e}");
        let e = load(&MIN.replace("https://acme.haloitsm.com", "not a url"), s).unwrap_err();
        assert!(e.to_string().contains("halo.base_url"), "{e}");
        let e = load(
            &format!("{MIN}[halo.rate_limit]\nrequests = 0\nwindow = \"5m\"\n"),
            s,
        );
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("halo.rate_limit.requests")
        );
        let e = load(MIN, &[(HALO_SECRET_ENV, "x"), ("BATON_NOPE__X", "1")]).unwrap_err();
        assert!(e.to_string().contains("BATON_NOPE__X"), "{e}");
    }

    #[test]
    fn secret_rules() {
        let e = load(MIN, &[]).unwrap_err();
        assert!(e.to_string().contains("halo.client_secret_file"), "{e}");
        let e = load(
            &MIN.replace("client_id", "client_secret = \"x\"\nclient_id"),
            &[],
        );
        assert!(e.unwrap_err().to_string().contains("halo.client_secret"));
        let missing = "[halo]\nbase_url = \"https://a.b\"\nclient_id = \"c\"\nclient_secret_file = \"/nonexistent/secret\"\n";
        let e = load(missing, &[]).unwrap_err();
        assert!(e.to_string().contains("halo.client_secret_file"), "{e}");
        assert!(e.to_string().contains("/nonexistent/secret"), "{e}");
    }
}

#[cfg(test)]
mod c1_tests {
    use super::*;

    const MIN: &str = "[halo]\nbase_url = \"https://a.b\"\nclient_id = \"c\"\n";

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn baton_variables_and_credential_file() {
        let secret = crate::c1::credentials::client_secret_for_seed(&[9u8; 32]).expect("secret");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(C1_SECRET_CREDENTIAL), secret.expose()).expect("write");
        let creds = dir.path().display().to_string();
        let e = env(&[
            (HALO_SECRET_ENV, "x"),
            (C1_CLIENT_ID_ENV, "n@acme.conductor.one/pcc"),
            (C1_API_HOST_ENV, "api.acme.example:8443"),
            (C1_HOST_ID_ENV, "host-7"),
            ("CREDENTIALS_DIRECTORY", &creds),
        ]);
        let cfg = Config::from_toml_str(MIN, Path::new("t.toml"), &e).expect("loads");
        assert!(cfg.c1.enabled());
        assert_eq!(cfg.c1.client_secret, secret);
        assert_eq!(cfg.c1.api_host.as_deref(), Some("api.acme.example:8443"));
        assert_eq!(cfg.c1.host_id.as_deref(), Some("host-7"));
        assert!(!cfg.to_redacted_toml().contains(secret.expose()));

        // Off without a client id; a secret in the file is refused.
        let cfg = Config::from_toml_str(MIN, Path::new("t.toml"), &env(&[(HALO_SECRET_ENV, "x")]))
            .expect("loads");
        assert!(!cfg.c1.enabled());
        let text = format!("{MIN}[c1]\nclient_secret = \"x\"\n");
        let err =
            Config::from_toml_str(&text, Path::new("t.toml"), &env(&[(HALO_SECRET_ENV, "x")]));
        assert!(err.unwrap_err().to_string().starts_with("c1.client_secret"));
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    /// The annotated example must stay loadable: it is the config reference.
    #[test]
    fn example_toml_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let env: HashMap<String, String> = [(HALO_SECRET_ENV.to_string(), "x".to_string())].into();
        let cfg = Config::load_with_env(&path, &env).expect("example.toml loads");
        assert_eq!(cfg.halo.rate_limit.requests, 250);
    }
}
