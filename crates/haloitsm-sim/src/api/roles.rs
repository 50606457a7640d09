//! `/api/Roles`: agent roles, keyed by GUID string (with `id_int` alongside).

use axum::http::StatusCode;
use serde::Serialize;

use super::respond::{self, json};
use super::{ApiError, ApiResult, Ctx};
use crate::model::SimRole;
use crate::state::read;

/// Halo's `NHD_Roles` names (the identity part).
#[derive(Serialize)]
struct RoleView<'a> {
    id: &'a str,
    id_int: i64,
    name: &'a str,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

fn view<'a>(r: &'a SimRole, warning: Option<&'a str>) -> RoleView<'a> {
    RoleView {
        id: &r.id,
        id_int: r.id_int,
        name: &r.name,
        warning,
    }
}

pub(crate) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let tenant = read(&ctx.shared.tenant);
    let rows: Vec<_> = tenant
        .roles()
        .iter()
        .map(|r| view(r, ctx.warning()))
        .collect();
    Ok(respond::list(ctx, "roles", &rows))
}

/// By GUID, or by `id_int` (the spec types the path id as a string, so both reach here).
pub(crate) fn get(ctx: &Ctx<'_>) -> ApiResult {
    let key = ctx.param.unwrap_or_default();
    let tenant = read(&ctx.shared.tenant);
    let role = tenant
        .role(key)
        .ok_or_else(|| ApiError::not_found(format!("Role {key} not found")))?;
    Ok(json(StatusCode::OK, &view(role, ctx.warning())))
}
