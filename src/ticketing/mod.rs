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
//!
//! The operations of [`Ticketing`] live by family: `schemas.rs` (list and get schemas),
//! `create.rs` (C1 creates, single and bulk), `idempotency.rs` (find-by-key, then create),
//! `get.rs` (read, notes, bulk get) and `fallback.rs` (provisioning's fallback tickets).

mod cache;
mod create;
pub mod error;
mod fallback;
pub mod fields;
mod get;
mod idempotency;
pub mod render;
pub mod schema;
mod schemas;
pub mod settings;
pub mod template;
pub mod ticket;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use url::Url;

pub use create::CreateResult;
pub use error::{Error, ErrorKind, Result};
pub use fallback::{FallbackTicket, TicketRef};
pub use get::GetResult;
pub use schemas::MAX_SCHEMA_PAGE;
pub use settings::TicketingSettings;

use crate::halo::{HaloClient, Lane, Status};
use crate::telemetry::tickets as events;

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

    /// Halo's statuses (cached); schemas, reads, notes and fallbacks all need them.
    async fn statuses(&self) -> Result<Vec<Status>> {
        let now = Instant::now();
        if let Some(s) = self.inner.cache.statuses(now) {
            return Ok(s);
        }
        let s = self.inner.client.statuses(None).await?;
        self.inner.cache.put_statuses(s.clone(), now);
        Ok(s)
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
}

/// Await one public operation and count its result as `op` (ok or the error kind), so every
/// operation is counted the same way; internal callers use the uncounted building blocks.
async fn counted<T>(op: &'static str, operation: impl Future<Output = Result<T>>) -> Result<T> {
    let r = operation.await;
    events::finished(
        op,
        match &r {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        },
    );
    r
}

fn parse_id(what: &str, s: &str) -> Result<i64> {
    s.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::invalid(format!("{what}: `{s}` is not a Halo id")))
}
