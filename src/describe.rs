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

/// `baton-haloitsm capabilities`: the resource types this configuration syncs
/// (`user` only with `sync.include_end_users`), sorted by id as the SDK lists
/// them, with `CAPABILITY_TICKETING` and the `ExternalTicketSettings{enabled}`
/// metadata annotation C1 reads when `ticketing.enabled`.
pub fn capabilities(include_end_users: bool, ticketing_enabled: bool) -> Value {
    let mut v = base_capabilities(include_end_users);
    if ticketing_enabled {
        if let Some(list) = v["connectorCapabilities"].as_array_mut() {
            list.push(json!("CAPABILITY_TICKETING"));
        }
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

fn base_capabilities(include_end_users: bool) -> Value {
    let mut types = mapping::resource_types(include_end_users);
    types.sort_by_key(|rt| rt.id);
    let per_type: Vec<Value> = types
        .iter()
        .map(|rt| {
            json!({
                "resourceType": resource_type_json(rt),
                "capabilities": ["CAPABILITY_SYNC"],
                "permissions": {},
            })
        })
        .collect();
    json!({
        "@type": "type.googleapis.com/c1.connector.v2.ConnectorCapabilities",
        "resourceTypeCapabilities": per_type,
        "connectorCapabilities": ["CAPABILITY_SYNC"],
        "credentialDetails": {},
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
            "ticketing.enabled",
            "Ticketing",
            "HaloITSM as C1's external ticketing provider",
            "bool",
            false,
            false,
            json!(false),
        ),
        (
            "ticketing.fallback_resolved_status",
            "Fallback resolved status",
            "Status (name or id) a provisioning fallback ticket moves to once the change is seen",
            "string",
            false,
            false,
            json!(""),
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
        assert_eq!(ids(&capabilities(true, false)), ["agent", "role", "team", "user"]);
        assert_eq!(ids(&capabilities(false, false)), ["agent", "role", "team"]);
    }

    #[test]
    fn agent_type_skips_entitlements_and_grants() {
        let c = capabilities(false, false);
        let agent = &c["resourceTypeCapabilities"][0]["resourceType"];
        assert_eq!(agent["id"], "agent");
        assert_eq!(
            agent["annotations"][0]["@type"],
            "type.googleapis.com/c1.connector.v2.SkipEntitlementsAndGrants"
        );
    }

    #[test]
    fn ticketing_adds_the_capability_and_the_metadata_annotation() {
        let off = capabilities(false, false);
        assert_eq!(off["connectorCapabilities"], json!(["CAPABILITY_SYNC"]));
        assert!(off.get("metadataAnnotations").is_none());
        let on = capabilities(false, true);
        assert_eq!(
            on["connectorCapabilities"],
            json!(["CAPABILITY_SYNC", "CAPABILITY_TICKETING"])
        );
        assert_eq!(on["metadataAnnotations"][0]["enabled"], true);
        let any = &metadata_annotations(true)[0];
        let settings: crate::pb::ExternalTicketSettings = crate::pb::unpack_any(any).unwrap();
        assert!(settings.enabled);
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
