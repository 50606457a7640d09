//! Halo's JSON: the list envelope (`parse_page`) on any bytes and any JSON, and every model
//! (`Agent`, `Team`, ... through `typed_rows`, as the endpoints read them) on any JSON built
//! from its real field names. A row whose id is a valid integer is read with that id,
//! whatever else it carries.

use baton_haloitsm::halo::paging::{parse_page, typed_rows};
use baton_haloitsm::halo::{
    Action, Agent, AuthInfo, Deleted, Role, Status, Team, TeamMembers, Ticket, TicketType, User,
};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::cases;
use super::strategies::{json, scalar};

/// Every field name of the models, their nested rows and the envelope.
const NAMES: &[&str] = &[
    "id",
    "name",
    "firstname",
    "surname",
    "email",
    "jobtitle",
    "isdisabled",
    "isapiagent",
    "team",
    "lastlogindate",
    "ad",
    "teams",
    "roles",
    "team_id",
    "team_name",
    "is_manager",
    "department_id",
    "guid",
    "inactive",
    "department_name",
    "agents",
    "agent_id",
    "id_int",
    "notes",
    "is_integration",
    "emailaddress",
    "login",
    "isserviceaccount",
    "site_id",
    "site_name",
    "client_id",
    "client_name",
    "linked_agent_id",
    "group_id",
    "group_name",
    "agentscanselect",
    "visible",
    "initial_status",
    "allowed_status",
    "fields",
    "status_id",
    "status_name",
    "fieldid",
    "fieldname",
    "technew",
    "techdetail",
    "fieldinfo",
    "shortname",
    "type",
    "sequence",
    "colour",
    "summary",
    "details",
    "tickettype_id",
    "priority_id",
    "user_id",
    "web_url",
    "hasbeenclosed",
    "dateclosed",
    "dateoccurred",
    "lastactiondate",
    "category_1",
    "customfields",
    "label",
    "value",
    "display",
    "ticket_id",
    "note",
    "outcome",
    "outcome_id",
    "hiddenfromuser",
    "new_status",
    "auth_url",
    "tenant_id",
    "_warning",
    "record_count",
    "results",
    "users",
    "tickets",
    "columns_agents",
];

/// Fields that identify a row (or a nested row), and the lists of rows with identities (a
/// ticket type's statuses and fields, strict as a whole): left out of the extra fields of a
/// valid row, so that a stricter reading of them cannot make a valid row invalid.
const IDENTITY: &[&str] = &[
    "allowed_status",
    "fields",
    "id",
    "agent_id",
    "team_id",
    "ticket_id",
    "status_id",
    "fieldid",
    "id_int",
    "tickettype_id",
];

/// Parse `row` as `T` both directly and as `typed_rows` does; neither may panic.
fn parse_any<T: DeserializeOwned>(row: &Value) {
    let _ = serde_json::from_value::<T>(row.clone());
    let _ = typed_rows::<T>(vec![row.clone()], "props", 1);
}

fn parse_every_model(row: &Value) {
    parse_any::<Agent>(row);
    parse_any::<Team>(row);
    parse_any::<TeamMembers>(row);
    parse_any::<Role>(row);
    parse_any::<User>(row);
    parse_any::<TicketType>(row);
    parse_any::<Status>(row);
    parse_any::<Ticket>(row);
    parse_any::<Action>(row);
    parse_any::<AuthInfo>(row);
    parse_any::<Deleted>(row);
}

/// Scalar extra fields for a valid row: any real (non-identity) name or junk.
fn extras() -> impl Strategy<Value = Map<String, Value>> {
    let names: Vec<&'static str> = NAMES
        .iter()
        .copied()
        .filter(|n| !IDENTITY.contains(n))
        .collect();
    let key = prop_oneof![
        3 => proptest::sample::select(names).prop_map(str::to_string),
        1 => "[a-z]{1,8}_x",
    ];
    prop::collection::vec((key, scalar()), 0..8).prop_map(|kv| kv.into_iter().collect())
}

/// A positive integer id, sometimes sent as a string (Halo does both).
fn int_id() -> impl Strategy<Value = (i64, Value)> {
    (1i64..=i64::MAX, any::<bool>()).prop_map(|(id, as_string)| {
        let v = if as_string {
            Value::String(id.to_string())
        } else {
            Value::from(id)
        };
        (id, v)
    })
}

fn valid_rows() -> impl Strategy<Value = Vec<(i64, Value)>> {
    prop::collection::vec((int_id(), extras()), 0..12).prop_map(|rows| {
        rows.into_iter()
            .map(|((id, v), mut m)| {
                m.insert("id".into(), v);
                (id, Value::Object(m))
            })
            .collect()
    })
}

/// Rows with valid ids, typed as `T`: accepted, and each id is the one generated.
fn ids_survive<T: DeserializeOwned>(rows: &[(i64, Value)], id_of: impl Fn(&T) -> i64) {
    let values: Vec<Value> = rows.iter().map(|(_, v)| v.clone()).collect();
    let typed: Vec<T> = match typed_rows(values, "props", 1) {
        Ok(t) => t,
        Err(e) => panic!("rows with valid ids refused: {e}"),
    };
    let got: Vec<i64> = typed.iter().map(id_of).collect();
    let want: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    assert_eq!(got, want);
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn page_of_any_bytes_is_rows_or_a_typed_error(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_page(&body, "agents");
    }

    #[test]
    fn page_of_any_json_is_rows_or_a_typed_error(
        value in json(NAMES),
        key in prop_oneof![Just("agents".to_string()), Just("Teams".to_string()), "[a-z]{0,6}"],
    ) {
        let body = serde_json::to_vec(&value).unwrap();
        // serde_json's float reading is not exact to the last bit; compare with its own reading.
        let value: Value = serde_json::from_slice(&body).unwrap();
        match (parse_page(&body, &key), &value) {
            (Ok(page), Value::Array(rows)) => {
                prop_assert_eq!(&page.rows, rows);
                prop_assert_eq!(page.record_count, None);
            }
            (Err(e), Value::Array(_)) => prop_assert!(false, "a bare array refused: {}", e),
            // Any object: rows, an empty list, or a Protocol error naming the keys.
            (_, Value::Object(_)) => {}
            (Ok(page), _) => prop_assert!(false, "a scalar body read as {:?}", page),
            (Err(_), _) => {}
        }
    }

    #[test]
    fn every_model_reads_any_json_or_refuses_it(value in json(NAMES)) {
        parse_every_model(&value);
        if let Value::Object(m) = &value {
            // The same fields once more inside a list, as the nested rows are read.
            for inner in m.values() {
                parse_every_model(inner);
            }
        }
    }

    #[test]
    fn rows_with_valid_ids_keep_their_ids(rows in valid_rows()) {
        ids_survive::<Agent>(&rows, |a| a.id);
        ids_survive::<Team>(&rows, |t| t.id);
        ids_survive::<TeamMembers>(&rows, |t| t.id);
        ids_survive::<User>(&rows, |u| u.id);
        ids_survive::<TicketType>(&rows, |t| t.id);
        ids_survive::<Status>(&rows, |s| s.id);
        ids_survive::<Ticket>(&rows, |t| t.id);
        ids_survive::<Action>(&rows, |a| a.id);
        ids_survive::<Deleted>(&rows, |d| d.id);
    }

    #[test]
    fn a_page_of_valid_rows_reads_back_whole(
        rows in valid_rows(),
        shape in 0u8..3,
        key in prop_oneof![Just("agents"), Just("AGENTS"), Just("results")],
    ) {
        let values: Vec<Value> = rows.iter().map(|(_, v)| v.clone()).collect();
        let n = values.len();
        let body = match shape {
            0 => json!(values),
            1 => json!({ key: values, "record_count": n }),
            _ => json!({ "columns_agents": [], key: values, "record_count": n.to_string() }),
        };
        let page = parse_page(&serde_json::to_vec(&body).unwrap(), "agents")
            .map_err(|e| TestCaseError::fail(format!("valid page refused: {e}")))?;
        prop_assert_eq!(page.record_count, (shape != 0).then_some(n as u64));
        let agents: Vec<Agent> = typed_rows(page.rows, "props", 1)
            .map_err(|e| TestCaseError::fail(format!("valid rows refused: {e}")))?;
        let got: Vec<i64> = agents.iter().map(|a| a.id).collect();
        let want: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn roles_keep_their_guid(
        guid in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        extra in extras(),
    ) {
        let mut m = extra;
        m.insert("id".into(), Value::String(guid.clone()));
        let roles: Vec<Role> = typed_rows(vec![Value::Object(m)], "props", 1)
            .map_err(|e| TestCaseError::fail(format!("valid role refused: {e}")))?;
        prop_assert_eq!(&roles[0].id, &guid);
    }
}
