//! Custom field values between C1 and Halo: validation of a request against its schema
//! (before anything is sent), C1 values to Halo JSON, and Halo values back to C1.

use serde_json::{Value, json};

use super::error::{Error, Result};
use super::schema::{FieldKind, kind_of};
use crate::contract::dates::parse_halo_date;
use crate::halo::CustomField;
use crate::pb;
use crate::pb::ticket_custom_field::Value as Cf;

fn variant(v: &Cf) -> &'static str {
    match v {
        Cf::StringValue(_) => "string",
        Cf::StringValues(_) => "string list",
        Cf::BoolValue(_) => "bool",
        Cf::TimestampValue(_) => "timestamp",
        Cf::PickStringValue(_) => "pick string",
        Cf::PickMultipleStringValues(_) => "pick multiple strings",
        Cf::PickObjectValue(_) => "pick object",
        Cf::PickMultipleObjectValues(_) => "pick multiple objects",
        Cf::NumberValue(_) => "number",
    }
}

/// Whether a value carries something (a required field must).
fn is_set(v: &Cf) -> bool {
    match v {
        Cf::StringValue(s) => !s.value.trim().is_empty(),
        Cf::StringValues(s) => !s.values.is_empty(),
        Cf::BoolValue(_) => true,
        Cf::TimestampValue(t) => t.value.is_some(),
        Cf::PickStringValue(p) => !p.value.trim().is_empty(),
        Cf::PickMultipleStringValues(p) => !p.values.is_empty(),
        Cf::PickObjectValue(p) => p.value.is_some(),
        Cf::PickMultipleObjectValues(p) => !p.values.is_empty(),
        Cf::NumberValue(n) => n.value.is_some(),
    }
}

/// Checks a request against a schema: display name, status, type, and every custom field
/// (known, of the schema's kind, an allowed value), and that required fields are set.
/// Errors name the field. Pure: sends nothing.
pub fn validate(req: &pb::TicketRequest, schema: &pb::TicketSchema) -> Result<()> {
    if req.display_name.trim().is_empty() {
        return Err(Error::invalid("display_name: must not be empty"));
    }
    if let Some(status) = req.status.as_ref().filter(|s| !s.id.is_empty())
        && !schema.statuses.iter().any(|s| s.id == status.id)
    {
        return Err(Error::invalid(format!(
            "status: `{}` is not a status of schema `{}`",
            status.id, schema.id
        )));
    }
    if let Some(t) = req.r#type.as_ref().filter(|t| !t.id.is_empty())
        && t.id != schema.id
        && !schema.types.iter().any(|st| st.id == t.id)
    {
        return Err(Error::invalid(format!(
            "type: `{}` does not belong to schema `{}`",
            t.id, schema.id
        )));
    }
    for (name, field) in &req.custom_fields {
        let Some(def) = schema.custom_fields.get(name) else {
            return Err(Error::invalid(format!(
                "custom_fields.{name}: unknown field for schema `{}`",
                schema.id
            )));
        };
        let (Some(value), Some(expected)) = (field.value.as_ref(), def.value.as_ref()) else {
            return Err(Error::invalid(format!("custom_fields.{name}: no value")));
        };
        let kind = kind_of(def);
        let matches = std::mem::discriminant(value) == std::mem::discriminant(expected)
            // A plain string may fill a text field declared as a string list, and vice versa.
            || (kind == Some(FieldKind::Text)
                && matches!(value, Cf::StringValue(_) | Cf::StringValues(_)));
        if !matches {
            return Err(Error::invalid(format!(
                "custom_fields.{name}: expected a {} value, got a {} value",
                variant(expected),
                variant(value)
            )));
        }
        match (value, kind) {
            (Cf::PickStringValue(p), Some(FieldKind::Pick(allowed)))
                if !p.value.is_empty() && !allowed.is_empty() && !allowed.contains(&p.value) =>
            {
                return Err(Error::invalid(format!(
                    "custom_fields.{name}: `{}` is not one of {allowed:?}",
                    p.value
                )));
            }
            (Cf::PickMultipleStringValues(p), Some(FieldKind::PickMany(allowed)))
                if !allowed.is_empty() =>
            {
                if let Some(bad) = p.values.iter().find(|v| !allowed.contains(v)) {
                    return Err(Error::invalid(format!(
                        "custom_fields.{name}: `{bad}` is not one of {allowed:?}"
                    )));
                }
            }
            (Cf::NumberValue(n), _) if n.value.is_some_and(|v| !v.is_finite()) => {
                return Err(Error::invalid(format!(
                    "custom_fields.{name}: not a finite number"
                )));
            }
            _ => {}
        }
    }
    for (name, def) in &schema.custom_fields {
        if !def.required {
            continue;
        }
        let set = req
            .custom_fields
            .get(name)
            .and_then(|f| f.value.as_ref())
            .is_some_and(is_set);
        if !set {
            return Err(Error::invalid(format!(
                "custom_fields.{name}: required by schema `{}` but missing",
                schema.id
            )));
        }
    }
    Ok(())
}

/// A validated C1 value as Halo's `customfields[].value`. `None` for an empty value.
pub fn to_halo(v: &Cf) -> Option<Value> {
    if !is_set(v) {
        return None;
    }
    Some(match v {
        Cf::StringValue(s) => json!(s.value),
        Cf::StringValues(s) => json!(s.values.join(", ")),
        Cf::BoolValue(b) => json!(b.value),
        Cf::TimestampValue(t) => json!(t.value.as_ref()?.to_string()),
        Cf::PickStringValue(p) => json!(p.value),
        Cf::PickMultipleStringValues(p) => json!(p.values),
        Cf::PickObjectValue(p) => json!(p.value.as_ref()?.id),
        Cf::PickMultipleObjectValues(p) => {
            json!(p.values.iter().map(|o| o.id.clone()).collect::<Vec<_>>())
        }
        Cf::NumberValue(n) => json!(n.value?),
    })
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A Halo custom field value read back as the schema's kind. `None` when Halo holds nothing
/// usable (unset date, empty text).
pub fn from_halo(cf: &CustomField, def: &pb::TicketCustomField) -> Option<pb::TicketCustomField> {
    let kind = kind_of(def)?;
    // Selections may come back as lookup ids with the chosen name in `display`.
    let shown = (!cf.display.trim().is_empty()).then(|| Value::String(cf.display.clone()));
    let v = &cf.value;
    let value = match kind {
        FieldKind::Text => Cf::StringValue(pb::TicketCustomFieldStringValue {
            value: text(v).filter(|s| !s.is_empty())?,
            default_value: String::new(),
        }),
        FieldKind::Number => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }?;
            Cf::NumberValue(pb::TicketCustomFieldNumberValue {
                value: Some(n as f32),
                default_value: None,
            })
        }
        FieldKind::Date => {
            let s = text(v)?;
            if crate::halo::model::is_unset_date(&s) {
                return None;
            }
            Cf::TimestampValue(pb::TicketCustomFieldTimestampValue {
                value: Some(parse_halo_date(&s)?),
                default_value: None,
            })
        }
        FieldKind::Checkbox => Cf::BoolValue(pb::TicketCustomFieldBoolValue {
            value: match v {
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => {
                    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
                }
                _ => false,
            },
        }),
        FieldKind::Pick(allowed) => Cf::PickStringValue(pb::TicketCustomFieldPickStringValue {
            value: shown.as_ref().and_then(text).or_else(|| text(v))?,
            allowed_values: allowed,
            default_value: String::new(),
        }),
        FieldKind::PickMany(allowed) => {
            let values: Vec<String> = match v {
                Value::Array(items) => items.iter().filter_map(text).collect(),
                other => text(other)
                    .map(|s| {
                        s.split(',')
                            .map(|x| x.trim().to_string())
                            .filter(|x| !x.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            Cf::PickMultipleStringValues(pb::TicketCustomFieldPickMultipleStringValues {
                values,
                allowed_values: allowed,
                default_values: Vec::new(),
            })
        }
    };
    Some(pb::TicketCustomField {
        id: def.id.clone(),
        display_name: def.display_name.clone(),
        required: def.required,
        annotations: Vec::new(),
        value: Some(value),
    })
}
