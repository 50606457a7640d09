//! `/api/Team`: the team list (inactive teams hidden unless asked for), one team optionally
//! with its members (from the team → agents index, never an agent scan), and the upsert
//! that writes a team's `agents` list.
//!
//! Membership has one source of truth, each agent's `team_ids`: posting a team's `agents`
//! rewrites the affected agents (through `Tenant::replace_agent`, which keeps the index),
//! with the same switchable list semantics as `POST /api/Agent` (`agent_list_writes`).

use axum::http::StatusCode;
use serde::Serialize;

use super::agents::{MembershipView, apply_list, membership};
use super::body::{Fields, elements};
use super::respond::{self, json};
use super::{ApiError, ApiResult, Ctx};
use crate::config::ListWrites;
use crate::model::SimTeam;
use crate::state::{read, write};
use crate::tenant::Tenant;

/// Halo's `SectionDetail` names.
#[derive(Serialize)]
struct TeamView<'a> {
    id: i64,
    name: &'a str,
    inactive: bool,
    department_id: i64,
    department_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    agents: Option<Vec<MembershipView<'a>>>,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

fn view<'a>(t: &'a SimTeam, warning: Option<&'a str>) -> TeamView<'a> {
    TeamView {
        id: t.id,
        name: &t.name,
        inactive: t.inactive,
        department_id: t.department_id,
        department_name: &t.department_name,
        agents: None,
        warning,
    }
}

/// The team with its `agents` rows.
fn with_agents<'a>(
    tenant: &'a Tenant,
    team: &'a SimTeam,
    warning: Option<&'a str>,
) -> TeamView<'a> {
    let mut v = view(team, warning);
    v.agents = Some(
        tenant
            .team_members(team.id)
            .filter_map(|agent_id| tenant.agent(agent_id))
            .map(|a| membership(tenant, a, team.id))
            .collect(),
    );
    v
}

pub(crate) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let enabled = ctx.query.flag_or("includeenabled", true);
    let disabled = ctx.query.flag("includedisabled");
    let tenant = read(&ctx.shared.tenant);
    let rows: Vec<_> = tenant
        .teams()
        .iter()
        .filter(|t| if t.inactive { disabled } else { enabled })
        .map(|t| view(t, ctx.warning()))
        .collect();
    Ok(respond::list(ctx, "teams", &rows))
}

pub(crate) fn get(ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.int_param()?;
    let tenant = read(&ctx.shared.tenant);
    let team = tenant
        .team(id)
        .ok_or_else(|| ApiError::not_found(format!("Team {id} not found")))?;
    let v = if ctx.query.flag("includeagents") && !ctx.quirks.team_reads_without_agents {
        with_agents(&tenant, team, ctx.warning())
    } else {
        view(team, ctx.warning())
    };
    Ok(json(StatusCode::OK, &v))
}

/// One checked element of a `POST /api/Team` body.
struct TeamWrite {
    id: i64,
    /// The posted `agents` as `(agent_id, is_manager)`; `None` when not posted.
    agents: Option<Vec<(i64, bool)>>,
}

/// `POST /api/Team`: updates existing teams. Only `agents` is stored (the simulator's teams
/// are otherwise fixed; other `SectionDetail` fields are accepted and ignored). Every element
/// is checked before any is applied, so a 400 writes nothing.
pub(crate) fn upsert(ctx: &Ctx<'_>) -> ApiResult {
    let items = elements(ctx.body)?;
    let mut tenant = write(&ctx.shared.tenant);
    let planned = items
        .iter()
        .enumerate()
        .map(|(i, obj)| plan(&tenant, &Fields::element(obj, i)))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, w) in planned.iter().enumerate() {
        if let Some(agents) = &w.agents {
            set_members(&mut tenant, w.id, agents, ctx.quirks.agent_list_writes)
                .map_err(|e| ApiError::field(format!("[{i}].agents"), e.to_string()))?;
        }
    }
    let rows: Vec<_> = planned
        .iter()
        .filter_map(|w| tenant.team(w.id))
        .map(|team| with_agents(&tenant, team, ctx.warning()))
        .collect();
    Ok(respond::written(false, &rows))
}

fn plan(tenant: &Tenant, f: &Fields<'_>) -> Result<TeamWrite, ApiError> {
    let id = match f.int("id")?.filter(|id| *id != 0) {
        Some(id) => id,
        None => {
            return Err(ApiError::field(
                f.path("id"),
                "The id field is required: the simulator updates existing teams only",
            ));
        }
    };
    if tenant.team(id).is_none() {
        return Err(ApiError::field(
            f.path("id"),
            format!("Team {id} not found"),
        ));
    }
    let agents = match f.objects("agents")? {
        None => None,
        Some(rows) => Some(
            rows.iter()
                .map(|r| member_ref(tenant, r))
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(TeamWrite { id, agents })
}

/// A member row names its agent by `agent_id` (Halo's `UnameSection`).
fn member_ref(tenant: &Tenant, r: &Fields<'_>) -> Result<(i64, bool), ApiError> {
    let Some(agent_id) = r.int("agent_id")? else {
        return Err(ApiError::field(
            r.path("agent_id"),
            "The agent_id field is required",
        ));
    };
    if tenant.agent(agent_id).is_none() {
        return Err(ApiError::field(
            r.path("agent_id"),
            format!("Agent {agent_id} not found"),
        ));
    }
    Ok((agent_id, r.bool("is_manager")?.unwrap_or(false)))
}

/// Applies a posted member list to team `team_id` under `mode`, rewriting each agent whose
/// membership or manager flag changes.
fn set_members(
    tenant: &mut Tenant,
    team_id: i64,
    posted: &[(i64, bool)],
    mode: ListWrites,
) -> Result<(), crate::error::SimError> {
    let before: Vec<i64> = tenant.team_members(team_id).collect();
    let managers_before: Vec<i64> = before
        .iter()
        .copied()
        .filter(|id| {
            tenant
                .agent(*id)
                .is_some_and(|a| a.managed_team_ids.contains(&team_id))
        })
        .collect();
    let mut members = before.clone();
    apply_list(
        mode,
        &mut members,
        posted.iter().map(|(id, _)| *id).collect(),
    );
    let mut managers = managers_before;
    apply_list(
        mode,
        &mut managers,
        posted
            .iter()
            .filter(|(_, m)| *m)
            .map(|(id, _)| *id)
            .collect(),
    );
    let mut touched = before;
    touched.extend(members.iter().copied());
    touched.sort_unstable();
    touched.dedup();
    for agent_id in touched {
        let Some(current) = tenant.agent(agent_id) else {
            continue;
        };
        let member = members.contains(&agent_id);
        let manager = member && managers.contains(&agent_id);
        if current.team_ids.contains(&team_id) == member
            && current.managed_team_ids.contains(&team_id) == manager
        {
            continue;
        }
        let mut a = current.clone();
        set_flag(&mut a.team_ids, team_id, member);
        set_flag(&mut a.managed_team_ids, team_id, manager);
        tenant.replace_agent(a)?;
    }
    Ok(())
}

/// Makes `list` hold `id` or not, leaving the order of the rest alone.
fn set_flag(list: &mut Vec<i64>, id: i64, present: bool) {
    if present && !list.contains(&id) {
        list.push(id);
    } else if !present {
        list.retain(|t| *t != id);
    }
}
