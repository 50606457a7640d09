//! Loading: the file and the environment through the `config` crate, then through
//! `serde_path_to_error` so that every refusal names the key that caused it; then the
//! relative paths, the secrets and the range checks.
//!
//! Every relative path of the config (journal, socket, output dir, C1's temp dir, the
//! `*_file` secrets, and the defaults under the state dir when `$STATE_DIRECTORY` is
//! unset) resolves against the directory of the config file, never the process's working
//! directory: the daemon and a CLI run from anywhere with the same file agree on every path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::env::{env_overrides, env_source};
use super::secrets::{Secrets, resolve_c1, resolve_halo_secret};
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
        let text = Self::read(path)?;
        Self::from_toml_str(&text, path, env)
    }

    pub(super) fn read(path: &Path) -> Result<String, ConfigError> {
        std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })
    }

    pub fn from_toml_str(
        text: &str,
        path: &Path,
        env: &HashMap<String, String>,
    ) -> Result<Config, ConfigError> {
        Self::from_toml_str_with(text, path, env, Secrets::Checked)
    }

    pub fn from_toml_str_with(
        text: &str,
        path: &Path,
        env: &HashMap<String, String>,
        secrets: Secrets,
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
        cfg.resolve_paths(&config_dir(path));
        cfg.halo.client_secret = match &cfg.simulator {
            // The embedded simulator's credentials are test values, not secrets.
            Some(sim) => {
                cfg.halo.client_id = sim.tenant.client_id.clone();
                Secret::new(sim.tenant.client_secret.clone())
            }
            None => resolve_halo_secret(&cfg.halo, env, secrets)?,
        };
        resolve_c1(&mut cfg.c1, env, secrets)?;
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The directory that relative paths in the config at `path` resolve against: the
/// file's own directory, made absolute (a relative `--config` names a file under the
/// working directory, the one place it counts).
fn config_dir(path: &Path) -> PathBuf {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // The file was just read, so its directory exists: canonical, without `..`.
    std::fs::canonicalize(parent)
        .or_else(|_| std::path::absolute(parent))
        .unwrap_or_else(|_| parent.to_path_buf())
}

/// `base` joined with a relative `p`, `.` and `..` folded in (`base` is canonical, so
/// a `..` in the config steps out of a real directory), so messages show plain paths.
fn resolve(base: &Path, p: &mut PathBuf) {
    if p.is_relative() {
        let mut out = base.to_path_buf();
        for c in p.components() {
            match c {
                std::path::Component::CurDir => {}
                std::path::Component::ParentDir => {
                    out.pop();
                }
                other => out.push(other),
            }
        }
        *p = out;
    }
}

impl Config {
    /// Anchor every relative path at `base` (see the module header).
    fn resolve_paths(&mut self, base: &Path) {
        resolve(base, &mut self.provisioning.journal);
        resolve(base, &mut self.provisioning.socket);
        resolve(base, &mut self.output.dir);
        // C1's default sits under the state dir too; filled in here so that it is anchored.
        let c1_tmp = self
            .c1
            .temp_dir
            .get_or_insert_with(|| crate::settings::default_state_dir().join("c1-tmp"));
        resolve(base, c1_tmp);
        for file in [
            &mut self.halo.client_secret_file,
            &mut self.c1.client_secret_file,
        ]
        .into_iter()
        .flatten()
        {
            resolve(base, file);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::Config;

    #[test]
    fn relative_paths_resolve_against_the_config_files_directory() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path().join("etc");
        std::fs::create_dir(&etc).unwrap();
        let etc = etc.canonicalize().unwrap();
        std::fs::write(etc.join("halo.secret"), "s3cret").unwrap();
        let text = r#"
[halo]
base_url = "https://acme.haloitsm.com"
client_id = "abc"
client_secret_file = "halo.secret"

[output]
dir = "out/snapshots"

[provisioning]
journal = "./state/../state/journal.sqlite3"
socket = "/run/abs.sock"
"#;
        let path = etc.join("config.toml");
        let cfg = Config::from_toml_str(text, &path, &HashMap::new()).expect("loads");
        assert_eq!(cfg.provisioning.journal, etc.join("state/journal.sqlite3"));
        assert_eq!(cfg.provisioning.socket, Path::new("/run/abs.sock"));
        assert_eq!(cfg.output.dir, etc.join("out/snapshots"));
        assert_eq!(
            cfg.halo.client_secret_file.as_deref(),
            Some(etc.join("halo.secret").as_path())
        );
        // The secret was read from the resolved file, whatever the working directory.
        assert_eq!(cfg.halo.client_secret.expose(), "s3cret");
        // Defaults under the state dir are anchored too (absolute under systemd).
        assert!(cfg.c1.temp_dir.as_deref().is_some_and(Path::is_absolute));
        assert!(cfg.provisioning.journal.is_absolute());
    }

    #[test]
    fn a_bare_file_name_resolves_against_the_working_directory_once() {
        let text = "[halo]\nbase_url = \"https://a.haloitsm.com\"\nclient_id = \"abc\"\n";
        let env = HashMap::from([("BATON_HALO__CLIENT_SECRET".to_string(), "x".to_string())]);
        let cfg = Config::from_toml_str(text, Path::new("config.toml"), &env).expect("loads");
        assert!(cfg.provisioning.socket.is_absolute());
        assert!(cfg.output.dir.is_absolute());
    }
}
