//! Test support: the one copy of every helper the integration tests share. The benches
//! that need a simulator-backed set-up or the fake C1 include this folder by path.
//!
//! - `daemon`: the real binary as a child process and its HTTP endpoint.
//! - `sim`: a simulator on 127.0.0.1:0, an authenticated HTTP client, its request log.
//! - `halo`: HaloClient settings for a simulator, and the hang guard.
//! - `provisioning`: the daemon's pipeline, queue and journal against a simulator.
//! - `fake_c1`: a fake ConductorOne (gRPC and token endpoint) in the test process.
//! - `c1z`: a c1z's tables read with plain zstd + SQLite, not with our reader.
//! - `leaks`: the secret-leak scan every captured output and log event passes through.
//! - `metrics`: Prometheus text; a test that reads this process's metrics runs alone in a
//!   child process.
#![allow(dead_code)] // each test file and bench uses a different subset

pub mod c1z;
pub mod daemon;
pub mod fake_c1;
pub mod halo;
pub mod leaks;
pub mod metrics;
pub mod provisioning;
pub mod sim;

use std::path::Path;

/// Names in `dir`, sorted (none when it does not exist).
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A number from the environment (a test's knob, such as its iteration count), or `default`.
pub fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
