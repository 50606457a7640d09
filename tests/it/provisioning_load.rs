//! Load: many more provisioning operations than the queue holds, submitted at once over the
//! real daemon's control socket (no-wait submits, each on its own connection), while Halo
//! holds the first operation so the queue stays full.
//!
//! Every submitter gets an answer: an op id (at once, or after waiting for room: at most
//! `capacity` submitters wait), a clear "queue full" failure, or, past the control socket's
//! connection cap (`provisioning.socket_max_connections`), a clear `busy`. `/metrics` and `/healthz`
//! answer 200 all along. The daemon's resident memory after each of the rounds stays within
//! a fixed bound of what it was before the first (a memory bound, not a time bound), and
//! every accepted operation finishes.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_haloitsm::provisioning::control_socket::{self, ControlRequest, ControlResponse};
use baton_haloitsm::provisioning::journal::OpStatus;
use baton_haloitsm::provisioning::outcome::FailureKind;
use haloitsm_sim::SimHandle;

use crate::support::daemon::{Daemon, http};
use crate::support::provisioning::{failed, grant, sim_config, write_config};

const CAPACITY: usize = 4;
const SUBMITTERS: usize = 300;
const ROUNDS: usize = 3;
/// Growth of the daemon's RSS allowed across all rounds.
const RSS_BOUND_KIB: u64 = 64 * 1024;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("VmRSS")
}

fn count(socket: &Path, status: OpStatus) -> usize {
    match control_socket::request(
        socket,
        &ControlRequest::List {
            status: Some(status),
            limit: 100_000,
        },
    ) {
        Ok(Some(ControlResponse::Operations { operations })) => operations.len(),
        other => panic!("list {status:?}: {other:?}"),
    }
}

#[derive(Default, Debug)]
struct Answers {
    accepted: usize,
    full: usize,
    /// Refused by the control socket's connection cap before reaching the queue.
    busy: usize,
    other: Vec<String>,
}

/// One round: SUBMITTERS no-wait submits at once; the answers.
fn flood(socket: &Path, agents: &[i64], round: usize) -> Answers {
    let answers: Arc<Mutex<Answers>> = Arc::default();
    let threads: Vec<_> = (0..SUBMITTERS)
        .map(|i| {
            let (socket, answers) = (socket.to_path_buf(), answers.clone());
            let agent = agents[(i + round) % agents.len()];
            let team = 1 + (i % 6) as i64;
            std::thread::Builder::new()
                .stack_size(128 * 1024)
                .spawn(move || {
                    let req = ControlRequest::Submit {
                        request: grant(&format!("team:{team}:member"), agent),
                        requested_by: "load-test".into(),
                        wait: false,
                    };
                    let answer = control_socket::request(&socket, &req);
                    let mut a = answers.lock().unwrap();
                    match answer {
                        Ok(Some(ControlResponse::Submitted {
                            op_id: Some(_),
                            outcome: None,
                        })) => a.accepted += 1,
                        Ok(Some(ControlResponse::Submitted {
                            op_id: None,
                            outcome: Some(o),
                        })) if failed(&o).is_some_and(|(kind, m)| {
                            kind == FailureKind::Unavailable && m.contains("queue full")
                        }) =>
                        {
                            a.full += 1
                        }
                        Ok(Some(ControlResponse::Error {
                            kind: control_socket::ErrorKind::Busy,
                            ..
                        })) => a.busy += 1,
                        other => a.other.push(format!("{other:?}")),
                    }
                })
                .expect("spawn submitter")
        })
        .collect();
    for t in threads {
        t.join().expect("submitter");
    }
    std::mem::take(&mut *answers.lock().unwrap())
}

#[test]
fn a_flood_of_submitters_gets_ids_or_queue_full_and_memory_stays_bounded() {
    let sim = SimHandle::start_background(sim_config(60), "127.0.0.1:0".parse().unwrap())
        .expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &sim.base_url(),
        &format!("capacity = {CAPACITY}\nmax_parallel = 1"),
    );
    let socket = dir.path().join("control.sock");
    let mut daemon = Daemon::start(&config, &[]);
    assert!(
        daemon.wait_for_log("control socket listening", Duration::from_secs(30)),
        "{}",
        daemon.logs()
    );
    let agents: Vec<i64> = sim
        .control()
        .snapshot()
        .agents
        .iter()
        .map(|a| a.id)
        .collect();
    let pid = daemon.child.id();
    let before = rss_kib(pid);

    // /metrics and /healthz, polled for as long as the floods last.
    let done = Arc::new(AtomicBool::new(false));
    let prober = {
        let (done, addr) = (done.clone(), daemon.http);
        std::thread::spawn(move || {
            let mut answered = 0usize;
            while !done.load(Ordering::Acquire) {
                for path in ["/metrics", "/healthz"] {
                    let (code, _) = http(addr, "GET", path);
                    assert_eq!(code, 200, "GET {path} during the flood");
                    answered += 1;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            answered
        })
    };

    let mut totals = Answers::default();
    let mut rss = Vec::new();
    for round in 0..ROUNDS {
        // Halo holds the first operation, so the queue is full while the flood lands.
        sim.control()
            .stall_next(1, Duration::from_secs(2), Some("/api/agent/"));
        let a = flood(&socket, &agents, round);
        assert!(
            a.other.is_empty(),
            "round {round}: unclear answers {:?}",
            a.other
        );
        assert_eq!(a.accepted + a.full + a.busy, SUBMITTERS);
        assert!(
            a.full > 0,
            "round {round}: the queue never said full: {a:?}"
        );
        assert!(a.accepted >= CAPACITY, "round {round}: {a:?}");
        // Drained before the next round.
        for _ in 0..3000 {
            if count(&socket, OpStatus::Queued) + count(&socket, OpStatus::Running) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            count(&socket, OpStatus::Queued) + count(&socket, OpStatus::Running),
            0
        );
        rss.push(rss_kib(pid));
        totals.accepted += a.accepted;
        totals.full += a.full;
        totals.busy += a.busy;
    }
    done.store(true, Ordering::Release);
    let probes = prober.join().expect("every probe answered 200");
    assert!(probes > 0);
    assert_eq!(count(&socket, OpStatus::Finished), totals.accepted);
    let peak = rss.iter().copied().max().unwrap_or(before);
    eprintln!(
        "load: {ROUNDS} rounds of {SUBMITTERS} submitters, capacity {CAPACITY}: {} accepted, {} \
         refused as full, {} refused as busy by the socket's connection cap; {probes} probes of /metrics and /healthz answered 200; RSS before \
         {before} KiB, after each round {rss:?} KiB",
        totals.accepted, totals.full, totals.busy
    );
    assert!(
        peak < before + RSS_BOUND_KIB,
        "RSS grew from {before} KiB to {peak} KiB"
    );
    assert!(daemon.child.try_wait().expect("try_wait").is_none());
    daemon.sigterm();
}
