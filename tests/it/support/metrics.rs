//! Prometheus text, a daemon's `/metrics` or this process's own registry, and running
//! a test that reads this process's registry alone in a child process.
//!
//! Metrics are process-wide: `telemetry` keeps one Prometheus registry per process, and
//! every HaloClient, sync or queue in the process counts into it. A test that asserts a
//! counter (or its delta) would count the requests of whatever test runs beside it, so it
//! runs itself again in a child process where it is the only test:
//!
//! ```ignore
//! #[actix::test]
//! async fn server_errors_are_retried_and_counted() {
//!     if ran_in_own_process(module_path!(), "server_errors_are_retried_and_counted") {
//!         return;
//!     }
//!     // ... the test, in the child ...
//! }
//! ```

use super::leaks::Scanned as _;
use std::process::Command;

/// Set in the child to the name of the one test it runs.
const CHILD: &str = "BATON_TEST_OWN_PROCESS";

/// In the parent: runs the test `module_path::name` alone in a child process, fails if it
/// fails there, and returns `true` (the caller returns). In that child: returns `false`
/// (the caller runs the test's body).
pub fn ran_in_own_process(module_path: &str, name: &str) -> bool {
    // libtest names a test by its path inside the crate, without the crate's own name.
    let module = module_path.split_once("::").map_or("", |(_, m)| m);
    let test = if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}::{name}")
    };
    if std::env::var(CHILD).is_ok_and(|t| t == test) {
        return false;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, &test)
        .output_scanned()
        .expect("run the test binary");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    // Through print!, so the test harness shows it only with --nocapture or on failure.
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(out.status.success(), "{test} failed in its own process");
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test} did not run in its own process (a wrong name?)"
    );
    true
}

/// Parse Prometheus text exposition; panics with the offending line if malformed.
/// Returns (series, value) pairs, series as written (`name{labels}`).
pub fn parse_prometheus(text: &str) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let mut parts = rest.split_whitespace();
            let kind = parts.next().unwrap_or_default();
            assert!(kind == "HELP" || kind == "TYPE", "bad comment line: {line}");
            assert!(
                parts.next().is_some(),
                "comment without metric name: {line}"
            );
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line: {line}"));
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name in: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "unterminated labels: {line}");
        }
        let v: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in: {line}")),
        };
        out.push((series.to_string(), v));
    }
    out
}

pub fn metric(samples: &[(String, f64)], series: &str) -> Option<f64> {
    samples.iter().find(|(s, _)| s == series).map(|(_, v)| *v)
}

/// The value of `series` in Prometheus `text` (0 when it is not there).
pub fn value(text: &str, series: &str) -> f64 {
    metric(&parse_prometheus(text), series).unwrap_or(0.0)
}

/// The value of `series` in this process's registry (0 when it is not there). Read it
/// only from a test that `ran_in_own_process`.
pub fn local(series: &str) -> f64 {
    value(&baton_haloitsm::telemetry::render(), series)
}
