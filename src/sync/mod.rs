//! Full sync pipeline: SyncCoordinator, one syncer per resource type,
//! Scheduler and Uploader. `mapping` turns Halo objects into C1 messages.

pub mod agent_syncer;
pub mod coordinator;
pub mod mapping;
pub mod role_syncer;
pub mod scheduler;
pub mod settings;
pub mod syncer;
pub mod team_syncer;
pub mod uploader;
pub mod user_syncer;
