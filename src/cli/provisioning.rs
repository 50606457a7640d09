//! The provisioning commands (issue 10): grant, revoke, create/disable/enable/delete an
//! account, list operations. Each goes through the daemon's control socket when it
//! answers. Otherwise a real tenant is provisioned in-process through the same queue and
//! journal; the embedded simulator lives only inside the daemon, so with it the command
//! refuses (exit 69, "start the daemon") rather than act on a throwaway tenant. A
//! journal, lock or socket that is unusable exits 74 (IOERR).

use anyhow::anyhow;
use baton_haloitsm::config::Config;
use baton_haloitsm::daemon;
use baton_haloitsm::provisioning::control_socket::{
    self, ControlRequest, ControlResponse, Services,
};

use super::{Command, Failure, print_json};

#[derive(clap::Args, Debug, Clone, Copy)]
pub struct WaitArgs {
    /// Print the acknowledged operation id instead of waiting for the outcome.
    #[arg(long)]
    pub no_wait: bool,
}

pub fn control_request(cmd: &Command) -> anyhow::Result<ControlRequest> {
    use baton_haloitsm::provisioning::operation::{NewAccount, OpRequest};
    let requested_by = format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    );
    let submit = |request, wait: &WaitArgs| ControlRequest::Submit {
        request,
        requested_by: requested_by.clone(),
        wait: !wait.no_wait,
    };
    Ok(match cmd {
        Command::Grant {
            entitlement,
            principal,
            wait,
        } => submit(
            OpRequest::Grant {
                entitlement: entitlement.clone(),
                principal: principal.clone(),
            },
            wait,
        ),
        Command::Revoke { grant, wait } => submit(
            OpRequest::Revoke {
                grant: grant.clone(),
            },
            wait,
        ),
        Command::CreateAccount {
            email,
            name,
            first_name,
            surname,
            team,
            role,
            wait,
        } => submit(
            OpRequest::CreateAccount(NewAccount {
                email: email.clone(),
                name: name.clone(),
                firstname: first_name.clone(),
                surname: surname.clone(),
                team: *team,
                role: role.clone(),
            }),
            wait,
        ),
        Command::DisableAccount { resource, wait } => submit(
            OpRequest::DisableAccount {
                resource: resource.clone(),
            },
            wait,
        ),
        Command::EnableAccount { resource, wait } => submit(
            OpRequest::EnableAccount {
                resource: resource.clone(),
            },
            wait,
        ),
        Command::DeleteResource { resource, wait } => submit(
            OpRequest::DeleteResource {
                resource: resource.clone(),
            },
            wait,
        ),
        Command::Operations { status, limit, .. } => ControlRequest::List {
            status: *status,
            limit: *limit,
        },
        other => return Err(anyhow!("{other:?} is not a provisioning command")),
    })
}

/// The daemon's answer, or `None` when no daemon answers on the config's socket.
pub fn ask_daemon(cfg: &Config, req: &ControlRequest) -> Result<Option<ControlResponse>, Failure> {
    control_socket::request(&cfg.provisioning.socket, req).map_err(Failure::io)
}

/// No daemon answers and the tenant is the embedded simulator: acting in-process would
/// act on a throwaway tenant of this process and report success for nothing.
pub fn refuse_without_daemon(cfg: &Config) -> Result<(), Failure> {
    if cfg.simulator.is_none() {
        return Ok(());
    }
    Err(Failure::unavailable(anyhow!(
        "no daemon answers on {}, and the tenant is the embedded simulator, which only runs \
         inside the daemon: start the daemon first (`baton-haloitsm --config <this config> run`)",
        cfg.provisioning.socket.display()
    )))
}

/// Through the daemon's control socket when it answers; otherwise in-process, through
/// the same queue and journal. Prints JSON (`operations`: a table when `table`); a
/// failed outcome exits 1.
pub fn provision(cfg: Config, req: ControlRequest, table: bool) -> Result<(), Failure> {
    let resp = match ask_daemon(&cfg, &req)? {
        Some(resp) => resp,
        None => in_process(cfg, req)?,
    };
    match &resp {
        ControlResponse::Operations { operations } if table => {
            print!("{}", super::operations_table::render(operations));
        }
        _ => print_json(&serde_json::to_value(&resp).map_err(Failure::failed)?)?,
    }
    match resp {
        ControlResponse::Submitted {
            outcome: Some(o), ..
        } if !o.is_success() => Err(Failure::failed(anyhow!("operation failed"))),
        ControlResponse::Error { error, .. } => Err(Failure::failed(anyhow!(error))),
        _ => Ok(()),
    }
}

fn in_process(cfg: Config, req: ControlRequest) -> Result<ControlResponse, Failure> {
    use baton_haloitsm::daemon::pipeline::{self, Mode};
    use baton_haloitsm::provisioning::journal::Journal;
    if let ControlRequest::Submit { .. } = req {
        if !cfg.provisioning.enabled {
            // The daemon's answer too, without creating a journal nobody needs.
            return Ok(ControlResponse::Submitted {
                op_id: None,
                outcome: Some(baton_haloitsm::provisioning::outcome::Outcome::not_enabled()),
            });
        }
        // Before the journal is opened: nothing is written.
        refuse_without_daemon(&cfg)?;
    }
    let system = actix::System::new();
    system.block_on(async move {
        baton_haloitsm::telemetry::init();
        // Reading the journal needs no tenant, so `operations` works with the daemon stopped.
        let journal = Journal::open(&cfg.provisioning.journal).map_err(Failure::io)?;
        if let ControlRequest::List { status, limit } = req {
            return Ok(match journal.list(status, limit) {
                Ok(operations) => ControlResponse::Operations { operations },
                Err(e) => return Err(Failure::io(e)),
            });
        }
        let (_sim, base_url) = daemon::start_simulator(&cfg)
            .await
            .map_err(Failure::failed)?;
        let mut p = pipeline::build(&cfg, base_url, Mode::OneShot);
        let prov = pipeline::add_provisioning(&mut p, &cfg, journal);
        let services = Services {
            provisioning: Some(prov),
            ticketing: None,
        };
        Ok(control_socket::answer(req, &services).await)
    })
}
