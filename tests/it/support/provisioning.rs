//! The provisioning tests' set-up: a simulator on 127.0.0.1:0, a config that
//! points at it, and the daemon's own pipeline + queue + journal.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use baton_haloitsm::config::Config;
use baton_haloitsm::daemon::pipeline::{self, Mode, Pipeline};
use baton_haloitsm::provisioning::journal::{Journal, OpId};
use baton_haloitsm::provisioning::operation::OpRequest;
use baton_haloitsm::provisioning::outcome::{FailureKind, Outcome};
use baton_haloitsm::provisioning::{Provisioning, Submission, WhenFull};
use haloitsm_sim::{SimConfig, SimHandle};

pub fn sim_config(agents: usize) -> SimConfig {
    SimConfig {
        seed: 5,
        agents,
        teams: 6,
        roles: 4,
        users: 0,
        teams_per_agent: 2,
        roles_per_agent: 1,
        ..SimConfig::default()
    }
}

/// The TOML of a daemon that talks to `sim_url`; `extra` goes into `[provisioning]`.
pub fn config_text(dir: &Path, sim_url: &str, halo_extra: &str, extra: &str) -> String {
    let secret = dir.join("secret");
    std::fs::write(&secret, "sim-secret").unwrap();
    // As an operator would: readable by the daemon's user only (else a warning at start).
    std::fs::set_permissions(&secret, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    format!(
        r#"
[halo]
base_url = "{sim_url}"
client_id = "sim-client"
client_secret_file = "{secret}"
{halo_extra}
{rate}

[sync]
on_start = false

[output]
dir = "{out}"

[http]
listen = "127.0.0.1:0"

[provisioning]
{enabled}
journal = "{journal}"
socket = "{socket}"
retry_backoff = "10ms"
{extra}
"#,
        secret = secret.display(),
        rate = if halo_extra.contains("[halo.rate_limit]") {
            ""
        } else {
            "[halo.rate_limit]\nrequests = 100000\nwindow = \"1s\""
        },
        enabled = if extra.contains("enabled") {
            ""
        } else {
            "enabled = true"
        },
        out = dir.join("out").display(),
        journal = dir.join("journal.sqlite3").display(),
        socket = dir.join("control.sock").display(),
    )
}

/// Write `config_text` to `<dir>/config.toml` (for the daemon binary and the CLI).
pub fn write_config(dir: &Path, sim_url: &str, extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, config_text(dir, sim_url, "", extra)).unwrap();
    path
}

pub fn load(dir: &Path, text: &str) -> Config {
    super::leaks::capture_in_process_logs();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    Config::from_toml_str(text, &path, &HashMap::new()).expect("test config is valid")
}

pub struct Harness {
    pub sim: SimHandle,
    pub cfg: Config,
    pub pipeline: Pipeline,
    pub prov: Provisioning,
    pub dir: PathBuf,
}

impl Harness {
    pub async fn start(dir: &Path, sim: SimConfig, halo_extra: &str, extra: &str) -> Harness {
        Self::start_with(dir, sim, halo_extra, extra).await
    }

    /// `tickets`: wire a fallback that opens real tickets in the simulator.
    pub async fn start_with(dir: &Path, sim: SimConfig, halo_extra: &str, extra: &str) -> Harness {
        let sim = super::sim::start(sim).await;
        let cfg = load(dir, &config_text(dir, &sim.base_url(), halo_extra, extra));
        let journal = Journal::open(&cfg.provisioning.journal).expect("journal opens");
        let mut p = pipeline::build(&cfg, None, Mode::OneShot);
        let prov = pipeline::add_provisioning(&mut p, &cfg, journal);
        Harness {
            sim,
            cfg,
            pipeline: p,
            prov,
            dir: dir.to_path_buf(),
        }
    }

    pub async fn run(&self, request: OpRequest) -> Outcome {
        self.prov.run(submission(request)).await.1
    }

    /// Submit without waiting for the outcome: the operation's id once it is journaled.
    pub async fn submit(&self, request: OpRequest) -> OpId {
        self.prov
            .submit(submission(request))
            .await
            .expect("acknowledged")
            .id
    }

    pub fn agent(&self, id: i64) -> haloitsm_sim::SimAgent {
        self.sim
            .control()
            .snapshot()
            .agents
            .into_iter()
            .find(|a| a.id == id)
            .expect("agent exists in the simulator")
    }

    pub fn teams_of(&self, id: i64) -> BTreeSet<i64> {
        self.agent(id).team_ids.into_iter().collect()
    }

    pub fn roles_of(&self, id: i64) -> BTreeSet<String> {
        self.agent(id).role_ids.into_iter().collect()
    }

    /// A team the agent is not in, and one it is in.
    pub fn team_not_held(&self, id: i64) -> i64 {
        let held = self.teams_of(id);
        self.sim
            .control()
            .snapshot()
            .teams
            .iter()
            .map(|t| t.id)
            .find(|t| !held.contains(t))
            .expect("a team the agent is not in")
    }

    /// The simulator's ticket whose id an outcome reported.
    pub fn ticket(&self, id: &str) -> haloitsm_sim::SimTicket {
        self.sim
            .control()
            .snapshot()
            .tickets
            .into_iter()
            .find(|t| t.id.to_string() == id)
            .expect("ticket exists")
    }

    /// The id of the simulator's "Resolved" status (fallback tickets move there).
    pub fn resolved_status(&self) -> i64 {
        self.sim
            .control()
            .snapshot()
            .statuses
            .iter()
            .find(|s| s.name == "Resolved")
            .expect("the simulator has a Resolved status")
            .id
    }

    pub fn role_not_held(&self, id: i64) -> String {
        let held = self.roles_of(id);
        self.sim
            .control()
            .snapshot()
            .roles
            .iter()
            .map(|r| r.id.clone())
            .find(|r| !held.contains(r))
            .expect("a role the agent does not hold")
    }
}

/// A request from "test" that waits when the queue is full.
fn submission(request: OpRequest) -> Submission {
    Submission {
        request,
        requested_by: "test".into(),
        c1_task_id: None,
        when_full: WhenFull::Wait,
    }
}

/// The failure's kind and message, or `None` for any other outcome.
pub fn failed(o: &Outcome) -> Option<(FailureKind, &str)> {
    match o {
        Outcome::Failed { kind, message } => Some((*kind, message.as_str())),
        _ => None,
    }
}

pub fn grant(entitlement: &str, agent: i64) -> OpRequest {
    OpRequest::Grant {
        entitlement: entitlement.to_string(),
        principal: format!("agent:{agent}"),
    }
}

pub fn revoke(grant_id: &str) -> OpRequest {
    OpRequest::Revoke {
        grant: grant_id.to_string(),
    }
}

/// Submits `items` in order over the control socket (no-wait), on a thread of its own, until
/// one is not acknowledged (the daemon was killed mid-request: no promise was made). The
/// thread's result is the acknowledged prefix; the crash tests check that exactly those took
/// effect.
pub fn submit_until_refused<T: Send + 'static>(
    socket: &Path,
    items: Vec<T>,
    requested_by: &'static str,
    request: fn(&T) -> OpRequest,
) -> std::thread::JoinHandle<Vec<T>> {
    use baton_haloitsm::provisioning::control_socket::{self, ControlRequest, ControlResponse};
    let socket = socket.to_path_buf();
    std::thread::spawn(move || {
        let mut acked = Vec::new();
        for item in items {
            let req = ControlRequest::Submit {
                request: request(&item),
                requested_by: requested_by.into(),
                wait: false,
            };
            match control_socket::request(&socket, &req) {
                Ok(Some(ControlResponse::Submitted {
                    op_id: Some(_),
                    outcome: None,
                })) => acked.push(item),
                _ => break,
            }
        }
        acked
    })
}
