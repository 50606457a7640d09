//! One outcome type for every provisioning operation. Halo errors are classified into its
//! failure kinds by the table in `halo::outcome`, which ticketing uses too. The C1 link maps
//! `Outcome` to gRPC statuses (and annotations) in `c1::status`; the CLI prints it as JSON.
//!
//! | outcome | meaning | C1 mapping (`c1::status`) |
//! |---|---|---|
//! | `ok` | the change was made and read back | OK |
//! | `already` | nothing to do; `kind` says why | OK + GrantAlreadyExists / GrantAlreadyRevoked annotation |
//! | `ticketed` | could not be automated; a Halo ticket describes it | ABORTED naming the ticket (not done, so not a success) |
//! | `failed` | see `FailureKind` | the status named there |

use serde::{Deserialize, Serialize};

use crate::halo::Error as HaloError;

/// Why an operation failed: the failure kinds both capabilities share, with the one
/// classification of Halo errors ([`FailureKind::of_halo`]).
pub use crate::halo::outcome::FailureKind;

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
