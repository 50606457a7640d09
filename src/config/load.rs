//! Loading: the file and the environment through the `config` crate, then through
//! `serde_path_to_error` so that every refusal names the key that caused it; then the
//! secrets and the range checks.

use std::collections::HashMap;
use std::path::Path;

use super::env::{env_overrides, env_source};
use super::secrets::{resolve_c1, resolve_halo_secret};
use super::{Config, ConfigError};
use crate::c1::settings::C1_SECRET_ENV;
use crate::halo::settings::HALO_SECRET_ENV;
use crate::secret::Secret;

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
}
