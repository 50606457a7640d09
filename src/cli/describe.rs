//! The commands that describe the connector without running it: `check-config` (the
//! effective config, secrets redacted), `capabilities` and `config-schema` (baton JSON).

use std::path::Path;

use baton_haloitsm::config::Config;
use baton_haloitsm::describe;

use super::{Failure, print_json};

/// The verdict and the effective config on stdout; the warnings (plain HTTP allowed by a
/// flag, a secret file others may read) on stderr, as `run` logs them.
pub fn check_config(path: &Path, cfg: &Config, without_secrets: bool) {
    for warning in cfg.warnings() {
        eprintln!("warning: {warning}");
    }
    if without_secrets {
        println!(
            "# {} is valid; secrets were not checked (--without-secrets); effective configuration:",
            path.display()
        );
    } else {
        println!("# {} is valid; effective configuration:", path.display());
    }
    print!("{}", cfg.to_redacted_toml());
}

/// `cfg` is `None` when there is no (valid) config: the defaults apply.
pub fn capabilities(cfg: Option<&Config>) -> Result<(), Failure> {
    print_json(&describe::capabilities(&describe::Features::of(cfg)))
}

pub fn config_schema() -> Result<(), Failure> {
    print_json(&describe::config_schema())
}
