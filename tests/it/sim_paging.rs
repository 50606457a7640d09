//! Paging of `GET /api/Agent` and `GET /api/Users`: every row exactly once, the 100-row cap,
//! filters, membership/role arrays, envelope shapes, and rows changing between pages.

use std::collections::BTreeSet;

use baton_haloitsm::sim::{AgentPageRows, QuirkConfig, SimAgent, SimConfig};

use crate::support::sim::{Api, ids, start};

fn cfg(agents: usize) -> SimConfig {
    SimConfig {
        agents,
        users: 130,
        ..SimConfig::default()
    }
}

/// Pages until a short page, the way a careful client does; returns ids and pages fetched.
async fn page_all(api: &Api, path: &str, key: &str, page_size: usize) -> (Vec<i64>, usize) {
    let mut all = Vec::new();
    let mut page_no = 1;
    loop {
        let v = api
            .get_json(&format!(
                "{path}pageinate=true&page_size={page_size}&page_no={page_no}"
            ))
            .await;
        let rows = ids(&v[key]);
        let n = rows.len();
        all.extend(rows);
        if n < page_size.min(100) || n == 0 {
            return (all, page_no);
        }
        page_no += 1;
    }
}

#[tokio::test]
async fn every_agent_exactly_once_at_and_below_the_cap() {
    let sim = start(cfg(250)).await;
    let api = Api::new(&sim).await;
    let snap = sim.control().snapshot();
    let all_ids: Vec<i64> = snap.agents.iter().map(|a| a.id).collect();

    // page_size=1000 is capped at 100 rows; record_count stays the whole count; the
    // envelope echoes the requested size.
    let first = api
        .get_json("/api/Agent?pageinate=true&page_size=1000&page_no=1&includedisabled=true&includeapiagents=true")
        .await;
    assert_eq!(first["results"].as_array().unwrap().len(), 100);
    assert_eq!(first["record_count"], 250);
    assert_eq!(first["page_no"], 1);
    assert_eq!(first["page_size"], 1000);
    let (got, pages) = page_all(
        &api,
        "/api/Agent?includedisabled=true&includeapiagents=true&",
        "results",
        1000,
    )
    .await;
    assert_eq!(got, all_ids);
    assert_eq!(pages, 3); // 100 + 100 + short last page of 50

    // A size that divides nothing evenly.
    let (got, _) = page_all(
        &api,
        "/api/Agent?includedisabled=true&includeapiagents=true&",
        "results",
        7,
    )
    .await;
    assert_eq!(got, all_ids);

    // Past the end: empty page, record_count still right.
    let past = api
        .get_json("/api/Agent?pageinate=true&page_size=100&page_no=9")
        .await;
    assert!(past["results"].as_array().unwrap().is_empty());
    assert!(past["record_count"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn filters_hide_disabled_and_api_agents_by_default() {
    let sim = start(cfg(300)).await;
    let api = Api::new(&sim).await;
    let snap = sim.control().snapshot();
    let visible: Vec<i64> = snap
        .agents
        .iter()
        .filter(|a| !a.disabled && !a.api_agent)
        .map(|a| a.id)
        .collect();
    let (got, _) = page_all(&api, "/api/Agent?", "results", 100).await;
    assert_eq!(got, visible);
    let enabled_with_api: Vec<i64> = snap
        .agents
        .iter()
        .filter(|a| !a.disabled)
        .map(|a| a.id)
        .collect();
    let (got, _) = page_all(&api, "/api/Agent?includeapiagents=true&", "results", 100).await;
    assert_eq!(got, enabled_with_api);

    // Unpaginated: a bare array with the same rows.
    let bare = api.get_json("/api/Agent").await;
    assert_eq!(ids(&bare), visible);
}

#[tokio::test]
async fn membership_and_roles_arrays() {
    let sim = start(cfg(60)).await;
    let api = Api::new(&sim).await;
    let snap = sim.control().snapshot();
    let v = api
        .get_json("/api/Agent?pageinate=true&page_size=100&page_no=1&includedisabled=true&includeapiagents=true&includeroles=true&include_membership_info=true")
        .await;
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 60);
    for (row, agent) in rows.iter().zip(&snap.agents) {
        let team_ids: Vec<i64> = row["teams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["team_id"].as_i64().unwrap())
            .collect();
        assert_eq!(team_ids, agent.team_ids);
        for t in row["teams"].as_array().unwrap() {
            assert_eq!(t["agent_id"], agent.id);
            assert!(t["team_name"].as_str().is_some_and(|n| !n.is_empty()));
            assert!(t["is_manager"].is_boolean());
        }
        let role_ids: Vec<&str> = row["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        assert_eq!(role_ids, agent.role_ids);
        assert_eq!(row["isdisabled"], agent.disabled);
        assert_eq!(row["email"], agent.email.as_str());
        let date = row["lastlogindate"].as_str().unwrap();
        assert_eq!(date.len(), 19, "{date}");
    }
    // Without the switches the arrays are absent.
    let plain = api
        .get_json("/api/Agent?pageinate=true&page_size=5&page_no=1")
        .await;
    assert!(plain["results"][0].get("teams").is_none());
    assert!(plain["results"][0].get("roles").is_none());
}

#[tokio::test]
async fn envelope_key_quirks() {
    let sim = start(cfg(20)).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    let q = "/api/Agent?pageinate=true&page_size=100&page_no=1";

    ctl.set_quirks(QuirkConfig {
        agent_page_rows: AgentPageRows::Agents,
        ..QuirkConfig::default()
    });
    let v = api.get_json(q).await;
    assert!(v.get("results").is_none());
    assert!(!v["agents"].as_array().unwrap().is_empty());

    ctl.set_quirks(QuirkConfig {
        agent_page_rows: AgentPageRows::Bare,
        ..QuirkConfig::default()
    });
    assert!(api.get_json(q).await.is_array());

    ctl.set_quirks(QuirkConfig {
        list_envelopes: true,
        ..QuirkConfig::default()
    });
    let v = api.get_json("/api/Team").await;
    assert!(v["teams"].is_array());
    assert_eq!(v["record_count"], v["teams"].as_array().unwrap().len());
    let v = api.get_json("/api/Agent").await;
    assert!(v["agents"].is_array());
}

#[tokio::test]
async fn users_page_under_users_key_and_hide_inactive() {
    let sim = start(cfg(10)).await;
    let api = Api::new(&sim).await;
    let snap = sim.control().snapshot();
    let active: Vec<i64> = snap
        .users
        .iter()
        .filter(|u| !u.inactive)
        .map(|u| u.id)
        .collect();
    assert!(active.len() < snap.users.len());
    let (got, _) = page_all(&api, "/api/Users?", "users", 50).await;
    assert_eq!(got, active);
    let all: Vec<i64> = snap.users.iter().map(|u| u.id).collect();
    let (got, _) = page_all(&api, "/api/Users?includeinactive=true&", "users", 1000).await;
    assert_eq!(got, all);
    let v = api
        .get_json("/api/Users?pageinate=true&page_size=2&page_no=1")
        .await;
    assert_eq!(v["record_count"], active.len());
    let u = &v["users"][0];
    for k in [
        "id",
        "name",
        "firstname",
        "surname",
        "emailaddress",
        "login",
        "inactive",
        "site_id",
        "site_name",
        "client_id",
        "client_name",
        "isserviceaccount",
    ] {
        assert!(u.get(k).is_some(), "user field {k}");
    }
    // Unpaginated users keep the envelope.
    let v = api.get_json("/api/Users").await;
    assert_eq!(ids(&v["users"]), active);
}

#[tokio::test]
async fn rows_inserted_or_deleted_between_pages() {
    let sim = start(cfg(250)).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    let q = |n| {
        format!(
            "/api/Agent?pageinate=true&page_size=100&page_no={n}&includedisabled=true&includeapiagents=true"
        )
    };

    let p1 = ids(&api.get_json(&q(1)).await["results"]);
    // Deleting a row already served shifts later rows left by one: the first row of the next
    // page is skipped by offset paging. That is what a live tenant does, and what clients see.
    assert!(ctl.delete_agent(p1[0]));
    let p2 = ids(&api.get_json(&q(2)).await["results"]);
    assert_eq!(p2[0], p1[99] + 2);

    // An agent inserted mid-sync gets a new, higher id and appears on the last page.
    let new_id = ctl
        .insert_agent(SimAgent {
            email: "late@example.com".into(),
            ..SimAgent::named("Late Arrival")
        })
        .unwrap();
    assert_eq!(new_id, 251);
    let p3 = api.get_json(&q(3)).await;
    assert_eq!(p3["record_count"], 250);
    assert_eq!(*ids(&p3["results"]).last().unwrap(), new_id);
    let seen: BTreeSet<i64> = p1.iter().chain(&p2).copied().collect();
    assert_eq!(seen.len(), 200);
}

#[tokio::test]
async fn request_log_shows_one_call_per_page() {
    let sim = start(cfg(250)).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    ctl.clear_requests();
    let (got, pages) = page_all(
        &api,
        "/api/Agent?includedisabled=true&includeapiagents=true&",
        "results",
        100,
    )
    .await;
    assert_eq!(got.len(), 250);
    let log = ctl.requests();
    assert_eq!(log.len(), pages);
    assert!(
        log.iter()
            .all(|r| r.method == "GET" && r.path == "/api/Agent" && r.status == 200)
    );
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(log[0].query.contains("page_no=1"));
    assert_eq!(ctl.token_requests(), 1);
}
