//! Halo objects as `c1.connector.v2` messages: resources, entitlements and
//! grants, with the ids and resource types of the ID contract
//! (`crate::contract::ids`) and baton's validation limits.

use std::collections::BTreeMap;

use prost_types::{Struct, Value};

use crate::contract::dates::parse_halo_date;
use crate::contract::ids::{
    AGENT, END_USER, ROLE, ROLE_ASSIGNED_SLUG, ResourceTypeDef, TEAM, TEAM_MEMBER_SLUG,
    entitlement_id, grant_id,
};
use crate::halo::model::{Agent, Role, Team, User};
use crate::pb;

/// Baton's validation limits on a Resource (docs/reference/baton-compat.md §2).
pub const MAX_DISPLAY_NAME_BYTES: usize = 1024;
pub const MAX_DESCRIPTION_BYTES: usize = 2048;

/// Cuts `s` to at most `max` bytes at a char boundary: Halo has no such limit
/// (a role's notes can be long) and one over-long field would make the SDK's
/// validation reject the whole snapshot.
pub fn truncate_to(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

// ---- Halo objects → c1.connector.v2 messages -------------------------------
//
// Traits are set the way the SDK's helpers do: status, profile and friends on
// the trait annotation *and* mirrored onto the Resource (the trait-level fields
// are deprecated but still read). Every builder is a pure function of its input,
// so the same tenant always encodes to the same bytes.

pub fn resource_type_pb(def: &ResourceTypeDef) -> pb::ResourceType {
    let traits = match def.trait_name {
        "TRAIT_GROUP" => pb::resource_type::Trait::Group,
        "TRAIT_ROLE" => pb::resource_type::Trait::Role,
        _ => pb::resource_type::Trait::User,
    };
    let mut annotations = Vec::new();
    if def.skip_entitlements_and_grants {
        annotations.push(pb::pack_any(&pb::SkipEntitlementsAndGrants {}));
    }
    pb::ResourceType {
        id: def.id.to_string(),
        display_name: def.display_name.to_string(),
        traits: vec![traits as i32],
        annotations,
        description: def.description.to_string(),
        sourced_externally: false,
    }
}

fn rid(resource_type: &str, id: impl ToString) -> pb::ResourceId {
    pb::ResourceId {
        resource_type: resource_type.to_string(),
        resource: id.to_string(),
        baton_resource: false,
    }
}

/// A profile Struct from (key, value) pairs; empty strings are left out.
fn profile<'a>(pairs: impl IntoIterator<Item = (&'a str, Value)>) -> Struct {
    let fields: BTreeMap<String, Value> = pairs
        .into_iter()
        .filter(|(_, v)| !matches!(&v.kind, Some(prost_types::value::Kind::StringValue(s)) if s.is_empty()))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Struct { fields }
}

fn user_status(disabled: bool) -> (pb::user_trait::Status, pb::Status) {
    let (u, r) = if disabled {
        (
            pb::user_trait::status::Status::Disabled,
            pb::status::ResourceStatus::Disabled,
        )
    } else {
        (
            pb::user_trait::status::Status::Enabled,
            pb::status::ResourceStatus::Enabled,
        )
    };
    (
        pb::user_trait::Status {
            status: u as i32,
            details: String::new(),
        },
        pb::Status {
            status: r as i32,
            details: String::new(),
        },
    )
}

fn display_name(name: &str, first: &str, last: &str, fallback: &str) -> String {
    let joined = format!("{} {}", first.trim(), last.trim());
    let chosen = if !name.trim().is_empty() {
        name.trim()
    } else if !joined.trim().is_empty() {
        joined.trim()
    } else {
        fallback
    };
    truncate_to(chosen.to_string(), MAX_DISPLAY_NAME_BYTES)
}

/// Structured name from firstname/surname, else a split of the display name.
fn structured_name(first: &str, last: &str, name: &str) -> Option<pb::user_trait::StructuredName> {
    let (given, family) = if !first.is_empty() || !last.is_empty() {
        (first.trim().to_string(), last.trim().to_string())
    } else {
        let mut parts = name.trim().rsplitn(2, ' ');
        let family = parts.next().unwrap_or_default().to_string();
        let given = parts.next().unwrap_or_default().to_string();
        if given.is_empty() {
            return None;
        }
        (given, family)
    };
    Some(pb::user_trait::StructuredName {
        given_name: given,
        family_name: family,
        ..Default::default()
    })
}

pub fn agent_resource(a: &Agent) -> pb::Resource {
    let name = display_name(
        &a.name,
        &a.firstname,
        &a.surname,
        &format!("Agent {}", a.id),
    );
    let login = if !a.ad.is_empty() {
        a.ad.clone()
    } else {
        a.email.clone()
    };
    let prof = profile([
        ("agent_id", Value::from(a.id as f64)),
        ("name", Value::from(name.clone())),
        ("email", Value::from(a.email.clone())),
        ("first_name", Value::from(a.firstname.clone())),
        ("last_name", Value::from(a.surname.clone())),
        ("job_title", Value::from(a.jobtitle.clone())),
        ("default_team", Value::from(a.team.clone())),
        ("is_api_agent", Value::from(a.isapiagent)),
    ]);
    let (trait_status, resource_status) = user_status(a.isdisabled);
    let last_login = a.last_login().and_then(parse_halo_date);
    let account_type = if a.isapiagent {
        pb::user_trait::AccountType::Service
    } else {
        pb::user_trait::AccountType::Human
    };
    let emails = if a.email.is_empty() {
        vec![]
    } else {
        vec![pb::user_trait::Email {
            address: a.email.clone(),
            is_primary: true,
        }]
    };
    let user_trait = pb::UserTrait {
        emails,
        status: Some(trait_status),
        profile: Some(prof.clone()),
        account_type: account_type as i32,
        login,
        last_login,
        structured_name: structured_name(&a.firstname, &a.surname, &a.name),
        ..Default::default()
    };
    pb::Resource {
        id: Some(rid(AGENT.id, a.id)),
        display_name: name,
        annotations: vec![pb::pack_any(&user_trait)],
        profile: Some(prof),
        status: Some(resource_status),
        ..Default::default()
    }
}

pub fn team_resource(t: &Team) -> pb::Resource {
    let prof = profile([
        ("team_id", Value::from(t.id as f64)),
        ("name", Value::from(t.name.clone())),
        ("department", Value::from(t.department_name.clone())),
        ("inactive", Value::from(t.inactive)),
    ]);
    let group = pb::GroupTrait {
        profile: Some(prof.clone()),
        ..Default::default()
    };
    pb::Resource {
        id: Some(rid(TEAM.id, t.id)),
        display_name: display_name(&t.name, "", "", &format!("Team {}", t.id)),
        description: truncate_to(format!("HaloITSM team {}", t.name), MAX_DESCRIPTION_BYTES),
        annotations: vec![pb::pack_any(&group)],
        profile: Some(prof),
        ..Default::default()
    }
}

pub fn role_resource(r: &Role) -> pb::Resource {
    let prof = profile([
        ("role_id", Value::from(r.id.clone())),
        ("role_id_int", Value::from(r.id_int as f64)),
        ("name", Value::from(r.name.clone())),
        ("notes", Value::from(r.notes.clone())),
    ]);
    let role = pb::RoleTrait {
        profile: Some(prof.clone()),
    };
    pb::Resource {
        id: Some(rid(ROLE.id, &r.id)),
        display_name: display_name(&r.name, "", "", &format!("Role {}", r.id)),
        description: truncate_to(r.notes.clone(), MAX_DESCRIPTION_BYTES),
        annotations: vec![pb::pack_any(&role)],
        profile: Some(prof),
        ..Default::default()
    }
}

pub fn end_user_resource(u: &User) -> pb::Resource {
    let name = display_name(&u.name, &u.firstname, &u.surname, &format!("User {}", u.id));
    let prof = profile([
        ("user_id", Value::from(u.id as f64)),
        ("name", Value::from(name.clone())),
        ("email", Value::from(u.emailaddress.clone())),
        ("first_name", Value::from(u.firstname.clone())),
        ("last_name", Value::from(u.surname.clone())),
        ("site", Value::from(u.site_name.clone())),
        ("client", Value::from(u.client_name.clone())),
    ]);
    let (trait_status, resource_status) = user_status(u.inactive);
    let account_type = if u.isserviceaccount {
        pb::user_trait::AccountType::Service
    } else {
        pb::user_trait::AccountType::Human
    };
    let user_trait = pb::UserTrait {
        emails: if u.emailaddress.is_empty() {
            vec![]
        } else {
            vec![pb::user_trait::Email {
                address: u.emailaddress.clone(),
                is_primary: true,
            }]
        },
        status: Some(trait_status),
        profile: Some(prof.clone()),
        account_type: account_type as i32,
        login: if u.login.is_empty() {
            u.emailaddress.clone()
        } else {
            u.login.clone()
        },
        structured_name: structured_name(&u.firstname, &u.surname, &u.name),
        ..Default::default()
    };
    pb::Resource {
        id: Some(rid(END_USER.id, u.id)),
        display_name: name,
        annotations: vec![pb::pack_any(&user_trait)],
        profile: Some(prof),
        status: Some(resource_status),
        ..Default::default()
    }
}

/// The one assignment entitlement of a team or role, grantable to agents.
pub fn assignment_entitlement(
    resource: &pb::Resource,
    slug: &str,
    display: String,
) -> pb::Entitlement {
    let id = resource.id.clone().unwrap_or_default();
    pb::Entitlement {
        id: entitlement_id(&id.resource_type, &id.resource, slug),
        display_name: display,
        description: format!(
            "{} of the HaloITSM {} {}",
            slug, id.resource_type, resource.display_name
        ),
        grantable_to: vec![resource_type_pb(&AGENT)],
        purpose: pb::entitlement::PurposeValue::Assignment as i32,
        slug: slug.to_string(),
        resource: Some(resource.clone()),
        annotations: vec![],
    }
}

pub fn team_entitlement(team: &pb::Resource) -> pb::Entitlement {
    assignment_entitlement(
        team,
        TEAM_MEMBER_SLUG,
        format!("{} Team Member", team.display_name),
    )
}

pub fn role_entitlement(role: &pb::Resource) -> pb::Entitlement {
    assignment_entitlement(
        role,
        ROLE_ASSIGNED_SLUG,
        format!("{} Role", role.display_name),
    )
}

/// A grant as the SDK's `NewGrant` shapes it: the entitlement carries only its id
/// and a slim resource (id + display name); the principal only its id.
pub fn agent_grant(entitlement: &EntitlementRef, agent_id: i64) -> pb::Grant {
    let principal = rid(AGENT.id, agent_id);
    pb::Grant {
        id: grant_id(&entitlement.id, AGENT.id, &agent_id.to_string()),
        entitlement: Some(pb::Entitlement {
            id: entitlement.id.clone(),
            resource: Some(pb::Resource {
                id: Some(entitlement.resource_id.clone()),
                display_name: entitlement.resource_display_name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        principal: Some(pb::Resource {
            id: Some(principal),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// What a grant needs to know about its entitlement; kept per team/role during a sync.
#[derive(Debug, Clone)]
pub struct EntitlementRef {
    pub id: String,
    pub resource_id: pb::ResourceId,
    pub resource_display_name: String,
}

impl EntitlementRef {
    pub fn of(e: &pb::Entitlement) -> Self {
        let res = e.resource.clone().unwrap_or_default();
        EntitlementRef {
            id: e.id.clone(),
            resource_id: res.id.unwrap_or_default(),
            resource_display_name: res.display_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_role_notes_and_names_are_cut_at_a_char_boundary() {
        // '€' is 3 bytes: byte 1024 and byte 2048 fall inside one below.
        let role = Role {
            id: "guid-1".into(),
            name: format!("ab{}", "€".repeat(700)),
            notes: format!("b{}", "€".repeat(1500)),
            ..Default::default()
        };
        let r = role_resource(&role);
        assert_eq!(r.display_name.len(), 2 + 3 * 340);
        assert!(r.display_name.starts_with("ab€€"));
        assert_eq!(r.description.len(), 1 + 3 * 682);
        assert!(r.description.starts_with("b€€"));
        // The profile keeps Halo's full text; only the validated fields are cut.
        let notes = &r.profile.unwrap().fields["notes"];
        assert!(
            matches!(&notes.kind, Some(prost_types::value::Kind::StringValue(s)) if s.len() == 1 + 3 * 1500)
        );
        // Short values are untouched, exactly at the limit too.
        assert_eq!(truncate_to("x".repeat(1024), 1024).len(), 1024);
        assert_eq!(truncate_to("héllo".into(), 1024), "héllo");
        assert_eq!(truncate_to("é".into(), 1), "");
    }

    #[test]
    fn principals_skip_entitlements_and_grants() {
        for def in [AGENT, END_USER] {
            let rt = resource_type_pb(&def);
            assert!(
                pb::find_annotation::<pb::SkipEntitlementsAndGrants>(&rt.annotations).is_some(),
                "{}",
                def.id
            );
        }
        for def in [TEAM, ROLE] {
            let rt = resource_type_pb(&def);
            assert!(rt.annotations.is_empty(), "{}", def.id);
        }
    }
}
