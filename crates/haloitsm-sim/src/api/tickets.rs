//! Ticketing: ticket types (with custom fields), statuses, tickets and actions.
//!
//! `FieldInfo.type`, `FieldInfo.inputtype` and `TStatus.type` are integers, as in Halo's
//! official spec (meanings in docs/reference/haloitsm-api.md §8 and `FieldKind::halo_type`).

use axum::http::StatusCode;
use serde::Serialize;

use super::body::{Fields, elements};
use super::paging::{MAX_PAGE_ROWS, PageRequest};
use super::respond::Envelope;
use super::respond::{self, json};
use super::{ApiError, ApiResult, Ctx};
use crate::dates::NEVER;
use crate::model::{SimAction, SimCustomValue, SimField, SimStatus, SimTicket, SimTicketType};
use crate::state::{read, write};
use crate::tenant::{NewAction, NewTicket, Tenant};

// ---- ticket types ---------------------------------------------------------------------------

/// Halo's `RequestType` names.
#[derive(Serialize)]
struct TicketTypeView<'a> {
    id: i64,
    name: &'a str,
    group_id: i64,
    visible: bool,
    agentscanselect: bool,
    initial_status: i64,
    fieldidlist: Vec<i64>,
    allowed_status: Vec<AllowedStatusView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<FieldView<'a>>>,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

/// Halo's `RequestTypeStatus`.
#[derive(Serialize)]
struct AllowedStatusView<'a> {
    status_id: i64,
    status_name: &'a str,
}

/// Halo's `RequestTypeField`. `technew`/`techdetail`: 1 = shown to agents, 2 = mandatory.
#[derive(Serialize)]
struct FieldView<'a> {
    fieldid: i64,
    fieldname: &'a str,
    technew: i32,
    techdetail: i32,
    fieldinfo: FieldInfoView<'a>,
}

#[derive(Serialize)]
struct FieldInfoView<'a> {
    id: i64,
    name: &'a str,
    label: &'a str,
    #[serde(rename = "type")]
    kind: i32,
    inputtype: i32,
    mandatory: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    values: Option<Vec<LookupValue<'a>>>,
}

#[derive(Serialize)]
struct LookupValue<'a> {
    id: i64,
    name: &'a str,
}

fn field_view(f: &SimField) -> FieldView<'_> {
    let visibility = if f.mandatory { 2 } else { 1 };
    let (kind, inputtype) = f.kind.halo_type();
    FieldView {
        fieldid: f.id,
        fieldname: &f.name,
        technew: visibility,
        techdetail: visibility,
        fieldinfo: FieldInfoView {
            id: f.id,
            name: &f.name,
            label: &f.label,
            kind,
            inputtype,
            mandatory: f.mandatory,
            values: f.kind.has_values().then(|| {
                f.values
                    .iter()
                    .enumerate()
                    .map(|(i, name)| LookupValue {
                        id: i as i64 + 1,
                        name,
                    })
                    .collect()
            }),
        },
    }
}

fn type_view<'a>(
    tenant: &'a Tenant,
    t: &'a SimTicketType,
    details: bool,
    warning: Option<&'a str>,
) -> TicketTypeView<'a> {
    TicketTypeView {
        id: t.id,
        name: &t.name,
        group_id: t.group_id,
        visible: t.visible,
        agentscanselect: t.agents_can_select,
        initial_status: t.initial_status,
        fieldidlist: t.fields.iter().map(|f| f.id).collect(),
        allowed_status: t
            .allowed_status
            .iter()
            .map(|s| AllowedStatusView {
                status_id: *s,
                status_name: tenant.status(*s).map_or("", |s| s.name.as_str()),
            })
            .collect(),
        fields: details.then(|| t.fields.iter().map(field_view).collect()),
        warning,
    }
}

pub(crate) fn types(ctx: &Ctx<'_>) -> ApiResult {
    let tenant = read(&ctx.shared.tenant);
    let rows: Vec<_> = tenant
        .ticket_types
        .iter()
        .map(|t| type_view(&tenant, t, false, ctx.warning()))
        .collect();
    Ok(respond::list(ctx, "tickettypes", &rows))
}

pub(crate) fn get_type(ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.int_param()?;
    let tenant = read(&ctx.shared.tenant);
    let t = tenant
        .ticket_type(id)
        .ok_or_else(|| ApiError::not_found(format!("Ticket type {id} not found")))?;
    let details = ctx.query.flag("includedetails");
    Ok(json(
        StatusCode::OK,
        &type_view(&tenant, t, details, ctx.warning()),
    ))
}

// ---- statuses -------------------------------------------------------------------------------

/// Halo's `TStatus`; `type` is an integer (`StatusKind::halo_type`).
#[derive(Serialize)]
struct StatusView<'a> {
    id: i64,
    name: &'a str,
    shortname: &'a str,
    #[serde(rename = "type")]
    kind: i32,
    sequence: i64,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

fn status_view<'a>(s: &'a SimStatus, warning: Option<&'a str>) -> StatusView<'a> {
    StatusView {
        id: s.id,
        name: &s.name,
        shortname: &s.shortname,
        kind: s.kind.halo_type(),
        sequence: s.sequence,
        warning,
    }
}

/// All statuses, or with `tickettype_id` those the type allows (none for an unknown type).
pub(crate) fn statuses(ctx: &Ctx<'_>) -> ApiResult {
    let tenant = read(&ctx.shared.tenant);
    let allowed = ctx
        .query
        .int("tickettype_id")
        .map(|id| tenant.ticket_type(id).map(|t| t.allowed_status.as_slice()));
    let rows: Vec<_> = tenant
        .statuses
        .iter()
        .filter(|s| match allowed {
            None => true,
            Some(None) => false,
            Some(Some(ids)) => ids.contains(&s.id),
        })
        .map(|s| status_view(s, ctx.warning()))
        .collect();
    Ok(respond::list(ctx, "statuses", &rows))
}

// ---- tickets --------------------------------------------------------------------------------

/// Halo's `Faults` names (the subset the simulator keeps).
#[derive(Serialize)]
struct TicketView<'a> {
    id: i64,
    tickettype_id: i64,
    summary: &'a str,
    details: &'a str,
    status_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category_1: Option<&'a str>,
    customfields: &'a [SimCustomValue],
    dateoccurred: &'a str,
    hasbeenclosed: bool,
    dateclosed: &'a str,
    lastactiondate: &'a str,
    web_url: String,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

fn ticket_view<'a>(ctx: &'a Ctx<'_>, t: &'a SimTicket) -> TicketView<'a> {
    TicketView {
        id: t.id,
        tickettype_id: t.tickettype_id,
        summary: &t.summary,
        details: &t.details,
        status_id: t.status_id,
        user_id: t.user_id,
        client_id: t.client_id,
        agent_id: t.agent_id,
        team: t.team.as_deref(),
        priority_id: t.priority_id,
        category_1: t.category_1.as_deref(),
        customfields: &t.customfields,
        dateoccurred: &t.dateoccurred,
        hasbeenclosed: t.hasbeenclosed,
        dateclosed: t.dateclosed.as_deref().unwrap_or(NEVER),
        lastactiondate: t.lastactiondate.as_deref().unwrap_or(&t.dateoccurred),
        web_url: format!("{}/tickets?id={}", ctx.shared.base_url, t.id),
        warning: ctx.warning(),
    }
}

pub(crate) fn get(ctx: &Ctx<'_>) -> ApiResult {
    let id = ctx.int_param()?;
    let tenant = read(&ctx.shared.tenant);
    let t = tenant
        .ticket(id)
        .ok_or_else(|| ApiError::not_found(format!("Ticket {id} not found")))?;
    Ok(json(StatusCode::OK, &ticket_view(ctx, t)))
}

/// `GET /api/Tickets`, always in a `tickets` envelope (Halo's `Faults_View`), with the filters
/// an idempotency lookup needs: `requesttype_id` (or `tickettype_id`), `search_details` and
/// `search_summary` (case-insensitive substrings), `ticketids` (comma list), `open_only`,
/// `closed_only`. Other parameters are ignored, as Halo does. Paged like every list
/// (`pageinate`, at most 100 rows per page).
pub(crate) fn list(ctx: &Ctx<'_>) -> ApiResult {
    let q = ctx.query;
    let tenant = read(&ctx.shared.tenant);
    let type_id = q.int("requesttype_id").or_else(|| q.int("tickettype_id"));
    let lower = |name: &str| q.get(name).map(str::to_lowercase).filter(|s| !s.is_empty());
    let in_details = lower("search_details");
    let in_summary = lower("search_summary");
    let ids: Option<Vec<i64>> = q
        .get("ticketids")
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect());
    let open_only = q.flag("open_only");
    let closed_only = q.flag("closed_only");
    let matching: Vec<&SimTicket> = tenant
        .tickets()
        .filter(|t| type_id.is_none_or(|id| t.tickettype_id == id))
        .filter(|t| {
            in_details
                .as_deref()
                .is_none_or(|s| t.details.to_lowercase().contains(s))
        })
        .filter(|t| {
            in_summary
                .as_deref()
                .is_none_or(|s| t.summary.to_lowercase().contains(s))
        })
        .filter(|t| ids.as_ref().is_none_or(|ids| ids.contains(&t.id)))
        .filter(|t| !(open_only && t.dateclosed.is_some()))
        .filter(|t| !(closed_only && t.dateclosed.is_none()))
        .collect();
    let (page, rows) = match PageRequest::from_query(q) {
        Some(req) => {
            let per_page = req.page_size.min(MAX_PAGE_ROWS) as usize;
            let skip = (req.page_no.saturating_sub(1) as usize).saturating_mul(per_page);
            let rows: Vec<_> = matching.iter().skip(skip).take(per_page).collect();
            (Some((req.page_no, req.page_size)), rows)
        }
        None => (None, matching.iter().collect()),
    };
    let views: Vec<_> = rows.into_iter().map(|t| ticket_view(ctx, t)).collect();
    Ok(json(
        StatusCode::OK,
        &Envelope {
            page,
            record_count: matching.len(),
            key: "tickets",
            rows: &views,
            warning: ctx.warning(),
        },
    ))
}

/// `POST /api/Tickets`: 400 when `tickettype_id` is unknown, `summary` is missing, or the
/// type refuses API creates (its `create_rejection`, Halo's message as the body).
pub(crate) fn create(ctx: &Ctx<'_>) -> ApiResult {
    let items = elements(ctx.body)?;
    let mut tenant = write(&ctx.shared.tenant);
    let planned = items
        .iter()
        .enumerate()
        .map(|(i, obj)| plan_ticket(&tenant, &Fields::element(obj, i)))
        .collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<i64> = planned
        .into_iter()
        .map(|t| tenant.create_ticket(t).id)
        .collect();
    let rows: Vec<_> = ids
        .iter()
        .filter_map(|id| tenant.ticket(*id))
        .map(|t| ticket_view(ctx, t))
        .collect();
    Ok(respond::written(true, &rows))
}

fn plan_ticket(tenant: &Tenant, f: &Fields<'_>) -> Result<NewTicket, ApiError> {
    let tickettype_id = f.int("tickettype_id")?.ok_or_else(|| {
        ApiError::field(
            f.path("tickettype_id"),
            "The tickettype_id field is required",
        )
    })?;
    let tt = tenant.ticket_type(tickettype_id).ok_or_else(|| {
        ApiError::field(
            f.path("tickettype_id"),
            format!("Ticket type {tickettype_id} not found"),
        )
    })?;
    if let Some(message) = &tt.create_rejection {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, message.clone()));
    }
    let summary = f
        .str("summary")?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::field(f.path("summary"), "The summary field is required"))?;
    let customfields = match f.objects("customfields")? {
        None => Vec::new(),
        Some(cfs) => cfs
            .iter()
            .map(|cf| custom_value(tt, cf))
            .collect::<Result<_, _>>()?,
    };
    Ok(NewTicket {
        tickettype_id,
        summary: summary.to_owned(),
        details: f.str("details")?.unwrap_or_default().to_owned(),
        user_id: f.int("user_id")?,
        client_id: f.int("client_id")?,
        agent_id: f.int("agent_id")?,
        team: f.str("team")?.map(str::to_owned),
        priority_id: f.int("priority_id")?,
        category_1: f.str("category_1")?.map(str::to_owned),
        customfields,
    })
}

/// A custom field value names its field by `id` or `name`; the other half is filled in
/// when the ticket type has that field.
fn custom_value(tt: &SimTicketType, cf: &Fields<'_>) -> Result<SimCustomValue, ApiError> {
    let id = cf.int("id")?;
    let name = cf.str("name")?;
    if id.is_none() && name.is_none() {
        return Err(ApiError::field(
            cf.path("name"),
            "The name field is required",
        ));
    }
    let known = tt
        .fields
        .iter()
        .find(|f| Some(f.id) == id || name.is_some_and(|n| f.name.eq_ignore_ascii_case(n)));
    Ok(SimCustomValue {
        id: id.or(known.map(|f| f.id)),
        name: name.map(str::to_owned).or(known.map(|f| f.name.clone())),
        value: cf.value("value").cloned().unwrap_or_default(),
    })
}

// ---- actions --------------------------------------------------------------------------------

#[derive(Serialize)]
struct ActionView<'a> {
    #[serde(flatten)]
    action: &'a SimAction,
    #[serde(rename = "_warning", skip_serializing_if = "Option::is_none")]
    warning: Option<&'a str>,
}

/// `POST /api/Actions`: notes on a ticket; `new_status` moves the ticket in the same call.
pub(crate) fn add_actions(ctx: &Ctx<'_>) -> ApiResult {
    let items = elements(ctx.body)?;
    let mut tenant = write(&ctx.shared.tenant);
    let planned = items
        .iter()
        .enumerate()
        .map(|(i, obj)| plan_action(&tenant, &Fields::element(obj, i)))
        .collect::<Result<Vec<_>, _>>()?;
    let created: Vec<SimAction> = planned
        .into_iter()
        .map(|a| tenant.add_action(a).clone())
        .collect();
    let rows: Vec<_> = created
        .iter()
        .map(|action| ActionView {
            action,
            warning: ctx.warning(),
        })
        .collect();
    Ok(respond::written(true, &rows))
}

fn plan_action(tenant: &Tenant, f: &Fields<'_>) -> Result<NewAction, ApiError> {
    let ticket_id = f
        .int("ticket_id")?
        .ok_or_else(|| ApiError::field(f.path("ticket_id"), "The ticket_id field is required"))?;
    if tenant.ticket(ticket_id).is_none() {
        return Err(ApiError::field(
            f.path("ticket_id"),
            format!("Ticket {ticket_id} not found"),
        ));
    }
    let new_status = f.int("new_status")?;
    if let Some(s) = new_status
        && tenant.status(s).is_none()
    {
        return Err(ApiError::field(
            f.path("new_status"),
            format!("Status {s} not found"),
        ));
    }
    Ok(NewAction {
        ticket_id,
        note: f
            .str("note")?
            .or(f.str("note_html")?)
            .unwrap_or_default()
            .to_owned(),
        outcome: f.str("outcome")?.unwrap_or_default().to_owned(),
        new_status,
        hiddenfromuser: f.bool("hiddenfromuser")?.unwrap_or(false),
    })
}
