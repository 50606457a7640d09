//! The account lifecycle actions C1 reaches through action tasks: `enable_agent` and
//! `disable_agent`, typed ACTION_TYPE_ACCOUNT_ENABLE / _DISABLE so that C1 offers them as the
//! account's enable and disable steps (as baton-servicenow registers its own).

use crate::pb::c1::config::v1 as config;
use crate::pb::{ActionType, BatonActionSchema};

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
