//! `inspect`: human tables and JSON lines over our files and the SDK's fixtures.

use std::path::{Path, PathBuf};

use baton_haloitsm::c1z::{InspectWhat, Store, inspect, ksuid};
use baton_haloitsm::pb;

use crate::support::c1z::agent_and_team_types;

fn render(path: &Path, what: InspectWhat, rtype: Option<&str>, json: bool) -> String {
    let mut out = Vec::new();
    inspect::run(path, what, rtype, json, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn sample(dir: &Path) -> PathBuf {
    let out = dir.join("sample.c1z");
    let mut store = Store::create(&out).unwrap();
    store.start_sync(&ksuid::new()).unwrap();
    store.put_resource_types(&agent_and_team_types()).unwrap();
    let user = |id: &str, name: &str, enabled: bool| pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: "agent".into(),
            resource: id.into(),
            baton_resource: false,
        }),
        display_name: name.into(),
        annotations: vec![pb::pack_any(&pb::UserTrait {
            emails: vec![pb::user_trait::Email {
                address: format!("{id}@example.com"),
                is_primary: true,
            }],
            status: Some(pb::user_trait::Status {
                status: if enabled { 1 } else { 2 },
                details: String::new(),
            }),
            ..Default::default()
        })],
        ..Default::default()
    };
    let team = pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: "team".into(),
            resource: "3".into(),
            baton_resource: false,
        }),
        display_name: "Service Desk".into(),
        ..Default::default()
    };
    store
        .put_resources(&[
            user("1", "Ann Long-Name", true),
            user("22", "Bob", false),
            team.clone(),
        ])
        .unwrap();
    let ent = pb::Entitlement {
        resource: Some(team.clone()),
        id: "team:3:member".into(),
        display_name: "member".into(),
        purpose: pb::entitlement::PurposeValue::Assignment as i32,
        slug: "member".into(),
        ..Default::default()
    };
    store.put_entitlements(std::slice::from_ref(&ent)).unwrap();
    store
        .put_grants(&[pb::Grant {
            id: "team:3:member:agent:1".into(),
            entitlement: Some(ent),
            principal: Some(pb::Resource {
                id: Some(pb::ResourceId {
                    resource_type: "agent".into(),
                    resource: "1".into(),
                    baton_resource: false,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }])
        .unwrap();
    store.end_sync().unwrap();
    store.finish(&out).unwrap();
    out
}

#[test]
fn human_tables_are_aligned() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample(dir.path());

    let text = render(&path, InspectWhat::Resources, None, false);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TYPE", "ID", "DISPLAY", "NAME", "STATUS", "EMAIL", "PARENT"]
    );
    assert!(lines[1].starts_with("agent"), "{text}");
    assert!(
        lines[1].contains("enabled") && lines[1].contains("1@example.com"),
        "{text}"
    );
    assert!(lines[2].contains("disabled"), "{text}");
    // Columns line up: STATUS starts at the same offset on every line.
    let col = lines[0].find("STATUS").unwrap();
    assert_eq!(lines[1].find("enabled"), Some(col), "{text}");
    assert_eq!(lines[2].find("disabled"), Some(col), "{text}");

    let agents = render(&path, InspectWhat::Resources, Some("agent"), false);
    assert_eq!(agents.lines().count(), 3);

    let types = render(&path, InspectWhat::ResourceTypes, None, false);
    assert!(
        types.contains("user") && types.contains("skip entitlements and grants"),
        "{types}"
    );

    let ents = render(&path, InspectWhat::Entitlements, None, false);
    assert!(
        ents.contains("team:3:member") && ents.contains("assignment"),
        "{ents}"
    );

    let grants = render(&path, InspectWhat::Grants, Some("team"), false);
    // Names beside the ids: the entitlement's (from its row) and the principal's.
    let cells: Vec<&str> = grants
        .lines()
        .nth(1)
        .unwrap()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cells,
        ["team:3:member", "member", "agent:1", "Ann Long-Name"],
        "{grants}"
    );

    let stats = render(&path, InspectWhat::Stats, None, false);
    assert!(
        stats.contains("grants") && stats.contains("RESOURCE TYPE"),
        "{stats}"
    );
    assert!(!stats.contains("note:"), "{stats}");
}

#[test]
fn json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = sample(dir.path());
    let text = render(&path, InspectWhat::Resources, None, true);
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["resource_type"], "agent");
    assert_eq!(rows[0]["status"], "enabled");
    assert_eq!(rows[2]["display_name"], "Service Desk");

    let g: serde_json::Value =
        serde_json::from_str(render(&path, InspectWhat::Grants, None, true).trim()).unwrap();
    assert_eq!(g["principal"]["id"], "1");
    assert_eq!(g["principal"]["display_name"], "Ann Long-Name");
    assert_eq!(g["entitlement_name"], "member");

    let stats: serde_json::Value =
        serde_json::from_str(render(&path, InspectWhat::Stats, None, true).trim()).unwrap();
    assert_eq!(stats["counts"]["resources"], 3);
    assert_eq!(stats["counts"]["resources_by_resource_type"]["agent"], 2);
    assert_eq!(stats["sync"]["latest_finished_full"], true);
    assert_eq!(stats["cached_stats_match"], true);
}

#[test]
fn sdk_fixture_and_bad_file() {
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/c1z/sync-in-progress.c1z");
    if fixture.exists() {
        let text = render(&fixture, InspectWhat::Stats, None, false);
        assert!(
            text.contains("unfinished") && text.contains("scoped_role"),
            "{text}"
        );
        let res = render(&fixture, InspectWhat::Resources, Some("user"), false);
        assert!(res.starts_with("# no finished full sync"), "{res}");
        assert_eq!(res.lines().count(), 12, "{res}");
    } else {
        eprintln!("skipping fixture part: {} not found", fixture.display());
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.c1z");
    std::fs::write(&bad, b"nope").unwrap();
    let mut out = Vec::new();
    let err = inspect::run(&bad, InspectWhat::Stats, None, false, &mut out).unwrap_err();
    assert!(err.to_string().contains("bad.c1z"), "{err}");
}

/// Ids sort as people read them (`agent:2` before `agent:10`), in tables and JSON lines,
/// and every grant shows its principal's name, not just its id.
#[test]
fn natural_id_order_and_names_beside_grants() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("order.c1z");
    let mut store = Store::create(&path).unwrap();
    store.start_sync(&ksuid::new()).unwrap();
    store.put_resource_types(&agent_and_team_types()).unwrap();
    let rid = |t: &str, id: &str| pb::ResourceId {
        resource_type: t.into(),
        resource: id.into(),
        baton_resource: false,
    };
    let agents = ["101", "10", "2", "1"];
    let resources: Vec<pb::Resource> = agents
        .iter()
        .map(|id| pb::Resource {
            id: Some(rid("agent", id)),
            display_name: format!("Agent Number {id}"),
            ..Default::default()
        })
        .collect();
    let team = pb::Resource {
        id: Some(rid("team", "3")),
        display_name: "Service Desk".into(),
        ..Default::default()
    };
    store.put_resources(&resources).unwrap();
    store.put_resources(std::slice::from_ref(&team)).unwrap();
    let ent = pb::Entitlement {
        resource: Some(team),
        id: "team:3:member".into(),
        display_name: "Service Desk Team Member".into(),
        ..Default::default()
    };
    store.put_entitlements(std::slice::from_ref(&ent)).unwrap();
    let grants: Vec<pb::Grant> = agents
        .iter()
        .map(|id| pb::Grant {
            id: format!("team:3:member:agent:{id}"),
            // As our syncs write them: ids only.
            entitlement: Some(pb::Entitlement {
                id: ent.id.clone(),
                ..Default::default()
            }),
            principal: Some(pb::Resource {
                id: Some(rid("agent", id)),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    store.put_grants(&grants).unwrap();
    store.end_sync().unwrap();
    store.finish(&path).unwrap();

    let text = render(&path, InspectWhat::Resources, Some("agent"), false);
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "10", "101"], "{text}");

    let text = render(&path, InspectWhat::Grants, None, false);
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 4, "{text}");
    for (line, id) in lines.iter().zip(["1", "2", "10", "101"]) {
        let cells: Vec<&str> = line
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        let principal = format!("agent:{id}");
        let name = format!("Agent Number {id}");
        assert_eq!(
            cells,
            [
                "team:3:member",
                "Service Desk Team Member",
                principal.as_str(),
                name.as_str()
            ],
            "{text}"
        );
    }

    let json = render(&path, InspectWhat::Grants, None, true);
    let principals: Vec<String> = json
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["entitlement_name"], "Service Desk Team Member");
            v["principal"]["display_name"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        principals,
        [
            "Agent Number 1",
            "Agent Number 2",
            "Agent Number 10",
            "Agent Number 101"
        ]
    );
}
