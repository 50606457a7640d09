//! Write semantics: agent upsert (create, partial update, teams/roles replace, delete), the
//! 400s in every error style, bad bodies, plus teams, roles, ticket types, tickets and actions.

use baton_haloitsm::sim::{ErrorStyle, QuirkConfig, SimConfig};
use serde_json::{Value, json};

use crate::support::sim::{Api, ids, start};

#[tokio::test]
async fn create_update_replace_delete() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let snap = sim.control().snapshot();
    let (t1, t2, t3) = (snap.teams[0].id, snap.teams[1].id, snap.teams[2].id);
    let (r1, r2) = (snap.roles[0].id.clone(), snap.roles[1].id.clone());

    // Create: no id → 201 with the single object.
    let r = api
        .post("/api/Agent", &json!([{"name": "Jane Doe", "email": "jane@acme.com", "isdisabled": false,
            "teams": [{"team_id": t1}, {"team_id": t2, "is_manager": true}], "roles": [{"id": r1}]}]))
        .await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(id, 51);
    assert_eq!(created["name"], "Jane Doe");
    assert_eq!(created["team"], snap.teams[0].name.as_str());
    assert_eq!(created["teams"][1]["is_manager"], true);
    assert_eq!(created["roles"][0]["id"], r1.as_str());

    // id 0 also creates.
    let r = api
        .post("/api/Agent", &json!([{"id": 0, "name": "Zero"}]))
        .await;
    assert_eq!(r.status(), 201);

    // Update: only the posted fields change.
    let r = api
        .post("/api/Agent", &json!([{"id": id, "jobtitle": "Lead"}]))
        .await;
    assert_eq!(r.status(), 200);
    let v = api
        .get_json(&format!("/api/Agent/{id}?includedetails=true"))
        .await;
    assert_eq!(v["jobtitle"], "Lead");
    assert_eq!(v["email"], "jane@acme.com");
    assert_eq!(v["teams"].as_array().unwrap().len(), 2);

    // teams[] and roles[] replace the lists.
    api.post(
        "/api/Agent",
        &json!([{"id": id, "teams": [{"team_id": t3}], "roles": [{"id": r2}]}]),
    )
    .await;
    let v = api
        .get_json(&format!("/api/Agent/{id}?includedetails=true"))
        .await;
    let teams: Vec<i64> = v["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["team_id"].as_i64().unwrap())
        .collect();
    assert_eq!(teams, vec![t3]);
    assert_eq!(v["roles"].as_array().unwrap().len(), 1);
    assert_eq!(v["roles"][0]["id"], r2.as_str());
    let members = api
        .get_json(&format!("/api/Team/{t3}?includeagents=true"))
        .await;
    assert!(
        members["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["agent_id"] == id)
    );
    let members = api
        .get_json(&format!("/api/Team/{t1}?includeagents=true"))
        .await;
    assert!(
        !members["agents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["agent_id"] == id)
    );

    // Disable through upsert: hidden from the default list.
    api.post("/api/Agent", &json!([{"id": id, "isdisabled": true}]))
        .await;
    assert!(!ids(&api.get_json("/api/Agent").await).contains(&id));

    // Two elements → an array back.
    let r = api
        .post(
            "/api/Agent",
            &json!([{"name": "A"}, {"id": id, "surname": "Doe"}]),
        )
        .await;
    assert_eq!(r.status(), 201);
    assert_eq!(
        r.json::<Value>().await.unwrap().as_array().unwrap().len(),
        2
    );

    // Delete, then 404.
    let r = api.delete(&format!("/api/Agent/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["id"], id);
    assert_eq!(api.get(&format!("/api/Agent/{id}")).await.status(), 404);
    assert_eq!(api.delete(&format!("/api/Agent/{id}")).await.status(), 404);
}

#[tokio::test]
async fn missing_name_is_400_in_every_style_and_writes_nothing() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let ctl = sim.control();
    let before = ctl.snapshot().agents.len();
    for style in ErrorStyle::ALL {
        ctl.set_quirks(QuirkConfig {
            error_style: style,
            ..QuirkConfig::default()
        });
        // The first element is fine, the second lacks a name: nothing is written.
        let r = api
            .post("/api/Agent", &json!([{"name": "ok"}, {"email": "x@y.z"}]))
            .await;
        assert_eq!(r.status(), 400, "{style:?}");
        let text = r.text().await.unwrap();
        let msg = "The name field is required";
        match style {
            ErrorStyle::ResultCode => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["resultCode"], 400);
                assert_eq!(v["errorMessage"], msg);
            }
            ErrorStyle::ClassName => {
                let v: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["ClassName"], "System.ArgumentException");
                assert_eq!(v["Message"], msg);
            }
            ErrorStyle::Message => {
                assert_eq!(
                    serde_json::from_str::<Value>(&text).unwrap(),
                    json!({"Message": msg})
                );
            }
            ErrorStyle::PlainText => assert_eq!(text, msg),
            ErrorStyle::FieldErrors => {
                assert_eq!(
                    serde_json::from_str::<Value>(&text).unwrap(),
                    json!({"[1].name": msg})
                );
            }
        }
    }
    assert_eq!(ctl.snapshot().agents.len(), before);
}

#[tokio::test]
async fn bad_bodies_are_400_never_a_crash() {
    let sim = start(SimConfig {
        quirks: QuirkConfig {
            error_style: ErrorStyle::FieldErrors,
            ..QuirkConfig::default()
        },
        ..SimConfig::default()
    })
    .await;
    let api = Api::new(&sim).await;
    for (body, key) in [
        ("", "$"),
        ("[{\"name\": ", "$"),
        ("[]", "$"),
        ("42", "$"),
        ("[7]", "[0]"),
        ("[{\"name\": 5}]", "[0].name"),
        ("[{\"id\": \"abc\"}]", "[0].id"),
        (
            "[{\"id\": 1, \"isdisabled\": \"perhaps\"}]",
            "[0].isdisabled",
        ),
        ("[{\"id\": 1, \"teams\": {\"team_id\": 1}}]", "[0].teams"),
        (
            "[{\"id\": 1, \"teams\": [{\"team_id\": 999}]}]",
            "[0].teams[0].team_id",
        ),
        (
            "[{\"id\": 1, \"roles\": [{\"id\": \"nope\"}]}]",
            "[0].roles[0].id",
        ),
        ("[{\"id\": 424242, \"name\": \"x\"}]", "[0].id"),
        ("[{\"id\": 1, \"name\": \"  \"}]", "[0].name"),
    ] {
        let r = api.post_raw("/api/Agent", body).await;
        assert_eq!(r.status(), 400, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(v.get(key).is_some(), "{body} → {v}");
    }
    // A bare object is accepted as a one-element array; string ids are bound like .NET does.
    let r = api
        .post("/api/Agent", &json!({"id": "1", "jobtitle": "Boss"}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(api.get_json("/api/Agent/me").await["jobtitle"], "Boss");
}

#[tokio::test]
async fn teams_and_roles() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;
    let snap = sim.control().snapshot();
    let active: Vec<i64> = snap
        .teams
        .iter()
        .filter(|t| !t.inactive)
        .map(|t| t.id)
        .collect();
    assert!(active.len() < snap.teams.len());
    let teams = api.get_json("/api/Team").await;
    assert_eq!(ids(&teams), active);
    for k in ["id", "name", "inactive", "department_id", "department_name"] {
        assert!(teams[0].get(k).is_some());
    }
    let all = api.get_json("/api/Team?includedisabled=true").await;
    assert_eq!(all.as_array().unwrap().len(), snap.teams.len());

    let t = api.get_json("/api/Team/1?includeagents=true").await;
    let members: Vec<i64> = t["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["agent_id"].as_i64().unwrap())
        .collect();
    let want: Vec<i64> = snap
        .agents
        .iter()
        .filter(|a| a.team_ids.contains(&1))
        .map(|a| a.id)
        .collect();
    assert_eq!(members, want);
    assert!(api.get_json("/api/Team/1").await.get("agents").is_none());
    assert_eq!(api.get("/api/Team/999").await.status(), 404);

    let roles = api.get_json("/api/Roles").await;
    assert_eq!(roles.as_array().unwrap().len(), snap.roles.len());
    let guid = roles[0]["id"].as_str().unwrap();
    assert_eq!(guid.len(), 36);
    assert!(roles[0]["id_int"].is_i64());
    assert_eq!(
        api.get_json(&format!("/api/Roles/{guid}")).await["name"],
        roles[0]["name"]
    );
    assert_eq!(
        api.get("/api/Roles/00000000-0000-0000-0000-000000000000")
            .await
            .status(),
        404
    );

    let me = api.get_json("/api/Agent/me").await;
    assert_eq!(me["id"], 1);
    assert!(me["teams"].is_array() && me["roles"].is_array());
}

#[tokio::test]
async fn ticket_types_statuses_tickets_and_actions() {
    let sim = start(SimConfig::default()).await;
    let api = Api::new(&sim).await;

    let types = api.get_json("/api/TicketType").await;
    assert_eq!(types.as_array().unwrap().len(), 4);
    let tt = &types[0];
    for k in [
        "id",
        "name",
        "group_id",
        "visible",
        "initial_status",
        "fieldidlist",
        "allowed_status",
    ] {
        assert!(tt.get(k).is_some(), "{k}");
    }
    assert!(tt.get("fields").is_none());
    let detail = api.get_json("/api/TicketType/1?includedetails=true").await;
    // Integers, as in Halo's spec: (type, inputtype).
    let kinds: Vec<(i64, i64)> = detail["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let info = &f["fieldinfo"];
            (
                info["type"].as_i64().unwrap(),
                info["inputtype"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (0, 0),
            (0, 1),
            (4, 0),
            (2, 0),
            (6, 0),
            (1, 0),
            (3, 0),
            (0, 4),
            (4, 1),
            (10, 0),
            (0, 0)
        ]
    );
    let dropdown = &detail["fields"][3]["fieldinfo"]["values"];
    assert_eq!(dropdown.as_array().unwrap().len(), 3);
    assert_eq!(api.get("/api/TicketType/99").await.status(), 404);

    let statuses = api.get_json("/api/Status").await;
    assert!(statuses.as_array().unwrap().iter().any(|s| s["type"] == 2));
    let for_type2 = api.get_json("/api/Status?tickettype_id=2").await;
    assert_eq!(ids(&for_type2), vec![1, 2, 4, 9]);
    let closed = for_type2
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["type"] == 2)
        .unwrap()["id"]
        .as_i64()
        .unwrap();

    let r = api
        .post("/api/Tickets", &json!([{"tickettype_id": 2, "summary": "Provision: add jane to Service Desk",
            "details": "<p>from C1</p>", "customfields": [{"name": "CFAccessLevel", "value": "Write"}]}]))
        .await;
    assert_eq!(r.status(), 201);
    let t: Value = r.json().await.unwrap();
    let id = t["id"].as_i64().unwrap();
    assert_eq!(t["status_id"], 1);
    assert_eq!(t["web_url"], format!("{}/tickets?id={id}", api.base));
    assert_eq!(t["customfields"][0]["id"], 104);
    assert_eq!(t["hasbeenclosed"], false);

    let r = api
        .post(
            "/api/Tickets",
            &json!([{"tickettype_id": 77, "summary": "x"}]),
        )
        .await;
    assert_eq!(r.status(), 400);
    let r = api
        .post("/api/Tickets", &json!([{"tickettype_id": 1}]))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(api.get("/api/Tickets/4242").await.status(), 404);

    let r = api.post("/api/Actions", &json!([{"ticket_id": id, "note": "started", "outcome": "Private Note", "new_status": 2, "hiddenfromuser": true}])).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap()["ticket_id"], id);
    assert_eq!(
        api.get_json(&format!("/api/Tickets/{id}")).await["status_id"],
        2
    );
    api.post(
        "/api/Actions",
        &json!([{"ticket_id": id, "note": "done", "new_status": closed}]),
    )
    .await;
    let t = api.get_json(&format!("/api/Tickets/{id}")).await;
    assert_eq!(t["status_id"], closed);
    assert_eq!(t["hasbeenclosed"], true);
    assert_ne!(t["dateclosed"], "1900-01-01T00:00:00");
    assert_eq!(
        api.post("/api/Actions", &json!([{"ticket_id": 999, "note": "x"}]))
            .await
            .status(),
        400
    );
    assert_eq!(
        api.post(
            "/api/Actions",
            &json!([{"ticket_id": id, "new_status": 12345}])
        )
        .await
        .status(),
        400
    );
    assert_eq!(sim.control().snapshot().actions.len(), 2);
}
