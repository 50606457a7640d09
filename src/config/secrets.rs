//! The secrets: never from the config file; from their variable, a file named in the
//! config, or a systemd credential. The C1 credentials are checked here too, so that a
//! bad one fails at start (exit 78) without being echoed. (A secret file that group or
//! others may read is a warning: `validate`.)
//!
//! `check-config --without-secrets` loads with [`Secrets::Unchecked`]: no secret is then
//! read or checked, and both stay unset.

use std::collections::HashMap;
use std::path::Path;

use super::ConfigError;
use super::validate::range;
use crate::c1::settings::{
    C1_API_HOST_ENV, C1_CLIENT_ID_ENV, C1_HOST_ID_ENV, C1_SECRET_CREDENTIAL, C1_SECRET_ENV,
    C1Section,
};
use crate::halo::settings::{HALO_SECRET_CREDENTIAL, HALO_SECRET_ENV, HaloSection};
use crate::secret::Secret;

/// Whether loading reads and checks the secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    Checked,
    /// None is read or checked and both stay unset (`check-config --without-secrets`: a
    /// file checked where its secrets are not).
    Unchecked,
}

impl super::Config {
    /// `load`, except that no secret is read or checked and both stay unset.
    pub fn load_without_secrets(path: &Path) -> Result<super::Config, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        let text = Self::read(path)?;
        Self::from_toml_str_with(&text, path, &env, Secrets::Unchecked)
    }
}

pub(super) fn resolve_halo_secret(
    halo: &HaloSection,
    env: &HashMap<String, String>,
    secrets: Secrets,
) -> Result<Secret, ConfigError> {
    if secrets == Secrets::Unchecked {
        return Ok(Secret::default());
    }
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

/// Fills the C1 section from baton's variables and the secret sources, and checks the
/// credential formats now, so that a bad one fails at start (exit 78) without echoing it.
pub(super) fn resolve_c1(
    c1: &mut C1Section,
    env: &HashMap<String, String>,
    secrets: Secrets,
) -> Result<(), ConfigError> {
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
    if secrets == Secrets::Checked {
        c1.client_secret = c1_secret(c1, env)?;
    }
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

/// The C1 client secret from its variable, file or credential, its format checked.
fn c1_secret(c1: &C1Section, env: &HashMap<String, String>) -> Result<Secret, ConfigError> {
    let secret = if let Some(v) = env
        .get(C1_SECRET_ENV)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    {
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
    crate::c1::credentials::SigningKey::from_client_secret(&secret)
        .map_err(|e| ConfigError::invalid("c1.client_secret", e.to_string()))?;
    Ok(secret)
}
