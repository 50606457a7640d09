//! What Hello tells C1: host id, build info, OS info and the connector metadata with its
//! capabilities. C1 refuses a registration with an empty field, so every field has a
//! non-empty fallback (the SDK fills defaults for the same reason).

use crate::contract::ids;
use crate::pb::baton::BatonServiceHelloRequest;
use crate::pb::baton::baton_service_hello_request::{BuildInfo, OsInfo};
use crate::pb::{
    Capability, ConnectorCapabilities, ConnectorMetadata, ExternalTicketSettings,
    ResourceTypeCapability, pack_any,
};
use crate::sync::mapping;

/// Which optional capabilities are switched on (what C1 may send tasks for).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enabled {
    pub provisioning: bool,
    pub ticketing: bool,
    pub include_end_users: bool,
}

fn or_unknown(s: Option<String>) -> String {
    s.map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// A value from `/etc/os-release` (`ID`, `VERSION_ID`, ...), unquoted.
fn os_release(key: &str) -> Option<String> {
    let text = std::fs::read_to_string("/etc/os-release").ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k == key).then(|| v.trim_matches('"').to_string())
    })
}

/// The machine's hostname (the default host id, as in the SDK).
pub fn hostname() -> String {
    or_unknown(read_trimmed("/proc/sys/kernel/hostname").or_else(|| std::env::var("HOSTNAME").ok()))
}

pub fn build_info() -> BuildInfo {
    BuildInfo {
        lang_version: concat!("rust", env!("CARGO_PKG_RUST_VERSION")).to_string(),
        package: env!("CARGO_PKG_NAME").to_string(),
        package_version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

pub fn os_info() -> OsInfo {
    let platform = os_release("ID");
    OsInfo {
        hostname: hostname(),
        os: std::env::consts::OS.to_string(),
        platform_family: or_unknown(os_release("ID_LIKE").or_else(|| platform.clone())),
        platform: or_unknown(platform),
        platform_version: or_unknown(os_release("VERSION_ID")),
        kernel_version: or_unknown(read_trimmed("/proc/sys/kernel/osrelease")),
        kernel_arch: std::env::consts::ARCH.to_string(),
        // Detecting a hypervisor needs privileges we do not ask for; "none" is the SDK's default.
        virtualization_system: "none".to_string(),
    }
}

/// Connector metadata with capabilities from the same resource-type table the sync uses.
pub fn connector_metadata(enabled: Enabled) -> ConnectorMetadata {
    // Every type has a targeted read (sync::targeted), as the SDK's Get.
    let mut per_type = vec![Capability::Sync as i32, Capability::TargetedSync as i32];
    if enabled.provisioning {
        per_type.push(Capability::Provision as i32);
    }
    let resource_type_capabilities = ids::resource_types(enabled.include_end_users)
        .iter()
        .map(|def| ResourceTypeCapability {
            resource_type: Some(mapping::resource_type_pb(def)),
            capabilities: per_type.clone(),
        })
        .collect();
    // As connectorbuilder derives them: the types' targeted syncs add both.
    let mut connector_capabilities = vec![
        Capability::Sync as i32,
        Capability::TargetedSync as i32,
        Capability::ServiceModeTargetedSync as i32,
    ];
    if enabled.provisioning {
        connector_capabilities.extend([
            Capability::Provision as i32,
            Capability::ResourceDelete as i32,
            Capability::AccountProvisioning as i32,
            Capability::Actions as i32,
        ]);
    }
    if enabled.ticketing {
        connector_capabilities.push(Capability::Ticketing as i32);
    }
    ConnectorMetadata {
        display_name: "HaloITSM".to_string(),
        description: "Agents, teams and roles of a HaloITSM tenant".to_string(),
        // The SDK's builder announces ticketing this way, whatever the capability list says.
        annotations: vec![pack_any(&ExternalTicketSettings {
            enabled: enabled.ticketing,
        })],
        capabilities: Some(ConnectorCapabilities {
            resource_type_capabilities,
            connector_capabilities,
            credential_details: None,
        }),
        ..Default::default()
    }
}

/// The Hello request; `task_id` is empty at start-up and set when answering a hello task.
pub fn hello_request(host_id: &str, task_id: &str, enabled: Enabled) -> BatonServiceHelloRequest {
    BatonServiceHelloRequest {
        host_id: host_id.to_string(),
        task_id: task_id.to_string(),
        build_info: Some(build_info()),
        os_info: Some(os_info()),
        connector_metadata: Some(connector_metadata(enabled)),
        annotations: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_empty_field_in_hello() {
        let h = hello_request("host-1", "", Enabled::default());
        let b = h.build_info.expect("build info");
        for v in [&b.lang_version, &b.package, &b.package_version] {
            assert!(!v.is_empty());
        }
        let o = h.os_info.expect("os info");
        for v in [
            &o.hostname,
            &o.os,
            &o.platform,
            &o.platform_version,
            &o.platform_family,
            &o.kernel_version,
            &o.kernel_arch,
            &o.virtualization_system,
        ] {
            assert!(!v.is_empty());
        }
        let caps = h
            .connector_metadata
            .and_then(|m| m.capabilities)
            .expect("capabilities");
        assert_eq!(
            caps.connector_capabilities,
            vec![
                Capability::Sync as i32,
                Capability::TargetedSync as i32,
                Capability::ServiceModeTargetedSync as i32
            ]
        );
        for t in &caps.resource_type_capabilities {
            assert!(t.capabilities.contains(&(Capability::TargetedSync as i32)));
        }
        assert_eq!(caps.resource_type_capabilities.len(), 3);
    }
}
