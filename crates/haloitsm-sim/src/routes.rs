//! The one route table for the Halo-facing API.
//!
//! The dispatcher matches requests against `ROUTES` and the OpenAPI conformance test
//! (`tests/it/sim_openapi.rs`) checks the same table, so the served surface cannot drift from
//! what is tested. Matching is our own (a few lines) rather than axum's `Router` because Halo
//! treats path case as insignificant (`/api/agent` and `/api/Agent` both work on live tenants).

use axum::http::Method;

/// What a route does; `api::dispatch` maps each variant to its handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Token,
    AuthInfo,
    AgentList,
    AgentMe,
    AgentGet,
    AgentUpsert,
    AgentDelete,
    TeamList,
    TeamGet,
    TeamUpsert,
    RoleList,
    RoleGet,
    UserList,
    UserGet,
    TicketTypeList,
    TicketTypeGet,
    StatusList,
    TicketList,
    TicketCreate,
    TicketGet,
    ActionCreate,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub method: Method,
    /// Canonical (spec) casing; `{id}` marks the one path parameter.
    pub path: &'static str,
    pub endpoint: Endpoint,
    /// Whether a valid bearer token is required.
    pub auth: bool,
}

const fn route(method: Method, path: &'static str, endpoint: Endpoint, auth: bool) -> Route {
    Route {
        method,
        path,
        endpoint,
        auth,
    }
}

/// Every Halo-facing route the simulator serves. `/auth/token` is the OAuth server, not part of
/// the `/api` OpenAPI document; the admin API (`/_sim/...`) is separate and not listed here.
pub const ROUTES: &[Route] = &[
    route(Method::POST, "/auth/token", Endpoint::Token, false),
    route(Method::GET, "/api/AuthInfo", Endpoint::AuthInfo, false),
    route(Method::GET, "/api/Agent", Endpoint::AgentList, true),
    route(Method::POST, "/api/Agent", Endpoint::AgentUpsert, true),
    route(Method::GET, "/api/Agent/me", Endpoint::AgentMe, true),
    route(Method::GET, "/api/Agent/{id}", Endpoint::AgentGet, true),
    route(
        Method::DELETE,
        "/api/Agent/{id}",
        Endpoint::AgentDelete,
        true,
    ),
    route(Method::GET, "/api/Team", Endpoint::TeamList, true),
    route(Method::GET, "/api/Team/{id}", Endpoint::TeamGet, true),
    route(Method::POST, "/api/Team", Endpoint::TeamUpsert, true),
    route(Method::GET, "/api/Roles", Endpoint::RoleList, true),
    route(Method::GET, "/api/Roles/{id}", Endpoint::RoleGet, true),
    route(Method::GET, "/api/Users", Endpoint::UserList, true),
    route(Method::GET, "/api/Users/{id}", Endpoint::UserGet, true),
    route(
        Method::GET,
        "/api/TicketType",
        Endpoint::TicketTypeList,
        true,
    ),
    route(
        Method::GET,
        "/api/TicketType/{id}",
        Endpoint::TicketTypeGet,
        true,
    ),
    route(Method::GET, "/api/Status", Endpoint::StatusList, true),
    route(Method::GET, "/api/Tickets", Endpoint::TicketList, true),
    route(Method::POST, "/api/Tickets", Endpoint::TicketCreate, true),
    route(Method::GET, "/api/Tickets/{id}", Endpoint::TicketGet, true),
    route(Method::POST, "/api/Actions", Endpoint::ActionCreate, true),
];

/// Result of matching a request path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RouteMatch<'p> {
    Found {
        route: &'static Route,
        param: Option<&'p str>,
    },
    /// The path exists but not with this method.
    MethodNotAllowed,
    NotFound,
}

/// Case-insensitive match; a literal segment beats `{id}` (so `/api/Agent/me` is not agent "me").
pub(crate) fn match_route<'p>(method: &Method, path: &'p str) -> RouteMatch<'p> {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut best: Option<(&'static Route, Option<&'p str>)> = None;
    let mut path_exists = false;
    for r in ROUTES {
        let Some(param) = match_path(r.path, path) else {
            continue;
        };
        path_exists = true;
        if r.method != *method {
            continue;
        }
        let better = match best {
            None => true,
            Some((_, p)) => p.is_some() && param.is_none(),
        };
        if better {
            best = Some((r, param));
        }
    }
    match best {
        Some((route, param)) => RouteMatch::Found { route, param },
        None if path_exists => RouteMatch::MethodNotAllowed,
        None => RouteMatch::NotFound,
    }
}

/// `Some(param)` when `path` fits `template`; `param` is the `{id}` segment if there is one.
fn match_path<'p>(template: &str, path: &'p str) -> Option<Option<&'p str>> {
    let mut t = template.split('/');
    let mut p = path.split('/');
    let mut param = None;
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(param),
            (Some("{id}"), Some(seg)) if !seg.is_empty() => param = Some(seg),
            (Some(ts), Some(ps)) if ts.eq_ignore_ascii_case(ps) => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(m: RouteMatch<'_>) -> (Endpoint, Option<&str>) {
        match m {
            RouteMatch::Found { route, param } => (route.endpoint, param),
            other => panic!("no match: {other:?}"),
        }
    }

    #[test]
    fn matches_case_insensitively_and_prefers_literals() {
        assert_eq!(
            found(match_route(&Method::GET, "/api/agent")),
            (Endpoint::AgentList, None)
        );
        assert_eq!(
            found(match_route(&Method::GET, "/API/Agent/me")),
            (Endpoint::AgentMe, None)
        );
        assert_eq!(
            found(match_route(&Method::GET, "/api/Agent/42/")),
            (Endpoint::AgentGet, Some("42"))
        );
        assert_eq!(
            match_route(&Method::PUT, "/api/Agent"),
            RouteMatch::MethodNotAllowed
        );
        assert_eq!(
            match_route(&Method::GET, "/api/Agent/1/x"),
            RouteMatch::NotFound
        );
        assert_eq!(
            match_route(&Method::GET, "/api/Agent//"),
            RouteMatch::NotFound
        );
    }
}
