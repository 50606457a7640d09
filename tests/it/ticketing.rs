//! External ticketing against the simulator over HTTP: schemas (all statuses, every field
//! kind), create with every kind and read back, validation that sends nothing, close through
//! /api/Actions, no duplicate after a create timeout, bulk per-item errors, and the
//! provisioning fallback loop.

use std::collections::BTreeMap;
use std::time::Duration;

use baton_haloitsm::halo::{self, HaloSettings};
use baton_haloitsm::pb;
use baton_haloitsm::pb::ticket_custom_field::Value as Cf;
use baton_haloitsm::telemetry;
use baton_haloitsm::ticketing::{ErrorKind, FallbackTicket, Ticketing, TicketingSettings};
use haloitsm_sim::{SimConfig, SimHandle};

use crate::support::halo::{bounded, settings};
use crate::support::metrics::ran_in_own_process;
use crate::support::sim::{count_requests, start};

fn service(sim: &SimHandle, s: TicketingSettings) -> Ticketing {
    service_with(settings(sim), s)
}

fn service_with(halo: HaloSettings, s: TicketingSettings) -> Ticketing {
    let base = halo.base_url.clone();
    Ticketing::new(halo::start(halo), s, base)
}

fn enabled() -> TicketingSettings {
    TicketingSettings {
        enabled: true,
        fallback_resolved_status: Some("Resolved".into()),
        ..TicketingSettings::default()
    }
}

fn cf(value: Cf) -> pb::TicketCustomField {
    pb::TicketCustomField {
        value: Some(value),
        ..Default::default()
    }
}

fn text(s: &str) -> pb::TicketCustomField {
    cf(Cf::StringValue(pb::TicketCustomFieldStringValue {
        value: s.into(),
        ..Default::default()
    }))
}

fn number(n: f32) -> pb::TicketCustomField {
    cf(Cf::NumberValue(pb::TicketCustomFieldNumberValue {
        value: Some(n),
        default_value: None,
    }))
}

/// A value for every mappable kind the simulator's types carry.
fn every_kind() -> BTreeMap<String, pb::TicketCustomField> {
    let ts = |s: i64| prost_types::Timestamp {
        seconds: s,
        nanos: 0,
    };
    BTreeMap::from([
        ("CFRequestReason".into(), text("New starter")),
        ("CFQuantity".into(), number(3.0)),
        (
            "CFNeededBy".into(),
            cf(Cf::TimestampValue(pb::TicketCustomFieldTimestampValue {
                value: Some(ts(1_767_225_600)),
                default_value: None,
            })),
        ),
        (
            "CFAccessLevel".into(),
            cf(Cf::PickStringValue(pb::TicketCustomFieldPickStringValue {
                value: "Write".into(),
                ..Default::default()
            })),
        ),
        (
            "CFManagerApproved".into(),
            cf(Cf::BoolValue(pb::TicketCustomFieldBoolValue {
                value: true,
            })),
        ),
        ("CFJustification".into(), text("Line one\nLine two")),
        (
            "CFSystems".into(),
            cf(Cf::PickMultipleStringValues(
                pb::TicketCustomFieldPickMultipleStringValues {
                    values: vec!["VPN".into(), "CRM".into()],
                    ..Default::default()
                },
            )),
        ),
        ("CFCost".into(), number(12.5)),
        (
            "CFStartAt".into(),
            cf(Cf::TimestampValue(pb::TicketCustomFieldTimestampValue {
                value: Some(ts(1_767_258_000)),
                default_value: None,
            })),
        ),
        ("CFNotes".into(), text("<p>rich</p>")),
    ])
}

fn request(name: &str, fields: BTreeMap<String, pb::TicketCustomField>) -> pb::TicketRequest {
    pb::TicketRequest {
        display_name: name.into(),
        description: "Requested through ConductorOne".into(),
        labels: vec!["access".into(), "c1".into()],
        custom_fields: fields,
        ..Default::default()
    }
}

fn variant_name(f: &pb::TicketCustomField) -> &'static str {
    match f.value.as_ref().unwrap() {
        Cf::StringValue(_) => "string",
        Cf::NumberValue(_) => "number",
        Cf::TimestampValue(_) => "timestamp",
        Cf::PickStringValue(_) => "pick",
        Cf::PickMultipleStringValues(_) => "pick_many",
        Cf::BoolValue(_) => "bool",
        _ => "other",
    }
}

#[actix::test]
async fn schemas_carry_all_statuses_and_every_field_kind() {
    bounded(30, async {
        let sim = start(SimConfig {
            ticket_types: 7,
            ..SimConfig::default()
        })
        .await;
        let t = service(&sim, enabled());
        let (page1, token) = t.list_schemas(4, "").await.unwrap();
        assert_eq!(page1.len(), 4);
        assert!(!token.is_empty());
        let (page2, last) = t.list_schemas(4, &token).await.unwrap();
        assert!(last.is_empty(), "second page is the last");
        let all: Vec<_> = page1.into_iter().chain(page2).collect();
        // Type 6 is hidden from agents; 1..=5 and 7 remain.
        let ids: Vec<_> = all.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5", "7"]);

        let snap = sim.control().snapshot();
        for s in &all {
            let tt = snap
                .ticket_types
                .iter()
                .find(|t| t.id.to_string() == s.id)
                .unwrap();
            assert_eq!(s.display_name, tt.name);
            // Every status the type allows, with its name.
            let want: Vec<(String, String)> = tt
                .allowed_status
                .iter()
                .map(|id| {
                    let st = snap.statuses.iter().find(|x| x.id == *id).unwrap();
                    (id.to_string(), st.name.clone())
                })
                .collect();
            let got: Vec<(String, String)> = s
                .statuses
                .iter()
                .map(|x| (x.id.clone(), x.display_name.clone()))
                .collect();
            assert_eq!(got, want, "schema {}", s.id);
        }
        let odd = &all[0];
        assert_eq!(odd.statuses.len(), 6, "pending statuses are listed too");

        let kinds: BTreeMap<&str, &str> = odd
            .custom_fields
            .iter()
            .map(|(k, v)| (k.as_str(), variant_name(v)))
            .collect();
        assert_eq!(
            kinds,
            BTreeMap::from([
                ("CFAccessLevel", "pick"),
                ("CFC1RequestKey", "string"),
                ("CFCost", "number"),
                ("CFJustification", "string"),
                ("CFManagerApproved", "bool"),
                ("CFNeededBy", "timestamp"),
                ("CFNotes", "string"),
                ("CFQuantity", "number"),
                ("CFRequestReason", "string"),
                ("CFStartAt", "timestamp"),
                ("CFSystems", "pick_many"),
            ])
        );
        assert!(odd.custom_fields["CFRequestReason"].required);
        assert!(!odd.custom_fields["CFQuantity"].required);
        assert!(
            all[1].custom_fields["CFQuantity"].required,
            "type 2: number is mandatory"
        );
        match odd.custom_fields["CFAccessLevel"].value.as_ref().unwrap() {
            Cf::PickStringValue(p) => assert_eq!(p.allowed_values, ["Read", "Write", "Admin"]),
            other => panic!("{other:?}"),
        }
        // Type 3's time-of-day field cannot be mapped: the schema is listed without it.
        let access = all.iter().find(|s| s.id == "3").unwrap();
        assert!(!access.custom_fields.contains_key("CFPreferredTime"));
        assert_eq!(access.custom_fields.len(), odd.custom_fields.len());

        // Warm cache: the same answers without a single request.
        sim.control().clear_requests();
        let (again, _) = t.list_schemas(250, "").await.unwrap();
        assert_eq!(again, all);
        assert!(
            sim.control().requests().is_empty(),
            "{:?}",
            sim.control().requests()
        );

        let one = t.get_schema("2").await.unwrap();
        assert_eq!(one, all[1]);
        assert_eq!(
            t.get_schema("6").await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            t.get_schema("x").await.unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            t.list_schemas(251, "").await.unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            t.list_schemas(10, "garbage").await.unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    })
    .await;
}

#[actix::test]
async fn include_types_by_id_or_name_and_key_field_left_out() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let t = service(
            &sim,
            TicketingSettings {
                include_types: vec!["2".into(), "access request".into()],
                request_key_field: "CFC1RequestKey".into(),
                ..enabled()
            },
        );
        let (schemas, _) = t.list_schemas(0, "").await.unwrap();
        let names: Vec<_> = schemas.iter().map(|s| s.display_name.as_str()).collect();
        assert_eq!(names, ["Service Request", "Access Request"]);
        assert!(
            schemas
                .iter()
                .all(|s| !s.custom_fields.contains_key("CFC1RequestKey"))
        );
    })
    .await;
}

#[actix::test]
async fn create_with_every_field_kind_and_read_it_back() {
    if ran_in_own_process(
        module_path!(),
        "create_with_every_field_kind_and_read_it_back",
    ) {
        return;
    }
    bounded(30, async {
        telemetry::init();
        let sim = start(SimConfig::default()).await;
        let t = service(&sim, enabled());
        let schema = t.get_schema("1").await.unwrap();
        let user = sim.control().snapshot().users[0].clone();
        let mut req = request("Grant VPN to Jane", every_kind());
        req.requested_for = Some(pb::Resource {
            id: Some(pb::ResourceId {
                resource_type: "user".into(),
                resource: format!("x-{}", user.id),
                ..Default::default()
            }),
            annotations: vec![pb::pack_any(&pb::UserTrait {
                emails: vec![pb::user_trait::Email {
                    address: user.emailaddress.to_uppercase(),
                    is_primary: true,
                }],
                ..Default::default()
            })],
            ..Default::default()
        });
        let before = telemetry::tickets::count("create", "ok");
        let created = t.create_ticket(&req, &schema, Some("req-every-kind")).await;
        assert!(created.error.is_none(), "{:?}", created.error);
        let ticket = created.ticket.unwrap();
        assert_eq!(telemetry::tickets::count("create", "ok"), before + 1);
        assert_eq!(ticket.display_name, "Grant VPN to Jane");
        assert_eq!(ticket.description, "Requested through ConductorOne");
        assert_eq!(ticket.status.as_ref().unwrap().display_name, "New");
        assert_eq!(ticket.r#type.as_ref().unwrap().id, "1");
        assert_eq!(ticket.labels, ["access", "c1"]);
        assert!(
            ticket.url.ends_with(&format!("/tickets?id={}", ticket.id)),
            "{}",
            ticket.url
        );
        assert!(ticket.created_at.is_some() && ticket.updated_at.is_some());
        assert!(ticket.completed_at.is_none(), "1900-01-01 means not closed");

        // What Halo stored: the requester by email, labels in the category, the key marker.
        let snap = sim.control().snapshot();
        let stored = snap
            .tickets
            .iter()
            .find(|x| x.id.to_string() == ticket.id)
            .unwrap();
        assert_eq!(stored.user_id, Some(user.id));
        assert_eq!(stored.category_1.as_deref(), Some("access, c1"));
        assert!(stored.details.ends_with("[c1-request-key:req-every-kind]"));

        let got = t.get_ticket(&ticket.id).await.unwrap();
        assert_eq!(got.custom_fields, ticket.custom_fields);
        let want = every_kind();
        assert_eq!(
            got.custom_fields.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (name, sent) in &want {
            let back = &got.custom_fields[name];
            let strip = |v: &Cf| match v {
                Cf::PickStringValue(p) => {
                    Cf::PickStringValue(pb::TicketCustomFieldPickStringValue {
                        value: p.value.clone(),
                        ..Default::default()
                    })
                }
                Cf::PickMultipleStringValues(p) => {
                    Cf::PickMultipleStringValues(pb::TicketCustomFieldPickMultipleStringValues {
                        values: p.values.clone(),
                        ..Default::default()
                    })
                }
                other => other.clone(),
            };
            assert_eq!(
                strip(back.value.as_ref().unwrap()),
                strip(sent.value.as_ref().unwrap()),
                "{name}"
            );
        }
        assert_eq!(got.status, ticket.status);
    })
    .await;
}

#[actix::test]
async fn validation_failures_send_no_request() {
    bounded(30, async {
        let sim = start(SimConfig::default()).await;
        let t = service(&sim, enabled());
        let schema = t.get_schema("1").await.unwrap();
        let cases: Vec<(&str, pb::TicketRequest)> = vec![
            ("CFBogus", {
                let mut f = every_kind();
                f.insert("CFBogus".into(), text("x"));
                request("x", f)
            }),
            ("CFQuantity", {
                let mut f = every_kind();
                f.insert("CFQuantity".into(), text("three"));
                request("x", f)
            }),
            ("CFRequestReason", {
                let mut f = every_kind();
                f.remove("CFRequestReason");
                request("x", f)
            }),
            ("CFAccessLevel", {
                let mut f = every_kind();
                f.insert(
                    "CFAccessLevel".into(),
                    cf(Cf::PickStringValue(pb::TicketCustomFieldPickStringValue {
                        value: "Root".into(),
                        ..Default::default()
                    })),
                );
                request("x", f)
            }),
            ("status", {
                let mut r = request("x", every_kind());
                r.status = Some(pb::TicketStatus {
                    id: "999".into(),
                    ..Default::default()
                });
                r
            }),
            ("display_name", request("  ", every_kind())),
        ];
        sim.control().clear_requests();
        for (field, req) in cases {
            let r = t.create_ticket(&req, &schema, Some("k1")).await;
            let e = r.error.expect("refused");
            assert!(r.ticket.is_none());
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
            assert!(e.message().contains(field), "{field}: {e}");
        }
        assert!(
            sim.control().requests().is_empty(),
            "no request for invalid input: {:?}",
            sim.control().requests()
        );

        // A schema Halo does not know: looked up (cached list), never posted.
        let mut unknown = schema.clone();
        unknown.id = "77".into();
        let r = t
            .create_ticket(&request("x", every_kind()), &unknown, None)
            .await;
        assert_eq!(r.error.unwrap().kind(), ErrorKind::NotFound);
        assert_eq!(count_requests(&sim, "POST", "/api/Tickets"), 0);
        assert!(sim.control().snapshot().tickets.is_empty());
    })
    .await;
}

#[actix::test]
async fn create_then_close_through_actions_then_get() {
    bounded(30, async {
        let sim = start(SimConfig::default()).await;
        let t = service(&sim, enabled());
        let schema = t.get_schema("2").await.unwrap();
        let mut fields = BTreeMap::new();
        fields.insert("CFQuantity".to_string(), number(1.0));
        let created = t
            .create_ticket(&request("Close me", fields), &schema, None)
            .await;
        let ticket = created.ticket.unwrap();
        assert!(ticket.completed_at.is_none());

        // Unknown status: refused before sending.
        sim.control().clear_requests();
        let e = t
            .add_note(&ticket.id, "x", false, Some("Nope"))
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert_eq!(count_requests(&sim, "POST", "/api/Actions"), 0);

        t.add_note(
            &ticket.id,
            "Done by the service desk",
            false,
            Some("closed"),
        )
        .await
        .unwrap();
        let got = t.get_ticket(&ticket.id).await.unwrap();
        let status = got.status.unwrap();
        assert_eq!(
            (status.id.as_str(), status.display_name.as_str()),
            ("9", "Closed")
        );
        assert!(
            got.completed_at.is_some(),
            "close date maps to completed_at"
        );
        let action = sim.control().snapshot().actions.pop().unwrap();
        assert_eq!(action.new_status, Some(9));
        assert!(!action.hiddenfromuser);

        let missing = t.get_ticket("4242").await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    })
    .await;
}

#[actix::test]
async fn retry_after_create_timeout_returns_the_first_ticket() {
    bounded(30, async {
        let sim = start(SimConfig::default()).await;
        let halo = HaloSettings {
            request_timeout: Duration::from_millis(400),
            ..settings(&sim)
        };
        let t = service_with(halo, enabled());
        let schema = t.get_schema("1").await.unwrap();
        let req = request("Only once", every_kind());
        // Halo creates the ticket, but its answer comes after our timeout.
        sim.control().stall_answer_next(
            1,
            Duration::from_secs(2),
            Some("POST"),
            Some("/api/Tickets"),
        );
        let first = t.create_ticket(&req, &schema, Some("task-42")).await;
        let e = first.error.expect("timed out");
        assert!(first.ticket.is_none());
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert_eq!(
            sim.control().snapshot().tickets.len(),
            1,
            "Halo did create it"
        );

        // C1 retries with the same key: the first ticket comes back, nothing new is posted.
        let retry = t.create_ticket(&req, &schema, Some("task-42")).await;
        assert!(retry.error.is_none(), "{:?}", retry.error);
        let snap = sim.control().snapshot();
        assert_eq!(snap.tickets.len(), 1, "no duplicate");
        assert_eq!(retry.ticket.unwrap().id, snap.tickets[0].id.to_string());
        assert_eq!(count_requests(&sim, "POST", "/api/Tickets"), 1);

        // A different key is a different ticket.
        let other = t.create_ticket(&req, &schema, Some("task-43")).await;
        assert!(other.error.is_none());
        assert_eq!(sim.control().snapshot().tickets.len(), 2);
    })
    .await;
}

#[actix::test]
async fn key_in_a_custom_field_and_follow_up_failure_returns_ticket_and_error() {
    bounded(30, async {
        let sim = start(SimConfig::default()).await;
        let t = service(
            &sim,
            TicketingSettings {
                request_key_field: "CFC1RequestKey".into(),
                labels_to: "CFNotes".into(),
                ..enabled()
            },
        );
        let schema = t.get_schema("2").await.unwrap();
        let mut fields = BTreeMap::new();
        fields.insert("CFQuantity".to_string(), number(2.0));
        let mut req = request("Needs a status", fields);
        req.status = Some(pb::TicketStatus {
            id: "2".into(),
            ..Default::default()
        });
        // The status change after the create fails (every attempt).
        sim.control().fail_next(5, 500, Some("/api/Actions"));
        let r = t.create_ticket(&req, &schema, Some("cf-key-1")).await;
        let ticket = r.ticket.expect("the ticket Halo accepted");
        let e = r.error.expect("and the follow-up error");
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        assert!(e.message().contains("status"), "{e}");
        assert_eq!(
            ticket.labels,
            ["access", "c1"],
            "labels read back from the field"
        );
        sim.control().clear_scripted_faults();

        let stored = sim.control().snapshot().tickets.pop().unwrap();
        let key = stored
            .customfields
            .iter()
            .find(|c| c.name.as_deref() == Some("CFC1RequestKey"))
            .unwrap();
        assert_eq!(key.value, serde_json::json!("cf-key-1"));

        // With a working Actions endpoint the status is set and read back.
        let mut req2 = req.clone();
        req2.display_name = "Status works".into();
        let ok = t.create_ticket(&req2, &schema, Some("cf-key-2")).await;
        assert!(ok.error.is_none(), "{:?}", ok.error);
        assert_eq!(
            ok.ticket.unwrap().status.unwrap().display_name,
            "In Progress"
        );
    })
    .await;
}

#[actix::test]
async fn bulk_operations_return_per_item_results_with_annotations() {
    bounded(30, async {
        let sim = start(SimConfig::default()).await;
        let t = service(&sim, enabled());
        let (schemas, _) = t.list_schemas(0, "").await.unwrap();
        let s1 = schemas.iter().find(|s| s.id == "1").unwrap().clone();
        let cab = schemas.iter().find(|s| s.id == "4").unwrap().clone();
        let reference = |id: &str| {
            vec![pb::pack_any(&pb::ExternalTicketRef {
                id: id.into(),
                external_ticket_provisioner_config_id: "prov-1".into(),
            })]
        };
        let mut bad = every_kind();
        bad.insert("CFNope".into(), text("x"));
        let mut cab_fields = BTreeMap::new();
        cab_fields.insert("CFQuantity".to_string(), number(1.0));
        let requests = vec![
            pb::TicketsServiceCreateTicketRequest {
                request: Some(request("good", every_kind())),
                schema: Some(s1.clone()),
                annotations: reference("ref-good"),
            },
            pb::TicketsServiceCreateTicketRequest {
                request: Some(request("bad field", bad)),
                schema: Some(s1.clone()),
                annotations: reference("ref-bad"),
            },
            pb::TicketsServiceCreateTicketRequest {
                request: Some(request("needs CAB", cab_fields)),
                schema: Some(cab),
                annotations: reference("ref-cab"),
            },
            pb::TicketsServiceCreateTicketRequest {
                request: None,
                schema: None,
                annotations: Vec::new(),
            },
        ];
        let results = t.bulk_create(&requests, None).await;
        assert_eq!(results.len(), 4);
        assert!(results[0].ticket.is_some() && results[0].error.is_none());
        assert_eq!(
            results[1].error.as_ref().unwrap().kind(),
            ErrorKind::InvalidArgument
        );
        let cab_err = results[2].error.as_ref().unwrap();
        assert_eq!(cab_err.kind(), ErrorKind::HaloRejected);
        assert!(
            cab_err
                .message()
                .contains("CODE:APP03/2 Please select the CAB members"),
            "Halo's message: {cab_err}"
        );
        assert_eq!(
            results[3].error.as_ref().unwrap().kind(),
            ErrorKind::InvalidArgument
        );
        for (r, req) in results.iter().zip(&requests) {
            assert_eq!(r.annotations, req.annotations);
        }
        let refs: Vec<_> = results
            .iter()
            .filter_map(|r| pb::find_annotation::<pb::ExternalTicketRef>(&r.annotations))
            .map(|r| r.id)
            .collect();
        assert_eq!(refs, ["ref-good", "ref-bad", "ref-cab"]);
        // The ExternalTicketRef is the request key: the same bulk again creates nothing new.
        let again = t.bulk_create(&requests[..1], None).await;
        assert_eq!(
            again[0].ticket.as_ref().unwrap().id,
            results[0].ticket.as_ref().unwrap().id
        );
        assert_eq!(sim.control().snapshot().tickets.len(), 1);
        let wire = results[2].clone().into_response();
        assert!(wire.error.contains("CAB") && wire.ticket.is_none());

        let good_id = results[0].ticket.as_ref().unwrap().id.clone();
        let gets = t
            .bulk_get(&[
                pb::TicketsServiceGetTicketRequest {
                    id: good_id.clone(),
                    annotations: reference("g1"),
                },
                pb::TicketsServiceGetTicketRequest {
                    id: "999".into(),
                    annotations: reference("g2"),
                },
                pb::TicketsServiceGetTicketRequest {
                    id: "not-a-number".into(),
                    annotations: Vec::new(),
                },
            ])
            .await;
        assert_eq!(gets[0].ticket.as_ref().unwrap().id, good_id);
        assert_eq!(gets[1].error.as_ref().unwrap().kind(), ErrorKind::NotFound);
        assert_eq!(
            gets[2].error.as_ref().unwrap().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            pb::find_annotation::<pb::ExternalTicketRef>(&gets[1].annotations)
                .unwrap()
                .id,
            "g2"
        );
    })
    .await;
}

#[actix::test]
async fn fallback_ticket_is_noted_and_moved_once_the_change_is_seen() {
    bounded(30, async {
        let sim = start(SimConfig::default()).await;
        let t = service(&sim, enabled());
        let f = FallbackTicket {
            ticket_type_id: 2,
            summary: "Add jane@acme.com to team Service Desk".into(),
            details: "ConductorOne could not make this change automatically.".into(),
            agent: "Jane Doe <jane@acme.com> (agent 42)".into(),
            entitlement: "team:3:member".into(),
            requester: "alice@acme.com".into(),
            request_key: "grant-01HXYZ".into(),
        };
        let first = t.open_fallback_ticket(&f).await.unwrap();
        let again = t.open_fallback_ticket(&f).await.unwrap();
        assert_eq!(first, again, "idempotent by request key");
        assert!(first.url.contains(&format!("id={}", first.id)));
        let snap = sim.control().snapshot();
        assert_eq!(snap.tickets.len(), 1);
        assert!(
            snap.tickets[0]
                .details
                .contains("Entitlement: team:3:member")
        );

        // A later sync sees the change: a private note, and the configured status.
        t.resolve_fallback(
            first.id,
            "The change is now visible in Halo; closed by ConductorOne.",
        )
        .await
        .unwrap();
        let snap = sim.control().snapshot();
        let ticket = &snap.tickets[0];
        assert_eq!(ticket.status_id, 4, "moved to Resolved");
        assert!(ticket.dateclosed.is_some());
        let notes: Vec<_> = snap
            .actions
            .iter()
            .filter(|a| a.ticket_id == first.id)
            .collect();
        assert_eq!(notes.len(), 1);
        assert!(notes[0].hiddenfromuser, "private note");
        assert_eq!(notes[0].new_status, Some(4));

        // Later syncs see it again: nothing more is written.
        t.resolve_fallback(first.id, "again").await.unwrap();
        assert_eq!(sim.control().snapshot().actions.len(), 1);

        // Without a configured status the loop cannot close, and says why.
        let unconfigured = service(
            &sim,
            TicketingSettings {
                fallback_resolved_status: None,
                ..enabled()
            },
        );
        let e = unconfigured
            .resolve_fallback(first.id, "x")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
    })
    .await;
}
