//! What the config lets through to the network and the disk (issue 18): plain HTTP to a
//! host that is not loopback is refused (78) unless `halo.allow_insecure_http`, which then
//! warns at every start; a secret file that group or others may read is a warning naming
//! it and its mode; and no code path turns certificate checks off.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::support::daemon::{BIN, Daemon};
use crate::support::leaks::Scanned as _;

/// `check-config`, with only the variables given (no stray BATON_* from the test's own).
fn check_config(config: &Path, envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("--config").arg(config).arg("check-config");
    for var in [
        "BATON_CONFIG",
        "BATON_HALO__CLIENT_SECRET",
        "BATON_HALO__ALLOW_INSECURE_HTTP",
        "BATON_CLIENT_ID",
        "BATON_CLIENT_SECRET",
        "CREDENTIALS_DIRECTORY",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(envs.iter().copied())
        .output_scanned()
        .expect("run check-config")
}

/// A config in `dir` (which also holds its output), written to `<dir>/config.toml`.
fn write_config(dir: &Path, base_url: &str, halo_extra: &str) -> PathBuf {
    let path = dir.join("config.toml");
    let text = format!(
        "[halo]\nbase_url = \"{base_url}\"\nclient_id = \"safety-test\"\n{halo_extra}\n\
         [sync]\non_start = false\n\n[http]\nlisten = \"127.0.0.1:0\"\n\n\
         [output]\ndir = \"{}\"\n",
        dir.join("out").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

const SECRET: &[(&str, &str)] = &[("BATON_HALO__CLIENT_SECRET", "s3cret-value")];

#[test]
fn plain_http_to_a_remote_host_is_refused_naming_the_flag() {
    // `.invalid` never resolves (RFC 6761): nothing would be reached anyway.
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), "http://halo.example.invalid", "");
    let out = check_config(&cfg, SECRET);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("halo.base_url"), "{err}");
    assert!(err.contains("halo.allow_insecure_http"), "{err}");
    // `run` refuses the same way, before anything starts.
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .env_remove("NOTIFY_SOCKET")
        .envs(SECRET.iter().copied())
        .output_scanned()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    // A loopback host needs no flag.
    let cfg = write_config(dir.path(), "http://127.0.0.1:9/halo", "");
    let out = check_config(&cfg, SECRET);
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));
}

#[test]
fn with_the_flag_the_daemon_starts_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "http://halo.example.invalid",
        "allow_insecure_http = true",
    );
    let out = check_config(&cfg, SECRET);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: halo.base_url") && err.contains("halo.example.invalid"),
        "{err}"
    );

    let mut daemon = Daemon::start(&cfg, SECRET);
    assert!(
        daemon.wait_for_log("plain HTTP", Duration::from_secs(10)),
        "{}",
        daemon.logs()
    );
    let line = daemon
        .logs()
        .lines()
        .find(|l| l.contains("plain HTTP"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(line.contains("\"WARN\""), "{line}");
    assert!(line.contains("halo.example.invalid"), "{line}");
    assert!(!daemon.logs().contains("s3cret-value"));
    assert!(daemon.sigterm().success());
}

/// A config whose Halo secret comes from a file set to `mode`; returns (config, file).
fn secret_file_config(dir: &Path, mode: u32) -> (PathBuf, PathBuf) {
    let file = dir.join("halo_client_secret");
    std::fs::write(&file, "s3cret-value\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    let extra = format!("client_secret_file = \"{}\"", file.display());
    (
        write_config(dir, "https://halo.example.invalid", &extra),
        file,
    )
}

#[test]
fn a_secret_file_others_may_read_is_a_warning_naming_it_and_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let (cfg, file) = secret_file_config(dir.path(), 0o644);
    let out = check_config(&cfg, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let warning = err
        .lines()
        .find(|l| l.starts_with("warning:"))
        .unwrap_or_else(|| panic!("no warning: {err}"));
    assert!(warning.contains(&file.display().to_string()), "{warning}");
    assert!(warning.contains("0644"), "{warning}");
    assert!(!err.contains("s3cret-value"));

    // The daemon logs it at start too.
    let daemon = Daemon::start(&cfg, &[]);
    assert!(
        daemon.wait_for_log("0644", Duration::from_secs(10)),
        "{}",
        daemon.logs()
    );
    drop(daemon);

    let dir = tempfile::tempdir().unwrap();
    let (cfg, _file) = secret_file_config(dir.path(), 0o600);
    let out = check_config(&cfg, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("warning"), "{err}");
}

/// Certificates are always verified: no source file turns the check off.
#[test]
fn no_code_path_disables_certificate_verification() {
    fn walk(dir: &Path, found: &mut Vec<String>, files: &mut usize) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                *files += 1;
                let text = std::fs::read_to_string(&path).unwrap();
                for needle in [
                    "danger_accept_invalid",
                    "dangerous()",
                    "ServerCertVerifier",
                    "https_only(false)",
                ] {
                    if text.contains(needle) {
                        found.push(format!("{}: {needle}", path.display()));
                    }
                }
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut found, mut files) = (Vec::new(), 0);
    walk(&root.join("src"), &mut found, &mut files);
    assert!(files > 50, "only {files} source files found");
    assert!(found.is_empty(), "{found:?}");
}
