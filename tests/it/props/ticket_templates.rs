//! Ticket templates (`tickets create --template FILE.json`): any text and any JSON built from
//! the template's keys parse to a `Template` or a typed error; a template turns into a
//! request against a schema with every field kind, or a typed error naming the field.

use baton_haloitsm::pb;
use baton_haloitsm::ticketing::schema::{FieldKind, empty_value};
use baton_haloitsm::ticketing::template::Template;
use proptest::prelude::*;
use serde_json::{Map, Value};

use super::cases;
use super::strategies::{json, mutated, scalar};

const FIELDS: &[&str] = &[
    "CFText", "CFNum", "CFDate", "CFBool", "CFPick", "CFMany", "CFObject",
];

const NAMES: &[&str] = &[
    "schema_id",
    "status_id",
    "display_name",
    "description",
    "labels",
    "custom_fields",
    "requested_for_id",
    "CFText",
    "CFNum",
    "CFDate",
    "CFBool",
    "CFPick",
    "CFMany",
    "CFObject",
];

const VALID: &str = r#"{"schema_id": "1", "status_id": "2", "display_name": "Laptop",
  "description": "new laptop", "labels": ["a", "b"],
  "custom_fields": {"CFText": "hi", "CFNum": 2.5, "CFDate": "2026-12-01T09:00:00",
                    "CFBool": true, "CFPick": "A", "CFMany": ["A", "B"]},
  "requested_for_id": "agent:42"}"#;

/// A schema with one field of every kind, and one of a kind templates cannot fill.
fn schema() -> pb::TicketSchema {
    let mut s = pb::TicketSchema {
        id: "1".into(),
        ..Default::default()
    };
    let kinds = [
        ("CFText", Some(empty_value(&FieldKind::Text))),
        ("CFNum", Some(empty_value(&FieldKind::Number))),
        ("CFDate", Some(empty_value(&FieldKind::Date))),
        ("CFBool", Some(empty_value(&FieldKind::Checkbox))),
        (
            "CFPick",
            Some(empty_value(&FieldKind::Pick(vec!["A".into(), "B".into()]))),
        ),
        (
            "CFMany",
            Some(empty_value(&FieldKind::PickMany(vec![
                "A".into(),
                "B".into(),
            ]))),
        ),
        ("CFObject", None),
    ];
    for (name, value) in kinds {
        s.custom_fields.insert(
            name.into(),
            pb::TicketCustomField {
                id: name.into(),
                value,
                ..Default::default()
            },
        );
    }
    s
}

/// A template object: its real keys with values of any shape, custom fields mostly named
/// after the schema's.
fn template_json() -> impl Strategy<Value = Value> {
    let custom = prop::collection::btree_map(
        prop_oneof![4 => proptest::sample::select(FIELDS).prop_map(str::to_string), 1 => "[A-Za-z]{0,6}"],
        prop_oneof![
            scalar(),
            prop::collection::vec(scalar(), 0..4).prop_map(Value::Array),
            "20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2}|\\.[0-9]{1,9})?"
                .prop_map(Value::String),
        ],
        0..6,
    );
    let base = (
        any::<String>(),
        prop::option::of("\\PC{0,6}"),
        prop::option::of(prop::collection::vec("\\PC{0,6}", 0..3)),
        custom,
        prop::option::of(prop_oneof![
            Just("agent:42".to_string()),
            Just("a@b.c".to_string()),
            "\\PC{0,10}",
        ]),
        prop::option::of(json(NAMES)),
    );
    base.prop_map(|(display, status, labels, custom, requested_for, junk)| {
        let mut m = Map::new();
        m.insert("schema_id".into(), Value::from("1"));
        m.insert("display_name".into(), Value::from(display));
        if let Some(s) = status {
            m.insert("status_id".into(), Value::from(s));
        }
        if let Some(l) = labels {
            m.insert("labels".into(), Value::from(l));
        }
        m.insert(
            "custom_fields".into(),
            Value::Object(custom.into_iter().collect()),
        );
        if let Some(r) = requested_for {
            m.insert("requested_for_id".into(), Value::from(r));
        }
        if let Some(j) = junk {
            m.insert("extra".into(), j);
        }
        Value::Object(m)
    })
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let Ok(t) = Template::parse(text) else {
        return Ok(());
    };
    match t.to_request(&schema()) {
        Ok(r) => {
            prop_assert_eq!(r.custom_fields.len(), t.custom_fields.len());
            prop_assert_eq!(&r.display_name, &t.display_name);
            prop_assert!(r.custom_fields.values().all(|f| f.value.is_some()));
        }
        Err(e) => {
            // A refused field is named.
            let msg = e.message().to_string();
            prop_assert!(
                msg.contains("custom_fields."),
                "refusal without the field: {}",
                msg
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn any_text_is_a_template_or_refused(text in prop_oneof![any::<String>(), mutated(VALID.to_string())]) {
        check(&text)?;
    }

    #[test]
    fn any_json_is_a_template_or_refused(value in prop_oneof![json(NAMES), template_json()]) {
        check(&value.to_string())?;
    }

    #[test]
    fn a_template_without_extras_reads_its_fields(
        value in template_json().prop_map(|mut v| { v.as_object_mut().unwrap().remove("extra"); v }),
    ) {
        let t = Template::parse(&value.to_string())
            .map_err(|e| TestCaseError::fail(format!("valid template refused: {e}")))?;
        prop_assert_eq!(Value::from(t.display_name.clone()), value["display_name"].clone());
        check(&value.to_string())?;
    }
}

#[test]
fn the_valid_template_fills_every_kind() {
    let t = Template::parse(VALID).unwrap();
    let r = t.to_request(&schema()).unwrap();
    assert_eq!(r.custom_fields.len(), 6);
}
