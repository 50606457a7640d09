//! The secret-leak scan (issue 18). Every line the suite's processes print (the daemon's logs,
//! each CLI run's stdout and stderr) and every log event of the test process itself passes
//! through [`scan`], which fails the test that produced it if a Halo client secret, a C1 client
//! secret or a bearer token appears in it. The failure names where the text came from and
//! which kind of secret it held, never the secret.
//!
//! Known secrets are registered where tests make them ([`register`]); bearer tokens are
//! recognised by shape, since the simulator and the fake C1 mint them at random:
//! `sim-` + 32 hex digits (Halo) and `tok-<n>-<m>` (C1).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};

/// The simulator tenants' client secret, used by every simulator-backed config.
const SIM_SECRET: &str = "sim-secret";

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());
static LINES: AtomicU64 = AtomicU64::new(0);

/// Lines scanned so far in this test process.
pub fn lines_scanned() -> u64 {
    LINES.load(Ordering::Relaxed)
}

/// A secret this test process made (a C1 client secret, say): no output may contain it.
pub fn register(secret: &str) {
    if secret.len() >= 8 {
        SECRETS
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(secret.to_string());
    }
}

/// What kind of secret `text` holds, if any.
pub fn find(text: &str) -> Option<&'static str> {
    if text.contains(SIM_SECRET) {
        return Some("the Halo client secret");
    }
    if SECRETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|s| text.contains(s.as_str()))
    {
        return Some("a registered secret (C1 client secret)");
    }
    if has_halo_token(text) {
        return Some("a Halo bearer token (sim-<32 hex>)");
    }
    if has_c1_token(text) {
        return Some("a C1 bearer token (tok-<n>-<m>)");
    }
    None
}

/// Fails when `text` holds a secret; `origin` says where the text came from. On a test's own
/// thread that is a panic (the test fails); elsewhere (a log-reader thread, an actor) a panic
/// would be swallowed, so the whole test process aborts with the message.
pub fn scan(origin: &str, text: &str) {
    LINES.fetch_add(text.lines().count() as u64, Ordering::Relaxed);
    let Some(kind) = find(text) else { return };
    let line = text.lines().find(|l| find(l).is_some()).unwrap_or_default();
    // Where the secret was, described rather than repeated.
    let message = format!(
        "secret leak: {origin} printed {kind} in a line of {} characters",
        line.len()
    );
    let on_test_thread = std::thread::current()
        .name()
        .is_some_and(|n| n != "main" && n.contains("::"));
    if on_test_thread {
        panic!("{message}");
    }
    eprintln!("{message}");
    std::process::abort();
}

fn has_halo_token(text: &str) -> bool {
    text.match_indices("sim-").any(|(i, _)| {
        let rest = &text.as_bytes()[i + 4..];
        rest.len() >= 32 && rest[..32].iter().all(|b| b.is_ascii_hexdigit())
    })
}

fn has_c1_token(text: &str) -> bool {
    text.match_indices("tok-").any(|(i, _)| {
        let rest = &text[i + 4..];
        let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
        let n = digits(rest);
        n > 0 && rest[n..].starts_with('-') && digits(&rest[n + 1..]) > 0
    })
}

/// Runs `cmd` to completion like `Command::output`, and scans what it printed.
pub fn output(cmd: &mut std::process::Command) -> std::process::Output {
    cmd.output_scanned()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()))
}

/// `Command::output`, then the scan: `cmd.output_scanned()` wherever a test runs a process.
pub trait Scanned {
    fn output_scanned(&mut self) -> std::io::Result<std::process::Output>;
}

impl Scanned for std::process::Command {
    fn output_scanned(&mut self) -> std::io::Result<std::process::Output> {
        let out = self.output()?;
        let origin = format!("{:?}", self.get_args().collect::<Vec<_>>());
        scan(
            &format!("stdout of {origin}"),
            &String::from_utf8_lossy(&out.stdout),
        );
        scan(
            &format!("stderr of {origin}"),
            &String::from_utf8_lossy(&out.stderr),
        );
        Ok(out)
    }
}

/// Every log event of this test process (the library's actors run in-process in most tests)
/// is formatted at DEBUG, with all fields, and scanned. Idempotent; a test that installs its
/// own subscriber keeps it.
pub fn capture_in_process_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Our crates at DEBUG; dependencies (hyper, h2, rustls) only from WARN up.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "warn,baton_haloitsm=debug,haloitsm_sim=debug",
            ))
            .with_ansi(false)
            .with_writer(|| Scanner(Vec::new()))
            .try_init();
    });
}

/// One formatted event; scanned when the formatter is done with it.
struct Scanner(Vec<u8>);

impl Write for Scanner {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Scanner {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        if !std::thread::panicking() {
            scan("a log event of the test process", &text);
        }
    }
}

#[test]
fn recognises_each_kind_and_nothing_else() {
    assert_eq!(find("client_secret = [REDACTED]"), None);
    assert_eq!(find("agent sim-1 and tok-abc"), None);
    assert!(find("secret=sim-secret").is_some());
    assert!(find("Bearer sim-0123456789abcdef0123456789abcdef").is_some());
    assert!(find("authorization: tok-3-4211").is_some());
    register("C1-SECRET-FOR-THE-SCAN-TEST");
    assert!(find("x C1-SECRET-FOR-THE-SCAN-TEST y").is_some());
}

#[test]
#[should_panic(expected = "secret leak: stdout of")]
fn a_process_that_prints_a_secret_fails_the_test() {
    output(std::process::Command::new("echo").arg("client_secret=sim-secret"));
}

#[test]
fn clean_output_passes_and_is_counted() {
    let before = lines_scanned();
    let out = output(std::process::Command::new("echo").arg("client_secret = [REDACTED]"));
    assert!(out.status.success());
    assert!(lines_scanned() > before);
}
