//! Hostile answers (issue 18): what a broken Halo, or a proxy in front of it, may send
//! with a 200. Some replace the answer outright (a body that never ends, an HTML login
//! page, invalid UTF-8, deep nesting, a number out of range); the rest edit the real
//! answer's JSON (a row loses its id, two rows share one, `record_count` is nonsense).
//! Armed like any scripted fault: `SimControl::hostile_next`.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::Value;

/// One hostile answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hostile {
    /// 200, `application/json`, chunked, and it never ends: a list that opens and keeps
    /// sending rows.
    EndlessBody,
    /// 200 with a declared `Content-Length` of this many bytes (streamed, never held).
    OversizedBody(u64),
    /// 200 with an HTML sign-in page, as a proxy in front of Halo answers.
    Html200,
    /// 200 JSON whose text is not UTF-8.
    InvalidUtf8,
    /// 200 JSON nested this deep (serde_json stops at 128).
    DeepNesting(usize),
    /// 200 JSON with a number no float holds (`1e400`) where the id goes.
    NumberOutOfRange,
    /// 307 Temporary Redirect to this URL: a client that follows it re-sends the request,
    /// body (a token request's client secret) included, to wherever it points.
    Redirect(String),
    /// The real answer with `record_count` replaced by this value.
    RecordCount(Value),
    /// The real answer with its rows edited: the listing's rows, or the array under
    /// `key` (`allowed_status` in a ticket type). The last row only, unless `every`.
    Rows {
        key: Option<String>,
        edit: RowEdit,
        every: bool,
    },
}

/// How a row is edited.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowEdit {
    /// The field is left out.
    Drop(String),
    /// The field is set to this value.
    Set(String, Value),
    /// The field is renamed (`id` → `status_ident`).
    Rename(String, String),
    /// The row takes the first row's `id` (the rows still differ).
    CopyFirstId,
}

impl Hostile {
    /// Whether this replaces the answer (else it edits the handler's answer).
    pub(crate) fn replaces(&self) -> bool {
        !matches!(self, Hostile::RecordCount(_) | Hostile::Rows { .. })
    }
}

const CHUNK: usize = 64 * 1024;

/// The replacing answers.
pub(crate) fn answer(h: &Hostile) -> Response {
    let json = "application/json; charset=utf-8";
    match h {
        Hostile::EndlessBody => {
            let row = "{\"id\":1,\"name\":\"endless\"},";
            let chunk = Bytes::from(row.repeat(CHUNK / row.len()));
            let head = futures::stream::once(async {
                Ok::<_, std::io::Error>(Bytes::from_static(b"{\"record_count\":1,\"agents\":["))
            });
            let rest = futures::stream::repeat_with(move || Ok(chunk.clone()));
            with(
                json,
                Body::from_stream(futures::StreamExt::chain(head, rest)),
            )
        }
        Hostile::OversizedBody(len) => {
            let len = *len;
            let chunks = (0..len.div_ceil(CHUNK as u64)).map(move |i| {
                let n = (len - i * CHUNK as u64).min(CHUNK as u64) as usize;
                Ok::<_, std::io::Error>(Bytes::from(vec![b' '; n]))
            });
            let mut resp = with(json, Body::from_stream(futures::stream::iter(chunks)));
            resp.headers_mut()
                .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
            resp
        }
        Hostile::Html200 => with(
            "text/html; charset=utf-8",
            Body::from(
                "<!DOCTYPE html>\n<html><head><title>Sign in to your account</title></head>\
                 <body><form action=\"/login\"></form></body></html>",
            ),
        ),
        Hostile::InvalidUtf8 => with(
            json,
            Body::from(&b"{\"record_count\":1,\"agents\":[{\"id\":1,\"name\":\"caf\xe9\"}]}"[..]),
        ),
        Hostile::DeepNesting(depth) => {
            let text = format!(
                "{{\"record_count\":1,\"agents\":[{{\"id\":1,\"x\":{}{}}}]}}",
                "[".repeat(*depth),
                "]".repeat(*depth)
            );
            with(json, Body::from(text))
        }
        Hostile::NumberOutOfRange => with(
            json,
            Body::from("{\"record_count\":1,\"agents\":[{\"id\":1e400,\"name\":\"big\"}]}"),
        ),
        Hostile::Redirect(location) => {
            let mut resp = Response::new(Body::empty());
            *resp.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            if let Ok(v) = HeaderValue::from_str(location) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            resp
        }
        Hostile::RecordCount(_) | Hostile::Rows { .. } => {
            with(json, Body::from("{}")) // never asked: these edit an answer
        }
    }
}

fn with(content_type: &'static str, body: Body) -> Response {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The handler's answer, edited. An answer that is not JSON (an error page) goes out as is.
pub(crate) async fn edit(resp: Response, h: &Hostile) -> Response {
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    match h {
        Hostile::RecordCount(v) => {
            if let Value::Object(map) = &mut value {
                map.insert("record_count".into(), v.clone());
            }
        }
        Hostile::Rows { key, edit, every } => {
            if let Some(rows) = rows_of(&mut value, key.as_deref()) {
                edit_rows(rows, edit, *every);
            }
        }
        _ => {}
    }
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(value.to_string()))
}

/// The array to edit: under `key`, else the listing's rows (a bare array, or the first
/// array in the envelope that is not column metadata).
fn rows_of<'a>(value: &'a mut Value, key: Option<&str>) -> Option<&'a mut Vec<Value>> {
    match (value, key) {
        (Value::Array(rows), None) => Some(rows),
        (Value::Object(map), Some(k)) => map.get_mut(k).and_then(Value::as_array_mut),
        (Value::Object(map), None) => map
            .iter_mut()
            .find(|(k, v)| v.is_array() && !k.starts_with("columns"))
            .and_then(|(_, v)| v.as_array_mut()),
        _ => None,
    }
}

fn edit_rows(rows: &mut [Value], edit: &RowEdit, every: bool) {
    let first_id = rows.first().and_then(|r| r.get("id")).cloned();
    let n = rows.len();
    let start = if every { 0 } else { n.saturating_sub(1) };
    for row in rows.iter_mut().skip(start) {
        let Value::Object(map) = row else { continue };
        match edit {
            RowEdit::Drop(f) => {
                map.remove(f);
            }
            RowEdit::Set(f, v) => {
                map.insert(f.clone(), v.clone());
            }
            RowEdit::Rename(from, to) => {
                if let Some(v) = map.remove(from) {
                    map.insert(to.clone(), v);
                }
            }
            RowEdit::CopyFirstId => {
                if let Some(id) = &first_id {
                    map.insert("id".into(), id.clone());
                }
            }
        }
    }
}
