//! The daemon's frame, as a real process: HTTP endpoints, metrics, signals,
//! config refusals with exit 78, actor restarts, and secrets kept out of logs.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::daemon::*;
use crate::support::dir_names;
use crate::support::leaks::Scanned as _;
use crate::support::metrics::{metric, parse_prometheus};

const SECRET: &str = "s3cr3t-do-not-log-7f1e";

fn base_config(extra: &str) -> String {
    format!(
        r#"
[halo]
base_url = "https://acme.haloitsm.com"
client_id = "test-client"

[http]
listen = "127.0.0.1:0"
enable_fault_injection = true

[sync]
on_start = false
interval = "1h"

[daemon]
shutdown_grace = "2s"
restart_backoff_initial = "50ms"
restart_backoff_max = "1s"
{extra}"#
    )
}

#[test]
fn endpoints_answer_and_sigterm_exits_zero() {
    let cfg = temp_config(&base_config(""));
    let mut d = Daemon::start(&cfg.path, &[("BATON_HALO__CLIENT_SECRET", SECRET)]);

    let (code, body) = d.get("/healthz");
    assert_eq!(code, 200, "{body}");
    let (code, body) = d.get("/readyz");
    assert_eq!(code, 200, "{body}");

    let (code, body) = d.get("/metrics");
    assert_eq!(code, 200);
    let samples = parse_prometheus(&body);
    assert!(
        samples
            .iter()
            .any(|(s, _)| s.starts_with("baton_haloitsm_"))
    );
    assert_eq!(
        metric(
            &samples,
            "baton_haloitsm_actor_restarts_total{actor=\"scheduler\",reason=\"panicked\"}"
        ),
        Some(0.0)
    );
    assert!(metric(&samples, "process_resident_memory_bytes").is_some_and(|v| v > 0.0));

    let (code, body) = d.get("/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&body).expect("status is JSON");
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(status["ready"], true);
    let names: Vec<_> = status["actors"]
        .as_array()
        .expect("actors")
        .iter()
        .map(|a| a["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(names.contains(&"scheduler".to_string()), "{names:?}");

    let exit = d.sigterm();
    assert_eq!(exit.code(), Some(0), "logs: {}", d.logs());
    assert!(d.logs().contains("shutting down"));
}

#[test]
fn crashed_actor_is_restarted_and_counted() {
    let cfg = temp_config(&base_config(""));
    let mut d = Daemon::start(&cfg.path, &[("BATON_HALO__CLIENT_SECRET", SECRET)]);

    let (code, body) = d.post("/debug/crash/scheduler");
    assert_eq!(code, 202, "{body}");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let samples = d.metrics();
        if metric(
            &samples,
            "baton_haloitsm_actor_restarts_total{actor=\"scheduler\",reason=\"panicked\"}",
        ) == Some(1.0)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no restart counted; logs: {}",
            d.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status: serde_json::Value = serde_json::from_str(&d.get("/status").1).unwrap();
    let sched = status["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "scheduler")
        .cloned()
        .unwrap();
    assert_eq!(sched["restarts"], 1);
    assert_eq!(sched["alive"], true);
    // Unknown actor names are refused, not ignored.
    assert_eq!(d.post("/debug/crash/nope").0, 404);
    assert_eq!(d.sigterm().code(), Some(0));
}

#[test]
fn fault_injection_is_off_by_default() {
    let cfg = temp_config(&base_config("").replace("enable_fault_injection = true", ""));
    let mut d = Daemon::start(&cfg.path, &[("BATON_HALO__CLIENT_SECRET", SECRET)]);
    assert_eq!(d.post("/debug/crash/scheduler").0, 404);
    assert_eq!(d.sigterm().code(), Some(0));
}

#[test]
fn secret_never_appears_in_logs() {
    let cfg = temp_config(&base_config(""));
    let mut d = Daemon::start(
        &cfg.path,
        &[
            ("BATON_HALO__CLIENT_SECRET", SECRET),
            ("BATON_LOG_LEVEL", "trace"),
        ],
    );
    let _ = d.get("/status");
    assert_eq!(d.sigterm().code(), Some(0));
    let logs = d.logs();
    assert!(logs.lines().count() > 3, "expected some logs: {logs}");
    assert!(!logs.contains(SECRET), "secret leaked into logs");

    // check-config prints the effective config with the secret redacted.
    let out = Command::new(BIN)
        .args(["--config"])
        .arg(&cfg.path)
        .arg("check-config")
        .env("BATON_HALO__CLIENT_SECRET", SECRET)
        .output_scanned()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("[REDACTED]"), "{stdout}");
    assert!(!stdout.contains(SECRET));
}

/// Run `run` with exactly these extra variables (the test's own secret variable removed first).
fn run_expecting_failure(config: &str, envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let cfg = temp_config(config);
    let mut cmd = Command::new(BIN);
    cmd.arg("--config")
        .arg(&cfg.path)
        .arg("run")
        .env_remove("BATON_HALO__CLIENT_SECRET");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output_scanned().expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// (config text, extra environment, key the error must name)
type Case = (String, Vec<(&'static str, &'static str)>, &'static str);

#[test]
fn bad_config_exits_78_naming_the_key() {
    let secret = ("BATON_HALO__CLIENT_SECRET", SECRET);
    let cases: Vec<Case> = vec![
        // unknown key
        (
            base_config("[output]\nkeep_forever = true\n"),
            vec![secret],
            "keep_forever",
        ),
        // bad duration
        (
            base_config("").replace("interval = \"1h\"", "interval = \"5 fortnights\""),
            vec![secret],
            "sync.interval",
        ),
        // out of range
        (
            base_config("[output]\nkeep = 0\n"),
            vec![secret],
            "output.keep",
        ),
        // bad URL
        (
            base_config("").replace("https://acme.haloitsm.com", "acme"),
            vec![secret],
            "halo.base_url",
        ),
        // missing secret file
        (
            base_config("").replace(
                "client_id = \"test-client\"",
                "client_id = \"c\"\nclient_secret_file = \"/nonexistent/halo.secret\"",
            ),
            vec![],
            "halo.client_secret_file",
        ),
        // bad value from the environment
        (
            base_config(""),
            vec![secret, ("BATON_HALO__RATE_LIMIT__REQUESTS", "lots")],
            "halo.rate_limit.requests",
        ),
        // unknown section from the environment names the variable
        (
            base_config(""),
            vec![secret, ("BATON_HAL0__X", "1")],
            "BATON_HAL0__X",
        ),
    ];
    for (config, envs, key) in &cases {
        let (code, stderr) = run_expecting_failure(config, envs);
        assert_eq!(code, Some(78), "case {key}: stderr: {stderr}");
        assert!(
            stderr.contains(key),
            "case {key}: stderr does not name the key: {stderr}"
        );
        assert!(!stderr.contains(SECRET), "case {key}: secret in stderr");
    }
}

fn sim_daemon_config(out: &std::path::Path, sim_extra: &str, sync: &str) -> String {
    format!(
        r#"
[halo]
base_url = "http://127.0.0.1:1"
client_id = "ignored"

[simulator.tenant]
seed = 3
agents = 300
teams = 10
roles = 4
{sim_extra}

[sync]
{sync}

[output]
dir = "{}"
keep = 2

[http]
listen = "127.0.0.1:0"

[daemon]
shutdown_grace = "5s"
"#,
        out.display()
    )
}

#[test]
fn scheduled_syncs_publish_latest_and_keep_the_newest() {
    let cfg = temp_config("");
    let out = cfg.dir.path().join("snapshots");
    std::fs::write(
        &cfg.path,
        sim_daemon_config(
            &out,
            "",
            "interval = \"1s\"\njitter = \"0s\"\non_start = true",
        ),
    )
    .unwrap();
    let mut d = Daemon::start(&cfg.path, &[]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while d.logs().matches("\"sync finished\"").count() < 3 {
        assert!(
            Instant::now() < deadline,
            "fewer than 3 syncs: {}",
            d.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // One "snapshot published" line per sync, naming the final file, never the staged one;
    // the writer's own line says "snapshot written".
    let logs = d.logs();
    let published: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("\"snapshot published\""))
        .collect();
    assert!(published.len() >= 3, "{logs}");
    assert!(
        published.iter().all(|l| !l.contains("staged")),
        "{published:?}"
    );
    assert!(logs.matches("\"snapshot written\"").count() >= published.len());
    let samples = d.metrics();
    assert!(
        metric(
            &samples,
            "baton_haloitsm_sync_runs_total{result=\"success\",type=\"full\"}"
        )
        .unwrap()
            >= 3.0
    );
    assert!(
        metric(
            &samples,
            "baton_haloitsm_sync_last_success_timestamp_seconds"
        )
        .unwrap()
            > 0.0
    );
    assert!(metric(&samples, "baton_haloitsm_snapshot_bytes").unwrap() > 0.0);
    assert_eq!(d.sigterm().code(), Some(0));

    let files = dir_names(&out);
    let snaps: Vec<_> = files.iter().filter(|f| f.starts_with("sync-")).collect();
    assert_eq!(snaps.len(), 2, "keep = 2: {files:?}");
    assert!(files.contains(&"latest.c1z".to_string()), "{files:?}");
    let latest = std::fs::read_link(out.join("latest.c1z")).unwrap();
    assert_eq!(
        &latest.to_string_lossy().to_string(),
        snaps.last().unwrap().as_str()
    );
    assert!(files.iter().all(|f| !f.contains(".tmp")), "{files:?}");

    // The published file is a valid c1z: `inspect` reads it.
    let out = Command::new(BIN)
        .args(["inspect"])
        .arg(out.join("latest.c1z"))
        .arg("stats")
        .output_scanned()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("agent"));
}

#[test]
fn sigterm_during_a_sync_exits_zero_and_publishes_nothing() {
    let cfg = temp_config("");
    let out = cfg.dir.path().join("snapshots");
    std::fs::write(
        &cfg.path,
        sim_daemon_config(
            &out,
            "agents = 3000\nlatency = { fixed = \"100ms\", jitter = \"0s\" }",
            "on_start = true",
        )
        .replace("agents = 300\n", ""),
    )
    .unwrap();
    let mut d = Daemon::start(&cfg.path, &[]);
    assert!(
        d.wait_for_log("teams listed", Duration::from_secs(20)),
        "sync did not start: {}",
        d.logs()
    );
    assert_eq!(d.sigterm().code(), Some(0), "{}", d.logs());
    // Cancelled within the grace period (not abandoned when it ran out).
    assert!(d.logs().contains("in-flight work drained"), "{}", d.logs());
    let files = dir_names(&out);
    assert!(files.is_empty(), "a cancelled sync left files: {files:?}");
    assert!(d.logs().contains("sync cancelled"), "{}", d.logs());
}

/// The systemd watchdog: with `NOTIFY_SOCKET` and `WATCHDOG_USEC` set, the daemon pings
/// (READY=1, then WATCHDOG=1 every half period) only while its actor system's thread makes
/// progress. Wedging that thread for 3 s withholds the pings for as long, and they resume
/// afterwards — so systemd would restart a wedged daemon and leave a healthy one alone.
#[test]
fn watchdog_pings_stop_while_the_actor_thread_is_wedged() {
    use std::os::unix::net::UnixDatagram;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let got: Arc<Mutex<Vec<(Instant, String)>>> = Arc::default();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (got, done) = (got.clone(), done.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(n) = sock.recv(&mut buf) {
                    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                    got.lock().unwrap().push((Instant::now(), msg));
                }
            }
        })
    };
    let pings_after = |t: Instant| -> Vec<Instant> {
        got.lock()
            .unwrap()
            .iter()
            .filter(|(at, m)| *at > t && m.contains("WATCHDOG=1"))
            .map(|(at, _)| *at)
            .collect()
    };
    let wait_for = |what: &str, f: &dyn Fn() -> bool| {
        for _ in 0..1000 {
            if f() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("gave up waiting for {what}");
    };

    let cfg = temp_config(&base_config(""));
    let sock_env = sock_path.to_string_lossy().to_string();
    let mut d = Daemon::start(
        &cfg.path,
        &[
            ("BATON_HALO__CLIENT_SECRET", SECRET),
            ("NOTIFY_SOCKET", &sock_env),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let start = Instant::now() - Duration::from_secs(60);
    wait_for("three pings", &|| pings_after(start).len() >= 3);
    assert!(
        got.lock()
            .unwrap()
            .iter()
            .any(|(_, m)| m.contains("READY=1")),
        "READY=1 was sent"
    );

    let wedge = Duration::from_secs(3);
    let before = Instant::now();
    let (code, _) = d.post(&format!("/debug/wedge/{}", wedge.as_millis()));
    assert_eq!(code, 202);
    // Pings resume once the thread is free again.
    wait_for("pings after the wedge", &|| {
        pings_after(before)
            .iter()
            .filter(|at| **at > before + wedge)
            .count()
            >= 2
    });
    let mut times = vec![before];
    times.extend(pings_after(before));
    let longest = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    // The thread was blocked for 3 s; the ping period is 200 ms. Pings only stop if the
    // watchdog depends on that thread, which is the point.
    assert!(
        longest >= Duration::from_millis(2500),
        "pings went on while the thread was wedged (longest gap {longest:?})"
    );
    assert!(
        d.logs().contains("blocking the actor system's thread"),
        "{}",
        d.logs()
    );
    assert!(d.sigterm().success());
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    reader.join().unwrap();
    assert!(
        got.lock()
            .unwrap()
            .iter()
            .any(|(_, m)| m.contains("STOPPING=1")),
        "STOPPING=1 was sent"
    );
}
