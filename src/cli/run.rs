//! `run`: the daemon, in an actix System, until a signal stops it. A start-up refusal
//! exits with its own code: 69 (UNAVAILABLE) when `http.listen` cannot be bound, 73
//! (CANTCREAT) when `output.dir` cannot be written, 74 (IOERR) for a locked or broken
//! provisioning journal or control socket; any other failure exits 1.

use baton_haloitsm::config::Config;
use baton_haloitsm::daemon::{self, DaemonError};

use super::{Failure, exit};

pub fn daemon(cfg: Config) -> Result<(), Failure> {
    let system = actix::System::new();
    system.block_on(daemon::run(cfg)).map_err(|e| {
        let code = match &e {
            DaemonError::Listen { .. } => exit::UNAVAILABLE,
            DaemonError::StateDir { .. } => exit::CANTCREAT,
            DaemonError::Journal(_) | DaemonError::ControlSocket(_) => exit::IOERR,
            DaemonError::Startup(_) => exit::FAILURE,
        };
        Failure::with_code(code, anyhow::Error::from(e).context("daemon failed"))
    })
}
