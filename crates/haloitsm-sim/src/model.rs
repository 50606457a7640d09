//! The simulated tenant's records, as tests see them through `SimControl::snapshot()`.
//! Field names follow the simulator's vocabulary; the wire names (Halo's) live in `api::views`.

use serde::{Deserialize, Serialize};

/// An agent (Halo technician). Also the input of `SimControl::insert_agent` (where `id` is ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimAgent {
    pub id: i64,
    pub name: String,
    pub firstname: String,
    pub surname: String,
    pub email: String,
    pub jobtitle: String,
    /// Halo `isdisabled`.
    pub disabled: bool,
    /// Halo `isapiagent`.
    pub api_agent: bool,
    /// Halo `lastlogindate` (`YYYY-MM-DDTHH:MM:SS`); `None` is served as `1900-01-01T00:00:00`.
    pub last_login: Option<String>,
    /// Halo `team`: the default team's name, `""` when the agent has none.
    pub team: String,
    /// Halo `ad` (AD login).
    pub ad: String,
    /// Team memberships, in the order Halo lists them.
    pub team_ids: Vec<i64>,
    /// The subset of `team_ids` where the agent is a manager (`is_manager` on the membership).
    pub managed_team_ids: Vec<i64>,
    /// Role GUIDs.
    pub role_ids: Vec<String>,
}

impl SimAgent {
    /// A minimal agent for `insert_agent`.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTeam {
    pub id: i64,
    pub name: String,
    pub inactive: bool,
    pub department_id: i64,
    pub department_name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimRole {
    /// GUID string, derived from the seed.
    pub id: String,
    pub id_int: i64,
    pub name: String,
}

/// An end user (Halo "Users").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimUser {
    pub id: i64,
    pub name: String,
    pub firstname: String,
    pub surname: String,
    pub emailaddress: String,
    pub login: String,
    pub inactive: bool,
    pub site_id: i64,
    pub site_name: String,
    pub client_id: i64,
    pub client_name: String,
    pub isserviceaccount: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusKind {
    Open,
    Pending,
    Closed,
}

impl StatusKind {
    /// `TStatus.type` on the wire: the official spec types it as an integer. The public
    /// sources give no table for it, so the simulator uses 0 open, 1 pending, 2 closed
    /// (clients resolve statuses by name or id at run time and must not rely on these).
    pub fn halo_type(self) -> i32 {
        match self {
            StatusKind::Open => 0,
            StatusKind::Pending => 1,
            StatusKind::Closed => 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStatus {
    pub id: i64,
    pub name: String,
    pub shortname: String,
    pub kind: StatusKind,
    pub sequence: i64,
}

/// Custom field kinds. On the wire they are Halo's `FieldInfo.type` / `inputtype` integers
/// (docs/reference/haloitsm-api.md §8), see [`FieldKind::halo_type`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Text,
    Memo,
    /// Text with inputtype integer.
    Number,
    /// Text with inputtype decimal.
    Decimal,
    /// Text with inputtype money.
    Money,
    Date,
    DateTime,
    /// A time of day: Halo has it, the C1 proto has no equivalent.
    Time,
    Dropdown,
    MultiSelect,
    Checkbox,
    RichText,
}

impl FieldKind {
    /// `(FieldInfo.type, FieldInfo.inputtype)`: type 0 text, 1 memo, 2 single selection,
    /// 3 multiple selection, 4 date, 5 time, 6 checkbox, 10 rich text; for text the input
    /// type 1 integer, 2 money, 4 decimal; for dates 1 date and time.
    pub fn halo_type(self) -> (i32, i32) {
        match self {
            FieldKind::Text => (0, 0),
            FieldKind::Number => (0, 1),
            FieldKind::Money => (0, 2),
            FieldKind::Decimal => (0, 4),
            FieldKind::Memo => (1, 0),
            FieldKind::Dropdown => (2, 0),
            FieldKind::MultiSelect => (3, 0),
            FieldKind::Date => (4, 0),
            FieldKind::DateTime => (4, 1),
            FieldKind::Time => (5, 0),
            FieldKind::Checkbox => (6, 0),
            FieldKind::RichText => (10, 0),
        }
    }

    /// Kinds that carry a list of allowed values.
    pub fn has_values(self) -> bool {
        matches!(self, FieldKind::Dropdown | FieldKind::MultiSelect)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimField {
    pub id: i64,
    /// Halo custom field names start with `CF`.
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    /// Dropdown choices (empty for other kinds).
    pub values: Vec<String>,
    pub mandatory: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimTicketType {
    pub id: i64,
    pub name: String,
    pub group_id: i64,
    pub visible: bool,
    pub initial_status: i64,
    pub allowed_status: Vec<i64>,
    pub fields: Vec<SimField>,
    /// Halo `agentscanselect`.
    #[serde(default = "yes")]
    pub agents_can_select: bool,
    /// When set, every create of this type is refused with this 400 message (Halo's
    /// change templates answer `CODE:APP03/2 Please select the CAB members to approve`).
    #[serde(default)]
    pub create_rejection: Option<String>,
}

fn yes() -> bool {
    true
}

/// A custom field value as posted on a ticket (by field `id` or `name`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimCustomValue {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub value: serde_json::Value,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimTicket {
    pub id: i64,
    pub tickettype_id: i64,
    pub summary: String,
    pub details: String,
    pub status_id: i64,
    pub user_id: Option<i64>,
    pub client_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub team: Option<String>,
    pub priority_id: Option<i64>,
    pub category_1: Option<String>,
    pub customfields: Vec<SimCustomValue>,
    pub dateoccurred: String,
    pub hasbeenclosed: bool,
    pub dateclosed: Option<String>,
    /// Halo `lastactiondate`: the last note or status change.
    #[serde(default)]
    pub lastactiondate: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimAction {
    pub id: i64,
    pub ticket_id: i64,
    pub note: String,
    pub outcome: String,
    pub new_status: Option<i64>,
    pub hiddenfromuser: bool,
    pub datetime: String,
}

/// A consistent copy of the whole tenant at one instant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantSnapshot {
    /// Ordered by id.
    pub agents: Vec<SimAgent>,
    pub teams: Vec<SimTeam>,
    pub roles: Vec<SimRole>,
    pub users: Vec<SimUser>,
    pub ticket_types: Vec<SimTicketType>,
    pub statuses: Vec<SimStatus>,
    pub tickets: Vec<SimTicket>,
    pub actions: Vec<SimAction>,
}

impl TenantSnapshot {
    /// Team and role memberships together (what one "membership row" means in the sizing goals).
    pub fn membership_rows(&self) -> usize {
        self.agents
            .iter()
            .map(|a| a.team_ids.len() + a.role_ids.len())
            .sum()
    }
}
