//! `tickets ...`: HaloITSM tickets through the same [`Ticketing`] service as C1's
//! ticketing tasks: list schemas, create from a baton ticket template, get, add a note.
//!
//! Like provisioning, each goes through the daemon's control socket when it answers (one
//! tenant, one schema cache); otherwise a real tenant is called in-process, and the
//! embedded simulator refuses (exit 69, "start the daemon").
//!
//! Every template error exits 65 (DATA): unreadable, not JSON, unknown schema, status,
//! field or requester, a bad value, a missing required field. Halo's failures exit 1.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use baton_haloitsm::config::Config;
use baton_haloitsm::daemon;
use baton_haloitsm::provisioning::control_socket::{
    self, ControlRequest, ControlResponse, ErrorKind, Services, TicketCommand,
};
use baton_haloitsm::ticketing::{Ticketing, template::Template};
use clap::Subcommand;

use super::provisioning::{ask_daemon, refuse_without_daemon};
use super::{Failure, print_json};

#[derive(Subcommand, Debug)]
pub enum TicketsCommand {
    /// List ticket schemas (Halo ticket types with statuses and custom fields).
    Schemas {
        /// One JSON object per schema instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a ticket from a baton ticket template (JSON: schema_id, status_id,
    /// display_name, description, labels, custom_fields, requested_for_id).
    Create {
        /// Ticket template (JSON): schema id, display name, description, status, custom fields.
        #[arg(long)]
        template: PathBuf,
        /// Idempotency key: creating again with the same key returns the first ticket.
        #[arg(long)]
        request_key: Option<String>,
    },
    /// Print one ticket as JSON.
    Get {
        /// The Halo ticket id.
        id: String,
    },
    /// Add a note to a ticket, optionally moving it to a status.
    Note {
        /// The Halo ticket id.
        id: String,
        /// Text of the note.
        #[arg(long)]
        text: String,
        /// Hidden from the end user.
        #[arg(long)]
        private: bool,
        /// New status, by name or id.
        #[arg(long)]
        status: Option<String>,
    },
}

/// One ticket command: through the daemon, else in-process against a real tenant. A
/// template that cannot be read or parsed fails before anything is asked.
pub fn run(cfg: Config, command: &TicketsCommand) -> Result<(), Failure> {
    let cmd = match command {
        TicketsCommand::Schemas { .. } => TicketCommand::Schemas,
        TicketsCommand::Create {
            template,
            request_key,
        } => TicketCommand::Create {
            template: read_template(template)?,
            request_key: request_key.clone(),
        },
        TicketsCommand::Get { id } => TicketCommand::Get { id: id.clone() },
        TicketsCommand::Note {
            id,
            text,
            private,
            status,
        } => TicketCommand::Note {
            id: id.clone(),
            text: text.clone(),
            private: *private,
            status: status.clone(),
        },
    };
    let req = ControlRequest::Tickets(cmd);
    let resp = match ask_daemon(&cfg, &req)? {
        Some(resp) => resp,
        None => {
            refuse_without_daemon(&cfg)?;
            in_process(cfg, req)?
        }
    };
    let json = matches!(command, TicketsCommand::Schemas { json: true });
    print(resp, json)
}

/// A real tenant without a daemon: this process's own Halo client and ticketing service.
fn in_process(cfg: Config, req: ControlRequest) -> Result<ControlResponse, Failure> {
    let system = actix::System::new();
    system.block_on(async move {
        let (_sim, base_url) = daemon::start_simulator(&cfg)
            .await
            .map_err(Failure::failed)?;
        let settings = cfg.halo_settings(base_url);
        let base = settings.base_url.clone();
        let t = Ticketing::new(
            baton_haloitsm::halo::start(settings),
            cfg.ticketing.clone(),
            base,
        );
        let services = Services {
            provisioning: None,
            ticketing: Some(t),
        };
        Ok(control_socket::answer(req, &services).await)
    })
}

/// The answer on stdout; its error as the exit code (template 65, anything else 1).
fn print(resp: ControlResponse, json: bool) -> Result<(), Failure> {
    match resp {
        ControlResponse::Schemas { schemas } => {
            for s in &schemas {
                if json {
                    println!("{s}");
                } else {
                    println!("{}", schema_row(s));
                }
            }
            Ok(())
        }
        ControlResponse::Ticket { ticket, error } => {
            // A ticket Halo accepted is printed even when a follow-up failed.
            print_json(&ticket)?;
            match error {
                Some(e) => Err(Failure::failed(anyhow!(e))),
                None => Ok(()),
            }
        }
        ControlResponse::Noted { noted } => {
            println!("note added to ticket {noted}");
            Ok(())
        }
        ControlResponse::Error {
            error,
            kind: ErrorKind::Template,
        } => Err(Failure::data(anyhow!(error))),
        ControlResponse::Error { error, .. } => Err(Failure::failed(anyhow!(error))),
        other => Err(Failure::failed(anyhow!("unexpected answer: {other:?}"))),
    }
}

/// `  12  Incident    statuses: New, Closed; fields: CFx, CFy`
fn schema_row(s: &serde_json::Value) -> String {
    let names = |v: &serde_json::Value, key: &str| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x[key].as_str().map(str::to_owned))
            .collect()
    };
    let fields: Vec<String> = s["custom_fields"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    format!(
        "{:>5}  {:<30} statuses: {}; fields: {}",
        s["id"].as_str().unwrap_or("?"),
        s["display_name"].as_str().unwrap_or(""),
        names(&s["statuses"], "name").join(", "),
        fields.join(", ")
    )
}

/// The file's text, checked to be a template here so that a bad file is refused
/// before anything is asked (the daemon parses it again).
fn read_template(path: &Path) -> Result<String, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::data)?;
    Template::parse(&text).map_err(|e| Failure::data(anyhow!("{}: {e}", path.display())))?;
    Ok(text)
}
