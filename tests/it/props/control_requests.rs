//! The control socket's requests (one JSON line) and the entitlement, grant and resource ids
//! inside them: any text and edits of valid requests give a request or a serde error, a
//! request's ids parse or are refused with an `IdError`; a parsed id formats back to the
//! exact text it came from, and every valid id survives format → parse.

use baton_haloitsm::contract::ids::{EntitlementRef, GrantRef, ResourceRef};
use baton_haloitsm::provisioning::control_socket::ControlRequest;
use baton_haloitsm::provisioning::operation::OpRequest;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::cases;
use super::strategies::{json as any_json, mutated};

const NAMES: &[&str] = &[
    "submit",
    "list",
    "request",
    "requested_by",
    "wait",
    "status",
    "limit",
    "op",
    "entitlement",
    "principal",
    "grant",
    "resource",
    "email",
    "name",
    "firstname",
    "surname",
    "team",
    "role",
    "create_account",
    "disable_account",
    "enable_account",
    "delete_resource",
    "revoke",
    "queued",
    "running",
    "finished",
];

const VALID: &[&str] = &[
    r#"{"submit": {"request": {"op": "grant", "entitlement": "team:3:member", "principal": "agent:42"}, "requested_by": "alice", "wait": true}}"#,
    r#"{"submit": {"request": {"op": "revoke", "grant": "role:7d0c-aa:assigned:agent:1"}, "requested_by": "bob", "wait": false}}"#,
    r#"{"submit": {"request": {"op": "create_account", "email": "a@b.c", "firstname": "A", "team": 3, "role": "g-1"}, "requested_by": "c1", "wait": true}}"#,
    r#"{"submit": {"request": {"op": "disable_account", "resource": "agent:9"}, "requested_by": "x", "wait": true}}"#,
    r#"{"list": {"status": "queued", "limit": 100}}"#,
    r#"{"list": {"status": null, "limit": 0}}"#,
];

/// Parse a request line as the daemon does; a submitted request's ids as the queue does.
fn handle(line: &str) {
    if let Ok(ControlRequest::Submit { request, .. }) = serde_json::from_str::<ControlRequest>(line)
    {
        let _ = request.parse();
        // What the daemon parsed, it can say back (the CLI logs it).
        let again: OpRequest =
            serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
        assert_eq!(again, request);
    }
}

fn resource() -> impl Strategy<Value = ResourceRef> {
    prop_oneof![
        (1i64..=i64::MAX).prop_map(ResourceRef::Agent),
        (1i64..=i64::MAX).prop_map(ResourceRef::Team),
        (1i64..=i64::MAX).prop_map(ResourceRef::User),
        guid().prop_map(ResourceRef::Role),
    ]
}

/// A role id: anything without `:` and without surrounding blanks.
fn guid() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[^:\\s][^:]{0,10}[^:\\s]",
    ]
}

fn entitlement() -> impl Strategy<Value = EntitlementRef> {
    prop_oneof![
        (1i64..=i64::MAX).prop_map(EntitlementRef::TeamMember),
        guid().prop_map(EntitlementRef::RoleAssigned),
    ]
}

fn id_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "(agent|team|role|user|site)?:?[0-9a-z+ -]{0,4}(:(member|assigned|x)?)?(:agent:[0-9-]{0,4})?",
        mutated("team:3:member:agent:42".into()),
        mutated("role:7d0c-aa:assigned:agent:1".into()),
    ]
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn any_line_is_a_request_or_refused(line in prop_oneof![
        any::<String>(),
        proptest::sample::select(VALID).prop_flat_map(|v| mutated(v.to_string())),
    ]) {
        handle(&line);
    }

    #[test]
    fn any_json_is_a_request_or_refused(value in prop_oneof![
        any_json(NAMES),
        any_json(NAMES).prop_map(|request| json!({"submit": {"request": request, "requested_by": "p", "wait": true}})),
        (any_json(NAMES), any_json(NAMES)).prop_map(|(status, limit)| json!({"list": {"status": status, "limit": limit}})),
    ]) {
        handle(&value.to_string());
    }

    #[test]
    fn parsed_ids_format_back_to_their_text(s in id_text()) {
        if let Ok(r) = ResourceRef::parse(&s) {
            prop_assert_eq!(r.to_string(), s.clone());
        }
        if let Ok(e) = EntitlementRef::parse(&s) {
            prop_assert_eq!(e.to_string(), s.clone());
        }
        if let Ok(g) = GrantRef::parse(&s) {
            prop_assert_eq!(g.to_string(), s.clone());
        }
        // A refusal names the id it refused.
        if let Err(e) = GrantRef::parse(&s) {
            prop_assert!(e.to_string().contains(&s));
        }
    }

    #[test]
    fn valid_ids_survive_format_and_parse(r in resource(), e in entitlement(), agent in 1i64..=i64::MAX) {
        prop_assert_eq!(ResourceRef::parse(&r.to_string()), Ok(r.clone()));
        prop_assert_eq!(EntitlementRef::parse(&e.to_string()), Ok(e.clone()));
        let g = GrantRef { entitlement: e, agent_id: agent };
        prop_assert_eq!(GrantRef::parse(&g.to_string()), Ok(g.clone()));
        // And through a control request, as the CLI sends it.
        let line = json!({"submit": {"request": {"op": "revoke", "grant": g.to_string()}, "requested_by": "p", "wait": false}});
        let Ok(ControlRequest::Submit { request, .. }) = serde_json::from_value::<ControlRequest>(line) else {
            return Err(TestCaseError::fail("a valid revoke request refused"));
        };
        let op = request.parse().map_err(TestCaseError::fail)?;
        let json_op: Value = serde_json::to_value(&op).unwrap();
        prop_assert_eq!(json_op["grant"]["agent_id"].as_i64(), Some(agent));
    }
}
