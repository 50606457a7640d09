//! `capabilities` and `config-schema`: what the connector can do and how it is
//! configured, as JSON in baton's formats (protojson of
//! `c1.connector.v2.ConnectorCapabilities` wrapped in an `Any`, and of
//! `c1.config.v1.Configuration`). Only what actually works is advertised.

use serde_json::{Value, json};

use crate::sync::mapping::{self, ResourceTypeDef};

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

/// `baton-haloitsm capabilities` with provisioning off (the default).
pub fn capabilities() -> Value {
    capabilities_for(&crate::config::ProvisioningSection::default())
}

/// Team membership and role assignment are grantable (PROVISION); agents are
/// provisioned (create, enable/disable, and delete with `allow_delete`) when
/// provisioning is enabled. Accounts are created without a password.
pub fn capabilities_for(prov: &crate::config::ProvisioningSection) -> Value {
    let per_type: Vec<Value> = mapping::resource_types(true)
        .iter()
        .map(|rt| {
            let mut caps = vec!["CAPABILITY_SYNC"];
            let grantable = rt.id == mapping::TEAM.id || rt.id == mapping::ROLE.id;
            if grantable || (rt.id == mapping::AGENT.id && prov.enabled) {
                caps.push("CAPABILITY_PROVISION");
            }
            if rt.id == mapping::AGENT.id && prov.enabled && prov.allow_delete {
                caps.push("CAPABILITY_RESOURCE_DELETE");
            }
            json!({
                "resourceType": resource_type_json(rt),
                "capabilities": caps,
                "permissions": {},
            })
        })
        .collect();
    json!({
        "@type": "type.googleapis.com/c1.connector.v2.ConnectorCapabilities",
        "resourceTypeCapabilities": per_type,
        "connectorCapabilities": ["CAPABILITY_SYNC", "CAPABILITY_PROVISION", "CAPABILITY_ACCOUNT_PROVISIONING"],
        "credentialDetails": {
            "capabilityAccountProvisioning": {
                "supportedCredentialOptions": ["CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD"],
                "preferredCredentialOption": "CAPABILITY_DETAIL_CREDENTIAL_OPTION_NO_PASSWORD",
            }
        },
    })
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

/// One config field: (key, display name, description, kind, required, secret, default).
type Field = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    Value,
);

fn fields() -> Vec<Field> {
    vec![
        (
            "halo.base_url",
            "Halo URL",
            "Tenant URL, e.g. https://acme.haloitsm.com",
            "string",
            true,
            false,
            json!(""),
        ),
        (
            "halo.auth_url",
            "Authorisation server",
            "Only when Halo shows a separate auth server",
            "string",
            false,
            false,
            json!(""),
        ),
        (
            "halo.tenant",
            "Tenant",
            "Sent as ?tenant= on the token request when set",
            "string",
            false,
            false,
            json!(""),
        ),
        (
            "halo.client_id",
            "Client ID",
            "Halo API application (Client ID and Secret (Services))",
            "string",
            true,
            false,
            json!(""),
        ),
        (
            "halo.client_secret",
            "Client secret",
            "From BATON_HALO__CLIENT_SECRET, halo.client_secret_file or the systemd credential halo_client_secret",
            "string",
            true,
            true,
            json!(""),
        ),
        (
            "halo.scope",
            "Scope",
            "OAuth scope",
            "string",
            false,
            false,
            json!("all"),
        ),
        (
            "halo.rate_limit.requests",
            "Requests per window",
            "Client-side budget (Halo allows 300 per rolling 5 minutes)",
            "int",
            false,
            false,
            json!(250),
        ),
        (
            "halo.rate_limit.window",
            "Rate window",
            "Rolling window of the budget",
            "string",
            false,
            false,
            json!("5m"),
        ),
        (
            "sync.interval",
            "Sync interval",
            "Time between full syncs in standalone mode",
            "string",
            false,
            false,
            json!("1h"),
        ),
        (
            "sync.include_end_users",
            "Include end users",
            "Also sync Halo end users",
            "bool",
            false,
            false,
            json!(false),
        ),
        (
            "output.dir",
            "Snapshot directory",
            "Where finished c1z snapshots are published",
            "string",
            false,
            false,
            json!("$STATE_DIRECTORY/snapshots"),
        ),
        (
            "output.keep",
            "Snapshots kept",
            "How many snapshots to keep",
            "int",
            false,
            false,
            json!(5),
        ),
        (
            "provisioning.enabled",
            "Provisioning",
            "Grant/revoke teams and roles and manage agent accounts (off: every operation is refused)",
            "bool",
            false,
            false,
            json!(false),
        ),
        (
            "provisioning.allow_delete",
            "Allow agent deletion",
            "Delete is refused unless set; disabling is the documented offboarding",
            "bool",
            false,
            false,
            json!(false),
        ),
        (
            "provisioning.fallback_ticket_type",
            "Fallback ticket type",
            "Halo ticket type id opened when a change cannot be made automatically",
            "int",
            false,
            false,
            json!(0),
        ),
        (
            "http.listen",
            "Metrics listener",
            "/metrics, /healthz, /readyz, /status",
            "string",
            false,
            false,
            json!("127.0.0.1:9898"),
        ),
    ]
}

/// `baton-haloitsm config-schema`.
pub fn config_schema() -> Value {
    let fields: Vec<Value> = fields()
        .into_iter()
        .map(|(name, display, desc, kind, required, secret, default)| {
            let value_key = match kind {
                "int" => "intField",
                "bool" => "boolField",
                _ => "stringField",
            };
            let mut f = json!({
                "name": name,
                "displayName": display,
                "description": desc,
                "isRequired": required,
                "isOps": false,
                "isSecret": secret,
            });
            f[value_key] = json!({ "defaultValue": default });
            f
        })
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

    #[test]
    fn capabilities_list_every_resource_type_once() {
        let c = capabilities();
        let ids: Vec<_> = c["resourceTypeCapabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resourceType"]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids, ["agent", "team", "role", "user"]);
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
        let off = capabilities();
        assert!(caps_of(&off, "team").contains(&"CAPABILITY_PROVISION".to_string()));
        assert!(caps_of(&off, "role").contains(&"CAPABILITY_PROVISION".to_string()));
        assert_eq!(caps_of(&off, "agent"), ["CAPABILITY_SYNC"]);
        let on = capabilities_for(&crate::config::ProvisioningSection {
            enabled: true,
            ..Default::default()
        });
        assert_eq!(
            caps_of(&on, "agent"),
            ["CAPABILITY_SYNC", "CAPABILITY_PROVISION"]
        );
        assert_eq!(caps_of(&on, "user"), ["CAPABILITY_SYNC"]);
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
        assert_eq!(secret, ["halo.client_secret"]);
    }
}
