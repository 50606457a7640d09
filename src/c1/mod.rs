//! C1 service mode: the connector keeps a connection to ConductorOne, takes tasks from it
//! (sync, provisioning, ticketing, actions) and uploads every sync's c1z
//! (docs/reference/baton-compat.md §4).
//!
//! - `credentials`: client id / secret parsing and the Ed25519 JWS client assertion;
//! - `auth`: C1Auth, the actor that owns the C1 bearer token;
//! - `link`: C1Link, the actor that owns the gRPC channel and the task loop;
//! - `tasks`: the tasks, one family per file (sync, provisioning, tickets, actions);
//! - `task_kind`: the kinds of task, with their metric labels;
//! - `status`: the one mapping from outcomes to `google.rpc.Status` and retryability;
//! - `upload`: UploadAsset streaming of a c1z from disk;
//! - `hello`: what Hello answers;
//! - `settings`: the `[c1]` config section.
//!
//! Inside, imports point one way: link -> tasks -> status, task_kind.

pub mod auth;
pub mod credentials;
pub mod hello;
pub mod link;
pub mod settings;
pub mod status;
pub mod task_kind;
pub mod tasks;
pub mod upload;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use credentials::{ClientId, CredentialError, SigningKey};
use settings::C1Section;

/// Errors of the C1 layer.
#[derive(Debug, thiserror::Error)]
pub enum C1Error {
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    #[error("C1 token endpoint: {0}")]
    Token(String),
    /// The token endpoint said no (4xx): the credentials are wrong or revoked.
    #[error("C1 refused the client credentials (HTTP {0})")]
    TokenRefused(u16),
    #[error("C1 address `{0}` is not usable")]
    Address(String),
    #[error("C1 call {rpc}: {status}")]
    Rpc {
        rpc: &'static str,
        status: tonic::Status,
    },
    #[error("{actor} is not running: {source}")]
    Mailbox {
        actor: &'static str,
        source: actix::MailboxError,
    },
    #[error("upload: {0}")]
    Upload(String),
}

/// Everything service mode needs, resolved from the config.
#[derive(Debug, Clone)]
pub struct C1Settings {
    pub client_id: ClientId,
    pub key: Arc<SigningKey>,
    /// `host[:port]` for the token endpoint and gRPC.
    pub api_host: String,
    pub host_id: String,
    pub task_concurrency: usize,
    pub skip_full_sync: bool,
    pub temp_dir: PathBuf,
    pub keep_failed_upload: Duration,
    pub enabled: hello::Enabled,
}

impl C1Settings {
    /// `None` when service mode is off (no client id).
    pub fn from_section(
        c1: &C1Section,
        enabled: hello::Enabled,
    ) -> Result<Option<C1Settings>, C1Error> {
        let Some(id) = &c1.client_id else {
            return Ok(None);
        };
        let client_id = ClientId::parse(id)?;
        let key = Arc::new(SigningKey::from_client_secret(&c1.client_secret)?);
        let api_host = c1
            .api_host
            .clone()
            .unwrap_or_else(|| client_id.host.clone());
        Ok(Some(C1Settings {
            api_host,
            key,
            host_id: c1.host_id.clone().unwrap_or_else(hello::hostname),
            task_concurrency: c1.task_concurrency.max(1),
            skip_full_sync: c1.skip_full_sync,
            temp_dir: c1
                .temp_dir
                .clone()
                .unwrap_or_else(|| crate::settings::default_state_dir().join("c1-tmp")),
            keep_failed_upload: c1.keep_failed_upload,
            enabled,
            client_id,
        }))
    }

    /// Plaintext only to a loopback host (tests; the same rule as Halo's `http://`);
    /// everything else is TLS with verified certificates, with no way to turn that off.
    pub fn plaintext(&self) -> bool {
        crate::settings::is_loopback_host(credentials::host_without_port(&self.api_host))
    }

    fn scheme(&self) -> &'static str {
        if self.plaintext() { "http" } else { "https" }
    }

    pub fn token_url(&self) -> String {
        format!("{}://{}/auth/v1/token", self.scheme(), self.api_host)
    }

    /// The gRPC endpoint; port 443 unless the host names one.
    pub fn grpc_uri(&self) -> String {
        let has_port = credentials::host_without_port(&self.api_host) != self.api_host;
        if has_port {
            format!("{}://{}", self.scheme(), self.api_host)
        } else {
            format!("{}://{}:443", self.scheme(), self.api_host)
        }
    }
}
