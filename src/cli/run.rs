//! `run`: the daemon, in an actix System, until a signal stops it. A broken provisioning
//! journal or control socket exits 74 (IOERR), any other failure 1.

use baton_haloitsm::config::Config;
use baton_haloitsm::daemon;

use super::Failure;

pub fn daemon(cfg: Config) -> Result<(), Failure> {
    let system = actix::System::new();
    system.block_on(daemon::run(cfg)).map_err(|e| match e {
        daemon::DaemonError::Journal(_) | daemon::DaemonError::ControlSocket(_) => {
            Failure::io(anyhow::Error::from(e).context("daemon failed"))
        }
        e => Failure::failed(anyhow::Error::from(e).context("daemon failed")),
    })
}
