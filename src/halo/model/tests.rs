//! Unit tests of the Halo wire model (`model.rs`).

use super::*;
use serde_json::json;

#[test]
fn agent_tolerates_nulls_strings_and_unknown_fields() {
    let a: Agent = serde_json::from_value(json!({
        "id": "42", "name": "Jane Doe", "email": null, "isdisabled": "true",
        "isapiagent": 0, "team": "Service Desk", "lastlogindate": "1900-01-01T00:00:00",
        "teams": [{"team_id": 3, "team_name": "Service Desk", "is_manager": null},
                  {"team_id": "7", "team_name": "Ops"}, "garbage"],
        "roles": [{"id": "7d0c-guid", "name": "Agent"}, {"id": 5, "name": "Legacy"}],
        "something_new": {"x": 1}
    }))
    .unwrap();
    assert_eq!(a.id, 42);
    assert_eq!(a.email, "");
    assert!(a.isdisabled && !a.isapiagent);
    assert_eq!(a.last_login(), None);
    assert_eq!(a.teams.len(), 2);
    assert_eq!(a.teams[1].team_id, 7);
    assert_eq!(a.roles[1].id, "5");
}

#[test]
fn team_members_take_agent_id_or_id_and_tell_missing_from_empty() {
    let t: TeamMembers = serde_json::from_value(json!({
        "id": "3", "name": "Ops",
        "agents": [{"agent_id": 42, "id": 900, "is_manager": true}, {"id": "7"}, 5]
    }))
    .unwrap();
    let agents = t.agents.unwrap();
    assert_eq!(agents.len(), 2);
    assert_eq!((agents[0].agent_id(), agents[0].is_manager), (42, true));
    assert_eq!(agents[1].agent_id(), 7);
    let none: TeamMembers = serde_json::from_value(json!({"id": 3})).unwrap();
    assert_eq!(none.agents, None);
    let null: TeamMembers = serde_json::from_value(json!({"id": 3, "agents": null})).unwrap();
    assert_eq!(null.agents, None);
    let empty: TeamMembers = serde_json::from_value(json!({"id": 3, "agents": []})).unwrap();
    assert_eq!(empty.agents, Some(vec![]));
}

#[test]
fn missing_everything_but_the_id_is_default() {
    let u: User = serde_json::from_value(json!({"id": 0})).unwrap();
    assert_eq!(u, User::default());
    let s: Status = serde_json::from_value(json!({"id": 9, "name": "Closed", "type": 2})).unwrap();
    assert_eq!(s.status_type, 2);
    let r: Role = serde_json::from_value(
        json!({"id": "abc", "id_int": "12", "name": "Admin", "notes": null}),
    )
    .unwrap();
    assert_eq!(r.id_int, 12);
}

/// Identity is strict (issue 18): no id, a wrong-typed id or an out-of-range one fails the
/// row with a message naming the field, never id 0.
#[test]
fn identity_fields_are_required_and_typed() {
    let err = |v: serde_json::Value| serde_json::from_value::<Agent>(v).unwrap_err().to_string();
    assert_eq!(err(json!({"name": "No Id"})), "missing field `id`");
    assert!(err(json!({"id": null})).contains("field `id` is not an integer: null"));
    assert!(err(json!({"id": "abc"})).contains("field `id` is not an integer: \"abc\""));
    assert!(err(json!({"id": 1.5})).contains("field `id` is out of range or not an integer"));
    assert!(err(json!({"id": 1e20})).contains("out of range"));
    assert_eq!(
        serde_json::from_value::<Agent>(json!({"id": " 7 "}))
            .unwrap()
            .id,
        7
    );
    let role = serde_json::from_value::<Role>(json!({"id": "", "name": "x"})).unwrap_err();
    assert!(
        role.to_string()
            .contains("field `id` is not a non-empty string"),
        "{role}"
    );
    for missing in [json!({"name": "Open"}), json!({"status_id": 1})] {
        assert!(serde_json::from_value::<Status>(missing).is_err());
    }
}

/// A ticket type whose allowed statuses or fields lack their ids fails as a whole, naming
/// the list and the row; `null` or a missing list is still "not restricted".
#[test]
fn nested_identity_rows_fail_the_type() {
    let t = serde_json::from_value::<TicketType>(json!({
        "id": 3, "allowed_status": [{"status_id": 1}, {"id": 2, "name": "Open"}]
    }))
    .unwrap_err();
    assert!(
        t.to_string()
            .contains("`allowed_status` row 2: missing field `status_id`"),
        "{t}"
    );
    let f =
        serde_json::from_value::<TicketType>(json!({"id": 3, "fields": [{"fieldname": "CFx"}]}))
            .unwrap_err();
    assert!(
        f.to_string()
            .contains("`fields` row 1: missing field `fieldid`"),
        "{f}"
    );
    let ok: TicketType = serde_json::from_value(json!({"id": 3, "allowed_status": null})).unwrap();
    assert!(ok.allowed_status.is_empty() && ok.fields.is_empty());
}
