//! The Halo-facing handlers: one file per entity, all synchronous functions of a `Ctx`.
//!
//! Handlers never await: they take the tenant lock, build borrowed views, serialize, and
//! return. Fault injection, rate limiting, auth and logging happen before them, in `server`.

mod agents;
mod body;
pub(crate) mod error;
mod paging;
mod respond;
mod roles;
mod teams;
mod tickets;
mod users;

use std::sync::atomic::Ordering;

use axum::response::Response;
use serde_json::json;

pub(crate) use error::{ApiError, ApiResult};

use crate::auth;
use crate::config::QuirkConfig;
use crate::query::QueryParams;
use crate::routes::Endpoint;
use crate::state::{Shared, lock};

/// Everything a handler may look at.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub quirks: &'a QuirkConfig,
    /// The `{id}` path segment, if the route has one.
    pub param: Option<&'a str>,
    pub query: &'a QueryParams,
    pub body: &'a [u8],
}

impl Ctx<'_> {
    pub(crate) fn warning(&self) -> Option<&str> {
        self.quirks.warning.as_deref()
    }

    /// The `{id}` segment as an integer id.
    pub(crate) fn int_param(&self) -> Result<i64, ApiError> {
        let raw = self.param.unwrap_or_default();
        raw.parse().map_err(|_| ApiError::bad_id(raw))
    }
}

pub(crate) fn dispatch(endpoint: Endpoint, ctx: &Ctx<'_>) -> ApiResult {
    match endpoint {
        Endpoint::Token => Ok(token(ctx)),
        Endpoint::AuthInfo => Ok(auth_info(ctx)),
        Endpoint::AgentList => agents::list(ctx),
        Endpoint::AgentMe => agents::me(ctx),
        Endpoint::AgentGet => agents::get(ctx),
        Endpoint::AgentUpsert => agents::upsert(ctx),
        Endpoint::AgentDelete => agents::delete(ctx),
        Endpoint::TeamList => teams::list(ctx),
        Endpoint::TeamGet => teams::get(ctx),
        Endpoint::TeamUpsert => teams::upsert(ctx),
        Endpoint::RoleList => roles::list(ctx),
        Endpoint::RoleGet => roles::get(ctx),
        Endpoint::UserList => users::list(ctx),
        Endpoint::UserGet => users::get(ctx),
        Endpoint::TicketTypeList => tickets::types(ctx),
        Endpoint::TicketTypeGet => tickets::get_type(ctx),
        Endpoint::StatusList => tickets::statuses(ctx),
        Endpoint::TicketList => tickets::list(ctx),
        Endpoint::TicketCreate => tickets::create(ctx),
        Endpoint::TicketGet => tickets::get(ctx),
        Endpoint::ActionCreate => tickets::add_actions(ctx),
    }
}

fn token(ctx: &Ctx<'_>) -> Response {
    ctx.shared.token_requests.fetch_add(1, Ordering::Relaxed);
    let mut store = lock(&ctx.shared.tokens);
    auth::token_endpoint(
        &ctx.shared.auth,
        &mut store,
        ctx.query,
        ctx.body,
        ctx.shared.clock.now(),
    )
}

/// `GET /api/AuthInfo`: where to get tokens (no token needed), as HaloAPI's discovery expects.
fn auth_info(ctx: &Ctx<'_>) -> Response {
    let mut body = json!({
        "auth_url": format!("{}/auth", ctx.shared.base_url),
        "tenant_id": ctx.shared.auth.tenant,
    });
    if let (Some(w), Some(obj)) = (ctx.warning(), body.as_object_mut()) {
        obj.insert("_warning".into(), w.into());
    }
    respond::json(axum::http::StatusCode::OK, &body)
}
