//! The control socket's wire format: one request line, one response line (JSON).
//! The CLI and the daemon are the same binary, so the format only has to agree with itself.

use serde::{Deserialize, Serialize};

use crate::provisioning::journal::{OpId, OpRecord, OpStatus};
use crate::provisioning::operation::OpRequest;
use crate::provisioning::outcome::Outcome;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlRequest {
    Submit {
        request: OpRequest,
        requested_by: String,
        /// Wait for the outcome; false answers as soon as the operation is journaled.
        wait: bool,
    },
    List {
        status: Option<OpStatus>,
        limit: u32,
    },
    /// The `tickets` commands, served by the daemon's ticketing service.
    Tickets(TicketCommand),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketCommand {
    /// Every page of schemas.
    Schemas,
    Create {
        /// The template file's text (baton's ticket template, JSON), parsed by the server.
        template: String,
        request_key: Option<String>,
    },
    Get {
        id: String,
    },
    Note {
        id: String,
        text: String,
        private: bool,
        /// New status, by name or id.
        status: Option<String>,
    },
}

/// Why a request got an `error` answer; the CLI picks its exit code from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request line is not a request.
    BadRequest,
    /// The request line is longer than `socket_max_request_bytes`.
    TooLong,
    /// The request line did not arrive within `socket_idle_timeout`.
    Idle,
    /// `socket_max_connections` are being served already.
    Busy,
    /// A ticket template the tenant refuses before anything is created (unknown schema,
    /// status, field or requester, a bad value, a missing required field): the CLI exits 65.
    Template,
    /// Anything else: Halo, the journal, a service this daemon does not run.
    #[default]
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ControlResponse {
    Operations {
        operations: Vec<OpRecord>,
    },
    /// Ticket schemas, each as `ticketing::render::schema` shows it.
    Schemas {
        schemas: Vec<serde_json::Value>,
    },
    /// A ticket (`ticketing::render::ticket`); `error` when Halo created it but a
    /// follow-up (setting its status) failed. Before `Error`, which it would also match.
    Ticket {
        ticket: serde_json::Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A note was added to this ticket.
    Noted {
        noted: String,
    },
    // Before `Submitted`, whose fields are all optional and would match anything.
    Error {
        error: String,
        #[serde(default)]
        kind: ErrorKind,
    },
    /// `outcome` is absent when the caller did not wait.
    Submitted {
        op_id: Option<OpId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<Outcome>,
    },
}

impl ControlResponse {
    pub fn error(kind: ErrorKind, error: impl Into<String>) -> Self {
        ControlResponse::Error {
            error: error.into(),
            kind,
        }
    }

    /// The line sent back (never fails: a response that cannot be serialized becomes an error line).
    pub fn to_line(&self) -> String {
        let mut text = serde_json::to_string(self).unwrap_or_else(|e| {
            serde_json::json!({"error": e.to_string(), "kind": ErrorKind::Failed}).to_string()
        });
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_response_reads_back_as_itself() {
        let cases = [
            ControlResponse::Operations { operations: vec![] },
            ControlResponse::Schemas {
                schemas: vec![serde_json::json!({"id": "1"})],
            },
            ControlResponse::Ticket {
                ticket: serde_json::json!({"id": "1"}),
                error: Some("status".into()),
            },
            ControlResponse::Noted { noted: "1".into() },
            ControlResponse::error(ErrorKind::TooLong, "too long"),
            ControlResponse::Submitted {
                op_id: Some(3),
                outcome: None,
            },
        ];
        for c in cases {
            let back: ControlResponse = serde_json::from_str(c.to_line().trim()).unwrap();
            assert_eq!(back, c);
        }
    }
}
