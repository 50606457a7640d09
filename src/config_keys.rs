//! Every config key, derived once from the config types in src/config.rs (their
//! `schemars::JsonSchema` derives): the dotted key, its kind, default, description
//! (the field's doc comment), and the secret/required markers. The environment
//! overrides (`config::env_overrides`), `config-schema` (src/describe.rs) and the
//! drift tests all read this one table, so a new key is written once: as a field.
//!
//! Markers the config types carry as schemars extensions (`#[schemars(extend(...))]`):
//! - `x-secret-env`: the key is a secret, never read from the file, and this variable
//!   carries it (the file and the systemd credential are named in the description);
//! - `x-required`: required although serde cannot say so (a secret resolved after parsing);
//! - `x-display-name`: overrides the display name derived from the key;
//! - `x-internal`: the key (and everything under it) is left out of `config-schema`
//!   (the embedded simulator: demo and tests only).
//!
//! A field whose type is an open map (the simulator's `tenant`) is one key of kind
//! [`Kind::Table`]: the keys under it belong to that type, which refuses unknown ones itself.

use std::sync::OnceLock;

use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

use crate::config::{Config, ENV_PREFIX};

/// What a key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Int,
    Float,
    Bool,
    StringList,
    /// A humantime duration written as a string: `"60s"`, `"5m"`, `"90d"`.
    Duration,
    /// A table whose keys are owned by another type (see the module comment).
    Table,
}

/// One config key.
#[derive(Debug, Clone)]
pub struct KeySpec {
    /// Dotted path: `halo.rate_limit.window`.
    pub key: String,
    pub kind: Kind,
    /// The value `Default` (or the serde default) gives; `None` when unset by default.
    pub default: Option<Value>,
    /// The field's doc comment (and the allowed values of an enum).
    pub description: String,
    pub display_name: String,
    pub required: bool,
    /// A secret: never accepted from the file nor as `BATON_<SECTION>__<KEY>`
    /// (unless that is its `secret_env`).
    pub secret: bool,
    /// The variable that carries a secret.
    pub secret_env: Option<String>,
    /// Allowed values of an enum, as written in the file.
    pub allowed: Vec<String>,
    /// Example values (`#[schemars(example = ...)]`), for keys without a default.
    pub examples: Vec<Value>,
    /// Left out of `config-schema` (see `x-internal`).
    pub internal: bool,
}

impl KeySpec {
    /// `BATON_HALO__RATE_LIMIT__WINDOW` for `halo.rate_limit.window`.
    pub fn env_var(&self) -> String {
        env_var_for(&self.key)
    }

    /// The key's section: `halo` for `halo.rate_limit.window`.
    pub fn section(&self) -> &str {
        self.key.split('.').next().unwrap_or_default()
    }
}

/// The generic override variable for a dotted key.
pub fn env_var_for(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.replace('.', "__").to_uppercase())
}

/// Every key, in the order the fields are declared.
pub fn keys() -> &'static [KeySpec] {
    static KEYS: OnceLock<Vec<KeySpec>> = OnceLock::new();
    KEYS.get_or_init(derive_keys)
}

/// The top-level sections, in declaration order.
pub fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in keys() {
        let s = k.section();
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// The key named by `path`, or the [`Kind::Table`] key `path` lies under.
pub fn lookup(path: &str) -> Option<&'static KeySpec> {
    keys().iter().find(|k| {
        k.key == path
            || (k.kind == Kind::Table
                && path
                    .strip_prefix(k.key.as_str())
                    .is_some_and(|rest| rest.starts_with('.')))
    })
}

/// The secret carried by the variable `var`, if any.
pub fn secret_for_env(var: &str) -> Option<&'static KeySpec> {
    keys().iter().find(|k| k.secret_env.as_deref() == Some(var))
}

fn derive_keys() -> Vec<KeySpec> {
    let schema = |serialize: bool| {
        let settings = SchemaSettings::default().with(|s| s.inline_subschemas = true);
        let settings = if serialize {
            settings.for_serialize()
        } else {
            settings.for_deserialize()
        };
        settings
            .into_generator()
            .into_root_schema_for::<Config>()
            .to_value()
    };
    // The serialize contract lists every key, including the fields never deserialized
    // (secrets resolved after parsing), but calls them all required (they are always
    // written): what is required comes from the deserialize contract, else `x-required`.
    let mut from_file = Vec::new();
    walk(&schema(false), "", true, false, None, &mut from_file);
    let mut all = Vec::new();
    walk(&schema(true), "", false, false, None, &mut all);
    let mut keys: Vec<KeySpec> = all
        .into_iter()
        .map(|mut k| {
            if let Some(f) = from_file.iter().find(|f| f.key == k.key) {
                k.required = f.required;
            }
            k
        })
        .collect();
    // The schema's properties come out sorted by name; list them as the fields are declared.
    let order = declaration_order();
    keys.sort_by_key(|k| order.iter().position(|p| *p == k.key).unwrap_or(usize::MAX));
    keys
}

/// Every key path in declaration order: a config with every section present, serialized
/// (serde writes struct fields in order) and read back by [`Paths`], which keeps the order
/// that `serde_json::Value` would lose. Empty if the config cannot be built (keys then stay
/// sorted by name).
fn declaration_order() -> Vec<String> {
    let minimal = serde_json::json!({
        "halo": { "base_url": "https://example.invalid", "client_id": "x" },
        "simulator": {},
    });
    let Ok(cfg) = serde_json::from_value::<Config>(minimal) else {
        return Vec::new();
    };
    let Ok(text) = serde_json::to_string(&cfg) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let seed = Paths {
        prefix: String::new(),
        out: &mut out,
    };
    match serde::de::DeserializeSeed::deserialize(
        seed,
        &mut serde_json::Deserializer::from_str(&text),
    ) {
        Ok(()) => out,
        Err(_) => Vec::new(),
    }
}

/// Records the path of every map key it reads, in document order.
struct Paths<'a> {
    prefix: String,
    out: &'a mut Vec<String>,
}

impl<'de> serde::de::DeserializeSeed<'de> for Paths<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Paths<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.out;
        while let Some(k) = map.next_key::<String>()? {
            let path = if self.prefix.is_empty() {
                k
            } else {
                format!("{}.{k}", self.prefix)
            };
            out.push(path.clone());
            map.next_value_seed(Paths {
                prefix: path,
                out: &mut *out,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The schema of an `Option<T>`'s `T` (`anyOf: [T, null]`, or `type: [t, "null"]`), else `s`.
fn non_null(s: &Value) -> Value {
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let rest: Vec<&Value> = any
            .iter()
            .filter(|v| v.get("type") != Some(&Value::from("null")))
            .collect();
        if let [one] = rest.as_slice() {
            return (*one).clone();
        }
    }
    if let Some(types) = s.get("type").and_then(Value::as_array) {
        let rest: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
        if let [one] = rest.as_slice() {
            let mut out = s.clone();
            out["type"] = (*one).clone();
            return out;
        }
    }
    s.clone()
}

fn flag(s: &Value, name: &str) -> bool {
    s.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn text(s: &Value, name: &str) -> Option<String> {
    s.get(name).and_then(Value::as_str).map(str::to_string)
}

fn walk(
    schema: &Value,
    prefix: &str,
    required_here: bool,
    internal: bool,
    parent_default: Option<&Map<String, Value>>,
    out: &mut Vec<KeySpec>,
) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, prop) in props {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let inner = non_null(prop);
        let internal = internal || flag(prop, "x-internal");
        // `required_here` is false in the serialize walk: only `x-required` counts there.
        let req = flag(prop, "x-required") || (required_here && required.contains(&name.as_str()));
        let default = prop
            .get("default")
            .or_else(|| parent_default.and_then(|d| d.get(name)))
            .filter(|v| !v.is_null());
        if inner.get("properties").is_some() {
            walk(
                &inner,
                &key,
                req,
                internal,
                default.and_then(Value::as_object),
                out,
            );
            continue;
        }
        out.push(leaf(key, prop, &inner, req, internal, default.cloned()));
    }
}

fn leaf(
    key: String,
    prop: &Value,
    inner: &Value,
    required: bool,
    internal: bool,
    default: Option<Value>,
) -> KeySpec {
    let allowed = allowed_values(inner);
    let kind = match inner.get("type").and_then(Value::as_str) {
        Some("integer") => Kind::Int,
        Some("number") => Kind::Float,
        Some("boolean") => Kind::Bool,
        Some("array") => Kind::StringList,
        Some("object") => Kind::Table,
        Some("string") if inner.get("format") == Some(&Value::from(DURATION_FORMAT)) => {
            Kind::Duration
        }
        _ => Kind::String,
    };
    // humantime prints 90 days as "2months 29days 2h 52m 48s" (its month is 30.44 days).
    let default = match (kind, default) {
        (Kind::Duration, Some(Value::String(d))) => Some(Value::String(
            humantime::parse_duration(&d).map_or(d, exact_duration),
        )),
        (_, d) => d,
    };
    let mut description = text(prop, "description")
        .or_else(|| text(inner, "description"))
        .unwrap_or_default()
        .replace('\n', " ");
    if !allowed.is_empty() {
        let list = allowed
            .iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ");
        description = format!("{description} One of: {list}.")
            .trim_start()
            .to_string();
    }
    let secret_env = text(prop, "x-secret-env");
    KeySpec {
        display_name: text(prop, "x-display-name").unwrap_or_else(|| display_name(&key)),
        key,
        kind,
        // A secret's "default" would be its redacted rendering.
        default: default.filter(|_| secret_env.is_none()),
        description,
        required,
        secret: secret_env.is_some(),
        secret_env,
        allowed,
        examples: prop
            .get("examples")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
        internal,
    }
}

/// `enum: [..]`, `const` (a one-variant enum), or `oneOf: [{const}, ..]` when the variants
/// carry doc comments.
fn allowed_values(s: &Value) -> Vec<String> {
    if let Some(c) = s.get("const").and_then(Value::as_str) {
        return vec![c.to_string()];
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array) {
        return e
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
    }
    s.get("oneOf")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter_map(|v| v.get("const").and_then(Value::as_str))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// `halo.rate_limit.window` → "Rate limit window", `sync.interval` → "Sync interval": the
/// key in words, the section left out below a sub-table (a key directly in a section keeps
/// it, so that `ticketing.enabled` and `provisioning.enabled` differ), acronyms in capitals.
pub fn display_name(key: &str) -> String {
    let parts: Vec<&str> = key.split('.').collect();
    let skip = usize::from(parts.len() > 2);
    let words: Vec<String> = parts[skip..]
        .iter()
        .flat_map(|part| part.split('_'))
        .map(|w| match w {
            "id" | "url" | "api" | "http" | "ttl" | "c1" => w.to_uppercase(),
            _ => w.to_string(),
        })
        .collect();
    let joined = words.join(" ");
    let mut chars = joined.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => joined,
    }
}

const DURATION_FORMAT: &str = "humantime-duration";

/// `d` in the largest unit that holds it exactly ("90d", "5m", "500ms"), as written in
/// config files.
fn exact_duration(d: std::time::Duration) -> String {
    if d.subsec_nanos() != 0 {
        return format!("{}ms", d.as_millis());
    }
    let s = d.as_secs();
    match s {
        0 => "0s".to_string(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// Schema of a `humantime_serde` duration: `#[schemars(with = "crate::config_keys::HumanDuration")]`.
pub struct HumanDuration;

impl schemars::JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HumanDuration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": DURATION_FORMAT })
    }
}

/// Drift tests: the derived keys against what `Config` serializes, what the file and the
/// environment accept, and what config/example.toml documents. A field added without the
/// derive picking it up (or a key the loader does not accept) fails here.
#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};
    use std::path::Path;

    use serde_json::{Value, json};

    use super::*;
    use crate::config::{C1_SECRET_ENV, ConfigError, HALO_SECRET_ENV};

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
                    _ => g.trim_end_matches('/') == w.trim_end_matches('/'),
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
}
