//! Drift tests: the derived keys against what `Config` serializes, what the file and the
//! environment accept, and what config/example.toml documents. A field added without the
//! derive picking it up (or a key the loader does not accept) fails here.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::c1::settings::C1_SECRET_ENV;
use crate::config::ConfigError;
use crate::halo::settings::HALO_SECRET_ENV;

const BASE: &str = "[halo]\nbase_url = \"https://acme.haloitsm.com\"\nclient_id = \"abc\"\n";

#[test]
fn duration_defaults_are_printed_in_an_exact_unit() {
    use std::time::Duration;
    assert_eq!(exact_duration(Duration::from_secs(90 * 86_400)), "90d");
    assert_eq!(exact_duration(Duration::from_secs(7200)), "2h");
    assert_eq!(exact_duration(Duration::from_secs(300)), "5m");
    assert_eq!(exact_duration(Duration::from_secs(61)), "61s");
    assert_eq!(exact_duration(Duration::from_millis(500)), "500ms");
    let retention = lookup("provisioning.retention").expect("a key");
    assert_eq!(retention.default, Some(Value::from("90d")));
}

/// Both secrets present (a valid C1 one), so that any single key can be set.
fn env(extra: &[(&str, &str)]) -> HashMap<String, String> {
    let c1 = crate::c1::credentials::client_secret_for_seed(&[7u8; 32]).expect("c1 secret");
    let mut e: HashMap<String, String> = [
        (HALO_SECRET_ENV.to_string(), "halo-secret".to_string()),
        (C1_SECRET_ENV.to_string(), c1.expose().to_string()),
    ]
    .into();
    for (k, v) in extra {
        e.insert(k.to_string(), v.to_string());
    }
    e
}

fn load(text: &str, e: &HashMap<String, String>) -> Result<Config, ConfigError> {
    Config::from_toml_str(text, Path::new("drift.toml"), e)
}

fn at<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(v, |v, part| v.get(part))
}

/// Leaf paths of a serialized config; a [`Kind::Table`] key is one leaf.
fn leaves(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) if prefix.is_empty() || lookup(prefix).is_none() => {
            for (k, v) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &p, out);
            }
        }
        _ => {
            out.insert(prefix.to_string());
        }
    }
}

/// Values to try for a key: its default and its examples.
fn samples(k: &KeySpec) -> Vec<Value> {
    k.default.iter().chain(&k.examples).cloned().collect()
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `base` (a TOML table) with `key` set to `value`.
fn toml_with(key: &str, value: &Value) -> String {
    let mut root: toml::Table = toml::from_str(BASE).expect("base");
    let parts: Vec<&str> = key.split('.').collect();
    let (last, parents) = parts.split_last().expect("non-empty key");
    let mut table = &mut root;
    for p in parents {
        table = table
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .expect("a table");
    }
    let v = toml::Value::try_from(without_nulls(value)).expect("toml value");
    table.insert(last.to_string(), v);
    toml::to_string(&root).expect("render")
}

/// How a value is written in an environment variable.
fn env_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(env_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Urls come back with a trailing slash.
fn same(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::String(g), Value::String(w)) => {
            // Durations are compared as durations ("90d" is what serializes as
            // "2months 29days 2h 52m 48s").
            match (humantime::parse_duration(g), humantime::parse_duration(w)) {
                (Ok(g), Ok(w)) => g == w,
                // Relative paths come back anchored at the config file's directory.
                _ => {
                    let (g, w) = (g.trim_end_matches('/'), w.trim_end_matches('/'));
                    g == w || (g.starts_with('/') && g.ends_with(&format!("/{w}")))
                }
            }
        }
        _ => got == want,
    }
}

#[test]
fn derived_keys_are_what_config_serializes() {
    let cfg = load(&format!("{BASE}[simulator]\n"), &env(&[])).expect("loads");
    let mut serialized = BTreeSet::new();
    leaves(
        &serde_json::to_value(&cfg).expect("json"),
        "",
        &mut serialized,
    );
    let derived: BTreeSet<String> = keys().iter().map(|k| k.key.clone()).collect();
    let not_derived: Vec<_> = serialized.difference(&derived).collect();
    let not_serialized: Vec<_> = derived.difference(&serialized).collect();
    assert!(
        not_derived.is_empty() && not_serialized.is_empty(),
        "serialized but not derived: {not_derived:?}; derived but not serialized: {not_serialized:?}"
    );
    assert!(keys().len() > 60, "{} keys", keys().len());
    assert_eq!(
        sections(),
        [
            "halo",
            "sync",
            "output",
            "http",
            "log",
            "daemon",
            "simulator",
            "ticketing",
            "provisioning",
            "c1"
        ]
    );
}

#[test]
fn every_key_has_a_description_and_a_value_to_try() {
    for k in keys() {
        assert!(k.description.len() > 5, "{}: no doc comment", k.key);
        assert!(!k.display_name.is_empty(), "{}", k.key);
        assert!(
            k.secret || !samples(k).is_empty(),
            "{}: no default nor example",
            k.key
        );
    }
    let by_key = |key: &str| lookup(key).expect(key);
    let window = by_key("halo.rate_limit.window");
    assert_eq!(window.kind, Kind::Duration);
    assert_eq!(window.default, Some(json!("5m")));
    assert_eq!(window.display_name, "Rate limit window");
    assert_eq!(by_key("halo.base_url").display_name, "Halo URL"); // an override
    assert_eq!(by_key("c1.client_id").display_name, "C1 client ID");
    assert_eq!(by_key("sync.interval").display_name, "Sync interval");
    let names: BTreeSet<&str> = keys().iter().map(|k| k.display_name.as_str()).collect();
    assert_eq!(names.len(), keys().len(), "display names must differ");
    assert!(by_key("halo.base_url").required && by_key("halo.client_id").required);
    assert!(by_key("halo.client_secret").required && by_key("halo.client_secret").secret);
    assert!(!by_key("c1.client_secret").required && by_key("c1.client_secret").secret);
    assert!(!by_key("halo.scope").required && !by_key("simulator.listen").required);
    assert_eq!(by_key("sync.max_consistency_passes").kind, Kind::Int);
    assert_eq!(by_key("halo.rate_limit.priority_reserve").kind, Kind::Float);
    assert_eq!(by_key("sync.on_start").default, Some(json!(true)));
    assert_eq!(by_key("ticketing.include_types").kind, Kind::StringList);
    assert_eq!(by_key("simulator.tenant").kind, Kind::Table);
    assert!(by_key("simulator.tenant.faults.x").internal);
    let roles = by_key("provisioning.role_strategy");
    assert_eq!(roles.allowed, ["agent_list", "add_roles"]);
    assert!(
        roles
            .description
            .ends_with("One of: `agent_list`, `add_roles`.")
    );
    assert_eq!(by_key("log.format").allowed, ["console", "json"]);
    assert!(
        by_key("provisioning.team_strategy")
            .allowed
            .contains(&"agent_list".into())
    );
}

#[test]
fn every_key_loads_from_a_file() {
    let e = env(&[]);
    for k in keys() {
        if k.secret {
            let err = load(&toml_with(&k.key, &json!("x")), &e).expect_err(&k.key);
            assert!(err.to_string().starts_with(&k.key), "{}: {err}", k.key);
            continue;
        }
        for v in samples(k) {
            let text = toml_with(&k.key, &v);
            let cfg = load(&text, &e).unwrap_or_else(|err| panic!("{}: {err}\n{text}", k.key));
            let got = serde_json::to_value(&cfg).expect("json");
            let got = at(&got, &k.key).unwrap_or(&Value::Null);
            if k.kind != Kind::Table {
                assert!(same(got, &v), "{}: set {v}, got {got}", k.key);
            }
        }
    }
}

#[test]
fn every_key_is_accepted_from_the_environment() {
    for k in keys() {
        if let Some(var) = &k.secret_env {
            let c1 = crate::c1::credentials::client_secret_for_seed(&[3u8; 32]).expect("c1");
            let e = env(&[
                (var, c1.expose()),
                ("BATON_CLIENT_ID", "n@acme.conductor.one/pcc"),
            ]);
            let cfg = load(BASE, &e).unwrap_or_else(|err| panic!("{var}: {err}"));
            let got = match k.key.as_str() {
                "halo.client_secret" => &cfg.halo.client_secret,
                "c1.client_secret" => &cfg.c1.client_secret,
                other => panic!("new secret {other}: check it here"),
            };
            assert_eq!(got.expose(), c1.expose(), "{var}");
            // The generic name is refused unless it is the secret's own variable.
            let generic = k.env_var();
            if &generic != var {
                let err = load(BASE, &env(&[(&generic, "x")])).expect_err(&generic);
                assert!(err.to_string().contains(var.as_str()), "{err}");
            }
            continue;
        }
        let (key, value) = match (k.kind, &k.default) {
            // A table's own keys are its type's business: try its first scalar one.
            (Kind::Table, Some(Value::Object(m))) => {
                let (sub, v) = m
                    .iter()
                    .find(|(_, v)| v.is_number())
                    .expect("a numeric key in the table");
                (format!("{}.{sub}", k.key), v.clone())
            }
            // An empty list cannot be written as a variable; lists carry an example.
            _ => {
                let v = samples(k).into_iter().find(|v| v != &json!([]));
                (k.key.clone(), v.expect("a non-empty sample"))
            }
        };
        let var = env_var_for(&key);
        let cfg = load(BASE, &env(&[(&var, &env_text(&value))]))
            .unwrap_or_else(|err| panic!("{var}={value}: {err}"));
        let got = serde_json::to_value(&cfg).expect("json");
        let got = at(&got, &key).unwrap_or(&Value::Null);
        assert!(same(got, &value), "{var}: set {value}, got {got}");
    }
    // Lists split on commas.
    let cfg = load(
        BASE,
        &env(&[("BATON_TICKETING__INCLUDE_TYPES", "Incident,Change")]),
    );
    assert_eq!(
        cfg.expect("loads").ticketing.include_types,
        ["Incident", "Change"]
    );
}

#[test]
fn unknown_sections_and_keys_are_refused_with_the_known_ones() {
    let refused = |var: &str| load(BASE, &env(&[(var, "1")])).expect_err(var).to_string();
    let e = refused("BATON_SYNC__INTERVL");
    assert!(
        e.starts_with("environment variable BATON_SYNC__INTERVL"),
        "{e}"
    );
    assert!(e.contains("unknown config key `sync.intervl`"), "{e}");
    assert!(
        e.contains("known in [sync]: interval, jitter, on_start"),
        "{e}"
    );
    let e = refused("BATON_HALO__RATE_LIMIT__NOPE");
    assert!(e.contains("rate_limit.requests, rate_limit.window"), "{e}");
    let e = refused("BATON_NOPE__X");
    assert!(
        e.contains("unknown config section `nope` (known: halo, sync,"),
        "{e}"
    );
    // A section name alone is not a key either.
    let e = refused("BATON_HALO__RATE_LIMIT");
    assert!(e.contains("unknown config key `halo.rate_limit`"), "{e}");
    // Baton's own flag variables (no `__`) are the CLI's.
    load(
        BASE,
        &env(&[("BATON_LOG_LEVEL", "debug"), ("BATON_SYNCX", "1")]),
    )
    .expect("loads");
}

/// config/example.toml is the annotated reference: every key appears in it, set or
/// commented out (`# key = ...`) under its table. Exception: the `[simulator]` keys
/// (internal: demo and tests, documented by `baton-haloitsm simulate --help`).
#[test]
fn example_toml_mentions_every_key() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/example.toml");
    let text = std::fs::read_to_string(path).expect("example.toml");
    let mut table = String::new();
    let mut mentioned = BTreeSet::new();
    for line in text.lines().map(str::trim) {
        if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            table = h.to_string();
            continue;
        }
        let line = line.trim_start_matches('#').trim_start();
        if let Some((name, _)) = line.split_once('=') {
            let name = name.trim();
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                mentioned.insert(format!("{table}.{name}"));
            }
        }
    }
    let missing: Vec<&str> = keys()
        .iter()
        .filter(|k| !k.internal && !k.secret && !mentioned.contains(&k.key))
        .map(|k| k.key.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "not in config/example.toml: {missing:?}"
    );
}
