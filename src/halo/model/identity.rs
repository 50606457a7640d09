//! Strict deserializers for identity fields (issue 18). Everything else in the model is
//! lenient, but an object without its id, or with an id of the wrong type, is not "id 0":
//! it would be published as `agent:0`, and two such rows would collide. These fail the
//! row instead, with a message that names the field; the paging helper adds the endpoint
//! and the row number.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The shown part of a bad value in a message.
const SHOWN_CHARS: usize = 40;

fn shown(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

/// An integer id: a JSON integer that fits an i64, or a string holding one (Halo mixes
/// both). `null`, a fraction, an out-of-range number or any other type is refused.
fn int_named<'de, D: Deserializer<'de>>(d: D, field: &str) -> Result<i64, D::Error> {
    let v = Value::deserialize(d)?;
    let parsed = match &v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| {
        let why = match &v {
            Value::Number(_) => "is out of range or not an integer",
            _ => "is not an integer",
        };
        D::Error::custom(format!("field `{field}` {why}: {}", shown(&v)))
    })
}

/// `id` of an agent, team, user, ticket type or status.
pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    int_named(d, "id")
}

/// `status_id` of a ticket type's allowed status.
pub fn status_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    int_named(d, "status_id")
}

/// `fieldid` of a ticket type's field (the field definition it shows).
pub fn fieldid<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    int_named(d, "fieldid")
}

/// A role's `id`: a non-empty string (a GUID).
pub fn guid<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Ok(s),
        other => Err(D::Error::custom(format!(
            "field `id` is not a non-empty string: {}",
            shown(&other)
        ))),
    }
}

/// A nested list whose rows carry identity: `null` or missing is empty (optional), but a
/// row that does not parse fails the object, naming the list and the row (1-based).
fn rows_named<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
    list: &str,
) -> Result<Vec<T>, D::Error> {
    match Value::deserialize(d)? {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_json::from_value(v)
                    .map_err(|e| D::Error::custom(format!("`{list}` row {}: {e}", i + 1)))
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(D::Error::custom(format!(
            "field `{list}` is not a list: {}",
            shown(&other)
        ))),
    }
}

/// A ticket type's `allowed_status`.
pub fn allowed_status<'de, D: Deserializer<'de>, T: DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    rows_named(d, "allowed_status")
}

/// A ticket type's `fields`.
pub fn fields<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
    rows_named(d, "fields")
}
