//! The one place where a task's outcome becomes what C1 receives in FinishTask: a
//! `google.rpc.Status` plus the success/error final state with its retryability.
//!
//! Two tables live here and nowhere else:
//! - [`code`]: failure kind -> gRPC code. The failure kind of a Halo error comes from the one
//!   classification in `halo::outcome` (provisioning outcomes carry it, ticketing errors name
//!   it with `ErrorKind::outcome`), so Halo kind -> failure kind -> code is one chain.
//! - [`retryable`]: task kind and code -> whether C1 may run the task again. Tasks only say
//!   what went wrong (a code and a message); FinishTask asks this table.
//!
//! Retryability follows the SDK (docs/reference/baton-compat.md §4.3): provisioning errors are
//! non-retryable, ticket creation is retryable, a sync that failed may run again, an
//! unsupported task type is final.

use prost_types::Any;
use tonic::Code;

use super::task_kind::TaskKind;
use crate::halo::outcome::FailureKind;
use crate::pb::baton::BatonServiceFinishTaskRequest;
use crate::pb::baton::baton_service_finish_task_request::{Error, FinalState, Success};
use crate::pb::rpc;

/// The gRPC code C1 sees for a failure kind.
pub fn code(kind: FailureKind) -> Code {
    match kind {
        FailureKind::InvalidArgument => Code::InvalidArgument,
        FailureKind::NotFound => Code::NotFound,
        FailureKind::PermissionDenied => Code::PermissionDenied,
        FailureKind::Unauthenticated => Code::Unauthenticated,
        FailureKind::FailedPrecondition => Code::FailedPrecondition,
        FailureKind::VerificationFailed => Code::Aborted,
        FailureKind::Unavailable => Code::Unavailable,
        FailureKind::Internal => Code::Internal,
    }
}

/// Whether C1 may run a failed task of `kind` again.
pub fn retryable(kind: TaskKind, code: Code) -> bool {
    match code {
        // Stopped rather than failed (C1 cancelled it, or its heartbeats lapsed).
        Code::Cancelled => return true,
        // A capability switched off or a refusal by configuration: a retry meets the same.
        Code::FailedPrecondition => return false,
        _ => {}
    }
    match kind {
        // A failed sync or upload: the next run may well succeed; options C1 sent
        // that we refuse (a malformed target, an unknown storage engine) stay refused.
        TaskKind::SyncFull => code != Code::InvalidArgument,
        // The SDK sends every ticket-creation error retryable.
        TaskKind::CreateTicket => true,
        // The SDK sends provisioning errors non-retryable; the journal already retried
        // what was transient.
        TaskKind::Grant
        | TaskKind::Revoke
        | TaskKind::CreateAccount
        | TaskKind::DeleteResource
        | TaskKind::ActionInvoke => false,
        // Reads answer what is there; asking again answers the same.
        TaskKind::GetTicket
        | TaskKind::ListTicketSchemas
        | TaskKind::BulkCreateTickets
        | TaskKind::BulkGetTickets
        | TaskKind::ActionListSchemas
        | TaskKind::ActionGetSchema
        | TaskKind::ActionStatus => false,
        // Not a FinishTask at all (answered with Hello), but C1 could ask again.
        TaskKind::Hello => true,
        TaskKind::Unsupported => false,
    }
}

/// Why a task failed: the gRPC code C1 sees and a message. Whether C1 may retry is not the
/// task's call: [`finish_request`] asks [`retryable`].
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFailure {
    pub code: Code,
    pub message: String,
    /// The connector's response, when it produced one even though the task failed.
    pub response: Option<Any>,
}

impl TaskFailure {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        TaskFailure {
            code,
            message: message.into(),
            response: None,
        }
    }

    /// A failure of a known kind (a provisioning outcome, a ticketing error).
    pub fn of(kind: FailureKind, message: impl Into<String>) -> Self {
        Self::new(code(kind), message)
    }

    /// A ticketing error as C1 sees it.
    pub fn ticketing(e: &crate::ticketing::Error) -> Self {
        Self::of(e.kind().outcome(), e.to_string())
    }

    /// A change that was not automated but handed to a person through a Halo ticket: not
    /// done, so never reported as a success.
    pub fn ticketed(ticket_id: &str, reason: &str) -> Self {
        Self::new(
            Code::Aborted,
            format!(
                "not changed automatically ({reason}); HaloITSM ticket {ticket_id} asks a person to make the change"
            ),
        )
    }

    /// A capability that is switched off: the SDK's noop provisioner / ticketer answer.
    pub fn disabled(what: &str) -> Self {
        Self::new(Code::FailedPrecondition, format!("{what} is not enabled"))
    }

    pub fn unsupported() -> Self {
        Self::new(Code::Unimplemented, "unsupported task type")
    }

    /// C1 cancelled the task (heartbeat said so), or its heartbeats kept failing.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(Code::Cancelled, message)
    }
}

/// What a dispatched task produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Success {
        response: Option<Any>,
        annotations: Vec<Any>,
    },
    Failed(TaskFailure),
}

impl Outcome {
    pub fn ok(response: Option<Any>) -> Self {
        Outcome::Success {
            response,
            annotations: Vec::new(),
        }
    }

    /// Bounded label for metrics.
    pub fn result_label(&self) -> &'static str {
        match self {
            Outcome::Success { .. } => "success",
            Outcome::Failed(f) if f.code == Code::Cancelled => "cancelled",
            Outcome::Failed(f) if f.code == Code::FailedPrecondition => "disabled",
            Outcome::Failed(_) => "error",
        }
    }
}

/// A `google.rpc.Status` for a gRPC code and message.
pub fn rpc_status(code: Code, message: &str) -> rpc::Status {
    rpc::Status {
        code: code as i32,
        message: message.to_string(),
        details: Vec::new(),
    }
}

/// The FinishTask request for `outcome` of a task of `kind`.
pub fn finish_request(
    host_id: &str,
    task_id: &str,
    kind: TaskKind,
    outcome: Outcome,
) -> BatonServiceFinishTaskRequest {
    let (status, final_state) = match outcome {
        Outcome::Success {
            response,
            annotations,
        } => (
            rpc_status(Code::Ok, ""),
            FinalState::Success(Success {
                annotations,
                response,
            }),
        ),
        Outcome::Failed(f) => (
            rpc_status(f.code, &f.message),
            FinalState::Error(Error {
                non_retryable: !retryable(kind, f.code),
                annotations: Vec::new(),
                response: f.response,
            }),
        ),
    };
    BatonServiceFinishTaskRequest {
        host_id: host_id.to_string(),
        task_id: task_id.to_string(),
        status: Some(status),
        final_state: Some(final_state),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::halo::ErrorKind as HaloKind;

    fn finish(kind: TaskKind, outcome: Outcome) -> (rpc::Status, Option<FinalState>) {
        let req = finish_request("h", "t", kind, outcome);
        (req.status.expect("status"), req.final_state)
    }

    fn non_retryable(state: &Option<FinalState>) -> bool {
        match state {
            Some(FinalState::Error(e)) => e.non_retryable,
            other => panic!("expected an error, got {other:?}"),
        }
    }

    /// Every Halo kind down the whole chain: failure kind, gRPC code, and what C1 is told
    /// about a retry when a provisioning task or a ticket creation fails with it.
    #[test]
    fn every_halo_kind_down_the_chain() {
        use FailureKind as F;
        // (halo kind, failure kind, code, retryable as grant, retryable as create_ticket)
        let table = [
            (
                HaloKind::Validation,
                F::InvalidArgument,
                Code::InvalidArgument,
                false,
                true,
            ),
            (HaloKind::NotFound, F::NotFound, Code::NotFound, false, true),
            (
                HaloKind::Permission,
                F::PermissionDenied,
                Code::PermissionDenied,
                false,
                true,
            ),
            (
                HaloKind::Auth,
                F::Unauthenticated,
                Code::Unauthenticated,
                false,
                true,
            ),
            (
                HaloKind::RateLimited,
                F::Unavailable,
                Code::Unavailable,
                false,
                true,
            ),
            (
                HaloKind::Transient,
                F::Unavailable,
                Code::Unavailable,
                false,
                true,
            ),
            (HaloKind::Protocol, F::Internal, Code::Internal, false, true),
            (HaloKind::Config, F::Internal, Code::Internal, false, true),
            (HaloKind::Internal, F::Internal, Code::Internal, false, true),
        ];
        assert_eq!(table.len(), HaloKind::ALL.len());
        for (halo, kind, grpc, as_grant, as_ticket) in table {
            assert_eq!(F::of_halo(halo), kind, "{halo}");
            assert_eq!(code(kind), grpc, "{halo}");
            let e = crate::ticketing::Error::from(crate::halo::Error::new(halo, "x"));
            assert_eq!(
                TaskFailure::ticketing(&e).code,
                grpc,
                "{halo} via ticketing"
            );
            let failed = || Outcome::Failed(TaskFailure::of(kind, "x"));
            let (status, state) = finish(TaskKind::Grant, failed());
            assert_eq!(status.code, grpc as i32, "{halo}");
            assert_eq!(!non_retryable(&state), as_grant, "{halo} as grant");
            let (_, state) = finish(TaskKind::CreateTicket, failed());
            assert_eq!(!non_retryable(&state), as_ticket, "{halo} as create_ticket");
        }
    }

    #[test]
    fn every_failure_kind_has_a_code() {
        use FailureKind as F;
        let table = [
            (F::InvalidArgument, Code::InvalidArgument),
            (F::NotFound, Code::NotFound),
            (F::PermissionDenied, Code::PermissionDenied),
            (F::Unauthenticated, Code::Unauthenticated),
            (F::FailedPrecondition, Code::FailedPrecondition),
            (F::VerificationFailed, Code::Aborted),
            (F::Unavailable, Code::Unavailable),
            (F::Internal, Code::Internal),
        ];
        assert_eq!(table.len(), F::ALL.len());
        for (kind, grpc) in table {
            assert_eq!(code(kind), grpc, "{kind:?}");
        }
        // Every ticketing kind names one of them, with the code C1 saw before.
        for kind in crate::ticketing::ErrorKind::ALL {
            let e = crate::ticketing::Error::new(kind, "x");
            assert_eq!(TaskFailure::ticketing(&e).code, code(kind.outcome()));
        }
    }

    /// Every task kind: what a failure of it tells C1 about a retry.
    #[test]
    fn every_task_kind_has_its_retry_rule() {
        let retried = [TaskKind::SyncFull, TaskKind::CreateTicket, TaskKind::Hello];
        for kind in TaskKind::ALL {
            for grpc in [
                Code::Unavailable,
                Code::Internal,
                Code::InvalidArgument,
                Code::NotFound,
            ] {
                // A sync C1 asked for with options we refuse stays refused.
                let refused_sync = kind == TaskKind::SyncFull && grpc == Code::InvalidArgument;
                assert_eq!(
                    retryable(kind, grpc),
                    retried.contains(&kind) && !refused_sync,
                    "{kind} {grpc:?}"
                );
            }
            assert!(
                retryable(kind, Code::Cancelled),
                "{kind}: cancelled may run again"
            );
            assert!(
                !retryable(kind, Code::FailedPrecondition),
                "{kind}: switched off"
            );
        }
        assert!(!retryable(TaskKind::Unsupported, Code::Unimplemented));
    }

    #[test]
    fn disabled_capability_is_failed_precondition_and_final() {
        let (status, state) = finish(
            TaskKind::CreateTicket,
            Outcome::Failed(TaskFailure::disabled("provisioning")),
        );
        assert_eq!(status.code, Code::FailedPrecondition as i32);
        assert_eq!(status.message, "provisioning is not enabled");
        assert!(non_retryable(&state));
    }

    #[test]
    fn success_carries_the_response() {
        let any = Any {
            type_url: "t".into(),
            value: vec![1],
        };
        let (status, state) = finish(TaskKind::Grant, Outcome::ok(Some(any.clone())));
        assert_eq!(status.code, 0);
        match state {
            Some(FinalState::Success(s)) => assert_eq!(s.response, Some(any)),
            other => panic!("expected success, got {other:?}"),
        }
    }
}
