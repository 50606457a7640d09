//! One outcome type for every provisioning operation, and the one place Halo
//! errors are classified into it. The C1 link maps `Outcome` to gRPC statuses
//! (and annotations) in one place of its own; the CLI prints it as JSON.
//!
//! | outcome | meaning | C1 mapping (suggested) |
//! |---|---|---|
//! | `ok` | the change was made and read back | OK |
//! | `already` | nothing to do; `kind` says why | OK + GrantAlreadyExists / GrantAlreadyRevoked annotation |
//! | `ticketed` | could not be automated; a Halo ticket describes it | OK + the ticket id |
//! | `failed` | see `FailureKind` | the status named there |

use serde::{Deserialize, Serialize};

use crate::halo::{Error as HaloError, ErrorKind};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Done and verified. `resource` is the agent (`agent:<id>`) the change was
    /// made on or created; `grants` the grant ids now held (grant only).
    Ok {
        resource: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        grants: Vec<String>,
    },
    /// Already in the asked state: a success.
    Already {
        kind: AlreadyKind,
        resource: Option<String>,
    },
    /// Not done automatically; a Halo ticket of the fallback type asks a human.
    Ticketed { ticket_id: String, reason: String },
    /// Final failure, with Halo's message when there was one.
    Failed { kind: FailureKind, message: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlreadyKind {
    /// Grant of a membership the agent holds (C1: GrantAlreadyExists).
    GrantAlreadyExists,
    /// Revoke of a membership the agent does not hold (C1: GrantAlreadyRevoked).
    GrantAlreadyRevoked,
    /// Create of an agent whose email is taken; `resource` is that agent.
    AccountAlreadyExists,
    AlreadyEnabled,
    AlreadyDisabled,
    /// Delete of an agent Halo no longer has.
    AlreadyDeleted,
}

/// Why an operation failed. Complete: every failure is one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Wrong id shape, non-agent principal, or Halo's 400 (message attached). gRPC INVALID_ARGUMENT.
    InvalidArgument,
    /// Unknown agent/team/role (Halo 404). gRPC NOT_FOUND.
    NotFound,
    /// Halo 403: the API application lacks a permission (Halo's message names it). gRPC PERMISSION_DENIED.
    PermissionDenied,
    /// Halo refused our credentials. gRPC UNAUTHENTICATED.
    Unauthenticated,
    /// Refused by configuration: provisioning disabled, delete not allowed,
    /// a manual entitlement without a fallback ticket type. gRPC FAILED_PRECONDITION.
    FailedPrecondition,
    /// The write was accepted but the read-back shows it did not take, or
    /// something else changed. gRPC ABORTED (or FAILED_PRECONDITION).
    VerificationFailed,
    /// Transient failures (429, 5xx, resets, timeouts) outlasted the retry limit. gRPC UNAVAILABLE.
    Unavailable,
    /// Halo answered something we cannot interpret, or a bug on our side. gRPC INTERNAL.
    Internal,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::InvalidArgument => "invalid_argument",
            FailureKind::NotFound => "not_found",
            FailureKind::PermissionDenied => "permission_denied",
            FailureKind::Unauthenticated => "unauthenticated",
            FailureKind::FailedPrecondition => "failed_precondition",
            FailureKind::VerificationFailed => "verification_failed",
            FailureKind::Unavailable => "unavailable",
            FailureKind::Internal => "internal",
        }
    }

    /// Only `Unavailable` may succeed if tried again later.
    pub fn is_transient(self) -> bool {
        self == FailureKind::Unavailable
    }

    /// The one classification of Halo errors.
    pub fn of_halo(kind: ErrorKind) -> FailureKind {
        match kind {
            ErrorKind::Validation => FailureKind::InvalidArgument,
            ErrorKind::NotFound => FailureKind::NotFound,
            ErrorKind::Permission => FailureKind::PermissionDenied,
            ErrorKind::Auth => FailureKind::Unauthenticated,
            ErrorKind::RateLimited | ErrorKind::Transient => FailureKind::Unavailable,
            ErrorKind::Protocol | ErrorKind::Config | ErrorKind::Internal => FailureKind::Internal,
        }
    }
}

impl Outcome {
    pub fn failed(kind: FailureKind, message: impl Into<String>) -> Self {
        Outcome::Failed {
            kind,
            message: message.into(),
        }
    }

    /// A Halo error, with what we were doing (`context`) and Halo's own message.
    pub fn from_halo(context: &str, e: &HaloError) -> Self {
        Outcome::failed(FailureKind::of_halo(e.kind()), format!("{context}: {e}"))
    }

    pub fn not_enabled() -> Self {
        Outcome::failed(
            FailureKind::FailedPrecondition,
            "provisioning is not enabled (set provisioning.enabled = true)",
        )
    }

    /// Metric label: ok, already, failed, ticketed.
    pub fn result_label(&self) -> &'static str {
        match self {
            Outcome::Ok { .. } => "ok",
            Outcome::Already { .. } => "already",
            Outcome::Ticketed { .. } => "ticketed",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// Ok, already and ticketed are successes (the CLI exits 0 for them).
    pub fn is_success(&self) -> bool {
        !matches!(self, Outcome::Failed { .. })
    }

    pub fn is_transient_failure(&self) -> bool {
        matches!(self, Outcome::Failed { kind, .. } if kind.is_transient())
    }
}
