//! `diff OLD NEW` through the real binary: two real `sync -f` runs against the simulator
//! with changes in between, equal files, unreadable files and the SDK's fixtures.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::c1z_fixtures::fixture;
use crate::support::daemon::BIN;
use crate::support::leaks::Scanned as _;
use crate::support::provisioning::{sim_config, write_config};
use crate::support::sim::{self, Api};

const IN_PROGRESS: &str = "sync-in-progress.c1z";
const UNEXPANDED: &str = "sync.36zfOAoWMxQdISbixanQCRBiX7E.unexpanded";

/// `sync -f dest` with the real binary; it must succeed.
fn sync_into(config: &Path, dest: &Path) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(["--log-level", "warn", "sync", "-f"])
        .arg(dest)
        .output_scanned()
        .unwrap();
    assert!(
        out.status.success(),
        "sync: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `diff old new [--json]`, run with `TMPDIR` set to `tmp` (so where its temp files go
/// can be checked).
fn diff(old: &Path, new: &Path, json: bool, tmp: &Path) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("diff").arg(old).arg(new).env("TMPDIR", tmp);
    if json {
        cmd.arg("--json");
    }
    cmd.output_scanned().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn ids(v: &Value, key: &str) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[key].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_real_syncs_show_who_gained_and_lost_access() {
    let dir = tempfile::tempdir().unwrap();
    let sim = sim::start(sim_config(12)).await;
    let config = write_config(dir.path(), &sim.base_url(), "");
    let (old, new) = (dir.path().join("old.c1z"), dir.path().join("new.c1z"));
    sync_into(&config, &old);

    let tenant = sim.control().snapshot();
    let mut live = tenant
        .agents
        .iter()
        .filter(|a| !a.disabled && !a.team_ids.is_empty());
    let (gains, disabled, deleted) = (
        live.next().unwrap().clone(),
        live.next().unwrap().clone(),
        live.next().unwrap().clone(),
    );
    let team = tenant
        .teams
        .iter()
        .find(|t| !gains.team_ids.contains(&t.id))
        .unwrap()
        .clone();
    let api = Api::new(&sim).await;
    let mut teams: Vec<Value> = gains
        .team_ids
        .iter()
        .map(|t| json!({"team_id": t, "is_manager": gains.managed_team_ids.contains(t)}))
        .collect();
    teams.push(json!({"team_id": team.id}));
    let r = api
        .post("/api/Agent", &json!([{"id": gains.id, "teams": teams}]))
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    let r = api
        .post(
            "/api/Agent",
            &json!([{"id": disabled.id, "isdisabled": true}]),
        )
        .await;
    assert!(r.status().is_success(), "{}", r.status());
    assert!(sim.control().delete_agent(deleted.id));
    sync_into(&config, &new);

    let tmp = tempfile::tempdir().unwrap();
    let out = diff(&old, &new, true, tmp.path());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();

    assert_eq!(v["resources"]["added"], json!([]));
    let removed = &v["resources"]["removed"];
    assert_eq!(removed.as_array().unwrap().len(), 1, "{removed}");
    assert_eq!(removed[0]["resource_type"], "agent");
    assert_eq!(removed[0]["id"], deleted.id.to_string());
    assert_eq!(removed[0]["display_name"], deleted.name.as_str());

    let changed = &v["resources"]["changed"];
    assert_eq!(changed.as_array().unwrap().len(), 1, "{changed}");
    assert_eq!(changed[0]["id"], disabled.id.to_string());
    assert_eq!(
        changed[0]["changes"],
        json!([{"field": "status", "old": "enabled", "new": "disabled"}])
    );

    let added = &v["grants"]["added"];
    assert_eq!(
        ids(added, "id"),
        BTreeSet::from([format!("team:{}:member:agent:{}", team.id, gains.id)])
    );
    assert_eq!(added[0]["principal_name"], gains.name.as_str());
    assert_eq!(
        added[0]["entitlement_name"],
        format!("{} Team Member", team.name)
    );
    let mut lost: BTreeSet<String> = deleted
        .team_ids
        .iter()
        .map(|t| format!("team:{t}:member:agent:{}", deleted.id))
        .collect();
    lost.extend(
        deleted
            .role_ids
            .iter()
            .map(|r| format!("role:{r}:assigned:agent:{}", deleted.id)),
    );
    let removed = &v["grants"]["removed"];
    assert_eq!(ids(removed, "id"), lost);
    // A removed grant's principal is named as the old file names it.
    for g in removed.as_array().unwrap() {
        assert_eq!(g["principal_name"], deleted.name.as_str(), "{g}");
        assert!(!g["entitlement_name"].as_str().unwrap().is_empty(), "{g}");
    }
    let s = &v["summary"];
    assert_eq!(
        (
            s["resources_added"].as_u64(),
            s["resources_removed"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(s["resources_changed"], 1);
    assert_eq!(s["grants_added"], 1);
    assert_eq!(s["grants_removed"].as_u64(), Some(lost.len() as u64));
    assert_eq!(v["equal"], false);

    // The table says the same, grouped, and ends with the summary line.
    let out = diff(&old, &new, false, tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let expected_summary = format!(
        "1 resource removed, 1 changed, 1 grant added, {} removed",
        lost.len()
    );
    assert_eq!(
        text.lines().last(),
        Some(expected_summary.as_str()),
        "{text}"
    );
    assert_eq!(s["text"], expected_summary.as_str());
    for section in [
        "Resources removed (1)",
        "Resources changed (1)",
        "Grants added (1)",
        &format!("Grants removed ({})", lost.len()),
    ] {
        assert!(text.lines().any(|l| l == section), "{section}: {text}");
    }
    assert!(!text.contains("Resources added"), "{text}");
    let status_line = text
        .lines()
        .find(|l| l.starts_with("agent") && l.contains(" status "))
        .unwrap_or_else(|| panic!("{text}"));
    let cells: Vec<&str> = status_line.split("  ").filter(|c| !c.is_empty()).collect();
    assert_eq!(
        cells.last().map(|c| c.trim()),
        Some("disabled"),
        "{status_line}"
    );
    // The decoded databases went under TMPDIR and are gone again.
    assert!(crate::support::dir_names(tmp.path()).is_empty());

    // The same file twice: equal.
    let same = diff(&new, &new, false, tmp.path());
    assert_eq!(same.status.code(), Some(0));
    assert_eq!(stdout(&same).lines().last(), Some("no differences"));
    let same = diff(&old, &old, true, tmp.path());
    assert_eq!(same.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&same)).unwrap();
    assert_eq!(v["equal"], true);
    assert_eq!(v["summary"]["text"], "no differences");
}

#[test]
fn an_unreadable_file_exits_65_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.c1z");
    std::fs::write(&garbage, b"this is not a c1z at all").unwrap();
    let Some(good) = fixture(IN_PROGRESS) else {
        return;
    };
    for (old, new) in [(&garbage, &good), (&good, &garbage)] {
        let out = diff(old, new, false, dir.path());
        assert_eq!(out.status.code(), Some(65));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("garbage.c1z"), "{err}");
        assert!(out.stdout.is_empty());
    }
    let missing = dir.path().join("missing.c1z");
    let out = diff(&good, &missing, false, dir.path());
    assert_eq!(out.status.code(), Some(65));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.c1z"));
}

#[test]
fn sdk_fixtures() {
    let (Some(in_progress), Some(unexpanded)) = (fixture(IN_PROGRESS), fixture(UNEXPANDED)) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for f in [&in_progress, &unexpanded] {
        let out = diff(f, f, false, tmp.path());
        assert_eq!(out.status.code(), Some(0), "{}", f.display());
        assert_eq!(stdout(&out).lines().last(), Some("no differences"));
    }
    // The in-progress file has 79 resources and no grants; the other 1,221 and 2,909.
    let out = diff(&in_progress, &unexpanded, true, tmp.path());
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let s = &v["summary"];
    assert_eq!(s["grants_added"], 2909);
    assert_eq!(s["grants_removed"], 0);
    let (added, removed) = (
        s["resources_added"].as_i64().unwrap(),
        s["resources_removed"].as_i64().unwrap(),
    );
    assert_eq!(added - removed, 1221 - 79);
    assert_eq!(v["grants"]["added"].as_array().unwrap().len(), 2909);
    // Names come from the new file's rows; natural order within the section.
    let first = &v["grants"]["added"][0];
    assert!(
        !first["principal_name"].as_str().unwrap().is_empty(),
        "{first}"
    );
    assert!(
        !first["entitlement_name"].as_str().unwrap().is_empty(),
        "{first}"
    );
}
