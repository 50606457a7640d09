//! Property tests on every parser that reads outside input (issue 18): Halo's JSON, c1z files,
//! the config file and its environment, C1 credentials, control-socket requests and ids,
//! ticket templates and C1 task payloads. Each property holds that a parser never panics and
//! answers either a typed error or a correct value.
//!
//! Case count: every property runs `cases(n)` cases, `n` chosen to keep this module quick in
//! CI; `PROPTEST_CASES` replaces it for a long run (docs/reliability.md, "Property tests"):
//! `PROPTEST_CASES=100000 cargo test --release --test it props::`.
//!
//! Failures: proptest writes the seed of a failing case beside the file that found it
//! (`<file>.proptest-regressions`, committed) and replays it first on every later run.

mod c1_credentials;
mod c1_task_payloads;
mod c1z_reader;
mod config_load;
mod control_requests;
mod halo_json;
mod strategies;
mod ticket_templates;

use proptest::test_runner::{Config, FileFailurePersistence};

/// The name of the knob that overrides every property's case count.
pub const CASES_VAR: &str = "PROPTEST_CASES";

/// A property's configuration: `ci` cases unless `PROPTEST_CASES` says otherwise, failures
/// persisted beside the source file.
pub fn cases(ci: u32) -> Config {
    // `Config::default()` reads the PROPTEST_* variables; an explicit count would hide them.
    let mut config = Config::default();
    if std::env::var_os(CASES_VAR).is_none() {
        config.cases = ci;
    }
    config.failure_persistence = Some(Box::new(FileFailurePersistence::WithSource(
        "proptest-regressions",
    )));
    config
}
