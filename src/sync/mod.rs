//! Sync pipeline: SyncCoordinator, one syncer per resource type, Scheduler and
//! Uploader. `plan` says what one sync holds (full, partial or resources only),
//! `targeted` reads the few resources a partial sync names, `mapping` turns Halo
//! objects into C1 messages.

pub mod agent_syncer;
pub mod coordinator;
pub mod mapping;
pub mod plan;
pub mod role_syncer;
pub mod scheduler;
pub mod settings;
pub mod syncer;
pub mod targeted;
pub mod team_syncer;
pub mod uploader;
pub mod user_syncer;
