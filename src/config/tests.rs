//! The whole config through its front door (`Config::from_toml_str`): defaults, overrides,
//! secrets, refusals, and the annotated example file.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::{Config, ConfigError};
use crate::c1::settings::{
    C1_API_HOST_ENV, C1_CLIENT_ID_ENV, C1_HOST_ID_ENV, C1_SECRET_CREDENTIAL,
};
use crate::halo::settings::HALO_SECRET_ENV;

const MIN: &str = r#"
[halo]
base_url = "https://acme.haloitsm.com"
client_id = "abc"
"#;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(text: &str, e: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("test.toml"), &env(e))
}

#[test]
fn minimal_config_with_env_secret() {
    let cfg = load(MIN, &[(HALO_SECRET_ENV, "s3cret")]).expect("loads");
    assert_eq!(cfg.halo.client_secret.expose(), "s3cret");
    assert_eq!(cfg.halo.rate_limit.requests, 250);
    assert_eq!(cfg.sync.interval, Duration::from_secs(3600));
    assert!(!cfg.to_redacted_toml().contains("s3cret"));
    assert!(!format!("{cfg:?}").contains("s3cret"));
}

#[test]
fn env_overrides_nested_keys_and_ignores_cli_vars() {
    let cfg = load(
        MIN,
        &[
            (HALO_SECRET_ENV, "x"),
            ("BATON_HALO__RATE_LIMIT__REQUESTS", "100"),
            ("BATON_SYNC__INTERVAL", "15m"),
            ("BATON_LOG_LEVEL", "debug"),
        ],
    )
    .expect("loads");
    assert_eq!(cfg.halo.rate_limit.requests, 100);
    assert_eq!(cfg.sync.interval, Duration::from_secs(900));
}

#[test]
fn errors_name_the_key() {
    let s = &[(HALO_SECRET_ENV, "x")];
    let e = load(&format!("{MIN}bogus = 1\n"), s).unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
    let e = load(&format!("{MIN}[sync]\ninterval = \"5 parsecs\"\n"), s).unwrap_err();
    assert!(e.to_string().contains("sync.interval"), "{e}");
    let e = load(&format!("{MIN}[output]\nkeep = 0\n"), s).unwrap_err();
    assert!(e.to_string().starts_with("output.keep"), "{e}");
    let e = load(&MIN.replace("https://acme.haloitsm.com", "not a url"), s).unwrap_err();
    assert!(e.to_string().contains("halo.base_url"), "{e}");
    let e = load(
        &format!("{MIN}[halo.rate_limit]\nrequests = 0\nwindow = \"5m\"\n"),
        s,
    );
    assert!(
        e.unwrap_err()
            .to_string()
            .contains("halo.rate_limit.requests")
    );
    let e = load(MIN, &[(HALO_SECRET_ENV, "x"), ("BATON_NOPE__X", "1")]).unwrap_err();
    assert!(e.to_string().contains("BATON_NOPE__X"), "{e}");
}

#[test]
fn secret_rules() {
    let e = load(MIN, &[]).unwrap_err();
    assert!(e.to_string().contains("halo.client_secret_file"), "{e}");
    let e = load(
        &MIN.replace("client_id", "client_secret = \"x\"\nclient_id"),
        &[],
    );
    assert!(e.unwrap_err().to_string().contains("halo.client_secret"));
    let missing = "[halo]\nbase_url = \"https://a.b\"\nclient_id = \"c\"\nclient_secret_file = \"/nonexistent/secret\"\n";
    let e = load(missing, &[]).unwrap_err();
    assert!(e.to_string().contains("halo.client_secret_file"), "{e}");
    assert!(e.to_string().contains("/nonexistent/secret"), "{e}");
}

mod c1_tests {
    use super::*;

    const MIN: &str = "[halo]\nbase_url = \"https://a.b\"\nclient_id = \"c\"\n";

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn baton_variables_and_credential_file() {
        let secret = crate::c1::credentials::client_secret_for_seed(&[9u8; 32]).expect("secret");
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(C1_SECRET_CREDENTIAL), secret.expose()).expect("write");
        let creds = dir.path().display().to_string();
        let e = env(&[
            (HALO_SECRET_ENV, "x"),
            (C1_CLIENT_ID_ENV, "n@acme.conductor.one/pcc"),
            (C1_API_HOST_ENV, "api.acme.example:8443"),
            (C1_HOST_ID_ENV, "host-7"),
            ("CREDENTIALS_DIRECTORY", &creds),
        ]);
        let cfg = Config::from_toml_str(MIN, Path::new("t.toml"), &e).expect("loads");
        assert!(cfg.c1.enabled());
        assert_eq!(cfg.c1.client_secret, secret);
        assert_eq!(cfg.c1.api_host.as_deref(), Some("api.acme.example:8443"));
        assert_eq!(cfg.c1.host_id.as_deref(), Some("host-7"));
        assert!(!cfg.to_redacted_toml().contains(secret.expose()));

        // Off without a client id; a secret in the file is refused.
        let cfg = Config::from_toml_str(MIN, Path::new("t.toml"), &env(&[(HALO_SECRET_ENV, "x")]))
            .expect("loads");
        assert!(!cfg.c1.enabled());
        let text = format!("{MIN}[c1]\nclient_secret = \"x\"\n");
        let err =
            Config::from_toml_str(&text, Path::new("t.toml"), &env(&[(HALO_SECRET_ENV, "x")]));
        assert!(err.unwrap_err().to_string().starts_with("c1.client_secret"));
    }
}

mod example_file {
    use super::*;

    /// The annotated example must stay loadable: it is the config reference.
    #[test]
    fn example_toml_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
        let env: HashMap<String, String> = [(HALO_SECRET_ENV.to_string(), "x".to_string())].into();
        let cfg = Config::load_with_env(&path, &env).expect("example.toml loads");
        assert_eq!(cfg.halo.rate_limit.requests, 250);
    }
}

/// `[ticketing]`: the capability's own settings type, loaded as part of the config.
mod ticketing {
    use super::*;

    const MIN: &str = "[halo]\nbase_url = \"https://a.b\"\nclient_id = \"c\"\n";

    fn load(extra: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut vars: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        vars.insert(HALO_SECRET_ENV.into(), "x".into());
        Config::from_toml_str(&format!("{MIN}{extra}"), Path::new("t.toml"), &vars)
    }

    #[test]
    fn section_defaults_env_overrides_and_refusals() {
        let cfg = load("", &[]).unwrap();
        assert!(!cfg.ticketing.enabled);
        assert_eq!(cfg.ticketing.request_key_custom_field(), None);
        let cfg = load(
            "[ticketing]\ninclude_types = [\"2\", \"Access Request\"]\nrequest_key_field = \"CFC1RequestKey\"\n",
            &[("BATON_TICKETING__ENABLED", "true"), ("BATON_TICKETING__CACHE_TTL", "90s")],
        )
        .unwrap();
        assert!(cfg.ticketing.enabled);
        assert_eq!(cfg.ticketing.cache_ttl.as_secs(), 90);
        assert_eq!(cfg.ticketing.include_types.len(), 2);
        assert_eq!(
            cfg.ticketing.request_key_custom_field(),
            Some("CFC1RequestKey")
        );
        let e = load("[ticketing]\nbogus = 1\n", &[]).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        let e = load("[ticketing]\nlabels_to = \" \"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("ticketing.labels_to"), "{e}");
    }
}

/// Issue 18: plain HTTP only to loopback unless `halo.allow_insecure_http`, secret files
/// that others may read, and `check-config`'s view of unset and unchecked secrets.
mod safety {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::config::secrets::Secrets;

    fn with_url(url: &str, extra: &str) -> String {
        format!("[halo]\nbase_url = \"{url}\"\nclient_id = \"c\"\n{extra}")
    }

    #[test]
    fn plain_http_to_a_remote_host_is_refused_naming_the_flag() {
        let e = load(
            &with_url("http://halo.example.com", ""),
            &[(HALO_SECRET_ENV, "x")],
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("halo.base_url"), "{e}");
        assert!(e.contains("halo.allow_insecure_http = true"), "{e}");
        let text = with_url(
            "https://halo.example.com",
            "auth_url = \"http://10.0.0.7/auth\"\n",
        );
        let e = load(&text, &[(HALO_SECRET_ENV, "x")]).unwrap_err();
        assert!(e.to_string().starts_with("halo.auth_url"), "{e}");
    }

    #[test]
    fn plain_http_to_loopback_is_accepted_without_a_warning() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.8.9.10",
            "http://localhost:1/halo",
            "http://[::1]:9000",
        ] {
            let cfg = load(&with_url(url, ""), &[(HALO_SECRET_ENV, "x")]).expect(url);
            assert!(cfg.warnings().is_empty(), "{url}: {:?}", cfg.warnings());
        }
    }

    #[test]
    fn the_flag_accepts_it_with_a_warning() {
        let text = with_url("http://halo.example.com", "allow_insecure_http = true\n");
        let cfg = load(&text, &[(HALO_SECRET_ENV, "x")]).expect("allowed");
        let w = cfg.warnings();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("halo.base_url") && w[0].contains("halo.example.com"),
            "{w:?}"
        );
        // The same from the environment.
        let env = [
            (HALO_SECRET_ENV, "x"),
            ("BATON_HALO__ALLOW_INSECURE_HTTP", "true"),
        ];
        let cfg = load(&with_url("http://halo.example.com", ""), &env).expect("allowed");
        assert_eq!(cfg.warnings().len(), 1);
        // https needs no flag and gets no warning.
        let cfg = load(&with_url("https://halo.example.com", ""), &env).expect("https");
        assert!(cfg.warnings().is_empty());
    }

    #[test]
    fn c1_uses_plaintext_only_to_a_loopback_host() {
        let secret = crate::c1::credentials::client_secret_for_seed(&[3u8; 32]).expect("secret");
        for (host, plain) in [
            ("127.0.0.1:8443", true),
            ("localhost:50051", true),
            ("[::1]:8443", true),
            ("acme.conductor.one", false),
            ("10.0.0.5:8443", false),
        ] {
            let e = env(&[
                (HALO_SECRET_ENV, "x"),
                (C1_CLIENT_ID_ENV, "n@acme.conductor.one/pcc"),
                ("BATON_CLIENT_SECRET", secret.expose()),
                (C1_API_HOST_ENV, host),
            ]);
            let cfg = Config::from_toml_str(MIN, Path::new("t.toml"), &e).expect(host);
            let c1 = cfg.c1_settings().expect("settings").expect("on");
            assert_eq!(c1.plaintext(), plain, "{host}");
            let scheme = if plain { "http://" } else { "https://" };
            assert!(c1.token_url().starts_with(scheme), "{}", c1.token_url());
        }
    }

    #[test]
    fn a_secret_file_others_may_read_is_a_warning_naming_it_and_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("halo_secret");
        std::fs::write(&file, "s3cret").unwrap();
        let text = format!("{MIN}client_secret_file = \"{}\"\n", file.display());
        for (mode, warned) in [
            (0o644, true),
            (0o640, true),
            (0o604, true),
            (0o600, false),
            (0o400, false),
        ] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            let cfg = load(&text, &[]).expect("loads");
            let w = cfg.warnings();
            assert_eq!(!w.is_empty(), warned, "{mode:o}: {w:?}");
            if warned {
                let line = &w[0];
                assert!(line.contains(&file.display().to_string()), "{line}");
                assert!(line.contains(&format!("{mode:04o}")), "{line}");
                assert!(!line.contains("s3cret"), "{line}");
            }
        }
    }

    #[test]
    fn check_config_shows_only_secrets_that_are_set() {
        let cfg = load(MIN, &[(HALO_SECRET_ENV, "s3cret")]).expect("loads");
        let text = cfg.to_redacted_toml();
        assert_eq!(
            text.matches("client_secret = \"[REDACTED]\"").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("s3cret"));
        // Unchecked: no secret is read, none is shown, and none needs to exist.
        let unchecked = |text: &str| {
            Config::from_toml_str_with(text, Path::new("t.toml"), &env(&[]), Secrets::Unchecked)
        };
        let cfg = unchecked(MIN).expect("loads without a secret");
        assert!(cfg.halo.client_secret.is_empty());
        assert!(!cfg.to_redacted_toml().contains("client_secret ="));
        let missing = format!("{MIN}client_secret_file = \"/nonexistent/secret\"\n");
        unchecked(&missing).expect("the file is not read");
        // The rest is still checked.
        let e = unchecked(&format!("{MIN}bogus = 1\n")).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
    }
}
