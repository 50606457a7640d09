//! The ID contract with C1: resource type ids, entitlement slugs and the shape
//! of every id we emit. These ids end up in customers' policies, so they never
//! change once released (DESIGN.md §3).

/// A baton resource type this connector syncs.
#[derive(Debug, Clone, Copy)]
pub struct ResourceTypeDef {
    pub id: &'static str,
    pub display_name: &'static str,
    /// `c1.connector.v2.ResourceType.Trait` enum name.
    pub trait_name: &'static str,
    pub description: &'static str,
    /// End users carry no entitlements or grants (SkipEntitlementsAndGrants).
    pub skip_entitlements_and_grants: bool,
}

pub const AGENT: ResourceTypeDef = ResourceTypeDef {
    id: "agent",
    display_name: "Agent",
    trait_name: "TRAIT_USER",
    description: "HaloITSM agents (technicians): the accounts, disabled ones included",
    skip_entitlements_and_grants: false,
};
pub const TEAM: ResourceTypeDef = ResourceTypeDef {
    id: "team",
    display_name: "Team",
    trait_name: "TRAIT_GROUP",
    description: "HaloITSM teams; membership is the `member` entitlement",
    skip_entitlements_and_grants: false,
};
pub const ROLE: ResourceTypeDef = ResourceTypeDef {
    id: "role",
    display_name: "Role",
    trait_name: "TRAIT_ROLE",
    description: "HaloITSM agent roles; holding one is the `assigned` entitlement",
    skip_entitlements_and_grants: false,
};
pub const END_USER: ResourceTypeDef = ResourceTypeDef {
    id: "user",
    display_name: "End user",
    trait_name: "TRAIT_USER",
    description: "HaloITSM end users (optional, sync.include_end_users)",
    skip_entitlements_and_grants: true,
};

/// Entitlement slugs: `team:<id>:member`, `role:<guid>:assigned`.
pub const TEAM_MEMBER_SLUG: &str = "member";
pub const ROLE_ASSIGNED_SLUG: &str = "assigned";

/// The resource types of a sync, in the order they are written.
pub fn resource_types(include_end_users: bool) -> Vec<ResourceTypeDef> {
    let mut v = vec![AGENT, TEAM, ROLE];
    if include_end_users {
        v.push(END_USER);
    }
    v
}

/// `<resource type>:<resource id>:<slug>`, baton's `NewEntitlementID`.
pub fn entitlement_id(resource_type: &str, resource_id: &str, slug: &str) -> String {
    format!("{resource_type}:{resource_id}:{slug}")
}

/// `<entitlement id>:<principal type>:<principal id>`, baton's `NewGrant` id.
pub fn grant_id(entitlement_id: &str, principal_type: &str, principal_id: &str) -> String {
    format!("{entitlement_id}:{principal_type}:{principal_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_contract() {
        let e = entitlement_id(TEAM.id, "3", TEAM_MEMBER_SLUG);
        assert_eq!(e, "team:3:member");
        assert_eq!(grant_id(&e, AGENT.id, "42"), "team:3:member:agent:42");
        let r = entitlement_id(ROLE.id, "7d0c-guid", ROLE_ASSIGNED_SLUG);
        assert_eq!(r, "role:7d0c-guid:assigned");
    }
}
