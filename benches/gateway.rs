//! Gateway throughput and overhead against the simulator (no rate limit, no latency).
//!
//! For each concurrency level, the same N `GET /api/Roles` requests are sent twice: through
//! the full stack (`HaloClient::send` → ApiGateway actor → pacer, semaphore, token, retries,
//! metrics) and with raw reqwest carrying a bearer token. The table shows requests per
//! second for both and the gateway's mean added latency per request.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-halo cargo bench --bench gateway`
//! (`GATEWAY_BENCH_N=5000` changes the requests per run.)

use std::time::{Duration, Instant};

use baton_haloitsm::halo::{self, HaloRequest, HaloSettings};
use futures::StreamExt;
use haloitsm_sim::{SimConfig, SimHandle};

const ROUNDS: usize = 3;

struct Run {
    rps: f64,
    mean_latency: Duration,
}

fn summarize(total: Duration, latencies: &[Duration]) -> Run {
    let sum: Duration = latencies.iter().sum();
    Run {
        rps: latencies.len() as f64 / total.as_secs_f64(),
        mean_latency: sum / latencies.len().max(1) as u32,
    }
}

async fn raw_run(http: &reqwest::Client, url: &str, token: &str, n: usize, c: usize) -> Run {
    let start = Instant::now();
    let latencies: Vec<Duration> = futures::stream::iter(0..n)
        .map(|_| async {
            let t = Instant::now();
            let resp = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .expect("raw request");
            assert!(resp.status().is_success());
            let body = resp.bytes().await.expect("raw body");
            assert!(!body.is_empty());
            t.elapsed()
        })
        .buffer_unordered(c)
        .collect()
        .await;
    summarize(start.elapsed(), &latencies)
}

async fn gateway_run(client: &halo::HaloClient, n: usize, c: usize) -> Run {
    let start = Instant::now();
    let latencies: Vec<Duration> = futures::stream::iter(0..n)
        .map(|_| async {
            let t = Instant::now();
            let resp = client
                .send(HaloRequest::get("/api/Roles", "/api/Roles"))
                .await
                .expect("gateway request");
            assert!(!resp.body.is_empty());
            t.elapsed()
        })
        .buffer_unordered(c)
        .collect()
        .await;
    summarize(start.elapsed(), &latencies)
}

async fn raw_token(http: &reqwest::Client, base: &str) -> String {
    let v: serde_json::Value = http
        .post(format!("{base}/auth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sim-client"),
            ("client_secret", "sim-secret"),
            ("scope", "all"),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token json");
    v["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

fn main() {
    let n: usize = std::env::var("GATEWAY_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000);
    let sim =
        SimHandle::start_background(SimConfig::default(), "127.0.0.1:0".parse().expect("addr"))
            .expect("simulator starts");
    let base = sim.base_url();
    let system = actix::System::new();
    system.block_on(async move {
        let levels = [1usize, 4, 16];
        let max_c = *levels.iter().max().unwrap_or(&16);
        let client = halo::start(HaloSettings {
            base_url: base.parse().expect("base url"),
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            // Effectively unpaced: this measures the gateway, not the budget.
            rate_limit_requests: 10_000_000,
            rate_limit_window: Duration::from_secs(1),
            max_in_flight: max_c,
            request_timeout: Duration::from_secs(10),
            ..HaloSettings::default()
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("reqwest");
        let url = format!("{base}/api/Roles");
        let token = raw_token(&http, &base).await;

        // Warm both paths (connections, token, allocator).
        gateway_run(&client, 300, max_c).await;
        raw_run(&http, &url, &token, 300, max_c).await;

        println!("gateway bench: {n} x GET /api/Roles per run, best of {ROUNDS} rounds, sim without rate limit");
        println!(
            "{:>11} | {:>11} | {:>15} | {:>14} | {:>16} | {:>12}",
            "concurrency", "raw req/s", "gateway req/s", "raw mean (µs)", "gateway mean (µs)", "overhead (µs)"
        );
        for &c in &levels {
            let mut raw_best: Option<Run> = None;
            let mut gw_best: Option<Run> = None;
            for _ in 0..ROUNDS {
                // Alternate so background noise hits both sides alike.
                let r = raw_run(&http, &url, &token, n, c).await;
                let g = gateway_run(&client, n, c).await;
                if raw_best.as_ref().is_none_or(|b| r.rps > b.rps) {
                    raw_best = Some(r);
                }
                if gw_best.as_ref().is_none_or(|b| g.rps > b.rps) {
                    gw_best = Some(g);
                }
            }
            let (Some(r), Some(g)) = (raw_best, gw_best) else {
                continue;
            };
            let overhead = g.mean_latency.as_secs_f64() - r.mean_latency.as_secs_f64();
            println!(
                "{:>11} | {:>11.0} | {:>15.0} | {:>14.0} | {:>17.0} | {:>12.0}",
                c,
                r.rps,
                g.rps,
                r.mean_latency.as_secs_f64() * 1e6,
                g.mean_latency.as_secs_f64() * 1e6,
                overhead * 1e6
            );
        }
        println!(
            "token requests: {}, 429s: {}",
            sim.control().token_requests(),
            sim.control().rate_limited()
        );
        drop(sim);
    });
}
