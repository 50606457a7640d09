//! `sync -f FILE`: one sync into a c1z file through the daemon's pipeline, then a
//! one-line summary (type, counts, size, time, peak memory and CPU).
//!
//! baton's flags narrow it, as the SDK's syncer reads them (`sync::plan`):
//! `--sync-resources agent:42,team:3` (or baton ids, `bid:r:agent/42`) makes a
//! `partial` sync of those resources; `--sync-resource-types team,role`,
//! `--skip-grants`, `--skip-entitlements-and-grants` (a `resources_only` sync).

use std::path::PathBuf;

use anyhow::anyhow;
use baton_haloitsm::config::Config;
use baton_haloitsm::daemon;
use baton_haloitsm::sync::plan::{PlanError, SyncPlan, parse_targets};

use super::Failure;

/// baton's sync-scope flags; each also comes from `BATON_<FLAG>`.
#[derive(clap::Args, Debug, Default)]
pub struct ScopeArgs {
    /// Sync only these resources (partial sync): type:id, comma-separated (agent:42,team:3,role:<guid>,user:7), or baton ids (bid:r:agent/42).
    #[arg(long, env = "BATON_SYNC_RESOURCES", value_delimiter = ',')]
    sync_resources: Vec<String>,
    /// Sync only these resource types, comma-separated (agent, team, role, user).
    #[arg(long, env = "BATON_SYNC_RESOURCE_TYPES", value_delimiter = ',')]
    sync_resource_types: Vec<String>,
    /// Write resources and entitlements, no grants.
    #[arg(long, env = "BATON_SKIP_GRANTS")]
    skip_grants: bool,
    /// Write resources only (a resources_only sync, or partial with --sync-resources).
    #[arg(long, env = "BATON_SKIP_ENTITLEMENTS_AND_GRANTS")]
    skip_entitlements_and_grants: bool,
}

impl ScopeArgs {
    pub fn plan(&self) -> Result<SyncPlan, PlanError> {
        let mut targets = Vec::new();
        for item in &self.sync_resources {
            targets.extend(parse_targets(item)?);
        }
        SyncPlan::new(
            targets,
            &self.sync_resource_types,
            self.skip_grants,
            self.skip_entitlements_and_grants,
        )
    }
}

/// `sync -f FILE`: the daemon's pipeline, once, without scheduler or retention.
pub fn one_sync(cfg: Config, file: PathBuf, plan: SyncPlan) -> Result<(), Failure> {
    use baton_haloitsm::daemon::pipeline::{self, Mode};
    use baton_haloitsm::sync::coordinator::StartScopedSync;
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
            .send(StartScopedSync {
                reason: "cli",
                dest: Some(file),
                plan,
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
        "{}: {} sync {} with {} resources, {} entitlements, {} grants ({} bytes) in {:.2}s; peak_rss_bytes={} cpu_seconds={:.2}",
        report.snapshot.path.display(),
        report.sync_type,
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
