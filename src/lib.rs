//! baton-haloitsm: a self-hosted ConductorOne connector daemon for HaloITSM.
//!
//! The folder layout mirrors the architecture (see docs/architecture.md):
//! - `daemon/`    supervisor, HTTP endpoint (/metrics, /healthz, /readyz, /status), watchdog, shutdown;
//! - `halo/`      TokenManager and ApiGateway actors, typed endpoints over one paging helper;
//! - `sync/`      SyncCoordinator, one syncer per resource type, Scheduler, Uploader;
//! - `c1z/`       SnapshotWriter (SQLite off the actor thread), c1z reader, `inspect`;
//! - `pb`         the generated wire types (`c1.connector.v2`), shared by every layer;
//! - `contract/`  the shared vocabulary: the ID contract, Halo dates, the published-snapshot event;
//! - `provisioning/` the journaled ProvisioningQueue, the control socket;
//! - `telemetry/` every metric name, and one function per happening (plain values in);
//! - `ticketing/` Halo ticket types as C1 ticket schemas; create, read, update tickets;
//! - `config/`    the config file: every capability's own settings type, loaded, overridden from
//!   the environment and validated (`settings` holds what those types share).

pub mod actor_slot;
pub mod c1z;
pub mod config;
pub mod contract;
pub mod daemon;
pub mod describe;
pub mod halo;
pub mod logging;
pub mod pb;
pub mod provisioning;
pub mod secret;
pub mod settings;
pub mod sync;
pub mod telemetry;
pub mod ticketing;

// C1 service mode (issue 12): auth, the task loop over BatonService, uploads.
pub mod c1;

// The layer order and the no-circles rule, checked over the sources (issue 16).
#[cfg(test)]
mod layering;
