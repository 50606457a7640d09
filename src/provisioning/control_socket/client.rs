//! The CLI's side: one request line to the daemon, one answer back.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use super::SocketError;
use super::protocol::{ControlRequest, ControlResponse};

/// Ask the daemon. `Ok(None)` when no daemon answers on `path` (no socket, or
/// nobody listening): the caller decides whether it may act in-process instead.
pub fn request(path: &Path, req: &ControlRequest) -> Result<Option<ControlResponse>, SocketError> {
    let io = |source| SocketError::Io {
        path: path.to_path_buf(),
        source,
    };
    let protocol = |message: String| SocketError::Protocol {
        path: path.to_path_buf(),
        message,
    };
    let mut stream = match std::os::unix::net::UnixStream::connect(path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(io(e)),
    };
    let mut text = serde_json::to_string(req).map_err(|e| protocol(e.to_string()))?;
    text.push('\n');
    // A daemon that refuses the connection (busy) writes its answer and closes
    // without reading: that answer is still worth reading, so a failed write is not
    // final.
    let written = stream.write_all(text.as_bytes());
    let mut line = String::new();
    let read = BufReader::new(stream).read_line(&mut line);
    if line.trim().is_empty() {
        written.map_err(io)?;
        read.map_err(io)?;
        return Err(protocol(
            "the daemon closed the connection without answering".into(),
        ));
    }
    serde_json::from_str(line.trim())
        .map(Some)
        .map_err(|e| protocol(e.to_string()))
}
