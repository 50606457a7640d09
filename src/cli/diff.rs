//! `diff OLD NEW`: who gained and who lost access between two c1z files. Exits as
//! `diff(1)` does: 0 when equal, 1 when different; 65 (DATA) when a file cannot be read.
//! The decoded databases go under `$TMPDIR` (the state volume in the container).

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use baton_haloitsm::c1z::{ReadOptions, diff};

use super::{Failure, exit};

pub fn run(old: &Path, new: &Path, json: bool) -> Result<(), Failure> {
    let opts = ReadOptions::default();
    let d = diff::diff_files(old, new, &opts)
        .with_context(|| format!("diff {} {}", old.display(), new.display()))
        .map_err(Failure::data)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if json {
        writeln!(out, "{}", d.to_json())
    } else {
        d.write_table(&mut out)
    }
    .and_then(|()| out.flush());
    match written {
        // A reader that stops early (`diff … | head`) is not a failure of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(Failure::failed(e)),
        Ok(()) => {}
    }
    drop(out);
    if d.is_empty() {
        Ok(())
    } else {
        // "Different" is an answer, not an error: exit 1 without an error line. Both
        // snapshots (and their temp databases) are already dropped.
        std::process::exit(i32::from(exit::FAILURE))
    }
}
