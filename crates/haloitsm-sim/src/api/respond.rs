//! Building JSON responses, including the switchable list/envelope shapes.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Ctx;

pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut resp = (status, bytes).into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            resp
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("simulator could not serialize its response: {e}"),
        )
            .into_response(),
    }
}

/// `{"page_no", "page_size", "record_count", "<key>": [...]}` with the key chosen at run time.
pub(crate) struct Envelope<'a, T> {
    /// `(page_no, page_size)` for paginated answers.
    pub page: Option<(u64, u64)>,
    pub record_count: usize,
    pub key: &'a str,
    pub rows: &'a [T],
    pub warning: Option<&'a str>,
}

impl<T: Serialize> Serialize for Envelope<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some((page_no, page_size)) = self.page {
            m.serialize_entry("page_no", &page_no)?;
            m.serialize_entry("page_size", &page_size)?;
        }
        m.serialize_entry("record_count", &self.record_count)?;
        m.serialize_entry(self.key, self.rows)?;
        if let Some(w) = self.warning {
            m.serialize_entry("_warning", w)?;
        }
        m.end()
    }
}

/// An unpaginated list: a bare array, or an envelope when the `list_envelopes` quirk is on.
pub(crate) fn list<T: Serialize>(ctx: &Ctx<'_>, key: &str, rows: &[T]) -> Response {
    if ctx.quirks.list_envelopes {
        json(
            StatusCode::OK,
            &Envelope {
                page: None,
                record_count: rows.len(),
                key,
                rows,
                warning: ctx.warning(),
            },
        )
    } else {
        json(StatusCode::OK, rows)
    }
}

/// Answer to a write: the single object when one element was posted, else an array.
pub(crate) fn written<T: Serialize>(created_any: bool, rows: &[T]) -> Response {
    let status = if created_any {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    match rows {
        [one] => json(status, one),
        many => json(status, many),
    }
}
