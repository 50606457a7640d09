//! The fallback-ticket seam, implemented by the ticketing module itself: when
//! a change cannot be automated, the queue opens a Halo ticket through
//! [`Ticketing::open_fallback_ticket`] (idempotent by the operation id), so
//! there is one copy of ticket code.

use futures::future::LocalBoxFuture;

use super::provisioning_queue::{FallbackRequest, FallbackTickets};
use crate::ticketing::{FallbackTicket, Ticketing};

impl FallbackTickets for Ticketing {
    fn open(&self, req: FallbackRequest) -> LocalBoxFuture<'static, Result<String, String>> {
        let ticketing = self.clone();
        Box::pin(async move {
            let ticket = FallbackTicket {
                ticket_type_id: req.ticket_type,
                summary: req.summary,
                details: format!(
                    "{}\n\nWhy it could not be automated: {}",
                    req.details, req.reason
                ),
                agent: req.agent.unwrap_or_default(),
                entitlement: req.entitlement.unwrap_or_default(),
                requester: req.requested_by,
                // A retried operation finds its first ticket instead of opening another.
                request_key: format!("provisioning-op-{}", req.op_id),
            };
            ticketing
                .open_fallback_ticket(&ticket)
                .await
                .map(|t| t.id.to_string())
                .map_err(|e| e.to_string())
        })
    }
}
