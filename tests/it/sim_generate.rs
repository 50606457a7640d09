//! The tenant generator: deterministic per seed, the right proportions, and scale.
//! Real timings live in the `#[ignore]` test below (run it in release for numbers).

use std::time::Instant;

use baton_haloitsm::sim::{SimConfig, SimHandle, generate_snapshot};

use crate::support::sim::{Api, start};

#[test]
fn same_seed_same_tenant_different_seed_differs() {
    let cfg = SimConfig {
        agents: 500,
        users: 100,
        ..SimConfig::default()
    };
    let a = generate_snapshot(&cfg).unwrap();
    let b = generate_snapshot(&cfg).unwrap();
    assert_eq!(a, b);
    let c = generate_snapshot(&SimConfig { seed: 43, ..cfg }).unwrap();
    assert_ne!(a.agents, c.agents);
    assert_ne!(a.roles, c.roles); // role GUIDs derive from the seed
    assert_eq!(a.teams.len(), c.teams.len());
}

#[test]
fn membership_knobs_scale_rows() {
    let base = SimConfig {
        agents: 2000,
        teams: 40,
        roles: 20,
        ..SimConfig::default()
    };
    let default_rows = generate_snapshot(&base).unwrap().membership_rows();
    let per_agent = default_rows as f64 / 2000.0;
    assert!((4.0..6.0).contains(&per_agent), "{per_agent}");
    let dense = generate_snapshot(&SimConfig {
        teams_per_agent: 14,
        roles_per_agent: 8,
        ..base
    })
    .unwrap();
    let per_agent = dense.membership_rows() as f64 / 2000.0;
    assert!(per_agent > 10.0, "{per_agent}");
    assert!(
        dense
            .agents
            .iter()
            .all(|a| a.team_ids.len() <= 14 && a.role_ids.len() <= 8)
    );
}

/// Generation and one deep page at 100k agents (times printed; the timed figures are
/// the `timing` test below and the benches, not an upper bound here).
#[tokio::test]
async fn hundred_thousand_agents_serve_a_deep_page() {
    let t0 = Instant::now();
    let sim = start(SimConfig {
        agents: 100_000,
        teams: 200,
        roles: 30,
        ..SimConfig::default()
    })
    .await;
    let generated = t0.elapsed();
    let api = Api::new(&sim).await;
    let t1 = Instant::now();
    let v = api
        .get_json("/api/Agent?pageinate=true&page_size=100&page_no=500&includedisabled=true&includeapiagents=true&include_membership_info=true&includeroles=true")
        .await;
    let served = t1.elapsed();
    assert_eq!(v["results"].as_array().unwrap().len(), 100);
    assert_eq!(v["results"][0]["id"], 49_901);
    assert_eq!(v["record_count"], 100_000);
    println!("100k agents: start+generate {generated:?}, page 500 served in {served:?}");
}

/// Timing: `cargo test --release --test it sim_generate -- --ignored --nocapture`.
/// 100k agents with ~1M membership rows; median over many page requests.
#[test]
#[ignore]
fn timing_100k_agents_1m_memberships() {
    let cfg = SimConfig {
        agents: 100_000,
        teams: 300,
        roles: 40,
        teams_per_agent: 14,
        roles_per_agent: 8,
        ..SimConfig::default()
    };
    let t0 = Instant::now();
    let snap = generate_snapshot(&cfg).unwrap();
    let gen_snapshot = t0.elapsed();
    println!(
        "generate+snapshot: {gen_snapshot:?} ({} agents, {} membership rows)",
        snap.agents.len(),
        snap.membership_rows()
    );
    drop(snap);

    let t0 = Instant::now();
    let sim = SimHandle::start_background(cfg, "127.0.0.1:0".parse().unwrap()).unwrap();
    println!("start_background (bind + generate): {:?}", t0.elapsed());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = Api::new(&sim).await;
        let q = |n: u32| format!("/api/Agent?pageinate=true&page_size=100&page_no={n}&includedisabled=true&includeapiagents=true&include_membership_info=true&includeroles=true");
        api.get_json(&q(1)).await; // warm the connection
        for page in [1u32, 500, 1000] {
            let mut times = Vec::new();
            let mut bytes = 0;
            for _ in 0..200 {
                let t = Instant::now();
                let body = api.get(&q(page)).await.bytes().await.unwrap();
                times.push(t.elapsed());
                bytes = body.len();
            }
            times.sort();
            println!(
                "page {page}: median {:?}, p99 {:?} round trip over HTTP ({bytes} bytes)",
                times[times.len() / 2],
                times[times.len() * 99 / 100]
            );
        }
    });
}
