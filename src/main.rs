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
            eprintln!("error: {:#}", failure.error);
            ExitCode::from(failure.code)
        }
    }
}
