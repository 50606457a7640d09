//! C1 tasks through the real engines: the daemon binary in service mode, the fake C1 in the
//! test process, and the HaloITSM simulator in the test process too, so that every task's
//! effect is checked in Halo's own state, not only in the response.
//!
//! Covered here: create_account (new, then already), the enable/disable account actions,
//! delete_resource, and the ticket tasks (list schemas, create, get, bulk create, bulk get).
//! Grant/revoke are in c1_service.rs; the crash path in c1_crash.rs.

use baton_haloitsm::pb;
use baton_haloitsm::pb::baton::baton_service_finish_task_request::FinalState;
use baton_haloitsm::pb::baton::{BatonServiceFinishTaskRequest, Task, task};
use baton_haloitsm::sim::{SimConfig, SimHandle};
use prost::Message;
use prost_types::{Struct, Value, value::Kind};

use crate::support::daemon::Daemon;
use crate::support::fake_c1::{FakeC1, Script, task_id};
use crate::support::provisioning::config_text;
use crate::support::sim::start;

struct Env {
    sim: SimHandle,
    fake: FakeC1,
    daemon: Daemon,
    next: u32,
    _dir: tempfile::TempDir,
}

async fn env(provisioning_extra: &str, ticketing: bool) -> Env {
    let sim = start(SimConfig {
        seed: 11,
        agents: 10,
        teams: 3,
        roles: 2,
        users: 0,
        ticket_types: 3,
        ..SimConfig::default()
    })
    .await;
    let fake = FakeC1::start(Script::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let mut text = config_text(dir.path(), &sim.base_url(), "", provisioning_extra);
    text += &format!(
        "\n[c1]\ntemp_dir = \"{}\"\n",
        dir.path().join("c1-tmp").display()
    );
    if ticketing {
        text += "\n[ticketing]\nenabled = true\n";
    }
    std::fs::write(&config, text).unwrap();
    let daemon = Daemon::start_owned(&config, &fake.baton_env("tasks-host"));
    Env {
        sim,
        fake,
        daemon,
        next: 100,
        _dir: dir,
    }
}

impl Env {
    /// Hands one task to the connector and waits for its FinishTask.
    async fn run(&mut self, task_type: task::TaskType) -> BatonServiceFinishTaskRequest {
        self.next += 1;
        let id = task_id(self.next);
        self.fake.push_task(Task {
            id: id.clone(),
            task_type: Some(task_type),
            ..Default::default()
        });
        self.fake
            .wait_until("the task's FinishTask", |r| {
                r.finishes.iter().any(|f| f.task_id == id)
            })
            .await;
        let rec = self.fake.rec.lock().unwrap();
        let mine: Vec<_> = rec.finishes.iter().filter(|f| f.task_id == id).collect();
        assert_eq!(mine.len(), 1, "one FinishTask per task");
        mine[0].clone()
    }
}

fn success<M: Message + Default>(f: &BatonServiceFinishTaskRequest) -> M {
    let Some(FinalState::Success(s)) = &f.final_state else {
        panic!("not a success: {f:?}");
    };
    let any = s.response.as_ref().expect("a response");
    M::decode(any.value.as_slice()).expect("the response type of the task")
}

fn text(s: &str) -> Value {
    Value {
        kind: Some(Kind::StringValue(s.to_string())),
    }
}

fn agent_args(id: i64) -> Struct {
    Struct {
        fields: [("agent_id".to_string(), text(&id.to_string()))].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_tasks_change_halo_and_answer_in_their_response_types() {
    let mut e = env("allow_delete = true", false).await;
    let account = || {
        task::TaskType::CreateAccount(task::CreateAccountTask {
            account_info: Some(pb::AccountInfo {
                emails: vec![pb::account_info::Email {
                    address: "new.agent@example.com".into(),
                    is_primary: true,
                }],
                profile: Some(Struct {
                    fields: [
                        ("name".to_string(), text("New Agent")),
                        ("first_name".to_string(), text("New")),
                        ("surname".to_string(), text("Agent")),
                    ]
                    .into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        })
    };
    use pb::create_account_response::Result as R;
    let created: pb::CreateAccountResponse = success(&e.run(account()).await);
    let Some(R::Success(ok)) = created.result else {
        panic!("{created:?}")
    };
    let id: i64 = ok
        .resource
        .and_then(|r| r.id)
        .map(|r| r.resource)
        .expect("the new agent's resource")
        .parse()
        .expect("a Halo agent id");
    let snap = e.sim.control().snapshot();
    let agent = snap.agents.iter().find(|a| a.id == id).expect("in Halo");
    assert_eq!(
        (agent.email.as_str(), agent.name.as_str(), agent.disabled),
        ("new.agent@example.com", "New Agent", false)
    );

    let again: pb::CreateAccountResponse = success(&e.run(account()).await);
    let Some(R::AlreadyExists(already)) = again.result else {
        panic!("{again:?}")
    };
    assert_eq!(
        already.resource.and_then(|r| r.id).map(|r| r.resource),
        Some(id.to_string())
    );

    let invoke = |name: &str| {
        task::TaskType::ActionInvoke(task::ActionInvokeTask {
            name: name.into(),
            args: Some(agent_args(id)),
            ..Default::default()
        })
    };
    let disabled: pb::InvokeActionResponse = success(&e.run(invoke("disable_agent")).await);
    assert_eq!(disabled.status, pb::BatonActionStatus::Complete as i32);
    assert_eq!(disabled.name, "disable_agent");
    let disabled_in_halo = |e: &Env| {
        e.sim
            .control()
            .snapshot()
            .agents
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.disabled)
    };
    assert_eq!(disabled_in_halo(&e), Some(true));
    let _: pb::InvokeActionResponse = success(&e.run(invoke("enable_agent")).await);
    assert_eq!(disabled_in_halo(&e), Some(false));

    let unknown = e.run(invoke("promote_agent")).await;
    let status = unknown.status.expect("a status");
    assert_eq!(status.code, tonic::Code::NotFound as i32, "{status:?}");

    let delete = task::TaskType::DeleteResource(task::DeleteResourceTask {
        resource_id: Some(pb::ResourceId {
            resource_type: "agent".into(),
            resource: id.to_string(),
            baton_resource: false,
        }),
        ..Default::default()
    });
    let _: pb::DeleteResourceResponse = success(&e.run(delete).await);
    assert_eq!(disabled_in_halo(&e), None, "the agent is gone from Halo");
    e.daemon.sigterm();
}

/// `f` with a value of its own kind.
fn filled(f: &pb::TicketCustomField) -> pb::TicketCustomField {
    use pb::ticket_custom_field::Value as Cf;
    let value = match &f.value {
        Some(Cf::NumberValue(_)) => Cf::NumberValue(pb::TicketCustomFieldNumberValue {
            value: Some(2.0),
            ..Default::default()
        }),
        Some(Cf::StringValue(_)) => Cf::StringValue(pb::TicketCustomFieldStringValue {
            value: "needed for the audit".into(),
            ..Default::default()
        }),
        other => panic!("required field {} of an unexpected kind {other:?}", f.id),
    };
    pb::TicketCustomField {
        value: Some(value),
        ..f.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_tasks_create_and_read_halo_tickets() {
    let mut e = env("", true).await;
    let listed: pb::TicketsServiceListTicketSchemasResponse = success(
        &e.run(task::TaskType::ListTicketSchemas(
            task::ListTicketSchemasTask::default(),
        ))
        .await,
    );
    let types = e.sim.control().snapshot().ticket_types;
    assert!(!listed.list.is_empty());
    for s in &listed.list {
        assert!(
            types.iter().any(|t| t.id.to_string() == s.id),
            "schema {} is a Halo ticket type",
            s.id
        );
        assert!(!s.statuses.is_empty(), "schema {} has statuses", s.id);
    }
    // Every schema has a required field (a text or a number): fill those in.
    let schema = listed.list[0].clone();
    let required: std::collections::BTreeMap<String, pb::TicketCustomField> = schema
        .custom_fields
        .iter()
        .filter(|(_, f)| f.required)
        .map(|(k, f)| (k.clone(), filled(f)))
        .collect();
    assert!(!required.is_empty());
    let request = |name: &str| pb::TicketRequest {
        display_name: name.into(),
        description: "Grant team:1:member to agent:3".into(),
        labels: vec!["access".into()],
        custom_fields: required.clone(),
        ..Default::default()
    };
    let create = |name: &str| task::CreateTicketTask {
        ticket_request: Some(request(name)),
        ticket_schema: Some(schema.clone()),
        annotations: vec![],
    };
    let created: pb::TicketsServiceCreateTicketResponse = success(
        &e.run(task::TaskType::CreateTicketTask(create(
            "Access for agent 3",
        )))
        .await,
    );
    let ticket = created.ticket.expect("the created ticket");
    let in_halo = e
        .sim
        .control()
        .snapshot()
        .tickets
        .into_iter()
        .find(|t| t.id.to_string() == ticket.id)
        .expect("the ticket is in Halo");
    assert_eq!(in_halo.summary, "Access for agent 3");
    assert_eq!(in_halo.tickettype_id.to_string(), schema.id);

    let got: pb::TicketsServiceGetTicketResponse = success(
        &e.run(task::TaskType::GetTicket(task::GetTicketTask {
            ticket_id: ticket.id.clone(),
            annotations: vec![],
        }))
        .await,
    );
    let got = got.ticket.expect("the ticket read back");
    assert_eq!(
        (got.id.as_str(), got.display_name.as_str()),
        (ticket.id.as_str(), "Access for agent 3")
    );

    let missing = e
        .run(task::TaskType::GetTicket(task::GetTicketTask {
            ticket_id: "987654".into(),
            annotations: vec![],
        }))
        .await;
    let status = missing.status.expect("a status");
    assert_eq!(status.code, tonic::Code::NotFound as i32, "{status:?}");

    let before = e.sim.control().snapshot().tickets.len();
    let bulk: pb::TicketsServiceBulkCreateTicketsResponse = success(
        &e.run(task::TaskType::BulkCreateTickets(
            task::BulkCreateTicketsTask {
                ticket_requests: vec![create("Bulk one"), create("Bulk two")],
            },
        ))
        .await,
    );
    assert_eq!(bulk.tickets.len(), 2);
    // Two items of one task are two tickets (each keyed by task id and position).
    let ids: Vec<String> = bulk
        .tickets
        .iter()
        .map(|t| {
            t.ticket
                .as_ref()
                .unwrap_or_else(|| panic!("each ticket: {t:?}"))
                .id
                .clone()
        })
        .collect();
    assert_eq!(e.sim.control().snapshot().tickets.len(), before + 2);

    let read: pb::TicketsServiceBulkGetTicketsResponse = success(
        &e.run(task::TaskType::BulkGetTickets(task::BulkGetTicketsTask {
            ticket_requests: ids
                .iter()
                .chain(["987654".to_string()].iter())
                .map(|id| task::GetTicketTask {
                    ticket_id: id.clone(),
                    annotations: vec![],
                })
                .collect(),
        }))
        .await,
    );
    let names: Vec<String> = read.tickets[..2]
        .iter()
        .map(|t| t.ticket.as_ref().expect("each ticket").display_name.clone())
        .collect();
    assert_eq!(names, ["Bulk one", "Bulk two"]);
    // One missing ticket is that item's error, not the task's.
    assert!(read.tickets[2].ticket.is_none());
    assert!(!read.tickets[2].error.is_empty(), "{:?}", read.tickets[2]);
    e.daemon.sigterm();
}
