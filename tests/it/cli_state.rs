//! One state for the CLI and the daemon (issue 19): a config's relative paths resolve
//! against the config file's directory, so the CLI run from any directory reaches the
//! daemon's socket; provisioning and tickets go through the daemon; with the embedded
//! simulator and no daemon they refuse (exit 69) and write nothing. And the control
//! socket's bounds (issue 18): too long, idle, too many connections.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::daemon::{BIN, Daemon};
use crate::support::dir_names;
use crate::support::leaks::Scanned as _;

/// Provisioning on, its journal at a relative path.
const ON: &str = "enabled = true\njournal = \"state/journal.sqlite3\"\n";

/// A demo-like config (embedded simulator) in `dir`, with relative paths only: with
/// [`ON`], the journal under `state/`; the socket at its default (`var/` beside it).
fn demo_like(dir: &Path, extra_provisioning: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[halo]
base_url = "http://127.0.0.1:1"
client_id = "sim-client"

[simulator]
listen = "127.0.0.1:0"

[simulator.tenant]
seed = 3
agents = 8
teams = 4
roles = 2
users = 4

[sync]
on_start = false

[output]
dir = "out"

[http]
listen = "127.0.0.1:0"

[provisioning]
{extra_provisioning}
"#
        ),
    )
    .unwrap();
    path
}

/// The CLI with `config`, run from `cwd`.
fn cli_in(cwd: &Path, config: &Path, args: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .args(args)
        .current_dir(cwd)
        .env_remove("STATE_DIRECTORY")
        .output_scanned()
        .expect("run the CLI");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn start(config: &Path) -> Daemon {
    let daemon = Daemon::start(config, &[]);
    assert!(
        daemon.wait_for_log("control socket listening", Duration::from_secs(20)),
        "{}",
        daemon.logs()
    );
    daemon
}

fn template(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

const GOOD_TEMPLATE: &str = r#"{"schema_id": "1", "status_id": "2", "display_name": "Add jane",
  "custom_fields": {"CFRequestReason": "New starter", "CFAccessLevel": "Write"}}"#;

#[test]
fn the_cli_from_any_directory_goes_through_the_daemon() {
    let home = tempfile::tempdir().unwrap();
    let config = demo_like(home.path(), ON);
    let mut daemon = start(&config);
    // The relative journal and the default socket sit beside the config file.
    assert!(home.path().join("state/journal.sqlite3").exists());
    assert!(home.path().join("var/control.sock").exists());

    let elsewhere = tempfile::tempdir().unwrap();
    let another = tempfile::tempdir().unwrap();
    // In-process would be refused (the daemon holds the journal, and the tenant is the
    // daemon's own simulator), so success here means the daemon did it.
    let (out, json) = cli_in(
        elsewhere.path(),
        &config,
        &["revoke", "--grant", "team:2:member:agent:3"],
    );
    assert!(out.status.success(), "{}\n{json}", stderr(&out));
    let (out, json) = cli_in(
        elsewhere.path(),
        &config,
        &[
            "grant",
            "--entitlement",
            "team:2:member",
            "--principal",
            "agent:3",
        ],
    );
    assert!(out.status.success(), "{}\n{json}", stderr(&out));
    assert_eq!(json["outcome"]["result"], "ok", "{json}");
    let op_id = json["op_id"].as_i64().expect("an operation id");

    let (out, json) = cli_in(another.path(), &config, &["operations", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ops = json["operations"].as_array().expect("operations");
    assert!(ops.iter().any(|o| o["id"] == op_id), "{json}");
    // The default is a table: a header, then one line per operation.
    let (out, _) = cli_in(another.path(), &config, &["operations"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = table.lines();
    let header = lines.next().unwrap_or_default();
    for column in [
        "ID",
        "STATUS",
        "KIND",
        "TARGET",
        "REQUESTED BY",
        "CREATED",
        "UPDATED",
    ] {
        assert!(header.contains(column), "{table}");
    }
    assert!(
        lines.any(|l| l.trim_start().starts_with(&format!("{op_id} "))
            && l.contains("grant")
            && l.contains("team:2:member:agent:3")
            && l.contains("finished")),
        "{table}"
    );
    assert!(!table.trim_start().starts_with('{'), "{table}");

    // Tickets: one ticket, created, read and noted through the daemon.
    let t = template(another.path(), "t.json", GOOD_TEMPLATE);
    let (out, ticket) = cli_in(
        elsewhere.path(),
        &config,
        &["tickets", "create", "--template", t.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let id = ticket["id"].as_str().expect("a ticket id").to_string();
    let (out, got) = cli_in(another.path(), &config, &["tickets", "get", &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(got["id"], ticket["id"]);
    assert_eq!(got["display_name"], "Add jane");
    let (out, _) = cli_in(
        elsewhere.path(),
        &config,
        &[
            "tickets", "note", &id, "--text", "done", "--status", "Closed",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("ticket {id}")));
    let (_, got) = cli_in(another.path(), &config, &["tickets", "get", &id]);
    assert_eq!(got["status"]["name"], "Closed", "{got}");
    let (out, _) = cli_in(another.path(), &config, &["tickets", "schemas", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let schemas = String::from_utf8_lossy(&out.stdout).into_owned();
    let first: serde_json::Value =
        serde_json::from_str(schemas.lines().next().unwrap_or_default()).expect("JSON lines");
    assert_eq!(first["id"], "1", "{schemas}");
    let (out, _) = cli_in(another.path(), &config, &["tickets", "schemas"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("statuses:"));

    // Every bad template exits 65, through the daemon too.
    bad_templates_exit_65(another.path(), &config);

    // Nothing was written where the CLI ran, except the test's own templates.
    assert!(dir_names(elsewhere.path()).is_empty());
    assert!(
        dir_names(another.path())
            .iter()
            .all(|n| n.ends_with(".json")),
        "{:?}",
        dir_names(another.path())
    );
    daemon.sigterm();
}

/// Each kind of bad template: exit 65, whether the daemon or this process checks it.
pub fn bad_templates_exit_65(dir: &Path, config: &Path) {
    let cases = [
        ("unreadable", None),
        ("not_json", Some("{ not json")),
        (
            "unknown_key",
            Some(r#"{"schema_id": "1", "display_name": "x", "nope": 1}"#),
        ),
        (
            "unknown_schema",
            Some(r#"{"schema_id": "999", "display_name": "x"}"#),
        ),
        (
            "unknown_status",
            Some(
                r#"{"schema_id": "1", "status_id": "77", "display_name": "x",
                   "custom_fields": {"CFRequestReason": "r"}}"#,
            ),
        ),
        (
            "bad_pick_value",
            Some(
                r#"{"schema_id": "1", "display_name": "x",
                   "custom_fields": {"CFRequestReason": "r", "CFAccessLevel": "Superuser"}}"#,
            ),
        ),
        (
            "unknown_field",
            Some(
                r#"{"schema_id": "1", "display_name": "x",
                   "custom_fields": {"CFRequestReason": "r", "CFNope": "x"}}"#,
            ),
        ),
        (
            "missing_required_field",
            Some(r#"{"schema_id": "1", "display_name": "x"}"#),
        ),
    ];
    for (name, body) in cases {
        let path = match body {
            Some(body) => template(dir, &format!("{name}.json"), body),
            None => dir.join("missing.json"),
        };
        let (out, _) = cli_in(
            dir,
            config,
            &["tickets", "create", "--template", path.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(65), "{name}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{name}: nothing created");
    }
}

#[test]
fn the_embedded_simulator_without_a_daemon_refuses_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let config = demo_like(home.path(), ON);
    let elsewhere = tempfile::tempdir().unwrap();
    let t = template(home.path(), "t.json", GOOD_TEMPLATE);
    for args in [
        vec![
            "grant",
            "--entitlement",
            "team:2:member",
            "--principal",
            "agent:3",
        ],
        vec!["tickets", "create", "--template", t.to_str().unwrap()],
        vec!["tickets", "get", "1"],
    ] {
        let (out, _) = cli_in(elsewhere.path(), &config, &args);
        assert_eq!(out.status.code(), Some(69), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("start the daemon"),
            "{}",
            stderr(&out)
        );
        assert!(out.stdout.is_empty(), "{args:?}: nothing reported");
    }
    assert!(dir_names(elsewhere.path()).is_empty());
    assert_eq!(dir_names(home.path()), ["config.toml", "t.json"]);
}

/// One raw request line's answer, and whether the daemon then closed the connection.
fn answer_then_closed(stream: UnixStream) -> (serde_json::Value, bool) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("an answer line");
    let answer = serde_json::from_str(line.trim()).expect("a JSON answer");
    let mut rest = String::new();
    // Closed: end of stream, or a reset when the daemon left unread bytes behind; a
    // timeout would mean the connection is still open.
    let closed = match reader.read_line(&mut rest) {
        Ok(n) => n == 0,
        Err(e) => !matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
    };
    (answer, closed)
}

#[test]
fn an_over_long_or_idle_request_is_answered_and_closed() {
    let home = tempfile::tempdir().unwrap();
    let config = demo_like(
        home.path(),
        &format!("{ON}socket_max_request_bytes = 1024\nsocket_idle_timeout = \"200ms\""),
    );
    let mut daemon = start(&config);
    let socket = home.path().join("var/control.sock");

    // 64 KiB without a newline, against a 1 KiB cap.
    let stream = UnixStream::connect(&socket).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let flood = std::thread::spawn(move || {
        // The daemon stops reading at the cap: a broken pipe here is expected.
        let _ = writer.write_all(&vec![b'x'; 64 * 1024]);
    });
    let (answer, closed) = answer_then_closed(stream);
    flood.join().unwrap();
    assert_eq!(answer["kind"], "too_long", "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("1024"),
        "{answer}"
    );
    assert!(closed);

    // A client that sends nothing.
    let (answer, closed) = answer_then_closed(UnixStream::connect(&socket).unwrap());
    assert_eq!(answer["kind"], "idle", "{answer}");
    assert!(closed);

    // A line of garbage under the cap is a bad request, not a crash.
    let mut stream = UnixStream::connect(&socket).unwrap();
    stream.write_all(b"{\"nope\": 1}\n").unwrap();
    let (answer, _) = answer_then_closed(stream);
    assert_eq!(answer["kind"], "bad_request", "{answer}");

    // The daemon still serves.
    let (out, json) = cli_in(home.path(), &config, &["operations", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(json["operations"].is_array(), "{json}");
    daemon.sigterm();
}

#[test]
fn connections_over_the_cap_are_answered_busy() {
    let home = tempfile::tempdir().unwrap();
    let config = demo_like(home.path(), &format!("{ON}socket_max_connections = 2"));
    let mut daemon = start(&config);
    let socket = home.path().join("var/control.sock");
    // Two silent clients hold both slots (the idle timeout is the default 30 s);
    // connections are accepted in order, so the third finds none.
    let held: Vec<UnixStream> = (0..2)
        .map(|_| UnixStream::connect(&socket).unwrap())
        .collect();
    let (answer, closed) = answer_then_closed(UnixStream::connect(&socket).unwrap());
    assert_eq!(answer["kind"], "busy", "{answer}");
    assert!(closed);
    // The CLI says so too, and does not fall back to acting on its own.
    let (out, _) = cli_in(home.path(), &config, &["operations", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("busy"), "{}", stderr(&out));

    // Once they go, a request is served again (the daemon notices the hang-ups soon).
    drop(held);
    let mut served = false;
    for _ in 0..200 {
        let (out, json) = cli_in(home.path(), &config, &["operations", "--json"]);
        if out.status.success() {
            assert!(json["operations"].is_array(), "{json}");
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(served, "the slots were not released");
    daemon.sigterm();
}

#[test]
fn without_provisioning_the_daemon_still_serves_tickets() {
    let home = tempfile::tempdir().unwrap();
    let config = demo_like(home.path(), "# enabled: left at its default (off)");
    let mut daemon = start(&config);
    // In-process would refuse (the embedded simulator): success is the daemon's answer.
    let (out, _) = cli_in(home.path(), &config, &["tickets", "schemas"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, json) = cli_in(
        home.path(),
        &config,
        &[
            "grant",
            "--entitlement",
            "team:2:member",
            "--principal",
            "agent:3",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        json["outcome"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("provisioning is not enabled")),
        "{json}"
    );
    assert!(!home.path().join("var/provisioning.sqlite3").exists());
    daemon.sigterm();
}
