//! `baton-haloitsm`: the binary's edge. Parses the CLI, loads the config, sets up
//! logging, and maps failures to exit codes (sysexits: 78 = config error).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::dispatch(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", chain(&failure.error));
            ExitCode::from(failure.code)
        }
    }
}

/// The error and its causes, each printed once. Our error types quote their
/// cause instead of exposing it as `source()`; this also covers a foreign or
/// wrapping error that does both (anyhow's `{:#}` would repeat it).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
