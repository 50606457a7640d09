//! A Halo ticket as C1's `Ticket`, and the request-key marker that makes creates idempotent.

use url::Url;

use super::fields;
use crate::contract::dates::parse_halo_date;
use crate::halo::model::is_unset_date;
use crate::halo::{Status, Ticket};
use crate::pb;

const MARKER_OPEN: &str = "[c1-request-key:";

/// The marker stored at the end of the details: `[c1-request-key:KEY]`.
pub fn marker(key: &str) -> String {
    format!("{MARKER_OPEN}{key}]")
}

/// Request keys go into a search filter and the details: only a safe alphabet, bounded.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Details as sent: the description, then the marker on its own paragraph.
pub fn details_with_marker(description: &str, key: Option<&str>) -> String {
    match key {
        Some(k) if description.trim().is_empty() => marker(k),
        Some(k) => format!("{}\n\n{}", description.trim_end(), marker(k)),
        None => description.to_string(),
    }
}

/// Details without our marker (what the requester wrote).
pub fn strip_marker(details: &str) -> String {
    match details.rfind(MARKER_OPEN) {
        Some(i) if details[i..].trim_end().ends_with(']') => details[..i].trim_end().to_string(),
        _ => details.to_string(),
    }
}

/// Whether a ticket carries this request key (marker in the details, or the key field).
pub fn has_key(t: &Ticket, key: &str, key_field: Option<&str>) -> bool {
    t.details.contains(&marker(key))
        || key_field.is_some_and(|f| {
            t.customfields.iter().any(|cf| {
                cf.name.eq_ignore_ascii_case(f) && cf.value.as_str().is_some_and(|v| v == key)
            })
        })
}

/// Halo's `web_url`, else `{base}/tickets?id=N`.
pub fn url(t: &Ticket, base: &Url) -> String {
    if let Some(u) = t.web_url.as_deref().filter(|u| !u.trim().is_empty()) {
        return u.to_string();
    }
    format!(
        "{}/tickets?id={}",
        base.as_str().trim_end_matches('/'),
        t.id
    )
}

fn date(d: Option<&str>) -> Option<prost_types::Timestamp> {
    d.filter(|d| !is_unset_date(d)).and_then(parse_halo_date)
}

/// The C1 view of a ticket. `schema` (when known) types the custom fields and names the type;
/// `labels_field` is where labels live (`None` = category_1).
pub fn to_pb(
    t: &Ticket,
    statuses: &[Status],
    schema: Option<&pb::TicketSchema>,
    labels_field: Option<&str>,
    base: &Url,
) -> pb::Ticket {
    let status = pb::TicketStatus {
        id: t.status_id.to_string(),
        display_name: statuses
            .iter()
            .find(|s| s.id == t.status_id)
            .map(|s| s.name.clone())
            .unwrap_or_default(),
    };
    let custom_fields = schema
        .map(|s| {
            s.custom_fields
                .iter()
                .filter_map(|(name, def)| {
                    let cf = t
                        .customfields
                        .iter()
                        .find(|cf| cf.name.eq_ignore_ascii_case(name))?;
                    Some((name.clone(), fields::from_halo(cf, def)?))
                })
                .collect()
        })
        .unwrap_or_default();
    let labels_text = match labels_field {
        None => t.category_1.clone(),
        Some(f) => t
            .customfields
            .iter()
            .find(|cf| cf.name.eq_ignore_ascii_case(f))
            .and_then(|cf| cf.value.as_str().map(str::to_owned))
            .unwrap_or_default(),
    };
    let labels = labels_text
        .split(',')
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    let created_at = date(t.dateoccurred.as_deref());
    pb::Ticket {
        id: t.id.to_string(),
        display_name: t.summary.clone(),
        description: strip_marker(&t.details),
        status: Some(status),
        r#type: Some(pb::TicketType {
            id: t.tickettype_id.to_string(),
            display_name: schema.map(|s| s.display_name.clone()).unwrap_or_default(),
        }),
        labels,
        url: url(t, base),
        custom_fields,
        created_at,
        updated_at: date(t.lastactiondate.as_deref()).or(created_at),
        // Reopened tickets keep `hasbeenclosed` but lose the date: the date decides.
        completed_at: date(t.dateclosed.as_deref()),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn marker_round_trip() {
        let d = details_with_marker("Please add Jane", Some("req-1"));
        assert_eq!(d, "Please add Jane\n\n[c1-request-key:req-1]");
        assert_eq!(strip_marker(&d), "Please add Jane");
        assert_eq!(strip_marker("no marker"), "no marker");
        assert!(valid_key("task:01H-x_y.z") && !valid_key("a b") && !valid_key(""));
    }

    #[test]
    fn unset_dates_are_no_value_and_url_falls_back() {
        let t: Ticket = serde_json::from_value(json!({
            "id": 7, "summary": "s", "status_id": 1, "tickettype_id": 2,
            "dateoccurred": "2026-01-02T03:04:05", "dateclosed": "1900-01-01T00:00:00",
            "lastactiondate": "1900-01-01T00:00:00"
        }))
        .unwrap();
        let base = Url::parse("https://acme.haloitsm.com/").unwrap();
        let p = to_pb(&t, &[], None, None, &base);
        assert_eq!(p.url, "https://acme.haloitsm.com/tickets?id=7");
        assert!(p.completed_at.is_none());
        assert_eq!(
            p.created_at.as_ref().map(|t| t.seconds),
            Some(1_767_323_045)
        );
        assert_eq!(p.updated_at, p.created_at);
    }
}
