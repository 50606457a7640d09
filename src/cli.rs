//! Command-line interface, following baton's conventions: every option can also
//! come from `BATON_` + the upper-snake option name (`--log-level` →
//! `BATON_LOG_LEVEL`, `--file` → `BATON_FILE`). Secrets are never options.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use baton_haloitsm::c1z::inspect::{self, InspectWhat};
use baton_haloitsm::config::{Config, LogFormat};
use baton_haloitsm::{daemon, describe, logging};
use clap::{Parser, Subcommand};
use std::io::Write as _;

/// sysexits(3) codes used where they help systemd and operators.
pub mod exit {
    pub const FAILURE: u8 = 1;
    pub const DATA: u8 = 65;
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
    /// Run one full sync into a c1z file, then exit.
    Sync {
        /// Output c1z path.
        #[arg(short = 'f', long, env = "BATON_FILE", default_value = "sync.c1z")]
        file: PathBuf,
    },
    /// Validate the config file and print the effective config (secrets redacted).
    CheckConfig,
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
    /// Serve a simulated HaloITSM tenant over HTTP until SIGINT/SIGTERM (tests, benches, demos).
    Simulate(SimulateArgs),
}

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free port; the log line says which).
    #[arg(long, env = "BATON_SIM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// TOML file with the full simulator config (tenant, credentials, faults, quirks).
    #[arg(long, env = "BATON_SIM_CONFIG")]
    pub sim_config: Option<PathBuf>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub agents: Option<usize>,
    #[arg(long)]
    pub teams: Option<usize>,
    #[arg(long)]
    pub roles: Option<usize>,
    #[arg(long)]
    pub users: Option<usize>,
    /// Halo's rolling-window rate limit as REQUESTS/WINDOW, e.g. 300/5m. Off unless given.
    #[arg(long, value_parser = parse_rate)]
    pub rate_limit: Option<(u32, std::time::Duration)>,
}

fn parse_rate(s: &str) -> Result<(u32, std::time::Duration), String> {
    let (n, w) = s
        .split_once('/')
        .ok_or_else(|| format!("`{s}`: expected REQUESTS/WINDOW, e.g. 300/5m"))?;
    let n: u32 = n.trim().parse().map_err(|e| format!("`{n}`: {e}"))?;
    let w = humantime::parse_duration(w.trim()).map_err(|e| format!("`{w}`: {e}"))?;
    if n == 0 || w.is_zero() {
        return Err("requests and window must be > 0".into());
    }
    Ok((n, w))
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
}

pub fn dispatch(cli: Cli) -> Result<(), Failure> {
    match &cli.command {
        Command::Run { skip_full_sync } => {
            let mut cfg = load_config(&cli)?;
            cfg.c1.skip_full_sync |= *skip_full_sync;
            init_logging(&cli, Some(&cfg))?;
            let system = actix::System::new();
            system
                .block_on(daemon::run(cfg))
                .context("daemon failed")
                .map_err(Failure::failed)
        }
        Command::CheckConfig => {
            let cfg = load_config(&cli)?;
            println!(
                "# {} is valid; effective configuration:",
                cli.config.display()
            );
            print!("{}", cfg.to_redacted_toml());
            Ok(())
        }
        Command::Simulate(args) => {
            init_logging(&cli, None)?;
            simulate(args)
        }
        Command::Capabilities => print_json(&describe::capabilities()),
        Command::ConfigSchema => print_json(&describe::config_schema()),
        Command::Sync { file } => {
            let cfg = load_config(&cli)?;
            init_logging(&cli, Some(&cfg))?;
            one_sync(cfg, file.clone())
        }
        Command::Inspect {
            file,
            what,
            resource_type,
            json,
        } => {
            init_logging(&cli, None)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            inspect::run(file, *what, resource_type.as_deref(), *json, &mut out)
                .map_err(anyhow::Error::from)
                .and_then(|()| out.flush().map_err(anyhow::Error::from))
                .with_context(|| format!("inspect {}", file.display()))
                .map_err(|e| Failure {
                    code: exit::DATA,
                    error: e,
                })
        }
    }
}

fn load_config(cli: &Cli) -> Result<Config, Failure> {
    Config::load(&cli.config).map_err(|e| Failure::config(anyhow!("invalid configuration: {e}")))
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
    logging::init(&level, format).map_err(|e| Failure::config(anyhow!(e)))
}

fn print_json(v: &serde_json::Value) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(v).map_err(Failure::failed)?;
    println!("{text}");
    Ok(())
}

fn simulate(args: &SimulateArgs) -> Result<(), Failure> {
    use baton_haloitsm::sim::{RateLimitConfig, SimConfig};
    let mut cfg: SimConfig = match &args.sim_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))
                .map_err(Failure::config)?;
            toml::from_str(&text)
                .with_context(|| format!("simulator config {}", path.display()))
                .map_err(Failure::config)?
        }
        None => SimConfig::default(),
    };
    if let Some(v) = args.seed {
        cfg.seed = v;
    }
    if let Some(v) = args.agents {
        cfg.agents = v;
    }
    if let Some(v) = args.teams {
        cfg.teams = v;
    }
    if let Some(v) = args.roles {
        cfg.roles = v;
    }
    if let Some(v) = args.users {
        cfg.users = v;
    }
    if let Some((requests, window)) = args.rate_limit {
        cfg.rate_limit = Some(RateLimitConfig {
            requests,
            window,
            ..RateLimitConfig::default()
        });
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(Failure::failed)?;
    rt.block_on(baton_haloitsm::sim::serve_until(cfg, args.listen, async {
        daemon::shutdown::wait_for_signal().await;
    }))
    .with_context(|| format!("simulator on {}", args.listen))
    .map_err(Failure::failed)
}

/// `sync -f FILE`: the daemon's pipeline, once, without scheduler or retention.
fn one_sync(cfg: Config, file: PathBuf) -> Result<(), Failure> {
    use baton_haloitsm::daemon::pipeline::{self, Mode};
    use baton_haloitsm::sync::coordinator::StartSync;
    let system = actix::System::new();
    let report = system.block_on(async move {
        baton_haloitsm::telemetry::init();
        let (_sim, base_url) = daemon::start_simulator(&cfg)
            .await
            .map_err(Failure::failed)?;
        let p = pipeline::build(&cfg, base_url, Mode::OneShot);
        let result = p
            .coordinator
            .addr()
            .send(StartSync {
                reason: "cli",
                dest: Some(file),
            })
            .await;
        match result {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => Err(Failure::failed(anyhow!("sync failed: {e}"))),
            Err(e) => Err(Failure::failed(anyhow!(
                "sync coordinator unavailable: {e}"
            ))),
        }
    })?;
    use baton_haloitsm::telemetry::process;
    println!(
        "{}: sync {} with {} resources, {} entitlements, {} grants ({} bytes) in {:.2}s; peak_rss_bytes={} cpu_seconds={:.2}",
        report.snapshot.path.display(),
        report.sync_id,
        report.snapshot.counts.resources,
        report.snapshot.counts.entitlements,
        report.snapshot.counts.grants,
        report.snapshot.bytes,
        report.elapsed.as_secs_f64(),
        process::peak_rss_bytes().unwrap_or(0),
        process::cpu_seconds().unwrap_or(0.0),
    );
    Ok(())
}
