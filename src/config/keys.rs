//! Every config key, derived once from the config types ([`Config`] and the settings
//! type of each capability; their `schemars::JsonSchema` derives): the dotted key, its
//! kind, default, description (the field's doc comment), and the secret/required markers.
//! The environment overrides (`config::env`), `config-schema` (src/describe.rs) and the
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

use super::{Config, ENV_PREFIX};
use crate::settings::DURATION_FORMAT;

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

#[cfg(test)]
mod tests;
