//! The one error type of the ticketing layer.
//!
//! Every failure is classified once into a small `Copy` [`ErrorKind`], so that metrics label
//! it without looking at messages, and the C1 layer maps its shared [`FailureKind`]
//! ([`ErrorKind::outcome`]) to a gRPC code in one place. Halo errors arrive already classified
//! and scrubbed of secrets (`halo::Error`); what they mean is decided by the one table in
//! `halo::outcome`, which provisioning uses too. Their message is kept, so a 400 on create
//! reaches C1 with Halo's own words.

use std::fmt;

use crate::halo;
use crate::halo::outcome::FailureKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is wrong (bad template, unknown field, wrong value type, bad id). Nothing
    /// was sent to Halo.
    InvalidArgument,
    /// No such schema, ticket or status.
    NotFound,
    /// Halo refused a permission (403): the API application may not do this.
    PermissionDenied,
    /// Halo refused our credentials (expired or revoked secret, a 401 after a token refresh).
    Unauthenticated,
    /// Halo is unreachable, rate limited or answering 5xx: worth a retry later.
    Unavailable,
    /// Halo answered the request with a 400-class refusal (its message attached).
    HaloRejected,
    /// The connector is not configured for this (e.g. no fallback status set).
    FailedPrecondition,
    /// Halo answered something we cannot read, or a bug on our side.
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::InvalidArgument,
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
        ErrorKind::Unauthenticated,
        ErrorKind::Unavailable,
        ErrorKind::HaloRejected,
        ErrorKind::FailedPrecondition,
        ErrorKind::Internal,
    ];

    /// Stable label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::NotFound => "not_found",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::HaloRejected => "halo_rejected",
            ErrorKind::FailedPrecondition => "failed_precondition",
            ErrorKind::Internal => "internal",
        }
    }

    /// The shared failure kind this is (what C1 is told): Halo's refusal is an invalid argument
    /// like our own.
    pub fn outcome(self) -> FailureKind {
        match self {
            ErrorKind::InvalidArgument | ErrorKind::HaloRejected => FailureKind::InvalidArgument,
            ErrorKind::NotFound => FailureKind::NotFound,
            ErrorKind::PermissionDenied => FailureKind::PermissionDenied,
            ErrorKind::Unauthenticated => FailureKind::Unauthenticated,
            ErrorKind::Unavailable => FailureKind::Unavailable,
            ErrorKind::FailedPrecondition => FailureKind::FailedPrecondition,
            ErrorKind::Internal => FailureKind::Internal,
        }
    }

    /// A Halo error, classified by the shared table (`FailureKind::of_halo`); ticketing only
    /// names Halo's own refusal apart, because its message is passed on as Halo wrote it.
    fn from_halo(kind: halo::ErrorKind) -> ErrorKind {
        match FailureKind::of_halo(kind) {
            FailureKind::InvalidArgument => ErrorKind::HaloRejected,
            FailureKind::NotFound => ErrorKind::NotFound,
            FailureKind::PermissionDenied => ErrorKind::PermissionDenied,
            FailureKind::Unauthenticated => ErrorKind::Unauthenticated,
            FailureKind::FailedPrecondition => ErrorKind::FailedPrecondition,
            FailureKind::Unavailable => ErrorKind::Unavailable,
            // A read-back check is provisioning's; Halo errors never classify as one.
            FailureKind::VerificationFailed | FailureKind::Internal => ErrorKind::Internal,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    /// Prefix the message with what we were doing ("set status after create: ...").
    pub fn context(mut self, what: &str) -> Self {
        self.message = format!("{what}: {}", self.message);
        self
    }
}

impl From<halo::Error> for Error {
    fn from(e: halo::Error) -> Self {
        let kind = ErrorKind::from_halo(e.kind());
        // A refusal carries Halo's own message; everything else the full classified text.
        let message = if kind == ErrorKind::HaloRejected {
            e.message().to_string()
        } else {
            e.to_string()
        };
        Error { kind, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ticketing and provisioning tell C1 the same about every Halo error.
    #[test]
    fn halo_errors_mean_what_the_shared_table_says() {
        for kind in halo::ErrorKind::ALL {
            let e = Error::from(halo::Error::new(kind, "x"));
            assert_eq!(e.kind().outcome(), FailureKind::of_halo(kind), "{kind}");
        }
        assert_eq!(
            Error::from(halo::Error::new(halo::ErrorKind::Auth, "x")).kind(),
            ErrorKind::Unauthenticated
        );
        assert_eq!(
            Error::from(halo::Error::new(halo::ErrorKind::Validation, "x")).kind(),
            ErrorKind::HaloRejected
        );
    }
}
