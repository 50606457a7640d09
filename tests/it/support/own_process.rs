//! One test alone in a fresh process of this test binary.
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
        .output()
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
