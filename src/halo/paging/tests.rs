//! Unit tests of the paging helper (`paging.rs`).

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
    let stream = paginate::<Row, _, _>("/api/Test", key, page_size, ListOrder::None, fetch);
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
    let stream = paginate::<Row, _, _>("/api/Test", "results", 100, ListOrder::None, fetch);
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

#[test]
fn record_count_must_be_a_plausible_count() {
    for bad in [r#"-5"#, r#"1.5"#, r#""many""#, r#"true"#, r#"100000000000"#] {
        let body = format!(r#"{{"record_count":{bad},"agents":[{{"id":1}}]}}"#);
        let err = parse_page(body.as_bytes(), "agents").unwrap_err();
        assert!(
            err.message().starts_with("record_count ")
                && err.message().contains("is not a plausible row count"),
            "{err}"
        );
    }
    let p = parse_page(br#"{"record_count":null,"agents":[]}"#, "agents").unwrap();
    assert_eq!(p.record_count, None);
}

#[test]
fn same_id_twice_is_an_overlap_when_identical_and_a_clash_otherwise() {
    let mut ledger = IdLedger::default();
    ledger
        .check(&[json!({"id": 1, "n": "a"}), json!({"id": 2, "n": "b"})], 1)
        .unwrap();
    // A page that overlaps the previous one by an identical row: accepted.
    ledger.check(&[json!({"id": 2, "n": "b"})], 3).unwrap();
    let err = ledger
        .check(&[json!({"id": 1, "n": "changed"})], 4)
        .unwrap_err();
    assert_eq!(err.message(), "rows 1 and 4 both have `id` 1 but differ");
}

#[test]
fn a_row_without_its_id_names_the_row() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Strict {
        id: u64,
    }
    let fetch = |page: u32, _size: u32| {
        let rows: Vec<Value> = if page == 1 {
            (1..=100).map(|id| json!({"id": id})).collect()
        } else {
            vec![json!({"id": 101}), json!({"name": "no id"})]
        };
        std::future::ready(Ok(Bytes::from(
            json!({"record_count": 102, "results": rows}).to_string(),
        )))
    };
    let stream = paginate::<Strict, _, _>("/api/Test", "results", 100, ListOrder::None, fetch);
    let items: Vec<_> = run(stream.collect());
    let err = items[1].as_ref().unwrap_err();
    assert_eq!(
        err.to_string(),
        "halo protocol error on /api/Test: row 102: missing field `id`"
    );
}

/// Pages of `ids` (two rows a page, with a count), paged newest first; the `out_of_order`
/// flag of each page.
fn order_flags(ids: &'static [i64]) -> Vec<bool> {
    let fetch = move |page_no: u32, _size: u32| {
        let start = (page_no as usize - 1) * 2;
        let rows: Vec<Value> = ids
            .iter()
            .skip(start)
            .take(2)
            .map(|id| json!({"id": id}))
            .collect();
        let body = json!({"record_count": ids.len(), "results": rows});
        std::future::ready(Ok(Bytes::from(body.to_string())))
    };
    run(async {
        let stream = paginate::<Row, _, _>("/api/Test", "results", 2, ListOrder::IdDesc, fetch);
        futures::pin_mut!(stream);
        let mut flags = Vec::new();
        while let Some(page) = stream.next().await {
            flags.push(page.unwrap().out_of_order);
        }
        flags
    })
}

#[test]
fn newest_first_pages_are_checked_to_descend() {
    // Across a page boundary the ids may rise (an insert pushed a read row over it).
    assert_eq!(order_flags(&[9, 7, 8, 3, 1]), [false, false, false]);
    // Ascending ids within a page: Halo ignored the parameter.
    assert_eq!(order_flags(&[1, 2, 3, 4]), [true, true]);
    assert_eq!(
        ListOrder::IdDesc.query(),
        [("order", "id"), ("orderdesc", "true")]
    );
    assert!(ListOrder::None.query().is_empty());
}

#[test]
fn newest_first_takes_a_changed_row_from_an_earlier_page_as_newer() {
    let mut ledger = IdLedger::default();
    ledger
        .check_newer(&[json!({"id": 9, "n": "a"}), json!({"id": 8, "n": "b"})], 1)
        .unwrap();
    // Page 2 re-reads agent 8, edited in between: its newer state.
    ledger
        .check_newer(&[json!({"id": 8, "n": "edited"}), json!({"id": 7})], 3)
        .unwrap();
    // The same id twice within one page is still a clash.
    let err = ledger
        .check_newer(&[json!({"id": 6, "n": "x"}), json!({"id": 6, "n": "y"})], 5)
        .unwrap_err();
    assert_eq!(err.message(), "rows 5 and 6 both have `id` 6 but differ");
}
