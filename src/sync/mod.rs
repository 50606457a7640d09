//! Sync pipeline (full, partial and resources-only syncs, `plan`): SyncCoordinator, one syncer per resource type,
//! Scheduler and Uploader. `mapping` holds the ID contract with C1.

pub mod agent_syncer;
pub mod coordinator;
pub mod mapping;
pub mod plan;
pub mod role_syncer;
pub mod scheduler;
pub mod syncer;
pub mod targeted;
pub mod team_syncer;
pub mod uploader;
pub mod user_syncer;
