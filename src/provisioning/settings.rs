//! The `[provisioning]` config section: whether provisioning is on, how team and role
//! changes are written, the queue's limits, where its journal and socket live, and the
//! socket's bounds (request size, idle time, connections).

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::settings::default_state_dir;

/// How a team membership is written. Whatever the strategy, the read-back decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamWriteStrategy {
    /// `POST /api/Agent` with the agent's complete `teams` list (default).
    AgentList,
    /// `POST /api/Team` with the team's complete `agents` list (read with
    /// `GET /api/Team/{id}?includeagents=true`); the agent is read back to verify.
    TeamAgents,
}

/// How a role assignment is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleWriteStrategy {
    /// `POST /api/Agent` with the agent's complete `roles` list (default).
    AgentList,
    /// Grants post `add_roles: [role]` (additive); revokes still write the full list.
    AddRoles,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProvisioningSection {
    /// Off by default: every operation is then refused with "provisioning is not enabled".
    pub enabled: bool,
    /// `delete-resource` is refused unless set; disabling is the documented offboarding.
    pub allow_delete: bool,
    /// How a team membership is written; the agent is read back and the change verified.
    pub team_strategy: TeamWriteStrategy,
    /// How a role assignment is written; the agent is read back and the change verified.
    pub role_strategy: RoleWriteStrategy,
    /// Entitlement ids (`team:3:member`, `role:<guid>:assigned`) never changed
    /// automatically: a fallback ticket asks a human instead.
    #[schemars(example = ["team:3:member"])]
    pub manual_entitlements: Vec<String>,
    /// Halo ticket type id for changes that cannot be automated; none = report a failure.
    #[schemars(example = 12)]
    pub fallback_ticket_type: Option<i64>,
    /// Agents worked on at once (operations on one agent always run one after another).
    pub max_parallel: usize,
    /// Operations queued or running; a full queue makes submitters wait or answers "queue full".
    pub capacity: usize,
    /// Tries of an operation whose failures are transient (429, 5xx, resets, timeouts).
    pub max_attempts: u32,
    /// First pause between tries; doubles each time.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub retry_backoff: Duration,
    /// Finished operations are kept this long (audit trail), then pruned.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub retention: Duration,
    /// SQLite journal; default `<state dir>/provisioning.sqlite3`.
    pub journal: PathBuf,
    /// Control socket for the CLI (mode 0600); default `<state dir>/control.sock`.
    pub socket: PathBuf,
    /// Longest request line the control socket reads; a longer one is answered with an
    /// error and the connection closed (memory stays flat whatever a client sends).
    pub socket_max_request_bytes: usize,
    /// A control-socket client that has not sent its whole request after this long is
    /// answered with an error and closed.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "crate::settings::HumanDuration")]
    pub socket_idle_timeout: Duration,
    /// Control-socket connections served at once; one more is answered "busy" and closed.
    pub socket_max_connections: usize,
}

impl Default for ProvisioningSection {
    fn default() -> Self {
        ProvisioningSection {
            enabled: false,
            allow_delete: false,
            team_strategy: TeamWriteStrategy::AgentList,
            role_strategy: RoleWriteStrategy::AgentList,
            manual_entitlements: Vec::new(),
            fallback_ticket_type: None,
            max_parallel: 4,
            capacity: 1000,
            max_attempts: 5,
            retry_backoff: Duration::from_secs(2),
            retention: Duration::from_secs(90 * 86_400),
            journal: default_state_dir().join("provisioning.sqlite3"),
            socket: default_state_dir().join("control.sock"),
            socket_max_request_bytes: 1 << 20,
            socket_idle_timeout: Duration::from_secs(30),
            socket_max_connections: 64,
        }
    }
}
