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

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use axum::response::Response;
use serde_json::json;

pub(crate) use error::{ApiError, ApiResult};

use super::auth;
use super::config::QuirkConfig;
use super::routes::Endpoint;
use super::state::{Shared, lock};

/// Query parameters with lower-cased names (ASP.NET binds them case-insensitively).
/// Unknown parameters are kept but never looked at, which is Halo's "silently ignored".
#[derive(Debug, Default)]
pub(crate) struct QueryParams(HashMap<String, String>);

impl QueryParams {
    pub(crate) fn parse(raw: &str) -> Self {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            // First occurrence wins, like ASP.NET's scalar binding.
            map.entry(k.to_ascii_lowercase())
                .or_insert_with(|| v.into_owned());
        }
        Self(map)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A boolean switch; anything but `true`/`1` (any case) is false.
    pub(crate) fn flag(&self, name: &str) -> bool {
        self.flag_or(name, false)
    }

    /// Like `flag`, but absent or unparsable values give `default`.
    pub(crate) fn flag_or(&self, name: &str, default: bool) -> bool {
        match self.get(name).map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => true,
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => false,
            _ => default,
        }
    }

    /// An integer; unparsable values count as absent rather than failing the request.
    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.get(name)?.trim().parse().ok()
    }
}

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
