//! The ID contract with C1, both ways: the resource types this connector
//! syncs, every id it emits (formatted here) and every id C1 (or the CLI)
//! hands back (parsed here). These ids end up in customers' policies, so
//! their shape never changes once released (docs/architecture.md §3):
//!
//! | what | shape | example |
//! |---|---|---|
//! | resource | `<type>:<id>` | `agent:42`, `team:3`, `role:7d0c-…` |
//! | team membership | `team:<team id>:member` | `team:3:member` |
//! | role assignment | `role:<role guid>:assigned` | `role:7d0c-…:assigned` |
//! | grant | `<entitlement>:<principal type>:<principal id>` | `team:3:member:agent:42` |
//!
//! Role GUIDs contain no `:`, so every shape splits unambiguously on `:`.

use std::fmt;

/// Resource type ids (the `id` of the [`ResourceTypeDef`]s below).
pub const AGENT_TYPE: &str = "agent";
pub const TEAM_TYPE: &str = "team";
pub const ROLE_TYPE: &str = "role";
pub const END_USER_TYPE: &str = "user";

/// A baton resource type this connector syncs.
#[derive(Debug, Clone, Copy)]
pub struct ResourceTypeDef {
    pub id: &'static str,
    pub display_name: &'static str,
    /// `c1.connector.v2.ResourceType.Trait` enum name.
    pub trait_name: &'static str,
    pub description: &'static str,
    /// Principals only: agents and end users carry no entitlements or grants of
    /// their own (SkipEntitlementsAndGrants, as on the SDK's user types).
    pub skip_entitlements_and_grants: bool,
}

pub const AGENT: ResourceTypeDef = ResourceTypeDef {
    id: AGENT_TYPE,
    display_name: "Agent",
    trait_name: "TRAIT_USER",
    description: "HaloITSM agents (technicians): the accounts, disabled ones included",
    skip_entitlements_and_grants: true,
};
pub const TEAM: ResourceTypeDef = ResourceTypeDef {
    id: TEAM_TYPE,
    display_name: "Team",
    trait_name: "TRAIT_GROUP",
    description: "HaloITSM teams; membership is the `member` entitlement",
    skip_entitlements_and_grants: false,
};
pub const ROLE: ResourceTypeDef = ResourceTypeDef {
    id: ROLE_TYPE,
    display_name: "Role",
    trait_name: "TRAIT_ROLE",
    description: "HaloITSM agent roles; holding one is the `assigned` entitlement",
    skip_entitlements_and_grants: false,
};
pub const END_USER: ResourceTypeDef = ResourceTypeDef {
    id: END_USER_TYPE,
    display_name: "End user",
    trait_name: "TRAIT_USER",
    description: "HaloITSM end users (optional, sync.include_end_users)",
    skip_entitlements_and_grants: true,
};

/// The resource types of a sync, in the order they are written.
pub fn resource_types(include_end_users: bool) -> Vec<ResourceTypeDef> {
    let mut v = vec![AGENT, TEAM, ROLE];
    if include_end_users {
        v.push(END_USER);
    }
    v
}

/// Entitlement slugs: `team:<id>:member`, `role:<guid>:assigned`.
pub const TEAM_MEMBER_SLUG: &str = "member";
pub const ROLE_ASSIGNED_SLUG: &str = "assigned";

pub const RESOURCE_SHAPE: &str = "agent:<id>, team:<id>, role:<guid> or user:<id>";
pub const ENTITLEMENT_SHAPE: &str = "team:<id>:member or role:<guid>:assigned";
pub const PRINCIPAL_SHAPE: &str = "agent:<id>";
pub const GRANT_SHAPE: &str = "team:<id>:member:agent:<id> or role:<guid>:assigned:agent:<id>";

/// `<resource type>:<resource id>:<slug>`, baton's `NewEntitlementID`.
pub fn entitlement_id(resource_type: &str, resource_id: &str, slug: &str) -> String {
    format!("{resource_type}:{resource_id}:{slug}")
}

/// `<entitlement id>:<principal type>:<principal id>`, baton's `NewGrant` id.
pub fn grant_id(entitlement_id: &str, principal_type: &str, principal_id: &str) -> String {
    format!("{entitlement_id}:{principal_type}:{principal_id}")
}

/// A refused id: it names the id and the shape that was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{id}` is not a valid {what}: expected {expected}{detail}")]
pub struct IdError {
    pub id: String,
    pub what: &'static str,
    pub expected: &'static str,
    /// Extra reason, starting with "; " when present.
    pub detail: String,
}

fn refuse(id: &str, what: &'static str, expected: &'static str, detail: &str) -> IdError {
    IdError {
        id: id.to_string(),
        what,
        expected,
        detail: if detail.is_empty() {
            String::new()
        } else {
            format!("; {detail}")
        },
    }
}

/// A resource this connector knows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum ResourceRef {
    Agent(i64),
    Team(i64),
    Role(String),
    User(i64),
}

impl ResourceRef {
    pub fn type_id(&self) -> &'static str {
        match self {
            ResourceRef::Agent(_) => AGENT_TYPE,
            ResourceRef::Team(_) => TEAM_TYPE,
            ResourceRef::Role(_) => ROLE_TYPE,
            ResourceRef::User(_) => END_USER_TYPE,
        }
    }

    pub fn raw_id(&self) -> String {
        match self {
            ResourceRef::Agent(n) | ResourceRef::Team(n) | ResourceRef::User(n) => n.to_string(),
            ResourceRef::Role(g) => g.clone(),
        }
    }

    /// From C1's (resource type, resource id) pair.
    pub fn from_parts(resource_type: &str, id: &str) -> Result<Self, IdError> {
        let whole = format!("{resource_type}:{id}");
        let int = |what| {
            parse_int(id).ok_or_else(|| {
                refuse(
                    &whole,
                    "resource id",
                    RESOURCE_SHAPE,
                    &format!("{what} ids are positive integers"),
                )
            })
        };
        match resource_type {
            AGENT_TYPE => int("agent").map(ResourceRef::Agent),
            TEAM_TYPE => int("team").map(ResourceRef::Team),
            END_USER_TYPE => int("user").map(ResourceRef::User),
            ROLE_TYPE => {
                if id.is_empty() || id.contains(':') || id.trim() != id {
                    Err(refuse(
                        &whole,
                        "resource id",
                        RESOURCE_SHAPE,
                        "a role id is its GUID",
                    ))
                } else {
                    Ok(ResourceRef::Role(id.to_string()))
                }
            }
            other => Err(refuse(
                &whole,
                "resource id",
                RESOURCE_SHAPE,
                &format!("unknown resource type `{other}`"),
            )),
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdError> {
        let (t, id) = s
            .split_once(':')
            .ok_or_else(|| refuse(s, "resource id", RESOURCE_SHAPE, ""))?;
        ResourceRef::from_parts(t, id).map_err(|mut e| {
            e.id = s.to_string();
            e
        })
    }

    /// The agent id, or an error saying that only agents can be principals.
    pub fn agent_principal(&self) -> Result<i64, IdError> {
        match self {
            ResourceRef::Agent(id) => Ok(*id),
            other => Err(refuse(
                &other.to_string(),
                "principal",
                PRINCIPAL_SHAPE,
                "only agents can hold team memberships and roles",
            )),
        }
    }
}

impl fmt::Display for ResourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.type_id(), self.raw_id())
    }
}

fn parse_int(s: &str) -> Option<i64> {
    // Digits only: "+3", " 3" or "03" would make two spellings of one id.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok().filter(|n| *n > 0)
}

/// A grantable entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum EntitlementRef {
    TeamMember(i64),
    RoleAssigned(String),
}

impl EntitlementRef {
    pub fn resource(&self) -> ResourceRef {
        match self {
            EntitlementRef::TeamMember(id) => ResourceRef::Team(*id),
            EntitlementRef::RoleAssigned(g) => ResourceRef::Role(g.clone()),
        }
    }

    pub fn slug(&self) -> &'static str {
        match self {
            EntitlementRef::TeamMember(_) => TEAM_MEMBER_SLUG,
            EntitlementRef::RoleAssigned(_) => ROLE_ASSIGNED_SLUG,
        }
    }

    pub fn parse(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split(':').collect();
        let [t, id, slug] = parts[..] else {
            return Err(refuse(s, "entitlement id", ENTITLEMENT_SHAPE, ""));
        };
        Self::from_parts(t, id, slug).map_err(|mut e| {
            e.id = s.to_string();
            e
        })
    }

    fn from_parts(t: &str, id: &str, slug: &str) -> Result<Self, IdError> {
        let whole = format!("{t}:{id}:{slug}");
        let res = ResourceRef::from_parts(t, id).map_err(|e| IdError {
            id: whole.clone(),
            what: "entitlement id",
            expected: ENTITLEMENT_SHAPE,
            detail: e.detail,
        })?;
        match (res, slug) {
            (ResourceRef::Team(id), TEAM_MEMBER_SLUG) => Ok(EntitlementRef::TeamMember(id)),
            (ResourceRef::Role(g), ROLE_ASSIGNED_SLUG) => Ok(EntitlementRef::RoleAssigned(g)),
            (r, _) => Err(refuse(
                &whole,
                "entitlement id",
                ENTITLEMENT_SHAPE,
                &format!("{} has no entitlement `{slug}`", r.type_id()),
            )),
        }
    }
}

impl fmt::Display for EntitlementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.resource();
        f.write_str(&entitlement_id(r.type_id(), &r.raw_id(), self.slug()))
    }
}

/// A grant: an entitlement held by an agent.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct GrantRef {
    pub entitlement: EntitlementRef,
    pub agent_id: i64,
}

impl GrantRef {
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split(':').collect();
        let [t, id, slug, pt, pid] = parts[..] else {
            return Err(refuse(s, "grant id", GRANT_SHAPE, ""));
        };
        let ctx = |e: IdError| IdError {
            id: s.to_string(),
            what: "grant id",
            expected: GRANT_SHAPE,
            detail: e.detail,
        };
        let entitlement = EntitlementRef::from_parts(t, id, slug).map_err(ctx)?;
        let agent_id = ResourceRef::from_parts(pt, pid)
            .and_then(|p| p.agent_principal())
            .map_err(ctx)?;
        Ok(GrantRef {
            entitlement,
            agent_id,
        })
    }
}

impl fmt::Display for GrantRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&grant_id(
            &self.entitlement.to_string(),
            AGENT_TYPE,
            &self.agent_id.to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_the_contract() {
        assert_eq!(
            entitlement_id(TEAM_TYPE, "3", TEAM_MEMBER_SLUG),
            "team:3:member"
        );
        assert_eq!(
            grant_id("team:3:member", AGENT_TYPE, "42"),
            "team:3:member:agent:42"
        );
        let g = GrantRef {
            entitlement: EntitlementRef::RoleAssigned("7d0c-guid".into()),
            agent_id: 42,
        };
        assert_eq!(g.to_string(), "role:7d0c-guid:assigned:agent:42");
    }

    #[test]
    fn ids_follow_the_contract() {
        let e = entitlement_id(TEAM.id, "3", TEAM_MEMBER_SLUG);
        assert_eq!(e, "team:3:member");
        assert_eq!(grant_id(&e, AGENT.id, "42"), "team:3:member:agent:42");
        let r = entitlement_id(ROLE.id, "7d0c-guid", ROLE_ASSIGNED_SLUG);
        assert_eq!(r, "role:7d0c-guid:assigned");
    }

    #[test]
    fn round_trips() {
        for s in ["team:3:member:agent:42", "role:7d0c-aa:assigned:agent:1"] {
            assert_eq!(GrantRef::parse(s).unwrap().to_string(), s);
        }
        for s in ["team:3:member", "role:abc:assigned"] {
            assert_eq!(EntitlementRef::parse(s).unwrap().to_string(), s);
        }
        for s in ["agent:42", "team:3", "role:abc", "user:9"] {
            assert_eq!(ResourceRef::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn refuses_with_id_and_shape() {
        let cases = [
            ("team:3", "entitlement"),
            ("team:x:member", "entitlement"),
            ("team:03:member", "entitlement"),
            ("team:3:assigned", "entitlement"),
            ("role:g:member", "entitlement"),
            ("site:3:member", "entitlement"),
        ];
        for (s, _) in cases {
            let e = EntitlementRef::parse(s).unwrap_err().to_string();
            assert!(e.contains(s) && e.contains(ENTITLEMENT_SHAPE), "{e}");
        }
        let e = GrantRef::parse("team:3:member:user:9")
            .unwrap_err()
            .to_string();
        assert!(e.contains("only agents"), "{e}");
        assert!(
            e.contains("team:3:member:user:9") && e.contains(GRANT_SHAPE),
            "{e}"
        );
        let e = ResourceRef::parse("ticket:4").unwrap_err().to_string();
        assert!(e.contains("unknown resource type `ticket`"), "{e}");
        assert!(ResourceRef::parse("agent:-1").is_err());
        assert!(ResourceRef::parse("agent").is_err());
    }
}
