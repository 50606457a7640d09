//! Ticket tasks: create_ticket, get_ticket, list_ticket_schemas, bulk_create_tickets and
//! bulk_get_tickets, each parsed from C1's task, run on the ticketing service and answered in
//! the SDK's response type.
//!
//! As in the SDK: create_ticket merges the task's annotations (its ExternalTicketRef) into the
//! response, list_ticket_schemas keeps at most 100 schemas and fails on none, bulk tasks
//! answer per item (an item's failure is in its `error`).

use tonic::Code;

use super::{enabled, ok};
use crate::c1::status::{Outcome, TaskFailure};
use crate::c1::task_kind::TaskKind;
use crate::pb;
use crate::pb::baton::task::{
    BulkCreateTicketsTask, BulkGetTicketsTask, CreateTicketTask, GetTicketTask,
    ListTicketSchemasTask,
};
use crate::ticketing::Ticketing;

/// The SDK keeps at most this many schemas from list_ticket_schemas.
const MAX_TICKET_SCHEMAS: usize = 100;
const SCHEMA_PAGE: u32 = 100;

#[derive(Debug)]
pub enum Command {
    Create(Box<CreateTicketTask>),
    Get(GetTicketTask),
    ListSchemas(ListTicketSchemasTask),
    BulkCreate(BulkCreateTicketsTask),
    BulkGet(BulkGetTicketsTask),
}

impl Command {
    pub fn kind(&self) -> TaskKind {
        match self {
            Command::Create(_) => TaskKind::CreateTicket,
            Command::Get(_) => TaskKind::GetTicket,
            Command::ListSchemas(_) => TaskKind::ListTicketSchemas,
            Command::BulkCreate(_) => TaskKind::BulkCreateTickets,
            Command::BulkGet(_) => TaskKind::BulkGetTickets,
        }
    }

    pub async fn run(
        self,
        ticketing: Option<&Ticketing>,
        task_id: &str,
    ) -> Result<Outcome, TaskFailure> {
        let ticketing = enabled(ticketing, "ticketing")?;
        match self {
            Command::Create(t) => Ok(ok(&create(ticketing, task_id, *t).await?)),
            Command::Get(t) => {
                let ticket = ticketing
                    .get_ticket(&t.ticket_id)
                    .await
                    .map_err(|e| TaskFailure::ticketing(&e))?;
                Ok(ok(&pb::TicketsServiceGetTicketResponse {
                    ticket: Some(ticket),
                    annotations: t.annotations,
                    ..Default::default()
                }))
            }
            Command::ListSchemas(_) => Ok(ok(&list_schemas(ticketing).await?)),
            Command::BulkCreate(t) => {
                let requests: Vec<_> = t.ticket_requests.into_iter().map(create_request).collect();
                let tickets = ticketing
                    .bulk_create(&requests, Some(task_id))
                    .await
                    .into_iter()
                    .map(|r| r.into_response())
                    .collect();
                Ok(ok(&pb::TicketsServiceBulkCreateTicketsResponse { tickets }))
            }
            Command::BulkGet(t) => {
                let requests: Vec<_> = t
                    .ticket_requests
                    .into_iter()
                    .map(|one| pb::TicketsServiceGetTicketRequest {
                        id: one.ticket_id,
                        annotations: one.annotations,
                    })
                    .collect();
                let tickets = ticketing
                    .bulk_get(&requests)
                    .await
                    .into_iter()
                    .map(|r| r.into_response())
                    .collect();
                Ok(ok(&pb::TicketsServiceBulkGetTicketsResponse { tickets }))
            }
        }
    }
}

fn create_request(t: CreateTicketTask) -> pb::TicketsServiceCreateTicketRequest {
    pb::TicketsServiceCreateTicketRequest {
        request: t.ticket_request,
        schema: t.ticket_schema,
        annotations: t.annotations,
    }
}

/// C1 retries a create with the same ExternalTicketRef, so that is the request key; without
/// one, the task id keys it.
async fn create(
    ticketing: &Ticketing,
    task_id: &str,
    t: CreateTicketTask,
) -> Result<pb::TicketsServiceCreateTicketResponse, TaskFailure> {
    let (Some(request), Some(schema)) = (&t.ticket_request, &t.ticket_schema) else {
        return Err(TaskFailure::new(
            Code::InvalidArgument,
            "create_ticket needs a ticket request and its schema",
        ));
    };
    let key = pb::find_annotation::<pb::ExternalTicketRef>(&t.annotations)
        .map(|r| r.id)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| task_id.to_string());
    let result = ticketing.create_ticket(request, schema, Some(&key)).await;
    if let (None, Some(e)) = (&result.ticket, &result.error) {
        return Err(TaskFailure::ticketing(e));
    }
    let mut resp = result.into_response();
    resp.annotations.extend(t.annotations);
    Ok(resp)
}

/// Pages through the schemas up to the SDK's limit; none at all is an error.
async fn list_schemas(
    ticketing: &Ticketing,
) -> Result<pb::TicketsServiceListTicketSchemasResponse, TaskFailure> {
    let mut list = Vec::new();
    let mut page_token = String::new();
    loop {
        let (page, next) = ticketing
            .list_schemas(SCHEMA_PAGE, &page_token)
            .await
            .map_err(|e| TaskFailure::ticketing(&e))?;
        list.extend(page);
        page_token = next;
        if page_token.is_empty() || list.len() >= MAX_TICKET_SCHEMAS {
            break;
        }
    }
    list.truncate(MAX_TICKET_SCHEMAS);
    if list.is_empty() {
        return Err(TaskFailure::new(Code::NotFound, "no ticket schemas found"));
    }
    Ok(pb::TicketsServiceListTicketSchemasResponse {
        list,
        next_page_token: String::new(),
        annotations: Vec::new(),
    })
}
