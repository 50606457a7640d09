//! `sync -f FILE`: one full sync into a c1z file through the daemon's pipeline, then a
//! one-line summary (counts, size, time, peak memory and CPU).

use std::path::PathBuf;

use anyhow::anyhow;
use baton_haloitsm::config::Config;
use baton_haloitsm::daemon;

use super::Failure;

/// `sync -f FILE`: the daemon's pipeline, once, without scheduler or retention.
pub fn one_sync(cfg: Config, file: PathBuf) -> Result<(), Failure> {
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
