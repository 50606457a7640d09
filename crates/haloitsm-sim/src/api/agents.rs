//! `/api/Agent`: list (paged or not), get, me, upsert (POST array), delete.

use axum::http::StatusCode;
use serde::Serialize;

use super::body::{Fields, elements};
use super::paging::{self, PageRequest};
use super::respond::{self, json};
use super::{ApiError, ApiResult, Ctx};
use crate::config::{AgentPageRows, ListWrites};
use crate::dates::NEVER;
use crate::error::SimError;
use crate::model::SimAgent;
use crate::state::{read, write};
use crate::tenant::{Tenant, agent_mask};

/// The agent `GET /api/Agent/me` answers: agent 1 stands in for the API application's login agent.
const ME_AGENT_ID: i64 = 1;

/// Which optional arrays an agent view carries.
#[derive(Clone, Copy, Default)]
pub(crate) struct Detail {
    pub teams: bool,
    pub roles: bool,
}

impl Detail {
    const FULL: Detail = Detail {
        teams: true,
        roles: true,
    };
}

/// Halo's `Uname` field names.
#[derive(Serialize)]
pub(crate) struct AgentView<'a> {
    id: i64,
    name: &'a str,
    firstname: &'a str,
    surname: &'a str,
    email: &'a str,
    jobtitle: &'a str,
    isdisabled: bool,
    isapiagent: bool,
    team: &'a str,
    lastlogindate: &'a str,
    ad: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    teams: Option<Vec<MembershipView<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<RoleRef<'a>>>,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

/// Halo's `UnameSection`: one agent-in-team row, used in `agent.teams[]` and `team.agents[]`.
#[derive(Serialize)]
pub(crate) struct MembershipView<'a> {
    pub team_id: i64,
    pub team_name: &'a str,
    pub agent_id: i64,
    pub agent_name: &'a str,
    pub is_manager: bool,
}

#[derive(Serialize)]
struct RoleRef<'a> {
    id: &'a str,
    name: &'a str,
}

pub(crate) fn membership<'a>(t: &'a Tenant, a: &'a SimAgent, team_id: i64) -> MembershipView<'a> {
    MembershipView {
        team_id,
        team_name: t.team(team_id).map_or("", |t| t.name.as_str()),
        agent_id: a.id,
        agent_name: &a.name,
        is_manager: a.managed_team_ids.contains(&team_id),
    }
}

fn view<'a>(
    t: &'a Tenant,
    a: &'a SimAgent,
    detail: Detail,
    warning: Option<&'a str>,
) -> AgentView<'a> {
    AgentView {
        id: a.id,
        name: &a.name,
        firstname: &a.firstname,
        surname: &a.surname,
        email: &a.email,
        jobtitle: &a.jobtitle,
        isdisabled: a.disabled,
        isapiagent: a.api_agent,
        team: &a.team,
        lastlogindate: a.last_login.as_deref().unwrap_or(NEVER),
        ad: &a.ad,
        teams: detail
            .teams
            .then(|| a.team_ids.iter().map(|id| membership(t, a, *id)).collect()),
        roles: detail.roles.then(|| {
            a.role_ids
                .iter()
                .map(|id| RoleRef {
                    id,
                    name: t.role(id).map_or("", |r| r.name.as_str()),
                })
                .collect()
        }),
        warning,
    }
}

pub(crate) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let q = ctx.query;
    let mask = agent_mask(
        q.flag_or("includeenabled", true),
        q.flag("includedisabled"),
        q.flag("includeapiagents"),
    );
    let detail = Detail {
        teams: q.flag("include_membership_info"),
        roles: q.flag("includeroles"),
    };
    let tenant = read(&ctx.shared.tenant);
    let t = &*tenant;
    let warning = ctx.warning();
    let paged = PageRequest::from_query(q).map(|r| r.served(ctx.quirks));
    Ok(match paged {
        Some(req) => {
            let key = match ctx.quirks.agent_page_rows {
                AgentPageRows::Results => Some("results"),
                AgentPageRows::Agents => Some("agents"),
                AgentPageRows::Bare => None,
            };
            let view = |a| view(t, a, detail, warning);
            match q.get("role") {
                // `role=<id_int>`: agents holding that role (an unknown role holds nobody).
                Some(role) => {
                    let guid = t.role(role).map(|r| r.id.as_str());
                    let rows = t
                        .agents
                        .iter(mask)
                        .filter(|a| guid.is_some_and(|g| a.role_ids.iter().any(|r| r == g)))
                        .collect();
                    paging::respond_filtered(rows, req, key, warning, view)
                }
                None => paging::respond(&t.agents, mask, req, key, warning, view),
            }
        }
        None => {
            // `search`: substring of name or email, case-insensitive (unpaged lists only).
            let search = q.get("search").map(str::to_lowercase);
            let rows: Vec<_> = t
                .agents
                .iter(mask)
                .filter(|a| {
                    search.as_deref().is_none_or(|s| {
                        a.name.to_lowercase().contains(s) || a.email.to_lowercase().contains(s)
                    })
                })
                .map(|a| view(t, a, detail, warning))
                .collect();
            respond::list(ctx, "agents", &rows)
        }
    })
}

fn one(ctx: &Ctx<'_>, id: i64, detail: Detail) -> ApiResult {
    let tenant = read(&ctx.shared.tenant);
    let a = tenant
        .agent(id)
        .ok_or_else(|| ApiError::not_found(format!("Agent {id} not found")))?;
    Ok(json(
        StatusCode::OK,
        &view(&tenant, a, detail, ctx.warning()),
    ))
}

pub(crate) fn get(ctx: &Ctx<'_>) -> ApiResult {
    let detail = if ctx.query.flag("includedetails") {
        Detail::FULL
    } else {
        Detail::default()
    };
    one(ctx, ctx.int_param()?, detail)
}

pub(crate) fn me(ctx: &Ctx<'_>) -> ApiResult {
    one(ctx, ME_AGENT_ID, Detail::FULL)
}

pub(crate) fn delete(ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.int_param()?;
    let mut tenant = write(&ctx.shared.tenant);
    let a = tenant
        .delete_agent(id)
        .ok_or_else(|| ApiError::not_found(format!("Agent {id} not found")))?;
    Ok(json(
        StatusCode::OK,
        &view(&tenant, &a, Detail::default(), ctx.warning()),
    ))
}

/// `POST /api/Agent`: every element is checked before any is applied, so a 400 writes nothing.
pub(crate) fn upsert(ctx: &Ctx<'_>) -> ApiResult {
    let items = elements(ctx.body)?;
    let mut tenant = write(&ctx.shared.tenant);
    let planned = items
        .iter()
        .enumerate()
        .map(|(i, obj)| {
            plan(
                &tenant,
                &Fields::element(obj, i),
                ctx.quirks.agent_list_writes,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut ids = Vec::with_capacity(planned.len());
    let mut created_any = false;
    for (i, (agent, created)) in planned.into_iter().enumerate() {
        let result = if created {
            created_any = true;
            tenant.insert_agent(agent)
        } else {
            let id = agent.id;
            tenant.replace_agent(agent).map(|()| id)
        };
        ids.push(result.map_err(|e| sim_error(i, e))?);
    }
    let rows: Vec<_> = ids
        .iter()
        .filter_map(|id| tenant.agent(*id))
        .map(|a| view(&tenant, a, Detail::FULL, ctx.warning()))
        .collect();
    Ok(respond::written(created_any, &rows))
}

fn sim_error(index: usize, e: SimError) -> ApiError {
    let field = match e {
        SimError::MissingName => "name",
        SimError::UnknownTeam(_) => "teams",
        SimError::UnknownRole(_) => "roles",
        _ => "id",
    };
    ApiError::field(format!("[{index}].{field}"), e.to_string())
}

/// The agent as it will be stored, and whether it is new. Update = the stored agent with
/// only the posted fields changed; `teams`/`roles`, when posted, replace the whole list.
fn plan(tenant: &Tenant, f: &Fields<'_>, lists: ListWrites) -> Result<(SimAgent, bool), ApiError> {
    let id = f.int("id")?.filter(|id| *id != 0);
    let lists = if id.is_none() {
        ListWrites::Replace
    } else {
        lists
    };
    let mut a = match id {
        Some(id) => tenant
            .agent(id)
            .cloned()
            .ok_or_else(|| ApiError::field(f.path("id"), format!("Agent {id} not found")))?,
        None => SimAgent::default(),
    };
    let text_fields: [(&str, &mut String); 7] = [
        ("name", &mut a.name),
        ("firstname", &mut a.firstname),
        ("surname", &mut a.surname),
        ("email", &mut a.email),
        ("jobtitle", &mut a.jobtitle),
        ("team", &mut a.team),
        ("ad", &mut a.ad),
    ];
    for (name, slot) in text_fields {
        if let Some(v) = f.str(name)? {
            v.clone_into(slot);
        }
    }
    if let Some(v) = f.bool("isdisabled")? {
        a.disabled = v;
    }
    if let Some(v) = f.bool("isapiagent")? {
        a.api_agent = v;
    }
    if let Some(v) = f.str("lastlogindate")? {
        a.last_login = (!v.starts_with("1900-01-01")).then(|| v.to_owned());
    }
    if let Some(teams) = f.objects("teams")? {
        let mut team_ids = Vec::new();
        let mut managed = Vec::new();
        for t in &teams {
            let team_id = team_ref(tenant, t)?;
            team_ids.push(team_id);
            if t.bool("is_manager")?.unwrap_or(false) {
                managed.push(team_id);
            }
        }
        apply_list(lists, &mut a.team_ids, team_ids);
        apply_list(lists, &mut a.managed_team_ids, managed);
    }
    if let Some(roles) = f.objects("roles")? {
        let role_ids = roles
            .iter()
            .map(|r| role_ref(tenant, r))
            .collect::<Result<_, _>>()?;
        apply_list(lists, &mut a.role_ids, role_ids);
    }
    // `add_roles` is additive whatever the list semantics.
    if let Some(roles) = f.objects("add_roles")? {
        let role_ids: Vec<String> = roles
            .iter()
            .map(|r| role_ref(tenant, r))
            .collect::<Result<_, _>>()?;
        apply_list(ListWrites::Merge, &mut a.role_ids, role_ids);
    }
    if a.name.trim().is_empty() {
        return Err(ApiError::field(
            f.path("name"),
            "The name field is required",
        ));
    }
    Ok((a, id.is_none()))
}

/// A created agent always gets the posted lists; an update follows `mode`.
/// `POST /api/Team` applies a team's `agents` list with the same function.
pub(crate) fn apply_list<T: PartialEq>(mode: ListWrites, stored: &mut Vec<T>, posted: Vec<T>) {
    match mode {
        ListWrites::Replace => *stored = posted,
        ListWrites::Merge => {
            for v in posted {
                if !stored.contains(&v) {
                    stored.push(v);
                }
            }
        }
        ListWrites::Ignore => {}
    }
}

/// A membership names its team by `team_id` (or, failing that, `team_name`).
fn team_ref(tenant: &Tenant, t: &Fields<'_>) -> Result<i64, ApiError> {
    if let Some(id) = t.int("team_id")? {
        return tenant
            .team(id)
            .map(|t| t.id)
            .ok_or_else(|| ApiError::field(t.path("team_id"), format!("Team {id} not found")));
    }
    if let Some(name) = t.str("team_name")? {
        return tenant
            .team_by_name(name)
            .map(|t| t.id)
            .ok_or_else(|| ApiError::field(t.path("team_name"), format!("Team {name} not found")));
    }
    Err(ApiError::field(
        t.path("team_id"),
        "The team_id field is required",
    ))
}

/// A role names itself by `id` (GUID, or `id_int` as a number).
fn role_ref(tenant: &Tenant, r: &Fields<'_>) -> Result<String, ApiError> {
    let key = match (r.str("id"), r.int("id_int")?) {
        (Ok(Some(guid)), _) => guid.to_owned(),
        (Ok(None), Some(n)) => n.to_string(),
        (Err(_), _) => r.int("id")?.map(|n| n.to_string()).unwrap_or_default(),
        (Ok(None), None) => {
            return Err(ApiError::field(r.path("id"), "The id field is required"));
        }
    };
    tenant
        .role(&key)
        .map(|role| role.id.clone())
        .ok_or_else(|| ApiError::field(r.path("id"), format!("Role {key} not found")))
}
