//! The account lifecycle actions C1 reaches through action tasks: `enable_agent` and
//! `disable_agent`, typed ACTION_TYPE_ACCOUNT_ENABLE / _DISABLE so that C1 offers them as the
//! account's enable and disable steps (as baton-servicenow registers its own).
//!
//! The tasks here answer from the catalogue and from memory: action_list_schemas,
//! action_get_schema, and action_status of an action this process invoked. action_invoke
//! itself is a journaled enable or disable, run with the other provisioning tasks
//! (`provisioning.rs`), which answers with [`completed`] and records it in [`Invoked`].

use std::cell::RefCell;
use std::collections::HashMap;

use prost_types::value::Kind;
use prost_types::{Struct, Value};
use tonic::Code;

use super::ok;
use crate::c1::status::{Outcome, TaskFailure};
use crate::c1::task_kind::TaskKind;
use crate::pb::baton::task::{ActionGetSchemaTask, ActionListSchemasTask, ActionStatusTask};
use crate::pb::c1::config::v1 as config;
use crate::pb::{self, ActionType, BatonActionSchema};

pub const ENABLE_AGENT: &str = "enable_agent";
pub const DISABLE_AGENT: &str = "disable_agent";

/// The argument every lifecycle action takes: the agent's resource id.
pub const AGENT_ID_ARG: &str = "agent_id";

fn schema(name: &str, display: &str, description: &str, kind: ActionType) -> BatonActionSchema {
    BatonActionSchema {
        name: name.to_string(),
        display_name: display.to_string(),
        description: description.to_string(),
        arguments: vec![config::Field {
            name: AGENT_ID_ARG.to_string(),
            display_name: "Agent".to_string(),
            description: "The HaloITSM agent (resource id of type `agent`).".to_string(),
            is_required: true,
            field: Some(config::field::Field::ResourceIdField(
                config::ResourceIdField::default(),
            )),
            ..Default::default()
        }],
        return_types: vec![config::Field {
            name: "success".to_string(),
            display_name: "Success".to_string(),
            field: Some(config::field::Field::BoolField(config::BoolField::default())),
            ..Default::default()
        }],
        action_type: vec![kind as i32],
        resource_type_id: "agent".to_string(),
        ..Default::default()
    }
}

/// Every registered action schema, in a stable order.
pub fn schemas() -> Vec<BatonActionSchema> {
    vec![
        schema(
            ENABLE_AGENT,
            "Enable agent",
            "Re-enables a disabled HaloITSM agent so that it can sign in again.",
            ActionType::AccountEnable,
        ),
        schema(
            DISABLE_AGENT,
            "Disable agent",
            "Disables a HaloITSM agent; its teams and roles are kept.",
            ActionType::AccountDisable,
        ),
    ]
}

pub fn schema_named(name: &str) -> Option<BatonActionSchema> {
    schemas().into_iter().find(|s| s.name == name)
}

/// Action ids remembered for action_status; forgotten all at once past this many.
const MAX_REMEMBERED_ACTIONS: usize = 1000;

/// The actions this process invoked: id -> (name, status), for action_status.
#[derive(Debug, Default)]
pub struct Invoked(RefCell<HashMap<String, (String, i32)>>);

impl Invoked {
    pub fn remember(&self, id: &str, name: &str, status: i32) {
        let mut map = self.0.borrow_mut();
        if map.len() >= MAX_REMEMBERED_ACTIONS {
            map.clear();
        }
        map.insert(id.to_string(), (name.to_string(), status));
    }

    fn get(&self, id: &str) -> Option<(String, i32)> {
        self.0.borrow().get(id).cloned()
    }
}

#[derive(Debug)]
pub enum Command {
    ListSchemas(ActionListSchemasTask),
    GetSchema(ActionGetSchemaTask),
    Status(ActionStatusTask),
}

impl Command {
    pub fn kind(&self) -> TaskKind {
        match self {
            Command::ListSchemas(_) => TaskKind::ActionListSchemas,
            Command::GetSchema(_) => TaskKind::ActionGetSchema,
            Command::Status(_) => TaskKind::ActionStatus,
        }
    }

    pub fn run(self, invoked: &Invoked) -> Result<Outcome, TaskFailure> {
        match self {
            Command::ListSchemas(_) => Ok(ok(&pb::ListActionSchemasResponse {
                schemas: schemas(),
                annotations: Vec::new(),
            })),
            Command::GetSchema(t) => match schema_named(&t.name) {
                Some(schema) => Ok(ok(&pb::GetActionSchemaResponse {
                    schema: Some(schema),
                    annotations: Vec::new(),
                })),
                None => Err(unknown(&t.name)),
            },
            Command::Status(t) => match invoked.get(&t.id) {
                Some((name, status)) => Ok(ok(&pb::GetActionStatusResponse {
                    name,
                    id: t.id,
                    status,
                    annotations: Vec::new(),
                    response: Some(success_struct()),
                })),
                None => Err(TaskFailure::new(
                    Code::NotFound,
                    format!("no action with id `{}` ran here", t.id),
                )),
            },
        }
    }
}

/// An account action that ran to completion.
pub fn completed(task_id: &str, name: &str) -> pb::InvokeActionResponse {
    pb::InvokeActionResponse {
        id: task_id.to_string(),
        status: pb::BatonActionStatus::Complete as i32,
        annotations: Vec::new(),
        response: Some(success_struct()),
        name: name.to_string(),
    }
}

pub fn unknown(name: &str) -> TaskFailure {
    TaskFailure::new(Code::NotFound, format!("unknown action `{name}`"))
}

fn success_struct() -> Struct {
    Struct {
        fields: [(
            "success".to_string(),
            Value {
                kind: Some(Kind::BoolValue(true)),
            },
        )]
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_actions_are_registered_with_their_types() {
        let s = schemas();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].action_type, vec![ActionType::AccountEnable as i32]);
        assert_eq!(s[1].action_type, vec![ActionType::AccountDisable as i32]);
        assert!(schema_named(DISABLE_AGENT).is_some());
        assert!(schema_named("delete_everything").is_none());
    }
}
