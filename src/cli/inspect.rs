//! `inspect FILE WHAT`: any v1 c1z printed as a table or JSON lines. An unreadable file
//! exits 65 (DATA); a reader that stops early (`inspect … | head`) is not a failure.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use baton_haloitsm::c1z::inspect::{self as c1z_inspect, InspectWhat};

use super::Failure;

pub fn print(
    file: &Path,
    what: InspectWhat,
    resource_type: Option<&str>,
    json: bool,
) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    // A reader that stops early closes the pipe: that ends the output quietly.
    let result = match c1z_inspect::run(file, what, resource_type, json, &mut out) {
        Err(e) if e.is_broken_pipe() => return Ok(()),
        Err(e) => Err(anyhow::Error::from(e)),
        Ok(()) => match out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            other => other.map_err(anyhow::Error::from),
        },
    };
    result
        .with_context(|| format!("inspect {}", file.display()))
        .map_err(Failure::data)
}
