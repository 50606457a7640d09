//! `/api/Team`: the team list (inactive teams hidden unless asked for) and one team,
//! optionally with its members (from the team → agents index, never an agent scan).

use axum::http::StatusCode;
use serde::Serialize;

use super::agents::{MembershipView, membership};
use super::respond::{self, json};
use super::{ApiError, ApiResult, Ctx};
use crate::sim::model::SimTeam;
use crate::sim::state::read;

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
    let mut v = view(team, ctx.warning());
    if ctx.query.flag("includeagents") {
        v.agents = Some(
            tenant
                .team_members(id)
                .filter_map(|agent_id| tenant.agent(agent_id))
                .map(|a| membership(&tenant, a, id))
                .collect(),
        );
    }
    Ok(json(StatusCode::OK, &v))
}
