//! Halo requests per ticketing operation, counted in the simulator's request log (token
//! requests excluded: one per process), for a tenant with 20 ticket types.
//!
//! Each figure is printed beside two others measured in the same run:
//! - **floor**: the fewest requests Halo's API allows for the same answer (schemas: the type
//!   list, the status list, and one `TicketType/{id}?includedetails=true` per type, because
//!   per-type mandatory flags only come with the details; create with idempotency: one
//!   search and one POST; get with the status name and typed fields: one GET when the
//!   statuses and field definitions are already known);
//! - **plain**: a straightforward client without cache or shared status list (schemas: the
//!   type list, then per type its details and `Status?tickettype_id=`; create: one POST,
//!   which duplicates on retry; get: the ticket, the statuses, the type details).
//!
//! Run: `cargo bench --bench ticketing`

use std::collections::BTreeMap;

use baton_haloitsm::halo::{self, HaloSettings};
use baton_haloitsm::pb;
use baton_haloitsm::ticketing::{Ticketing, TicketingSettings};
use haloitsm_sim::{SimConfig, SimHandle};
use serde_json::json;

const TYPES: usize = 20;

fn api_requests(sim: &SimHandle) -> usize {
    sim.control()
        .requests()
        .iter()
        .filter(|r| r.path.to_ascii_lowercase().starts_with("/api/"))
        .count()
}

/// Requests the simulator saw while `f` ran.
async fn count<F: std::future::Future>(sim: &SimHandle, f: F) -> (usize, F::Output) {
    sim.control().clear_requests();
    let out = f.await;
    (api_requests(sim), out)
}

fn row(what: &str, ours: usize, floor: usize, plain: usize) {
    println!("{what:<34} {ours:>6} {floor:>6} {plain:>6}");
}

fn main() {
    let system = actix::System::new();
    system.block_on(async {
        let sim = SimHandle::start(
            SimConfig {
                ticket_types: TYPES,
                ..SimConfig::default()
            },
            "127.0.0.1:0".parse().expect("address"),
        )
        .await
        .expect("simulator starts");
        let settings = HaloSettings {
            base_url: sim.base_url().parse().expect("url"),
            client_id: "sim-client".into(),
            client_secret: "sim-secret".into(),
            rate_limit_requests: 100_000,
            rate_limit_window: std::time::Duration::from_secs(1),
            ..HaloSettings::default()
        };
        let base = settings.base_url.clone();
        let client = halo::start(settings);
        // Warm the token so it is not counted against the first operation.
        client.roles().await.expect("token");
        let t = Ticketing::new(
            client.clone(),
            TicketingSettings {
                enabled: true,
                ..TicketingSettings::default()
            },
            base,
        );

        println!("Halo requests per operation, {TYPES} ticket types (simulator request log)");
        println!(
            "{:<34} {:>6} {:>6} {:>6}",
            "operation", "ours", "floor", "plain"
        );

        // ---- list schemas ----
        let (cold, (schemas, _)) = count(&sim, async {
            t.list_schemas(250, "").await.expect("schemas")
        })
        .await;
        let visible = schemas.len();
        let (warm, _) = count(&sim, async {
            t.list_schemas(250, "").await.expect("schemas")
        })
        .await;
        let (plain, _) = count(&sim, async {
            let types = client.ticket_types().await.expect("types");
            for tt in &types {
                client.ticket_type(tt.id).await.expect("detail");
                client.statuses(Some(tt.id)).await.expect("statuses");
            }
        })
        .await;
        row("list schemas, cold cache", cold, 2 + visible, plain);
        row("list schemas, warm cache", warm, 0, plain);

        // ---- create ----
        let schema = schemas
            .iter()
            .find(|s| s.id == "2")
            .expect("schema 2")
            .clone();
        let mut fields = BTreeMap::new();
        fields.insert(
            "CFQuantity".to_string(),
            pb::TicketCustomField {
                value: Some(pb::ticket_custom_field::Value::NumberValue(
                    pb::TicketCustomFieldNumberValue {
                        value: Some(1.0),
                        default_value: None,
                    },
                )),
                ..Default::default()
            },
        );
        let req = pb::TicketRequest {
            display_name: "bench".into(),
            description: "bench".into(),
            custom_fields: fields,
            ..Default::default()
        };
        let (create, r) = count(&sim, t.create_ticket(&req, &schema, Some("bench-1"))).await;
        let ticket = r.ticket.expect("created");
        let (retry, _) = count(&sim, t.create_ticket(&req, &schema, Some("bench-1"))).await;
        let (create_nokey, _) = count(&sim, t.create_ticket(&req, &schema, None)).await;
        let (plain_create, _) = count(&sim, async {
            client
                .create_ticket(&json!({"tickettype_id": 2, "summary": "plain", "details": "plain"}))
                .await
                .expect("plain create")
        })
        .await;
        row("create (with request key)", create, 2, plain_create);
        row("create, retried with the same key", retry, 1, plain_create);
        row("create (no request key)", create_nokey, 1, plain_create);

        // ---- get ----
        let (get, _) = count(&sim, t.get_ticket(&ticket.id)).await;
        t.clear_cache();
        let (get_cold, _) = count(&sim, t.get_ticket(&ticket.id)).await;
        let id: i64 = ticket.id.parse().expect("id");
        let (plain_get, _) = count(&sim, async {
            let tk = client.get_ticket(id).await.expect("get");
            client.statuses(None).await.expect("statuses");
            client.ticket_type(tk.tickettype_id).await.expect("detail");
        })
        .await;
        row("get, warm cache", get, 1, plain_get);
        row("get, cold cache", get_cold, 3, plain_get);
    });
}
