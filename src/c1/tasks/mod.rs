//! C1's tasks, one family per file (as mini-redis keeps one command per file): [`Command::parse`]
//! routes C1's `Task` to its family, whose file turns it into its engine's request, calls the
//! engine and builds the response C1 expects.
//!
//! - `sync`: sync_full (a sync into a temp file, then the upload);
//! - `provisioning`: every task that goes through the provisioning journal (grant, revoke,
//!   create_account, delete_resource, and action_invoke, a journaled enable or disable), and
//!   the report of operations journaled before a restart;
//! - `tickets`: create_ticket, get_ticket, list_ticket_schemas, bulk create and bulk get;
//! - `actions`: the account actions (enable_agent, disable_agent): their schemas, and the
//!   status of one this process invoked.
//!
//! A task sees the link that carries it only through [`Uplink`] (heartbeats while it works,
//! the upload of a c1z), so the link depends on the tasks and never the other way round.
//! Failures are a code and a message; `status` decides what C1 is told about a retry.
//!
//! A switched-off or unwired engine answers FailedPrecondition "provisioning is not enabled"
//! / "ticketing is not enabled", as the SDK's no-op provisioner does.

pub mod actions;
pub mod provisioning;
pub mod sync;
pub mod tickets;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use prost::Name;

use super::status::{Outcome, TaskFailure};
use super::task_kind::TaskKind;
use super::{C1Error, C1Settings};
use crate::actor_slot::Slot;
use crate::pb::baton::Task;
use crate::pb::baton::task::TaskType;
use crate::pb::pack_any;
use crate::sync::coordinator::SyncCoordinator;

/// The engines the tasks call. `None` = not wired or switched off.
#[derive(Clone)]
pub struct Deps {
    /// `None` only where no sync can run (benchmarks of the link alone).
    pub coordinator: Option<Slot<SyncCoordinator>>,
    pub provisioning: Option<crate::provisioning::Provisioning>,
    pub ticketing: Option<crate::ticketing::Ticketing>,
}

/// What a running task may ask of the link that carries it (implemented by `link::Link`).
pub trait Uplink {
    /// Runs `work` while heartbeating `task_id`; C1 cancelling the task, or heartbeats failing
    /// for too long, end the wait with a Cancelled failure (`work` is dropped: the caller
    /// cancels what it started).
    fn with_heartbeats<F: Future>(
        &self,
        task_id: &str,
        first_interval: Option<Duration>,
        work: F,
    ) -> impl Future<Output = Result<F::Output, TaskFailure>>;

    /// Uploads a c1z for `task_id` (retried by the link); the size sent.
    fn upload(&self, task_id: &str, path: &Path) -> impl Future<Output = Result<u64, C1Error>>;
}

/// A task C1 handed over, routed to the file of its family.
#[derive(Debug)]
pub enum Command {
    /// Answered by the link itself, with a Hello carrying the task id.
    Hello,
    Sync(sync::Command),
    Provisioning(provisioning::Command),
    Tickets(tickets::Command),
    Actions(actions::Command),
    Unsupported,
}

impl Command {
    /// Which family's task this is: the one table of task types (a new task type is one row
    /// here and one arm in its family's file).
    pub fn parse(task_type: Option<TaskType>) -> Command {
        use actions::Command as A;
        use provisioning::Command as P;
        use tickets::Command as T;
        let Some(task_type) = task_type else {
            return Command::Unsupported;
        };
        match task_type {
            TaskType::Hello(_) => Command::Hello,
            TaskType::SyncFull(t) => Command::Sync(sync::Command(t)),
            TaskType::Grant(t) => Command::Provisioning(P::Grant(Box::new(t))),
            TaskType::Revoke(t) => Command::Provisioning(P::Revoke(Box::new(t))),
            TaskType::CreateAccount(t) => Command::Provisioning(P::CreateAccount(t)),
            TaskType::DeleteResource(t) => Command::Provisioning(P::DeleteResource(t)),
            TaskType::ActionInvoke(t) => Command::Provisioning(P::ActionInvoke(t)),
            TaskType::CreateTicketTask(t) => Command::Tickets(T::Create(Box::new(t))),
            TaskType::GetTicket(t) => Command::Tickets(T::Get(t)),
            TaskType::ListTicketSchemas(t) => Command::Tickets(T::ListSchemas(t)),
            TaskType::BulkCreateTickets(t) => Command::Tickets(T::BulkCreate(t)),
            TaskType::BulkGetTickets(t) => Command::Tickets(T::BulkGet(t)),
            TaskType::ActionListSchemas(t) => Command::Actions(A::ListSchemas(t)),
            TaskType::ActionGetSchema(t) => Command::Actions(A::GetSchema(t)),
            TaskType::ActionStatus(t) => Command::Actions(A::Status(t)),
            _ => Command::Unsupported,
        }
    }

    pub fn kind(&self) -> TaskKind {
        match self {
            Command::Hello => TaskKind::Hello,
            Command::Sync(_) => TaskKind::SyncFull,
            Command::Provisioning(c) => c.kind(),
            Command::Tickets(c) => c.kind(),
            Command::Actions(c) => c.kind(),
            Command::Unsupported => TaskKind::Unsupported,
        }
    }
}

/// Whether GetTask handed us something to do (`none` or an empty task means idle).
pub fn has_work(task: &Task) -> bool {
    !task.id.is_empty() && !matches!(task.task_type, Some(TaskType::None(_)))
}

/// The engines and the little state the tasks keep between runs (one per link).
pub struct Tasks {
    sync: sync::SyncTasks,
    provisioning: Option<crate::provisioning::Provisioning>,
    ticketing: Option<crate::ticketing::Ticketing>,
    actions: actions::Invoked,
}

impl Tasks {
    pub fn new(settings: &C1Settings, deps: Deps) -> Tasks {
        Tasks {
            sync: sync::SyncTasks::new(settings, deps.coordinator),
            provisioning: deps.provisioning,
            ticketing: deps.ticketing,
            actions: actions::Invoked::default(),
        }
    }

    /// The provisioning engine, for the report of tasks journaled before a restart.
    pub fn provisioning(&self) -> Option<&crate::provisioning::Provisioning> {
        self.provisioning.as_ref()
    }

    /// Runs one task to its outcome.
    pub async fn run(
        &self,
        link: &impl Uplink,
        task_id: &str,
        command: Command,
        next_heartbeat: Option<Duration>,
    ) -> Outcome {
        let result = match command {
            Command::Sync(c) => self.sync.run(link, task_id, c, next_heartbeat).await,
            Command::Provisioning(c) => {
                c.run(self.provisioning.as_ref(), &self.actions, task_id)
                    .await
            }
            Command::Tickets(c) => c.run(self.ticketing.as_ref(), task_id).await,
            Command::Actions(c) => c.run(&self.actions),
            // Hello tasks are answered by the link itself; everything else is not ours.
            Command::Hello | Command::Unsupported => Err(TaskFailure::unsupported()),
        };
        result.unwrap_or_else(Outcome::Failed)
    }
}

/// A success answering `msg`.
fn ok<M: prost::Message + Name>(msg: &M) -> Outcome {
    Outcome::ok(Some(pack_any(msg)))
}

/// The engine, or the SDK's answer for a capability that is switched off.
fn enabled<'a, E>(engine: Option<&'a E>, what: &str) -> Result<&'a E, TaskFailure> {
    engine.ok_or_else(|| TaskFailure::disabled(what))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::baton::task;
    use tonic::Code;

    fn run_alone(command: Command) -> Result<Outcome, TaskFailure> {
        let invoked = actions::Invoked::default();
        futures::executor::block_on(async move {
            match command {
                Command::Provisioning(c) => c.run(None, &invoked, "t").await,
                Command::Tickets(c) => c.run(None, "t").await,
                Command::Actions(c) => c.run(&invoked),
                other => panic!("not a task that runs without a link: {other:?}"),
            }
        })
    }

    /// Every task type C1 sends lands in its family, under its metric label.
    #[test]
    fn every_task_type_is_routed_to_its_kind() {
        let cases = [
            (TaskType::Hello(Default::default()), "hello"),
            (TaskType::SyncFull(Default::default()), "sync_full"),
            (TaskType::Grant(Default::default()), "grant"),
            (TaskType::Revoke(Default::default()), "revoke"),
            (
                TaskType::CreateAccount(Default::default()),
                "create_account",
            ),
            (
                TaskType::DeleteResource(Default::default()),
                "delete_resource",
            ),
            (
                TaskType::CreateTicketTask(Default::default()),
                "create_ticket",
            ),
            (TaskType::GetTicket(Default::default()), "get_ticket"),
            (
                TaskType::ListTicketSchemas(Default::default()),
                "list_ticket_schemas",
            ),
            (
                TaskType::BulkCreateTickets(Default::default()),
                "bulk_create_tickets",
            ),
            (
                TaskType::BulkGetTickets(Default::default()),
                "bulk_get_tickets",
            ),
            (
                TaskType::ActionListSchemas(Default::default()),
                "action_list_schemas",
            ),
            (
                TaskType::ActionGetSchema(Default::default()),
                "action_get_schema",
            ),
            (TaskType::ActionInvoke(Default::default()), "action_invoke"),
            (TaskType::ActionStatus(Default::default()), "action_status"),
            (TaskType::EventFeed(Default::default()), "unsupported"),
            (TaskType::None(Default::default()), "unsupported"),
        ];
        for (task_type, label) in cases {
            assert_eq!(Command::parse(Some(task_type)).kind().label(), label);
        }
        assert_eq!(Command::parse(None).kind(), TaskKind::Unsupported);
    }

    #[test]
    fn switched_off_engines_answer_as_the_sdk() {
        let grant = Command::parse(Some(TaskType::Grant(Default::default())));
        let f = run_alone(grant).expect_err("no provisioning");
        assert_eq!(f, TaskFailure::disabled("provisioning"));
        let create = Command::parse(Some(TaskType::CreateTicketTask(Default::default())));
        let f = run_alone(create).expect_err("no ticketing");
        assert_eq!(f, TaskFailure::disabled("ticketing"));
        // An action that does not exist is unknown before provisioning is asked for.
        let invoke = Command::parse(Some(TaskType::ActionInvoke(task::ActionInvokeTask {
            name: "delete_everything".into(),
            ..Default::default()
        })));
        let f = run_alone(invoke).expect_err("unknown action");
        assert_eq!(f.code, Code::NotFound);
        // Nothing was invoked here, so there is no status to tell.
        let status = Command::parse(Some(TaskType::ActionStatus(task::ActionStatusTask {
            id: "x".into(),
            ..Default::default()
        })));
        assert_eq!(
            run_alone(status).expect_err("unknown id").code,
            Code::NotFound
        );
        let list = Command::parse(Some(TaskType::ActionListSchemas(Default::default())));
        assert!(matches!(run_alone(list), Ok(Outcome::Success { .. })));
    }
}
