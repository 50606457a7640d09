//! The sync fault matrix (issue 18): `baton-haloitsm sync -f` (the real binary) against a
//! simulator tenant, once fault-free and once per fault. Each faulty run must give either
//! the fault-free rows exactly (resources, entitlements, grants, resource types) or a
//! clean failure: a non-zero exit, an `error:` line naming the cause, and nothing at all
//! in the output directory (no snapshot, no temp file).
//!
//! Sizes: 1,000 agents and short outages by default (CI); `FAULT_MATRIX_AGENTS=5000` and
//! `FAULT_MATRIX_FULL=1` give the issue's sizes (30 s token outage). With
//! `FAULT_MATRIX_REPORT=1` (and `--nocapture`) it prints the Markdown table that
//! docs/reliability.md quotes.
//!
//! Paging guarantee checked by the insert/delete rows: the agent list is paged by offset,
//! so a change between two pages shifts the rest. The sync publishes the rows of the
//! tenant as it stands at the end of the sync (checked against a fault-free sync of that
//! final state), or fails cleanly; never a row missing, duplicated or left over.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use haloitsm_sim::{FaultConfig, LatencyConfig, RateLimitConfig, SimConfig, SimControl, SimHandle};

use crate::support::c1z;
use crate::support::daemon::BIN;
use crate::support::dir_names;
use crate::support::env_or;
use crate::support::provisioning::config_text;
use crate::support::sim::start;

/// Per-request timeout of the sync under test; the latency fault stalls past it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    None,
    RateLimitStorm,
    ServerErrors,
    ConnectionResets,
    LatencyPastTimeout,
    ShortLivedTokens,
    TokenEndpointDown,
    InsertDeleteBetweenPages,
    InsertDeleteBalanced,
    DiskFull,
}

const FAULTS: [Fault; 9] = [
    Fault::ServerErrors,
    Fault::ConnectionResets,
    Fault::RateLimitStorm,
    Fault::LatencyPastTimeout,
    Fault::ShortLivedTokens,
    Fault::TokenEndpointDown,
    Fault::InsertDeleteBetweenPages,
    Fault::InsertDeleteBalanced,
    Fault::DiskFull,
];

struct Sizes {
    agents: usize,
    seed: u64,
    token_outage: Duration,
}

fn sizes() -> Sizes {
    let full = std::env::var("FAULT_MATRIX_FULL").is_ok_and(|v| v == "1");
    Sizes {
        agents: env_or("FAULT_MATRIX_AGENTS", 1_000) as usize,
        // The random faults' draws are a function of the seed alone (no path filter), so
        // this one makes the short CI run meet both a 5xx and a reset.
        seed: env_or("FAULT_MATRIX_SEED", 1),
        token_outage: Duration::from_secs(if full { 30 } else { 3 }),
    }
}

impl Fault {
    fn describe(self, s: &Sizes) -> String {
        match self {
            Fault::None => "none (fault-free)".into(),
            Fault::RateLimitStorm => {
                "429 storms: Halo's rolling window admits 10 per 2 s, no Retry-After; client unpaced".into()
            }
            Fault::ServerErrors => "10% of requests answer 500/502/503/504 (seeded)".into(),
            Fault::ConnectionResets => "10% of requests get their connection reset (seeded)".into(),
            Fault::LatencyPastTimeout => format!(
                "3 agent-page requests stall {}s, past the {}s request timeout",
                2 * REQUEST_TIMEOUT.as_secs(),
                REQUEST_TIMEOUT.as_secs()
            ),
            Fault::ShortLivedTokens => {
                "token lifetime 3 s, and every token revoked every 3 s (401s)".into()
            }
            Fault::TokenEndpointDown => format!(
                "token endpoint answers 503 for the first {} s",
                s.token_outage.as_secs()
            ),
            Fault::InsertDeleteBetweenPages => {
                "between agent pages 2 and 3: 3 agents inserted, 1 read and 1 unread deleted".into()
            }
            Fault::InsertDeleteBalanced => {
                "between agent pages 2 and 3: 1 agent inserted, 1 already read deleted (count unchanged)".into()
            }
            Fault::DiskFull => {
                "output disk full: 4x the snapshot's size, less than its working database".into()
            }
        }
    }

    fn sim_config(self, s: &Sizes) -> SimConfig {
        let mut cfg = SimConfig {
            seed: s.seed,
            agents: s.agents,
            teams: 25,
            roles: 8,
            users: 0,
            latency: LatencyConfig {
                fixed: Duration::from_millis(5),
                jitter: Duration::ZERO,
            },
            ..SimConfig::default()
        };
        match self {
            Fault::RateLimitStorm => {
                cfg.rate_limit = Some(RateLimitConfig {
                    requests: 10,
                    window: Duration::from_secs(2),
                    retry_after: false,
                })
            }
            Fault::ServerErrors => {
                cfg.faults = FaultConfig {
                    error_rate: 0.1,
                    ..FaultConfig::default()
                }
            }
            Fault::ConnectionResets => {
                cfg.faults = FaultConfig {
                    reset_rate: 0.1,
                    ..FaultConfig::default()
                }
            }
            Fault::ShortLivedTokens => cfg.token_lifetime = Duration::from_secs(3),
            _ => {}
        }
        cfg
    }

    /// Scripted faults armed before the sync starts.
    fn arm(self, ctl: &SimControl) {
        match self {
            Fault::LatencyPastTimeout => ctl.stall_next(3, 2 * REQUEST_TIMEOUT, Some("/api/Agent")),
            Fault::TokenEndpointDown => ctl.fail_next(u32::MAX, 503, Some("/auth/token")),
            _ => {}
        }
    }
}

/// What a fault does while the sync runs, polled every few milliseconds.
#[derive(Default)]
struct Driver {
    done: bool,
    next_revoke: Duration,
    /// Agents inserted or deleted while the sync ran.
    changed: Vec<i64>,
}

impl Driver {
    fn tick(&mut self, fault: Fault, s: &Sizes, ctl: &SimControl, elapsed: Duration) {
        match fault {
            // Revoked first while agent page 2 waits in the sim (its auth check comes
            // after the latency, so it gets a 401), then every 3 s.
            Fault::ShortLivedTokens => {
                let due = if self.done {
                    elapsed >= self.next_revoke
                } else {
                    agent_page_seen(ctl, 2)
                };
                if due {
                    ctl.expire_tokens();
                    self.done = true;
                    self.next_revoke = elapsed + Duration::from_secs(3);
                }
            }
            Fault::TokenEndpointDown if !self.done && elapsed >= s.token_outage => {
                ctl.clear_scripted_faults();
                self.done = true;
            }
            // The sim logs a request on arrival and answers after its latency: page 3 in
            // the log has not been read yet, pages 1 and 2 have.
            Fault::InsertDeleteBetweenPages | Fault::InsertDeleteBalanced
                if !self.done && agent_page_seen(ctl, 3) =>
            {
                self.changed = shift_agents(ctl, fault == Fault::InsertDeleteBalanced);
                self.done = true;
            }
            _ => {}
        }
    }
}

/// Whether the sim has seen a request for agent page `n`.
fn agent_page_seen(ctl: &SimControl, n: u32) -> bool {
    let param = format!("page_no={n}");
    ctl.requests().iter().any(|r| {
        r.path.eq_ignore_ascii_case("/api/Agent") && r.query.split('&').any(|kv| kv == param)
    })
}

/// Insert agents (at the end of the id order) and delete the first agent (page 1, read
/// already); unbalanced, also the last one (not read yet) and two more inserts.
/// Returns the ids inserted and deleted.
fn shift_agents(ctl: &SimControl, balanced: bool) -> Vec<i64> {
    let tenant = ctl.snapshot();
    let mut changed = vec![];
    let (first, last) = (&tenant.agents[0], &tenant.agents[tenant.agents.len() - 1]);
    let inserts = if balanced { 1 } else { 3 };
    for i in 0..inserts {
        let mut a = first.clone();
        a.name = format!("Inserted Agent {i}");
        a.email = format!("inserted{i}@example.com");
        changed.push(ctl.insert_agent(a).expect("insert agent"));
    }
    assert!(ctl.delete_agent(first.id));
    changed.push(first.id);
    if !balanced {
        assert!(ctl.delete_agent(last.id));
        changed.push(last.id);
    }
    changed
}

type Rows = BTreeMap<String, Vec<(String, Vec<u8>)>>;

#[derive(Debug)]
enum Outcome {
    Rows(Rows),
    Failed { code: Option<i32>, reason: String },
}

struct Run {
    fault: Fault,
    outcome: Outcome,
    requests: usize,
    retries: usize,
    wall: Duration,
    /// Answers the fault produced (429, 5xx, 401, none), for "the fault did fire".
    fault_answers: usize,
    note: String,
    changed: Vec<i64>,
}

/// One `sync -f` into `out/s.c1z`, driving the fault while it runs.
fn run_sync(
    sim: &SimHandle,
    fault: Fault,
    s: &Sizes,
    cfg: &Path,
    out: &Path,
    fsize: Option<u64>,
) -> Run {
    let dest = out.join("s.c1z");
    let stderr_path = cfg.with_file_name(format!("stderr-{fault:?}.log"));
    let stderr = std::fs::File::create(&stderr_path).unwrap();
    let mut cmd = match fsize {
        // The same write error without a mount: a file size limit (EFBIG), with SIGXFSZ
        // ignored (inherited through exec) so the write fails instead of killing the child.
        Some(limit) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(r#"trap "" XFSZ; exec prlimit --fsize="$0" -- "$@""#)
                .arg(limit.to_string())
                .arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    cmd.args(["--log-format", "json", "--config"])
        .arg(cfg)
        .args(["sync", "-f"])
        .arg(&dest)
        .stdout(Stdio::null())
        .stderr(stderr);
    let ctl = sim.control();
    ctl.clear_requests();
    fault.arm(&ctl);
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn sync");
    let mut driver = Driver::default();
    let status = loop {
        driver.tick(fault, s, &ctl, started.elapsed());
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        // A hang guard, not a speed limit.
        if started.elapsed() > Duration::from_secs(1800) {
            let _ = child.kill();
            panic!("{fault:?}: sync hung");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = started.elapsed();
    ctl.clear_scripted_faults();
    let log = ctl.requests();
    let distinct: HashSet<(&str, &str, &str)> = log
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.query.as_str()))
        .collect();
    let fault_answers = log
        .iter()
        .filter(|r| !(200..300).contains(&r.status))
        .count();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let outcome = if status.success() {
        assert_eq!(
            dir_names(out),
            ["s.c1z"],
            "{fault:?}: only the snapshot is published"
        );
        Outcome::Rows(c1z::rows(&dest))
    } else {
        // The last line is the binary's one-line reason; the JSON log lines come before it.
        let reason = stderr
            .lines()
            .rfind(|l| l.starts_with("error: "))
            .unwrap_or_else(|| panic!("{fault:?}: no `error:` line in stderr:\n{stderr}"))
            .to_string();
        assert!(
            dir_names(out).is_empty(),
            "{fault:?} failed but left {:?} in the output dir",
            dir_names(out)
        );
        Outcome::Failed {
            code: status.code(),
            reason,
        }
    };
    Run {
        fault,
        outcome,
        requests: log.len(),
        retries: log.len() - distinct.len(),
        wall,
        fault_answers,
        note: String::new(),
        changed: driver.changed,
    }
}

/// A small tmpfs, unmounted on drop (panics included).
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, bytes: u64) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(at).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(Tmpfs(at.to_path_buf()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn config(dir: &Path, sim: &SimHandle) -> PathBuf {
    let halo = format!("request_timeout = \"{}s\"", REQUEST_TIMEOUT.as_secs());
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        config_text(dir, &sim.base_url(), &halo, "enabled = false"),
    )
    .unwrap();
    path
}

/// The fault-free rows of the sim's current tenant (fresh request log afterwards).
fn clean_rows(sim: &SimHandle, s: &Sizes, dir: &Path, name: &str) -> (Rows, Run) {
    let out = dir.join(name);
    std::fs::create_dir_all(&out).unwrap();
    let run = run_sync(sim, Fault::None, s, &config(dir, sim), &out, None);
    match &run.outcome {
        Outcome::Rows(rows) => (rows.clone(), run),
        other => panic!("fault-free sync failed: {other:?}"),
    }
}

fn one_fault(fault: Fault, s: &Sizes, baseline: &Rows, baseline_bytes: u64) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let sim = tokio_sim(fault.sim_config(s));
    let cfg = config(dir.path(), &sim);
    let out = dir.path().join("out-fault");
    let mut note = String::new();
    let (_mount, fsize) = if fault == Fault::DiskFull {
        // 4x the finished file: room to start, but the working database beside it grows
        // past that (~8x at 1,000 agents), so the sync runs out of space part-way.
        let size = env_or("FAULT_MATRIX_DISK_BYTES", 4 * baseline_bytes.max(4096));
        // FAULT_MATRIX_NO_MOUNT=1 runs the fallback as root too.
        let no_mount = std::env::var("FAULT_MATRIX_NO_MOUNT").is_ok_and(|v| v == "1");
        let mounted = if no_mount {
            Err("FAULT_MATRIX_NO_MOUNT=1".to_string())
        } else if is_root() {
            Tmpfs::mount(&out, size).map_err(|e| format!("mount failed: {e}"))
        } else {
            Err("not root".to_string())
        };
        match mounted {
            Ok(m) => {
                note = format!("tmpfs of {size} bytes");
                (Some(m), None)
            }
            Err(why) => {
                std::fs::create_dir_all(&out).unwrap();
                note = format!("RLIMIT_FSIZE {size} bytes ({why})");
                (None, Some(size))
            }
        }
    } else {
        std::fs::create_dir_all(&out).unwrap();
        (None, None)
    };
    eprintln!(
        "fault_matrix: {fault:?}: {}{}",
        fault.describe(s),
        if note.is_empty() {
            String::new()
        } else {
            format!("; {note}")
        }
    );
    let mut run = run_sync(&sim.0, fault, s, &cfg, &out, fsize);
    run.note = note;
    match fault {
        Fault::InsertDeleteBetweenPages | Fault::InsertDeleteBalanced => {
            let last = clean_rows(&sim.0, s, dir.path(), "out-final").0;
            run.note = check_shifted(&run, baseline, &last);
        }
        _ => check(&run, s, baseline),
    }
    run
}

/// The simulator on a runtime of its own: the test thread blocks on the child.
struct SimRt(SimHandle, #[allow(dead_code)] tokio::runtime::Runtime);

fn tokio_sim(cfg: SimConfig) -> SimRt {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = rt.block_on(start(cfg));
    SimRt(sim, rt)
}

impl std::ops::Deref for SimRt {
    type Target = SimHandle;
    fn deref(&self) -> &SimHandle {
        &self.0
    }
}

/// The outcome this fault must have, and evidence that the fault did fire.
fn check(run: &Run, s: &Sizes, expected: &Rows) {
    let f = run.fault;
    match &run.outcome {
        Outcome::Rows(rows) => {
            assert!(f != Fault::DiskFull, "a full disk cannot give a snapshot");
            for (table, want) in expected {
                let got = &rows[table];
                let got_ids: HashSet<&String> = got.iter().map(|r| &r.0).collect();
                let want_ids: HashSet<&String> = want.iter().map(|r| &r.0).collect();
                let missing: Vec<_> = want_ids.difference(&got_ids).take(5).collect();
                let extra: Vec<_> = got_ids.difference(&want_ids).take(5).collect();
                assert!(
                    got == want,
                    "{f:?}: {table} differs from the expected rows: {} vs {} rows, missing {missing:?}, extra {extra:?}",
                    got.len(),
                    want.len()
                );
            }
            assert_eq!(rows.len(), expected.len());
        }
        Outcome::Failed { code, reason } => {
            let needle = match f {
                // SQLite reports ENOSPC as "full" and EFBIG as a plain I/O error.
                Fault::DiskFull => ["disk is full", "disk I/O error"].as_slice(),
                Fault::TokenEndpointDown => ["token", "503"].as_slice(),
                Fault::InsertDeleteBetweenPages | Fault::InsertDeleteBalanced => {
                    ["changed"].as_slice()
                }
                _ => panic!("{f:?} must not fail the sync: {code:?} {reason}"),
            };
            assert!(
                needle.iter().any(|n| reason.contains(n)),
                "{f:?}: the reason should name the cause ({needle:?}): {reason}"
            );
            // The token outage must outlast the retry budget to fail the sync.
            if f == Fault::TokenEndpointDown {
                assert!(s.token_outage > Duration::from_secs(7), "{reason}");
            }
        }
    }
    if f == Fault::DiskFull {
        assert!(matches!(run.outcome, Outcome::Failed { .. }));
    } else if !matches!(
        f,
        Fault::InsertDeleteBetweenPages | Fault::InsertDeleteBalanced
    ) {
        assert!(
            run.fault_answers > 0,
            "{f:?} never fired: nothing but 2xx answers"
        );
    }
}

/// Rows that name one of `ids`: its agent resource and its grants.
fn without_agents(rows: &Rows, ids: &HashSet<String>) -> Rows {
    let names = |ext: &str| {
        ext.strip_prefix("agent:")
            .is_some_and(|id| ids.contains(id))
            || ext
                .rsplit_once(":agent:")
                .is_some_and(|(_, id)| ids.contains(id))
    };
    rows.iter()
        .map(|(t, v)| {
            (
                t.clone(),
                v.iter().filter(|r| !names(&r.0)).cloned().collect(),
            )
        })
        .collect()
}

/// The paging guarantee for agents inserted or deleted while the sync ran: every agent
/// that existed throughout is in the snapshot exactly as in the final state; a changed
/// agent may be in it or not, but only with rows that were true at some point (the
/// final state's or the fault-free run's); no row twice. Returns the table's note.
fn check_shifted(run: &Run, before: &Rows, last: &Rows) -> String {
    let f = run.fault;
    assert!(
        !run.changed.is_empty(),
        "{f:?}: the agent list never changed"
    );
    let changed: HashSet<String> = run.changed.iter().map(i64::to_string).collect();
    let steady_last = without_agents(last, &changed);
    let dropped = last["v1_resources"].len() - steady_last["v1_resources"].len();
    assert!(dropped > 0, "{f:?}: agent rows are not named agent:<id>");
    let Outcome::Rows(rows) = &run.outcome else {
        let Outcome::Failed { reason, .. } = &run.outcome else {
            unreachable!()
        };
        assert!(reason.contains("changed"), "{f:?}: {reason}");
        return String::new();
    };
    for (table, got) in rows {
        let ids: HashSet<&String> = got.iter().map(|r| &r.0).collect();
        assert_eq!(ids.len(), got.len(), "{f:?}: a row twice in {table}");
        let was_true = |r: &(String, Vec<u8>)| last[table].contains(r) || before[table].contains(r);
        let stale: Vec<_> = got
            .iter()
            .filter(|r| !was_true(r))
            .map(|r| &r.0)
            .take(5)
            .collect();
        assert!(
            stale.is_empty(),
            "{f:?}: {table} rows never true: {stale:?}"
        );
    }
    let steady = without_agents(rows, &changed);
    let agents = |r: &Rows| -> HashSet<String> {
        r["v1_resources"]
            .iter()
            .map(|r| r.0.clone())
            .filter(|e| e.starts_with("agent:"))
            .collect()
    };
    let missing: Vec<String> = agents(&steady_last)
        .difference(&agents(&steady))
        .cloned()
        .collect();
    let kept = agents(rows)
        .iter()
        .filter(|a| changed.contains(&a[6..]))
        .count();
    if f == Fault::InsertDeleteBalanced && missing.len() == 1 {
        // KNOWN GAP (docs/reliability.md): an insert and a delete between the same two
        // pages keep every count equal, so the shifted page boundary goes unnoticed and
        // the agent on it is left out. If this assertion starts failing, the gap is
        // closed: update the docs and make this case expect the exact rows.
        let gone: HashSet<String> = missing.iter().map(|a| a[6..].to_string()).collect();
        let expect_gap = without_agents(&steady_last, &gone);
        assert!(
            steady == expect_gap,
            "{f:?}: more than the boundary agent differs"
        );
        return format!(
            "KNOWN GAP: {} (existed throughout) missing, not detected",
            missing[0]
        );
    }
    assert!(
        missing.is_empty(),
        "{f:?}: agents that existed throughout are missing: {missing:?}"
    );
    assert!(
        steady == steady_last,
        "{f:?}: rows of unchanged agents differ from the final state"
    );
    format!(
        "{kept} of the {} inserted/deleted agents in the snapshot",
        changed.len()
    )
}

fn outcome_cell(run: &Run) -> String {
    match &run.outcome {
        Outcome::Rows(_) if run.note.starts_with("KNOWN GAP") => "rows, one missing".into(),
        Outcome::Rows(_) if !run.changed.is_empty() => {
            "final-state rows for every agent that existed throughout; changed agents as read"
                .into()
        }
        Outcome::Rows(_) => "exact fault-free rows".into(),
        Outcome::Failed { code, reason } => format!(
            "clean failure, exit {}, nothing published: `{}`",
            code.map_or("signal".into(), |c| c.to_string()),
            reason.replace('|', "\\|")
        ),
    }
}

fn table(runs: &[Run], s: &Sizes) -> String {
    let base = runs[0].wall.as_secs_f64();
    let mut t = String::from(
        "| Fault | Outcome | Halo requests | Retries | Time | × fault-free |\n|---|---|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let mut what = r.fault.describe(s);
        if !r.note.is_empty() {
            what = format!("{what}; {}", r.note);
        }
        t.push_str(&format!(
            "| {what} | {} | {} | {} | {:.1} s | {:.1} |\n",
            outcome_cell(r),
            r.requests,
            r.retries,
            r.wall.as_secs_f64(),
            r.wall.as_secs_f64() / base
        ));
    }
    t
}

#[test]
fn each_fault_gives_the_fault_free_rows_or_a_clean_failure() {
    let s = sizes();
    let dir = tempfile::tempdir().unwrap();
    let sim = tokio_sim(Fault::None.sim_config(&s));
    let (baseline, base_run) = clean_rows(&sim, &s, dir.path(), "out-baseline");
    assert_eq!(baseline["v1_resources"].len(), s.agents + 25 + 8);
    let bytes = std::fs::metadata(dir.path().join("out-baseline/s.c1z"))
        .unwrap()
        .len();
    let mut runs = vec![base_run];
    for fault in FAULTS {
        runs.push(one_fault(fault, &s, &baseline, bytes));
    }
    let t = table(&runs, &s);
    if std::env::var("FAULT_MATRIX_REPORT").is_ok_and(|v| v == "1") {
        println!("\n{} agents, snapshot {bytes} bytes\n\n{t}", s.agents);
    }
}
