//! Full sync pipeline: SyncCoordinator, per-resource syncers, Scheduler.

pub mod coordinator;
pub mod mapping;
pub mod scheduler;
