//! The one error type of the Halo client layer.
//!
//! Every failure is classified **once**, here, into a small `Copy` [`ErrorKind`];
//! retries, metrics labels and the callers' outcome mapping (provisioning, the
//! C1 task loop) all read the kind and nothing else.
//!
//! Halo's error bodies are not uniform (docs/reference/haloitsm-api.md §10), so
//! [`extract_message`] digs a readable message out of every known shape. The
//! message is truncated and scrubbed of secrets before it is stored: an
//! `Error` is safe to log, display and send upstream as is.

use std::fmt;

use serde_json::{Map, Value};

/// How a request failed. The only source of error labels for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Bad or expired credentials, or a 401 that survived one token refresh.
    Auth,
    /// 403: the app's scopes or the login agent's permissions are too narrow.
    Permission,
    /// 404: unknown id.
    NotFound,
    /// 400-class rejection of the request itself (Halo's message attached).
    Validation,
    /// 429 that outlasted the retry budget.
    RateLimited,
    /// 5xx, timeout, connection failure: may succeed later.
    Transient,
    /// The server answered something we cannot interpret (body shape, loops).
    Protocol,
    /// Our own settings are unusable (bad URL, TLS setup).
    Config,
    /// A bug or a dead actor on our side.
    Internal,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::Auth,
        ErrorKind::Permission,
        ErrorKind::NotFound,
        ErrorKind::Validation,
        ErrorKind::RateLimited,
        ErrorKind::Transient,
        ErrorKind::Protocol,
        ErrorKind::Config,
        ErrorKind::Internal,
    ];

    /// Stable label for metrics and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Auth => "auth",
            ErrorKind::Permission => "permission",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Validation => "validation",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Transient => "transient",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Config => "config",
            ErrorKind::Internal => "internal",
        }
    }

    /// Worth trying again later (by the caller: the gateway already retried).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorKind::RateLimited | ErrorKind::Transient)
    }

    /// Classification of a non-2xx status from the resource server.
    pub fn from_status(status: u16) -> ErrorKind {
        match status {
            401 => ErrorKind::Auth,
            403 => ErrorKind::Permission,
            404 | 410 => ErrorKind::NotFound,
            408 => ErrorKind::Transient,
            429 => ErrorKind::RateLimited,
            // Not implemented / version not supported will not heal by retrying.
            501 | 505 => ErrorKind::Protocol,
            500..=599 => ErrorKind::Transient,
            // 400, 409, 422 and the rest: the server refused this request as sent.
            400..=499 => ErrorKind::Validation,
            _ => ErrorKind::Protocol,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A classified failure. `Clone` so that one token refresh can hand the same
/// result to every waiter.
#[derive(Debug, Clone, thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    status: Option<u16>,
    endpoint: Option<&'static str>,
    message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "halo {} error", self.kind)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(endpoint) = self.endpoint {
            write!(f, " on {endpoint}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Error {
    /// `message` must not contain secrets; use [`Error::from_response`] for bodies.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            status: None,
            endpoint: None,
            message: truncate(&message.into(), MAX_MESSAGE_CHARS),
        }
    }

    /// Classify a non-2xx response and extract Halo's message from its body.
    /// Every string in `secrets` is scrubbed from the message.
    pub fn from_response(status: u16, body: &[u8], secrets: &[&str]) -> Self {
        Self::from_response_as(ErrorKind::from_status(status), status, body, secrets)
    }

    /// Same, with a kind chosen by the caller (the token endpoint maps 400 to Auth).
    pub fn from_response_as(kind: ErrorKind, status: u16, body: &[u8], secrets: &[&str]) -> Self {
        Error {
            kind,
            status: Some(status),
            endpoint: None,
            message: if (300..400).contains(&status) {
                // The clients never follow redirects (they would re-send credentials).
                "a redirect, refused: requests carrying credentials are never redirected \
                 (check halo.base_url / halo.auth_url)"
                    .to_string()
            } else {
                extract_message(body, secrets)
            },
        }
    }

    pub fn with_endpoint(mut self, endpoint: &'static str) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn status(&self) -> Option<u16> {
        self.status
    }

    pub fn endpoint(&self) -> Option<&'static str> {
        self.endpoint
    }

    /// Halo's (or our) message, truncated and scrubbed.
    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Protocol, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }
}

/// A transport failure (no HTTP answer) in words a user can act on: the root
/// cause first (DNS lookup failed, connection refused, timed out, TLS) and
/// where (host and port only: a path or query may carry more than it should),
/// then the causes reqwest and hyper report, each once.
pub fn describe_transport(e: reqwest::Error) -> String {
    let place = e.url().map(|u| {
        let host = u.host_str().unwrap_or("?");
        match u.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    });
    let timeout = e.is_timeout();
    let e = e.without_url();
    let mut texts: Vec<String> = Vec::new();
    let mut io_kind = None;
    let mut dns = false;
    let mut tls = false;
    let mut cur: Option<&dyn std::error::Error> = Some(&e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            io_kind.get_or_insert(io.kind());
        }
        let text = err.to_string();
        let lower = text.to_ascii_lowercase();
        dns |= lower.contains("dns error") || lower.contains("failed to lookup address");
        tls |= lower.contains("certificate") || lower.contains("tls");
        // Some layers quote their cause; keep each text once.
        if !texts.iter().any(|t| t.contains(&text)) {
            texts.push(text);
        }
        cur = err.source();
    }
    let at = place.as_deref().unwrap_or("the server");
    let root = if dns {
        let host = at.rsplit_once(':').map_or(at, |(h, _)| h);
        format!("DNS lookup failed for {host}")
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        format!("connection refused by {at}")
    } else if io_kind == Some(std::io::ErrorKind::ConnectionReset) {
        format!("connection reset by {at}")
    } else if timeout || io_kind == Some(std::io::ErrorKind::TimedOut) {
        format!("timed out talking to {at}")
    } else if tls {
        format!("TLS with {at} failed")
    } else {
        format!("transport error talking to {at}")
    };
    format!("{root} ({})", texts.join(": "))
}

/// Longest message kept in an error (characters).
pub const MAX_MESSAGE_CHARS: usize = 300;
/// Bodies are cut to this many bytes before any parsing of plain text.
const MAX_SCAN_BYTES: usize = 4096;

/// A readable message from any of Halo's error body shapes, truncated to
/// [`MAX_MESSAGE_CHARS`], with every string in `secrets` (and anything that
/// looks like a bearer token) replaced by `[REDACTED]`.
pub fn extract_message(body: &[u8], secrets: &[&str]) -> String {
    let raw = match serde_json::from_slice::<Value>(body) {
        Ok(value) => message_from_json(&value),
        Err(_) => message_from_text(body),
    };
    let raw = if raw.trim().is_empty() {
        "(empty body)".to_string()
    } else {
        raw
    };
    // Scrub before truncating, so a secret cut in half cannot survive the cut.
    truncate(
        &redact(&truncate(&raw, MAX_SCAN_BYTES), secrets),
        MAX_MESSAGE_CHARS,
    )
}

fn message_from_json(value: &Value) -> String {
    match value {
        Value::Object(map) => message_from_object(map).unwrap_or_else(|| value.to_string()),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            // A posted array may come back as an array of per-item errors.
            let msgs: Vec<String> = items
                .iter()
                .take(5)
                .map(message_from_json)
                .filter(|m| !m.is_empty())
                .collect();
            msgs.join("; ")
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Case-insensitive lookup of a non-empty string (or nested message) under `key`.
fn field<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, v)| k.eq_ignore_ascii_case(key) && !is_blank(v))
        .map(|(_, v)| v)
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(map) => message_from_object(map).unwrap_or_else(|| v.to_string()),
        Value::Array(_) => message_from_json(v),
        other => other.to_string(),
    }
}

fn message_from_object(map: &Map<String, Value>) -> Option<String> {
    // {"resultCode": .., "errorMessage": ".."}
    if let Some(v) = field(map, "errorMessage") {
        return Some(as_text(v));
    }
    // OAuth: {"error": "invalid_client", "error_description": ".."}
    if let Some(desc) = field(map, "error_description") {
        return Some(match field(map, "error") {
            Some(code) => format!("{}: {}", as_text(code), as_text(desc)),
            None => as_text(desc),
        });
    }
    // .NET exception {"ClassName", "Message"}, {"Message"}, {"message"}.
    if let Some(v) = field(map, "message") {
        return Some(as_text(v));
    }
    // ASP.NET Core problem details: {"title": "..", "errors": {"name": [".."]}}.
    if let Some(Value::Object(errors)) = field(map, "errors") {
        let details = field_errors(errors);
        return Some(match (field(map, "title"), details) {
            (Some(t), Some(d)) => format!("{}: {d}", as_text(t)),
            (Some(t), None) => as_text(t),
            (None, Some(d)) => d,
            (None, None) => return None,
        });
    }
    if let Some(v) = field(map, "error") {
        return Some(as_text(v));
    }
    if let Some(v) = field(map, "title") {
        return Some(as_text(v));
    }
    // ASP.NET model state: {"[0].name": "The name field is required."}.
    field_errors(map)
}

/// `{"field": "msg" | ["msg", ..]}` → `field: msg; field2: msg`, or None when
/// the object is not of that shape.
fn field_errors(map: &Map<String, Value>) -> Option<String> {
    if map.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    for (key, value) in map.iter().take(8) {
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Array(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            _ => return None,
        };
        parts.push(format!("{key}: {text}"));
    }
    Some(parts.join("; "))
}

fn message_from_text(body: &[u8]) -> String {
    let cut = &body[..body.len().min(MAX_SCAN_BYTES)];
    let text = String::from_utf8_lossy(cut);
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    if lower.starts_with("<!doctype") || lower.starts_with("<html") {
        // An HTML error page from a proxy or IIS: the title says it all.
        if let (Some(start), Some(end)) = (lower.find("<title>"), lower.find("</title>"))
            && start + 7 <= end
        {
            return format!("HTML error page: {}", trimmed[start + 7..end].trim());
        }
        return "HTML error page".to_string();
    }
    trimmed.to_string()
}

/// Replace every secret (and anything that follows `Bearer `) with `[REDACTED]`.
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_string();
    for secret in secrets {
        // Very short strings would redact innocent text and protect nothing.
        if secret.len() >= 4 {
            out = out.replace(secret, "[REDACTED]");
        }
    }
    if let Some(pos) = out.find("Bearer ") {
        let start = pos + "Bearer ".len();
        let end = out[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .map_or(out.len(), |i| start + i);
        out.replace_range(start..end, "[REDACTED]");
    }
    out
}

/// Cut to at most `max` characters on a char boundary, marking the cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((idx, _)) => format!("{}…", &text[..idx]),
    }
}

#[cfg(test)]
mod tests;
