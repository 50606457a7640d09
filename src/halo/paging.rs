//! The one paging helper (`pageinate=true&page_size=N&page_no=K`) and the one
//! envelope parser, used by every list endpoint.
//!
//! Halo's paging is loose (docs/reference/haloitsm-api.md §3): the rows may come as a bare
//! array, under the entity key (`users`), or under `results`; `record_count`
//! may be missing; the server silently caps pages at 100. Known failure modes
//! of peers (docs/reference/peer-lessons.md §3.2) are silent truncation and endless loops, so
//! the helper:
//! - clamps the page size to 100 and trusts `record_count` when it is
//!   consistent, so a server-side cap never truncates the list;
//! - stops on `record_count`, an empty page, or (without a count) a short page;
//! - refuses a page whose ids repeat the previous page (a server ignoring
//!   `page_no` would otherwise loop forever) with a Protocol error;
//! - yields one page at a time, so memory does not grow with tenant size
//!   (only a fingerprint per id is kept, to tell a paging overlap from a clash);
//! - refuses what it cannot trust (issue 18): a `record_count` that is not a
//!   plausible row count, a row that lacks its id (the model's identity
//!   fields), and two *different* rows with the same id in one listing. The
//!   error names the endpoint, the row number and the field.
//! - asks for newest-first order when told to ([`ListOrder::IdDesc`]) and checks
//!   each page's ids really descend (`Listed::out_of_order` says when not), see
//!   [`ListOrder`] for why that order closes the balanced insert+delete gap.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use futures::Stream;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::settings::MAX_PAGE_SIZE;
use crate::telemetry;

/// A hard stop far beyond any real tenant (10 million rows at 100 per page).
const MAX_PAGES: u32 = 100_000;
/// The largest `record_count` believed: what `MAX_PAGES` full pages hold.
pub const MAX_RECORD_COUNT: u64 = MAX_PAGES as u64 * MAX_PAGE_SIZE as u64;

/// The row order a paged list asks Halo for.
///
/// Halo pages by offset, so a row deleted between two pages shifts every later row left by
/// one and the row on the next page boundary is skipped. Halo ids are identity values: a
/// new row gets a higher id than every existing one. Newest first, every insert lands
/// *before* every row not read yet and shifts the rest right (a row read twice, never one
/// skipped), so a row can only be skipped when more rows were deleted than inserted before
/// it, and then the list's `record_count` dropped, which the agent sync's count check sees.
/// An insert and a delete between the same two pages then skip nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// `order=id&orderdesc=true`: newest first; each page is checked to really descend.
    #[default]
    IdDesc,
    /// No order parameter: Halo's default order (for a tenant that rejects the parameter).
    None,
}

impl ListOrder {
    /// The query parameters that ask for this order.
    pub fn query(self) -> &'static [(&'static str, &'static str)] {
        match self {
            ListOrder::IdDesc => &[("order", "id"), ("orderdesc", "true")],
            ListOrder::None => &[],
        }
    }
}

/// Whether the ids of `rows` strictly descend (rows without a numeric id are not judged).
fn ids_descend(rows: &[Value]) -> bool {
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| match r.get("id") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        })
        .collect();
    ids.windows(2).all(|w| w[0] > w[1])
}

/// Rows of one response, before typing.
#[derive(Debug, Default)]
pub struct Page {
    pub rows: Vec<Value>,
    pub record_count: Option<u64>,
}

/// Parse any of the list shapes: a bare array; an object with the rows under
/// `entity_key` (case-insensitive), under `results`, or as a last resort the
/// first array-valued property that is not column metadata.
pub fn parse_page(body: &[u8], entity_key: &str) -> Result<Page> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::protocol(format!("list body is not valid JSON: {e}")))?;
    match value {
        Value::Array(rows) => Ok(Page {
            rows,
            record_count: None,
        }),
        Value::Object(mut map) => {
            let record_count = match map.get("record_count") {
                None | Some(Value::Null) => None,
                Some(v) => Some(as_u64(v).filter(|n| *n <= MAX_RECORD_COUNT).ok_or_else(|| {
                    Error::protocol(format!(
                        "record_count {} is not a plausible row count (0 to {MAX_RECORD_COUNT})",
                        truncated(&v.to_string())
                    ))
                })?),
            };
            match rows_key(&map, entity_key) {
                Some(key) => match map.remove(&key) {
                    Some(Value::Array(rows)) => Ok(Page { rows, record_count }),
                    _ => Err(Error::protocol("rows key vanished")),
                },
                // `{"record_count": 0}` with no array at all is an empty list.
                None if record_count == Some(0) => Ok(Page::default()),
                None => Err(Error::protocol(format!(
                    "list envelope has no rows array (keys: {})",
                    map.keys().take(10).cloned().collect::<Vec<_>>().join(", ")
                ))),
            }
        }
        other => Err(Error::protocol(format!(
            "list body is neither an array nor an object (got {})",
            json_type(&other)
        ))),
    }
}

fn rows_key(map: &Map<String, Value>, entity_key: &str) -> Option<String> {
    let is_array_under = |want: &str| {
        map.iter()
            .find(|(k, v)| k.eq_ignore_ascii_case(want) && v.is_array())
            .map(|(k, _)| k.clone())
    };
    is_array_under(entity_key)
        .or_else(|| is_array_under("results"))
        .or_else(|| {
            map.iter()
                .find(|(k, v)| v.is_array() && !k.starts_with("columns"))
                .map(|(k, _)| k.clone())
        })
}

fn as_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn truncated(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Type the rows, logging any non-empty `_warning` Halo attached to a row.
/// One log line per page, not per row: a tenant-wide warning is on every row.
/// `first_row` is the 1-based number of the first row in the whole listing.
pub fn typed_rows<T: DeserializeOwned>(
    rows: Vec<Value>,
    endpoint: &'static str,
    first_row: u64,
) -> Result<Vec<T>> {
    if let Some(row) = rows.iter().find(|r| warning_of(r).is_some()) {
        log_warning(endpoint, row);
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            serde_json::from_value(row).map_err(|e| {
                Error::protocol(format!("row {}: {e}", first_row + i as u64))
                    .with_endpoint(endpoint)
            })
        })
        .collect()
}

/// The ids seen in one listing, each with a fingerprint of its row and the row's number.
/// The same id twice with the same row is a paging overlap (accepted: the caller
/// deduplicates); with a different row it is a clash, and one of the two would vanish.
#[derive(Debug, Default)]
pub struct IdLedger {
    seen: HashMap<String, (u64, u64)>,
}

impl IdLedger {
    /// Check `rows` (row numbers from `first_row`, 1-based) against every row seen so far.
    /// Rows without an `id` are left to the typed parse, which knows whether one is required.
    pub fn check(&mut self, rows: &[Value], first_row: u64) -> Result<()> {
        self.check_rows(rows, first_row, false)
    }

    /// Like [`IdLedger::check`], but a row repeating one of an *earlier page* with other
    /// contents is accepted as its newer state: newest-first paging re-reads the rows an
    /// insert pushed over the page boundary, and one of them may have been edited since.
    /// The caller writes rows as upserts, so the later read wins. Within one page a repeated
    /// id is still a clash.
    pub fn check_newer(&mut self, rows: &[Value], first_row: u64) -> Result<()> {
        self.check_rows(rows, first_row, true)
    }

    fn check_rows(&mut self, rows: &[Value], first_row: u64, newer_wins: bool) -> Result<()> {
        for (i, row) in rows.iter().enumerate() {
            let id = match row.get("id") {
                Some(Value::String(s)) => s.trim().to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            let mut h = DefaultHasher::new();
            row.to_string().hash(&mut h);
            let print = h.finish();
            let n = first_row + i as u64;
            match self.seen.get(&id) {
                Some(&(p, _)) if p == print => {}
                Some(&(_, earlier)) if newer_wins && earlier < first_row => {
                    self.seen.insert(id, (print, n));
                }
                Some(&(_, earlier)) => {
                    return Err(Error::protocol(format!(
                        "rows {earlier} and {n} both have `id` {} but differ",
                        truncated(&id)
                    )));
                }
                None => {
                    self.seen.insert(id, (print, n));
                }
            }
        }
        Ok(())
    }
}

fn warning_of(value: &Value) -> Option<&str> {
    value
        .get("_warning")
        .and_then(Value::as_str)
        .filter(|w| !w.trim().is_empty())
}

/// Halo objects may carry `_warning` on success; surface it in the log.
pub fn log_warning(endpoint: &'static str, value: &Value) {
    if let Some(w) = warning_of(value) {
        telemetry::api::api_warning(endpoint, w);
    }
}

/// Identity of a page: the hash of its rows' ids (whole rows when a row has no id).
fn fingerprint(rows: &[Value]) -> u64 {
    let mut h = DefaultHasher::new();
    for row in rows {
        match row.get("id") {
            Some(id) => id.to_string().hash(&mut h),
            None => row.to_string().hash(&mut h),
        }
    }
    h.finish()
}

struct State<F> {
    fetch: F,
    page_no: u32,
    collected: u64,
    previous: Option<u64>,
    ids: IdLedger,
    done: bool,
}

/// One page of a list: its typed rows and the `record_count` Halo reported
/// with it (if it did). Callers that must notice a list changing under them
/// (offset paging skips a row when one before it is deleted) compare counts.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub rows: Vec<T>,
    pub record_count: Option<u64>,
    /// Newest-first order was asked for, but this page's ids do not descend: Halo ignored
    /// the order parameter, and the list has only the count check's guarantee.
    pub out_of_order: bool,
}

/// Stream every page of a list. `fetch(page_no, page_size)` performs one
/// request (with `pageinate=true&page_size&page_no`, and `order.query()`) and
/// returns the body; `order` is what that request asked for, checked here.
/// The stream ends after the last page, or after yielding one error.
pub fn paginate<T, F, Fut>(
    endpoint: &'static str,
    entity_key: &'static str,
    page_size: u32,
    order: ListOrder,
    fetch: F,
) -> impl Stream<Item = Result<Listed<T>>>
where
    T: DeserializeOwned,
    F: FnMut(u32, u32) -> Fut,
    Fut: Future<Output = Result<Bytes>>,
{
    let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
    let state = State {
        fetch,
        page_no: 1,
        collected: 0,
        previous: None,
        ids: IdLedger::default(),
        done: false,
    };
    futures::stream::unfold(state, move |mut st| async move {
        if st.done {
            return None;
        }
        // Any early return below yields an error and ends the stream.
        st.done = true;
        let page_no = st.page_no;
        if page_no > MAX_PAGES {
            let e = Error::protocol(format!("more than {MAX_PAGES} pages; refusing to continue"));
            return Some((Err(e.with_endpoint(endpoint)), st));
        }
        let body = match (st.fetch)(page_no, page_size).await {
            Ok(body) => body,
            Err(e) => return Some((Err(e), st)),
        };
        let page = match parse_page(&body, entity_key) {
            Ok(page) => page,
            Err(e) => return Some((Err(e.with_endpoint(endpoint)), st)),
        };
        if page.rows.is_empty() {
            return None;
        }
        let fp = fingerprint(&page.rows);
        if st.previous == Some(fp) {
            let e = Error::protocol(format!(
                "page {page_no} repeats page {} (server ignoring page_no?); refusing to loop",
                page_no - 1
            ));
            return Some((Err(e.with_endpoint(endpoint)), st));
        }
        st.previous = Some(fp);
        let first_row = st.collected + 1;
        let out_of_order = order == ListOrder::IdDesc && !ids_descend(&page.rows);
        // Only a page that really is newest first explains a changed row read twice.
        let checked = if order == ListOrder::IdDesc && !out_of_order {
            st.ids.check_newer(&page.rows, first_row)
        } else {
            st.ids.check(&page.rows, first_row)
        };
        if let Err(e) = checked {
            return Some((Err(e.with_endpoint(endpoint)), st));
        }
        let len = page.rows.len() as u64;
        st.collected += len;
        // A consistent record_count is authoritative: a short page then only
        // means the server caps pages below our size, so keep going. Without
        // one (or with one we already exceeded), a short page is the end.
        st.done = match page.record_count {
            Some(total) if st.collected <= total => st.collected >= total,
            _ => len < u64::from(page_size),
        };
        st.page_no += 1;
        let record_count = page.record_count;
        let typed = typed_rows(page.rows, endpoint, first_row).map(|rows| Listed {
            rows,
            record_count,
            out_of_order,
        });
        if typed.is_err() {
            st.done = true;
        }
        Some((typed, st))
    })
}

#[cfg(test)]
mod tests;
