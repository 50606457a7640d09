//! Reading and updating existing tickets: one ticket as C1 sees it now, notes (with an
//! optional status move), and C1's bulk get.

use serde_json::json;

use super::{Error, ErrorKind, Result, Ticketing, counted, parse_id, ticket};
use crate::pb;

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

impl Ticketing {
    /// The ticket as it is now: status (id and name), completed_at, updated fields.
    pub async fn get_ticket(&self, id: &str) -> Result<pb::Ticket> {
        counted("get", async {
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
        })
        .await
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
        counted("note", self.note(id, text, private, status)).await
    }

    /// [`Ticketing::add_note`] uncounted, for resolving a fallback ticket.
    pub(super) async fn note(
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
}
