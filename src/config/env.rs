//! Environment overrides: `BATON_<SECTION>__<KEY>` (double underscore between levels),
//! checked against the key table so that a typo is refused with the variable named.
//! Only variables that contain `__` are read here: baton's own flag variables
//! (`BATON_LOG_LEVEL`, `BATON_FILE`, ...) belong to the CLI.

use std::collections::HashMap;

use super::{ConfigError, ENV_PREFIX, keys};

/// Keep only `BATON_<section>__...` variables, and refuse one whose section or key is
/// unknown (naming the variable, which the `config` crate would not do). Sections and keys
/// come from the config types (`keys`).
pub(super) fn env_overrides(
    env: &HashMap<String, String>,
) -> Result<HashMap<String, String>, ConfigError> {
    let sections = keys::sections();
    let mut out = HashMap::new();
    for (k, v) in env {
        let Some(rest) = k.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        // A secret's own variable is read when the secret is resolved, after parsing.
        if !rest.contains("__") || keys::secret_for_env(k).is_some() {
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
        match keys::lookup(&path) {
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
                let known: Vec<&str> = keys::keys()
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
pub(super) fn env_source(overrides: HashMap<String, String>) -> config::Environment {
    let lists = keys::keys()
        .iter()
        .filter(|k| k.kind == keys::Kind::StringList);
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
