//! What a user sees from the binary: `inspect … | head` ends quietly, an error
//! names its cause once, `capabilities` follows the config.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use baton_haloitsm::c1z::{Store, ksuid};
use baton_haloitsm::pb;

use crate::support::daemon::BIN;
use crate::support::leaks::Scanned as _;

fn command() -> Command {
    let mut c = Command::new(BIN);
    // A stray BATON_* variable in the test environment must not change the outcome.
    c.env_remove("BATON_CONFIG").env_remove("BATON_LOG_LEVEL");
    c
}

/// A c1z whose `inspect resources` table is far larger than a pipe buffer.
fn big_snapshot(path: &Path) {
    let mut store = Store::create(path).unwrap();
    store.start_sync(&ksuid::new()).unwrap();
    store
        .put_resource_types(&[pb::ResourceType {
            id: "agent".into(),
            display_name: "Agent".into(),
            traits: vec![pb::resource_type::Trait::User as i32],
            ..Default::default()
        }])
        .unwrap();
    let rows: Vec<pb::Resource> = (0..5_000)
        .map(|i| pb::Resource {
            id: Some(pb::ResourceId {
                resource_type: "agent".into(),
                resource: i.to_string(),
                baton_resource: false,
            }),
            display_name: format!("Agent number {i} with a reasonably long display name"),
            ..Default::default()
        })
        .collect();
    store.put_resources(&rows).unwrap();
    store.end_sync().unwrap();
    store.finish(path).unwrap();
}

#[test]
fn inspect_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.c1z");
    big_snapshot(&path);
    let mut child = command()
        .args(["inspect", path.to_str().unwrap(), "resources"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read one chunk, like `head`, then close our end while the writer still
    // has well over a pipe buffer (64 KiB) to write.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 512];
    let n = stdout.read(&mut first).unwrap();
    assert!(n > 0);
    drop(stdout);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    crate::support::leaks::scan("stderr of inspect", &stderr);
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.to_lowercase().contains("broken pipe"), "{stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn an_error_names_its_cause_once() {
    let out = command()
        .args(["inspect", "/nonexistent/none.c1z", "stats"])
        .output_scanned()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(stderr.contains("/nonexistent/none.c1z"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );

    let out = command()
        .args(["--config", "/nonexistent/config.toml", "check-config"])
        .output_scanned()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

fn capability_ids(config: &Path) -> Vec<String> {
    let out = command()
        .args(["--config", config.to_str().unwrap(), "capabilities"])
        .output_scanned()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["resourceTypeCapabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["resourceType"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn capabilities_follow_include_end_users() {
    let dir = tempfile::tempdir().unwrap();
    // No config file: the defaults (no end users).
    assert_eq!(
        capability_ids(&dir.path().join("none.toml")),
        ["agent", "role", "team"]
    );
    for (include, want) in [
        (true, vec!["agent", "role", "team", "user"]),
        (false, vec!["agent", "role", "team"]),
    ] {
        let cfg = dir.path().join(format!("c{include}.toml"));
        std::fs::write(
            &cfg,
            format!(
                "[halo]\nbase_url = \"http://127.0.0.1:1\"\nclient_id = \"sim-client\"\n\
                 [simulator]\nlisten = \"127.0.0.1:0\"\n\
                 [sync]\ninclude_end_users = {include}\n"
            ),
        )
        .unwrap();
        assert_eq!(capability_ids(&cfg), want);
    }
}

/// `config-schema` lists every config key (derived from the config types), in baton's shape;
/// a misspelt override variable is refused at `check-config` with the section's known keys.
#[test]
fn config_schema_lists_every_key_and_overrides_are_checked() {
    let out = command().arg("config-schema").output_scanned().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    top.sort_unstable();
    assert_eq!(top, ["constraints", "displayName", "fields", "helpUrl"]);
    let fields = v["fields"].as_array().unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    let want: Vec<&str> = baton_haloitsm::config::keys::keys()
        .iter()
        .filter(|k| !k.internal)
        .map(|k| k.key.as_str())
        .collect();
    assert_eq!(names, want);
    let field = |name: &str| fields.iter().find(|f| f["name"] == name).unwrap();
    assert_eq!(
        field("halo.rate_limit.window")["stringField"]["defaultValue"],
        "5m"
    );
    assert_eq!(
        field("sync.max_consistency_passes")["intField"]["defaultValue"],
        3
    );
    assert_eq!(field("sync.on_start")["boolField"]["defaultValue"], true);
    assert!(field("ticketing.include_types")["stringSliceField"]["defaultValue"].is_array());
    assert_eq!(field("halo.base_url")["isRequired"], true);
    for secret in ["halo.client_secret", "c1.client_secret"] {
        assert_eq!(field(secret)["isSecret"], true);
        assert_eq!(field(secret)["stringField"]["defaultValue"], "");
    }

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[halo]\nbase_url = \"https://acme.haloitsm.com\"\nclient_id = \"c\"\n",
    )
    .unwrap();
    let check = |var: &str| {
        command()
            .args(["--config", cfg.to_str().unwrap(), "check-config"])
            .env("BATON_HALO__CLIENT_SECRET", "x")
            .env(var, "30m")
            .output_scanned()
            .unwrap()
    };
    let ok = check("BATON_SYNC__INTERVAL");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("interval = \"30m\""));
    let bad = check("BATON_SYNC__INTERVL");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("BATON_SYNC__INTERVL"), "{stderr}");
    assert!(
        stderr.contains("known in [sync]: interval, jitter"),
        "{stderr}"
    );
}

/// Console logs carry no colour codes when stderr is not a terminal (journald, files, pipes).
#[test]
fn console_logs_have_no_colour_codes_on_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--log-format", "console", "--log-level", "info", "--config"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo.toml"))
        .args(["sync", "-f"])
        .arg(dir.path().join("s.c1z"))
        .current_dir(dir.path())
        .output_scanned()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("sync finished"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

/// Every option and argument of every command, nested ones included, has help text.
#[test]
fn every_option_has_help_text() {
    fn help(path: &[String]) -> String {
        let out = Command::new(BIN)
            .args(path)
            .arg("--help")
            .output_scanned()
            .unwrap();
        assert!(out.status.success(), "{path:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
    fn walk(path: Vec<String>, missing: &mut Vec<String>, seen: &mut usize) {
        let text = help(&path);
        let lines: Vec<&str> = text.lines().collect();
        let indent = |l: &str| l.len() - l.trim_start().len();
        let mut section = "";
        for (i, line) in lines.iter().enumerate() {
            if !line.starts_with(' ') {
                section = line.trim_end_matches(':');
                continue;
            }
            let body = line.trim_start();
            let item = body.starts_with('-') || body.starts_with('<') || body.starts_with('[');
            match section {
                "Options" | "Arguments" if item => {
                    *seen += 1;
                    // Help on the same line ("<flag>  <help>"), or on the next, indented
                    // further (clap's layout when the text is long).
                    let same_line = body
                        .split_once("  ")
                        .is_some_and(|(_, h)| !h.trim().is_empty());
                    let next_line = lines
                        .get(i + 1)
                        .is_some_and(|n| !n.trim().is_empty() && indent(n) > indent(line));
                    if !same_line && !next_line {
                        missing.push(format!("{}: {body}", path.join(" ")));
                    }
                }
                "Commands" => {
                    let name = body.split_whitespace().next().unwrap_or_default();
                    if name != "help" {
                        let mut sub = path.clone();
                        sub.push(name.to_string());
                        walk(sub, missing, seen);
                    }
                }
                _ => {}
            }
        }
    }
    let (mut missing, mut seen) = (Vec::new(), 0);
    walk(Vec::new(), &mut missing, &mut seen);
    assert!(
        seen > 50,
        "only {seen} options found: the help format changed?"
    );
    assert!(
        missing.is_empty(),
        "options without help text:\n{}",
        missing.join("\n")
    );
}

/// `check-config` where the secrets are not (a CI job, a machine before its secrets
/// arrive): `--without-secrets` checks the rest; a secret is printed only when set, and
/// then only as `[REDACTED]`.
#[test]
fn check_config_without_secrets_and_only_set_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let secret_file = dir.path().join("missing_secret");
    std::fs::write(
        &config,
        format!(
            "[halo]\nbase_url = \"https://acme.haloitsm.com\"\nclient_id = \"abc\"\n\
             client_secret_file = \"{}\"\n",
            secret_file.display()
        ),
    )
    .unwrap();
    let check = |args: &[&str], envs: &[(&str, &str)]| {
        let out = command()
            .env_remove("BATON_HALO__CLIENT_SECRET")
            .env_remove("BATON_CLIENT_SECRET")
            .env_remove("BATON_CLIENT_ID")
            .env_remove("CREDENTIALS_DIRECTORY")
            .arg("--config")
            .arg(&config)
            .arg("check-config")
            .args(args)
            .envs(envs.iter().copied())
            .output_scanned()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        (out.status.code(), stdout, stderr)
    };

    // The secret file does not exist: refused as before...
    let (code, _, stderr) = check(&[], &[]);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("halo.client_secret_file"), "{stderr}");
    // ...but valid without secrets, saying so, and showing no secret line.
    let (code, stdout, stderr) = check(&["--without-secrets"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("secrets were not checked"), "{stdout}");
    assert!(!stdout.contains("client_secret ="), "{stdout}");
    // A bad key is still refused without secrets.
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}bogus = 1\n")).unwrap();
    let (code, _, stderr) = check(&["--without-secrets"], &[]);
    assert_eq!(code, Some(78), "{stderr}");
    assert!(stderr.contains("bogus"), "{stderr}");
    std::fs::write(&config, &text).unwrap();

    // Set: [REDACTED], never the value; C1's secret is unset and so not shown at all.
    std::fs::write(&secret_file, "the-halo-secret\n").unwrap();
    let (code, stdout, stderr) = check(&[], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        stdout.matches("client_secret = \"[REDACTED]\"").count(),
        1,
        "{stdout}"
    );
    assert_eq!(stdout.matches("client_secret =").count(), 1, "{stdout}");
    assert!(!stdout.contains("the-halo-secret") && !stderr.contains("the-halo-secret"));
    // --without-secrets does not read it even when it is there.
    let (code, stdout, _) = check(
        &["--without-secrets"],
        &[("BATON_HALO__CLIENT_SECRET", "env-secret")],
    );
    assert_eq!(code, Some(0));
    assert!(!stdout.contains("client_secret ="), "{stdout}");
    assert!(!stdout.contains("env-secret"), "{stdout}");
}
