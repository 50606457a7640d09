//! Typed single-object endpoints and error classification against the simulator: every 400
//! body style gives a readable Validation message; 403, 404 map to their kinds.

use baton_haloitsm::halo::{self, ErrorKind};
use baton_haloitsm::sim::{ErrorStyle, QuirkConfig, SimConfig};
use serde_json::json;

use crate::support::halo::{bounded, settings};
use crate::support::sim::{count_requests, start};

#[actix::test]
async fn validation_errors_in_every_body_style_are_readable() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        for style in ErrorStyle::ALL {
            sim.control().set_quirks(QuirkConfig {
                error_style: style,
                ..QuirkConfig::default()
            });
            // A create without a name is refused by Halo with a 400.
            let e = client
                .upsert_agent(&json!({"email": "nobody@example.com"}))
                .await
                .expect_err("400");
            println!("{style:?}: {e}");
            assert_eq!(e.kind(), ErrorKind::Validation, "{style:?}: {e}");
            assert_eq!(e.status(), Some(400));
            assert!(!e.is_retryable());
            assert!(
                e.message().to_lowercase().contains("name"),
                "{style:?}: {e}"
            );
            assert!(
                !e.message().starts_with('{'),
                "extracted, not raw JSON: {e}"
            );
            assert_eq!(e.endpoint(), Some("/api/Agent"));

            let e = client.get_agent(999_999).await.expect_err("404");
            assert_eq!(e.kind(), ErrorKind::NotFound, "{style:?}: {e}");
            assert_eq!(
                e.endpoint(),
                Some("/api/Agent/{id}"),
                "template, not the raw path"
            );
            assert!(
                !e.message().is_empty() && !e.message().starts_with('{'),
                "{e}"
            );
        }
    })
    .await;
}

#[actix::test]
async fn permission_errors_are_not_retried() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        sim.control().fail_next(1, 403, Some("/api/Roles"));
        let e = client.roles().await.expect_err("403");
        assert_eq!(e.kind(), ErrorKind::Permission, "{e}");
        assert_eq!(count_requests(&sim, "GET", "/api/Roles"), 1);
    })
    .await;
}

#[actix::test]
async fn typed_endpoints_round_trip() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let snapshot = sim.control().snapshot();

        let info = client.authinfo().await.expect("authinfo needs no token");
        assert!(info.auth_url.unwrap_or_default().ends_with("/auth"));

        let first = &snapshot.agents[0];
        let agent = client.get_agent(first.id).await.unwrap();
        assert_eq!((agent.id, agent.name.as_str()), (first.id, first.name.as_str()));
        assert_eq!(agent.teams.len(), first.team_ids.len());

        let created = client
            .upsert_agent(&json!({"name": "New Agent", "email": "new@example.com"}))
            .await
            .unwrap();
        assert!(created.id > 0);
        client.delete_agent(created.id).await.unwrap();
        let gone = client.get_agent(created.id).await.expect_err("deleted");
        assert_eq!(gone.kind(), ErrorKind::NotFound);

        let types = client.ticket_types().await.unwrap();
        let tt = client.ticket_type(types[0].id).await.unwrap();
        assert_eq!(tt.id, types[0].id);
        assert!(!tt.fields.is_empty(), "includedetails brings the fields");

        let ticket = client
            .create_ticket(&json!({"tickettype_id": tt.id, "summary": "Grant access", "details": "by C1"}))
            .await
            .unwrap();
        assert!(ticket.id > 0);
        let fetched = client.get_ticket(ticket.id).await.unwrap();
        assert_eq!(fetched.summary, "Grant access");

        let action = client
            .post_action(&json!({"ticket_id": ticket.id, "outcome": "Private Note", "note": "done", "hiddenfromuser": true}))
            .await
            .unwrap();
        assert_eq!(action.ticket_id, ticket.id);
    })
    .await;
}
