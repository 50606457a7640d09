//! `simulate`: a simulated HaloITSM tenant served over HTTP until SIGINT/SIGTERM, for
//! tests, benches and demos. Flags override the `--sim-config` file.

use std::path::PathBuf;

use anyhow::Context as _;
use baton_haloitsm::daemon;

use super::Failure;

#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// Address to listen on (port 0 picks a free port; the log line says which).
    #[arg(long, env = "BATON_SIM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// TOML file with the full simulator config (tenant, credentials, faults, quirks).
    #[arg(long, env = "BATON_SIM_CONFIG")]
    pub sim_config: Option<PathBuf>,
    /// Seed of the generated tenant (same seed, same tenant).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of agents to generate.
    #[arg(long)]
    pub agents: Option<usize>,
    /// Number of teams to generate.
    #[arg(long)]
    pub teams: Option<usize>,
    /// Number of roles to generate.
    #[arg(long)]
    pub roles: Option<usize>,
    /// Number of end users to generate.
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

pub fn serve(args: &SimulateArgs) -> Result<(), Failure> {
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
