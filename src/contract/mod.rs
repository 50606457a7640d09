//! The vocabulary the capabilities share, at the bottom of the layers so that
//! sync, provisioning and ticketing depend on it and not on each other:
//!
//! - `ids`: the ID contract with C1 (resource types, entitlement and grant ids, both ways);
//! - `dates`: how a Halo date string reads as a timestamp;
//! - `events`: `SnapshotPublished`, sent by the sync and heard by provisioning.

pub mod dates;
pub mod events;
pub mod ids;
