//! What every settings type shares, whichever capability owns it: the schema of a
//! humantime duration (the config layer's key table reads its format), the state
//! directory that default paths sit under, and what counts as a loopback host (the only
//! hosts plain HTTP goes to without `halo.allow_insecure_http`).

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use url::{Host, Url};

/// The `format` of a duration in the config schema (`config::keys` reads it as a duration).
pub const DURATION_FORMAT: &str = "humantime-duration";

/// Schema of a `humantime_serde` duration: `#[schemars(with = "crate::settings::HumanDuration")]`.
pub struct HumanDuration;

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": DURATION_FORMAT })
    }
}

/// `$STATE_DIRECTORY` under systemd (`StateDirectory=`), else `./var`.
pub fn default_state_dir() -> PathBuf {
    match std::env::var_os("STATE_DIRECTORY") {
        // systemd may pass several colon-separated dirs; the first is ours.
        Some(v) => PathBuf::from(
            v.to_string_lossy()
                .split(':')
                .next()
                .unwrap_or("var")
                .to_string(),
        ),
        None => PathBuf::from("var"),
    }
}

/// A host whose traffic never leaves this machine: `localhost`, 127.0.0.0/8 or ::1 (also
/// written `[::1]`, or as the IPv4-mapped `::ffff:127.x.y.z`). Anything else, a private
/// address included, is a network a secret could be read on.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => v6_loopback(&v6),
        Err(_) => false,
    }
}

/// `is_loopback_host` of the URL's host (`url` has already parsed IP literals).
pub fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => is_loopback_host(d),
        Some(Host::Ipv4(v4)) => v4.is_loopback(),
        Some(Host::Ipv6(v6)) => v6_loopback(&v6),
        None => false,
    }
}

fn v6_loopback(v6: &Ipv6Addr) -> bool {
    v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "LocalHost",
            "127.0.0.1",
            "127.255.1.2",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "halo.example.com",
            "localhost.example.com",
            "my-localhost",
            "10.0.0.1",
            "192.168.1.1",
            "0.0.0.0",
            "::",
            "::ffff:10.0.0.1",
            "128.0.0.1",
            "",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn loopback_urls() {
        for u in [
            "http://localhost:8080/api",
            "http://127.0.0.1:1",
            "http://127.1/",
            "http://[::1]:9000/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(is_loopback_url(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "http://halo.example.com",
            "http://localhost.evil.example/",
            "http://10.1.2.3/",
            "http://[fe80::1]/",
            "http://2130706433.example/",
        ] {
            assert!(!is_loopback_url(&Url::parse(u).unwrap()), "{u}");
        }
    }
}
