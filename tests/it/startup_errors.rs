//! Start-up refusals (issue 19): a busy or unusable `http.listen`, an unwritable
//! `output.dir` and a provisioning journal held by a running daemon each stop `run` with
//! one error line naming the port or path and the exit code docs/operations.md lists,
//! and no panic or backtrace even under RUST_BACKTRACE=1.

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::daemon::{BIN, Daemon};
use crate::support::leaks::Scanned as _;

/// `run` in the foreground, as systemd would start it with the unit's RUST_BACKTRACE=1.
fn run(config: &Path) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("RUST_BACKTRACE", "1")
        .env("BATON_HALO__CLIENT_SECRET", "test-secret")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("BATON_CONFIG")
        .env_remove("BATON_HTTP__LISTEN")
        .output_scanned()
        .expect("run the binary")
}

/// A config in `dir` listening on `listen` and writing into `out`; `extra` is appended.
/// Halo is never reached: no sync runs at start.
fn config(dir: &Path, listen: &str, out: &Path, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        r#"
[halo]
base_url = "http://127.0.0.1:9/api"
client_id = "startup-test"

[sync]
on_start = false

[output]
dir = "{out}"

[http]
listen = "{listen}"
{extra}
"#,
        out = out.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Refused with `code`, one `error:` line that contains `names`, and no panic.
fn assert_refused(out: &Output, code: i32, names: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{err}");
    let lower = err.to_lowercase();
    assert!(!lower.contains("panicked"), "a panic on stderr:\n{err}");
    assert!(
        !lower.contains("backtrace"),
        "a backtrace on stderr:\n{err}"
    );
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line:\n{err}");
    assert!(errors[0].contains(names), "{names} not named:\n{err}");
}

#[test]
fn a_busy_port_exits_69_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    // Held for the whole test: the daemon must find the port taken.
    let held = TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = held.local_addr().unwrap().to_string();
    let cfg = config(dir.path(), &listen, &dir.path().join("out"), "");
    let out = run(&cfg);
    assert_refused(&out, 69, &listen);
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.listen"));
}

#[test]
fn an_address_not_on_this_host_exits_69_naming_it() {
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never a local address, so the bind is
    // refused (EADDRNOTAVAIL) for root as for anyone.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "192.0.2.1:9898", &dir.path().join("out"), "");
    assert_refused(&run(&cfg), 69, "192.0.2.1:9898");
}

#[test]
fn a_privileged_port_exits_69_naming_it() {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    let first_unprivileged: u32 =
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(1024);
    if root || first_unprivileged <= 1 {
        eprintln!(
            "skipped: port 1 is not forbidden here (root: {root}, ip_unprivileged_port_start: {first_unprivileged})"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:1", &dir.path().join("out"), "");
    assert_refused(&run(&cfg), 69, "127.0.0.1:1");
}

#[test]
fn an_unwritable_output_dir_exits_73_naming_it() {
    // A file where the directory should be: refused even for root.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("state");
    std::fs::write(&file, b"not a directory").unwrap();
    let out_dir = file.join("snapshots");
    let cfg = config(dir.path(), "127.0.0.1:0", &out_dir, "");
    let out = run(&cfg);
    assert_refused(&out, 73, &out_dir.display().to_string());
    assert!(String::from_utf8_lossy(&out.stderr).contains("output.dir"));
}

#[test]
fn a_journal_held_by_a_running_daemon_exits_74_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.sqlite3");
    let provisioning = format!(
        "[provisioning]\nenabled = true\njournal = \"{}\"\nsocket = \"{}\"\n",
        journal.display(),
        dir.path().join("control.sock").display()
    );
    // Port 0: the second daemon gets a port of its own, so only the journal is shared.
    let cfg = config(
        dir.path(),
        "127.0.0.1:0",
        &dir.path().join("out"),
        &provisioning,
    );
    let mut first = Daemon::start(&cfg, &[("BATON_HALO__CLIENT_SECRET", "test-secret")]);
    let second = run(&cfg);
    assert_refused(&second, 74, &journal.display().to_string());
    // The first one is unaffected: it still answers and stops cleanly.
    assert_eq!(first.get("/healthz").0, 200);
    assert!(first.sigterm().success());
}

#[test]
fn an_unusable_control_socket_exits_74_naming_it() {
    // The socket is bound last, once the journal is open: the refusal that used to come
    // after the actors were spawned.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run");
    std::fs::write(&file, b"not a directory").unwrap();
    let socket = file.join("control.sock");
    let provisioning = format!(
        "[provisioning]\nenabled = true\njournal = \"{}\"\nsocket = \"{}\"\n",
        dir.path().join("journal.sqlite3").display(),
        socket.display()
    );
    let cfg = config(
        dir.path(),
        "127.0.0.1:0",
        &dir.path().join("out"),
        &provisioning,
    );
    assert_refused(&run(&cfg), 74, &socket.display().to_string());
}
