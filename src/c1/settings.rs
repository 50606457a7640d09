//! The `[c1]` config section (service mode) and the variables baton reads for it.
//! The config layer fills the secret and checks the credential formats;
//! `C1Settings` (c1/mod.rs) is what service mode runs with.

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::secret::Secret;

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
    #[schemars(with = "crate::settings::HumanDuration")]
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
