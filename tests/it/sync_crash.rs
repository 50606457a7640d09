//! A `sync -f DEST` killed with SIGKILL mid-run leaves its working directory beside
//! DEST (no destructor runs); the next run removes it, logs the removal, leaves every
//! other file alone and publishes a whole snapshot.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baton_haloitsm::c1z::Snapshot;
use haloitsm_sim::LatencyConfig;

use crate::support::daemon::BIN;
use crate::support::dir_names;
use crate::support::leaks::Scanned as _;
use crate::support::provisioning::{sim_config, write_config};
use crate::support::sim;

/// Names in `dir` that look like the writer's temp entries for `dest_name`.
fn work_entries(dir: &Path, dest_name: &str) -> Vec<String> {
    dir_names(dir)
        .into_iter()
        .filter(|n| n.starts_with(&format!("{dest_name}.")) && n.ends_with(".tmp"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_leaves_temp_files_that_the_next_run_removes() {
    let dir = tempfile::tempdir().unwrap();
    let agents = 60;
    let sim = sim::start(sim_config(agents)).await;
    let config = write_config(dir.path(), &sim.base_url(), "");
    let out_dir = dir.path().join("snapshots");
    std::fs::create_dir(&out_dir).unwrap();
    let dest = out_dir.join("tenant.c1z");

    // Files with nearly our names, or our names with other contents: never touched.
    let decoys = [
        "tenant.c1z.notes.tmp",
        "other.0123456789abcdef.tmp",
        "tenant.c1z.0123456789ABCDEF.tmp",
    ];
    for d in decoys {
        std::fs::write(out_dir.join(d), b"keep me").unwrap();
    }
    let foreign_dir = out_dir.join("tenant.c1z.00000000000000ff.tmp");
    std::fs::create_dir(&foreign_dir).unwrap();
    std::fs::write(foreign_dir.join("important.txt"), b"keep me").unwrap();

    // Slow answers keep the sync running long enough to be killed mid-way.
    sim.control().set_latency(LatencyConfig {
        fixed: Duration::from_millis(150),
        jitter: Duration::ZERO,
    });
    let mut child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--log-level", "warn", "sync", "-f"])
        .arg(&dest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let before: Vec<String> = work_entries(&out_dir, "tenant.c1z");
    let deadline = Instant::now() + Duration::from_secs(60);
    let left = loop {
        let now: Vec<String> = work_entries(&out_dir, "tenant.c1z")
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        if !now.is_empty() {
            break now;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sync ended before it could be killed"
        );
        assert!(Instant::now() < deadline, "no working directory appeared");
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(!status.success());
    assert!(!dest.exists(), "nothing was published by the killed run");
    for n in &left {
        assert!(out_dir.join(n).exists(), "{n} was left by the killed run");
    }

    sim.control().set_latency(LatencyConfig::default());
    let next = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .args(["--log-level", "warn", "sync", "-f"])
        .arg(&dest)
        .output_scanned()
        .unwrap();
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert!(next.status.success(), "{stderr}");
    for n in &left {
        assert!(!out_dir.join(n).exists(), "{n} still there");
        assert!(
            stderr.contains("removed a temp file left by an interrupted sync")
                && stderr.contains(n.as_str()),
            "the removal of {n} is logged: {stderr}"
        );
    }
    let mut expected: Vec<String> = decoys.iter().map(|d| d.to_string()).collect();
    expected.push("tenant.c1z".into());
    expected.push("tenant.c1z.00000000000000ff.tmp".into());
    expected.sort();
    assert_eq!(dir_names(&out_dir), expected);
    assert_eq!(dir_names(&foreign_dir), ["important.txt"]);

    // The snapshot is whole: it opens, its sync finished, and it has every agent.
    let snap = Snapshot::open(&dest).unwrap();
    assert!(snap.sync().unwrap().is_latest_finished_full);
    assert_eq!(
        snap.stats().unwrap().counts.resources_by_resource_type["agent"],
        agents as u64
    );
}
