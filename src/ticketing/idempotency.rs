//! Idempotent creates, shared by C1's creates and provisioning's fallback tickets: a ticket
//! carrying the request key is searched for first (`search_details` on the key's marker),
//! and only when none exists is a new one created, with the key stored on it.

use serde_json::{Value, json};

use super::{Result, Ticketing, ticket};
use crate::halo;
use crate::telemetry::tickets as events;

/// Candidates of an idempotency search fetched one by one when list rows lack details.
const MAX_KEY_CHECKS: usize = 3;

/// What the body of a new Halo ticket needs, however it was asked for.
pub(super) struct NewTicket {
    pub type_id: i64,
    pub summary: String,
    pub description: String,
    pub key: Option<String>,
    /// Extra top-level Halo fields (user_id, category_1, ...).
    pub extra: serde_json::Map<String, Value>,
    pub customfields: Vec<Value>,
}

impl Ticketing {
    /// The existing ticket with this key, or a new one. Never retried by the gateway (a
    /// create is not idempotent); our own retry is the caller calling again with the key.
    pub(super) async fn create_or_find(&self, new: NewTicket) -> Result<(halo::Ticket, bool)> {
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
}
