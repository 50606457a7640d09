//! The deployment assets against the real binary.
//!
//! - Every metric name that the alert rules, their promtool unit tests and the Grafana
//!   dashboard use is one a running daemon exports (after a sync against the embedded
//!   simulator, so that the per-request series exist); every alert has a unit test; the
//!   dashboard's panels are well formed.
//! - The container image: the Containerfile at the root is built (podman, or docker with a
//!   running engine) around the binary `cargo test` already built (no second build; debug
//!   info stripped, the shared libraries `ldd` lists added next to it since that binary is
//!   dynamically linked, unlike the static release binary of a real image). Its root file
//!   system is exported and, from it (chroot, as the image's user 65532), the test runs
//!   `--version`, `check-config` and a full sync against the simulator on loopback, whose
//!   host name is resolved through a DNS server of the test's own (127.0.0.77:53), as in a
//!   container. Skipped, with a message, without root or a container engine.
//!
//! Self-contained: std, the crate's dependencies and the dev-dependencies only.

use crate::support::leaks::Scanned as _;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_baton-haloitsm");
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The image's user and state directory (Containerfile, deploy/k8s).
const IMAGE_UID: u32 = 65532;
const STATE_DIR: &str = "var/lib/baton-haloitsm";
/// Where the Containerfile takes the binary from (its `ARG BINARY` default).
const IMAGE_BINARY_PATH: &str = "target/x86_64-unknown-linux-gnu/release/baton-haloitsm";
/// The simulator's host name inside the image, answered by the test's DNS server.
const SIM_HOST: &str = "halo-sim.test";
const DNS_ADDR: &str = "127.0.0.77:53";

// ---------------------------------------------------------------------------------------
// Processes whose JSON log lines (stderr) are collected.

struct Logged {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Logged {
    fn spawn(mut cmd: Command) -> Logged {
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn baton-haloitsm");
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                crate::support::leaks::scan("the image's daemon log", &line);
                sink.lock().unwrap().push(line);
            }
        });
        Logged { child, lines }
    }

    fn text(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The first log line (as JSON) for which `pick` returns a value, within `within`.
    fn wait_for<T>(
        &mut self,
        within: Duration,
        pick: impl Fn(&serde_json::Value) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + within;
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find_map(|v| pick(&v));
            if let Some(v) = found {
                return v;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("process exited early with {status}:\n{}", self.text());
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for a log line:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Logged {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn message_is(v: &serde_json::Value, prefix: &str) -> bool {
    v.get("message")
        .and_then(|m| m.as_str())
        .is_some_and(|m| m.starts_with(prefix))
}

// ---------------------------------------------------------------------------------------
// Metric names used by the assets vs. exported by the daemon.

fn deploy_files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let dir = Path::new(REPO).join("deploy").join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no *.{ext} in {}", dir.display());
    v
}

/// Identifiers in `text` that name our metrics or the standard process metrics.
fn metric_names_in(text: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| c.is_ascii_alphabetic() || c == '_') {
        let preceded = start > 0 && rest[..start].chars().next_back().is_some_and(is_ident);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !is_ident(c)).unwrap_or(tail.len());
        let word = &tail[..end];
        if !preceded && (word.starts_with("baton_haloitsm_") || word.starts_with("process_")) {
            out.insert(word.to_string());
        }
        rest = &tail[end.max(1)..];
    }
    out
}

/// Metric names in a Prometheus text exposition (histograms as `_bucket`, `_sum`, `_count`).
fn exported_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

#[test]
fn alerts_and_dashboard_use_only_metrics_the_daemon_exports() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[halo]
base_url = "http://127.0.0.1:1"
client_id = "ignored"

[simulator.tenant]
seed = 5
agents = 30
teams = 4
roles = 3

[sync]
on_start = true
interval = "1h"

[output]
dir = "{}"

[http]
listen = "127.0.0.1:0"

[daemon]
shutdown_grace = "5s"
"#,
            dir.path().join("snapshots").display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["--log-format", "json", "--config"])
        .arg(&config)
        .arg("run")
        .env_remove("NOTIFY_SOCKET");
    let mut daemon = Logged::spawn(cmd);
    let addr: SocketAddr = daemon.wait_for(Duration::from_secs(20), |v| {
        if message_is(v, "http endpoint listening") {
            v.get("addr")?.as_str()?.parse().ok()
        } else {
            None
        }
    });
    // A finished sync: the per-request and per-sync series exist from then on.
    daemon.wait_for(Duration::from_secs(60), |v| {
        message_is(v, "sync finished").then_some(())
    });
    let (code, body) = crate::support::daemon::http(addr, "GET", "/metrics");
    assert_eq!(code, 200, "{body}");
    let exported = exported_names(&body);

    let mut used: Vec<(PathBuf, BTreeSet<String>)> = Vec::new();
    for path in deploy_files("prometheus", "yml")
        .into_iter()
        .chain(deploy_files("grafana", "json"))
    {
        let text = std::fs::read_to_string(&path).unwrap();
        used.push((path, metric_names_in(&text)));
    }
    let all: BTreeSet<&String> = used.iter().flat_map(|(_, n)| n).collect();
    assert!(
        all.len() >= 25,
        "suspiciously few metric names found in deploy/: {all:?}"
    );
    let mut missing = Vec::new();
    for (path, names) in &used {
        for n in names.iter().filter(|n| !exported.contains(*n)) {
            missing.push(format!("{}: {n}", path.display()));
        }
    }
    assert!(
        missing.is_empty(),
        "metric names the daemon does not export:\n{}\n\nexported:\n{exported:?}",
        missing.join("\n")
    );
}

#[test]
fn every_alert_has_a_promtool_unit_test() {
    let dir = Path::new(REPO).join("deploy/prometheus");
    let rules = std::fs::read_to_string(dir.join("baton-haloitsm.rules.yml")).unwrap();
    let tests = std::fs::read_to_string(dir.join("baton-haloitsm.rules.test.yml")).unwrap();
    let alerts: Vec<&str> = rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert:"))
        .map(str::trim)
        .collect();
    assert!(alerts.len() >= 10, "{alerts:?}");
    for alert in &alerts {
        let cases = tests
            .lines()
            .filter(|l| l.trim() == format!("alertname: {alert}"))
            .count();
        assert!(
            cases >= 2,
            "{alert}: {cases} promtool cases; want one where it fires and one where it does not"
        );
    }
    assert!(tests.contains("rule_files:\n  - baton-haloitsm.rules.yml"));
}

#[test]
fn dashboard_panels_are_well_formed() {
    for path in deploy_files("grafana", "json") {
        let text = std::fs::read_to_string(&path).unwrap();
        let dash: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        assert!(dash["uid"].as_str().is_some_and(|u| !u.is_empty()));
        let panels = dash["panels"].as_array().expect("panels");
        let mut ids = BTreeSet::new();
        let mut cells = BTreeSet::new();
        let mut rows = Vec::new();
        for p in panels {
            let title = p["title"].as_str().unwrap_or_default();
            assert!(
                ids.insert(p["id"].as_i64().expect("panel id")),
                "duplicate id: {title}"
            );
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap(),
                g["y"].as_u64().unwrap(),
                g["w"].as_u64().unwrap(),
                g["h"].as_u64().unwrap(),
            );
            assert!(x + w <= 24, "{title}: wider than the grid");
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(cells.insert((cx, cy)), "{title}: overlaps another panel");
                }
            }
            if p["type"] == "row" {
                rows.push(title.to_string());
                continue;
            }
            let targets = p["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{title}: no query");
            for t in targets {
                assert!(
                    t["expr"]
                        .as_str()
                        .is_some_and(|e| e.contains("baton_haloitsm_") || e.contains("process_")),
                    "{title}: {t}"
                );
            }
        }
        for section in [
            "Sync health",
            "Halo API budget",
            "Provisioning",
            "Ticketing",
            "C1 link",
            "Actors and process",
        ] {
            assert!(
                rows.iter().any(|r| r == section),
                "no row {section}: {rows:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The container image.

/// podman (or docker), when one answers; `None` with the reason otherwise.
fn container_engine() -> Result<&'static str, String> {
    for engine in ["podman", "docker"] {
        match Command::new(engine)
            .arg("info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Ok(s) if s.success() => return Ok(engine),
            _ => continue,
        }
    }
    Err("neither podman nor a docker engine answers `info`".into())
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output_scanned()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Removes the test's container and image, whatever happens.
struct EngineCleanup {
    engine: &'static str,
    image: String,
    container: String,
}

impl Drop for EngineCleanup {
    fn drop(&mut self) {
        let quiet = |args: &[&str]| {
            let _ = Command::new(self.engine)
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        quiet(&["rm", "-f", &self.container]);
        quiet(&["rmi", "-f", &self.image]);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Every path under `root`, relative, with whether it is an executable regular file.
fn tree(root: &Path) -> BTreeSet<(String, bool)> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<(String, bool)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let exec = meta.is_file() && meta.permissions().mode() & 0o111 != 0;
            out.insert((rel, exec));
            if meta.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(root, root, &mut out);
    out
}

/// The shared libraries (and loader) `ldd` lists for `bin`; empty for a static binary.
fn shared_libraries(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd")
        .arg(bin)
        .output_scanned()
        .expect("run ldd");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let path = match l.split_once("=>") {
                Some((_, rest)) => rest.split_whitespace().next()?,
                None => l.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// A DNS answer to `query`: `SIM_HOST` A -> 127.0.0.1, no AAAA, anything else NXDOMAIN.
fn dns_answer(q: &[u8]) -> Option<Vec<u8>> {
    if q.len() < 12 || u16::from_be_bytes([q[4], q[5]]) != 1 {
        return None;
    }
    let (mut i, mut labels) = (12, Vec::new());
    loop {
        let len = *q.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len & 0xC0 != 0 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*q.get(i)?, *q.get(i + 1)?]);
    let question = q.get(12..i + 4)?;
    let known = labels.join(".") == SIM_HOST;
    let answer = known && qtype == 1;
    let mut r = Vec::with_capacity(64);
    r.extend_from_slice(&q[0..2]);
    r.push(0x84 | (q[2] & 0x01)); // response, authoritative, recursion desired as asked
    r.push(if known { 0x80 } else { 0x83 }); // recursion available; NOERROR or NXDOMAIN
    r.extend_from_slice(&[0, 1, 0, u8::from(answer), 0, 0, 0, 0]);
    r.extend_from_slice(question);
    if answer {
        r.extend_from_slice(&[0xC0, 0x0C, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1]);
    }
    Some(r)
}

/// Answers DNS on `DNS_ADDR` until dropped; counts the answers it gave for `SIM_HOST`.
struct FakeDns {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicUsize>,
}

impl FakeDns {
    fn start() -> std::io::Result<FakeDns> {
        let socket = UdpSocket::bind(DNS_ADDR)?;
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicUsize::new(0));
        let (s, a) = (stop.clone(), answered.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if let Some(reply) = dns_answer(&buf[..n]) {
                    if reply.len() > n {
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Ok(FakeDns { stop, answered })
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn container_image_runs_check_config_and_a_full_sync() {
    if !cfg!(target_os = "linux") {
        println!("SKIPPED container image test: Linux only");
        return;
    }
    if !is_root() {
        println!(
            "SKIPPED container image test: needs root (chroot into the image's root file system)"
        );
        return;
    }
    let engine = match container_engine() {
        Ok(e) => e,
        Err(why) => {
            println!("SKIPPED container image test: {why} (install podman to run it)");
            return;
        }
    };
    for tool in ["chroot", "tar", "ldd"] {
        if Command::new(tool)
            .arg("--version")
            .output_scanned()
            .is_err()
        {
            println!("SKIPPED container image test: `{tool}` not found");
            return;
        }
    }
    let work = tempfile::tempdir().unwrap();

    // The build context: what .dockerignore lets through, the test binary in the place of
    // the release one (without its debug info, like the real image's binary). A static
    // release binary built with the Containerfile's command can be packaged instead:
    // BATON_IMAGE_TEST_BINARY=target/x86_64-unknown-linux-gnu/release/baton-haloitsm.
    let packaged = std::env::var_os("BATON_IMAGE_TEST_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(BIN));
    let ctx = work.path().join("context");
    for f in ["Containerfile", ".dockerignore"] {
        std::fs::create_dir_all(&ctx).unwrap();
        std::fs::copy(Path::new(REPO).join(f), ctx.join(f)).unwrap();
    }
    copy_tree(
        &Path::new(REPO).join("deploy/container"),
        &ctx.join("deploy/container"),
    );
    let bin_in_ctx = ctx.join(IMAGE_BINARY_PATH);
    std::fs::create_dir_all(bin_in_ctx.parent().unwrap()).unwrap();
    let stripped = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(&packaged)
        .arg(&bin_in_ctx)
        .status()
        .is_ok_and(|s| s.success());
    if !stripped {
        std::fs::copy(&packaged, &bin_in_ctx)
            .unwrap_or_else(|e| panic!("{}: {e}", packaged.display()));
    }

    let tag = format!(
        "localhost/baton-haloitsm-test:{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let container = tag.replace([':', '/', '.'], "-");
    let _cleanup = EngineCleanup {
        engine,
        image: tag.clone(),
        container: container.clone(),
    };
    run(Command::new(engine)
        .args(["build", "-q", "-t", &tag, "-f"])
        .arg(ctx.join("Containerfile"))
        .arg(&ctx));

    // What the image declares.
    let inspect =
        run(Command::new(engine).args(["image", "inspect", "--format", "{{json .Config}}", &tag]));
    let config: serde_json::Value = serde_json::from_slice(&inspect.stdout).expect("inspect JSON");
    assert_eq!(config["User"], "65532:65532", "{config}");
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/baton-haloitsm"])
    );
    assert!(
        config["Volumes"].get(format!("/{STATE_DIR}")).is_some(),
        "{config}"
    );
    let image_env: Vec<(String, String)> = config["Env"]
        .as_array()
        .expect("Env")
        .iter()
        .filter_map(|e| e.as_str()?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for key in ["STATE_DIRECTORY", "TMPDIR"] {
        assert!(
            image_env
                .iter()
                .any(|(k, v)| k == key && v == &format!("/{STATE_DIR}")),
            "{key} is not the state directory: {image_env:?}"
        );
    }

    // Its root file system.
    run(Command::new(engine).args(["create", "--name", &container, &tag]));
    let tarball = work.path().join("rootfs.tar");
    run(Command::new(engine)
        .args(["export", "-o"])
        .arg(&tarball)
        .arg(&container));
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(&rootfs).unwrap();
    run(Command::new("tar")
        .args(["--numeric-owner", "-xf"])
        .arg(&tarball)
        .arg("-C")
        .arg(&rootfs));
    let _ = std::fs::remove_file(&tarball);

    // No shell, no other program: the one executable is the daemon.
    let files = tree(&rootfs);
    let executables: Vec<&String> = files.iter().filter(|(_, x)| *x).map(|(p, _)| p).collect();
    assert_eq!(executables, ["usr/local/bin/baton-haloitsm"], "{files:?}");
    for shell in ["bin/sh", "bin/bash", "bin/busybox", "usr/bin/sh"] {
        assert!(!rootfs.join(shell).exists(), "{shell} in the image");
    }
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(rootfs.join(STATE_DIR)).unwrap();
        assert_eq!(meta.uid(), IMAGE_UID, "state directory owner");
        assert_eq!(std::fs::metadata(rootfs.join("var/lib")).unwrap().uid(), 0);
        let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
        assert!(passwd.contains(":65532:65532:"), "{passwd}");
    }
    // TLS roots, where reqwest (Halo) and tonic (C1) both look for them.
    let bundle = std::fs::read_to_string(rootfs.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    let certs: Vec<&str> = bundle
        .split("-----BEGIN CERTIFICATE-----")
        .skip(1)
        .map(|c| {
            c.split("-----END CERTIFICATE-----")
                .next()
                .unwrap_or_default()
        })
        .collect();
    assert!(certs.len() >= 100, "{} certificates", certs.len());
    for c in &certs {
        use base64::Engine as _;
        let b64: String = c.split_whitespace().collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("a certificate is base64");
        assert_eq!(der.first(), Some(&0x30), "a certificate is a DER SEQUENCE");
    }

    // What a container runtime adds: the dynamic binary's libraries (a real image's binary
    // is static and needs none), /etc/hosts and /etc/resolv.conf.
    let image_bin = rootfs.join("usr/local/bin/baton-haloitsm");
    let libs = shared_libraries(&image_bin);
    for lib in &libs {
        let dest = rootfs.join(lib.strip_prefix("/").unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(lib, &dest).unwrap_or_else(|e| panic!("copy {}: {e}", lib.display()));
    }
    println!(
        "container image test: {engine}, {}; shared libraries added: {libs:?}",
        packaged.display()
    );
    let dns = FakeDns::start();
    let mut hosts = String::from("127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
    match &dns {
        Ok(_) => println!("container image test: {SIM_HOST} resolves through DNS at {DNS_ADDR}"),
        Err(e) => {
            println!(
                "container image test: cannot serve DNS on {DNS_ADDR} ({e}); {SIM_HOST} goes in /etc/hosts"
            );
            hosts.push_str(&format!("127.0.0.1 {SIM_HOST}\n"));
        }
    }
    std::fs::write(rootfs.join("etc/hosts"), hosts).unwrap();
    std::fs::write(
        rootfs.join("etc/resolv.conf"),
        format!(
            "nameserver {}\noptions timeout:2 attempts:2\n",
            DNS_ADDR.trim_end_matches(":53")
        ),
    )
    .unwrap();

    // The simulator, on the host's loopback (which the chroot shares).
    let mut sim_cmd = Command::new(BIN);
    sim_cmd.args([
        "--log-format",
        "json",
        "simulate",
        "--listen",
        "127.0.0.1:0",
        "--seed",
        "7",
        "--agents",
        "40",
        "--teams",
        "5",
        "--roles",
        "3",
    ]);
    let mut sim = Logged::spawn(sim_cmd);
    let sim_url: String = sim.wait_for(Duration::from_secs(20), |v| {
        v.get("base_url")?.as_str().map(str::to_string)
    });
    let port = sim_url.rsplit(':').next().unwrap().trim_end_matches('/');

    std::fs::create_dir_all(rootfs.join("etc/baton-haloitsm")).unwrap();
    std::fs::write(
        rootfs.join("etc/baton-haloitsm/config.toml"),
        format!(
            "[halo]\nbase_url = \"http://{SIM_HOST}:{port}\"\nclient_id = \"sim-client\"\n\
             allow_insecure_http = true\n\n\
             [http]\nlisten = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    const SECRET: &str = "sim-secret";
    // As the runtime starts it: the image's user and environment, nothing from ours.
    let in_image = |args: &[&str]| -> Output {
        let mut cmd = Command::new("chroot");
        cmd.arg(format!("--userspec={IMAGE_UID}:{IMAGE_UID}"))
            .arg(&rootfs)
            .arg("/usr/local/bin/baton-haloitsm")
            .args(args)
            .env_clear()
            .envs(image_env.iter().map(|(k, v)| (k, v)))
            .env("BATON_HALO__CLIENT_SECRET", SECRET);
        run(&mut cmd)
    };

    let version = in_image(&["--version"]);
    assert!(
        String::from_utf8_lossy(&version.stdout).contains(env!("CARGO_PKG_VERSION")),
        "{version:?}"
    );
    let check = in_image(&["check-config"]);
    let effective = String::from_utf8_lossy(&check.stdout);
    assert!(effective.contains(SIM_HOST), "{effective}");
    assert!(!effective.contains(SECRET), "secret in check-config output");

    let before = tree(&rootfs);
    let snapshot = format!("/{STATE_DIR}/image-test.c1z");
    let sync = in_image(&["--log-format", "json", "sync", "-f", &snapshot]);
    let summary = String::from_utf8_lossy(&sync.stdout);
    assert!(summary.contains(" resources, "), "{summary}");
    let published = rootfs.join(snapshot.trim_start_matches('/'));
    let inspect = run(Command::new(BIN)
        .arg("inspect")
        .arg(&published)
        .arg("stats"));
    assert!(
        String::from_utf8_lossy(&inspect.stdout).contains("agent"),
        "{inspect:?}"
    );
    // Every file the daemon wrote is under the state directory (the read-only root holds).
    let written: Vec<String> = tree(&rootfs)
        .difference(&before)
        .map(|(p, _)| p.clone())
        .filter(|p| !p.starts_with(STATE_DIR))
        .collect();
    assert!(
        written.is_empty(),
        "written outside {STATE_DIR}: {written:?}"
    );
    if let Ok(dns) = &dns {
        assert!(
            dns.answered.load(Ordering::Relaxed) > 0,
            "the sync reached the simulator without asking DNS for {SIM_HOST}"
        );
    }

    static_binary_name_lookup(&rootfs, work.path());
    drop(sim);
}

/// A real image holds a static binary (glibc linked in), which resolves names without
/// any libnss_*.so: a small static program asks for `SIM_HOST` and localhost from inside
/// the root file system. Skipped when rustc cannot build it.
fn static_binary_name_lookup(rootfs: &Path, work: &Path) {
    let src = work.join("lookup.rs");
    std::fs::write(
        &src,
        "use std::net::ToSocketAddrs;\nfn main() {\n    for h in std::env::args().skip(1) {\n        \
         let a: Vec<_> = (h.as_str(), 80).to_socket_addrs().expect(&h).collect();\n        \
         println!(\"{h} {a:?}\");\n    }\n}\n",
    )
    .unwrap();
    let probe = rootfs.join("lookup-probe");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let built = Command::new(rustc)
        .args([
            "-C",
            "target-feature=+crt-static",
            "-C",
            "debuginfo=0",
            "-o",
        ])
        .arg(&probe)
        .arg(&src)
        .output_scanned();
    match built {
        Ok(o) if o.status.success() => {}
        other => {
            println!("container image test: static name lookup not checked (rustc: {other:?})");
            return;
        }
    }
    let out = run(Command::new("chroot")
        .arg(format!("--userspec={IMAGE_UID}:{IMAGE_UID}"))
        .arg(rootfs)
        .args(["/lookup-probe", SIM_HOST, "localhost"])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{SIM_HOST} [127.0.0.1:80]"))
            && text.contains("localhost [127.0.0.1:80"),
        "{text}"
    );
    let _ = std::fs::remove_file(probe);
}
