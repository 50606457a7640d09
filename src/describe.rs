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

/// `baton-haloitsm capabilities`.
pub fn capabilities() -> Value {
    let per_type: Vec<Value> = mapping::resource_types(true)
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
            "http.listen",
            "Metrics listener",
            "/metrics, /healthz, /readyz, /status",
            "string",
            false,
            false,
            json!("127.0.0.1:9898"),
        ),
        // C1 service mode (issue 12); baton's own variable names are noted where they apply.
        (
            "c1.client_id",
            "C1 client ID",
            "`name@host/suffix` from C1; also BATON_CLIENT_ID. Service mode is on when set",
            "string",
            false,
            false,
            json!(""),
        ),
        (
            "c1.client_secret",
            "C1 client secret",
            "From BATON_CLIENT_SECRET, c1.client_secret_file or the systemd credential c1_client_secret",
            "string",
            false,
            true,
            json!(""),
        ),
        (
            "c1.api_host",
            "C1 API host",
            "host[:port] for the token endpoint and gRPC when not the client id's host; also BATON_C1_API_HOST",
            "string",
            false,
            false,
            json!(""),
        ),
        (
            "c1.host_id",
            "Host ID",
            "How C1 names this instance; also BATON_HOST_ID. Default: the hostname",
            "string",
            false,
            false,
            json!(""),
        ),
        (
            "c1.task_concurrency",
            "Task concurrency",
            "C1 tasks run at once (1..100); syncs still run one at a time",
            "int",
            false,
            false,
            json!(1),
        ),
        (
            "c1.skip_full_sync",
            "Skip full syncs",
            "Refuse C1 sync tasks (--skip-full-sync)",
            "bool",
            false,
            false,
            json!(false),
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
