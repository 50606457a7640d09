//! The CLI's doors: through a running daemon's control socket (mode 0600), or
//! in-process when no daemon answers; JSON out, non-zero exit on failure. And
//! the journal's refusals: a second owner, a corrupt or unwritable file.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use baton_haloitsm::provisioning::journal::{Journal, JournalError};
use haloitsm_sim::{SimConfig, SimHandle};

use crate::support::daemon::{BIN, Daemon};
use crate::support::leaks::Scanned as _;
use crate::support::provisioning;

fn write_config(dir: &Path, sim: &SimHandle, extra: &str) -> PathBuf {
    provisioning::write_config(dir, &sim.base_url(), extra)
}

/// `run` in the foreground: for the daemons that must refuse to start.
fn run_daemon(config: &Path) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("run")
        .env_remove("NOTIFY_SOCKET")
        .output_scanned()
        .unwrap()
}

fn cli(config: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .output_scanned()
        .expect("run the CLI");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

fn sim() -> SimHandle {
    SimHandle::start_background(
        SimConfig {
            seed: 4,
            agents: 10,
            teams: 5,
            roles: 3,
            users: 0,
            teams_per_agent: 1,
            ..SimConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap()
}

fn team_not_held(sim: &SimHandle, agent: i64) -> i64 {
    let snap = sim.control().snapshot();
    let held = &snap.agents.iter().find(|a| a.id == agent).unwrap().team_ids;
    snap.teams
        .iter()
        .map(|t| t.id)
        .find(|t| !held.contains(t))
        .unwrap()
}

#[test]
fn in_process_when_no_daemon_answers() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "enabled = true");
    let team = team_not_held(&sim, 2);
    let ent = format!("team:{team}:member");
    let (out, json) = cli(
        &config,
        &["grant", "--entitlement", &ent, "--principal", "agent:2"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json["outcome"]["result"], "ok", "{json}");
    assert_eq!(json["outcome"]["grants"][0], format!("{ent}:agent:2"));
    let (out, json) = cli(
        &config,
        &["grant", "--entitlement", &ent, "--principal", "agent:2"],
    );
    assert!(out.status.success());
    assert_eq!(json["outcome"]["kind"], "grant_already_exists", "{json}");
    // Failure: non-zero exit, the outcome still printed as JSON.
    let (out, json) = cli(&config, &["revoke", "--grant", "team:1:member"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["outcome"]["kind"], "invalid_argument", "{json}");
    let (out, json) = cli(&config, &["operations", "--status", "finished", "--json"]);
    assert!(out.status.success());
    assert_eq!(json["operations"].as_array().unwrap().len(), 2, "{json}");
}

/// A real tenant without a daemon: tickets in-process, each call its own process, all on
/// one ticket; template errors exit 65 here as they do through the daemon.
#[test]
fn tickets_in_process_against_a_real_tenant() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "enabled = true");
    let template = dir.path().join("t.json");
    std::fs::write(
        &template,
        r#"{"schema_id": "1", "display_name": "In-process",
            "custom_fields": {"CFRequestReason": "r"}}"#,
    )
    .unwrap();
    let (out, ticket) = cli(
        &config,
        &[
            "tickets",
            "create",
            "--template",
            template.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = ticket["id"].as_str().expect("ticket id").to_string();
    let (out, got) = cli(&config, &["tickets", "get", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(got["display_name"], "In-process");
    let (out, _) = cli(&config, &["tickets", "note", &id, "--text", "hello"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Halo's own failure (no such ticket) stays 1.
    let (out, _) = cli(&config, &["tickets", "get", "987654"]);
    assert_eq!(out.status.code(), Some(1));
    crate::cli_state::bad_templates_exit_65(dir.path(), &config);
}

#[test]
fn through_the_daemon_socket_which_is_private() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "enabled = true");
    let mut daemon = Daemon::start(&config, &[]);
    assert!(daemon.wait_for_log("control socket listening", Duration::from_secs(20)));
    let socket = dir.path().join("control.sock");
    let mode = std::fs::metadata(&socket).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "socket mode");

    // The daemon holds the journal: an in-process run would be refused, so
    // success here proves the request went over the socket.
    let team = team_not_held(&sim, 3);
    let ent = format!("team:{team}:member");
    let (out, json) = cli(
        &config,
        &[
            "grant",
            "--entitlement",
            &ent,
            "--principal",
            "agent:3",
            "--no-wait",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let op_id = json["op_id"].as_i64().expect("acknowledged id");
    assert!(
        json.get("outcome").is_none(),
        "--no-wait prints only the id: {json}"
    );
    let (out, json) = cli(&config, &["disable-account", "--resource", "agent:3"]);
    assert!(out.status.success(), "{json}");
    assert_eq!(json["outcome"]["result"], "ok");
    let (_, json) = cli(&config, &["operations", "--json"]);
    let ops = json["operations"].as_array().unwrap();
    assert!(ops.iter().any(|o| o["id"] == op_id), "{json}");
    let (out, json) = cli(&config, &["delete-resource", "--resource", "agent:3"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json["outcome"]["kind"], "failed_precondition", "{json}");

    // A second daemon on the same state dir refuses to start, naming the journal.
    let second = run_daemon(&config);
    assert_eq!(second.status.code(), Some(74));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("journal.sqlite3") && err.contains("in use"),
        "{err}"
    );
    daemon.sigterm();
}

#[test]
fn disabled_by_default() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "# enabled: left at its default");
    let (out, json) = cli(
        &config,
        &[
            "grant",
            "--entitlement",
            "team:1:member",
            "--principal",
            "agent:1",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json["outcome"]["message"]
            .as_str()
            .unwrap()
            .contains("provisioning is not enabled")
    );
}

#[test]
fn a_corrupt_or_unwritable_journal_stops_the_daemon_with_its_path() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &sim, "enabled = true");
    let journal = dir.path().join("journal.sqlite3");
    std::fs::write(
        &journal,
        b"this is not a sqlite database, just garbage bytes .....",
    )
    .unwrap();
    let out = run_daemon(&config);
    assert_eq!(out.status.code(), Some(74));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&journal.display().to_string()), "{err}");
    // The CLI's in-process door refuses the same way.
    let (out, _) = cli(&config, &["operations"]);
    assert_eq!(out.status.code(), Some(74));
}

#[test]
fn journal_open_refusals_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite3");
    let first = Journal::open(&path).unwrap();
    match Journal::open(&path) {
        Err(e @ JournalError::Locked { .. }) => assert!(e.to_string().contains("j.sqlite3")),
        other => panic!("{other:?}"),
    }
    drop(first);
    Journal::open(&path).expect("the lock goes with the owner");

    // Unwritable (root ignores file modes, so only check when they bite).
    let ro = dir.path().join("ro.sqlite3");
    drop(Journal::open(&ro).unwrap());
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
    if std::fs::OpenOptions::new().write(true).open(&ro).is_err() {
        let e = Journal::open(&ro).unwrap_err().to_string();
        assert!(e.contains("ro.sqlite3"), "{e}");
    }
    // A directory where the file should be.
    let d = dir.path().join("dir.sqlite3");
    std::fs::create_dir(&d).unwrap();
    let e = Journal::open(&d).unwrap_err().to_string();
    assert!(e.contains("dir.sqlite3"), "{e}");
}

#[test]
fn prune_keeps_unreported_c1_outcomes() {
    use baton_haloitsm::provisioning::operation::Operation;
    use baton_haloitsm::provisioning::outcome::Outcome;
    use std::sync::{Arc, Mutex};
    use std::time::SystemTime;
    // The journal's clock, stepped by hand: retention is tested without waiting.
    let now = Arc::new(Mutex::new(SystemTime::now()));
    let clock = now.clone();
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("j.sqlite3"))
        .unwrap()
        .with_clock(Arc::new(move || *clock.lock().unwrap()));
    let op = Operation::SetDisabled {
        agent_id: 1,
        disabled: true,
    };
    let a = j.submit(&op, "t", None).unwrap();
    let b = j.submit(&op, "t", Some("task-b")).unwrap();
    let ok = Outcome::Ok {
        resource: None,
        grants: vec![],
    };
    j.finish(a.id, &ok).unwrap();
    j.finish(b.id, &ok).unwrap();
    // Finished an hour ago: past a retention of 59 minutes, not yet past one of 61.
    *now.lock().unwrap() += Duration::from_secs(3600);
    assert_eq!(j.prune(Duration::from_secs(61 * 60)).unwrap(), 0);
    assert_eq!(
        j.prune(Duration::from_secs(59 * 60)).unwrap(),
        1,
        "only the non-C1 row"
    );
    assert!(j.mark_reported("task-b").unwrap());
    assert_eq!(j.prune(Duration::from_secs(59 * 60)).unwrap(), 1);
    assert!(j.list(None, 10).unwrap().is_empty());
}
