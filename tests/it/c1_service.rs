//! C1 service mode against a fake C1 in the test process (tests/it/support/fake_c1.rs): the real
//! daemon binary, with an embedded HaloITSM simulator, talks gRPC and the token endpoint to it
//! over 127.0.0.1.

use std::process::Command;
use std::time::Duration;

use baton_haloitsm::c1z::{InspectWhat, inspect};
use baton_haloitsm::pb::baton::baton_service_finish_task_request::FinalState;
use baton_haloitsm::pb::baton::{Task, task};
use baton_haloitsm::pb::{self, GrantManagerServiceGrantRequest};
use prost::Message;

use crate::support::daemon::{BIN, Daemon, TempConfig, temp_config};
use crate::support::dir_names;
use crate::support::fake_c1::{CLIENT_ID, FakeC1, Script, fresh_credentials, sync_task, task_id};
use crate::support::leaks::Scanned as _;
use crate::support::metrics::metric;

const AGENTS: usize = 40;

fn config(out: &std::path::Path, c1_extra: &str) -> TempConfig {
    temp_config(&format!(
        r#"
[halo]
base_url = "http://127.0.0.1:1"
client_id = "ignored"

[simulator.tenant]
seed = 5
agents = {AGENTS}
teams = 4
roles = 3

[output]
dir = "{out}"

[http]
listen = "127.0.0.1:0"

[daemon]
shutdown_grace = "5s"

[c1]
temp_dir = "{tmp}"
{c1_extra}
"#,
        out = out.join("out").display(),
        tmp = out.join("c1-tmp").display(),
    ))
}

fn start(fake: &FakeC1, cfg: &TempConfig) -> Daemon {
    Daemon::start_owned(&cfg.path, &fake.baton_env("test-host"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_then_sync_task_uploads_a_c1z_that_inspect_reads() {
    let fake = FakeC1::start(Script::default()).await;
    fake.push_task(sync_task(1));
    let cfg = config(cfg_dir().path(), "");
    let mut daemon = start(&fake, &cfg);

    fake.wait_until("a FinishTask", |r| !r.finishes.is_empty())
        .await;
    let rec = fake.rec.lock().unwrap();
    assert!(rec.bad_assertions.is_empty(), "{:?}", rec.bad_assertions);
    assert!(rec.assertions >= 1);

    // Hello: every field set.
    let hello = &rec.hellos[0];
    assert_eq!(hello.host_id, "test-host");
    assert_eq!(hello.task_id, "");
    let b = hello.build_info.as_ref().expect("build info");
    assert_eq!(b.package, "baton-haloitsm");
    assert!(!b.lang_version.is_empty() && !b.package_version.is_empty());
    let o = hello.os_info.as_ref().expect("os info");
    for v in [
        &o.hostname,
        &o.os,
        &o.platform,
        &o.platform_version,
        &o.platform_family,
        &o.kernel_version,
        &o.kernel_arch,
        &o.virtualization_system,
    ] {
        assert!(!v.is_empty(), "empty os_info field in {o:?}");
    }
    let meta = hello.connector_metadata.as_ref().expect("metadata");
    let caps = meta.capabilities.as_ref().expect("capabilities");
    assert_eq!(
        caps.connector_capabilities,
        vec![
            pb::Capability::Sync as i32,
            pb::Capability::TargetedSync as i32,
            pb::Capability::ServiceModeTargetedSync as i32,
        ]
    );
    let types: Vec<_> = caps
        .resource_type_capabilities
        .iter()
        .filter_map(|c| c.resource_type.as_ref().map(|t| t.id.clone()))
        .collect();
    assert_eq!(types, ["agent", "team", "role"]);

    // The sync task: one upload, its SHA-256 matches, then FinishTask(success).
    assert_eq!(rec.uploads.len(), 1);
    let up = rec.uploads[0].clone();
    assert_eq!(up.task_id, task_id(1));
    assert_eq!(&up.data[..5], b"C1ZF\0");
    let finish = &rec.finishes[0];
    assert_eq!(finish.task_id, task_id(1));
    assert_eq!(finish.status.as_ref().map(|s| s.code), Some(0));
    assert!(
        matches!(finish.final_state, Some(FinalState::Success(_))),
        "{finish:?}"
    );
    assert!(rec.heartbeats.iter().all(|t| t == &task_id(1)));

    // The uploaded bytes are a c1z that `inspect` reads back with the tenant's agents.
    let file = cfg.dir.path().join("uploaded.c1z");
    std::fs::write(&file, &up.data).expect("write");
    let mut out = Vec::new();
    inspect::run(&file, InspectWhat::Resources, Some("agent"), true, &mut out).expect("inspect");
    let lines = String::from_utf8(out).expect("utf8");
    assert_eq!(lines.lines().count(), AGENTS, "{lines}");
    drop(rec);

    // The temp file is gone once uploaded; metrics and /status say so.
    let tmp: Vec<_> = std::fs::read_dir(cfg.dir.path().join("c1-tmp"))
        .map(|d| d.filter_map(Result::ok).collect())
        .unwrap_or_default();
    assert!(tmp.is_empty(), "{tmp:?}");
    let m = daemon.metrics();
    assert_eq!(
        metric(
            &m,
            r#"baton_haloitsm_c1_tasks_total{result="success",type="sync_full"}"#
        ),
        Some(1.0)
    );
    assert_eq!(metric(&m, "baton_haloitsm_c1_connected"), Some(1.0));
    assert!(
        metric(&m, "baton_haloitsm_c1_upload_bytes_total").unwrap_or(0.0) >= up.data.len() as f64
    );
    let status = daemon.get("/status").1;
    assert!(
        status.contains("\"c1\"") && status.contains("sync_full"),
        "{status}"
    );
    assert!(
        !daemon.logs().contains(fake.secret.expose()),
        "secret in the logs"
    );
    daemon.sigterm();
}

fn cfg_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_heartbeat_cancels_the_sync_and_uploads_nothing() {
    let fake = FakeC1::start(Script {
        cancel_on_heartbeat: true,
        ..Script::default()
    })
    .await;
    fake.push_task(sync_task(2));
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let mut daemon = start(&fake, &cfg);
    fake.wait_until("a FinishTask", |r| !r.finishes.is_empty())
        .await;
    let rec = fake.rec.lock().unwrap();
    assert_eq!(rec.upload_attempts, 0, "nothing is uploaded");
    let finish = &rec.finishes[0];
    assert_eq!(
        finish.status.as_ref().map(|s| s.code),
        Some(tonic::Code::Cancelled as i32)
    );
    assert!(matches!(finish.final_state, Some(FinalState::Error(_))));
    drop(rec);
    let m = daemon.metrics();
    assert_eq!(
        metric(
            &m,
            r#"baton_haloitsm_c1_heartbeats_total{result="cancelled"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        metric(
            &m,
            r#"baton_haloitsm_c1_tasks_total{result="cancelled",type="sync_full"}"#
        ),
        Some(1.0)
    );
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_interrupted_once_succeeds_on_retry() {
    let fake = FakeC1::start(Script {
        fail_uploads: 1,
        ..Script::default()
    })
    .await;
    fake.push_task(sync_task(3));
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let mut daemon = start(&fake, &cfg);
    fake.wait_until("a FinishTask", |r| !r.finishes.is_empty())
        .await;
    let rec = fake.rec.lock().unwrap();
    assert_eq!(rec.upload_attempts, 2);
    assert_eq!(rec.uploads.len(), 1);
    assert!(matches!(
        rec.finishes[0].final_state,
        Some(FinalState::Success(_))
    ));
    drop(rec);
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_mid_run_makes_a_new_assertion() {
    let fake = FakeC1::start(Script {
        token_ttl: Duration::from_secs(2),
        ..Script::default()
    })
    .await;
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let mut daemon = start(&fake, &cfg);
    fake.wait_until("three assertions", |r| r.assertions >= 3)
        .await;
    let polls = fake.rec.lock().unwrap().get_tasks;
    fake.wait_until("more polls with the new token", |r| r.get_tasks > polls + 2)
        .await;
    let rec = fake.rec.lock().unwrap();
    assert!(rec.bad_assertions.is_empty(), "{:?}", rec.bad_assertions);
    assert_eq!(
        rec.unauthenticated, 0,
        "a call went out with an expired token"
    );
    drop(rec);
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_tasks_answer_failed_precondition_until_wired() {
    let fake = FakeC1::start(Script::default()).await;
    fake.push_task(Task {
        id: task_id(4),
        task_type: Some(task::TaskType::Grant(task::GrantTask::default())),
        ..Default::default()
    });
    fake.push_task(Task {
        id: task_id(5),
        task_type: Some(task::TaskType::ActionListSchemas(
            task::ActionListSchemasTask::default(),
        )),
        ..Default::default()
    });
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let mut daemon = start(&fake, &cfg);
    fake.wait_until("two FinishTasks", |r| r.finishes.len() >= 2)
        .await;
    let rec = fake.rec.lock().unwrap();
    let grant = rec
        .finishes
        .iter()
        .find(|f| f.task_id == task_id(4))
        .expect("grant finished");
    let status = grant.status.as_ref().expect("status");
    assert_eq!(status.code, tonic::Code::FailedPrecondition as i32);
    assert_eq!(status.message, "provisioning is not enabled");
    assert!(matches!(&grant.final_state, Some(FinalState::Error(e)) if e.non_retryable));
    let list = rec
        .finishes
        .iter()
        .find(|f| f.task_id == task_id(5))
        .expect("actions listed");
    let Some(FinalState::Success(s)) = &list.final_state else {
        panic!("{list:?}")
    };
    let any = s.response.as_ref().expect("response");
    let resp = pb::ListActionSchemasResponse::decode(any.value.as_slice()).expect("decode");
    let names: Vec<_> = resp.schemas.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["enable_agent", "disable_agent"]);
    let _ = GrantManagerServiceGrantRequest::default();
    drop(rec);
    daemon.sigterm();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c1_unreachable_backs_off_without_crashing() {
    // A port nobody listens on: bind, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let (secret, _) = fresh_credentials();
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let host = format!("127.0.0.1:{port}");
    let mut daemon = Daemon::start(
        &cfg.path,
        &[
            ("BATON_CLIENT_ID", CLIENT_ID),
            ("BATON_CLIENT_SECRET", secret.expose()),
            ("BATON_C1_API_HOST", host.as_str()),
        ],
    );
    let mut errors = 0.0;
    for _ in 0..200 {
        let m = daemon.metrics();
        errors = metric(&m, r#"baton_haloitsm_c1_rpc_errors_total{rpc="token"}"#).unwrap_or(0.0);
        if errors >= 2.0 {
            assert_eq!(metric(&m, "baton_haloitsm_c1_connected"), Some(0.0));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(errors >= 2.0, "retries are counted: {errors}");
    assert!(
        daemon.child.try_wait().expect("wait").is_none(),
        "daemon is still running"
    );
    assert_eq!(daemon.get("/healthz").0, 200);
    daemon.sigterm();
}

#[test]
fn bad_client_secret_exits_78_without_echoing_it() {
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let bad = "secret-token:conductorone.com:v1:c3VwZXItc2VjcmV0LXZhbHVl";
    for (id, secret) in [
        (CLIENT_ID, bad),
        (CLIENT_ID, "hunter2-not-a-c1-secret"),
        ("no-at-sign", bad),
    ] {
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&cfg.path)
            .arg("run")
            .env("BATON_CLIENT_ID", id)
            .env("BATON_CLIENT_SECRET", secret)
            .output_scanned()
            .expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(78), "{stderr}");
        assert!(stderr.contains("c1.client"), "{stderr}");
        assert!(
            !stderr.contains(secret) && !stderr.contains("c3VwZXItc2VjcmV0"),
            "{stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_full_sync_refuses_sync_tasks() {
    let fake = FakeC1::start(Script::default()).await;
    fake.push_task(sync_task(6));
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let mut env = fake.baton_env("test-host");
    env.push(("BATON_SKIP_FULL_SYNC", "true".into()));
    let mut daemon = Daemon::start_owned(&cfg.path, &env);
    fake.wait_until("a FinishTask", |r| !r.finishes.is_empty())
        .await;
    let rec = fake.rec.lock().unwrap();
    assert_eq!(rec.upload_attempts, 0);
    let status = rec.finishes[0].status.as_ref().expect("status");
    assert_eq!(status.code, tonic::Code::FailedPrecondition as i32);
    assert!(
        status.message.contains("skip_full_sync"),
        "{}",
        status.message
    );
    drop(rec);
    daemon.sigterm();
}

/// Grant and revoke tasks run through the real ProvisioningQueue against the
/// simulator: the second grant answers GrantAlreadyExists and the second revoke
/// GrantAlreadyRevoked, which only holds if the first ones changed Halo.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_and_revoke_tasks_change_halo_and_report_already_states() {
    let fake = FakeC1::start(Script::default()).await;
    let entitlement = pb::Entitlement {
        id: "team:1:member".into(),
        ..Default::default()
    };
    let principal = pb::Resource {
        id: Some(pb::ResourceId {
            resource_type: "agent".into(),
            resource: "3".into(),
            baton_resource: false,
        }),
        ..Default::default()
    };
    let grant = || {
        task::TaskType::Grant(task::GrantTask {
            entitlement: Some(entitlement.clone()),
            principal: Some(principal.clone()),
            ..Default::default()
        })
    };
    let revoke = || {
        task::TaskType::Revoke(task::RevokeTask {
            grant: Some(pb::Grant {
                id: "team:1:member:agent:3".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
    };
    for (n, t) in [(21, grant()), (22, grant()), (23, revoke()), (24, revoke())] {
        fake.push_task(Task {
            id: task_id(n),
            task_type: Some(t),
            ..Default::default()
        });
    }
    let dir = cfg_dir();
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let cfg = config(dir.path(), "");
    let text = std::fs::read_to_string(&cfg.path).unwrap()
        + &format!(
            "\n[provisioning]\nenabled = true\njournal = \"{}\"\nsocket = \"{}\"\n",
            state.join("journal.sqlite3").display(),
            state.join("control.sock").display()
        );
    std::fs::write(&cfg.path, text).unwrap();
    let mut daemon = start(&fake, &cfg);
    fake.wait_until("four FinishTasks", |r| r.finishes.len() >= 4)
        .await;
    let rec = fake.rec.lock().unwrap();
    let annotations = |n: u32| -> Vec<String> {
        let f = rec
            .finishes
            .iter()
            .find(|f| f.task_id == task_id(n))
            .unwrap_or_else(|| panic!("task {n} finished"));
        let Some(FinalState::Success(s)) = &f.final_state else {
            panic!("task {n}: {f:?}")
        };
        let any = s.response.as_ref().expect("response");
        let anns = if n <= 22 {
            pb::GrantManagerServiceGrantResponse::decode(any.value.as_slice())
                .expect("grant response")
                .annotations
        } else {
            pb::GrantManagerServiceRevokeResponse::decode(any.value.as_slice())
                .expect("revoke response")
                .annotations
        };
        anns.iter().map(|a| a.type_url.clone()).collect()
    };
    assert!(
        annotations(22)
            .contains(&"type.googleapis.com/c1.connector.v2.GrantAlreadyExists".to_string()),
        "{:?}",
        annotations(22)
    );
    assert!(annotations(23).is_empty(), "{:?}", annotations(23));
    assert!(
        annotations(24)
            .contains(&"type.googleapis.com/c1.connector.v2.GrantAlreadyRevoked".to_string()),
        "{:?}",
        annotations(24)
    );
    // Exactly one FinishTask per task.
    for n in 21..=24 {
        assert_eq!(
            rec.finishes
                .iter()
                .filter(|f| f.task_id == task_id(n))
                .count(),
            1,
            "task {n}"
        );
    }
    drop(rec);
    daemon.sigterm();
}

/// Ten failed heartbeats in a row fail the task: a sync slowed by a 5 s Halo latency is
/// cancelled, nothing is uploaded or published, and the failure says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_failed_heartbeats_fail_the_task() {
    let fake = FakeC1::start(Script {
        fail_heartbeats: true,
        ..Script::default()
    })
    .await;
    fake.push_task(sync_task(3));
    let dir = cfg_dir();
    let cfg = config(dir.path(), "");
    let text = std::fs::read_to_string(&cfg.path).unwrap().replace(
        "[simulator.tenant]",
        "[simulator.tenant.latency]\nfixed = \"5s\"\n\n[simulator.tenant]",
    );
    std::fs::write(&cfg.path, text).unwrap();
    let mut daemon = start(&fake, &cfg);
    fake.wait_until("a FinishTask", |r| !r.finishes.is_empty())
        .await;
    let rec = fake.rec.lock().unwrap();
    assert_eq!(rec.upload_attempts, 0, "nothing is uploaded");
    assert_eq!(rec.heartbeats.len(), 10, "{:?}", rec.heartbeats);
    let finish = &rec.finishes[0];
    let status = finish.status.as_ref().expect("a status");
    assert_eq!(status.code, tonic::Code::Cancelled as i32);
    assert!(
        status.message.contains("10 heartbeats failed in a row"),
        "{}",
        status.message
    );
    drop(rec);
    let m = daemon.metrics();
    assert_eq!(
        metric(&m, r#"baton_haloitsm_c1_heartbeats_total{result="error"}"#),
        Some(10.0)
    );
    let published: Vec<String> = dir_names(&dir.path().join("out"))
        .into_iter()
        .filter(|n| n.ends_with(".c1z"))
        .collect();
    assert!(published.is_empty(), "{published:?}");
    daemon.sigterm();
}
