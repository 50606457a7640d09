//! One function, one arm per task type: each task goes to the actor that already does the
//! work, and comes back as an `Outcome` (mapped to FinishTask in `status`).
//!
//! Provisioning and ticketing are reached through two narrow seams, `Provisioning` and
//! `Ticketing`. Until the daemon wires them (or when they are switched off) their tasks answer
//! FailedPrecondition "provisioning is not enabled" / "ticketing is not enabled", as the SDK's
//! no-op provisioner does.

use std::rc::Rc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use prost::Name;
use prost_types::{Any, Struct, Value, value::Kind};
use tonic::Code;

use super::actions;
use super::link::Link;
use super::status::{Outcome, TaskFailure};
use crate::actor_slot::Slot;
use crate::pb::baton::Task;
use crate::pb::baton::task::TaskType;
use crate::pb::{self, pack_any};
use crate::sync::coordinator::{CancelSync, IsSyncing, StartSync, SyncCoordinator};

/// The provisioning engine as C1 tasks need it (implemented over the ProvisioningQueue by
/// whoever wires it). `task_id` goes into the journal so that an operation acknowledged before a
/// crash is reported once, with its real outcome.
pub trait Provisioning {
    fn grant(
        &self,
        task_id: String,
        req: pb::GrantManagerServiceGrantRequest,
    ) -> LocalBoxFuture<'static, Result<pb::GrantManagerServiceGrantResponse, TaskFailure>>;
    fn revoke(
        &self,
        task_id: String,
        req: pb::GrantManagerServiceRevokeRequest,
    ) -> LocalBoxFuture<'static, Result<pb::GrantManagerServiceRevokeResponse, TaskFailure>>;
    fn create_account(
        &self,
        task_id: String,
        req: pb::CreateAccountRequest,
    ) -> LocalBoxFuture<'static, Result<pb::CreateAccountResponse, TaskFailure>>;
    fn delete_resource(
        &self,
        task_id: String,
        req: pb::DeleteResourceRequest,
    ) -> LocalBoxFuture<'static, Result<pb::DeleteResourceResponse, TaskFailure>>;
    /// enable_agent / disable_agent.
    fn set_agent_enabled(
        &self,
        task_id: String,
        agent_id: String,
        enabled: bool,
    ) -> LocalBoxFuture<'static, Result<(), TaskFailure>>;
    /// C1 tasks whose operation was acknowledged (journaled) but never reported, finished
    /// or not: after a restart each is finished and reported once.
    fn unreported(&self) -> LocalBoxFuture<'static, Vec<String>>;
    /// Waits for the journaled operation of `task_id` (the queue replays it if it had not
    /// finished) and answers its real outcome, as its task kind answers live.
    fn recover(&self, task_id: String) -> LocalBoxFuture<'static, Option<Outcome>>;
    /// C1 has the outcome of `task_id`: never report it again.
    fn reported(&self, task_id: String) -> LocalBoxFuture<'static, ()>;
}

/// Task kinds that go through the provisioning journal (reported exactly once).
pub fn is_provisioning(kind: &str) -> bool {
    matches!(
        kind,
        "grant" | "revoke" | "create_account" | "delete_resource" | "action_invoke"
    )
}

/// The ticketing engine as C1 tasks need it.
pub trait Ticketing {
    fn create_ticket(
        &self,
        task_id: String,
        req: pb::TicketsServiceCreateTicketRequest,
    ) -> LocalBoxFuture<'static, Result<pb::TicketsServiceCreateTicketResponse, TaskFailure>>;
    fn get_ticket(
        &self,
        req: pb::TicketsServiceGetTicketRequest,
    ) -> LocalBoxFuture<'static, Result<pb::TicketsServiceGetTicketResponse, TaskFailure>>;
    fn list_ticket_schemas(
        &self,
        req: pb::TicketsServiceListTicketSchemasRequest,
    ) -> LocalBoxFuture<'static, Result<pb::TicketsServiceListTicketSchemasResponse, TaskFailure>>;
    /// Per-item results (an item's failure is in its `error`); items without an
    /// ExternalTicketRef are keyed by task id and position.
    fn bulk_create_tickets(
        &self,
        task_id: String,
        reqs: Vec<pb::TicketsServiceCreateTicketRequest>,
    ) -> LocalBoxFuture<'static, pb::TicketsServiceBulkCreateTicketsResponse>;
    fn bulk_get_tickets(
        &self,
        reqs: Vec<pb::TicketsServiceGetTicketRequest>,
    ) -> LocalBoxFuture<'static, pb::TicketsServiceBulkGetTicketsResponse>;
}

/// What the arms dispatch to. `None` = not wired or switched off.
#[derive(Clone)]
pub struct Deps {
    /// `None` only where no sync can run (benchmarks of the link alone).
    pub coordinator: Option<Slot<SyncCoordinator>>,
    pub provisioning: Option<Rc<dyn Provisioning>>,
    pub ticketing: Option<Rc<dyn Ticketing>>,
}

/// The SDK keeps at most this many schemas from list_ticket_schemas.
const MAX_TICKET_SCHEMAS: usize = 100;
const MAX_REMEMBERED_ACTIONS: usize = 1000;

/// The bounded metric label of a task.
pub fn task_kind(task: &Task) -> &'static str {
    match &task.task_type {
        Some(TaskType::Hello(_)) => "hello",
        Some(TaskType::SyncFull(_)) => "sync_full",
        Some(TaskType::Grant(_)) => "grant",
        Some(TaskType::Revoke(_)) => "revoke",
        Some(TaskType::CreateAccount(_)) => "create_account",
        Some(TaskType::DeleteResource(_)) => "delete_resource",
        Some(TaskType::CreateTicketTask(_)) => "create_ticket",
        Some(TaskType::GetTicket(_)) => "get_ticket",
        Some(TaskType::ListTicketSchemas(_)) => "list_ticket_schemas",
        Some(TaskType::BulkCreateTickets(_)) => "bulk_create_tickets",
        Some(TaskType::BulkGetTickets(_)) => "bulk_get_tickets",
        Some(TaskType::ActionListSchemas(_)) => "action_list_schemas",
        Some(TaskType::ActionGetSchema(_)) => "action_get_schema",
        Some(TaskType::ActionInvoke(_)) => "action_invoke",
        Some(TaskType::ActionStatus(_)) => "action_status",
        _ => "unsupported",
    }
}

/// Whether GetTask handed us something to do (`none` or an empty task means idle).
pub fn has_work(task: &Task) -> bool {
    !task.id.is_empty() && !matches!(task.task_type, Some(TaskType::None(_)))
}

fn ok<M: prost::Message + Name>(msg: &M) -> Outcome {
    Outcome::ok(Some(pack_any(msg)))
}

/// Runs one task to its outcome.
pub async fn dispatch(link: &Link, task: Task, next_heartbeat: Option<Duration>) -> Outcome {
    let id = task.id.clone();
    let prov = || {
        link.deps
            .provisioning
            .clone()
            .ok_or_else(|| TaskFailure::disabled("provisioning"))
    };
    let tick = || {
        link.deps
            .ticketing
            .clone()
            .ok_or_else(|| TaskFailure::disabled("ticketing"))
    };
    let result: Result<Outcome, TaskFailure> = match task.task_type {
        Some(TaskType::SyncFull(_)) => Ok(sync_full(link, &id, next_heartbeat).await),
        Some(TaskType::Grant(t)) => {
            async {
                let req = pb::GrantManagerServiceGrantRequest {
                    entitlement: t.entitlement,
                    principal: t.principal,
                    annotations: t.annotations,
                };
                let resp = prov()?
                    .grant(id.clone(), req)
                    .await
                    .map_err(final_failure)?;
                Ok(ok(&resp))
            }
            .await
        }
        Some(TaskType::Revoke(t)) => {
            async {
                let req = pb::GrantManagerServiceRevokeRequest {
                    grant: t.grant,
                    annotations: t.annotations,
                };
                let resp = prov()?
                    .revoke(id.clone(), req)
                    .await
                    .map_err(final_failure)?;
                Ok(ok(&resp))
            }
            .await
        }
        Some(TaskType::CreateAccount(t)) => {
            async {
                let req = pb::CreateAccountRequest {
                    account_info: t.account_info,
                    credential_options: t.credential_options,
                    encryption_configs: t.encryption_configs,
                    resource_type_id: String::new(),
                };
                let resp = prov()?
                    .create_account(id.clone(), req)
                    .await
                    .map_err(final_failure)?;
                Ok(ok(&resp))
            }
            .await
        }
        Some(TaskType::DeleteResource(t)) => {
            async {
                let req = pb::DeleteResourceRequest {
                    resource_id: t.resource_id,
                    parent_resource_id: t.parent_resource_id,
                };
                let resp = prov()?
                    .delete_resource(id.clone(), req)
                    .await
                    .map_err(final_failure)?;
                Ok(ok(&resp))
            }
            .await
        }
        Some(TaskType::CreateTicketTask(t)) => {
            async {
                let resp = create_ticket(&*tick()?, &id, t).await?;
                Ok(ok(&resp))
            }
            .await
        }
        Some(TaskType::GetTicket(t)) => {
            async {
                let resp = get_ticket(&*tick()?, t).await?;
                Ok(ok(&resp))
            }
            .await
        }
        Some(TaskType::ListTicketSchemas(t)) => {
            async {
                let ticketing = tick()?;
                let mut list = Vec::new();
                let mut page_token = String::new();
                loop {
                    let page = ticketing
                        .list_ticket_schemas(pb::TicketsServiceListTicketSchemasRequest {
                            page_size: 100,
                            page_token: page_token.clone(),
                            annotations: t.annotations.clone(),
                        })
                        .await?;
                    list.extend(page.list);
                    page_token = page.next_page_token;
                    if page_token.is_empty() || list.len() >= MAX_TICKET_SCHEMAS {
                        break;
                    }
                }
                list.truncate(MAX_TICKET_SCHEMAS);
                if list.is_empty() {
                    return Err(TaskFailure::new(
                        Code::NotFound,
                        "no ticket schemas found",
                        false,
                    ));
                }
                Ok(ok(&pb::TicketsServiceListTicketSchemasResponse {
                    list,
                    next_page_token: String::new(),
                    annotations: Vec::new(),
                }))
            }
            .await
        }
        Some(TaskType::BulkCreateTickets(t)) => {
            async {
                let reqs = t
                    .ticket_requests
                    .into_iter()
                    .map(|one| pb::TicketsServiceCreateTicketRequest {
                        request: one.ticket_request,
                        schema: one.ticket_schema,
                        annotations: one.annotations,
                    })
                    .collect();
                Ok(ok(&tick()?.bulk_create_tickets(id.clone(), reqs).await))
            }
            .await
        }
        Some(TaskType::BulkGetTickets(t)) => {
            async {
                let reqs = t
                    .ticket_requests
                    .into_iter()
                    .map(|one| pb::TicketsServiceGetTicketRequest {
                        id: one.ticket_id,
                        annotations: one.annotations,
                    })
                    .collect();
                Ok(ok(&tick()?.bulk_get_tickets(reqs).await))
            }
            .await
        }
        Some(TaskType::ActionListSchemas(_)) => Ok(ok(&pb::ListActionSchemasResponse {
            schemas: actions::schemas(),
            annotations: Vec::new(),
        })),
        Some(TaskType::ActionGetSchema(t)) => match actions::schema_named(&t.name) {
            Some(schema) => Ok(ok(&pb::GetActionSchemaResponse {
                schema: Some(schema),
                annotations: Vec::new(),
            })),
            None => Err(unknown_action(&t.name)),
        },
        Some(TaskType::ActionInvoke(t)) => {
            async {
                let enabled = match t.name.as_str() {
                    actions::ENABLE_AGENT => true,
                    actions::DISABLE_AGENT => false,
                    other => return Err(unknown_action(other)),
                };
                let agent = t.args.as_ref().and_then(agent_id_arg).ok_or_else(|| {
                    TaskFailure::new(
                        Code::InvalidArgument,
                        format!(
                            "argument `{}` (an agent id) is required",
                            actions::AGENT_ID_ARG
                        ),
                        false,
                    )
                })?;
                prov()?
                    .set_agent_enabled(id.clone(), agent, enabled)
                    .await
                    .map_err(final_failure)?;
                let resp = action_completed(&id, &t.name);
                remember_action(link, &id, &t.name, resp.status);
                Ok(ok(&resp))
            }
            .await
        }
        Some(TaskType::ActionStatus(t)) => {
            let known = link.actions.borrow().get(&t.id).cloned();
            match known {
                Some((name, status)) => Ok(ok(&pb::GetActionStatusResponse {
                    name,
                    id: t.id,
                    status,
                    annotations: Vec::new(),
                    response: Some(success_struct()),
                })),
                None => Err(TaskFailure::new(
                    Code::NotFound,
                    format!("no action with id `{}` ran here", t.id),
                    false,
                )),
            }
        }
        // Hello tasks are answered by the link itself; everything else is not ours.
        _ => Err(TaskFailure::unsupported()),
    };
    result.unwrap_or_else(Outcome::Failed)
}

/// An account action that ran to completion.
pub(super) fn action_completed(task_id: &str, name: &str) -> pb::InvokeActionResponse {
    pb::InvokeActionResponse {
        id: task_id.to_string(),
        status: pb::BatonActionStatus::Complete as i32,
        annotations: Vec::new(),
        response: Some(success_struct()),
        name: name.to_string(),
    }
}

/// Provisioning errors are final for C1 (the SDK sends them non-retryable).
pub(super) fn final_failure(mut f: TaskFailure) -> TaskFailure {
    f.retryable = false;
    f
}

fn unknown_action(name: &str) -> TaskFailure {
    TaskFailure::new(Code::NotFound, format!("unknown action `{name}`"), false)
}

fn success_struct() -> Struct {
    Struct {
        fields: [(
            "success".to_string(),
            Value {
                kind: Some(Kind::BoolValue(true)),
            },
        )]
        .into(),
    }
}

/// `agent_id` as a plain string, or as a resource id struct `{resource_type_id, resource_id}`.
fn agent_id_arg(args: &Struct) -> Option<String> {
    match args.fields.get(actions::AGENT_ID_ARG)?.kind.as_ref()? {
        Kind::StringValue(s) if !s.is_empty() => Some(s.clone()),
        Kind::StructValue(s) => match s.fields.get("resource_id")?.kind.as_ref()? {
            Kind::StringValue(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn remember_action(link: &Link, id: &str, name: &str, status: i32) {
    let mut map = link.actions.borrow_mut();
    if map.len() >= MAX_REMEMBERED_ACTIONS {
        map.clear();
    }
    map.insert(id.to_string(), (name.to_string(), status));
}

/// create_ticket: the task's annotations are merged into the response (they carry the
/// ExternalTicketRef); errors are retryable, as in the SDK.
async fn create_ticket(
    ticketing: &dyn Ticketing,
    task_id: &str,
    t: pb::baton::task::CreateTicketTask,
) -> Result<pb::TicketsServiceCreateTicketResponse, TaskFailure> {
    let req = pb::TicketsServiceCreateTicketRequest {
        request: t.ticket_request,
        schema: t.ticket_schema,
        annotations: t.annotations.clone(),
    };
    let mut resp = ticketing
        .create_ticket(task_id.to_string(), req)
        .await
        .map_err(|mut f| {
            f.retryable = true;
            f
        })?;
    resp.annotations.extend(t.annotations);
    Ok(resp)
}

async fn get_ticket(
    ticketing: &dyn Ticketing,
    t: pb::baton::task::GetTicketTask,
) -> Result<pb::TicketsServiceGetTicketResponse, TaskFailure> {
    let resp = ticketing
        .get_ticket(pb::TicketsServiceGetTicketRequest {
            id: t.ticket_id,
            annotations: t.annotations,
        })
        .await?;
    if resp.ticket.is_none() {
        return Err(TaskFailure::new(Code::NotFound, "ticket not found", false));
    }
    Ok(resp)
}

/// sync_full: one sync into a temp file while heartbeating, then the upload; the task is
/// finished only after the upload succeeded. A cancel cancels the sync and uploads nothing.
async fn sync_full(link: &Link, task_id: &str, next_heartbeat: Option<Duration>) -> Outcome {
    let settings = &link.settings;
    if settings.skip_full_sync {
        return Outcome::Failed(TaskFailure::new(
            Code::FailedPrecondition,
            "full syncs are disabled on this connector (skip_full_sync)",
            false,
        ));
    }
    let _one_at_a_time = link.sync_lock.lock().await;
    if let Err(e) = std::fs::create_dir_all(&settings.temp_dir) {
        return Outcome::Failed(TaskFailure::new(
            Code::Internal,
            format!("cannot create {}: {e}", settings.temp_dir.display()),
            true,
        ));
    }
    let dest = settings.temp_dir.join(format!("task-{task_id}.c1z"));
    let Some(coordinator) = link.deps.coordinator.as_ref().map(Slot::addr) else {
        return Outcome::Failed(TaskFailure::disabled("sync"));
    };
    let start = coordinator.send(StartSync {
        reason: "c1",
        dest: Some(dest.clone()),
    });
    let report = match link.with_heartbeats(task_id, next_heartbeat, start).await {
        Ok(Ok(Ok(report))) => report,
        Ok(Ok(Err(e))) => {
            return Outcome::Failed(TaskFailure::new(
                Code::Unavailable,
                format!("sync failed: {e}"),
                true,
            ));
        }
        Ok(Err(e)) => {
            return Outcome::Failed(TaskFailure::new(
                Code::Unavailable,
                format!("sync coordinator is not running: {e}"),
                true,
            ));
        }
        Err(cancelled) => {
            // Stop the sync we started and wait for it to wind down: nothing is published.
            if coordinator.send(CancelSync).await.unwrap_or(false) {
                while coordinator.send(IsSyncing).await.unwrap_or(false) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            let _ = std::fs::remove_file(&dest);
            return Outcome::Failed(cancelled);
        }
    };
    let path = report.snapshot.path.clone();
    match link.upload(task_id, &path).await {
        Ok(_) => {
            let _ = std::fs::remove_file(&path);
            Outcome::ok(None)
        }
        Err(e) => {
            keep_for_diagnosis(path.clone(), settings.keep_failed_upload);
            Outcome::Failed(TaskFailure::new(
                Code::Unavailable,
                format!(
                    "upload failed after 3 attempts ({e}); c1z kept at {}",
                    path.display()
                ),
                true,
            ))
        }
    }
}

/// A failed upload's file stays for `keep`, then goes (a restart forgets it; the start-up
/// temp cleanup of the state dir does not touch the C1 temp dir).
fn keep_for_diagnosis(path: std::path::PathBuf, keep: Duration) {
    tracing::warn!(path = %path.display(), keep_s = keep.as_secs(), "keeping the c1z whose upload failed");
    actix::spawn(async move {
        tokio::time::sleep(keep).await;
        let _ = std::fs::remove_file(&path);
    });
}

/// Type URL of a packed response (tests compare against it).
pub fn type_url_of(any: &Any) -> &str {
    &any.type_url
}
