//! Provisioning's fallback tickets: a ticket opened (once per request key) for a change
//! provisioning cannot automate, and closed with a private note when the change is seen done.

use super::idempotency::NewTicket;
use super::{Error, ErrorKind, Result, Ticketing, counted, ticket};

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

impl Ticketing {
    /// Open (or find, by request key) the ticket for a change provisioning cannot make.
    pub async fn open_fallback_ticket(&self, f: &FallbackTicket) -> Result<TicketRef> {
        counted("fallback_open", async {
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
        })
        .await
    }

    /// Whether `ticketing.fallback_resolved_status` is set (without it,
    /// `resolve_fallback` refuses with FailedPrecondition).
    pub fn resolves_fallbacks(&self) -> bool {
        self.inner.settings.fallback_resolved_status.is_some()
    }

    /// Close the loop on a fallback ticket: a private note, and the move to
    /// `ticketing.fallback_resolved_status`. A ticket already in that status is left alone,
    /// so repeated syncs add no further notes.
    pub async fn resolve_fallback(&self, ticket_id: i64, note: &str) -> Result<()> {
        counted("fallback_resolve", async {
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
            self.note(
                &ticket_id.to_string(),
                note,
                true,
                Some(&status.id.to_string()),
            )
            .await
        })
        .await
    }
}
