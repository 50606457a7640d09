//! Hostile answers from Halo (issue 18): the real `baton-haloitsm sync -f` (and `tickets
//! schemas`) against the simulator armed with a broken 200 on one path. Each run fails
//! with a classified error naming the endpoint (and the row and field, or the content
//! type and first bytes), and publishes no snapshot.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use haloitsm_sim::{Hostile, RowEdit, SimConfig, SimHandle};
use serde_json::json;

use crate::support::daemon::BIN;
use crate::support::dir_names;
use crate::support::leaks::Scanned as _;
use crate::support::provisioning::config_text;
use crate::support::sim::start;

/// Every request on the armed path gets the hostile answer, retries included.
const ALWAYS: u32 = 1_000;
/// The cap the tests configure: far above the simulator's pages, far below the default.
const CAP: u64 = 1024 * 1024;

fn sim_config() -> SimConfig {
    SimConfig {
        seed: 18,
        agents: 12,
        teams: 3,
        roles: 2,
        users: 3,
        ticket_types: 2,
        ..SimConfig::default()
    }
}

struct Run {
    dir: tempfile::TempDir,
    cfg: PathBuf,
}

impl Run {
    fn new(sim: &SimHandle) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let halo = format!("max_response_bytes = {CAP}\nmax_attempts = 2");
        let text = config_text(dir.path(), &sim.base_url(), &halo, "");
        let cfg = dir.path().join("config.toml");
        std::fs::write(&cfg, text).unwrap();
        Run { dir, cfg }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("snap").join("out.c1z")
    }

    /// `baton-haloitsm --config .. <args>`, off the runtime thread that serves the simulator.
    async fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.arg("--config").arg(&self.cfg).args(args);
        tokio::task::spawn_blocking(move || cmd.output_scanned().unwrap())
            .await
            .unwrap()
    }

    async fn sync(&self) -> Output {
        std::fs::create_dir_all(self.out().parent().unwrap()).unwrap();
        let out = self.out();
        self.cli(&["sync", "-f", out.to_str().unwrap()]).await
    }
}

/// The sync failed, its message holds every needle, and nothing was published.
fn assert_refused(run: &Run, o: &Output, needles: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "sync must fail: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "missing `{n}` in: {stderr}");
    }
    assert!(!run.out().exists(), "a snapshot was published: {stderr}");
    let left: Vec<_> = dir_names(run.out().parent().unwrap());
    assert!(left.is_empty(), "files left at the destination: {left:?}");
    stderr
}

/// The first line of stderr that carries `needle` (for docs/reliability.md).
fn line_with<'a>(stderr: &'a str, needle: &str) -> &'a str {
    stderr.lines().find(|l| l.contains(needle)).unwrap_or("")
}

async fn refused(path: &str, hostile: Hostile, needles: &[&str]) -> String {
    let sim = start(sim_config()).await;
    sim.control().hostile_next(ALWAYS, hostile, Some(path));
    let run = Run::new(&sim);
    let o = run.sync().await;
    let stderr = assert_refused(&run, &o, needles);
    // The final line, for docs/reliability.md (`-- --nocapture` shows it).
    eprintln!("{}", line_with(&stderr, "error: "));
    line_with(&stderr, needles[0]).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_body_is_cut_at_the_cap() {
    refused(
        "/api/Agent",
        Hostile::EndlessBody,
        &[
            "halo protocol error (HTTP 200) on /api/Agent",
            &format!("response body exceeds the limit of {CAP} bytes (halo.max_response_bytes"),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_oversized_body_is_refused_before_reading() {
    refused(
        "/api/Team",
        Hostile::OversizedBody(2 * CAP),
        &[
            "on /api/Team",
            &format!("exceeds the limit of {CAP} bytes"),
            &format!("Content-Length is {}", 2 * CAP),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_token_answer_fails_cleanly() {
    refused(
        "/auth/token",
        Hostile::EndlessBody,
        &[
            "token answer from /auth/token: response body exceeds the limit",
            "halo protocol error",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_200_shows_content_type_and_first_bytes() {
    refused(
        "/api/Agent",
        Hostile::Html200,
        &[
            "on /api/Agent",
            "expected a JSON body, got Content-Type `text/html; charset=utf-8` starting with \
             `<!DOCTYPE html> <html><head><title>Sign in",
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_json_bodies_are_protocol_errors() {
    for (hostile, needle) in [
        (
            Hostile::InvalidUtf8,
            "response body is not valid UTF-8 (bad byte at offset",
        ),
        (Hostile::DeepNesting(1000), "recursion limit exceeded"),
        (Hostile::NumberOutOfRange, "number out of range"),
    ] {
        refused(
            "/api/Agent",
            hostile,
            &["halo protocol error", "on /api/Agent", needle],
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_without_a_usable_id_name_endpoint_row_and_field() {
    let last = |edit| Hostile::Rows {
        key: None,
        edit,
        every: false,
    };
    // The simulator's 12 agents fit one page: the last row is row 12.
    for (path, hostile, needle) in [
        (
            "/api/Agent",
            last(RowEdit::Drop("id".into())),
            "on /api/Agent: row 12: missing field `id`",
        ),
        (
            "/api/Agent",
            last(RowEdit::Set("id".into(), json!("abc"))),
            "on /api/Agent: row 12: field `id` is not an integer: \"abc\"",
        ),
        (
            "/api/Agent",
            last(RowEdit::Set("id".into(), json!(1.0e30))),
            "on /api/Agent: row 12: field `id` is out of range or not an integer",
        ),
        (
            "/api/Team",
            last(RowEdit::Drop("id".into())),
            "on /api/Team: row 3: missing field `id`",
        ),
        (
            "/api/Roles",
            last(RowEdit::Set("id".into(), json!(null))),
            "on /api/Roles: row 2: field `id` is not a non-empty string: null",
        ),
    ] {
        refused(path, hostile, &["halo protocol error", needle]).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_different_rows_with_one_id_are_refused() {
    refused(
        "/api/Agent",
        Hostile::Rows {
            key: None,
            edit: RowEdit::CopyFirstId,
            every: false,
        },
        &["on /api/Agent: rows 1 and 12 both have `id`", "but differ"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implausible_record_count_is_refused() {
    for (value, shown) in [
        (json!(-5), "record_count -5"),
        (json!(1e12), "record_count 1000000000000.0"),
        (json!("lots"), "record_count \"lots\""),
    ] {
        refused(
            "/api/Agent",
            Hostile::RecordCount(value),
            &[
                "on /api/Agent",
                shown,
                "is not a plausible row count (0 to 10000000)",
            ],
        )
        .await;
    }
}

/// `tickets schemas`: statuses whose ids came under another name are an error, never six
/// statuses with id "0"; the same for a ticket type's allowed statuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_schemas_refuse_statuses_without_ids() {
    let rename = |key: Option<&str>, from: &str| Hostile::Rows {
        key: key.map(str::to_string),
        edit: RowEdit::Rename(from.into(), "ident".into()),
        every: true,
    };
    for (path, hostile, needle) in [
        (
            "/api/Status",
            rename(None, "id"),
            "on /api/Status: row 1: missing field `id`",
        ),
        (
            "/api/TicketType/",
            rename(Some("allowed_status"), "status_id"),
            "on /api/TicketType/{id}: object does not parse: `allowed_status` row 1: \
             missing field `status_id`",
        ),
    ] {
        let sim = start(sim_config()).await;
        sim.control().hostile_next(ALWAYS, hostile, Some(path));
        let run = Run::new(&sim);
        let o = run.cli(&["tickets", "schemas"]).await;
        let stdout = String::from_utf8_lossy(&o.stdout);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stdout}\n{stderr}");
        assert!(!stdout.contains("\"0\""), "{stdout}");
        assert!(stderr.contains(needle), "missing `{needle}` in: {stderr}");
        eprintln!("{}", line_with(&stderr, "error: "));
    }
}

/// The same sync without a hostile answer succeeds: the strict model reads the simulator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sound_tenant_still_syncs() {
    let sim = start(sim_config()).await;
    let run = Run::new(&sim);
    let o = run.sync().await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(Path::new(&run.out()).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_so_the_secret_stays_put() {
    // Where a proxy (or an attacker) would have the token request sent: nothing may arrive.
    let thief = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    thief.set_nonblocking(true).unwrap();
    let location = format!("http://{}/steal", thief.local_addr().unwrap());
    for path in ["/auth/token", "/api/Agent"] {
        refused(
            path,
            Hostile::Redirect(location.clone()),
            &["(HTTP 307)", "a redirect, refused"],
        )
        .await;
    }
    assert!(
        matches!(thief.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "a redirect was followed"
    );
}
