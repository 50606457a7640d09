//! `operations` as a table: one line per operation, times in the local time zone.

use baton_haloitsm::provisioning::journal::OpRecord;
use baton_haloitsm::provisioning::operation::Operation;
use baton_haloitsm::provisioning::outcome::Outcome;

const HEADER: [&str; 8] = [
    "ID",
    "STATUS",
    "KIND",
    "TARGET",
    "RESULT",
    "REQUESTED BY",
    "CREATED",
    "UPDATED",
];

/// The table, header first; columns as wide as their widest cell.
pub fn render(ops: &[OpRecord]) -> String {
    let tz = jiff::tz::TimeZone::system();
    let rows: Vec<[String; 8]> = ops
        .iter()
        .map(|op| {
            [
                op.id.to_string(),
                op.status.as_str().to_string(),
                op.kind.clone(),
                target(&op.operation),
                result(op.outcome.as_ref()),
                op.requested_by.clone(),
                local_time(op.created_at_ms, &tz),
                local_time(op.updated_at_ms, &tz),
            ]
        })
        .collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            // Ids right-aligned, the rest left.
            if i == 0 {
                text.push_str(&format!("{cell:>w$}"));
            } else {
                text.push_str(&format!("{cell:<w$}"));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&HEADER);
    for row in &rows {
        line(&row.each_ref().map(String::as_str));
    }
    out
}

fn target(op: &Operation) -> String {
    match op {
        Operation::Grant { grant } | Operation::Revoke { grant } => grant.to_string(),
        Operation::CreateAccount { account } => account.email.clone(),
        Operation::SetDisabled { agent_id, .. } | Operation::Delete { agent_id } => {
            format!("agent:{agent_id}")
        }
    }
}

fn result(outcome: Option<&Outcome>) -> String {
    let Some(o) = outcome else {
        return "-".into();
    };
    // The outcome's own JSON names: `ok`, `already`, `ticketed`, `failed` (+ its kind).
    let v = serde_json::to_value(o).unwrap_or_default();
    let name = v["result"].as_str().unwrap_or("?");
    match v["kind"].as_str() {
        Some(kind) if name == "failed" => format!("failed: {kind}"),
        _ => name.to_string(),
    }
}

/// `2026-12-05 14:03:07 +01:00`, in the system time zone.
fn local_time(ms: i64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %:z")
            .to_string(),
        Err(_) => ms.to_string(),
    }
}
