//! The one error type of the ticketing layer.
//!
//! Every failure is classified once into a small `Copy` [`ErrorKind`], so the C1 layer maps
//! it to a gRPC code in one place and metrics label it without looking at messages. Halo
//! errors arrive already classified and scrubbed of secrets (`halo::Error`); their message is
//! kept, so a 400 on create reaches C1 with Halo's own words.

use std::fmt;

use crate::halo;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is wrong (bad template, unknown field, wrong value type, bad id). Nothing
    /// was sent to Halo.
    InvalidArgument,
    /// No such schema, ticket or status.
    NotFound,
    /// Halo refused our credentials or permissions.
    PermissionDenied,
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
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::InvalidArgument,
        ErrorKind::NotFound,
        ErrorKind::PermissionDenied,
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
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::HaloRejected => "halo_rejected",
            ErrorKind::FailedPrecondition => "failed_precondition",
            ErrorKind::Internal => "internal",
        }
    }

    fn from_halo(kind: halo::ErrorKind) -> ErrorKind {
        use halo::ErrorKind as H;
        match kind {
            H::Auth | H::Permission => ErrorKind::PermissionDenied,
            H::NotFound => ErrorKind::NotFound,
            H::Validation => ErrorKind::HaloRejected,
            H::RateLimited | H::Transient => ErrorKind::Unavailable,
            H::Protocol | H::Config | H::Internal => ErrorKind::Internal,
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
