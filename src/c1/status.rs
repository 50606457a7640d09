//! The one place where a task's outcome becomes what C1 receives in FinishTask: a
//! `google.rpc.Status` plus the success/error final state with its retryability.
//!
//! Retryability follows the SDK (docs/reference/baton-compat.md §4.3): provisioning errors are
//! non-retryable, ticket creation is retryable, an unsupported task type is final.

use prost_types::Any;
use tonic::Code;

use crate::pb::baton::BatonServiceFinishTaskRequest;
use crate::pb::baton::baton_service_finish_task_request::{Error, FinalState, Success};
use crate::pb::rpc;

/// Why a task failed, with the gRPC code C1 sees and whether C1 may retry it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFailure {
    pub code: Code,
    pub message: String,
    pub retryable: bool,
    /// The connector's response, when it produced one even though the task failed.
    pub response: Option<Any>,
}

impl TaskFailure {
    pub fn new(code: Code, message: impl Into<String>, retryable: bool) -> Self {
        TaskFailure {
            code,
            message: message.into(),
            retryable,
            response: None,
        }
    }

    /// A capability that is switched off: the SDK's noop provisioner / ticketer answer.
    pub fn disabled(what: &str) -> Self {
        Self::new(
            Code::FailedPrecondition,
            format!("{what} is not enabled"),
            false,
        )
    }

    pub fn unsupported() -> Self {
        Self::new(Code::Unimplemented, "unsupported task type", false)
    }

    /// C1 cancelled the task (heartbeat said so) or the daemon is shutting down.
    pub fn cancelled(message: impl Into<String>) -> Self {
        Self::new(Code::Cancelled, message, true)
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

/// A provisioning failure as C1 sees it. Provisioning errors are final for C1
/// (the SDK sends them non-retryable); the code follows the outcome's kind.
pub fn provisioning_failure(
    kind: crate::provisioning::outcome::FailureKind,
    message: &str,
) -> TaskFailure {
    use crate::provisioning::outcome::FailureKind as K;
    let code = match kind {
        K::InvalidArgument => Code::InvalidArgument,
        K::NotFound => Code::NotFound,
        K::PermissionDenied => Code::PermissionDenied,
        K::Unauthenticated => Code::Unauthenticated,
        K::FailedPrecondition => Code::FailedPrecondition,
        K::VerificationFailed => Code::Aborted,
        K::Unavailable => Code::Unavailable,
        K::Internal => Code::Internal,
    };
    TaskFailure::new(code, message, false)
}

/// A change that was not automated but handed to a person through a Halo
/// ticket: not done, so never reported as a success.
pub fn ticketed_failure(ticket_id: &str, reason: &str) -> TaskFailure {
    TaskFailure::new(
        Code::Aborted,
        format!(
            "not changed automatically ({reason}); HaloITSM ticket {ticket_id} asks a person to make the change"
        ),
        false,
    )
}

/// A ticketing error as C1 sees it (retryability is set by the task's arm).
pub fn ticketing_failure(e: &crate::ticketing::Error) -> TaskFailure {
    use crate::ticketing::ErrorKind as K;
    let code = match e.kind() {
        K::InvalidArgument | K::HaloRejected => Code::InvalidArgument,
        K::NotFound => Code::NotFound,
        K::PermissionDenied => Code::PermissionDenied,
        K::Unavailable => Code::Unavailable,
        K::FailedPrecondition => Code::FailedPrecondition,
        K::Internal => Code::Internal,
    };
    TaskFailure::new(code, e.to_string(), false)
}

/// A `google.rpc.Status` for a gRPC code and message.
pub fn rpc_status(code: Code, message: &str) -> rpc::Status {
    rpc::Status {
        code: code as i32,
        message: message.to_string(),
        details: Vec::new(),
    }
}

/// The FinishTask request for `outcome`.
pub fn finish_request(
    host_id: &str,
    task_id: &str,
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
                non_retryable: !f.retryable,
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

    #[test]
    fn disabled_capability_is_failed_precondition_and_final() {
        let req = finish_request(
            "h",
            "t",
            Outcome::Failed(TaskFailure::disabled("provisioning")),
        );
        let status = req.status.expect("status");
        assert_eq!(status.code, Code::FailedPrecondition as i32);
        assert_eq!(status.message, "provisioning is not enabled");
        match req.final_state {
            Some(FinalState::Error(e)) => assert!(e.non_retryable),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn success_carries_the_response() {
        let any = Any {
            type_url: "t".into(),
            value: vec![1],
        };
        let req = finish_request("h", "t", Outcome::ok(Some(any.clone())));
        assert_eq!(req.status.map(|s| s.code), Some(0));
        match req.final_state {
            Some(FinalState::Success(s)) => assert_eq!(s.response, Some(any)),
            other => panic!("expected success, got {other:?}"),
        }
    }
}
