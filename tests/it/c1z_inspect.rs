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
    assert!(
        grants
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("team:3:member  agent:1"),
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
