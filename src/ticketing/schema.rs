//! Halo ticket types as C1 ticket schemas: statuses, and custom fields mapped by kind.
//!
//! Halo's spec types `FieldInfo.type`/`inputtype` as integers
//! (docs/reference/haloitsm-api.md §8): type 0 text (inputtype 1 integer, 2 money, 4 decimal
//! make it a number), 1 memo, 2 single selection, 3 multiple selection, 4 date, 5 time,
//! 6 checkbox, 10 rich text. Older tenants and tools use names, so strings are accepted too.
//! A field we cannot map (a time of day, a kind we don't know) is left out of the schema;
//! the rest of the type is still listed.

use serde_json::Value;

use crate::halo::{Status, TicketType, TicketTypeField};
use crate::pb;
use crate::pb::ticket_custom_field::Value as Cf;

/// What a Halo field holds, as far as C1 is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text,
    Number,
    Date,
    Pick(Vec<String>),
    PickMany(Vec<String>),
    Checkbox,
}

/// Why a field is left out of its schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmappable(pub String);

fn int_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The kind of one field from its `fieldinfo` (integers per the spec, or names).
pub fn classify(info: &Value) -> Result<FieldKind, Unmappable> {
    let values = || allowed_values(info);
    let raw = info.get("type").unwrap_or(&Value::Null);
    let input = info.get("inputtype").and_then(int_of).unwrap_or(0);
    if let Some(t) = int_of(raw) {
        return match t {
            0 if matches!(input, 1 | 2 | 4) => Ok(FieldKind::Number),
            0 | 1 | 10 => Ok(FieldKind::Text),
            2 => Ok(FieldKind::Pick(values())),
            3 => Ok(FieldKind::PickMany(values())),
            4 => Ok(FieldKind::Date),
            6 => Ok(FieldKind::Checkbox),
            5 => Err(Unmappable("a time of day has no C1 field kind".into())),
            other => Err(Unmappable(format!("unknown field type {other}"))),
        };
    }
    let name = raw.as_str().unwrap_or("").trim().to_ascii_lowercase();
    match name.as_str() {
        "text" | "memo" | "richtext" | "rich text" | "string" => Ok(FieldKind::Text),
        "number" | "integer" | "decimal" | "money" => Ok(FieldKind::Number),
        "date" | "datetime" | "date and time" => Ok(FieldKind::Date),
        "dropdown" | "single selection" | "select" | "radio" => Ok(FieldKind::Pick(values())),
        "multiselect" | "multiple selection" | "multi-select" => Ok(FieldKind::PickMany(values())),
        "checkbox" | "boolean" | "bool" => Ok(FieldKind::Checkbox),
        "" => Err(Unmappable("no field type".into())),
        other => Err(Unmappable(format!("unknown field type `{other}`"))),
    }
}

fn allowed_values(info: &Value) -> Vec<String> {
    info.get("values")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_owned),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The C1 name of a field: Halo's field name (`CF...`), else its label.
pub fn field_name(f: &TicketTypeField) -> String {
    let info_name = f.fieldinfo.get("name").and_then(Value::as_str);
    [Some(f.fieldname.as_str()), info_name]
        .into_iter()
        .flatten()
        .find(|s| !s.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn field_label(f: &TicketTypeField, name: &str) -> String {
    f.fieldinfo
        .get("label")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(name)
        .to_string()
}

/// `technew == 2` (mandatory on the agent's new-ticket screen) or `fieldinfo.mandatory`.
fn required(f: &TicketTypeField) -> bool {
    f.technew == 2
        || f.fieldinfo
            .get("mandatory")
            .is_some_and(|m| m.as_bool() == Some(true) || int_of(m) == Some(1))
}

/// An empty value of the proto kind for `kind` (what a schema field carries).
pub fn empty_value(kind: &FieldKind) -> Cf {
    match kind {
        FieldKind::Text => Cf::StringValue(Default::default()),
        FieldKind::Number => Cf::NumberValue(Default::default()),
        FieldKind::Date => Cf::TimestampValue(Default::default()),
        FieldKind::Checkbox => Cf::BoolValue(Default::default()),
        FieldKind::Pick(allowed) => Cf::PickStringValue(pb::TicketCustomFieldPickStringValue {
            allowed_values: allowed.clone(),
            ..Default::default()
        }),
        FieldKind::PickMany(allowed) => {
            Cf::PickMultipleStringValues(pb::TicketCustomFieldPickMultipleStringValues {
                allowed_values: allowed.clone(),
                ..Default::default()
            })
        }
    }
}

/// The kind back from a schema field's value (to read Halo values for C1).
pub fn kind_of(field: &pb::TicketCustomField) -> Option<FieldKind> {
    Some(match field.value.as_ref()? {
        Cf::StringValue(_) | Cf::StringValues(_) => FieldKind::Text,
        Cf::NumberValue(_) => FieldKind::Number,
        Cf::TimestampValue(_) => FieldKind::Date,
        Cf::BoolValue(_) => FieldKind::Checkbox,
        Cf::PickStringValue(p) => FieldKind::Pick(p.allowed_values.clone()),
        Cf::PickMultipleStringValues(p) => FieldKind::PickMany(p.allowed_values.clone()),
        Cf::PickObjectValue(_) | Cf::PickMultipleObjectValues(_) => return None,
    })
}

/// One schema from a type with its fields (`includedetails=true`) and the tenant's statuses.
/// `skip_field` is the request-key field (ours, not the requester's). Unmappable fields are
/// handed to `unmappable(field, why)`.
pub fn build(
    detail: &TicketType,
    statuses: &[Status],
    skip_field: Option<&str>,
    mut unmappable: impl FnMut(&str, &Unmappable),
) -> pb::TicketSchema {
    let mut custom_fields = std::collections::BTreeMap::new();
    for f in &detail.fields {
        let name = field_name(f);
        if name.is_empty() || skip_field.is_some_and(|s| s.eq_ignore_ascii_case(&name)) {
            continue;
        }
        match classify(&f.fieldinfo) {
            Ok(kind) => {
                custom_fields.insert(
                    name.clone(),
                    pb::TicketCustomField {
                        id: name.clone(),
                        display_name: field_label(f, &name),
                        required: required(f),
                        annotations: Vec::new(),
                        value: Some(empty_value(&kind)),
                    },
                );
            }
            Err(why) => unmappable(&name, &why),
        }
    }
    pb::TicketSchema {
        id: detail.id.to_string(),
        display_name: detail.name.clone(),
        types: vec![pb::TicketType {
            id: detail.id.to_string(),
            display_name: detail.name.clone(),
        }],
        statuses: type_statuses(detail, statuses),
        custom_fields,
        annotations: Vec::new(),
    }
}

/// Every status the type allows (all of them when Halo lists none), in Halo's order.
pub fn type_statuses(t: &TicketType, statuses: &[Status]) -> Vec<pb::TicketStatus> {
    let status = |s: &Status| pb::TicketStatus {
        id: s.id.to_string(),
        display_name: s.name.clone(),
    };
    if t.allowed_status.is_empty() {
        return statuses.iter().map(status).collect();
    }
    t.allowed_status
        .iter()
        .map(|a| match statuses.iter().find(|s| s.id == a.status_id) {
            Some(s) => status(s),
            None => pb::TicketStatus {
                id: a.status_id.to_string(),
                display_name: a.status_name.clone(),
            },
        })
        .collect()
}

/// Whether agents can pick the type and the `include_types` filter lets it through.
pub fn selected(t: &TicketType, include: &[String]) -> bool {
    if t.agentscanselect == Some(false) {
        return false;
    }
    include.is_empty()
        || include.iter().any(|i| {
            let i = i.trim();
            i == t.id.to_string() || i.eq_ignore_ascii_case(t.name.trim())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_and_string_kinds() {
        let k = |v: Value| classify(&v);
        assert_eq!(k(json!({"type": 0, "inputtype": 0})), Ok(FieldKind::Text));
        assert_eq!(k(json!({"type": 0, "inputtype": 1})), Ok(FieldKind::Number));
        assert_eq!(
            k(json!({"type": "0", "inputtype": "4"})),
            Ok(FieldKind::Number)
        );
        assert_eq!(k(json!({"type": 1})), Ok(FieldKind::Text));
        assert_eq!(k(json!({"type": 4, "inputtype": 1})), Ok(FieldKind::Date));
        assert_eq!(k(json!({"type": 6})), Ok(FieldKind::Checkbox));
        assert_eq!(
            k(json!({"type": 2, "values": [{"id": 1, "name": "Read"}, "Write"]})),
            Ok(FieldKind::Pick(vec!["Read".into(), "Write".into()]))
        );
        assert_eq!(
            k(json!({"type": "multiselect", "values": [{"name": "VPN"}]})),
            Ok(FieldKind::PickMany(vec!["VPN".into()]))
        );
        assert_eq!(k(json!({"type": "number"})), Ok(FieldKind::Number));
        assert!(k(json!({"type": 5})).is_err());
        assert!(k(json!({"type": 42})).is_err());
        assert!(k(json!({})).is_err());
    }

    #[test]
    fn statuses_follow_allowed_list_or_all() {
        let statuses: Vec<Status> = serde_json::from_value(json!([
            {"id": 1, "name": "New"}, {"id": 9, "name": "Closed"}, {"id": 3, "name": "Wait"}
        ]))
        .unwrap();
        let t: TicketType = serde_json::from_value(
            json!({"id": 2, "name": "SR", "allowed_status": [{"status_id": 9}, {"status_id": 1}]}),
        )
        .unwrap();
        let ids: Vec<_> = type_statuses(&t, &statuses)
            .into_iter()
            .map(|s| s.display_name)
            .collect();
        assert_eq!(ids, ["Closed", "New"]);
        let all = TicketType::default();
        assert_eq!(type_statuses(&all, &statuses).len(), 3);
    }
}
