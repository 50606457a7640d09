//! The integration tests: one binary, one module per file, each named `<area>_<subject>`
//! (`cargo test --test it halo_` runs an area, `cargo test --test it sync::` one file).
//!
//! One binary rather than one per file because every test binary links the whole crate:
//! with a binary per file, linking was most of CI's time.
//!
//! The tests share this process, so none of them sets an environment variable (children
//! get theirs through `Command::env`), changes the current directory or binds a fixed
//! port: every server listens on 127.0.0.1:0. A test that reads the process-wide metrics
//! (`telemetry::*`) runs alone in a child process (`support::metrics`).
//!
//! Time: a test about a lifetime, a window or a retention steps a clock by hand (the
//! simulator's `freeze_clock`/`advance_clock`, `Journal::with_clock`,
//! `TokenManager::with_clock`) or runs on tokio's paused clock (`supervision`). A test
//! that waits for something to happen polls for it with a bound and never asserts an
//! upper bound on wall time; the only timed sleeps left are the seeded crash points of
//! the crash tests and the sampler of `sync`'s writer-pacing test.

mod support;

mod c1_crash;
mod c1_faults;
mod c1_service;
mod c1_tasks;
mod c1z_fixtures;
mod c1z_inspect;
mod c1z_reader_errors;
mod c1z_snapshot_writer;
mod c1z_store;
mod chaos;
mod cli_output;
mod cli_state;
mod daemon;
mod deploy_assets;
mod diff;
mod fault_matrix;
mod halo_endpoints;
mod halo_lanes;
mod halo_pacing;
mod halo_paging;
mod halo_retry;
mod halo_token;
mod hostile_halo;
mod props;
mod provisioning;
mod provisioning_cli;
mod provisioning_crash;
mod provisioning_load;
mod provisioning_team_strategy;
mod recovery;
mod sim_auth;
mod sim_faults;
mod sim_generate;
mod sim_openapi;
mod sim_paging;
mod sim_rate_limit;
mod sim_runtime;
mod sim_upsert;
mod startup_errors;
mod supervision;
mod sync;
mod sync_crash;
mod sync_targeted;
mod ticketing;
