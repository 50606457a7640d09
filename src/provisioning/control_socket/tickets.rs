//! The `tickets` commands on the daemon's side, through its one [`Ticketing`] service
//! (and so its schema cache). A template the tenant refuses before anything is created
//! is answered with kind `template` (the CLI exits 65); Halo's failures with `failed`.

use super::protocol::{ControlResponse, ErrorKind, TicketCommand};
use crate::ticketing::{self, Ticketing, render, template::Template};

pub async fn answer(cmd: TicketCommand, t: &Ticketing) -> ControlResponse {
    match cmd {
        TicketCommand::Schemas => schemas(t).await,
        TicketCommand::Create {
            template,
            request_key,
        } => create(t, &template, request_key.as_deref()).await,
        TicketCommand::Get { id } => match t.get_ticket(&id).await {
            Ok(ticket) => ControlResponse::Ticket {
                ticket: render::ticket(&ticket),
                error: None,
            },
            Err(e) => failed(e),
        },
        TicketCommand::Note {
            id,
            text,
            private,
            status,
        } => match t.add_note(&id, &text, private, status.as_deref()).await {
            Ok(()) => ControlResponse::Noted { noted: id },
            Err(e) => failed(e),
        },
    }
}

fn failed(e: ticketing::Error) -> ControlResponse {
    ControlResponse::error(ErrorKind::Failed, e.to_string())
}

/// A refusal of the template itself (nothing was sent to create anything): our own
/// checks, and a schema, status or requester that the tenant does not have.
fn template_error(e: ticketing::Error) -> ControlResponse {
    let kind = match e.kind() {
        ticketing::ErrorKind::InvalidArgument | ticketing::ErrorKind::NotFound => {
            ErrorKind::Template
        }
        _ => ErrorKind::Failed,
    };
    ControlResponse::error(kind, e.to_string())
}

async fn schemas(t: &Ticketing) -> ControlResponse {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        match t.list_schemas(0, &token).await {
            Ok((page, next)) => {
                all.extend(page.iter().map(render::schema));
                if next.is_empty() {
                    return ControlResponse::Schemas { schemas: all };
                }
                token = next;
            }
            Err(e) => return failed(e),
        }
    }
}

/// The template against Halo's current schema, then the create. A ticket Halo accepted
/// is answered even when a follow-up failed (with that error beside it).
async fn create(t: &Ticketing, text: &str, request_key: Option<&str>) -> ControlResponse {
    let template = match Template::parse(text) {
        Ok(template) => template,
        Err(e) => return template_error(e),
    };
    let schema = match t.get_schema(&template.schema_id).await {
        Ok(schema) => schema,
        Err(e) => return template_error(e),
    };
    let req = match template.to_request(&schema) {
        Ok(req) => req,
        Err(e) => return template_error(e),
    };
    let result = t.create_ticket(&req, &schema, request_key).await;
    match (result.ticket, result.error) {
        (Some(ticket), error) => ControlResponse::Ticket {
            ticket: render::ticket(&ticket),
            error: error.map(|e| e.to_string()),
        },
        (None, Some(e)) => template_error(e),
        (None, None) => ControlResponse::error(ErrorKind::Failed, "no ticket and no error"),
    }
}
