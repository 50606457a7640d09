//! What every settings type shares, whichever capability owns it: the schema of a
//! humantime duration (the config layer's key table reads its format) and the state
//! directory that default paths sit under.

use std::path::PathBuf;

/// The `format` of a duration in the config schema (`config::keys` reads it as a duration).
pub const DURATION_FORMAT: &str = "humantime-duration";

/// Schema of a `humantime_serde` duration: `#[schemars(with = "crate::settings::HumanDuration")]`.
pub struct HumanDuration;

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": DURATION_FORMAT })
    }
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
