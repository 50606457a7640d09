//! What a failure means to whoever asked for the work: the one vocabulary of failure kinds
//! the capabilities report (provisioning outcomes, ticketing errors), and the one table that
//! classifies a Halo error into it.
//!
//! Why here, in the Halo client's layer: the table reads `halo::ErrorKind`, so it cannot sit
//! below `halo`; both ticketing (rank 3) and provisioning (rank 4) must use it, so it cannot sit
//! in either of them (same rank, or above ticketing), nor in `c1` (rank 5), which neither may
//! import. The C1 link turns a [`FailureKind`] into a `google.rpc.Status` code and decides
//! retryability in `c1::status`, and nowhere else.
//!
//! | Halo kind | failure kind | why |
//! |---|---|---|
//! | `validation` (400-class) | `invalid_argument` | Halo refused the request as sent; its message is kept |
//! | `not_found` (404) | `not_found` | |
//! | `permission` (403) | `permission_denied` | we are known, but may not do this |
//! | `auth` (401, token refused) | `unauthenticated` | Halo does not accept who we are (see below) |
//! | `rate_limited`, `transient` | `unavailable` | outlasted the retries; may work later |
//! | `protocol`, `config`, `internal` | `internal` | a bug, or an answer we cannot read |
//!
//! `auth` is `unauthenticated`, not `permission_denied`: Halo refused the connector's own
//! credentials (expired or revoked client secret, a 401 that outlived a token refresh). gRPC
//! keeps PERMISSION_DENIED for a caller that is identified but not allowed, and says to use
//! UNAUTHENTICATED when the caller cannot be identified. baton-sdk's HTTP wrapper (`uhttp`)
//! maps an upstream 401 to Unauthenticated and a 403 to PermissionDenied, and its task runner
//! hands the connector's code to C1 unchanged, so C1 sees the same code here as from any other
//! connector: "fix the connector's credentials", not "grant the app a permission".

use serde::{Deserialize, Serialize};

use super::ErrorKind;

/// Why an operation failed. Complete: every failure a capability reports is one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// Wrong id shape, non-agent principal, a request we refuse before sending, or Halo's 400
    /// (message attached). gRPC INVALID_ARGUMENT.
    InvalidArgument,
    /// Unknown agent/team/role/ticket (Halo 404). gRPC NOT_FOUND.
    NotFound,
    /// Halo 403: the API application lacks a permission (Halo's message names it). gRPC PERMISSION_DENIED.
    PermissionDenied,
    /// Halo refused our credentials. gRPC UNAUTHENTICATED.
    Unauthenticated,
    /// Refused by configuration: provisioning disabled, delete not allowed, a manual
    /// entitlement without a fallback ticket type, no fallback status set. gRPC FAILED_PRECONDITION.
    FailedPrecondition,
    /// The write was accepted but the read-back shows it did not take, or something else
    /// changed. gRPC ABORTED.
    VerificationFailed,
    /// Transient failures (429, 5xx, resets, timeouts) outlasted the retry limit. gRPC UNAVAILABLE.
    Unavailable,
    /// Halo answered something we cannot interpret, or a bug on our side. gRPC INTERNAL.
    Internal,
}

impl FailureKind {
    pub const ALL: [FailureKind; 8] = [
        FailureKind::InvalidArgument,
        FailureKind::NotFound,
        FailureKind::PermissionDenied,
        FailureKind::Unauthenticated,
        FailureKind::FailedPrecondition,
        FailureKind::VerificationFailed,
        FailureKind::Unavailable,
        FailureKind::Internal,
    ];

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

    /// The one classification of Halo errors (the table in the header).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_halo_kind_has_its_row() {
        use FailureKind as F;
        let table = [
            (ErrorKind::Validation, F::InvalidArgument),
            (ErrorKind::NotFound, F::NotFound),
            (ErrorKind::Permission, F::PermissionDenied),
            (ErrorKind::Auth, F::Unauthenticated),
            (ErrorKind::RateLimited, F::Unavailable),
            (ErrorKind::Transient, F::Unavailable),
            (ErrorKind::Protocol, F::Internal),
            (ErrorKind::Config, F::Internal),
            (ErrorKind::Internal, F::Internal),
        ];
        assert_eq!(table.len(), ErrorKind::ALL.len());
        for (halo, kind) in table {
            assert_eq!(FailureKind::of_halo(halo), kind, "{halo}");
            // Halo's own retry verdict and ours agree.
            assert_eq!(halo.is_retryable(), kind.is_transient(), "{halo}");
        }
    }

    #[test]
    fn labels_are_the_serde_names() {
        for kind in FailureKind::ALL {
            let json = serde_json::to_string(&kind).expect("serialize");
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }
}
