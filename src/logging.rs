//! Log setup: tracing-subscriber, console or JSON, with an env-filter.
//!
//! Logs go to stderr so that commands printing data (`inspect --json`,
//! `capabilities`) keep stdout clean. Secrets never reach this layer as values:
//! they are `Secret`s, whose Debug/Display print `[REDACTED]`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Install the global subscriber. A second call (tests) is a no-op.
pub fn init(level: &str, format: LogFormat) -> Result<(), String> {
    let filter = EnvFilter::try_new(level).map_err(|e| format!("log level `{level}`: {e}"))?;
    // Colour codes only for a person at a terminal: journald, log files and pipes get
    // plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Console => builder.try_init(),
    };
    Ok(())
}
