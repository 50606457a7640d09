//! The paging helper through the whole stack: every envelope shape, the 100-row cap, users'
//! `users` key and inactive filter, unpaged lists with and without envelopes, and a server
//! that ignores `page_no` (a tiny fake: the simulator pages correctly by design).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use baton_haloitsm::halo::{self, Agent, ErrorKind, HaloSettings};
use futures::{Stream, StreamExt, TryStreamExt};
use haloitsm_sim::{AgentPageRows, QuirkConfig, SimConfig};

use crate::support::halo::{bounded, settings};
use crate::support::sim::{agent_ids, count_requests, start};

async fn collect<T>(
    stream: impl Stream<Item = halo::Result<Vec<T>>>,
) -> halo::Result<(Vec<T>, usize)> {
    let pages: Vec<Vec<T>> = stream.try_collect().await?;
    let n = pages.len();
    Ok((pages.into_iter().flatten().collect(), n))
}

#[actix::test]
async fn agents_in_every_envelope_shape() {
    bounded(20, async {
        let sim = start(SimConfig {
            agents: 250,
            ..SimConfig::default()
        })
        .await;
        let client = halo::start(settings(&sim));
        for shape in [
            AgentPageRows::Results,
            AgentPageRows::Agents,
            AgentPageRows::Bare,
        ] {
            sim.control().set_quirks(QuirkConfig {
                agent_page_rows: shape,
                ..QuirkConfig::default()
            });
            sim.control().clear_requests();
            let (agents, pages): (Vec<Agent>, _) =
                collect(client.agents()).await.expect("all pages");
            let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
            // Newest first (`order=id&orderdesc=true`, the client's default list order).
            let newest_first: Vec<i64> = agent_ids(&sim).into_iter().rev().collect();
            assert_eq!(ids, newest_first, "{shape:?}");
            assert_eq!(pages, 3, "{shape:?}");
            // With record_count: exactly 3 requests; bare arrays stop on the short page.
            assert_eq!(count_requests(&sim, "GET", "/api/Agent"), 3, "{shape:?}");
            // Disabled and API agents are included, with membership and roles.
            assert!(agents.iter().any(|a| a.isdisabled), "{shape:?}");
            assert!(agents.iter().any(|a| a.isapiagent), "{shape:?}");
            assert!(
                agents
                    .iter()
                    .any(|a| !a.teams.is_empty() && !a.roles.is_empty())
            );
        }
    })
    .await;
}

#[actix::test]
async fn page_size_above_the_cap_still_completes() {
    bounded(20, async {
        let sim = start(SimConfig {
            agents: 230,
            ..SimConfig::default()
        })
        .await;
        let client = halo::start(HaloSettings {
            page_size: 1000,
            ..settings(&sim)
        });
        let (agents, _) = collect(client.agents()).await.unwrap();
        assert_eq!(agents.len(), 230);
        let queries: Vec<String> = sim
            .control()
            .requests()
            .into_iter()
            .filter(|r| r.path == "/api/Agent")
            .map(|r| r.query)
            .collect();
        assert!(
            queries
                .iter()
                .all(|q| q.contains("page_size=100&") && q.contains("pageinate=true")),
            "{queries:?}"
        );
        assert!(queries[0].contains("includedisabled=true"));
    })
    .await;
}

#[actix::test]
async fn exact_multiple_of_page_size() {
    bounded(20, async {
        let sim = start(SimConfig {
            agents: 200,
            ..SimConfig::default()
        })
        .await;
        let client = halo::start(settings(&sim));
        for shape in [AgentPageRows::Results, AgentPageRows::Bare] {
            sim.control().set_quirks(QuirkConfig {
                agent_page_rows: shape,
                ..QuirkConfig::default()
            });
            sim.control().clear_requests();
            let (agents, _) = collect(client.agents()).await.unwrap();
            assert_eq!(agents.len(), 200);
            // record_count stops at 2; a bare array needs one empty page to know.
            let want = if shape == AgentPageRows::Bare { 3 } else { 2 };
            assert_eq!(count_requests(&sim, "GET", "/api/Agent"), want, "{shape:?}");
        }
    })
    .await;
}

#[actix::test]
async fn users_with_and_without_inactive() {
    bounded(20, async {
        let sim = start(SimConfig {
            users: 260,
            ..SimConfig::default()
        })
        .await;
        let client = halo::start(settings(&sim));
        let snapshot = sim.control().snapshot();
        let (all, pages) = collect(client.users(true)).await.unwrap();
        assert_eq!(all.len(), snapshot.users.len());
        assert_eq!(pages, 3);
        let (active, _) = collect(client.users(false)).await.unwrap();
        let want_active = snapshot.users.iter().filter(|u| !u.inactive).count();
        assert_eq!(active.len(), want_active);
        assert!(active.len() < all.len(), "the tenant has inactive users");
        assert!(active.iter().all(|u| !u.inactive));
    })
    .await;
}

#[actix::test]
async fn unpaged_lists_bare_and_enveloped_with_warnings() {
    bounded(20, async {
        let sim = start(SimConfig::default()).await;
        let client = halo::start(settings(&sim));
        let snapshot = sim.control().snapshot();
        for envelopes in [false, true] {
            sim.control().set_quirks(QuirkConfig {
                list_envelopes: envelopes,
                warning: Some("Licence expires soon".into()),
                ..QuirkConfig::default()
            });
            assert_eq!(client.teams().await.unwrap().len(), snapshot.teams.len());
            let roles = client.roles().await.unwrap();
            assert_eq!(roles.len(), snapshot.roles.len());
            assert!(roles.iter().all(|r| !r.id.is_empty()), "GUID ids");
            let types = client.ticket_types().await.unwrap();
            assert_eq!(types.len(), snapshot.ticket_types.len());
            let statuses = client.statuses(Some(types[0].id)).await.unwrap();
            assert!(!statuses.is_empty());
            assert!(client.statuses(None).await.unwrap().len() >= statuses.len());
        }
    })
    .await;
}

/// A server that ignores `page_no`: every page is the same full page of 100 rows.
async fn looping_server(hits: Arc<AtomicUsize>) -> String {
    use axum::{Json, Router, routing::get, routing::post};
    let rows: Vec<serde_json::Value> = (1..=100)
        .map(|id| serde_json::json!({"id": id, "name": "x"}))
        .collect();
    let app = Router::new()
        .route(
            "/auth/token",
            post(|| async {
                Json(serde_json::json!({"access_token": "t0ken-value", "expires_in": 3600}))
            }),
        )
        .route(
            "/api/Agent",
            get(move || {
                hits.fetch_add(1, Ordering::SeqCst);
                let rows = rows.clone();
                async move { Json(serde_json::json!({"record_count": 1000, "results": rows})) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[actix::test]
async fn a_repeated_page_is_refused() {
    bounded(20, async {
        let hits = Arc::new(AtomicUsize::new(0));
        let base = looping_server(hits.clone()).await;
        let client = halo::start(HaloSettings {
            base_url: base.parse().unwrap(),
            client_id: "c".into(),
            client_secret: "s3cret".into(),
            ..HaloSettings::default()
        });
        let stream = client.agents();
        futures::pin_mut!(stream);
        assert_eq!(stream.next().await.unwrap().unwrap().len(), 100);
        let e = stream
            .next()
            .await
            .unwrap()
            .expect_err("page 2 repeats page 1");
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert!(e.to_string().contains("repeats"), "{e}");
        assert!(
            stream.next().await.is_none(),
            "the stream ends after the error"
        );
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    })
    .await;
}
