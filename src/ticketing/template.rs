//! baton's local ticket template (`tickets create --template FILE.json`):
//! `{schema_id, status_id, display_name, description, labels, custom_fields{}, requested_for_id}`.
//! Custom field values are plain JSON, typed here by the schema's field kinds, so a wrong
//! type or an unknown field is refused with its name before anything is sent.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::error::{Error, Result};
use super::schema::{FieldKind, empty_value, kind_of};
use crate::contract::dates::parse_halo_date;
use crate::pb;
use crate::pb::ticket_custom_field::Value as Cf;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub schema_id: String,
    #[serde(default)]
    pub status_id: String,
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, Value>,
    /// `user:12`, `agent:42`, an email, or a bare end-user id.
    #[serde(default)]
    pub requested_for_id: String,
}

impl Template {
    /// Parse the file's text; the error says where the JSON is wrong.
    pub fn parse(text: &str) -> Result<Template> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| Error::invalid(format!("template: {} (at `{}`)", e.inner(), e.path())))
    }

    /// The request for `schema` (whose fields type the values).
    pub fn to_request(&self, schema: &pb::TicketSchema) -> Result<pb::TicketRequest> {
        let mut custom_fields = BTreeMap::new();
        for (name, raw) in &self.custom_fields {
            let def = schema.custom_fields.get(name).ok_or_else(|| {
                Error::invalid(format!(
                    "custom_fields.{name}: unknown field for schema `{}`",
                    schema.id
                ))
            })?;
            let kind = kind_of(def).ok_or_else(|| {
                Error::invalid(format!("custom_fields.{name}: unsupported field kind"))
            })?;
            let value = typed(name, &kind, raw)?;
            custom_fields.insert(
                name.clone(),
                pb::TicketCustomField {
                    id: name.clone(),
                    value: Some(value),
                    ..Default::default()
                },
            );
        }
        Ok(pb::TicketRequest {
            display_name: self.display_name.clone(),
            description: self.description.clone(),
            status: (!self.status_id.trim().is_empty()).then(|| pb::TicketStatus {
                id: self.status_id.trim().to_string(),
                display_name: String::new(),
            }),
            r#type: None,
            labels: self.labels.clone(),
            custom_fields,
            requested_for: requested_for(self.requested_for_id.trim()),
        })
    }
}

fn requested_for(id: &str) -> Option<pb::Resource> {
    if id.is_empty() {
        return None;
    }
    let (rtype, rid) = match id.split_once(':') {
        Some((t, r)) if !id.contains('@') => (t, r),
        _ if id.contains('@') => ("user", id),
        _ => ("user", id),
    };
    Some(pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: rtype.to_string(),
            resource: rid.to_string(),
            ..Default::default()
        }),
        ..Default::default()
    })
}

fn typed(name: &str, kind: &FieldKind, raw: &Value) -> Result<Cf> {
    let wrong = |want: &str| {
        Error::invalid(format!(
            "custom_fields.{name}: expected {want}, got `{raw}`"
        ))
    };
    let strings = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect()
    };
    Ok(match (kind, empty_value(kind)) {
        (FieldKind::Text, _) => Cf::StringValue(pb::TicketCustomFieldStringValue {
            value: raw.as_str().ok_or_else(|| wrong("a string"))?.to_string(),
            default_value: String::new(),
        }),
        (FieldKind::Number, _) => Cf::NumberValue(pb::TicketCustomFieldNumberValue {
            value: Some(raw.as_f64().ok_or_else(|| wrong("a number"))? as f32),
            default_value: None,
        }),
        (FieldKind::Date, _) => {
            let s = raw.as_str().ok_or_else(|| wrong("a date string"))?;
            let ts = parse_halo_date(s).ok_or_else(|| wrong("a date like 2026-12-01T09:00:00Z"))?;
            Cf::TimestampValue(pb::TicketCustomFieldTimestampValue {
                value: Some(ts),
                default_value: None,
            })
        }
        (FieldKind::Checkbox, _) => Cf::BoolValue(pb::TicketCustomFieldBoolValue {
            value: raw.as_bool().ok_or_else(|| wrong("true or false"))?,
        }),
        (FieldKind::Pick(_), Cf::PickStringValue(mut p)) => {
            p.value = raw.as_str().ok_or_else(|| wrong("a string"))?.to_string();
            Cf::PickStringValue(p)
        }
        (FieldKind::PickMany(_), Cf::PickMultipleStringValues(mut p)) => {
            p.values = strings(raw).ok_or_else(|| wrong("an array of strings"))?;
            Cf::PickMultipleStringValues(p)
        }
        _ => return Err(wrong("a supported value")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> pb::TicketSchema {
        let mut s = pb::TicketSchema {
            id: "1".into(),
            ..Default::default()
        };
        for (name, kind) in [
            ("CFText", FieldKind::Text),
            ("CFNum", FieldKind::Number),
            ("CFPick", FieldKind::Pick(vec!["A".into()])),
        ] {
            s.custom_fields.insert(
                name.into(),
                pb::TicketCustomField {
                    id: name.into(),
                    value: Some(empty_value(&kind)),
                    ..Default::default()
                },
            );
        }
        s
    }

    #[test]
    fn template_fields_are_typed_by_the_schema() {
        let t = Template::parse(
            r#"{"schema_id": "1", "display_name": "x", "labels": ["a"],
                "custom_fields": {"CFText": "hi", "CFNum": 2, "CFPick": "A"},
                "requested_for_id": "agent:42"}"#,
        )
        .unwrap();
        let r = t.to_request(&schema()).unwrap();
        assert_eq!(r.custom_fields.len(), 3);
        assert_eq!(r.requested_for.unwrap().id.unwrap().resource_type, "agent");
    }

    #[test]
    fn bad_templates_name_the_problem() {
        assert!(
            Template::parse("not json")
                .unwrap_err()
                .message()
                .contains("template")
        );
        let e =
            Template::parse(r#"{"schema_id": "1", "display_name": "x", "bogus": 1}"#).unwrap_err();
        assert!(e.message().contains("bogus"), "{e}");
        let t = Template::parse(
            r#"{"schema_id": "1", "display_name": "x", "custom_fields": {"CFNum": "two"}}"#,
        )
        .unwrap();
        assert!(
            t.to_request(&schema())
                .unwrap_err()
                .message()
                .contains("CFNum")
        );
        let t = Template::parse(
            r#"{"schema_id": "1", "display_name": "x", "custom_fields": {"CFWho": "?"}}"#,
        )
        .unwrap();
        assert!(
            t.to_request(&schema())
                .unwrap_err()
                .message()
                .contains("CFWho")
        );
    }
}
