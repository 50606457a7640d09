//! The `[ticketing]` config section, used as is by the ticketing service (the config
//! layer loads and validates it).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Value of `request_key_field` that keeps the request key only as a marker in the details.
pub const DETAILS_MARKER: &str = "details-marker";
/// Value of `labels_to` that writes labels into `category_1`.
pub const LABELS_TO_CATEGORY: &str = "category";

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TicketingSettings {
    /// Turns the TICKETING capability on (and `ExternalTicketSettings{enabled}` in metadata).
    pub enabled: bool,
    /// How long ticket types, statuses and field definitions are reused before Halo is asked
    /// again. C1 polls schemas and tickets; a few minutes keeps that to a few requests.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub cache_ttl: Duration,
    /// Only these ticket types become schemas (ids or names, case-insensitive); empty = all
    /// types agents can select.
    #[schemars(example = ["Incident"])]
    pub include_types: Vec<String>,
    /// Where a ticket's labels go: `category` (category_1) or the name of a custom field.
    pub labels_to: String,
    /// Where the idempotency key is stored besides the details marker: `details-marker`
    /// (marker only) or the name of a custom text field on the ticket types.
    pub request_key_field: String,
    /// Status (name or id) a provisioning fallback ticket moves to once the change is seen.
    #[schemars(example = &"Resolved")]
    pub fallback_resolved_status: Option<String>,
    /// Ticket types whose field definitions are kept at most (bounds the cache).
    pub max_cached_types: usize,
}

impl Default for TicketingSettings {
    fn default() -> Self {
        TicketingSettings {
            enabled: false,
            cache_ttl: Duration::from_secs(300),
            include_types: Vec::new(),
            labels_to: LABELS_TO_CATEGORY.to_string(),
            request_key_field: DETAILS_MARKER.to_string(),
            fallback_resolved_status: None,
            max_cached_types: 500,
        }
    }
}

impl TicketingSettings {
    /// The custom field holding the request key, if one is configured.
    pub fn request_key_custom_field(&self) -> Option<&str> {
        let f = self.request_key_field.trim();
        (!f.eq_ignore_ascii_case(DETAILS_MARKER)).then_some(f)
    }

    /// The custom field holding labels, if labels do not go to the category.
    pub fn labels_custom_field(&self) -> Option<&str> {
        let f = self.labels_to.trim();
        (!f.eq_ignore_ascii_case(LABELS_TO_CATEGORY)).then_some(f)
    }
}
