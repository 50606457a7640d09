//! Typed Halo endpoints. Routes are data (a template, the envelope key and
//! fixed filters); four generic helpers do the work: a paged list (the one
//! paging helper), an unpaged list (the same envelope parser), one object,
//! and a write. No endpoint has its own loop or parsing.
//!
//! Halo silently ignores unknown query parameters (docs/reference/haloitsm-api.md §2), so a
//! mistyped filter returns unfiltered data. Where a filter is cheap to check
//! against the rows (users' `inactive`), we check it and drop what should not
//! be there, with a warning. Filters that *widen* the result
//! (`includedisabled=true`) cannot be checked from the rows: if Halo ignored
//! one, disabled agents would be missing without trace; the sync should
//! compare counts with what it saw before.

use futures::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::api_gateway::{ApiGateway, HaloRequest, HaloResponse};
use super::error::{Error, ErrorKind, Result};
use super::lane::Lane;
use super::model::{
    Action, Agent, AuthInfo, Role, Status, Team, TeamMembers, Ticket, TicketType, User,
};
use super::paging::{self, ListOrder, Listed, log_warning};
use super::settings::MAX_PAGE_SIZE;
use crate::actor_slot::Slot;

/// A list endpoint: template (also the path), envelope key, fixed query, and
/// whether its pages take the client's [`ListOrder`] (the full listings whose
/// skipped row would read as revoked access: agents and end users).
#[derive(Debug, Clone, Copy)]
pub struct ListRoute {
    pub endpoint: &'static str,
    pub entity_key: &'static str,
    pub query: &'static [(&'static str, &'static str)],
    pub ordered: bool,
}

/// Every route the client uses.
pub mod routes {
    use super::ListRoute;

    pub const AGENTS: ListRoute = ListRoute {
        endpoint: "/api/Agent",
        entity_key: "agents",
        query: &[
            ("includedisabled", "true"),
            ("include_membership_info", "true"),
            ("includeroles", "true"),
            ("includeapiagents", "true"),
        ],
        ordered: true,
    };
    pub const USERS: ListRoute = ListRoute {
        endpoint: "/api/Users",
        entity_key: "users",
        query: &[],
        ordered: true,
    };
    pub const TEAMS: ListRoute = ListRoute {
        endpoint: "/api/Team",
        entity_key: "teams",
        query: &[("includedisabled", "true")],
        ordered: false,
    };
    pub const ROLES: ListRoute = ListRoute {
        endpoint: "/api/Roles",
        entity_key: "roles",
        query: &[],
        ordered: false,
    };
    pub const TICKET_TYPES: ListRoute = ListRoute {
        endpoint: "/api/TicketType",
        entity_key: "tickettypes",
        query: &[],
        ordered: false,
    };
    /// Ticket search; closed tickets included (an idempotency lookup must find them).
    pub const TICKETS: ListRoute = ListRoute {
        endpoint: "/api/Tickets",
        entity_key: "tickets",
        query: &[("includeclosed", "true")],
        ordered: false,
    };
    pub const STATUSES: ListRoute = ListRoute {
        endpoint: "/api/Status",
        entity_key: "statuses",
        query: &[],
        ordered: false,
    };

    pub const AGENT: &str = "/api/Agent/{id}";
    pub const AGENT_WRITE: &str = "/api/Agent";
    pub const TEAM: &str = "/api/Team/{id}";
    pub const TEAM_WRITE: &str = "/api/Team";
    pub const ROLE: &str = "/api/Roles/{id}";
    pub const USER: &str = "/api/Users/{id}";
    pub const TICKET_TYPE: &str = "/api/TicketType/{id}";
    pub const TICKET: &str = "/api/Tickets/{id}";
    pub const TICKET_WRITE: &str = "/api/Tickets";
    pub const ACTION_WRITE: &str = "/api/Actions";
    pub const AUTHINFO: &str = "/api/authinfo";
}

/// The typed Halo API. Cheap to clone; holds only the gateway's slot, so a
/// restarted gateway is picked up transparently.
#[derive(Clone)]
pub struct HaloClient {
    gateway: Slot<ApiGateway>,
    page_size: u32,
    lane: Lane,
    order: ListOrder,
}

impl std::fmt::Debug for HaloClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaloClient")
            .field("page_size", &self.page_size)
            .field("order", &self.order)
            .finish()
    }
}

fn item_path(template: &'static str, id: i64) -> String {
    template.replace("{id}", &id.to_string())
}

impl HaloClient {
    pub fn new(gateway: Slot<ApiGateway>) -> Self {
        HaloClient {
            gateway,
            page_size: MAX_PAGE_SIZE,
            lane: Lane::Bulk,
            order: ListOrder::default(),
        }
    }

    /// Row order of the agent and end-user listings (`sync.agent_order`).
    pub fn with_list_order(mut self, order: ListOrder) -> Self {
        self.order = order;
        self
    }

    /// Rows per page (clamped to 1..=100 by the paging helper).
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// A client whose every request waits in `lane` (provisioning and
    /// ticketing use `Lane::Priority`; sync keeps the default `Bulk`).
    pub fn with_lane(mut self, lane: Lane) -> Self {
        self.lane = lane;
        self
    }

    pub fn gateway(&self) -> &Slot<ApiGateway> {
        &self.gateway
    }

    /// Raw access for callers with a request the typed API does not cover.
    /// The request keeps `Lane::Priority` if it asks for it.
    pub async fn send(&self, req: HaloRequest) -> Result<HaloResponse> {
        let lane = if req.lane == Lane::Priority {
            Lane::Priority
        } else {
            self.lane
        };
        send(&self.gateway, req.lane(lane)).await
    }

    // ---- lists -------------------------------------------------------------

    /// All agents, disabled and API agents included, with team and role membership.
    pub fn agents(&self) -> impl Stream<Item = Result<Vec<Agent>>> + 'static {
        self.agent_pages().map(|page| page.map(|p| p.rows))
    }

    /// Like [`HaloClient::agents`], with each page's `record_count`.
    pub fn agent_pages(&self) -> impl Stream<Item = Result<Listed<Agent>>> + 'static {
        self.paged(routes::AGENTS, Vec::new())
    }

    /// End users; inactive ones only when asked.
    pub fn users(&self, include_inactive: bool) -> impl Stream<Item = Result<Vec<User>>> + 'static {
        self.user_pages(include_inactive)
            .map(|page| page.map(|p| p.rows))
    }

    /// Like [`HaloClient::users`], with each page's `record_count` and order check.
    pub fn user_pages(
        &self,
        include_inactive: bool,
    ) -> impl Stream<Item = Result<Listed<User>>> + 'static {
        let extra = if include_inactive {
            vec![("includeactive", "true"), ("includeinactive", "true")]
        } else {
            Vec::new()
        };
        let extra = extra
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.paged::<User>(routes::USERS, extra).map(move |page| {
            page.map(|mut listed| {
                if !include_inactive {
                    let before = listed.rows.len();
                    listed.rows.retain(|u| !u.inactive);
                    if listed.rows.len() < before {
                        tracing::warn!(
                            dropped = before - listed.rows.len(),
                            "halo returned inactive users although not asked to; filter ignored?"
                        );
                    }
                }
                listed
            })
        })
    }

    /// The first page of end users matching Halo's free-text `search` (an
    /// email, say). The caller checks the rows: Halo ignores unknown filters.
    pub async fn search_users(&self, search: &str) -> Result<Vec<User>> {
        let extra = vec![("search".to_string(), search.to_string())];
        // A search's first page is all it reads: no listing to keep consistent.
        let route = ListRoute {
            ordered: false,
            ..routes::USERS
        };
        first_page(self.paged(route, extra)).await
    }

    /// The first page of tickets matching `filters` (`requesttype_id`,
    /// `search_details`, ...). The caller checks the rows: Halo silently
    /// ignores a filter it does not know and would return unrelated tickets.
    pub async fn search_tickets(&self, filters: &[(&str, &str)]) -> Result<Vec<Ticket>> {
        let extra = filters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        first_page(self.paged(routes::TICKETS, extra)).await
    }

    pub async fn teams(&self) -> Result<Vec<Team>> {
        self.list(routes::TEAMS, Vec::new()).await
    }

    pub async fn roles(&self) -> Result<Vec<Role>> {
        self.list(routes::ROLES, Vec::new()).await
    }

    pub async fn ticket_types(&self) -> Result<Vec<TicketType>> {
        self.list(routes::TICKET_TYPES, Vec::new()).await
    }

    /// Statuses, optionally only those valid for one ticket type.
    pub async fn statuses(&self, tickettype_id: Option<i64>) -> Result<Vec<Status>> {
        let extra = tickettype_id
            .map(|id| vec![("tickettype_id".to_string(), id.to_string())])
            .unwrap_or_default();
        self.list(routes::STATUSES, extra).await
    }

    // ---- single objects ----------------------------------------------------

    pub async fn get_agent(&self, id: i64) -> Result<Agent> {
        let req = HaloRequest::get(routes::AGENT, item_path(routes::AGENT, id))
            .query("includedetails", "true");
        self.one(req).await
    }

    /// One team with its member rows (`agents`). `agents` is `None` if Halo
    /// sent none: callers must not treat that as an empty team.
    pub async fn get_team_with_agents(&self, id: i64) -> Result<TeamMembers> {
        let req = HaloRequest::get(routes::TEAM, item_path(routes::TEAM, id))
            .query("includeagents", "true");
        self.one(req).await
    }

    /// One team read twice over from one answer: the team as the team list
    /// gives it, and its member rows (targeted sync: one request per team).
    pub async fn get_team(&self, id: i64) -> Result<(Team, TeamMembers)> {
        let req = HaloRequest::get(routes::TEAM, item_path(routes::TEAM, id))
            .query("includeagents", "true");
        let value: Value = self.one(req).await?;
        let parse = |what| {
            move |e: serde_json::Error| {
                Error::protocol(format!("{what} does not parse: {e}")).with_endpoint(routes::TEAM)
            }
        };
        let team = serde_json::from_value(value.clone()).map_err(parse("team"))?;
        let members = serde_json::from_value(value).map_err(parse("team members"))?;
        Ok((team, members))
    }

    /// One role by its GUID (Halo types this `id` as a string).
    pub async fn get_role(&self, id: &str) -> Result<Role> {
        let path = routes::ROLE.replace("{id}", &url_segment(id));
        self.one(HaloRequest::get(routes::ROLE, path)).await
    }

    pub async fn get_user(&self, id: i64) -> Result<User> {
        self.one(HaloRequest::get(routes::USER, item_path(routes::USER, id)))
            .await
    }

    /// The agents Halo lists under `role=<id_int>` (an int passed as a string,
    /// docs/reference/haloitsm-api.md §6.1), with their roles. Unverified that
    /// Halo filters on it: the caller keeps only rows that do hold the role.
    pub fn agents_with_role(
        &self,
        role_id_int: i64,
    ) -> impl Stream<Item = Result<Vec<Agent>>> + 'static {
        let extra = vec![("role".to_string(), role_id_int.to_string())];
        self.paged(routes::AGENTS, extra)
            .map(|page| page.map(|p| p.rows))
    }

    /// Ticket type with its `fields`.
    pub async fn ticket_type(&self, id: i64) -> Result<TicketType> {
        let req = HaloRequest::get(routes::TICKET_TYPE, item_path(routes::TICKET_TYPE, id))
            .query("includedetails", "true");
        self.one(req).await
    }

    pub async fn get_ticket(&self, id: i64) -> Result<Ticket> {
        self.one(HaloRequest::get(
            routes::TICKET,
            item_path(routes::TICKET, id),
        ))
        .await
    }

    /// Discovery of the auth server; needs no token.
    pub async fn authinfo(&self) -> Result<AuthInfo> {
        self.one(HaloRequest::get(routes::AUTHINFO, routes::AUTHINFO).anonymous())
            .await
    }

    // ---- writes ------------------------------------------------------------

    /// Create (no id / id 0) or update (id set) an agent. Halo's writes take
    /// an array; an update carrying its id is idempotent and may be retried,
    /// a create is not (a retry could create a duplicate).
    pub async fn upsert_agent(&self, agent: &Value) -> Result<Agent> {
        self.write(routes::AGENT_WRITE, agent, names_an_id(agent))
            .await
    }

    /// Update a team (`POST /api/Team`, a `SectionDetail`); with `agents`
    /// it writes the team's member list, whose replace-or-merge semantics on
    /// real Halo are unverified (docs/reference/haloitsm-api.md §5), so callers read back.
    /// Idempotent (and retried) only when it names an existing team's id.
    pub async fn upsert_team(&self, team: &Value) -> Result<TeamMembers> {
        self.write(routes::TEAM_WRITE, team, names_an_id(team))
            .await
    }

    /// Delete an agent. Halo answers 404 if it is already gone: callers that
    /// want "ensure absent" treat `ErrorKind::NotFound` as success.
    pub async fn delete_agent(&self, id: i64) -> Result<()> {
        // Through `self.send` so the request waits in this client's lane.
        self.send(HaloRequest::delete(
            routes::AGENT,
            item_path(routes::AGENT, id),
        ))
        .await?;
        Ok(())
    }

    /// Agents whose email is `email` (case-insensitive), disabled and API
    /// agents included. Halo's `search` is a substring match over name, email
    /// and phone, so the exact match is ours.
    pub async fn find_agents_by_email(&self, email: &str) -> Result<Vec<Agent>> {
        let rows: Vec<Agent> = self
            .list(
                routes::AGENTS,
                vec![("search".to_string(), email.to_string())],
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter(|a| a.email.trim().eq_ignore_ascii_case(email.trim()))
            .collect())
    }

    /// Never retried once it may have reached Halo: a duplicate ticket is worse
    /// than a reported failure.
    pub async fn create_ticket(&self, ticket: &Value) -> Result<Ticket> {
        self.write(routes::TICKET_WRITE, ticket, false).await
    }

    pub async fn post_action(&self, action: &Value) -> Result<Action> {
        self.write(routes::ACTION_WRITE, action, false).await
    }

    // ---- the generic helpers -------------------------------------------------

    fn paged<T: DeserializeOwned + 'static>(
        &self,
        route: ListRoute,
        extra: Vec<(String, String)>,
    ) -> impl Stream<Item = Result<Listed<T>>> + 'static {
        let gateway = self.gateway.clone();
        let lane = self.lane;
        let mut query = route_query(&route);
        query.extend(extra);
        let order = if route.ordered {
            self.order
        } else {
            ListOrder::None
        };
        paging::paginate(
            route.endpoint,
            route.entity_key,
            self.page_size,
            order,
            move |page_no, size| {
                let mut req = HaloRequest::get(route.endpoint, route.endpoint);
                req.query = query.clone();
                req.query.extend([
                    ("pageinate".to_string(), "true".to_string()),
                    ("page_size".to_string(), size.to_string()),
                    ("page_no".to_string(), page_no.to_string()),
                ]);
                req.query.extend(
                    order
                        .query()
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string())),
                );
                let gateway = gateway.clone();
                async move { send(&gateway, req.lane(lane)).await.map(|r| r.body) }
            },
        )
    }

    /// Small sets (teams, roles, types, statuses) in one unpaged request:
    /// paging params on an endpoint that ignores them would return the full
    /// set on every "page", which the repeat check would rightly refuse.
    async fn list<T: DeserializeOwned>(
        &self,
        route: ListRoute,
        extra: Vec<(String, String)>,
    ) -> Result<Vec<T>> {
        let mut req = HaloRequest::get(route.endpoint, route.endpoint);
        req.query = route_query(&route);
        req.query.extend(extra);
        let resp = send(&self.gateway, req.lane(self.lane)).await?;
        let page = paging::parse_page(&resp.body, route.entity_key)
            .and_then(|p| paging::IdLedger::default().check(&p.rows, 1).map(|()| p))
            .map_err(|e| e.with_endpoint(route.endpoint))?;
        paging::typed_rows(page.rows, route.endpoint, 1)
    }

    async fn one<T: DeserializeOwned>(&self, req: HaloRequest) -> Result<T> {
        let endpoint = req.endpoint;
        let resp = send(&self.gateway, req.lane(self.lane)).await?;
        single(&resp, endpoint)
    }

    async fn write<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        body: &Value,
        idempotent: bool,
    ) -> Result<T> {
        // Halo's documented write form is an array of objects.
        let body = match body {
            Value::Array(_) => body.clone(),
            other => Value::Array(vec![other.clone()]),
        };
        let req = HaloRequest::post(endpoint, endpoint, body).idempotent(idempotent);
        let resp = send(&self.gateway, req.lane(self.lane)).await?;
        single(&resp, endpoint)
    }
}

/// Whether a write body names an existing object's id (an update, safe to
/// retry) rather than creating one.
fn names_an_id(body: &Value) -> bool {
    body.get("id").is_some_and(|id| {
        id.as_i64().is_some_and(|n| n > 0) || id.as_str().is_some_and(|s| !s.is_empty() && s != "0")
    })
}

/// One page is all a search needs: matches are few, and a filter Halo ignored
/// must not make us walk the whole ticket table.
async fn first_page<T>(stream: impl Stream<Item = Result<Listed<T>>>) -> Result<Vec<T>> {
    let mut stream = std::pin::pin!(stream);
    stream
        .next()
        .await
        .map_or_else(|| Ok(Vec::new()), |page| page.map(|p| p.rows))
}

/// A GUID goes into the path as it is; anything else a role id could hold is
/// percent-encoded so that it stays one path segment.
fn url_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn route_query(route: &ListRoute) -> Vec<(String, String)> {
    route
        .query
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn send(gateway: &Slot<ApiGateway>, req: HaloRequest) -> Result<HaloResponse> {
    let endpoint = req.endpoint;
    match gateway.addr().send(req).await {
        Ok(result) => result,
        // The gateway died (its supervisor will rebuild it): worth a later retry.
        Err(e) => Err(Error::new(
            ErrorKind::Transient,
            format!("api gateway unavailable: {e}"),
        )
        .with_endpoint(endpoint)),
    }
}

/// One object from a body that may be the object or an array holding it
/// (Halo answers a one-element POST either way).
fn single<T: DeserializeOwned>(resp: &HaloResponse, endpoint: &'static str) -> Result<T> {
    let value: Value = resp.json().map_err(|e| e.with_endpoint(endpoint))?;
    let value = match value {
        Value::Array(items) => items.into_iter().next().ok_or_else(|| {
            Error::protocol("expected one object, got an empty array").with_endpoint(endpoint)
        })?,
        Value::Object(_) => value,
        _ => return Err(Error::protocol("expected a JSON object").with_endpoint(endpoint)),
    };
    log_warning(endpoint, &value);
    serde_json::from_value(value)
        .map_err(|e| Error::protocol(format!("object does not parse: {e}")).with_endpoint(endpoint))
}
