//! Command-line interface, following baton's conventions: every option can also
//! come from `BATON_` + the upper-snake option name (`--log-level` →
//! `BATON_LOG_LEVEL`, `--file` → `BATON_FILE`). Secrets are never options.
//!
//! This file holds the argument types, the exit codes and the dispatch; each command
//! family lives in its own file: `run.rs` (the daemon), `sync.rs` (one sync),
//! `describe.rs` (check-config, capabilities, config-schema), `inspect.rs`, `diff.rs`,
//! `simulate.rs`, `provisioning.rs` (grant, revoke, accounts, operations) and
//! `tickets.rs`.

mod describe;
mod diff;
mod inspect;
mod operations_table;
mod provisioning;
mod run;
mod simulate;
mod sync;
mod tickets;

use std::path::PathBuf;

use anyhow::anyhow;
use baton_haloitsm::c1z::inspect::InspectWhat;
use baton_haloitsm::config::{Config, LogFormat};
use baton_haloitsm::logging;
use clap::{Parser, Subcommand};

use provisioning::WaitArgs;
use simulate::SimulateArgs;
use tickets::TicketsCommand;

/// sysexits(3) codes used where they help systemd and operators (docs/operations.md
/// lists them).
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const DATA: u8 = 65;
    /// `run`: `http.listen` cannot be bound (the port is busy, privileged, or not an address
    /// of this host). A provisioning or ticket command: it needs the daemon (the embedded
    /// simulator lives only inside it) and no daemon answers on the control socket.
    pub const UNAVAILABLE: u8 = 69;
    /// A directory the daemon writes into (`output.dir`) cannot be created or written.
    pub const CANTCREAT: u8 = 73;
    /// The provisioning journal (or its lock, or the control socket) is unusable.
    pub const IOERR: u8 = 74;
    pub const CONFIG: u8 = 78;
}

#[derive(Parser, Debug)]
#[command(
    name = "baton-haloitsm",
    version,
    about = "ConductorOne connector daemon for HaloITSM: sync agents, teams and roles into c1z snapshots"
)]
pub struct Cli {
    /// Path of the TOML config file.
    #[arg(
        long,
        global = true,
        env = "BATON_CONFIG",
        default_value = "/etc/baton-haloitsm/config.toml"
    )]
    pub config: PathBuf,
    /// Log filter (error, warn, info, debug, trace, or an env-filter directive). Overrides log.level.
    #[arg(long, global = true, env = "BATON_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Log format. Overrides log.format.
    #[arg(long, global = true, env = "BATON_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: scheduled syncs, /metrics, systemd integration.
    Run {
        /// C1 service mode: refuse sync tasks (baton's flag; sets c1.skip_full_sync).
        #[arg(long, env = "BATON_SKIP_FULL_SYNC")]
        skip_full_sync: bool,
    },
    /// Run one sync into a c1z file, then exit: full, or narrowed with baton's flags.
    Sync {
        /// Output c1z path.
        #[arg(short = 'f', long, env = "BATON_FILE", default_value = "sync.c1z")]
        file: PathBuf,
        #[command(flatten)]
        scope: sync::ScopeArgs,
    },
    /// Validate the config file and print the effective config (secrets redacted).
    CheckConfig {
        /// Check the file without reading or checking the secrets (their variables, files or
        /// credentials need not exist), e.g. in CI or before the secrets are installed.
        #[arg(long)]
        without_secrets: bool,
    },
    /// Print the connector's capabilities (baton JSON format).
    Capabilities,
    /// Print the connector's configuration schema (baton JSON format).
    ConfigSchema,
    /// Print the contents of any v1 c1z file (ours, or one the Go SDK wrote).
    Inspect {
        /// The c1z file.
        file: PathBuf,
        /// What to print.
        #[arg(value_enum)]
        what: InspectWhat,
        /// Only this resource type (resources, entitlements, grants).
        #[arg(short = 't', long = "resource-type")]
        resource_type: Option<String>,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Compare two c1z files: resources added, removed or changed, grants added or removed.
    /// Exits 0 when equal, 1 when different, 65 when a file cannot be read.
    Diff {
        /// The older c1z file.
        old: PathBuf,
        /// The newer c1z file.
        new: PathBuf,
        /// One JSON object (arrays and a summary) instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Serve a simulated HaloITSM tenant over HTTP until SIGINT/SIGTERM (tests, benches, demos).
    Simulate(SimulateArgs),
    /// Grant an entitlement (team:<id>:member, role:<guid>:assigned) to an agent.
    Grant {
        /// Entitlement to grant: team:<id>:member or role:<guid>:assigned.
        #[arg(long)]
        entitlement: String,
        /// agent:<id>
        #[arg(long)]
        principal: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Revoke a grant (<entitlement>:agent:<id>).
    Revoke {
        /// Grant to revoke: <entitlement>:agent:<id>, e.g. team:3:member:agent:42.
        #[arg(long)]
        grant: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Create an agent (no password; Halo sends no invitation from here).
    CreateAccount {
        /// Email of the new agent (also how an existing one is found: create is idempotent).
        #[arg(long)]
        email: String,
        /// Display name of the new agent.
        #[arg(long)]
        name: String,
        /// First name of the new agent.
        #[arg(long)]
        first_name: Option<String>,
        /// Surname of the new agent.
        #[arg(long)]
        surname: Option<String>,
        /// Initial team id.
        #[arg(long)]
        team: Option<i64>,
        /// Initial role GUID.
        #[arg(long)]
        role: Option<String>,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Disable an agent (the documented offboarding).
    DisableAccount {
        /// agent:<id>
        #[arg(long)]
        resource: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Enable a disabled agent.
    EnableAccount {
        /// The agent: agent:<id>.
        #[arg(long)]
        resource: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete an agent (refused unless provisioning.allow_delete).
    DeleteResource {
        /// The agent: agent:<id>.
        #[arg(long)]
        resource: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List the provisioning journal, newest first: a table with local times.
    Operations {
        /// Only operations with this status.
        #[arg(long, value_enum)]
        status: Option<baton_haloitsm::provisioning::journal::OpStatus>,
        /// At most this many operations.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// The journal's records as JSON (times in epoch milliseconds) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// HaloITSM tickets, through the same code path as C1's ticketing tasks.
    Tickets {
        #[command(subcommand)]
        command: TicketsCommand,
    },
}

/// An error with the exit code it deserves.
pub struct Failure {
    pub code: u8,
    pub error: anyhow::Error,
}

impl Failure {
    fn config(e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit::CONFIG,
            error: e.into(),
        }
    }
    fn failed(e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit::FAILURE,
            error: e.into(),
        }
    }
    fn data(e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit::DATA,
            error: e.into(),
        }
    }
    fn io(e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit::IOERR,
            error: e.into(),
        }
    }
    fn with_code(code: u8, e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code,
            error: e.into(),
        }
    }
    fn unavailable(e: impl Into<anyhow::Error>) -> Self {
        Failure {
            code: exit::UNAVAILABLE,
            error: e.into(),
        }
    }
}

/// Each command with what it needs first: the config (a config error exits 78 before
/// anything starts) and logging.
pub fn dispatch(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Run { skip_full_sync } => {
            let mut cfg = load_config(&cli)?;
            cfg.c1.skip_full_sync |= *skip_full_sync;
            init_logging(&cli, Some(&cfg))?;
            run::daemon(cfg)
        }
        Command::CheckConfig { without_secrets } => {
            let cfg = match without_secrets {
                true => Config::load_without_secrets(&cli.config).map_err(config_failure)?,
                false => load_config(&cli)?,
            };
            describe::check_config(&cli.config, &cfg, *without_secrets);
            Ok(())
        }
        Command::Simulate(args) => {
            init_logging(&cli, None)?;
            simulate::serve(args)
        }
        Command::Capabilities => {
            // The config is optional here: without one the defaults apply (end
            // users, ticketing and provisioning off). `user` is listed only when
            // end users are synced.
            let cfg = Config::load(&cli.config).ok();
            describe::capabilities(cfg.as_ref())
        }
        Command::Tickets { command } => {
            let cfg = load_config(&cli)?;
            init_logging(&cli, Some(&cfg))?;
            tickets::run(cfg, command)
        }
        Command::ConfigSchema => describe::config_schema(),
        Command::Sync { file, scope } => {
            // A malformed id is refused before the config is even read: no request goes out.
            let plan = scope.plan().map_err(Failure::config)?;
            let cfg = load_config(&cli)?;
            init_logging(&cli, Some(&cfg))?;
            sync::one_sync(cfg, file.clone(), plan)
        }
        Command::Grant { .. }
        | Command::Revoke { .. }
        | Command::CreateAccount { .. }
        | Command::DisableAccount { .. }
        | Command::EnableAccount { .. }
        | Command::DeleteResource { .. }
        | Command::Operations { .. } => {
            let cfg = load_config(&cli)?;
            init_logging(&cli, Some(&cfg))?;
            let req = provisioning::control_request(&cli.command).map_err(Failure::failed)?;
            let table = matches!(cli.command, Command::Operations { json: false, .. });
            provisioning::provision(cfg, req, table)
        }
        Command::Inspect {
            file,
            what,
            resource_type,
            json,
        } => {
            init_logging(&cli, None)?;
            inspect::print(file, *what, resource_type.as_deref(), *json)
        }
        Command::Diff { old, new, json } => {
            init_logging(&cli, None)?;
            diff::run(old, new, *json)
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    Config::load(&cli.config).map_err(config_failure)
}

fn config_failure(e: baton_haloitsm::config::ConfigError) -> Failure {
    Failure::config(anyhow!("invalid configuration: {e}"))
}

fn init_logging(cli: &Cli, cfg: Option<&Config>) -> Result<(), Failure> {
    let level = cli
        .log_level
        .clone()
        .or_else(|| cfg.map(|c| c.log.level.clone()))
        .unwrap_or_else(|| "info".into());
    let format = cli
        .log_format
        .or_else(|| cfg.map(|c| c.log.format))
        .unwrap_or(LogFormat::Console);
    logging::init(&level, format).map_err(|e| Failure::config(anyhow!(e)))?;
    // At every start: plain HTTP allowed by a flag, a secret file others may read.
    for warning in cfg.map(Config::warnings).unwrap_or_default() {
        tracing::warn!("{warning}");
    }
    Ok(())
}

fn print_json(v: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(Failure::failed)?;
    println!("{text}");
    Ok(())
}
