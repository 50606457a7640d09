//! C1 task payloads with fields missing: `Task` messages with a random subset of their fields
//! set (and random bytes decoded as a `Task`) are routed by `Command::parse` to the family of
//! their type and run; every one ends in an outcome or a typed `TaskFailure`, never a panic.
//! Against a real provisioning engine (journal, queue, the simulator), a task missing what it
//! needs is refused as InvalidArgument before anything reaches Halo.

use std::sync::atomic::{AtomicU64, Ordering};

use baton_haloitsm::c1::status::TaskFailure;
use baton_haloitsm::c1::task_kind::TaskKind;
use baton_haloitsm::c1::tasks::{Command, actions};
use baton_haloitsm::pb;
use baton_haloitsm::pb::baton::Task;
use baton_haloitsm::pb::baton::task::{self, TaskType};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use prost::Message;
use prost_types::{Struct, Value as PValue, value::Kind};
use tonic::Code;

use super::cases;
use crate::support::provisioning::{Harness, sim_config};

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        proptest::sample::select(
            &[
                "agent", "team", "role", "user", "3", "42", "member", "a@b.c"
            ][..]
        )
        .prop_map(str::to_string),
        "[a-z0-9:@.-]{0,12}",
        any::<String>(),
    ]
}

fn resource_id() -> impl Strategy<Value = Option<pb::ResourceId>> {
    prop::option::of((text(), text()).prop_map(|(t, r)| pb::ResourceId {
        resource_type: t,
        resource: r,
        baton_resource: false,
    }))
}

fn resource() -> impl Strategy<Value = Option<pb::Resource>> {
    prop::option::of(resource_id().prop_map(|id| pb::Resource {
        id,
        ..Default::default()
    }))
}

fn entitlement_id() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        Just("team:1:member".to_string()),
        Just("team:0:member".to_string())
    ]
}

fn pvalue() -> impl Strategy<Value = PValue> {
    let kind = prop_oneof![
        Just(None),
        text().prop_map(|s| Some(Kind::StringValue(s))),
        any::<f64>().prop_map(|n| Some(Kind::NumberValue(n))),
        any::<bool>().prop_map(|b| Some(Kind::BoolValue(b))),
        Just(Some(Kind::NullValue(0))),
        text().prop_map(|id| {
            let mut fields = std::collections::BTreeMap::new();
            fields.insert(
                "resource_id".to_string(),
                PValue {
                    kind: Some(Kind::StringValue(id)),
                },
            );
            Some(Kind::StructValue(Struct { fields }))
        }),
    ];
    kind.prop_map(|kind| PValue { kind })
}

fn args(names: &'static [&'static str]) -> impl Strategy<Value = Option<Struct>> {
    prop::option::of(
        prop::collection::btree_map(
            prop_oneof![
                proptest::sample::select(names).prop_map(str::to_string),
                text()
            ],
            pvalue(),
            0..4,
        )
        .prop_map(|fields| Struct { fields }),
    )
}

fn account_info() -> impl Strategy<Value = Option<pb::AccountInfo>> {
    let email = (text(), any::<bool>()).prop_map(|(address, is_primary)| pb::account_info::Email {
        address,
        is_primary,
    });
    prop::option::of(
        (
            prop::collection::vec(email, 0..3),
            text(),
            args(&["name", "first_name", "surname"]),
        )
            .prop_map(|(emails, login, profile)| pb::AccountInfo {
                emails,
                login,
                profile,
                ..Default::default()
            }),
    )
}

/// A task type with a random subset of its fields set.
fn task_type() -> impl Strategy<Value = Option<TaskType>> {
    prop::option::of(prop_oneof![5 => journaled_type(), 1 => other_type()])
}

/// One of the tasks that go through the provisioning journal, fields missing at random.
fn journaled_type() -> impl Strategy<Value = TaskType> {
    let grant = (prop::option::of(entitlement_id()), resource()).prop_map(|(e, principal)| {
        TaskType::Grant(task::GrantTask {
            entitlement: e.map(|id| pb::Entitlement {
                id,
                ..Default::default()
            }),
            principal,
            ..Default::default()
        })
    });
    let revoke = prop::option::of(text()).prop_map(|g| {
        TaskType::Revoke(task::RevokeTask {
            grant: g.map(|id| pb::Grant {
                id,
                ..Default::default()
            }),
            ..Default::default()
        })
    });
    let create = account_info().prop_map(|account_info| {
        TaskType::CreateAccount(task::CreateAccountTask {
            account_info,
            ..Default::default()
        })
    });
    let delete = resource_id().prop_map(|resource_id| {
        TaskType::DeleteResource(task::DeleteResourceTask {
            resource_id,
            ..Default::default()
        })
    });
    let invoke = (
        prop_oneof![
            Just(actions::ENABLE_AGENT.to_string()),
            Just(actions::DISABLE_AGENT.to_string()),
            text()
        ],
        args(&[actions::AGENT_ID_ARG]),
    )
        .prop_map(|(name, args)| {
            TaskType::ActionInvoke(task::ActionInvokeTask {
                name,
                args,
                ..Default::default()
            })
        });
    prop_oneof![grant, revoke, create, delete, invoke]
}

/// The other task types (their payloads matter less: routing, or an engine switched off).
fn other_type() -> impl Strategy<Value = TaskType> {
    prop_oneof![
        Just(TaskType::Hello(Default::default())),
        Just(TaskType::None(Default::default())),
        Just(TaskType::SyncFull(Default::default())),
        Just(TaskType::CreateTicketTask(Default::default())),
        text().prop_map(|ticket_id| TaskType::GetTicket(task::GetTicketTask {
            ticket_id,
            ..Default::default()
        })),
        Just(TaskType::ListTicketSchemas(Default::default())),
        Just(TaskType::BulkCreateTickets(Default::default())),
        Just(TaskType::BulkGetTickets(Default::default())),
        Just(TaskType::ActionListSchemas(Default::default())),
        text().prop_map(|name| TaskType::ActionGetSchema(task::ActionGetSchemaTask {
            name,
            ..Default::default()
        })),
        text().prop_map(|id| TaskType::ActionStatus(task::ActionStatusTask {
            id,
            ..Default::default()
        })),
        Just(TaskType::EventFeed(Default::default())),
    ]
}

/// Does the task lack what its operation needs (so it must be refused as InvalidArgument)?
fn lacks_what_it_needs(t: &TaskType) -> bool {
    match t {
        TaskType::Grant(g) => {
            g.entitlement.is_none() || g.principal.as_ref().and_then(|p| p.id.as_ref()).is_none()
        }
        TaskType::Revoke(r) => r.grant.is_none(),
        TaskType::DeleteResource(d) => d.resource_id.is_none(),
        TaskType::CreateAccount(c) => c.account_info.as_ref().is_none_or(|a| {
            a.emails.iter().all(|e| e.address.is_empty()) && !a.login.contains('@')
        }),
        TaskType::ActionInvoke(i) => i
            .args
            .as_ref()
            .is_none_or(|a| !a.fields.contains_key(actions::AGENT_ID_ARG)),
        _ => false,
    }
}

/// The kind `Command::parse` must route a task type to.
fn expected_kind(t: Option<&TaskType>) -> TaskKind {
    match t {
        Some(TaskType::Hello(_)) => TaskKind::Hello,
        Some(TaskType::SyncFull(_)) => TaskKind::SyncFull,
        Some(TaskType::Grant(_)) => TaskKind::Grant,
        Some(TaskType::Revoke(_)) => TaskKind::Revoke,
        Some(TaskType::CreateAccount(_)) => TaskKind::CreateAccount,
        Some(TaskType::DeleteResource(_)) => TaskKind::DeleteResource,
        Some(TaskType::ActionInvoke(_)) => TaskKind::ActionInvoke,
        Some(TaskType::CreateTicketTask(_)) => TaskKind::CreateTicket,
        Some(TaskType::GetTicket(_)) => TaskKind::GetTicket,
        Some(TaskType::ListTicketSchemas(_)) => TaskKind::ListTicketSchemas,
        Some(TaskType::BulkCreateTickets(_)) => TaskKind::BulkCreateTickets,
        Some(TaskType::BulkGetTickets(_)) => TaskKind::BulkGetTickets,
        Some(TaskType::ActionListSchemas(_)) => TaskKind::ActionListSchemas,
        Some(TaskType::ActionGetSchema(_)) => TaskKind::ActionGetSchema,
        Some(TaskType::ActionStatus(_)) => TaskKind::ActionStatus,
        _ => TaskKind::Unsupported,
    }
}

/// Runs a routed command the way `Tasks::run` does (sync needs a link: routing only).
async fn run(
    command: Command,
    prov: Option<&baton_haloitsm::provisioning::Provisioning>,
    task_id: &str,
) -> Option<Result<baton_haloitsm::c1::status::Outcome, TaskFailure>> {
    let invoked = actions::Invoked::default();
    Some(match command {
        Command::Provisioning(c) => c.run(prov, &invoked, task_id).await,
        Command::Tickets(c) => c.run(None, task_id).await,
        Command::Actions(c) => c.run(&invoked),
        Command::Sync(_) | Command::Hello | Command::Unsupported => return None,
    })
}

/// Routing and a run without engines: the kind of the type, and a typed answer.
fn route_and_run_alone(tt: Option<TaskType>) -> Result<(), TestCaseError> {
    let command = Command::parse(tt.clone());
    prop_assert_eq!(command.kind(), expected_kind(tt.as_ref()));
    let family = command.kind();
    let Some(result) = futures::executor::block_on(run(command, None, "t")) else {
        return Ok(());
    };
    match (&tt, result) {
        (Some(TaskType::ActionInvoke(i)), Err(f))
            if i.name != actions::ENABLE_AGENT && i.name != actions::DISABLE_AGENT =>
        {
            prop_assert_eq!(f.code, Code::NotFound)
        }
        (_, Err(f)) if family.is_journaled() => {
            prop_assert_eq!(f, TaskFailure::disabled("provisioning"))
        }
        (
            Some(
                TaskType::CreateTicketTask(_)
                | TaskType::GetTicket(_)
                | TaskType::ListTicketSchemas(_)
                | TaskType::BulkCreateTickets(_)
                | TaskType::BulkGetTickets(_),
            ),
            r,
        ) => {
            prop_assert_eq!(r.err(), Some(TaskFailure::disabled("ticketing")))
        }
        (_, Ok(_) | Err(_)) if !family.is_journaled() => {}
        (_, r) => prop_assert!(false, "{:?} answered without an engine: {:?}", family, r),
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(1024))]

    #[test]
    fn tasks_with_fields_missing_are_routed_and_refused(tt in task_type()) {
        route_and_run_alone(tt)?;
    }

    #[test]
    fn random_bytes_decoded_as_a_task_are_routed_or_refused(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        if let Ok(t) = Task::decode(bytes.as_slice()) {
            route_and_run_alone(t.task_type)?;
        }
    }

    #[test]
    fn encoded_tasks_decode_to_themselves(tt in task_type(), id in text()) {
        let t = Task { id, task_type: tt, ..Default::default() };
        let back = Task::decode(t.encode_to_vec().as_slice()).unwrap();
        prop_assert_eq!(back, t);
    }
}

/// The journaled tasks against a real engine: missing pieces are InvalidArgument, and
/// whatever else happens is an outcome or a typed failure.
#[test]
fn tasks_with_fields_missing_against_a_real_engine() {
    let mut config = cases(64);
    config.source_file = Some(file!());
    config.test_name = Some("tasks_with_fields_missing_against_a_real_engine");
    let system = actix::System::new();
    let dir = tempfile::tempdir().unwrap();
    let h = system.block_on(Harness::start(dir.path(), sim_config(5), "", ""));
    let next = AtomicU64::new(0);
    let mut runner = TestRunner::new(config);
    // Generated directly (not filtered out of `task_type`): a long run would hit proptest's
    // cap on rejected cases.
    let result = runner.run(&journaled_type(), |tt| {
        // A task id per case: the journal runs a task delivered twice only once.
        let task_id = format!("props-{}", next.fetch_add(1, Ordering::Relaxed));
        let command = Command::parse(Some(tt.clone()));
        let result = system
            .block_on(run(command, Some(&h.prov), &task_id))
            .expect("a journaled task runs");
        let unknown_action = matches!(&tt, TaskType::ActionInvoke(i)
            if i.name != actions::ENABLE_AGENT && i.name != actions::DISABLE_AGENT);
        if unknown_action {
            prop_assert_eq!(result.err().map(|f| f.code), Some(Code::NotFound));
        } else if lacks_what_it_needs(&tt) {
            match result {
                Err(f) => prop_assert_eq!(f.code, Code::InvalidArgument, "{}", f.message),
                Ok(o) => prop_assert!(false, "a task missing its fields succeeded: {:?}", o),
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
