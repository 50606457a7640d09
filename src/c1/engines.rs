//! The two engines behind C1's tasks: the ProvisioningQueue handle and the
//! Ticketing service, seen through the dispatcher's narrow traits. Nothing here
//! does work of its own: it turns C1's request messages into the engine's
//! requests and the engine's answers into C1's responses (failures through
//! `status`, the one place outcomes become C1 statuses).

use futures::future::LocalBoxFuture;
use prost_types::value::Kind;

use super::status::{self, Outcome, TaskFailure};
use super::{actions, dispatch};
use crate::contract::ids::AGENT_TYPE;
use crate::pb::{self, pack_any};
use crate::provisioning::operation::{NewAccount, OpRequest, Operation};
use crate::provisioning::outcome::{AlreadyKind, Outcome as ProvOutcome};
use crate::provisioning::{Provisioning, Submission, WhenFull};
use crate::ticketing::Ticketing;

/// Who C1's operations are journaled as (and named in fallback tickets).
const REQUESTED_BY: &str = "c1";

fn submission(task_id: String, request: OpRequest) -> Submission {
    Submission {
        request,
        requested_by: REQUESTED_BY.to_string(),
        // The journal keys the operation by task id: a task delivered twice runs once.
        c1_task_id: Some(task_id),
        when_full: WhenFull::Wait,
    }
}

/// `<type>:<id>` of a resource id, the shape the ID contract parses.
fn resource_ref(id: Option<&pb::ResourceId>) -> Result<String, TaskFailure> {
    id.map(|r| format!("{}:{}", r.resource_type, r.resource))
        .ok_or_else(|| {
            TaskFailure::new(
                tonic::Code::InvalidArgument,
                "resource id is missing",
                false,
            )
        })
}

/// Success (with any "already" annotation) or the failure C1 sees.
fn settle(outcome: ProvOutcome) -> Result<(Option<String>, Vec<prost_types::Any>), TaskFailure> {
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
            Err(status::ticketed_failure(&ticket_id, &reason))
        }
        ProvOutcome::Failed { kind, message } => Err(status::provisioning_failure(kind, &message)),
    }
}

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

fn profile_text(profile: Option<&prost_types::Struct>, key: &str) -> Option<String> {
    match profile?.fields.get(key)?.kind.as_ref()? {
        Kind::StringValue(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

impl dispatch::Provisioning for Provisioning {
    fn grant(
        &self,
        task_id: String,
        req: pb::GrantManagerServiceGrantRequest,
    ) -> LocalBoxFuture<'static, Result<pb::GrantManagerServiceGrantResponse, TaskFailure>> {
        let this = self.clone();
        Box::pin(async move {
            let entitlement = req.entitlement.clone().unwrap_or_default();
            let principal = req.principal.clone().unwrap_or_default();
            let request = OpRequest::Grant {
                entitlement: entitlement.id.clone(),
                principal: resource_ref(principal.id.as_ref())?,
            };
            let (_, outcome) = this.run(submission(task_id, request)).await;
            grant_response(entitlement, principal, outcome)
        })
    }

    fn revoke(
        &self,
        task_id: String,
        req: pb::GrantManagerServiceRevokeRequest,
    ) -> LocalBoxFuture<'static, Result<pb::GrantManagerServiceRevokeResponse, TaskFailure>> {
        let this = self.clone();
        Box::pin(async move {
            let grant = req.grant.map(|g| g.id).unwrap_or_default();
            let (_, outcome) = this
                .run(submission(task_id, OpRequest::Revoke { grant }))
                .await;
            revoke_response(outcome)
        })
    }

    fn create_account(
        &self,
        task_id: String,
        req: pb::CreateAccountRequest,
    ) -> LocalBoxFuture<'static, Result<pb::CreateAccountResponse, TaskFailure>> {
        let this = self.clone();
        Box::pin(async move {
            let info = req.account_info.unwrap_or_default();
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
                        tonic::Code::InvalidArgument,
                        "the account needs an email (account_info.emails or login)",
                        false,
                    )
                })?;
            let profile = info.profile.as_ref();
            let account = NewAccount {
                name: profile_text(profile, "name").unwrap_or_default(),
                firstname: profile_text(profile, "first_name"),
                surname: profile_text(profile, "surname"),
                email,
                team: None,
                role: None,
            };
            let (_, outcome) = this
                .run(submission(task_id, OpRequest::CreateAccount(account)))
                .await;
            create_account_response(outcome)
        })
    }

    fn delete_resource(
        &self,
        task_id: String,
        req: pb::DeleteResourceRequest,
    ) -> LocalBoxFuture<'static, Result<pb::DeleteResourceResponse, TaskFailure>> {
        let this = self.clone();
        Box::pin(async move {
            let resource = resource_ref(req.resource_id.as_ref())?;
            let (_, outcome) = this
                .run(submission(task_id, OpRequest::DeleteResource { resource }))
                .await;
            delete_response(outcome)
        })
    }

    fn set_agent_enabled(
        &self,
        task_id: String,
        agent_id: String,
        enabled: bool,
    ) -> LocalBoxFuture<'static, Result<(), TaskFailure>> {
        let this = self.clone();
        Box::pin(async move {
            let resource = if agent_id.contains(':') {
                agent_id
            } else {
                format!("agent:{agent_id}")
            };
            let request = if enabled {
                OpRequest::EnableAccount { resource }
            } else {
                OpRequest::DisableAccount { resource }
            };
            let (_, outcome) = this.run(submission(task_id, request)).await;
            settle(outcome).map(|_| ())
        })
    }

    fn unreported(&self) -> LocalBoxFuture<'static, Vec<String>> {
        let this = self.clone();
        Box::pin(async move {
            match this.unreported_tasks().await {
                Ok(list) => list.into_iter().filter_map(|r| r.c1_task_id).collect(),
                Err(e) => {
                    tracing::error!(error = %e, "cannot read unreported C1 tasks from the journal");
                    Vec::new()
                }
            }
        })
    }

    fn recover(&self, task_id: String) -> LocalBoxFuture<'static, Option<Outcome>> {
        let this = self.clone();
        Box::pin(async move {
            let record = match this.by_task(task_id.clone()).await {
                Ok(Some(r)) => r,
                Ok(None) => return None,
                Err(e) => {
                    tracing::error!(task_id, error = %e, "cannot read a C1 task's operation from the journal");
                    return None;
                }
            };
            // Replayed by the queue at start if it had not finished: wait for it.
            let outcome = match this.outcome(record.id).await {
                Ok(o) => o,
                Err(e) => e.into_outcome(),
            };
            Some(recovered(&task_id, &record.operation, outcome))
        })
    }

    fn reported(&self, task_id: String) -> LocalBoxFuture<'static, ()> {
        let this = self.clone();
        Box::pin(async move {
            if let Err(e) = this.mark_reported(task_id.clone()).await {
                tracing::error!(task_id, error = %e, "cannot mark a C1 task reported");
            }
        })
    }
}

/// The grant response C1 expects (live and recovered tasks alike).
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
    let already = matches!(
        outcome,
        ProvOutcome::Already {
            kind: AlreadyKind::AccountAlreadyExists,
            ..
        }
    );
    let (resource, _) = settle(outcome)?;
    let resource = agent_resource(resource);
    use pb::create_account_response::{AlreadyExistsResult, Result as R, SuccessResult};
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

/// The FinishTask outcome of an operation journaled before a restart, in the
/// response type its task kind answers live (built from the journaled operation,
/// since C1's request objects are gone with the process).
fn recovered(task_id: &str, op: &Operation, outcome: ProvOutcome) -> Outcome {
    let agent = |id: i64| pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: AGENT_TYPE.to_string(),
            resource: id.to_string(),
            baton_resource: false,
        }),
        ..Default::default()
    };
    let packed = match op {
        Operation::Grant { grant } => grant_response(
            pb::Entitlement {
                id: grant.entitlement.to_string(),
                ..Default::default()
            },
            agent(grant.agent_id),
            outcome,
        )
        .map(|r| pack_any(&r)),
        Operation::Revoke { .. } => revoke_response(outcome).map(|r| pack_any(&r)),
        Operation::CreateAccount { .. } => create_account_response(outcome).map(|r| pack_any(&r)),
        Operation::Delete { .. } => delete_response(outcome).map(|r| pack_any(&r)),
        Operation::SetDisabled { disabled, .. } => settle(outcome).map(|_| {
            let name = if *disabled {
                actions::DISABLE_AGENT
            } else {
                actions::ENABLE_AGENT
            };
            pack_any(&dispatch::action_completed(task_id, name))
        }),
    };
    match packed {
        Ok(any) => Outcome::ok(Some(any)),
        Err(f) => Outcome::Failed(dispatch::final_failure(f)),
    }
}

impl dispatch::Ticketing for Ticketing {
    fn create_ticket(
        &self,
        task_id: String,
        req: pb::TicketsServiceCreateTicketRequest,
    ) -> LocalBoxFuture<'static, Result<pb::TicketsServiceCreateTicketResponse, TaskFailure>> {
        let this = self.clone();
        Box::pin(async move {
            let (Some(request), Some(schema)) = (&req.request, &req.schema) else {
                return Err(TaskFailure::new(
                    tonic::Code::InvalidArgument,
                    "create_ticket needs a ticket request and its schema",
                    false,
                ));
            };
            // C1 retries a create with the same ExternalTicketRef; without one,
            // the task id keys it.
            let key = pb::find_annotation::<pb::ExternalTicketRef>(&req.annotations)
                .map(|r| r.id)
                .filter(|id| !id.is_empty())
                .unwrap_or(task_id);
            let result = this.create_ticket(request, schema, Some(&key)).await;
            match (&result.ticket, &result.error) {
                (None, Some(e)) => Err(status::ticketing_failure(e)),
                _ => Ok(result.into_response()),
            }
        })
    }

    fn get_ticket(
        &self,
        req: pb::TicketsServiceGetTicketRequest,
    ) -> LocalBoxFuture<'static, Result<pb::TicketsServiceGetTicketResponse, TaskFailure>> {
        let this = self.clone();
        Box::pin(async move {
            let ticket = this
                .get_ticket(&req.id)
                .await
                .map_err(|e| status::ticketing_failure(&e))?;
            Ok(pb::TicketsServiceGetTicketResponse {
                ticket: Some(ticket),
                annotations: req.annotations,
                ..Default::default()
            })
        })
    }

    fn list_ticket_schemas(
        &self,
        req: pb::TicketsServiceListTicketSchemasRequest,
    ) -> LocalBoxFuture<'static, Result<pb::TicketsServiceListTicketSchemasResponse, TaskFailure>>
    {
        let this = self.clone();
        Box::pin(async move {
            let (list, next_page_token) = this
                .list_schemas(req.page_size, &req.page_token)
                .await
                .map_err(|e| status::ticketing_failure(&e))?;
            Ok(pb::TicketsServiceListTicketSchemasResponse {
                list,
                next_page_token,
                annotations: Vec::new(),
            })
        })
    }

    fn bulk_create_tickets(
        &self,
        task_id: String,
        reqs: Vec<pb::TicketsServiceCreateTicketRequest>,
    ) -> LocalBoxFuture<'static, pb::TicketsServiceBulkCreateTicketsResponse> {
        let this = self.clone();
        Box::pin(async move {
            let tickets = this
                .bulk_create(&reqs, Some(&task_id))
                .await
                .into_iter()
                .map(|r| r.into_response())
                .collect();
            pb::TicketsServiceBulkCreateTicketsResponse { tickets }
        })
    }

    fn bulk_get_tickets(
        &self,
        reqs: Vec<pb::TicketsServiceGetTicketRequest>,
    ) -> LocalBoxFuture<'static, pb::TicketsServiceBulkGetTicketsResponse> {
        let this = self.clone();
        Box::pin(async move {
            let tickets = this
                .bulk_get(&reqs)
                .await
                .into_iter()
                .map(|r| r.into_response())
                .collect();
            pb::TicketsServiceBulkGetTicketsResponse { tickets }
        })
    }
}
