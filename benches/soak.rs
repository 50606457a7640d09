//! Soak: resident memory over a long life. The daemon's pipeline (the same
//! actors, wired by `pipeline::build` in daemon mode, publishing with
//! retention) and the embedded simulator share one process, as in the demo;
//! syncs run back to back instead of once a second, and `/metrics` is
//! rendered after each, as a scraper would.
//!
//!   cargo bench --bench soak                          # 2,000 agents, 500 syncs
//!   SOAK_AGENTS=5000 SOAK_SYNCS=500 cargo bench --bench soak
//!   SOAK_SIM_LOG_LIMIT=100000 cargo bench --bench soak  # the simulator's old request-log bound
//!
//! Prints RSS at sync 10 (the baseline: everything warmed up) and at the last
//! sync, side by side with the growth per sync; the floor is 0 B per sync.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use baton_haloitsm::config::Config;
use baton_haloitsm::daemon::{self, pipeline};
use baton_haloitsm::sync::coordinator::StartSync;
use baton_haloitsm::telemetry::{self, process};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn main() {
    let agents = env_usize("SOAK_AGENTS", 2_000);
    let syncs = env_usize("SOAK_SYNCS", 500).max(20);
    let log_limit = std::env::var("SOAK_SIM_LOG_LIMIT").ok();
    let dir = tempfile::tempdir().expect("temp dir");
    // The demo's tenant shape (config/demo.toml) without its latency.
    let toml = format!(
        r#"
[halo]
base_url = "http://127.0.0.1:1"
client_id = "sim-client"
rate_limit = {{ requests = 100000, window = "1s" }}

[simulator]
listen = "127.0.0.1:0"

[simulator.tenant]
seed = 7
agents = {agents}
teams = 25
roles = 8
users = 200
{log_limit}

[sync]
interval = "7d"
jitter = "0s"
on_start = false
include_end_users = true

[output]
dir = "{dir}"
keep = 5
"#,
        dir = dir.path().display(),
        log_limit = log_limit
            .as_deref()
            .map(|n| format!("request_log_limit = {n}"))
            .unwrap_or_default(),
    );
    let cfg = Config::from_toml_str(&toml, Path::new("soak.toml"), &HashMap::new())
        .expect("soak config is valid");

    let system = actix::System::new();
    let samples: Vec<(usize, u64)> = system.block_on(async move {
        telemetry::init();
        let (_sim, base_url) = daemon::start_simulator(&cfg).await.expect("simulator");
        let p = pipeline::build(&cfg, base_url, pipeline::Mode::Daemon);
        let mut samples = Vec::new();
        let started = Instant::now();
        for n in 1..=syncs {
            let report = p
                .coordinator
                .addr()
                .send(StartSync {
                    reason: "soak",
                    dest: None,
                })
                .await
                .expect("coordinator alive")
                .expect("sync succeeds");
            assert_eq!(report.agents, agents as u64);
            // A scrape per sync, as Prometheus would do over a long life.
            std::hint::black_box(telemetry::render());
            let rss = process::rss_bytes().unwrap_or(0);
            if n == 10 || n % 50 == 0 || n == syncs {
                samples.push((n, rss));
                eprintln!(
                    "  sync {n:>4}: RSS {:>6.1} MB  ({:.0} s)",
                    mb(rss),
                    started.elapsed().as_secs_f64()
                );
            }
        }
        samples
    });

    let at = |n: usize| {
        samples
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, r)| *r)
            .unwrap_or(0)
    };
    let (first, last) = (at(10), at(syncs));
    let growth = (last as f64 - first as f64) / (syncs - 10) as f64;
    // The second half alone: growth that has not levelled off shows here too.
    let mid = samples
        .iter()
        .filter(|(k, _)| *k >= syncs / 2)
        .min_by_key(|(k, _)| *k)
        .copied()
        .unwrap_or((10, first));
    let late = (last as f64 - mid.1 as f64) / (syncs - mid.0).max(1) as f64;
    println!();
    println!(
        "soak: {agents} agents, {syncs} syncs, simulator request log limit {}",
        log_limit.as_deref().unwrap_or("default")
    );
    println!(
        "| RSS at sync 10 | RSS at sync {syncs} | growth per sync (10..{syncs}) | growth per sync ({}..{syncs}) | floor |",
        mid.0
    );
    println!("|---|---|---|---|---|");
    println!(
        "| {:.1} MB | {:.1} MB | {:.1} KB | {:.1} KB | 0 KB |",
        mb(first),
        mb(last),
        growth / 1e3,
        late / 1e3
    );
}
