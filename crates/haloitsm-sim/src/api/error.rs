//! Halo-like error responses, rendered in whichever style the quirks select.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::config::ErrorStyle;

/// An error a handler answers with. Rendering is deferred so the style is chosen in one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// ASP.NET model-state key such as `[0].name`, when the error concerns one input field.
    pub field: Option<String>,
}

pub(crate) type ApiResult = Result<Response, ApiError>;

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            field: None,
        }
    }

    /// A 400 about one input field.
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            field: Some(field.into()),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub(crate) fn unauthorized() -> Self {
        // The stock ASP.NET Web API message, which is what Halo's stack answers.
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authorization has been denied for this request.",
        )
    }

    /// A 400 for a path id that is not an integer.
    pub(crate) fn bad_id(raw: &str) -> Self {
        Self::field("id", format!("The value '{raw}' is not valid."))
    }

    /// The .NET exception class a Halo server would name for this status.
    fn class_name(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "System.ArgumentException",
            StatusCode::UNAUTHORIZED => "System.UnauthorizedAccessException",
            StatusCode::NOT_FOUND => "System.Collections.Generic.KeyNotFoundException",
            _ => "System.Exception",
        }
    }

    pub(crate) fn render(&self, style: ErrorStyle) -> Response {
        let body = match (style, &self.field) {
            (ErrorStyle::PlainText, _) => {
                let mut resp = (self.status, self.message.clone()).into_response();
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                return self.decorate(resp);
            }
            (ErrorStyle::ResultCode, _) => {
                json!({"resultCode": self.status.as_u16(), "errorMessage": self.message})
            }
            (ErrorStyle::ClassName, _) => {
                json!({"ClassName": self.class_name(), "Message": self.message})
            }
            (ErrorStyle::FieldErrors, Some(field)) => {
                let mut m = Map::new();
                m.insert(field.clone(), Value::String(self.message.clone()));
                Value::Object(m)
            }
            (ErrorStyle::Message | ErrorStyle::FieldErrors, _) => json!({"Message": self.message}),
        };
        self.decorate((self.status, axum::Json(body)).into_response())
    }

    fn decorate(&self, mut resp: Response) -> Response {
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}
