//! Range checks that serde cannot express, one refusal naming its key, and the warnings a
//! valid config still deserves. The capabilities' settings types hold data and defaults
//! only; what a valid (and a safe) value is lives here.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use url::Url;

use super::{Config, ConfigError};
use crate::contract::ids::EntitlementRef;
use crate::provisioning::settings::ProvisioningSection;
use crate::settings::is_loopback_url;
use crate::ticketing::TicketingSettings;

impl Config {
    /// Range checks that serde cannot express; each names its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let h = &self.halo;
        check_scheme("halo.base_url", &h.base_url)?;
        check_transport("halo.base_url", &h.base_url, h.allow_insecure_http)?;
        if let Some(u) = &h.auth_url {
            check_scheme("halo.auth_url", u)?;
            check_transport("halo.auth_url", u, h.allow_insecure_http)?;
        }
        if h.client_id.trim().is_empty() {
            return Err(ConfigError::invalid("halo.client_id", "must not be empty"));
        }
        range(
            "halo.rate_limit.requests",
            h.rate_limit.requests as u64,
            1,
            100_000,
        )?;
        dur_range(
            "halo.rate_limit.window",
            h.rate_limit.window,
            Duration::from_millis(100),
            Duration::from_secs(86_400),
        )?;
        range("halo.max_in_flight", h.max_in_flight as u64, 1, 64)?;
        dur_range(
            "halo.request_timeout",
            h.request_timeout,
            Duration::from_millis(100),
            Duration::from_secs(1800),
        )?;
        range("halo.max_attempts", h.max_attempts as u64, 1, 20)?;
        range(
            "halo.max_response_bytes",
            h.max_response_bytes,
            64 * 1024,
            4 * 1024 * 1024 * 1024,
        )?;
        dur_range(
            "sync.interval",
            self.sync.interval,
            Duration::from_secs(1),
            Duration::from_secs(7 * 86_400),
        )?;
        if self.sync.jitter > self.sync.interval {
            return Err(ConfigError::invalid(
                "sync.jitter",
                "must not exceed sync.interval",
            ));
        }
        range("output.keep", self.output.keep as u64, 1, 10_000)?;
        let reserve = h.rate_limit.priority_reserve;
        if !(0.0..=0.5).contains(&reserve) {
            return Err(ConfigError::invalid(
                "halo.rate_limit.priority_reserve",
                format!("{reserve} is out of range 0..=0.5"),
            ));
        }
        dur_range(
            "sync.retry_initial",
            self.sync.retry_initial,
            Duration::from_millis(10),
            Duration::from_secs(86_400),
        )?;
        range(
            "sync.max_consistency_passes",
            u64::from(self.sync.max_consistency_passes),
            1,
            10,
        )?;
        dur_range(
            "daemon.probe_interval",
            self.daemon.probe_interval,
            Duration::from_millis(10),
            Duration::from_secs(3600),
        )?;
        dur_range(
            "daemon.probe_timeout",
            self.daemon.probe_timeout,
            Duration::from_millis(10),
            Duration::from_secs(3600),
        )?;
        if self.output.dir.as_os_str().is_empty() {
            return Err(ConfigError::invalid("output.dir", "must not be empty"));
        }
        dur_range(
            "daemon.shutdown_grace",
            self.daemon.shutdown_grace,
            Duration::from_millis(100),
            Duration::from_secs(3600),
        )?;
        if self.daemon.restart_backoff_initial.is_zero()
            || self.daemon.restart_backoff_initial > self.daemon.restart_backoff_max
        {
            return Err(ConfigError::invalid(
                "daemon.restart_backoff_initial",
                "must be > 0 and <= daemon.restart_backoff_max",
            ));
        }
        ticketing(&self.ticketing)?;
        provisioning(&self.provisioning)?;
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return Err(ConfigError::invalid("log.level", e.to_string()));
        }
        Ok(())
    }
}

/// `[ticketing]`: the first problem, named by its key.
fn ticketing(t: &TicketingSettings) -> Result<(), ConfigError> {
    if t.cache_ttl > Duration::from_secs(86_400) {
        return Err(ConfigError::invalid(
            "ticketing.cache_ttl",
            "must be at most 24h",
        ));
    }
    if t.labels_to.trim().is_empty() {
        return Err(ConfigError::invalid(
            "ticketing.labels_to",
            "must be `category` or a custom field name",
        ));
    }
    if t.request_key_field.trim().is_empty() {
        return Err(ConfigError::invalid(
            "ticketing.request_key_field",
            "must be `details-marker` or a custom field name",
        ));
    }
    if !(1..=100_000).contains(&t.max_cached_types) {
        return Err(ConfigError::invalid(
            "ticketing.max_cached_types",
            "must be 1..=100000",
        ));
    }
    if t.fallback_resolved_status
        .as_deref()
        .is_some_and(|s| s.trim().is_empty())
    {
        return Err(ConfigError::invalid(
            "ticketing.fallback_resolved_status",
            "must not be empty when set",
        ));
    }
    Ok(())
}

/// `[provisioning]`: limits, and every manual entitlement must be an entitlement id.
fn provisioning(p: &ProvisioningSection) -> Result<(), ConfigError> {
    range("provisioning.max_parallel", p.max_parallel as u64, 1, 64)?;
    range("provisioning.capacity", p.capacity as u64, 1, 1_000_000)?;
    range("provisioning.max_attempts", p.max_attempts as u64, 1, 50)?;
    for e in &p.manual_entitlements {
        EntitlementRef::parse(e).map_err(|err| {
            ConfigError::invalid("provisioning.manual_entitlements", err.to_string())
        })?;
    }
    // A Unix socket path is limited to ~107 bytes.
    if p.socket.as_os_str().len() > 100 {
        return Err(ConfigError::invalid(
            "provisioning.socket",
            "path too long for a Unix socket (max 100 bytes)",
        ));
    }
    Ok(())
}

fn check_scheme(key: &str, url: &Url) -> Result<(), ConfigError> {
    match url.scheme() {
        "https" | "http" if url.host().is_some() => Ok(()),
        _ => Err(ConfigError::invalid(
            key,
            format!("`{url}` must be an http(s) URL with a host"),
        )),
    }
}

/// Plain HTTP only to a loopback host, unless `halo.allow_insecure_http` says otherwise:
/// the client secret is posted to the token endpoint under this URL.
fn check_transport(key: &str, url: &Url, allow_insecure: bool) -> Result<(), ConfigError> {
    if url.scheme() != "http" || allow_insecure || is_loopback_url(url) {
        return Ok(());
    }
    Err(ConfigError::invalid(
        key,
        format!(
            "`{url}` is plain HTTP to a host that is not loopback, so the client secret would \
             cross the network in clear: use https://, or set halo.allow_insecure_http = true \
             (BATON_HALO__ALLOW_INSECURE_HTTP=true) to accept it on a network you trust"
        ),
    ))
}

impl Config {
    /// What a valid config still deserves a warning for, one line each: plain HTTP to a
    /// host that is not loopback (allowed by `halo.allow_insecure_http`), and a `*_file`
    /// secret that group or others may read. Logged at every start (`check-config` prints
    /// them on stderr).
    pub fn warnings(&self) -> Vec<String> {
        let h = &self.halo;
        let mut out = Vec::new();
        let urls = [
            ("halo.base_url", Some(&h.base_url)),
            ("halo.auth_url", h.auth_url.as_ref()),
        ];
        for (key, url) in urls {
            if let Some(url) = url.filter(|u| u.scheme() == "http" && !is_loopback_url(u)) {
                out.push(format!(
                    "{key} `{url}` is plain HTTP to a host that is not loopback \
                     (halo.allow_insecure_http = true): the client secret and tokens cross the \
                     network in clear"
                ));
            }
        }
        // The embedded simulator's credentials replace the Halo secret (see load).
        if self.simulator.is_none()
            && let Some(path) = &h.client_secret_file
        {
            out.extend(loose_secret_file("halo.client_secret_file", path));
        }
        if self.c1.enabled()
            && let Some(path) = &self.c1.client_secret_file
        {
            out.extend(loose_secret_file("c1.client_secret_file", path));
        }
        out
    }
}

/// A warning when `path` (the file of secret `key`) may be read by group or others:
/// names the file and its mode. `None` when it is private, or cannot be read at all
/// (loading reports that).
fn loose_secret_file(key: &str, path: &Path) -> Option<String> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "secret file {} ({key}) has mode {mode:04o}: group or others may read it; \
             make it private (chmod 0600, owned by the daemon's user)",
            path.display()
        )
    })
}

pub(super) fn range(key: &str, v: u64, lo: u64, hi: u64) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        return Err(ConfigError::invalid(
            key,
            format!("{v} is out of range {lo}..={hi}"),
        ));
    }
    Ok(())
}

fn dur_range(key: &str, v: Duration, lo: Duration, hi: Duration) -> Result<(), ConfigError> {
    if v < lo || v > hi {
        return Err(ConfigError::invalid(
            key,
            format!(
                "{} is out of range {}..={}",
                humantime::format_duration(v),
                humantime::format_duration(lo),
                humantime::format_duration(hi)
            ),
        ));
    }
    Ok(())
}
