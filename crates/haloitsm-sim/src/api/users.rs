//! `/api/Users`: end users, always in a `users` envelope (Halo's `Users_View`).

use axum::http::StatusCode;
use serde::Serialize;

use super::paging::{self, PageRequest};
use super::respond::{Envelope, json};
use super::{ApiError, ApiResult, Ctx};
use crate::model::SimUser;
use crate::state::read;
use crate::tenant::user_mask;

#[derive(Serialize)]
struct UserView<'a> {
    #[serde(flatten)]
    user: &'a SimUser,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

pub(crate) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let mask = user_mask(
        ctx.query.flag_or("includeactive", true),
        ctx.query.flag("includeinactive"),
    );
    let tenant = read(&ctx.shared.tenant);
    let warning = ctx.warning();
    let paged = PageRequest::from_query(ctx.query).map(|r| r.served(ctx.quirks));
    Ok(match paged {
        Some(req) => paging::respond(&tenant.users, mask, req, Some("users"), warning, |user| {
            UserView { user, warning }
        }),
        None => {
            let rows: Vec<_> = tenant
                .users
                .iter(mask)
                .map(|user| UserView { user, warning })
                .collect();
            json(
                StatusCode::OK,
                &Envelope {
                    page: None,
                    record_count: rows.len(),
                    key: "users",
                    rows: &rows,
                    warning: ctx.warning(),
                },
            )
        }
    })
}

/// `GET /api/Users/{id}`: one end user, active or not.
pub(crate) fn get(ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.int_param()?;
    let tenant = read(&ctx.shared.tenant);
    let user = tenant
        .user(id)
        .ok_or_else(|| ApiError::not_found(format!("User {id} not found")))?;
    Ok(json(
        StatusCode::OK,
        &UserView {
            user,
            warning: ctx.warning(),
        },
    ))
}
