//! `tickets ...`: HaloITSM tickets through the same [`Ticketing`] service as C1's
//! ticketing tasks: list schemas, create from a baton ticket template, get, add a note.
//! A template that cannot be read or parsed exits 65 (DATA) before anything starts.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use baton_haloitsm::config::Config;
use baton_haloitsm::daemon;
use baton_haloitsm::ticketing::{self, Ticketing, render, template::Template};
use clap::Subcommand;

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

/// The Halo client (and the embedded simulator when configured) in an actix System, then
/// one ticketing call. Bad input (a template that is not JSON) fails before anything
/// starts.
pub fn run(cfg: Config, command: &TicketsCommand) -> Result<(), Failure> {
    let template = match command {
        TicketsCommand::Create { template, .. } => Some(read_template(template)?),
        _ => None,
    };
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
        match command {
            TicketsCommand::Schemas { json } => schemas(&t, *json).await,
            TicketsCommand::Create { request_key, .. } => {
                let Some(template) = template else {
                    return Err(Failure::failed(anyhow!("no template")));
                };
                create(&t, &template, request_key.as_deref()).await
            }
            TicketsCommand::Get { id } => {
                let ticket = t.get_ticket(id).await.map_err(failed)?;
                print_json(&render::ticket(&ticket))
            }
            TicketsCommand::Note {
                id,
                text,
                private,
                status,
            } => {
                t.add_note(id, text, *private, status.as_deref())
                    .await
                    .map_err(failed)?;
                println!("note added to ticket {id}");
                Ok(())
            }
        }
    })
}

fn failed(e: ticketing::Error) -> Failure {
    Failure::failed(anyhow!(e))
}

fn read_template(path: &Path) -> Result<Template, Failure> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading {}", path.display()))
        .map_err(Failure::data)?;
    Template::parse(&text).map_err(|e| Failure::data(anyhow!("{}: {e}", path.display())))
}

/// Every page of schemas: a table row each, or one JSON object each.
async fn schemas(t: &Ticketing, json: bool) -> Result<(), Failure> {
    let mut token = String::new();
    loop {
        let (page, next) = t.list_schemas(0, &token).await.map_err(failed)?;
        for s in &page {
            if json {
                println!("{}", render::schema(s));
            } else {
                let statuses: Vec<_> = s.statuses.iter().map(|x| x.display_name.as_str()).collect();
                println!(
                    "{:>5}  {:<30} statuses: {}; fields: {}",
                    s.id,
                    s.display_name,
                    statuses.join(", "),
                    s.custom_fields
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        if next.is_empty() {
            return Ok(());
        }
        token = next;
    }
}

/// The template against Halo's current schema, then the create. A ticket Halo accepted
/// is printed even when a follow-up failed (the error still exits 1).
async fn create(
    t: &Ticketing,
    template: &Template,
    request_key: Option<&str>,
) -> Result<(), Failure> {
    let schema = t.get_schema(&template.schema_id).await.map_err(failed)?;
    let req = template
        .to_request(&schema)
        .map_err(|e| Failure::data(anyhow!(e)))?;
    let result = t.create_ticket(&req, &schema, request_key).await;
    if let Some(ticket) = &result.ticket {
        print_json(&render::ticket(ticket))?;
    }
    match result.error {
        Some(e) => Err(failed(e)),
        None => Ok(()),
    }
}
