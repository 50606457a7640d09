//! External ticketing (issue 11): HaloITSM ticket types as C1 ticket schemas; create, read
//! and update Halo tickets; provisioning fallback tickets.
//!
//! [`Ticketing`] is a cheap-to-clone service, not an actor: it owns no mutable state besides
//! a bounded cache behind an `Arc`, and every Halo request goes through the ApiGateway on the
//! priority lane (`HaloClient::with_lane(Lane::Priority)`), so a ticket never waits behind a
//! sync. The public API takes and returns the `c1.connector.v2` messages C1's ticketing tasks
//! carry, and fails with one typed [`Error`] whose [`ErrorKind`] the C1 layer maps to a gRPC
//! code in one place.
//!
//! Creates are idempotent by request key: the key is stored on the ticket (a marker in the
//! details, plus a custom field when `request_key_field` names one) and looked up with
//! `GET /api/Tickets?requesttype_id=..&search_details=..` before anything is created, so a
//! retry after a timeout returns the first ticket instead of a duplicate.

mod cache;
pub mod error;
pub mod fields;
pub mod render;
pub mod schema;
pub mod settings;
pub mod template;
pub mod ticket;

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use url::Url;

pub use error::{Error, ErrorKind, Result};
pub use settings::TicketingSettings;

use crate::halo::{self, HaloClient, Lane, Status, TicketType};
use crate::pb;
use crate::telemetry::tickets as events;

/// Largest schema page C1 may ask for (the proto's limit).
pub const MAX_SCHEMA_PAGE: u32 = 250;
const DEFAULT_SCHEMA_PAGE: u32 = 100;
const TOKEN_PREFIX: &str = "ht1:";
/// Candidates of an idempotency search fetched one by one when list rows lack details.
const MAX_KEY_CHECKS: usize = 3;

/// The result of a create: a ticket, an error, or both (Halo accepted the ticket but a
/// follow-up call failed). `annotations` echo the request's (ExternalTicketRef included).
#[derive(Debug, Clone, Default)]
pub struct CreateResult {
    pub ticket: Option<pb::Ticket>,
    pub error: Option<Error>,
    pub annotations: Vec<prost_types::Any>,
}

impl CreateResult {
    fn failed(error: Error) -> Self {
        CreateResult {
            error: Some(error),
            ..Default::default()
        }
    }

    /// The wire form C1 expects (the error as text).
    pub fn into_response(self) -> pb::TicketsServiceCreateTicketResponse {
        pb::TicketsServiceCreateTicketResponse {
            ticket: self.ticket,
            annotations: self.annotations,
            error: self.error.map(|e| e.to_string()).unwrap_or_default(),
        }
    }
}

/// The result of one get in a bulk get.
#[derive(Debug, Clone, Default)]
pub struct GetResult {
    pub ticket: Option<pb::Ticket>,
    pub error: Option<Error>,
    pub annotations: Vec<prost_types::Any>,
}

impl GetResult {
    pub fn into_response(self) -> pb::TicketsServiceGetTicketResponse {
        pb::TicketsServiceGetTicketResponse {
            ticket: self.ticket,
            annotations: self.annotations,
            error: self.error.map(|e| e.to_string()).unwrap_or_default(),
        }
    }
}

/// A ticket provisioning opens when a change cannot be automated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FallbackTicket {
    pub ticket_type_id: i64,
    pub summary: String,
    pub details: String,
    /// Who the change is for, e.g. `Jane Doe <jane@acme.com> (agent 42)`.
    pub agent: String,
    /// What was asked, e.g. `team:3:member`.
    pub entitlement: String,
    /// Who asked (C1's requester), free text.
    pub requester: String,
    /// Idempotency key: the same key returns the same ticket.
    pub request_key: String,
}

/// Where a created ticket lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRef {
    pub id: i64,
    pub url: String,
}

#[derive(Clone)]
pub struct Ticketing {
    inner: Arc<Inner>,
}

struct Inner {
    client: HaloClient,
    settings: TicketingSettings,
    base_url: Url,
    cache: cache::Cache,
}

impl std::fmt::Debug for Ticketing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticketing")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// What the body of a new Halo ticket needs, however it was asked for.
struct NewTicket {
    type_id: i64,
    summary: String,
    description: String,
    key: Option<String>,
    /// Extra top-level Halo fields (user_id, category_1, ...).
    extra: serde_json::Map<String, Value>,
    customfields: Vec<Value>,
}

impl Ticketing {
    /// `base_url` is the tenant root, for ticket URLs when Halo gives no `web_url`.
    pub fn new(client: HaloClient, settings: TicketingSettings, base_url: Url) -> Self {
        let cache = cache::Cache::new(settings.cache_ttl, settings.max_cached_types);
        Ticketing {
            inner: Arc::new(Inner {
                client: client.with_lane(Lane::Priority),
                settings,
                base_url,
                cache,
            }),
        }
    }

    pub fn settings(&self) -> &TicketingSettings {
        &self.inner.settings
    }

    /// Forget cached types, statuses and fields.
    pub fn clear_cache(&self) {
        self.inner.cache.clear();
    }

    // ---- schemas ---------------------------------------------------------------------------

    /// One page of schemas. `page_size` 0 means the default; at most 250. The token is
    /// opaque; an empty next token means the last page.
    pub async fn list_schemas(
        &self,
        page_size: u32,
        page_token: &str,
    ) -> Result<(Vec<pb::TicketSchema>, String)> {
        let r = self.list_schemas_inner(page_size, page_token).await;
        events::finished("list_schemas", result_label(&r));
        r
    }

    async fn list_schemas_inner(
        &self,
        page_size: u32,
        page_token: &str,
    ) -> Result<(Vec<pb::TicketSchema>, String)> {
        if page_size > MAX_SCHEMA_PAGE {
            return Err(Error::invalid(format!(
                "page_size: at most {MAX_SCHEMA_PAGE}, got {page_size}"
            )));
        }
        let size = if page_size == 0 {
            DEFAULT_SCHEMA_PAGE
        } else {
            page_size
        } as usize;
        let offset = parse_token(page_token)?;
        let types = self.selected_types().await?;
        let statuses = self.statuses().await?;
        let mut out = Vec::new();
        for t in types.iter().skip(offset).take(size) {
            out.push(self.schema_of(t.id, &statuses).await?);
        }
        let next = offset + out.len();
        let token = if next < types.len() && !out.is_empty() {
            format!("{TOKEN_PREFIX}{next}")
        } else {
            String::new()
        };
        Ok((out, token))
    }

    /// One schema by id (a ticket type id); not found unless the type is selectable and
    /// included.
    pub async fn get_schema(&self, id: &str) -> Result<pb::TicketSchema> {
        let r = self.get_schema_inner(id).await;
        events::finished("get_schema", result_label(&r));
        r
    }

    async fn get_schema_inner(&self, id: &str) -> Result<pb::TicketSchema> {
        let type_id = parse_id("schema id", id)?;
        let types = self.selected_types().await?;
        if !types.iter().any(|t| t.id == type_id) {
            return Err(Error::not_found(format!("ticket schema `{id}` not found")));
        }
        let statuses = self.statuses().await?;
        self.schema_of(type_id, &statuses).await
    }

    async fn selected_types(&self) -> Result<Vec<TicketType>> {
        let now = Instant::now();
        let all = match self.inner.cache.types(now) {
            Some(t) => t,
            None => {
                let t = self.inner.client.ticket_types().await?;
                self.inner.cache.put_types(t.clone(), now);
                t
            }
        };
        let mut types: Vec<_> = all
            .into_iter()
            .filter(|t| schema::selected(t, &self.inner.settings.include_types))
            .collect();
        types.sort_by_key(|t| t.id);
        Ok(types)
    }

    async fn statuses(&self) -> Result<Vec<Status>> {
        let now = Instant::now();
        if let Some(s) = self.inner.cache.statuses(now) {
            return Ok(s);
        }
        let s = self.inner.client.statuses(None).await?;
        self.inner.cache.put_statuses(s.clone(), now);
        Ok(s)
    }

    async fn detail(&self, type_id: i64) -> Result<TicketType> {
        let now = Instant::now();
        if let Some(d) = self.inner.cache.detail(type_id, now) {
            return Ok(d);
        }
        let d = self.inner.client.ticket_type(type_id).await?;
        self.inner.cache.put_detail(d.clone(), now);
        Ok(d)
    }

    async fn schema_of(&self, type_id: i64, statuses: &[Status]) -> Result<pb::TicketSchema> {
        let detail = self.detail(type_id).await?;
        let cache = &self.inner.cache;
        let skip = self.inner.settings.request_key_custom_field();
        Ok(schema::build(&detail, statuses, skip, |field, why| {
            if cache.first_report(type_id, field) {
                events::field_unmappable(type_id, field, &why.0);
            }
        }))
    }

    // ---- create ----------------------------------------------------------------------------

    /// Create a ticket from a request and its schema. Custom fields are validated before
    /// anything is sent. With a `request_key`, a ticket already carrying it is returned
    /// instead of creating another one.
    pub async fn create_ticket(
        &self,
        req: &pb::TicketRequest,
        schema: &pb::TicketSchema,
        request_key: Option<&str>,
    ) -> CreateResult {
        let r = self.create_inner(req, schema, request_key).await;
        let label = match (&r.0.ticket, &r.0.error) {
            (Some(_), None) if r.1 => "existing",
            (Some(_), None) => "ok",
            (Some(_), Some(_)) => "partial",
            (None, Some(e)) => e.kind().as_str(),
            (None, None) => "ok",
        };
        events::finished("create", label);
        r.0
    }

    /// The result, and whether it is an existing ticket found by its key.
    async fn create_inner(
        &self,
        req: &pb::TicketRequest,
        schema: &pb::TicketSchema,
        request_key: Option<&str>,
    ) -> (CreateResult, bool) {
        // C1's copy of the schema first: no request at all for a malformed ticket.
        if let Err(e) = fields::validate(req, schema) {
            return (CreateResult::failed(e), false);
        }
        if let Some(k) = request_key
            && !ticket::valid_key(k)
        {
            return (
                CreateResult::failed(Error::invalid(
                    "request key: 1..128 characters of A-Z a-z 0-9 - _ . :",
                )),
                false,
            );
        }
        // Then Halo's current definition (cached), in case C1's copy is stale.
        let current = match self.get_schema_inner(&schema.id).await {
            Ok(s) => s,
            Err(e) => return (CreateResult::failed(e), false),
        };
        if let Err(e) = fields::validate(req, &current) {
            return (CreateResult::failed(e), false);
        }
        let type_id = match parse_id("schema id", &current.id) {
            Ok(id) => id,
            Err(e) => return (CreateResult::failed(e), false),
        };

        let mut extra = serde_json::Map::new();
        let mut customfields = Vec::new();
        if let Some(r) = &req.requested_for {
            match self.requester(r).await {
                Ok(fields) => extra.extend(fields),
                Err(e) => return (CreateResult::failed(e), false),
            }
        }
        let labels: Vec<&str> = req
            .labels
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        if !labels.is_empty() {
            let joined = Value::String(labels.join(", "));
            match self.inner.settings.labels_custom_field() {
                None => {
                    extra.insert("category_1".into(), joined);
                }
                Some(f) => customfields.push(json!({"name": f, "value": joined})),
            }
        }
        for (name, f) in &req.custom_fields {
            if let Some(v) = f.value.as_ref().and_then(fields::to_halo) {
                customfields.push(json!({"name": name, "value": v}));
            }
        }
        let new = NewTicket {
            type_id,
            summary: req.display_name.trim().to_string(),
            description: req.description.clone(),
            key: request_key.map(str::to_owned),
            extra,
            customfields,
        };
        let (created, existing) = match self.create_or_find(new).await {
            Ok(t) => t,
            Err(e) => return (CreateResult::failed(e), false),
        };

        // Follow-up: the requested status, through /api/Actions (a create may ignore it).
        let mut error = None;
        let mut halo_ticket = created;
        if let Some(status) = req.status.as_ref().filter(|s| !s.id.is_empty())
            && !existing
            && status.id != halo_ticket.status_id.to_string()
        {
            match self.set_status(halo_ticket.id, &status.id).await {
                Ok(()) => match self.inner.client.get_ticket(halo_ticket.id).await {
                    Ok(t) => halo_ticket = t,
                    Err(e) => error = Some(Error::from(e).context("read back after status")),
                },
                Err(e) => error = Some(e.context("ticket created, but setting its status failed")),
            }
        }
        let statuses = self.statuses().await.unwrap_or_default();
        let ticket = ticket::to_pb(
            &halo_ticket,
            &statuses,
            Some(&current),
            self.inner.settings.labels_custom_field(),
            &self.inner.base_url,
        );
        (
            CreateResult {
                ticket: Some(ticket),
                error,
                annotations: Vec::new(),
            },
            existing,
        )
    }

    async fn set_status(&self, ticket_id: i64, status_id: &str) -> Result<()> {
        let status = parse_id("status id", status_id)?;
        self.inner
            .client
            .post_action(&json!({
                "ticket_id": ticket_id,
                "outcome": "Status Change",
                "note": "Status set by ConductorOne",
                "hiddenfromuser": true,
                "new_status": status,
            }))
            .await?;
        Ok(())
    }

    /// The existing ticket with this key, or a new one. Never retried by the gateway (a
    /// create is not idempotent); our own retry is the caller calling again with the key.
    async fn create_or_find(&self, new: NewTicket) -> Result<(halo::Ticket, bool)> {
        if let Some(key) = &new.key
            && let Some(t) = self.find_by_key(new.type_id, key).await?
        {
            events::existing_found(t.id);
            return Ok((t, true));
        }
        let mut body = new.extra;
        body.insert("tickettype_id".into(), json!(new.type_id));
        body.insert("summary".into(), json!(new.summary));
        body.insert(
            "details".into(),
            json!(ticket::details_with_marker(
                &new.description,
                new.key.as_deref()
            )),
        );
        let mut customfields = new.customfields;
        if let (Some(f), Some(key)) = (self.inner.settings.request_key_custom_field(), &new.key) {
            customfields.push(json!({"name": f, "value": key}));
        }
        if !customfields.is_empty() {
            body.insert("customfields".into(), Value::Array(customfields));
        }
        let t = self
            .inner
            .client
            .create_ticket(&Value::Object(body))
            .await?;
        Ok((t, false))
    }

    async fn find_by_key(&self, type_id: i64, key: &str) -> Result<Option<halo::Ticket>> {
        let marker = ticket::marker(key);
        let type_s = type_id.to_string();
        let rows = self
            .inner
            .client
            .search_tickets(&[("requesttype_id", &type_s), ("search_details", &marker)])
            .await?;
        let key_field = self.inner.settings.request_key_custom_field();
        if let Some(t) = rows.iter().find(|t| ticket::has_key(t, key, key_field)) {
            return Ok(Some(t.clone()));
        }
        // List rows may be slimmer than GET-by-id (no details): check a few in full.
        for row in rows
            .iter()
            .filter(|t| t.details.is_empty() && t.tickettype_id == type_id)
            .take(MAX_KEY_CHECKS)
        {
            let full = self.inner.client.get_ticket(row.id).await?;
            if ticket::has_key(&full, key, key_field) {
                return Ok(Some(full));
            }
        }
        Ok(None)
    }

    /// Halo fields naming who the ticket is for: `user_id` for an end user found by id or
    /// email, else `user_email`.
    async fn requester(&self, r: &pb::Resource) -> Result<serde_json::Map<String, Value>> {
        let mut out = serde_json::Map::new();
        let (rtype, rid) =
            r.id.as_ref()
                .map(|id| (id.resource_type.as_str(), id.resource.as_str()))
                .unwrap_or(("", ""));
        if rtype == "user"
            && let Ok(id) = rid.parse::<i64>()
        {
            out.insert("user_id".into(), json!(id));
            return Ok(out);
        }
        let trait_email = pb::find_annotation::<pb::UserTrait>(&r.annotations).and_then(|u| {
            let primary = u.emails.iter().find(|e| e.is_primary).or(u.emails.first());
            primary.map(|e| e.address.clone())
        });
        let email = match trait_email {
            Some(e) if !e.trim().is_empty() => e,
            _ if rid.contains('@') => rid.to_string(),
            _ if rtype == "agent" => {
                let id = parse_id("requested_for agent id", rid)?;
                self.inner.client.get_agent(id).await?.email
            }
            _ => {
                return Err(Error::invalid(format!(
                    "requested_for: `{rtype}:{rid}` has no email to look up"
                )));
            }
        };
        let email = email.trim().to_string();
        if email.is_empty() {
            return Err(Error::invalid("requested_for: no email to look up"));
        }
        let users = self.inner.client.search_users(&email).await?;
        match users
            .iter()
            .find(|u| u.emailaddress.trim().eq_ignore_ascii_case(&email))
        {
            Some(u) => {
                out.insert("user_id".into(), json!(u.id));
            }
            None => {
                out.insert("user_email".into(), json!(email));
            }
        }
        Ok(out)
    }

    // ---- read and update -------------------------------------------------------------------

    /// The ticket as it is now: status (id and name), completed_at, updated fields.
    pub async fn get_ticket(&self, id: &str) -> Result<pb::Ticket> {
        let r = self.get_inner(id).await;
        events::finished("get", result_label(&r));
        r
    }

    async fn get_inner(&self, id: &str) -> Result<pb::Ticket> {
        let ticket_id = parse_id("ticket id", id)?;
        let t = self.inner.client.get_ticket(ticket_id).await.map_err(|e| {
            let e = Error::from(e);
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(format!("ticket {ticket_id} not found"))
            } else {
                e
            }
        })?;
        let statuses = self.statuses().await?;
        // Fields are typed by the type's schema; a type we can't read still gives the ticket.
        let schema = self.schema_of(t.tickettype_id, &statuses).await.ok();
        Ok(ticket::to_pb(
            &t,
            &statuses,
            schema.as_ref(),
            self.inner.settings.labels_custom_field(),
            &self.inner.base_url,
        ))
    }

    /// Add a note (private: hidden from the end user) and optionally move the ticket to a
    /// status given by name or id, in one `/api/Actions` call. An unknown status is refused
    /// before anything is sent.
    pub async fn add_note(
        &self,
        id: &str,
        text: &str,
        private: bool,
        status: Option<&str>,
    ) -> Result<()> {
        let r = self.add_note_inner(id, text, private, status).await;
        events::finished("note", result_label(&r));
        r
    }

    async fn add_note_inner(
        &self,
        id: &str,
        text: &str,
        private: bool,
        status: Option<&str>,
    ) -> Result<()> {
        let ticket_id = parse_id("ticket id", id)?;
        if text.trim().is_empty() && status.is_none() {
            return Err(Error::invalid("note: text or a status is required"));
        }
        let new_status = match status {
            Some(s) => Some(self.resolve_status(s).await?),
            None => None,
        };
        let mut action = json!({
            "ticket_id": ticket_id,
            "outcome": if private { "Private Note" } else { "Public Note" },
            "note": text,
            "hiddenfromuser": private,
        });
        if let Some(s) = new_status {
            action["new_status"] = json!(s.id);
        }
        self.inner.client.post_action(&action).await?;
        Ok(())
    }

    /// A status by id or name (case-insensitive).
    async fn resolve_status(&self, wanted: &str) -> Result<Status> {
        let wanted = wanted.trim();
        let statuses = self.statuses().await?;
        statuses
            .iter()
            .find(|s| s.id.to_string() == wanted)
            .or_else(|| {
                statuses
                    .iter()
                    .find(|s| s.name.trim().eq_ignore_ascii_case(wanted))
            })
            .cloned()
            .ok_or_else(|| Error::invalid(format!("status: `{wanted}` is not a Halo status")))
    }

    // ---- bulk ------------------------------------------------------------------------------

    /// Each request in turn (they share one rate budget); per-item results, each with its
    /// request's annotations. The request key is the item's ExternalTicketRef id; without
    /// one, `<key_prefix>.<index>` (distinct per item, so two items never collapse into one
    /// ticket, and stable, so a retried bulk task finds the tickets it already made).
    pub async fn bulk_create(
        &self,
        requests: &[pb::TicketsServiceCreateTicketRequest],
        key_prefix: Option<&str>,
    ) -> Vec<CreateResult> {
        let mut out = Vec::with_capacity(requests.len());
        for (i, r) in requests.iter().enumerate() {
            let key = pb::find_annotation::<pb::ExternalTicketRef>(&r.annotations)
                .map(|t| t.id)
                .filter(|k| !k.is_empty())
                .or_else(|| key_prefix.map(|p| format!("{p}.{i}")));
            let mut result = match (&r.request, &r.schema) {
                (Some(req), Some(schema)) => self.create_ticket(req, schema, key.as_deref()).await,
                _ => {
                    events::finished("create", ErrorKind::InvalidArgument.as_str());
                    CreateResult::failed(Error::invalid("request and schema are required"))
                }
            };
            result.annotations = r.annotations.clone();
            out.push(result);
        }
        out
    }

    pub async fn bulk_get(
        &self,
        requests: &[pb::TicketsServiceGetTicketRequest],
    ) -> Vec<GetResult> {
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            let (ticket, error) = match self.get_ticket(&r.id).await {
                Ok(t) => (Some(t), None),
                Err(e) => (None, Some(e)),
            };
            out.push(GetResult {
                ticket,
                error,
                annotations: r.annotations.clone(),
            });
        }
        out
    }

    // ---- provisioning fallback ------------------------------------------------------------

    /// Open (or find, by request key) the ticket for a change provisioning cannot make.
    pub async fn open_fallback_ticket(&self, f: &FallbackTicket) -> Result<TicketRef> {
        let r = self.open_fallback_inner(f).await;
        events::finished("fallback_open", result_label(&r));
        r
    }

    async fn open_fallback_inner(&self, f: &FallbackTicket) -> Result<TicketRef> {
        if f.summary.trim().is_empty() {
            return Err(Error::invalid("fallback ticket: summary must not be empty"));
        }
        if !ticket::valid_key(&f.request_key) {
            return Err(Error::invalid(
                "fallback ticket: request key must be 1..128 characters of A-Z a-z 0-9 - _ . :",
            ));
        }
        let mut description = f.details.trim_end().to_string();
        for (label, value) in [
            ("Agent", &f.agent),
            ("Entitlement", &f.entitlement),
            ("Requested by", &f.requester),
        ] {
            if !value.trim().is_empty() {
                description.push_str(&format!("\n{label}: {}", value.trim()));
            }
        }
        let (t, _) = self
            .create_or_find(NewTicket {
                type_id: f.ticket_type_id,
                summary: f.summary.trim().to_string(),
                description: description.trim_start().to_string(),
                key: Some(f.request_key.clone()),
                extra: serde_json::Map::new(),
                customfields: Vec::new(),
            })
            .await?;
        Ok(TicketRef {
            id: t.id,
            url: ticket::url(&t, &self.inner.base_url),
        })
    }

    /// Close the loop on a fallback ticket: a private note, and the move to
    /// `ticketing.fallback_resolved_status`. A ticket already in that status is left alone,
    /// so repeated syncs add no further notes.
    /// Whether `ticketing.fallback_resolved_status` is set (without it,
    /// `resolve_fallback` refuses with FailedPrecondition).
    pub fn resolves_fallbacks(&self) -> bool {
        self.inner.settings.fallback_resolved_status.is_some()
    }

    pub async fn resolve_fallback(&self, ticket_id: i64, note: &str) -> Result<()> {
        let r = self.resolve_fallback_inner(ticket_id, note).await;
        events::finished("fallback_resolve", result_label(&r));
        r
    }

    async fn resolve_fallback_inner(&self, ticket_id: i64, note: &str) -> Result<()> {
        let Some(target) = self.inner.settings.fallback_resolved_status.clone() else {
            return Err(Error::new(
                ErrorKind::FailedPrecondition,
                "ticketing.fallback_resolved_status is not set",
            ));
        };
        let status = self.resolve_status(&target).await?;
        let current = self.inner.client.get_ticket(ticket_id).await?;
        if current.status_id == status.id {
            return Ok(());
        }
        self.add_note_inner(
            &ticket_id.to_string(),
            note,
            true,
            Some(&status.id.to_string()),
        )
        .await
    }
}

fn result_label<T>(r: &Result<T>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    }
}

fn parse_id(what: &str, s: &str) -> Result<i64> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::invalid(format!("{what}: `{s}` is not a Halo id")))
}

fn parse_token(token: &str) -> Result<usize> {
    if token.is_empty() {
        return Ok(0);
    }
    token
        .strip_prefix(TOKEN_PREFIX)
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Error::invalid("page_token: not a token this connector issued"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_ids() {
        assert_eq!(parse_token("").unwrap(), 0);
        assert_eq!(parse_token("ht1:40").unwrap(), 40);
        assert_eq!(
            parse_token("40").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert!(parse_id("x", "0").is_err() && parse_id("x", "abc").is_err());
        assert_eq!(parse_id("x", " 12 ").unwrap(), 12);
    }
}
