//! Typed views of the Halo objects the connector reads.
//!
//! Halo is sloppy: fields go missing, come back `null`, and ids arrive as
//! numbers or strings depending on the endpoint and version. Every field is
//! therefore `#[serde(default)]` with a lenient deserializer, and unknown
//! fields are ignored, except identity (issue 18): the id of an agent, team,
//! role, user, ticket type, status or field is required and typed
//! ([`identity`]), since "could not read it" must never become id 0. We keep only what the connector needs; values are kept
//! verbatim (dates stay strings, since Halo's "unset" is `1900-01-01…`).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

pub mod identity;

/// Halo agent (technician), `GET /api/Agent` row or `GET /api/Agent/{id}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Agent {
    #[serde(deserialize_with = "identity::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub firstname: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub surname: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub email: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub jobtitle: String,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub isdisabled: bool,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub isapiagent: bool,
    /// The agent's default team *name*.
    #[serde(default, deserialize_with = "lenient::string")]
    pub team: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub lastlogindate: Option<String>,
    /// AD login name.
    #[serde(default, deserialize_with = "lenient::string")]
    pub ad: String,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub teams: Vec<AgentTeam>,
    #[serde(default, deserialize_with = "lenient::vec")]
    pub roles: Vec<AgentRole>,
}

impl Agent {
    /// Last login, or None when Halo reports its "unset" sentinel date.
    pub fn last_login(&self) -> Option<&str> {
        self.lastlogindate.as_deref().filter(|d| !is_unset_date(d))
    }
}

/// One team membership of an agent (`UnameSection`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AgentTeam {
    #[serde(deserialize_with = "lenient::int")]
    pub team_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub team_name: String,
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_manager: bool,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub department_id: Option<i64>,
}

/// One role of an agent; `id` is the role's GUID.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AgentRole {
    #[serde(deserialize_with = "lenient::string")]
    pub id: String,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
}

/// Halo team ("section"), `GET /api/Team`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Team {
    #[serde(deserialize_with = "identity::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub guid: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub inactive: bool,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub department_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub department_name: String,
}

/// A team with its members, `GET /api/Team/{id}?includeagents=true`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TeamMembers {
    #[serde(deserialize_with = "lenient::int")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    /// `None` when Halo sent no `agents` array at all (it ignores unknown
    /// query parameters, so `includeagents` may have been dropped): that is
    /// "unknown", never "no members", because posting a list built from it
    /// would empty the team.
    #[serde(deserialize_with = "lenient::opt_vec")]
    pub agents: Option<Vec<TeamAgent>>,
}

/// One member row of a team. The spec types `SectionDetail.agents` as
/// `UnameSection` (`agent_id`, `team_id`, `is_manager`, and an `id` of its
/// own) while `SectionDetail_List.agents` is `Uname_List` (the agent's `id`).
/// Unverified on a live tenant which one `GET /api/Team/{id}` answers, so
/// both parse: `agent_id` wins, `id` is the fallback.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct TeamAgent {
    #[serde(deserialize_with = "lenient::int")]
    agent_id: i64,
    #[serde(deserialize_with = "lenient::int")]
    id: i64,
    #[serde(deserialize_with = "lenient::boolean")]
    pub is_manager: bool,
}

impl TeamAgent {
    pub fn new(agent_id: i64, is_manager: bool) -> Self {
        TeamAgent {
            agent_id,
            id: 0,
            is_manager,
        }
    }

    /// The member's agent id (0 if the row named none).
    pub fn agent_id(&self) -> i64 {
        if self.agent_id > 0 {
            self.agent_id
        } else {
            self.id
        }
    }
}

/// Agent permission role, `GET /api/Roles`. `id` is a GUID string.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Role {
    #[serde(deserialize_with = "identity::guid")]
    pub id: String,
    #[serde(default, deserialize_with = "lenient::int")]
    pub id_int: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub notes: String,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub is_integration: bool,
}

/// End user (contact), `GET /api/Users`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct User {
    #[serde(deserialize_with = "identity::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub firstname: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub surname: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub emailaddress: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub login: String,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub inactive: bool,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub isserviceaccount: bool,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub site_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub site_name: String,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub client_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub client_name: String,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub linked_agent_id: Option<i64>,
}

/// Ticket type ("request type"), `GET /api/TicketType[/{id}?includedetails=true]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TicketType {
    #[serde(deserialize_with = "identity::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub group_id: Option<i64>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub group_name: String,
    /// `None` when Halo leaves the flag out (then agents are assumed able to select it).
    #[serde(default, deserialize_with = "lenient::opt_boolean")]
    pub agentscanselect: Option<bool>,
    #[serde(default, deserialize_with = "lenient::boolean")]
    pub visible: bool,
    #[serde(default, deserialize_with = "lenient::opt_int")]
    pub initial_status: Option<i64>,
    /// Statuses the type allows; empty means Halo did not restrict them. Strict: a status
    /// without its id fails the type rather than becoming status 0.
    #[serde(default, deserialize_with = "identity::allowed_status")]
    pub allowed_status: Vec<AllowedStatus>,
    /// Only with `includedetails=true`. Strict like `allowed_status`.
    #[serde(default, deserialize_with = "identity::fields")]
    pub fields: Vec<TicketTypeField>,
}

/// One allowed status of a ticket type (`RequestTypeStatus`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct AllowedStatus {
    #[serde(deserialize_with = "identity::status_id")]
    pub status_id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub status_name: String,
}

/// A field of a ticket type (`RequestTypeField`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct TicketTypeField {
    #[serde(default, deserialize_with = "lenient::int")]
    pub id: i64,
    #[serde(deserialize_with = "identity::fieldid")]
    pub fieldid: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub fieldname: String,
    /// Visibility/mandatory flags on the agent "new ticket" screen.
    #[serde(default, deserialize_with = "lenient::int")]
    pub technew: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub techdetail: i64,
    /// The field definition (type, label, values), kept verbatim.
    #[serde(default, deserialize_with = "lenient::value")]
    pub fieldinfo: Value,
}

/// Ticket status, `GET /api/Status`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Status {
    #[serde(deserialize_with = "identity::id")]
    pub id: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub shortname: String,
    /// Status type (open/closed/…); per instance, so resolve at runtime.
    #[serde(rename = "type", default, deserialize_with = "lenient::int")]
    pub status_type: i64,
    #[serde(default, deserialize_with = "lenient::int")]
    pub sequence: i64,
    #[serde(default, deserialize_with = "lenient::string")]
    pub colour: String,
}

/// Ticket (`Faults`), the manual-provisioning fallback.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Ticket {
    #[serde(deserialize_with = "lenient::int")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub summary: String,
    #[serde(deserialize_with = "lenient::string")]
    pub details: String,
    #[serde(deserialize_with = "lenient::int")]
    pub tickettype_id: i64,
    #[serde(deserialize_with = "lenient::int")]
    pub status_id: i64,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub priority_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub client_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub user_id: Option<i64>,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub agent_id: Option<i64>,
    #[serde(deserialize_with = "lenient::string")]
    pub team: String,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub web_url: Option<String>,
    #[serde(deserialize_with = "lenient::boolean")]
    pub hasbeenclosed: bool,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub dateclosed: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub dateoccurred: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub lastactiondate: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub category_1: String,
    #[serde(deserialize_with = "lenient::vec")]
    pub customfields: Vec<CustomField>,
}

/// A custom field value on a ticket.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct CustomField {
    #[serde(deserialize_with = "lenient::int")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub name: String,
    #[serde(deserialize_with = "lenient::string")]
    pub label: String,
    /// Kept verbatim: string, number, list or object depending on the field type.
    #[serde(deserialize_with = "lenient::value")]
    pub value: Value,
    #[serde(deserialize_with = "lenient::string")]
    pub display: String,
}

/// Ticket action (note / status change), `POST /api/Actions`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Action {
    #[serde(deserialize_with = "lenient::int")]
    pub id: i64,
    #[serde(deserialize_with = "lenient::int")]
    pub ticket_id: i64,
    #[serde(deserialize_with = "lenient::string")]
    pub note: String,
    #[serde(deserialize_with = "lenient::string")]
    pub outcome: String,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub outcome_id: Option<i64>,
    #[serde(deserialize_with = "lenient::boolean")]
    pub hiddenfromuser: bool,
    #[serde(deserialize_with = "lenient::opt_int")]
    pub new_status: Option<i64>,
}

/// `GET /api/authinfo`: where the authorisation server is (no token needed).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct AuthInfo {
    #[serde(deserialize_with = "lenient::opt_string")]
    pub auth_url: Option<String>,
    #[serde(deserialize_with = "lenient::opt_string")]
    pub tenant_id: Option<String>,
}

/// The body of a `DELETE`: Halo echoes the deleted id.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Deleted {
    #[serde(deserialize_with = "lenient::int")]
    pub id: i64,
}

/// Halo's "no date" sentinels: `1900-01-01…`, `1899-…`, `0001-…`.
pub fn is_unset_date(date: &str) -> bool {
    let d = date.trim();
    d.is_empty() || d.starts_with("1900-01-01") || d.starts_with("1899-") || d.starts_with("0001-")
}

/// Lenient field deserializers: `null` becomes the default, numbers and
/// strings convert into each other where Halo mixes them.
pub mod lenient {
    use super::*;
    use serde::de::DeserializeOwned;

    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(opt_int(d)?.unwrap_or_default())
    }

    pub fn opt_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Bool(b) => Some(i64::from(b)),
            _ => None,
        })
    }

    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(opt_string(d)?.unwrap_or_default())
    }

    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
    }

    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(opt_boolean(d)?.unwrap_or(false))
    }

    pub fn opt_boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Bool(b) => Some(b),
            Value::Number(n) => Some(n.as_f64().is_some_and(|f| f != 0.0)),
            Value::String(s) => Some(matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes"
            )),
            _ => None,
        })
    }

    /// A list; `null`, a missing field or a non-array become empty, and
    /// elements that do not parse are skipped rather than failing the row.
    pub fn vec<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Like [`vec`], but a missing, `null` or non-array field is `None`
    /// (use with `#[serde(default)]` on the struct).
    pub fn opt_vec<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<Vec<T>>, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::Array(items) => Some(
                items
                    .into_iter()
                    .filter_map(|v| serde_json::from_value(v).ok())
                    .collect(),
            ),
            _ => None,
        })
    }

    pub fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
}

#[cfg(test)]
mod tests;
