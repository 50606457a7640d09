//! The tasks that change Halo through the provisioning journal: grant, revoke,
//! create_account, delete_resource and action_invoke (enable_agent / disable_agent). Each
//! parses C1's task into the operation the queue runs, waits for its outcome and answers in
//! its task's response type.
//!
//! The operation is journaled under the task id, so a task delivered twice runs once, and an
//! operation acknowledged before a crash is reported after the restart ([`recover`]), in the
//! response type its task answers live (built from the journaled operation, since C1's
//! request objects are gone with the process).

use prost_types::value::Kind;
use prost_types::{Any, Struct};
use tonic::Code;

use super::actions::{self, Invoked};
use super::{enabled, ok};
use crate::c1::status::{Outcome, TaskFailure};
use crate::c1::task_kind::TaskKind;
use crate::contract::ids::AGENT_TYPE;
use crate::pb::baton::task::{
    ActionInvokeTask, CreateAccountTask, DeleteResourceTask, GrantTask, RevokeTask,
};
use crate::pb::{self, pack_any};
use crate::provisioning::operation::{NewAccount, OpRequest, Operation};
use crate::provisioning::outcome::{AlreadyKind, Outcome as ProvOutcome};
use crate::provisioning::{Provisioning, Submission, WhenFull};

/// Who C1's operations are journaled as (and named in fallback tickets).
const REQUESTED_BY: &str = "c1";

#[derive(Debug)]
pub enum Command {
    Grant(Box<GrantTask>),
    Revoke(Box<RevokeTask>),
    CreateAccount(CreateAccountTask),
    DeleteResource(DeleteResourceTask),
    /// An account action: a journaled enable or disable underneath.
    ActionInvoke(ActionInvokeTask),
}

impl Command {
    pub fn kind(&self) -> TaskKind {
        match self {
            Command::Grant(_) => TaskKind::Grant,
            Command::Revoke(_) => TaskKind::Revoke,
            Command::CreateAccount(_) => TaskKind::CreateAccount,
            Command::DeleteResource(_) => TaskKind::DeleteResource,
            Command::ActionInvoke(_) => TaskKind::ActionInvoke,
        }
    }

    pub async fn run(
        self,
        provisioning: Option<&Provisioning>,
        invoked: &Invoked,
        task_id: &str,
    ) -> Result<Outcome, TaskFailure> {
        // Switched off is the first answer, except to an action that does not exist.
        let need = || enabled(provisioning, "provisioning");
        match self {
            Command::Grant(t) => {
                let engine = need()?;
                let entitlement = t.entitlement.unwrap_or_default();
                let principal = t.principal.unwrap_or_default();
                let request = OpRequest::Grant {
                    entitlement: entitlement.id.clone(),
                    principal: resource_ref(principal.id.as_ref())?,
                };
                let outcome = journaled(engine, task_id, request).await;
                Ok(ok(&grant_response(entitlement, principal, outcome)?))
            }
            Command::Revoke(t) => {
                let engine = need()?;
                let grant = t.grant.map(|g| g.id).unwrap_or_default();
                let outcome = journaled(engine, task_id, OpRequest::Revoke { grant }).await;
                Ok(ok(&revoke_response(outcome)?))
            }
            Command::CreateAccount(t) => {
                let engine = need()?;
                let account = new_account(t.account_info.unwrap_or_default())?;
                let outcome = journaled(engine, task_id, OpRequest::CreateAccount(account)).await;
                Ok(ok(&create_account_response(outcome)?))
            }
            Command::DeleteResource(t) => {
                let engine = need()?;
                let resource = resource_ref(t.resource_id.as_ref())?;
                let outcome =
                    journaled(engine, task_id, OpRequest::DeleteResource { resource }).await;
                Ok(ok(&delete_response(outcome)?))
            }
            Command::ActionInvoke(t) => {
                let enabled = match t.name.as_str() {
                    actions::ENABLE_AGENT => true,
                    actions::DISABLE_AGENT => false,
                    other => return Err(actions::unknown(other)),
                };
                // Switched off answers before the arguments are looked at, as for the other tasks.
                let engine = need()?;
                let agent = t.args.as_ref().and_then(agent_id_arg).ok_or_else(|| {
                    TaskFailure::new(
                        Code::InvalidArgument,
                        format!(
                            "argument `{}` (an agent id) is required",
                            actions::AGENT_ID_ARG
                        ),
                    )
                })?;
                let resource = if agent.contains(':') {
                    agent
                } else {
                    format!("agent:{agent}")
                };
                let request = if enabled {
                    OpRequest::EnableAccount { resource }
                } else {
                    OpRequest::DisableAccount { resource }
                };
                settle(journaled(engine, task_id, request).await)?;
                let resp = actions::completed(task_id, &t.name);
                invoked.remember(task_id, &t.name, resp.status);
                Ok(ok(&resp))
            }
        }
    }
}

/// Submits `request` under `task_id` (the journal keys the operation by it: a task delivered
/// twice runs once) and waits for its outcome.
async fn journaled(engine: &Provisioning, task_id: &str, request: OpRequest) -> ProvOutcome {
    let submission = Submission {
        request,
        requested_by: REQUESTED_BY.to_string(),
        c1_task_id: Some(task_id.to_string()),
        when_full: WhenFull::Wait,
    };
    engine.run(submission).await.1
}

/// C1 tasks whose operation was acknowledged (journaled) but never reported, finished or
/// not: after a restart each is finished and reported once.
pub async fn unreported(engine: &Provisioning) -> Vec<String> {
    match engine.unreported_tasks().await {
        Ok(list) => list.into_iter().filter_map(|r| r.c1_task_id).collect(),
        Err(e) => {
            tracing::error!(error = %e, "cannot read unreported C1 tasks from the journal");
            Vec::new()
        }
    }
}

/// Waits for the journaled operation of `task_id` (the queue replays it if it had not
/// finished) and answers its real outcome, as its task kind answers live.
pub async fn recover(engine: &Provisioning, task_id: &str) -> Option<(TaskKind, Outcome)> {
    let record = match engine.by_task(task_id.to_string()).await {
        Ok(Some(r)) => r,
        Ok(None) => return None,
        Err(e) => {
            tracing::error!(task_id, error = %e, "cannot read a C1 task's operation from the journal");
            return None;
        }
    };
    let outcome = match engine.outcome(record.id).await {
        Ok(o) => o,
        Err(e) => e.into_outcome(),
    };
    Some(recovered(task_id, &record.operation, outcome))
}

/// C1 has the outcome of `task_id`: never report it again.
pub async fn reported(engine: &Provisioning, task_id: &str) {
    if let Err(e) = engine.mark_reported(task_id.to_string()).await {
        tracing::error!(task_id, error = %e, "cannot mark a C1 task reported");
    }
}

/// The kind and outcome of a journaled operation, in the response type its task answers.
fn recovered(task_id: &str, op: &Operation, outcome: ProvOutcome) -> (TaskKind, Outcome) {
    let agent = |id: i64| pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: AGENT_TYPE.to_string(),
            resource: id.to_string(),
            baton_resource: false,
        }),
        ..Default::default()
    };
    let (kind, packed) = match op {
        Operation::Grant { grant } => (
            TaskKind::Grant,
            grant_response(
                pb::Entitlement {
                    id: grant.entitlement.to_string(),
                    ..Default::default()
                },
                agent(grant.agent_id),
                outcome,
            )
            .map(|r| pack_any(&r)),
        ),
        Operation::Revoke { .. } => (
            TaskKind::Revoke,
            revoke_response(outcome).map(|r| pack_any(&r)),
        ),
        Operation::CreateAccount { .. } => (
            TaskKind::CreateAccount,
            create_account_response(outcome).map(|r| pack_any(&r)),
        ),
        Operation::Delete { .. } => (
            TaskKind::DeleteResource,
            delete_response(outcome).map(|r| pack_any(&r)),
        ),
        Operation::SetDisabled { disabled, .. } => {
            let name = if *disabled {
                actions::DISABLE_AGENT
            } else {
                actions::ENABLE_AGENT
            };
            (
                TaskKind::ActionInvoke,
                settle(outcome).map(|_| pack_any(&actions::completed(task_id, name))),
            )
        }
    };
    match packed {
        Ok(any) => (kind, Outcome::ok(Some(any))),
        Err(f) => (kind, Outcome::Failed(f)),
    }
}

/// Success (with any "already" annotation) or the failure C1 sees.
fn settle(outcome: ProvOutcome) -> Result<(Option<String>, Vec<Any>), TaskFailure> {
    match outcome {
        ProvOutcome::Ok { resource, .. } => Ok((resource, Vec::new())),
        ProvOutcome::Already { kind, resource } => {
            let annotations = match kind {
                AlreadyKind::GrantAlreadyExists => vec![pack_any(&pb::GrantAlreadyExists {})],
                AlreadyKind::GrantAlreadyRevoked => vec![pack_any(&pb::GrantAlreadyRevoked {})],
                _ => Vec::new(),
            };
            Ok((resource, annotations))
        }
        ProvOutcome::Ticketed { ticket_id, reason } => {
            Err(TaskFailure::ticketed(&ticket_id, &reason))
        }
        ProvOutcome::Failed { kind, message } => Err(TaskFailure::of(kind, message)),
    }
}

/// `<type>:<id>` of a resource id, the shape the ID contract parses.
fn resource_ref(id: Option<&pb::ResourceId>) -> Result<String, TaskFailure> {
    id.map(|r| format!("{}:{}", r.resource_type, r.resource))
        .ok_or_else(|| TaskFailure::new(Code::InvalidArgument, "resource id is missing"))
}

/// The account C1 asks for: the primary email (else the first, else a login that is one),
/// names from the profile.
fn new_account(info: pb::AccountInfo) -> Result<NewAccount, TaskFailure> {
    let email = info
        .emails
        .iter()
        .find(|e| e.is_primary)
        .or_else(|| info.emails.first())
        .map(|e| e.address.clone())
        .filter(|e| !e.is_empty())
        .or_else(|| Some(info.login.clone()).filter(|l| l.contains('@')))
        .ok_or_else(|| {
            TaskFailure::new(
                Code::InvalidArgument,
                "the account needs an email (account_info.emails or login)",
            )
        })?;
    let profile = info.profile.as_ref();
    Ok(NewAccount {
        name: profile_text(profile, "name").unwrap_or_default(),
        firstname: profile_text(profile, "first_name"),
        surname: profile_text(profile, "surname"),
        email,
        team: None,
        role: None,
    })
}

fn profile_text(profile: Option<&Struct>, key: &str) -> Option<String> {
    match profile?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
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

fn grant_response(
    entitlement: pb::Entitlement,
    principal: pb::Resource,
    outcome: ProvOutcome,
) -> Result<pb::GrantManagerServiceGrantResponse, TaskFailure> {
    let (_, annotations) = settle(outcome)?;
    let grant_id = crate::contract::ids::grant_id(
        &entitlement.id,
        principal.id.as_ref().map_or("", |p| &p.resource_type),
        principal.id.as_ref().map_or("", |p| &p.resource),
    );
    Ok(pb::GrantManagerServiceGrantResponse {
        annotations,
        grants: vec![pb::Grant {
            id: grant_id,
            entitlement: Some(entitlement),
            principal: Some(principal),
            ..Default::default()
        }],
    })
}

fn revoke_response(
    outcome: ProvOutcome,
) -> Result<pb::GrantManagerServiceRevokeResponse, TaskFailure> {
    let (_, annotations) = settle(outcome)?;
    Ok(pb::GrantManagerServiceRevokeResponse { annotations })
}

fn create_account_response(outcome: ProvOutcome) -> Result<pb::CreateAccountResponse, TaskFailure> {
    use pb::create_account_response::{AlreadyExistsResult, Result as R, SuccessResult};
    let already = matches!(
        outcome,
        ProvOutcome::Already {
            kind: AlreadyKind::AccountAlreadyExists,
            ..
        }
    );
    let (resource, _) = settle(outcome)?;
    let resource = agent_resource(resource);
    let result = if already {
        R::AlreadyExists(AlreadyExistsResult {
            resource,
            is_create_account_result: true,
        })
    } else {
        R::Success(SuccessResult {
            resource,
            is_create_account_result: true,
        })
    };
    Ok(pb::CreateAccountResponse {
        result: Some(result),
        ..Default::default()
    })
}

fn delete_response(outcome: ProvOutcome) -> Result<pb::DeleteResourceResponse, TaskFailure> {
    let (_, annotations) = settle(outcome)?;
    Ok(pb::DeleteResourceResponse { annotations })
}

/// The agent a create made or found (`agent:<id>`), as a resource.
fn agent_resource(resource: Option<String>) -> Option<pb::Resource> {
    let id = resource?;
    let (rt, id) = id.split_once(':')?;
    Some(pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: rt.to_string(),
            resource: id.to_string(),
            baton_resource: false,
        }),
        ..Default::default()
    })
}
