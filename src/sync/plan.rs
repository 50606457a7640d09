//! What one sync is asked to hold: everything (a `full` sync), a few targeted
//! resources (`partial`), or resources without entitlements and grants
//! (`resources_only`). C1's `SyncFullTask` and the `sync` command's baton flags
//! both become a [`SyncPlan`]; the coordinator runs it.
//!
//! The rules follow baton-sdk's syncer (`pkg/sync/syncer.go`):
//! - targeted resources make the sync `partial`, even with
//!   `skip_entitlements_and_grants`; without targets that option makes it
//!   `resources_only`; `skip_grants` never changes the type;
//! - a repeated target, or one whose type `sync_resource_type_ids` excludes, is
//!   dropped silently (the SDK logs nothing either);
//! - a type id the connector does not have fails the plan
//!   (`invalid resource type '<id>' in filter`).
//!
//! One deliberate difference: when every target is dropped, the SDK still runs
//! its full-sync plan under a `partial` label; we hold only the resource types,
//! because a targeted task must never cost a full read of the tenant.

use std::collections::HashSet;

use crate::contract::ids::{AGENT_TYPE, END_USER_TYPE, IdError, ROLE_TYPE, ResourceRef, TEAM_TYPE};
use crate::pb;

/// `v1_sync_runs.sync_type`, as the SDK writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncType {
    Full,
    Partial,
    ResourcesOnly,
}

impl SyncType {
    pub const ALL: [SyncType; 3] = [SyncType::Full, SyncType::Partial, SyncType::ResourcesOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            SyncType::Full => "full",
            SyncType::Partial => "partial",
            SyncType::ResourcesOnly => "resources_only",
        }
    }
}

impl std::fmt::Display for SyncType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused plan: the offending value is named.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("invalid resource type '{0}' in filter (this connector has agent, team, role, user)")]
    UnknownType(String),
    #[error("{0}")]
    BadTarget(#[from] IdError),
    #[error(
        "invalid targeted resource `{0}`: expected type:id (agent:42) or a baton id (bid:r:agent/42)"
    )]
    BadBatonId(String),
    /// The SDK's proto validation text for the field.
    #[error(
        "invalid Task_SyncFullTask.StorageEngine: value must be in list [pebble sqlite] (got '{0}')"
    )]
    StorageEngine(String),
}

/// One sync's scope. `SyncPlan::default()` is a full sync.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    /// Deduplicated and filtered targets, in the order given.
    targets: Vec<ResourceRef>,
    /// Whether any target was asked for (before filtering): decides `partial`.
    targeted: bool,
    /// `None`: every type.
    types: Option<Vec<&'static str>>,
    pub skip_grants: bool,
    pub skip_entitlements_and_grants: bool,
}

impl SyncPlan {
    pub fn full() -> Self {
        Self::default()
    }

    /// Builds a plan the way the SDK's options combine. `types` are resource
    /// type ids (empty: all); `targets` are already parsed.
    pub fn new(
        targets: Vec<ResourceRef>,
        types: &[String],
        skip_grants: bool,
        skip_entitlements_and_grants: bool,
    ) -> Result<Self, PlanError> {
        let types = if types.is_empty() {
            None
        } else {
            let mut known = Vec::new();
            for t in types {
                let t = t.trim();
                let id = [AGENT_TYPE, TEAM_TYPE, ROLE_TYPE, END_USER_TYPE]
                    .into_iter()
                    .find(|k| *k == t)
                    .ok_or_else(|| PlanError::UnknownType(t.to_string()))?;
                if !known.contains(&id) {
                    known.push(id);
                }
            }
            Some(known)
        };
        let targeted = !targets.is_empty();
        let mut seen = HashSet::new();
        let targets = targets
            .into_iter()
            .filter(|t| types.as_ref().is_none_or(|ts| ts.contains(&t.type_id())))
            .filter(|t| seen.insert(t.clone()))
            .collect();
        Ok(SyncPlan {
            targets,
            targeted,
            types,
            skip_grants,
            skip_entitlements_and_grants,
        })
    }

    pub fn sync_type(&self) -> SyncType {
        if self.targeted {
            SyncType::Partial
        } else if self.skip_entitlements_and_grants {
            SyncType::ResourcesOnly
        } else {
            SyncType::Full
        }
    }

    pub fn targets(&self) -> &[ResourceRef] {
        &self.targets
    }

    pub fn is_targeted(&self) -> bool {
        self.targeted
    }

    /// Whether resources of `type_id` belong in this sync.
    pub fn includes_type(&self, type_id: &str) -> bool {
        self.types.as_ref().is_none_or(|ts| ts.contains(&type_id))
    }

    pub fn writes_entitlements(&self) -> bool {
        !self.skip_entitlements_and_grants
    }

    pub fn writes_grants(&self) -> bool {
        !self.skip_entitlements_and_grants && !self.skip_grants
    }
}

impl SyncPlan {
    /// From C1's `SyncFullTask`: targets, type filter and skip options.
    /// `skip_expand_grants` needs nothing: we write no expandable grants.
    pub fn from_task(task: &pb::baton::task::SyncFullTask) -> Result<Self, PlanError> {
        check_storage_engine(&task.storage_engine)?;
        let targets = task
            .targeted_sync_resources
            .iter()
            .map(|r| {
                let id = r.id.clone().unwrap_or_default();
                ResourceRef::from_parts(&id.resource_type, &id.resource).map_err(PlanError::from)
            })
            .collect::<Result<Vec<_>, _>>()?;
        SyncPlan::new(
            targets,
            &task.sync_resource_type_ids,
            task.skip_grants,
            task.skip_entitlements_and_grants,
        )
    }
}

/// The storage engines C1 may ask for. We always write SQLite (c1z v1), which
/// C1 reads whatever it asked; `pebble` is answered with SQLite (the caller logs
/// it), anything else is refused as the SDK's validation refuses it.
/// Answers whether `pebble` was asked for.
pub fn check_storage_engine(engine: &str) -> Result<bool, PlanError> {
    match engine {
        "" | "sqlite" => Ok(false),
        "pebble" => Ok(true),
        other => Err(PlanError::StorageEngine(other.to_string())),
    }
}

/// Parses one targeted resource as the CLI takes it: `agent:42`, `role:<guid>`,
/// or baton's own id form `bid:r:agent/42` (what `baton` passes to
/// `--sync-resources`; `\` escapes `:`, `/` and `\` in its parts).
pub fn parse_target(s: &str) -> Result<ResourceRef, PlanError> {
    let s = s.trim();
    match s.strip_prefix("bid:r:") {
        Some(rest) => {
            let parts = split_escaped(rest, '/').ok_or_else(|| PlanError::BadBatonId(s.into()))?;
            // `type/id`, or `parent_type/parent_id/type/id`: our types have no parents.
            let [t, id] = parts.as_slice() else {
                return Err(PlanError::BadBatonId(s.into()));
            };
            Ok(ResourceRef::from_parts(t, id).map_err(|mut e| {
                e.id = s.to_string();
                e
            })?)
        }
        None => Ok(ResourceRef::parse(s)?),
    }
}

/// Parses a comma-separated list (`agent:42,team:3`); empty items are refused.
pub fn parse_targets(list: &str) -> Result<Vec<ResourceRef>, PlanError> {
    if list.trim().is_empty() {
        return Ok(Vec::new());
    }
    list.split(',').map(parse_target).collect()
}

fn split_escaped(s: &str, sep: char) -> Option<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => parts.last_mut()?.push(chars.next()?),
            c if c == sep => parts.push(String::new()),
            c => parts.last_mut()?.push(c),
        }
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(targets: &str, types: &[&str], sg: bool, seg: bool) -> SyncPlan {
        let types: Vec<String> = types.iter().map(|s| s.to_string()).collect();
        SyncPlan::new(parse_targets(targets).unwrap(), &types, sg, seg).unwrap()
    }

    #[test]
    fn types_follow_the_sdk() {
        assert_eq!(plan("", &[], false, false).sync_type(), SyncType::Full);
        assert_eq!(plan("", &[], true, false).sync_type(), SyncType::Full);
        assert_eq!(
            plan("", &[], false, true).sync_type(),
            SyncType::ResourcesOnly
        );
        assert_eq!(
            plan("agent:1", &[], false, true).sync_type(),
            SyncType::Partial
        );
        assert_eq!(
            plan("agent:1", &[], false, false).sync_type(),
            SyncType::Partial
        );
        assert_eq!(
            plan("", &["team"], false, false).sync_type(),
            SyncType::Full
        );
    }

    #[test]
    fn duplicates_and_excluded_types_are_dropped() {
        let p = plan(
            "agent:5,team:2,agent:5,role:g-1",
            &["agent", "team"],
            false,
            false,
        );
        assert_eq!(p.targets(), &[ResourceRef::Agent(5), ResourceRef::Team(2)]);
        // Every target excluded: still partial (the SDK's label), holding nothing.
        let p = plan("role:g-1", &["team"], false, false);
        assert!(p.targets().is_empty());
        assert_eq!(p.sync_type(), SyncType::Partial);
    }

    #[test]
    fn baton_ids_and_malformed_targets() {
        assert_eq!(
            parse_target("bid:r:agent/42").unwrap(),
            ResourceRef::Agent(42)
        );
        assert_eq!(
            parse_target("bid:r:role/a\\/b").unwrap(),
            ResourceRef::Role("a/b".into())
        );
        for bad in [
            "agent:",
            "team:abc",
            "widget:1",
            "agent",
            "bid:r:agent",
            "bid:r:x/1/agent/2",
            "agent:1,",
        ] {
            let err = parse_targets(bad).unwrap_err().to_string();
            assert!(!err.is_empty(), "{bad}");
        }
        assert!(
            parse_targets("team:abc")
                .unwrap_err()
                .to_string()
                .contains("team:abc")
        );
        let types = vec!["team".to_string(), "widget".to_string()];
        assert_eq!(
            SyncPlan::new(vec![], &types, false, false).unwrap_err(),
            PlanError::UnknownType("widget".into())
        );
    }

    #[test]
    fn from_a_c1_task() {
        let res = |t: &str, id: &str| pb::Resource {
            id: Some(pb::ResourceId {
                resource_type: t.into(),
                resource: id.into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let task = pb::baton::task::SyncFullTask {
            targeted_sync_resources: vec![res("agent", "5"), res("team", "2"), res("agent", "5")],
            skip_entitlements_and_grants: true,
            storage_engine: "pebble".into(),
            ..Default::default()
        };
        let p = SyncPlan::from_task(&task).unwrap();
        assert_eq!(p.sync_type(), SyncType::Partial);
        assert_eq!(p.targets(), &[ResourceRef::Agent(5), ResourceRef::Team(2)]);
        let bad = pb::baton::task::SyncFullTask {
            storage_engine: "rocks".into(),
            ..Default::default()
        };
        assert_eq!(
            SyncPlan::from_task(&bad).unwrap_err(),
            PlanError::StorageEngine("rocks".into())
        );
        let bad = pb::baton::task::SyncFullTask {
            targeted_sync_resources: vec![res("team", "abc")],
            ..Default::default()
        };
        assert!(
            SyncPlan::from_task(&bad)
                .unwrap_err()
                .to_string()
                .contains("team:abc")
        );
    }

    #[test]
    fn what_gets_written() {
        let p = plan("", &[], true, false);
        assert!(p.writes_entitlements() && !p.writes_grants());
        let p = plan("", &[], false, true);
        assert!(!p.writes_entitlements() && !p.writes_grants());
        let p = plan("", &["role"], false, false);
        assert!(p.includes_type("role") && !p.includes_type("agent"));
    }
}
