//! What can be asked of the queue: the raw request (ids as strings, from the
//! CLI or C1) and the parsed, journaled operation.

use serde::{Deserialize, Serialize};

use crate::contract::ids::EntitlementRef;
use crate::contract::ids::{GrantRef, IdError, ResourceRef};

/// A request as it arrives, ids unparsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpRequest {
    Grant {
        entitlement: String,
        principal: String,
    },
    Revoke {
        grant: String,
    },
    CreateAccount(NewAccount),
    DisableAccount {
        resource: String,
    },
    EnableAccount {
        resource: String,
    },
    DeleteResource {
        resource: String,
    },
}

/// `create-account`: email and name are required by Halo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub email: String,
    /// Defaults to first name + surname, else the email.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub firstname: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    /// Initial team membership (team id).
    #[serde(default)]
    pub team: Option<i64>,
    /// Initial role (role GUID).
    #[serde(default)]
    pub role: Option<String>,
}

/// A parsed operation, as stored in the journal's `payload`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Operation {
    Grant { grant: GrantRef },
    Revoke { grant: GrantRef },
    CreateAccount { account: NewAccount },
    SetDisabled { agent_id: i64, disabled: bool },
    Delete { agent_id: i64 },
}

/// Metric and journal label of each operation (the set is registered by telemetry).
pub use crate::telemetry::provisioning::OPS as OP_LABELS;

impl Operation {
    pub fn label(&self) -> &'static str {
        match self {
            Operation::Grant { .. } => "grant",
            Operation::Revoke { .. } => "revoke",
            Operation::CreateAccount { .. } => "create_account",
            Operation::SetDisabled { disabled: true, .. } => "disable_account",
            Operation::SetDisabled {
                disabled: false, ..
            } => "enable_account",
            Operation::Delete { .. } => "delete_resource",
        }
    }

    /// Operations with the same key run one after another (read-modify-write
    /// of one agent must never race; two creates of one email neither).
    pub fn serial_key(&self) -> String {
        match self {
            Operation::Grant { grant } | Operation::Revoke { grant } => {
                format!("agent:{}", grant.agent_id)
            }
            Operation::SetDisabled { agent_id, .. } | Operation::Delete { agent_id } => {
                format!("agent:{agent_id}")
            }
            Operation::CreateAccount { account } => {
                format!("email:{}", account.email.trim().to_lowercase())
            }
        }
    }
}

fn account_agent(resource: &str) -> Result<i64, IdError> {
    ResourceRef::parse(resource)?.agent_principal()
}

impl OpRequest {
    /// Parse every id; a refusal names the id and the shape expected.
    pub fn parse(&self) -> Result<Operation, String> {
        let op = match self {
            OpRequest::Grant {
                entitlement,
                principal,
            } => {
                let entitlement = EntitlementRef::parse(entitlement).map_err(|e| e.to_string())?;
                let agent_id = ResourceRef::parse(principal)
                    .and_then(|p| p.agent_principal())
                    .map_err(|e| e.to_string())?;
                Operation::Grant {
                    grant: GrantRef {
                        entitlement,
                        agent_id,
                    },
                }
            }
            OpRequest::Revoke { grant } => Operation::Revoke {
                grant: GrantRef::parse(grant).map_err(|e| e.to_string())?,
            },
            OpRequest::CreateAccount(account) => {
                let email = account.email.trim();
                if email.is_empty() || !email.contains('@') || email.contains(char::is_whitespace) {
                    return Err(format!(
                        "`{}` is not a valid email: expected name@domain",
                        account.email
                    ));
                }
                // Halo requires a name; C1's form only requires the email.
                let joined = format!(
                    "{} {}",
                    account.firstname.as_deref().unwrap_or("").trim(),
                    account.surname.as_deref().unwrap_or("").trim()
                );
                let name = [account.name.trim(), joined.trim(), email]
                    .into_iter()
                    .find(|n| !n.is_empty())
                    .unwrap_or(email)
                    .to_string();
                if let Some(r) = &account.role {
                    ResourceRef::from_parts("role", r).map_err(|e| e.to_string())?;
                }
                if account.team.is_some_and(|t| t <= 0) {
                    return Err("team must be a positive team id".into());
                }
                Operation::CreateAccount {
                    account: NewAccount {
                        email: email.to_string(),
                        name,
                        ..account.clone()
                    },
                }
            }
            OpRequest::DisableAccount { resource } => Operation::SetDisabled {
                agent_id: account_agent(resource).map_err(|e| e.to_string())?,
                disabled: true,
            },
            OpRequest::EnableAccount { resource } => Operation::SetDisabled {
                agent_id: account_agent(resource).map_err(|e| e.to_string())?,
                disabled: false,
            },
            OpRequest::DeleteResource { resource } => Operation::Delete {
                agent_id: account_agent(resource).map_err(|e| e.to_string())?,
            },
        };
        Ok(op)
    }
}
