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
    /// Grant an entitlement (team:<id>:member, role:<guid>:assigned) to an agent.
    Grant {
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
        #[arg(long)]
        grant: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Create an agent (no password; Halo sends no invitation from here).
    CreateAccount {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        first_name: Option<String>,
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
        #[arg(long)]
        resource: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// Delete an agent (refused unless provisioning.allow_delete).
    DeleteResource {
        #[arg(long)]
        resource: String,
        #[command(flatten)]
        wait: WaitArgs,
    },
    /// List the provisioning journal, newest first.
    Operations {
        #[arg(long, value_enum)]
        status: Option<baton_haloitsm::provisioning::journal::OpStatus>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// HaloITSM tickets, through the same code path as C1's ticketing tasks.
    Tickets {
        #[command(subcommand)]
        command: TicketsCommand,
    },
}

#[derive(Subcommand, Debug)]
pub enum TicketsCommand {
    /// List ticket schemas (Halo ticket types with statuses and custom fields).
    Schemas {
        /// One JSON object per schema instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a ticket from a baton ticket template (JSON: schema_id, status_id,
    /// display_name, description, labels, custom_fields, requested_for_id).
    Create {
        #[arg(long)]
        template: PathBuf,
        /// Idempotency key: creating again with the same key returns the first ticket.
        #[arg(long)]
        request_key: Option<String>,
    },
    /// Print one ticket as JSON.
    Get { id: String },
    /// Add a note to a ticket, optionally moving it to a status.
    Note {
        id: String,
        #[arg(long)]
        text: String,
        /// Hidden from the end user.
        #[arg(long)]
        private: bool,
        /// New status, by name or id.
        #[arg(long)]
        status: Option<String>,
    },
}

#[derive(clap::Args, Debug, Clone, Copy)]
pub struct WaitArgs {
    /// Print the acknowledged operation id instead of waiting for the outcome.
    #[arg(long)]
    pub no_wait: bool,
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
            system.block_on(daemon::run(cfg)).map_err(|e| match e {
                daemon::DaemonError::Journal(_) | daemon::DaemonError::ControlSocket(_) => {
                    io_failure(anyhow::Error::from(e).context("daemon failed"))
                }
                e => Failure::failed(anyhow::Error::from(e).context("daemon failed")),
            })
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
        Command::Capabilities => {
            // The config is optional here: without one the defaults apply (end
            // users, ticketing and provisioning off). `user` is listed only when
            // end users are synced.
            let cfg = Config::load(&cli.config).ok();
            print_json(&describe::capabilities(&describe::Features::of(
                cfg.as_ref(),
            )))
        }
        Command::Tickets { command } => {
            let cfg = load_config(&cli)?;
            init_logging(&cli, Some(&cfg))?;
            tickets(cfg, command)
        }
        Command::ConfigSchema => print_json(&describe::config_schema()),
        Command::Sync { file } => {
            let cfg = load_config(&cli)?;
            init_logging(&cli, Some(&cfg))?;
            one_sync(cfg, file.clone())
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
            let req = control_request(&cli.command).map_err(Failure::failed)?;
            provision(cfg, req)
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
            // A reader that stops early (`inspect … | head`) closes the pipe:
            // that ends the output quietly, it is not a failure.
            let result = match inspect::run(file, *what, resource_type.as_deref(), *json, &mut out)
            {
                Err(e) if e.is_broken_pipe() => return Ok(()),
                Err(e) => Err(anyhow::Error::from(e)),
                Ok(()) => match out.flush() {
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
                    other => other.map_err(anyhow::Error::from),
                },
            };
            result
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
    use haloitsm_sim::{RateLimitConfig, SimConfig};
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
    rt.block_on(haloitsm_sim::serve_until(cfg, args.listen, async {
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

/// `tickets ...`: the Halo client (and the embedded simulator when configured) in an actix
/// System, then one ticketing call. Bad input (a template that is not JSON) fails before
/// anything starts.
fn tickets(cfg: Config, command: &TicketsCommand) -> Result<(), Failure> {
    use baton_haloitsm::ticketing::{Ticketing, render, template::Template};
    let template = match command {
        TicketsCommand::Create { template, .. } => {
            let text = std::fs::read_to_string(template)
                .with_context(|| format!("reading {}", template.display()))
                .map_err(|e| Failure {
                    code: exit::DATA,
                    error: e,
                })?;
            Some(Template::parse(&text).map_err(|e| Failure {
                code: exit::DATA,
                error: anyhow!("{}: {e}", template.display()),
            })?)
        }
        _ => None,
    };
    let system = actix::System::new();
    system.block_on(async move {
        let (_sim, base_url) = daemon::start_simulator(&cfg)
            .await
            .map_err(Failure::failed)?;
        let settings = cfg.halo_settings(base_url);
        let base = settings.base_url.clone();
        let t = Ticketing::new(
            baton_haloitsm::halo::start(settings),
            cfg.ticketing.clone(),
            base,
        );
        let failed = |e: baton_haloitsm::ticketing::Error| Failure::failed(anyhow!(e));
        match command {
            TicketsCommand::Schemas { json } => {
                let mut token = String::new();
                loop {
                    let (page, next) = t.list_schemas(0, &token).await.map_err(failed)?;
                    for s in &page {
                        if *json {
                            println!("{}", render::schema(s));
                        } else {
                            let statuses: Vec<_> =
                                s.statuses.iter().map(|x| x.display_name.as_str()).collect();
                            println!(
                                "{:>5}  {:<30} statuses: {}; fields: {}",
                                s.id,
                                s.display_name,
                                statuses.join(", "),
                                s.custom_fields
                                    .keys()
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            );
                        }
                    }
                    if next.is_empty() {
                        break Ok(());
                    }
                    token = next;
                }
            }
            TicketsCommand::Create { request_key, .. } => {
                let Some(template) = template else {
                    return Err(Failure::failed(anyhow!("no template")));
                };
                let schema = t.get_schema(&template.schema_id).await.map_err(failed)?;
                let req = template.to_request(&schema).map_err(|e| Failure {
                    code: exit::DATA,
                    error: anyhow!(e),
                })?;
                let result = t.create_ticket(&req, &schema, request_key.as_deref()).await;
                if let Some(ticket) = &result.ticket {
                    print_json(&render::ticket(ticket))?;
                }
                match result.error {
                    Some(e) => Err(failed(e)),
                    None => Ok(()),
                }
            }
            TicketsCommand::Get { id } => {
                let ticket = t.get_ticket(id).await.map_err(failed)?;
                print_json(&render::ticket(&ticket))
            }
            TicketsCommand::Note {
                id,
                text,
                private,
                status,
            } => {
                t.add_note(id, text, *private, status.as_deref())
                    .await
                    .map_err(failed)?;
                println!("note added to ticket {id}");
                Ok(())
            }
        }
    })
}

// ---- provisioning commands (issue 10) ----------------------------------------

use baton_haloitsm::provisioning::control_socket::{self, ControlRequest, ControlResponse};

fn control_request(cmd: &Command) -> anyhow::Result<ControlRequest> {
    use baton_haloitsm::provisioning::operation::{NewAccount, OpRequest};
    let requested_by = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let submit = |request, wait: &WaitArgs| ControlRequest::Submit {
        request,
        requested_by: requested_by.clone(),
        wait: !wait.no_wait,
    };
    Ok(match cmd {
        Command::Grant {
            entitlement,
            principal,
            wait,
        } => submit(
            OpRequest::Grant {
                entitlement: entitlement.clone(),
                principal: principal.clone(),
            },
            wait,
        ),
        Command::Revoke { grant, wait } => submit(
            OpRequest::Revoke {
                grant: grant.clone(),
            },
            wait,
        ),
        Command::CreateAccount {
            email,
            name,
            first_name,
            surname,
            team,
            role,
            wait,
        } => submit(
            OpRequest::CreateAccount(NewAccount {
                email: email.clone(),
                name: name.clone(),
                firstname: first_name.clone(),
                surname: surname.clone(),
                team: *team,
                role: role.clone(),
            }),
            wait,
        ),
        Command::DisableAccount { resource, wait } => submit(
            OpRequest::DisableAccount {
                resource: resource.clone(),
            },
            wait,
        ),
        Command::EnableAccount { resource, wait } => submit(
            OpRequest::EnableAccount {
                resource: resource.clone(),
            },
            wait,
        ),
        Command::DeleteResource { resource, wait } => submit(
            OpRequest::DeleteResource {
                resource: resource.clone(),
            },
            wait,
        ),
        Command::Operations { status, limit } => ControlRequest::List {
            status: *status,
            limit: *limit,
        },
        other => return Err(anyhow!("{other:?} is not a provisioning command")),
    })
}

fn io_failure(e: impl Into<anyhow::Error>) -> Failure {
    Failure {
        code: exit::IOERR,
        error: e.into(),
    }
}

/// Through the daemon's control socket when it answers; otherwise in-process,
/// through the same queue and journal. Prints JSON; a failed outcome exits 1.
fn provision(cfg: Config, req: ControlRequest) -> Result<(), Failure> {
    let resp = match control_socket::request(&cfg.provisioning.socket, &req).map_err(io_failure)? {
        Some(resp) => resp,
        None => in_process(cfg, req)?,
    };
    print_json(&serde_json::to_value(&resp).map_err(Failure::failed)?)?;
    match resp {
        ControlResponse::Submitted {
            outcome: Some(o), ..
        } if !o.is_success() => Err(Failure::failed(anyhow!("operation failed"))),
        ControlResponse::Error { error } => Err(Failure::failed(anyhow!(error))),
        _ => Ok(()),
    }
}

fn in_process(cfg: Config, req: ControlRequest) -> Result<ControlResponse, Failure> {
    use baton_haloitsm::daemon::pipeline::{self, Mode};
    use baton_haloitsm::provisioning::journal::Journal;
    if let ControlRequest::Submit { .. } = req
        && !cfg.provisioning.enabled
    {
        // The daemon's answer too, without creating a journal nobody needs.
        return Ok(ControlResponse::Submitted {
            op_id: None,
            outcome: Some(baton_haloitsm::provisioning::outcome::Outcome::not_enabled()),
        });
    }
    let system = actix::System::new();
    system.block_on(async move {
        baton_haloitsm::telemetry::init();
        let journal = Journal::open(&cfg.provisioning.journal).map_err(io_failure)?;
        if let ControlRequest::List { status, limit } = req {
            return Ok(match journal.list(status, limit) {
                Ok(operations) => ControlResponse::Operations { operations },
                Err(e) => return Err(io_failure(e)),
            });
        }
        let (_sim, base_url) = daemon::start_simulator(&cfg)
            .await
            .map_err(Failure::failed)?;
        let mut p = pipeline::build(&cfg, base_url, Mode::OneShot);
        let prov = pipeline::add_provisioning(&mut p, &cfg, journal);
        Ok(control_socket::answer(req, &prov).await)
    })
}
