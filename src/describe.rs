//! `capabilities` and `config-schema`: what the connector can do and how it is
//! configured, as JSON in baton's formats (protojson of
//! `c1.connector.v2.ConnectorCapabilities` wrapped in an `Any`, and of
//! `c1.config.v1.Configuration`). Only what actually works is advertised.

use serde_json::{Value, json};

use crate::config::keys::{KeySpec, Kind};
use crate::contract::ids::{self, ResourceTypeDef};

fn resource_type_json(rt: &ResourceTypeDef) -> Value {
    let mut v = json!({
        "id": rt.id,
        "displayName": rt.display_name,
        "traits": [rt.trait_name],
        "description": rt.description,
    });
    if rt.skip_entitlements_and_grants {
        v["annotations"] =
            json!([{"@type": "type.googleapis.com/c1.connector.v2.SkipEntitlementsAndGrants"}]);
    }
    v
}

/// What this configuration turns on, for `capabilities` and the connector metadata.
#[derive(Debug, Clone, Default)]
pub struct Features {
    pub include_end_users: bool,
    pub ticketing: bool,
    pub provisioning: crate::provisioning::settings::ProvisioningSection,
}

impl Features {
    /// The features of `cfg`, or the defaults (everything optional off) without one.
    pub fn of(cfg: Option<&crate::config::Config>) -> Features {
        cfg.map(|c| Features {
            include_end_users: c.sync.include_end_users,
            ticketing: c.ticketing.enabled,
            provisioning: c.provisioning.clone(),
        })
        .unwrap_or_default()
    }
}

/// `baton-haloitsm capabilities`: the resource types this configuration syncs
/// (`user` only with `sync.include_end_users`), sorted by id as the SDK lists
/// them. Team membership and role assignment are grantable (PROVISION); agents
/// are provisioned (create, enable/disable, and delete with `allow_delete`)
/// when provisioning is enabled, without a password. With `ticketing.enabled`,
/// `CAPABILITY_TICKETING` and the `ExternalTicketSettings{enabled}` metadata
/// annotation C1 reads.
pub fn capabilities(features: &Features) -> Value {
    let prov = &features.provisioning;
    let mut types = ids::resource_types(features.include_end_users);
    types.sort_by_key(|rt| rt.id);
    let per_type: Vec<Value> = types
        .iter()
        .map(|rt| {
            // Every type has a targeted read (sync::targeted), as the SDK's Get.
            let mut caps = vec!["CAPABILITY_SYNC", "CAPABILITY_TARGETED_SYNC"];
            let grantable = rt.id == ids::TEAM.id || rt.id == ids::ROLE.id;
            if grantable || (rt.id == ids::AGENT.id && prov.enabled) {
                caps.push("CAPABILITY_PROVISION");
            }
            if rt.id == ids::AGENT.id && prov.enabled && prov.allow_delete {
                caps.push("CAPABILITY_RESOURCE_DELETE");
            }
            json!({
                "resourceType": resource_type_json(rt),
                "capabilities": caps,
                "permissions": {},
            })
        })
        .collect();
    // As connectorbuilder derives them: the types' targeted syncs add both
    // targeted capabilities at connector level.
    let mut connector = vec![
        "CAPABILITY_SYNC",
        "CAPABILITY_PROVISION",
        "CAPABILITY_ACCOUNT_PROVISIONING",
        "CAPABILITY_TARGETED_SYNC",
        "CAPABILITY_SERVICE_MODE_TARGETED_SYNC",
    ];
    if features.ticketing {
        connector.push("CAPABILITY_TICKETING");
    }
    let mut v = json!({
        "@type": "type.googleapis.com/c1.connector.v2.ConnectorCapabilities",
        "resourceTypeCapabilities": per_type,
        "connectorCapabilities": connector,
        "credentialDetails": {
            "capabilityAccountProvisioning": {
                "supportedCredentialOptions": ["CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD"],
                "preferredCredentialOption": "CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD",
            }
        },
    });
    if features.ticketing {
        v["metadataAnnotations"] = json!([{
            "@type": "type.googleapis.com/c1.connector.v2.ExternalTicketSettings",
            "enabled": true,
        }]);
    }
    v
}

/// `ConnectorMetadata.annotations` for GetMetadata: `ExternalTicketSettings{enabled}`, as
/// baton's builder appends it for connectors that implement tickets.
pub fn metadata_annotations(ticketing_enabled: bool) -> Vec<prost_types::Any> {
    vec![crate::pb::pack_any(&crate::pb::ExternalTicketSettings {
        enabled: ticketing_enabled,
    })]
}

/// `ConnectorMetadata.account_creation_schema` (protojson): the create-account form.
pub fn account_creation_schema() -> Value {
    let field = |display: &str, required: bool, desc: &str, placeholder: &str, order: i32| {
        json!({
            "displayName": display,
            "required": required,
            "description": desc,
            "placeholder": placeholder,
            "order": order,
            "stringField": {},
        })
    };
    json!({
        "fieldMap": {
            "email": field("Email", true, "The agent's email; an agent with this email already existing answers 'already exists'", "jane@example.com", 1),
            "name": field("Name", false, "Display name (defaults to first name + surname, else the email)", "Jane Doe", 2),
            "first_name": field("First name", false, "Halo firstname", "Jane", 3),
            "surname": field("Surname", false, "Halo surname", "Doe", 4),
        }
    })
}

/// One `c1.config.v1.Field` (protojson) for a config key. Keys without a default show the
/// type's zero value, as baton's own fields do.
fn config_field(k: &KeySpec) -> Value {
    let (value_key, default) = match k.kind {
        Kind::Int => ("intField", k.default.clone().unwrap_or(json!(0))),
        Kind::Bool => ("boolField", k.default.clone().unwrap_or(json!(false))),
        Kind::StringList => ("stringSliceField", k.default.clone().unwrap_or(json!([]))),
        // baton has no float or duration field: both are written as strings ("0.1", "60s").
        Kind::String | Kind::Float | Kind::Duration | Kind::Table => {
            let text = match &k.default {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            ("stringField", json!(text))
        }
    };
    let mut f = json!({
        "name": k.key,
        "displayName": k.display_name,
        "description": k.description,
        "isRequired": k.required,
        "isOps": false,
        "isSecret": k.secret,
    });
    f[value_key] = json!({ "defaultValue": default });
    f
}

/// `baton-haloitsm config-schema`: every key of the config types (src/config/keys.rs),
/// except the embedded simulator's.
pub fn config_schema() -> Value {
    let fields: Vec<Value> = crate::config::keys::keys()
        .iter()
        .filter(|k| !k.internal)
        .map(config_field)
        .collect();
    json!({
        "fields": fields,
        "constraints": [],
        "displayName": "HaloITSM",
        "helpUrl": "https://github.com/baton-haloitsm/baton-haloitsm",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(include_end_users: bool, ticketing: bool) -> Value {
        capabilities(&Features {
            include_end_users,
            ticketing,
            ..Features::default()
        })
    }

    fn ids(c: &Value) -> Vec<String> {
        c["resourceTypeCapabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resourceType"]["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn capabilities_list_synced_resource_types_sorted_by_id() {
        assert_eq!(ids(&caps(true, false)), ["agent", "role", "team", "user"]);
        assert_eq!(ids(&caps(false, false)), ["agent", "role", "team"]);
    }

    #[test]
    fn agent_type_skips_entitlements_and_grants() {
        let c = caps(false, false);
        let agent = &c["resourceTypeCapabilities"][0]["resourceType"];
        assert_eq!(agent["id"], "agent");
        assert_eq!(
            agent["annotations"][0]["@type"],
            "type.googleapis.com/c1.connector.v2.SkipEntitlementsAndGrants"
        );
    }

    #[test]
    fn ticketing_adds_the_capability_and_the_metadata_annotation() {
        let off = caps(false, false);
        let list = |c: &Value| c["connectorCapabilities"].as_array().unwrap().clone();
        assert!(!list(&off).contains(&json!("CAPABILITY_TICKETING")));
        assert!(off.get("metadataAnnotations").is_none());
        let on = caps(false, true);
        assert!(list(&on).contains(&json!("CAPABILITY_TICKETING")));
        assert_eq!(on["metadataAnnotations"][0]["enabled"], true);
        let any = &metadata_annotations(true)[0];
        let settings: crate::pb::ExternalTicketSettings = crate::pb::unpack_any(any).unwrap();
        assert!(settings.enabled);
    }

    fn caps_of(c: &Value, id: &str) -> Vec<String> {
        c["resourceTypeCapabilities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resourceType"]["id"] == id)
            .unwrap()["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn provision_for_team_and_role_and_for_agent_when_enabled() {
        let off = caps(true, false);
        assert!(caps_of(&off, "team").contains(&"CAPABILITY_PROVISION".to_string()));
        assert!(caps_of(&off, "role").contains(&"CAPABILITY_PROVISION".to_string()));
        assert_eq!(
            caps_of(&off, "agent"),
            ["CAPABILITY_SYNC", "CAPABILITY_TARGETED_SYNC"]
        );
        let on = capabilities(&Features {
            include_end_users: true,
            provisioning: crate::provisioning::settings::ProvisioningSection {
                enabled: true,
                ..Default::default()
            },
            ..Features::default()
        });
        assert_eq!(
            caps_of(&on, "agent"),
            [
                "CAPABILITY_SYNC",
                "CAPABILITY_TARGETED_SYNC",
                "CAPABILITY_PROVISION"
            ]
        );
        assert_eq!(
            caps_of(&on, "user"),
            ["CAPABILITY_SYNC", "CAPABILITY_TARGETED_SYNC"]
        );
        // Every type has a targeted read, so the connector declares both targeted capabilities.
        let connector: Vec<&str> = on["connectorCapabilities"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert!(connector.contains(&"CAPABILITY_TARGETED_SYNC"));
        assert!(connector.contains(&"CAPABILITY_SERVICE_MODE_TARGETED_SYNC"));
        assert_eq!(
            on["credentialDetails"]["capabilityAccountProvisioning"]["preferredCredentialOption"],
            "CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD"
        );
        let schema = account_creation_schema();
        assert_eq!(schema["fieldMap"]["email"]["required"], true);
        for k in ["name", "first_name", "surname"] {
            assert_eq!(schema["fieldMap"][k]["required"], false);
        }
    }

    #[test]
    fn schema_marks_the_secret() {
        let s = config_schema();
        let secret: Vec<_> = s["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["isSecret"] == true)
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(secret, ["halo.client_secret", "c1.client_secret"]);
    }
}
