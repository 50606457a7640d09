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
//! - yields one page at a time, so memory does not grow with tenant size.

use std::collections::hash_map::DefaultHasher;
use std::future::Future;
use std::hash::{Hash, Hasher};

use bytes::Bytes;
use futures::Stream;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::error::{Error, Result};
use super::settings::MAX_PAGE_SIZE;
use crate::telemetry;

/// A hard stop far beyond any real tenant (10 million rows at 100 per page).
const MAX_PAGES: u32 = 100_000;

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
        .map_err(|e| Error::protocol(format!("list body is not JSON: {e}")))?;
    match value {
        Value::Array(rows) => Ok(Page {
            rows,
            record_count: None,
        }),
        Value::Object(mut map) => {
            let record_count = map.get("record_count").and_then(as_u64);
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
pub fn typed_rows<T: DeserializeOwned>(rows: Vec<Value>, endpoint: &'static str) -> Result<Vec<T>> {
    if let Some(row) = rows.iter().find(|r| warning_of(r).is_some()) {
        log_warning(endpoint, row);
    }
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            serde_json::from_value(row).map_err(|e| {
                Error::protocol(format!("row {i} does not parse: {e}")).with_endpoint(endpoint)
            })
        })
        .collect()
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
    done: bool,
}

/// One page of a list: its typed rows and the `record_count` Halo reported
/// with it (if it did). Callers that must notice a list changing under them
/// (offset paging skips a row when one before it is deleted) compare counts.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub rows: Vec<T>,
    pub record_count: Option<u64>,
}

/// Stream every page of a list. `fetch(page_no, page_size)` performs one
/// request (with `pageinate=true&page_size&page_no`) and returns the body.
/// The stream ends after the last page, or after yielding one error.
pub fn paginate<T, F, Fut>(
    endpoint: &'static str,
    entity_key: &'static str,
    page_size: u32,
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
        let typed = typed_rows(page.rows, endpoint).map(|rows| Listed { rows, record_count });
        if typed.is_err() {
            st.done = true;
        }
        Some((typed, st))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use serde_json::json;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Clone, Copy)]
    enum Shape {
        Bare,
        Results,
        Entity,
    }

    /// In-memory Halo: `total` rows, capped at `cap` per page, in `shape`.
    fn source(
        total: u64,
        cap: u32,
        shape: Shape,
        with_count: bool,
        calls: Rc<RefCell<Vec<(u32, u32)>>>,
    ) -> impl FnMut(u32, u32) -> std::future::Ready<Result<Bytes>> {
        move |page_no, size| {
            calls.borrow_mut().push((page_no, size));
            let size = size.min(cap) as u64;
            let start = (u64::from(page_no) - 1) * size;
            let rows: Vec<Value> = (start..(start + size).min(total))
                .map(|id| json!({"id": id, "name": format!("row {id}")}))
                .collect();
            let body = match shape {
                Shape::Bare => json!(rows),
                Shape::Results if with_count => json!({"record_count": total, "results": rows}),
                Shape::Results => json!({"results": rows}),
                Shape::Entity => {
                    json!({"page_no": page_no, "record_count": total, "columns": [{"id": 1}], "users": rows})
                }
            };
            std::future::ready(Ok(Bytes::from(body.to_string())))
        }
    }

    #[derive(serde::Deserialize)]
    struct Row {
        id: u64,
    }

    async fn collect<F, Fut>(page_size: u32, key: &'static str, fetch: F) -> Result<Vec<u64>>
    where
        F: FnMut(u32, u32) -> Fut,
        Fut: Future<Output = Result<Bytes>>,
    {
        let stream = paginate::<Row, _, _>("/api/Test", key, page_size, fetch);
        futures::pin_mut!(stream);
        let mut ids = Vec::new();
        while let Some(page) = stream.next().await {
            ids.extend(page?.rows.into_iter().map(|r| r.id));
        }
        Ok(ids)
    }

    fn run<F: Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn every_shape_collects_everything() {
        for shape in [Shape::Bare, Shape::Results, Shape::Entity] {
            for total in [0, 1, 99, 100, 101, 250] {
                let calls = Rc::new(RefCell::new(Vec::new()));
                let ids = run(collect(
                    100,
                    "users",
                    source(total, 100, shape, true, calls.clone()),
                ))
                .unwrap();
                assert_eq!(ids, (0..total).collect::<Vec<_>>());
                // Never more than one request past the data.
                assert!(calls.borrow().len() as u64 <= total / 100 + 2);
            }
        }
    }

    #[test]
    fn record_count_stops_without_an_extra_request() {
        let calls = Rc::new(RefCell::new(Vec::new()));
        run(collect(
            100,
            "results",
            source(200, 100, Shape::Results, true, calls.clone()),
        ))
        .unwrap();
        assert_eq!(calls.borrow().len(), 2);
    }

    #[test]
    fn short_page_stops_without_count() {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let ids = run(collect(
            100,
            "results",
            source(150, 100, Shape::Results, false, calls.clone()),
        ))
        .unwrap();
        assert_eq!(ids.len(), 150);
        assert_eq!(calls.borrow().len(), 2);
    }

    #[test]
    fn page_size_is_clamped_to_100() {
        let calls = Rc::new(RefCell::new(Vec::new()));
        let ids = run(collect(
            1000,
            "results",
            source(250, 100, Shape::Bare, false, calls.clone()),
        ))
        .unwrap();
        assert_eq!(ids.len(), 250);
        assert!(calls.borrow().iter().all(|&(_, size)| size == 100));
    }

    #[test]
    fn server_cap_below_page_size_still_completes_with_count() {
        // The server caps at 30 while we ask 100; record_count keeps us going.
        let calls = Rc::new(RefCell::new(Vec::new()));
        let ids = run(collect(
            100,
            "results",
            source(95, 30, Shape::Results, true, calls.clone()),
        ))
        .unwrap();
        assert_eq!(ids, (0..95).collect::<Vec<_>>());
    }

    #[test]
    fn repeated_page_is_refused() {
        // A server that ignores page_no: every page is page 1.
        let fetch = |_page: u32, _size: u32| {
            let rows: Vec<Value> = (0..100).map(|id| json!({"id": id})).collect();
            std::future::ready(Ok(Bytes::from(
                json!({"record_count": 500, "results": rows}).to_string(),
            )))
        };
        let err = run(collect(100, "results", fetch)).unwrap_err();
        assert_eq!(err.kind(), crate::halo::ErrorKind::Protocol);
        assert!(err.message().contains("repeats"), "{err}");
    }

    #[test]
    fn fetch_error_ends_the_stream_after_one_item() {
        let mut n = 0;
        let fetch = move |_p: u32, _s: u32| {
            n += 1;
            assert!(n == 1, "no fetch after an error");
            std::future::ready(Err(Error::new(crate::halo::ErrorKind::Transient, "boom")))
        };
        let stream = paginate::<Row, _, _>("/api/Test", "results", 100, fetch);
        let items: Vec<_> = run(stream.collect());
        assert_eq!(items.len(), 1);
        assert!(items[0].is_err());
    }

    #[test]
    fn envelope_shapes() {
        let p = parse_page(br#"{"record_count":"3","Agents":[{"id":1}]}"#, "agents").unwrap();
        assert_eq!((p.rows.len(), p.record_count), (1, Some(3)));
        let p = parse_page(
            br#"{"columns":[{"id":9}],"weird":[{"id":1},{"id":2}]}"#,
            "agents",
        )
        .unwrap();
        assert_eq!(p.rows.len(), 2);
        let p = parse_page(br#"{"record_count":0}"#, "agents").unwrap();
        assert!(p.rows.is_empty());
        assert!(parse_page(br#"{"id":1}"#, "agents").is_err());
        assert!(parse_page(b"<html>", "agents").is_err());
        assert!(parse_page(b"42", "agents").is_err());
    }
}
