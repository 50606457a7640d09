//! Full sync benchmark: `baton-haloitsm sync -f` against the simulator running
//! as its own process, so the figures are the daemon's own.
//!
//!   cargo bench --bench full_sync                 # 10k and 100k agents, no rate limit
//!   FULL_SYNC_AGENTS=100000 cargo bench --bench full_sync
//!   FULL_SYNC_BUDGET=1 cargo bench --bench full_sync   # also: Halo's rolling window, scaled
//!
//! After the full syncs, on the largest tenant: **targeted syncs** (`sync -f
//! --sync-resources`) of 1 agent, of 1 team with about 100 members, of 1 role, and
//! of 10,000 agents, each against the full sync measured in the same run (requests
//! and wall); with FULL_SYNC_BUDGET, the first three also under the scaled window.
//!
//! Tenant shape: 1,000 teams, 200 roles, up to 5 teams and 3 roles per agent
//! (about 4.9 memberships per agent), no end users, no latency.
//!
//! **Baseline** (same run, same simulator): the requests the sync made, read
//! back from the simulator's request log, fetched one after another with plain
//! reqwest (token first) and parsed into the same model types with the same
//! page parser; nothing else. `ratio` = sync wall / baseline wall: what the
//! daemon costs over just reading the tenant, a figure that travels across
//! machines where absolute times do not. (The sync's wall also includes
//! starting its process and writing, indexing and compressing the c1z.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_baton-haloitsm");

struct Sim {
    child: Child,
    base_url: String,
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_sim(agents: usize, rate: Option<&str>) -> Sim {
    let mut cmd = Command::new(BIN);
    cmd.args([
        "--log-format",
        "json",
        "simulate",
        "--listen",
        "127.0.0.1:0",
    ])
    .args(["--agents", &agents.to_string()])
    .args([
        "--teams", "1000", "--roles", "200", "--users", "0", "--seed", "1",
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if let Some(r) = rate {
        cmd.args(["--rate-limit", r]);
    }
    let mut child = cmd.spawn().expect("start simulator");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let base_url = loop {
        let line = lines
            .next()
            .expect("simulator exited before listening")
            .expect("read simulator log");
        let v: serde_json::Value = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(_) => continue,
        };
        if let Some(url) = v.get("base_url").and_then(|u| u.as_str()) {
            break url.to_string();
        }
    };
    // Keep draining its stderr so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Sim { child, base_url }
}

/// (requests logged, 429s answered) so far.
fn sim_stats(base_url: &str) -> (u64, u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let v: serde_json::Value = reqwest::get(format!("{base_url}/_sim/stats"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            v["requests_logged"].as_u64().unwrap_or(0),
            v["rate_limited"].as_u64().unwrap_or(0),
        )
    })
}

/// (method, path, query) of every request the simulator logged, in arrival order.
fn sim_requests(base_url: &str) -> Vec<(String, String, String)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let v: serde_json::Value = reqwest::get(format!("{base_url}/_sim/requests"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
                (s("method"), s("path"), s("query"))
            })
            .collect()
    })
}

fn clear_sim_requests(base_url: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        reqwest::Client::new()
            .delete(format!("{base_url}/_sim/requests"))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
    });
}

/// The baseline: fetch and parse the sync's own GETs, one after another.
/// Returns the wall time and the number of agent rows parsed.
fn fetch_and_parse(base_url: &str, requests: &[(String, String, String)]) -> (Duration, usize) {
    use baton_haloitsm::halo::paging::{parse_page, typed_rows};
    use baton_haloitsm::halo::{Agent, Role, Team, User};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let t = Instant::now();
        let token: serde_json::Value = http
            .post(format!("{base_url}/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "sim-client"),
                ("client_secret", "sim-secret"),
                ("scope", "all"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let bearer = token["access_token"].as_str().unwrap().to_string();
        let mut agents = 0;
        for (method, path, query) in requests {
            if method != "GET" {
                continue;
            }
            let url = if query.is_empty() {
                format!("{base_url}{path}")
            } else {
                format!("{base_url}{path}?{query}")
            };
            let resp = http.get(url).bearer_auth(&bearer).send().await.unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            let body = resp.bytes().await.unwrap();
            match path.to_ascii_lowercase().as_str() {
                "/api/agent" => {
                    let page = parse_page(&body, "agents").unwrap();
                    agents += typed_rows::<Agent>(page.rows, "/api/Agent", 1)
                        .unwrap()
                        .len();
                }
                "/api/team" => {
                    let page = parse_page(&body, "teams").unwrap();
                    std::hint::black_box(typed_rows::<Team>(page.rows, "/api/Team", 1).unwrap());
                }
                "/api/roles" => {
                    let page = parse_page(&body, "roles").unwrap();
                    std::hint::black_box(typed_rows::<Role>(page.rows, "/api/Roles", 1).unwrap());
                }
                "/api/users" => {
                    let page = parse_page(&body, "users").unwrap();
                    std::hint::black_box(typed_rows::<User>(page.rows, "/api/Users", 1).unwrap());
                }
                other => panic!("the sync requested {other}; teach the baseline to parse it"),
            }
        }
        (t.elapsed(), agents)
    })
}

struct Run {
    agents: usize,
    wall: Duration,
    /// The baseline's wall: the same pages fetched and parsed, nothing else.
    baseline: Duration,
    grants: u64,
    rows: u64,
    bytes: u64,
    peak_rss: u64,
    cpu: f64,
    requests: u64,
    rate_limited: u64,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key))
        .unwrap_or("0")
}

/// `requests`/`window` is the daemon's budget; None = unpaced.
fn run_sync(sim: &Sim, agents: usize, dir: &Path, budget: Option<(u32, &str)>) -> Run {
    run_scoped(sim, agents, dir, budget, &[])
}

/// A sync with baton's scope flags (`--sync-resources ...`); no baseline for those.
fn run_scoped(
    sim: &Sim,
    agents: usize,
    dir: &Path,
    budget: Option<(u32, &str)>,
    scope: &[&str],
) -> Run {
    let (requests, window) = budget.unwrap_or((100_000, "1s"));
    let cfg = dir.join(format!("bench-{agents}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "[halo]\nbase_url = \"{}\"\nclient_id = \"sim-client\"\n\
             rate_limit = {{ requests = {requests}, window = \"{window}\" }}\n\
             [output]\ndir = \"{}\"\n",
            sim.base_url,
            dir.display()
        ),
    )
    .unwrap();
    let out = dir.join(format!("bench-{agents}.c1z"));
    clear_sim_requests(&sim.base_url);
    let before = sim_stats(&sim.base_url);
    let t = Instant::now();
    let o = Command::new(BIN)
        .args(["--log-level", "warn", "--config"])
        .arg(&cfg)
        .args(["sync", "-f"])
        .arg(&out)
        .args(scope)
        .env("BATON_HALO__CLIENT_SECRET", "sim-secret")
        .output()
        .expect("run sync");
    let wall = t.elapsed();
    assert!(
        o.status.success(),
        "sync failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let line = String::from_utf8_lossy(&o.stdout).to_string();
    // "<path>: <type> sync <id> with R resources, E entitlements, G grants (B bytes) in Ts; peak_rss_bytes=.. cpu_seconds=.."
    let after_with = line.split(" with ").nth(1).unwrap_or_default();
    let counts: Vec<u64> = after_with
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.parse().ok())
        .collect();
    let (resources, entitlements, grants, bytes) = (counts[0], counts[1], counts[2], counts[3]);
    let _ = std::fs::remove_file(&out);
    // Counted before the baseline replays them.
    let (requests, rate_limited) = {
        let after = sim_stats(&sim.base_url);
        (after.0 - before.0, after.1 - before.1)
    };
    let logged = sim_requests(&sim.base_url);
    let (baseline, parsed) = if budget.is_none() && scope.is_empty() {
        fetch_and_parse(&sim.base_url, &logged)
    } else {
        // Under a budget the pacing sets the time; a baseline would measure it too.
        (Duration::ZERO, agents)
    };
    if scope.is_empty() {
        assert_eq!(parsed, agents, "the baseline read every agent");
    }
    Run {
        agents,
        wall,
        baseline,
        grants,
        rows: resources + entitlements + grants,
        bytes,
        peak_rss: field(&line, "peak_rss_bytes=").parse().unwrap_or(0),
        cpu: field(&line, "cpu_seconds=").trim().parse().unwrap_or(0.0),
        requests,
        rate_limited,
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("FULL_SYNC_AGENTS")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    println!("Full sync, unpaced (simulator in its own process, no rate limit, no latency)");
    println!(
        "{:>8} {:>8} {:>9} {:>9} {:>11} {:>7} {:>12} {:>10} {:>7} {:>12} {:>9} {:>9}",
        "agents",
        "grants",
        "requests",
        "wall s",
        "baseline s",
        "ratio",
        "rows/s",
        "peak RSS",
        "CPU s",
        "CPU µs/agent",
        "c1z MB",
        "floor req"
    );
    let mut runs = Vec::new();
    let mut last_sim = None;
    for &agents in &sizes {
        let sim = start_sim(agents, None);
        let r = run_sync(&sim, agents, dir.path(), None);
        // Floor: one request per agent page, one each for teams and roles, one token.
        let floor = agents.div_ceil(100) as u64 + 3;
        println!(
            "{:>8} {:>8} {:>9} {:>9.2} {:>11.2} {:>6.2}x {:>12.0} {:>7} MB {:>7.2} {:>12.1} {:>9.2} {:>9}",
            r.agents,
            r.grants,
            r.requests,
            r.wall.as_secs_f64(),
            r.baseline.as_secs_f64(),
            r.wall.as_secs_f64() / r.baseline.as_secs_f64(),
            r.rows as f64 / r.wall.as_secs_f64(),
            r.peak_rss / (1024 * 1024),
            r.cpu,
            r.cpu * 1e6 / r.agents as f64,
            r.bytes as f64 / 1e6,
            floor
        );
        runs.push(r);
        last_sim = Some((sim, agents));
    }
    if let (Some((sim, agents)), Some(full)) = (&last_sim, runs.last()) {
        targeted(sim, *agents, full, dir.path());
    }
    if runs.len() >= 2 {
        let (a, b) = (&runs[0], &runs[runs.len() - 1]);
        println!(
            "peak RSS {} agents / {} agents = {:.2}x",
            b.agents,
            a.agents,
            b.peak_rss as f64 / a.peak_rss.max(1) as f64
        );
    }

    if std::env::var("FULL_SYNC_BUDGET").is_ok() {
        // Halo's window (300 per rolling 5 min) scaled 10x down in time: 300 per 30 s,
        // enforced by the simulator; the daemon's budget is its default ratio, 250 per 30 s.
        let agents = 10_000;
        let sim = start_sim(agents, Some("300/30s"));
        let r = run_sync(&sim, agents, dir.path(), Some((250, "30s")));
        let floor_s = r.requests as f64 / (250.0 / 30.0);
        println!();
        println!(
            "Under Halo's rolling window, scaled 10x (simulator 300/30s, daemon budget 250/30s)"
        );
        println!(
            "agents {agents}: {} requests, {} answered 429, in {:.1} s; floor {} / (250/30 s) = {:.1} s; ours/floor = {:.2}",
            r.requests,
            r.rate_limited,
            r.wall.as_secs_f64(),
            r.requests,
            floor_s,
            r.wall.as_secs_f64() / floor_s
        );
        println!(
            "at real scale (250 per 5 min) the same requests take >= {:.0} s; 100k agents need {} requests >= {:.0} s",
            floor_s * 10.0,
            100_000usize.div_ceil(100) + 3,
            (100_000usize.div_ceil(100) + 3) as f64 / (250.0 / 300.0)
        );
    }
}

/// A team with about `n` members, and a role, of the simulator's tenant.
fn pick_targets(sim: &Sim, n: usize) -> (String, String, usize, usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let v: serde_json::Value = reqwest::get(format!("{}/_sim/snapshot", sim.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let agents = v["agents"].as_array().cloned().unwrap_or_default();
        let mut members = std::collections::HashMap::<i64, usize>::new();
        let mut holders = std::collections::HashMap::<String, usize>::new();
        for a in &agents {
            for t in a["team_ids"].as_array().into_iter().flatten() {
                *members.entry(t.as_i64().unwrap_or(0)).or_default() += 1;
            }
            for r in a["role_ids"].as_array().into_iter().flatten() {
                *holders
                    .entry(r.as_str().unwrap_or("").to_string())
                    .or_default() += 1;
            }
        }
        let (team, size) = members
            .iter()
            .min_by_key(|(_, m)| m.abs_diff(n))
            .map(|(t, m)| (*t, *m))
            .unwrap_or((1, 0));
        let (role, held) = holders
            .iter()
            .min_by_key(|(_, h)| **h)
            .map(|(r, h)| (r.clone(), *h))
            .unwrap_or_default();
        (format!("team:{team}"), format!("role:{role}"), size, held)
    })
}

fn targeted(sim: &Sim, agents: usize, full: &Run, dir: &Path) {
    let (team, role, members, holders) = pick_targets(sim, 100);
    let many: Vec<String> = (1..=10_000.min(agents))
        .map(|i| format!("agent:{i}"))
        .collect();
    let many = many.join(",");
    let cases: Vec<(String, String)> = vec![
        ("1 agent".into(), "agent:5".into()),
        (format!("1 team ({members} members)"), team),
        (format!("1 role ({holders} holders)"), role),
        (format!("{} agents", 10_000.min(agents)), many),
    ];
    println!();
    println!(
        "Targeted syncs on the {agents}-agent tenant, against its full sync (same run, unpaced)"
    );
    println!(
        "{:<28} {:>9} {:>9} {:>12} {:>12}",
        "target", "requests", "wall s", "full/ours req", "full/ours wall"
    );
    for (name, ids) in &cases {
        let r = run_scoped(sim, agents, dir, None, &["--sync-resources", ids]);
        println!(
            "{:<28} {:>9} {:>9.2} {:>12.1}x {:>13.1}x",
            name,
            r.requests,
            r.wall.as_secs_f64(),
            full.requests as f64 / r.requests.max(1) as f64,
            full.wall.as_secs_f64() / r.wall.as_secs_f64()
        );
    }
    println!(
        "full sync: {} requests in {:.2} s; under Halo's 250 requests / 5 min a request costs 1.2 s of budget",
        full.requests,
        full.wall.as_secs_f64()
    );
    if std::env::var("FULL_SYNC_BUDGET").is_ok() {
        // The scaled window (300/30 s in the simulator, 250/30 s for the daemon): the
        // targeted reads of the first three cases, paced.
        let paced = start_sim(agents, Some("300/30s"));
        let (team, role, _, _) = pick_targets(&paced, 100);
        println!();
        println!("Targeted syncs under the scaled window (simulator 300/30s, daemon 250/30s)");
        for (name, ids) in [
            ("1 agent", "agent:5".to_string()),
            ("1 team", team),
            ("1 role", role),
        ] {
            let r = run_scoped(
                &paced,
                agents,
                dir,
                Some((250, "30s")),
                &["--sync-resources", &ids],
            );
            println!(
                "{name:<10} {} requests, {} answered 429, {:.2} s",
                r.requests,
                r.rate_limited,
                r.wall.as_secs_f64()
            );
        }
    }
}
