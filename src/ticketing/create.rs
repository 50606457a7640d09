//! C1's ticket creates: a request validated against C1's schema and Halo's current one,
//! turned into a Halo ticket (requester, labels, custom fields), created once per request
//! key (`idempotency.rs`), then moved to the requested status. Bulk creates run each item in
//! turn.

use serde_json::{Value, json};

use super::idempotency::NewTicket;
use super::{Error, ErrorKind, Result, Ticketing, fields, parse_id, ticket};
use crate::pb;
use crate::telemetry::tickets as events;

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

impl Ticketing {
    /// Create a ticket from a request and its schema. Custom fields are validated before
    /// anything is sent. With a `request_key`, a ticket already carrying it is returned
    /// instead of creating another one.
    pub async fn create_ticket(
        &self,
        req: &pb::TicketRequest,
        schema: &pb::TicketSchema,
        request_key: Option<&str>,
    ) -> CreateResult {
        // Not `counted`: a create has results of its own (existing, partial).
        let (result, existing) = self.create_or_reuse(req, schema, request_key).await;
        let label = match (&result.ticket, &result.error) {
            (Some(_), None) if existing => "existing",
            (Some(_), None) => "ok",
            (Some(_), Some(_)) => "partial",
            (None, Some(e)) => e.kind().as_str(),
            (None, None) => "ok",
        };
        events::finished("create", label);
        result
    }

    /// The result, and whether it is an existing ticket found by its key.
    async fn create_or_reuse(
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
        let current = match self.schema_by_id(&schema.id).await {
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
}
