//! Reading a response body under a size cap, and the first checks of a 2xx body (it looks
//! like JSON, it is UTF-8), shared by the ApiGateway and the TokenManager.
//!
//! A server (or a proxy in front of it) may send a body that never ends; `bytes()` would
//! grow until the kernel kills the process. Here a body costs at most the cap: a declared
//! `Content-Length` over it is refused before reading, a streamed body is cut at it.

use bytes::{Bytes, BytesMut};
use futures::StreamExt;

use super::error::{Error, redact};

/// Error bodies are only mined for a message: the rest is dropped, never an error.
pub const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;
/// Bytes of a non-JSON body quoted in the error.
const QUOTED_BYTES: usize = 80;
/// Never reserve more than this up front, whatever `Content-Length` claims.
const MAX_RESERVE: u64 = 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Longer than the cap (`declared`: the `Content-Length` that said so before reading).
    TooLarge { limit: u64, declared: Option<u64> },
    /// The connection failed while reading.
    Transport(reqwest::Error),
}

impl BodyError {
    /// The Protocol error for an over-long body; the caller adds the endpoint.
    pub fn too_large(limit: u64, declared: Option<u64>) -> Error {
        let seen = match declared {
            Some(len) => format!("Content-Length is {len}"),
            None => "cut there".to_string(),
        };
        Error::protocol(format!(
            "response body exceeds the limit of {limit} bytes (halo.max_response_bytes; {seen})"
        ))
    }
}

/// The body, at most `limit` bytes. With `truncate`, a longer body is cut silently
/// (error bodies); without, it is [`BodyError::TooLarge`].
pub async fn read_capped(
    response: reqwest::Response,
    limit: u64,
    truncate: bool,
) -> Result<Bytes, BodyError> {
    let declared = response.content_length();
    if let Some(len) = declared
        && len > limit
        && !truncate
    {
        return Err(BodyError::TooLarge {
            limit,
            declared: Some(len),
        });
    }
    let reserve = declared.unwrap_or(16 * 1024).min(limit).min(MAX_RESERVE);
    let mut buf = BytesMut::with_capacity(reserve as usize);
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(BodyError::Transport)?;
        let room = limit.saturating_sub(buf.len() as u64);
        if chunk.len() as u64 > room {
            if truncate {
                buf.extend_from_slice(&chunk[..room as usize]);
                break;
            }
            // Dropping the stream closes the connection: the rest is never read.
            return Err(BodyError::TooLarge {
                limit,
                declared: None,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// A 2xx body must be JSON (an object or an array, as every Halo endpoint answers) in
/// UTF-8, or empty. Anything else (an HTML login page from a proxy, a binary blob) is a
/// Protocol error that shows the content type and the first bytes, scrubbed of `secrets`.
pub fn check_json_body(
    body: &[u8],
    content_type: Option<&str>,
    secrets: &[&str],
) -> Result<(), Error> {
    let text = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = text.iter().position(|b| !b.is_ascii_whitespace());
    if let Some(i) = start
        && !matches!(text[i], b'{' | b'[')
    {
        let shown = &text[i..text.len().min(i + QUOTED_BYTES)];
        let quoted: String = String::from_utf8_lossy(shown)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let more = if text.len() > i + QUOTED_BYTES {
            "…"
        } else {
            ""
        };
        return Err(Error::protocol(format!(
            "expected a JSON body, got Content-Type `{}` starting with `{}{more}`",
            content_type.unwrap_or("(none)"),
            redact(&quoted, secrets)
        )));
    }
    if let Err(e) = std::str::from_utf8(body) {
        return Err(Error::protocol(format!(
            "response body is not valid UTF-8 (bad byte at offset {})",
            e.valid_up_to()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_login_page_shows_type_and_start() {
        let e = check_json_body(
            b"\n<!DOCTYPE html><html><head><title>Sign in</title>",
            Some("text/html; charset=utf-8"),
            &[],
        )
        .unwrap_err();
        assert!(e.message().contains("`text/html; charset=utf-8`"), "{e}");
        assert!(
            e.message().contains("starting with `<!DOCTYPE html>"),
            "{e}"
        );
    }

    #[test]
    fn utf8_json_and_empty_pass_and_bad_utf8_fails() {
        assert!(check_json_body(b"", None, &[]).is_ok());
        assert!(check_json_body(b" [1]", None, &[]).is_ok());
        assert!(check_json_body("\u{feff}{\"a\":\"é\"}".as_bytes(), None, &[]).is_ok());
        let e = check_json_body(b"{\"name\":\"\xff\xfe\"}", None, &[]).unwrap_err();
        assert!(
            e.message()
                .contains("not valid UTF-8 (bad byte at offset 9)"),
            "{e}"
        );
        let e = check_json_body(b"token=s3cr3t-value", Some("text/plain"), &["s3cr3t-value"])
            .unwrap_err();
        assert!(!e.message().contains("s3cr3t-value"), "{e}");
    }
}
