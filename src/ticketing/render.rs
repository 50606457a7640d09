//! Plain JSON views of schemas and tickets for the `tickets` CLI (the pb types carry no
//! serde derive; C1 gets the protobuf messages themselves).

use serde_json::{Value, json};

use crate::pb;
use crate::pb::ticket_custom_field::Value as Cf;

fn field_value(v: Option<&Cf>) -> (&'static str, Value, Vec<String>) {
    match v {
        Some(Cf::StringValue(s)) => ("text", json!(s.value), vec![]),
        Some(Cf::StringValues(s)) => ("text list", json!(s.values), vec![]),
        Some(Cf::BoolValue(b)) => ("checkbox", json!(b.value), vec![]),
        Some(Cf::TimestampValue(t)) => (
            "date",
            t.value
                .as_ref()
                .map_or(Value::Null, |t| json!(t.to_string())),
            vec![],
        ),
        Some(Cf::PickStringValue(p)) => ("pick", json!(p.value), p.allowed_values.clone()),
        Some(Cf::PickMultipleStringValues(p)) => {
            ("pick many", json!(p.values), p.allowed_values.clone())
        }
        Some(Cf::NumberValue(n)) => ("number", json!(n.value), vec![]),
        Some(Cf::PickObjectValue(_)) | Some(Cf::PickMultipleObjectValues(_)) => {
            ("object", Value::Null, vec![])
        }
        None => ("unknown", Value::Null, vec![]),
    }
}

pub fn schema(s: &pb::TicketSchema) -> Value {
    let fields: serde_json::Map<String, Value> = s
        .custom_fields
        .iter()
        .map(|(name, f)| {
            let (kind, _, allowed) = field_value(f.value.as_ref());
            let mut v =
                json!({"display_name": f.display_name, "kind": kind, "required": f.required});
            if !allowed.is_empty() {
                v["allowed_values"] = json!(allowed);
            }
            (name.clone(), v)
        })
        .collect();
    json!({
        "id": s.id,
        "display_name": s.display_name,
        "statuses": s.statuses.iter().map(|x| json!({"id": x.id, "name": x.display_name})).collect::<Vec<_>>(),
        "custom_fields": fields,
    })
}

pub fn ticket(t: &pb::Ticket) -> Value {
    let ts = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| t.to_string());
    let fields: serde_json::Map<String, Value> = t
        .custom_fields
        .iter()
        .map(|(name, f)| (name.clone(), field_value(f.value.as_ref()).1))
        .collect();
    json!({
        "id": t.id,
        "display_name": t.display_name,
        "description": t.description,
        "status": t.status.as_ref().map(|s| json!({"id": s.id, "name": s.display_name})),
        "type": t.r#type.as_ref().map(|s| json!({"id": s.id, "name": s.display_name})),
        "labels": t.labels,
        "url": t.url,
        "created_at": ts(&t.created_at),
        "updated_at": ts(&t.updated_at),
        "completed_at": ts(&t.completed_at),
        "custom_fields": fields,
    })
}
