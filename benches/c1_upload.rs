//! C1 service-mode benchmark against the fake C1 (tests/it/support/fake_c1.rs) on loopback.
//!
//!   cargo bench --bench c1_upload                    # 100,000 agents
//!   C1_UPLOAD_AGENTS=10000 cargo bench --bench c1_upload
//!
//! 1. Upload: a c1z made by `baton-haloitsm sync -f` from the embedded simulator is streamed
//!    with UploadAsset (512 KiB chunks read from disk, SHA-256 on the way). Printed: throughput,
//!    and RSS growth during the upload (VmHWM after, with the high-water mark reset just before,
//!    minus VmRSS before) against the ≤ 16 MB floor. Baseline: reading and hashing the same file
//!    (`sha256_file`), the least any upload must do.
//! 2. Per-task overhead: N cheap tasks (action_list_schemas, no Halo request) through the real
//!    C1Link loop, GetTask → dispatch → FinishTask, divided by N. Baseline: one authenticated
//!    unary RPC (Hello) on the same channel, the floor of a round trip.
//!
//! The fake C1 runs on the same thread (actix System) as the connector, so both sides' work is
//! in the figures; the fake discards upload bytes so memory growth is the connector's.

// The tests' support folder: one copy, shared.
#[path = "../tests/it/support/mod.rs"]
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use actix::Actor;
use baton_haloitsm::actor_slot::Slot;
use baton_haloitsm::c1::auth::C1Auth;
use baton_haloitsm::c1::credentials::{ClientId, SigningKey};
use baton_haloitsm::c1::link::{C1Link, Link};
use baton_haloitsm::c1::tasks::Deps;
use baton_haloitsm::c1::{C1Settings, hello, upload};
use baton_haloitsm::pb::baton::{Task, task};
use support::fake_c1::{CLIENT_ID, FakeC1, Script, task_id};

const BIN: &str = env!("CARGO_BIN_EXE_baton-haloitsm");
const RSS_FLOOR_MB: f64 = 16.0;

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn make_c1z(dir: &std::path::Path, agents: usize) -> std::path::PathBuf {
    let cfg = dir.join("bench.toml");
    std::fs::write(
        &cfg,
        format!(
            // No pacing: the sync only makes the file (Halo's budget would take ~20 min at 100k).
            "[halo]\nbase_url = \"http://127.0.0.1:1\"\nclient_id = \"x\"\n\n\
             [halo.rate_limit]\nrequests = 100000\nwindow = \"1s\"\n\n\
             [simulator.tenant]\nseed = 1\nagents = {agents}\nteams = 1000\nroles = 200\n\n\
             [output]\ndir = \"{}\"\n",
            dir.join("out").display()
        ),
    )
    .expect("write config");
    let file = dir.join("bench.c1z");
    let status = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .args(["sync", "-f"])
        .arg(&file)
        .env_remove("BATON_CLIENT_ID")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run sync");
    assert!(status.success(), "sync -f failed");
    file
}

fn settings(fake: &FakeC1, dir: &std::path::Path) -> C1Settings {
    C1Settings {
        client_id: ClientId::parse(CLIENT_ID).expect("id"),
        key: std::sync::Arc::new(SigningKey::from_client_secret(&fake.secret).expect("key")),
        api_host: fake.api_host(),
        host_id: "bench".into(),
        task_concurrency: 1,
        skip_full_sync: true,
        temp_dir: dir.join("c1-tmp"),
        keep_failed_upload: Duration::from_secs(60),
        enabled: hello::Enabled::default(),
    }
}

fn main() {
    let agents: usize = std::env::var("C1_UPLOAD_AGENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let tasks: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    eprintln!("making a {agents}-agent c1z with `sync -f` ...");
    let file = make_c1z(dir.path(), agents);
    let size = std::fs::metadata(&file).expect("size").len();
    let mb = size as f64 / 1e6;

    let t = Instant::now();
    let _ = upload::sha256_file(&file).expect("hash");
    let baseline = t.elapsed();

    let system = actix::System::new();
    let (upload_time, growth_kib, per_task, per_rpc) = system.block_on(async {
        let fake = FakeC1::start(Script {
            discard_upload_data: true,
            next_poll: Duration::from_millis(100),
            ..Script::default()
        })
        .await;
        let s = settings(&fake, dir.path());
        let auth = Slot::new(C1Auth::new(s.clone()).start());
        let deps = Deps {
            coordinator: None,
            provisioning: None,
            ticketing: None,
        };
        let link = Link::new(s.clone(), auth.clone(), deps.clone()).expect("link");
        // Warm up: token, connection.
        link.hello("").await.expect("hello");

        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let before = status_kib("VmRSS:");
        let t = Instant::now();
        link.upload(&task_id(1), &file).await.expect("upload");
        let upload_time = t.elapsed();
        let growth = status_kib("VmHWM:").saturating_sub(before);
        assert_eq!(fake.rec.lock().unwrap().uploads.len(), 1);

        let rounds = 200u32;
        let t = Instant::now();
        for _ in 0..rounds {
            link.hello("").await.expect("hello");
        }
        let per_rpc = t.elapsed() / rounds;

        for n in 0..tasks {
            fake.push_task(Task {
                id: task_id(100 + n as u32),
                task_type: Some(task::TaskType::ActionListSchemas(Default::default())),
                ..Default::default()
            });
        }
        let t = Instant::now();
        let _link_actor = C1Link::new(s, auth, deps).start();
        fake.wait_until("all FinishTasks", |r| r.finishes.len() >= tasks)
            .await;
        // Includes one Hello at start; amortised over the tasks.
        let per_task = t.elapsed() / tasks as u32;
        (upload_time, growth, per_task, per_rpc)
    });

    let thr = mb / upload_time.as_secs_f64();
    let base_thr = mb / baseline.as_secs_f64();
    let growth_mb = growth_kib as f64 / 1024.0;
    println!("\nC1 upload, {agents} agents, c1z {mb:.1} MB (fake C1 on loopback, same thread)");
    println!(
        "{:<34} {:>12} {:>14} {:>12}",
        "", "measured", "baseline", "floor"
    );
    println!(
        "{:<34} {:>9.1} MB/s {:>9.1} MB/s {:>12}",
        "upload throughput", thr, base_thr, "-"
    );
    println!(
        "{:<34} {:>9.2} s {:>11.2} s {:>12}",
        "upload time",
        upload_time.as_secs_f64(),
        baseline.as_secs_f64(),
        "-"
    );
    println!(
        "{:<34} {:>9.1} MB {:>14} {:>9.1} MB {}",
        "RSS growth during upload",
        growth_mb,
        "-",
        RSS_FLOOR_MB,
        if growth_mb <= RSS_FLOOR_MB {
            "(met)"
        } else {
            "(NOT met)"
        }
    );
    println!(
        "{:<34} {:>9.2} ms {:>11.2} ms {:>12}",
        format!("per-task overhead ({tasks} tasks)"),
        per_task.as_secs_f64() * 1e3,
        per_rpc.as_secs_f64() * 1e3,
        "-"
    );
    println!(
        "baseline: upload = read + SHA-256 of the file; per-task = one authenticated unary RPC"
    );
}
