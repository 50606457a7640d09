//! The one paging implementation, shared by `GET /api/Agent` and `GET /api/Users`.
//!
//! Halo semantics: `pageinate=true` turns paging on; `page_no` is 1-based; whatever
//! `page_size` asks, at most 100 rows come back, and the offset is computed from the rows
//! actually served (so page 2 of `page_size=1000` starts at row 101). The envelope echoes the
//! *requested* `page_size`: a client that stops on "fewer rows than page_size" stops after one
//! page, which is exactly the HaloAPI#90 trap live tenants set.
//!
//! `order=id&orderdesc=true` serves newest first (ids only grow, so an insert lands before
//! every row); any other order is the default, ascending id. The `ignore_list_order` quirk
//! serves ascending whatever was asked, as a Halo that ignores the parameter would.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::respond::{Envelope, json};
use crate::config::QuirkConfig;
use crate::query::QueryParams;
use crate::table::{ClassMask, PagedTable};

/// Hard server-side cap on rows per page.
pub(crate) const MAX_PAGE_ROWS: u64 = 100;
/// `page_size` when paging is on but no usable size was given.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageRequest {
    pub page_no: u64,
    pub page_size: u64,
    /// `order=id&orderdesc=true`: descending id.
    pub id_desc: bool,
}

impl PageRequest {
    /// `None` unless `pageinate=true`.
    pub(crate) fn from_query(q: &QueryParams) -> Option<Self> {
        if !q.flag("pageinate") {
            return None;
        }
        let page_size = q
            .int("page_size")
            .filter(|n| *n > 0)
            .map_or(DEFAULT_PAGE_SIZE, |n| n as u64);
        let page_no = q.int("page_no").filter(|n| *n > 0).map_or(1, |n| n as u64);
        let id_desc =
            q.get("order").is_some_and(|o| o.eq_ignore_ascii_case("id")) && q.flag("orderdesc");
        Some(Self {
            page_no,
            page_size,
            id_desc,
        })
    }

    /// The request as served under `quirks` (which may ignore the order parameter).
    pub(crate) fn served(mut self, quirks: &QuirkConfig) -> Self {
        self.id_desc &= !quirks.ignore_list_order;
        self
    }

    fn rows(&self) -> u64 {
        self.page_size.min(MAX_PAGE_ROWS)
    }

    fn offset(&self) -> usize {
        usize::try_from(self.page_no.saturating_sub(1).saturating_mul(self.rows()))
            .unwrap_or(usize::MAX)
    }
}

/// Serves one page of `table` filtered by `mask`. `key: None` answers a bare array.
pub(crate) fn respond<'t, T, V: Serialize>(
    table: &'t PagedTable<T>,
    mask: ClassMask,
    req: PageRequest,
    key: Option<&str>,
    warning: Option<&str>,
    view: impl Fn(&'t T) -> V,
) -> Response {
    let rows = if req.id_desc {
        table.page_desc(mask, req.offset(), req.rows() as usize)
    } else {
        table.page(mask, req.offset(), req.rows() as usize)
    };
    page(rows, table.count(mask), req, key, warning, view)
}

/// Serves one page of rows a filter outside the table's masks chose (`role=`):
/// an O(n) scan, fine for a simulator. `rows` come in ascending id order.
pub(crate) fn respond_filtered<'t, T, V: Serialize>(
    mut rows: Vec<&'t T>,
    req: PageRequest,
    key: Option<&str>,
    warning: Option<&str>,
    view: impl Fn(&'t T) -> V,
) -> Response {
    let count = rows.len();
    if req.id_desc {
        rows.reverse();
    }
    let page_rows = rows
        .into_iter()
        .skip(req.offset())
        .take(req.rows() as usize)
        .collect();
    page(page_rows, count, req, key, warning, view)
}

fn page<'t, T, V: Serialize>(
    rows: Vec<&'t T>,
    record_count: usize,
    req: PageRequest,
    key: Option<&str>,
    warning: Option<&str>,
    view: impl Fn(&'t T) -> V,
) -> Response {
    let rows: Vec<V> = rows.into_iter().map(view).collect();
    match key {
        None => json(StatusCode::OK, &rows),
        Some(key) => json(
            StatusCode::OK,
            &Envelope {
                page: Some((req.page_no, req.page_size)),
                record_count,
                key,
                rows: &rows,
                warning,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_request_defaults_and_cap() {
        let q = QueryParams::parse("pageinate=True&page_size=1000&page_no=3&bogus=1");
        let r = PageRequest::from_query(&q).unwrap();
        assert_eq!(
            (r.page_no, r.page_size, r.rows(), r.offset()),
            (3, 1000, 100, 200)
        );
        let q = QueryParams::parse("pageinate=true&page_size=abc&page_no=0");
        let r = PageRequest::from_query(&q).unwrap();
        assert_eq!((r.page_no, r.page_size), (1, DEFAULT_PAGE_SIZE));
        assert!(PageRequest::from_query(&QueryParams::parse("page_size=5")).is_none());
        let q = QueryParams::parse("pageinate=true&order=ID&orderdesc=true");
        let r = PageRequest::from_query(&q).unwrap();
        assert!(r.id_desc);
        let ignoring = QuirkConfig {
            ignore_list_order: true,
            ..QuirkConfig::default()
        };
        assert!(!r.served(&ignoring).id_desc);
        let q = QueryParams::parse("pageinate=true&order=name&orderdesc=true");
        assert!(!PageRequest::from_query(&q).unwrap().id_desc);
    }
}
