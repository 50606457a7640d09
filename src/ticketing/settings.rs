//! The `[ticketing]` config section, used as is by the ticketing service.

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
    #[schemars(with = "crate::config_keys::HumanDuration")]
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
    /// Range checks serde cannot express: `(key, message)` of the first problem.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.cache_ttl > Duration::from_secs(86_400) {
            return Err(("ticketing.cache_ttl", "must be at most 24h".into()));
        }
        if self.labels_to.trim().is_empty() {
            return Err((
                "ticketing.labels_to",
                "must be `category` or a custom field name".into(),
            ));
        }
        if self.request_key_field.trim().is_empty() {
            return Err((
                "ticketing.request_key_field",
                "must be `details-marker` or a custom field name".into(),
            ));
        }
        if !(1..=100_000).contains(&self.max_cached_types) {
            return Err(("ticketing.max_cached_types", "must be 1..=100000".into()));
        }
        if self
            .fallback_resolved_status
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return Err((
                "ticketing.fallback_resolved_status",
                "must not be empty when set".into(),
            ));
        }
        Ok(())
    }

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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use crate::config::{Config, HALO_SECRET_ENV};

    const MIN: &str = "[halo]\nbase_url = \"https://a.b\"\nclient_id = \"c\"\n";

    fn load(extra: &str, env: &[(&str, &str)]) -> Result<Config, crate::config::ConfigError> {
        let mut vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.insert(HALO_SECRET_ENV.into(), "x".into());
        Config::from_toml_str(&format!("{MIN}{extra}"), Path::new("t.toml"), &vars)
    }

    #[test]
    fn section_defaults_env_overrides_and_refusals() {
        let cfg = load("", &[]).unwrap();
        assert!(!cfg.ticketing.enabled);
        assert_eq!(cfg.ticketing.request_key_custom_field(), None);
        let cfg = load(
            "[ticketing]\ninclude_types = [\"2\", \"Access Request\"]\nrequest_key_field = \"CFC1RequestKey\"\n",
            &[("BATON_TICKETING__ENABLED", "true"), ("BATON_TICKETING__CACHE_TTL", "90s")],
        )
        .unwrap();
        assert!(cfg.ticketing.enabled);
        assert_eq!(cfg.ticketing.cache_ttl.as_secs(), 90);
        assert_eq!(cfg.ticketing.include_types.len(), 2);
        assert_eq!(
            cfg.ticketing.request_key_custom_field(),
            Some("CFC1RequestKey")
        );
        let e = load("[ticketing]\nbogus = 1\n", &[]).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = load("[ticketing]\nlabels_to = \" \"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("ticketing.labels_to"), "{e}");
    }
}
