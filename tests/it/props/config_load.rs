//! The config loader (`Config::from_toml_str` with an explicit environment): any text, edits
//! of the real files, any `BATON_*` variables → a `Config` or a `ConfigError`, never a panic.
//! A valid config with random in-range numbers, each given in the file or in its variable,
//! loads to exactly the numbers generated.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use baton_haloitsm::config::{Config, keys};
use baton_haloitsm::halo::settings::HALO_SECRET_ENV;
use proptest::prelude::*;

use super::cases;
use super::strategies::mutated;

const MIN: &str = "[halo]\nbase_url = \"https://acme.haloitsm.com\"\nclient_id = \"abc\"\n";
const EXAMPLE: &str = include_str!("../../../config/example.toml");

fn load(text: &str, env: &HashMap<String, String>) -> Option<Config> {
    Config::from_toml_str(text, Path::new("props.toml"), env).ok()
}

fn with_secret(mut env: HashMap<String, String>) -> HashMap<String, String> {
    env.entry(HALO_SECRET_ENV.to_string())
        .or_insert_with(|| "s3cret".to_string());
    env
}

/// A value as a variable would carry it.
fn env_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..100_000).prop_map(|n| n.to_string()),
        (0u64..100_000).prop_map(|n| format!("{n}ms")),
        Just("true".into()),
        Just("1.5".into()),
        Just("a,b,,c".into()),
        Just("team:3:member".into()),
        Just("https://x.example".into()),
        "\\PC{0,12}",
        any::<String>(),
    ]
}

/// Variable names: the real `BATON_<SECTION>__<KEY>` ones, baton's own, and junk.
fn env_name() -> impl Strategy<Value = String> {
    let real: Vec<String> = keys::keys().iter().map(|k| k.env_var()).collect();
    prop_oneof![
        4 => proptest::sample::select(real),
        1 => proptest::sample::select(vec![
            "BATON_CLIENT_ID", "BATON_CLIENT_SECRET", "BATON_C1_API_HOST", "BATON_HOST_ID",
            "BATON_LOG_LEVEL", HALO_SECRET_ENV, "BATON_HALO__", "BATON___", "BATON_HALO____X",
        ]).prop_map(str::to_string),
        1 => "BATON_[A-Z_]{0,20}",
        1 => "BATON_\\PC{0,10}",
    ]
}

fn env_map() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map(env_name(), env_value(), 0..8)
}

/// Where a generated value is written.
#[derive(Debug, Clone, Copy)]
enum At {
    File,
    Env,
}

fn at() -> impl Strategy<Value = At> {
    prop_oneof![Just(At::File), Just(At::Env)]
}

/// In-range values for the numeric keys, each with where it is written.
#[derive(Debug, Clone)]
struct Valid {
    requests: (u32, At),
    window_ms: (u64, At),
    reserve_permille: (u32, At),
    max_in_flight: (usize, At),
    request_timeout_ms: (u64, At),
    max_attempts: (u32, At),
    interval_s: (u64, At),
    jitter_s: (u64, At),
    keep: (usize, At),
    passes: (u32, At),
    probe_interval_ms: (u64, At),
    shutdown_grace_ms: (u64, At),
    max_parallel: (usize, At),
    capacity: (usize, At),
    prov_attempts: (u32, At),
    on_start: (bool, At),
}

fn valid() -> impl Strategy<Value = Valid> {
    let a = (
        (1u32..=100_000, at()),
        (100u64..=86_400_000, at()),
        (0u32..=500, at()),
        (1usize..=64, at()),
        (100u64..=1_800_000, at()),
        (1u32..=20, at()),
        (1u64..=604_800, at()),
    );
    let b = (
        (1usize..=10_000, at()),
        (1u32..=10, at()),
        (10u64..=3_600_000, at()),
        (100u64..=3_600_000, at()),
        (1usize..=64, at()),
        (1usize..=1_000_000, at()),
        (1u32..=50, at()),
        (any::<bool>(), at()),
        (any::<u64>(), at()),
    );
    (a, b).prop_map(|(a, b)| Valid {
        requests: a.0,
        window_ms: a.1,
        reserve_permille: a.2,
        max_in_flight: a.3,
        request_timeout_ms: a.4,
        max_attempts: a.5,
        interval_s: a.6,
        // Jitter must not exceed the interval.
        jitter_s: (b.8.0 % (a.6.0 + 1), b.8.1),
        keep: b.0,
        passes: b.1,
        probe_interval_ms: b.2,
        shutdown_grace_ms: b.3,
        max_parallel: b.4,
        capacity: b.5,
        prov_attempts: b.6,
        on_start: b.7,
    })
}

impl Valid {
    /// The file's text and the environment that together say these values.
    fn render(&self) -> (String, HashMap<String, String>) {
        let mut sections: Vec<(&str, Vec<String>)> = vec![
            (
                "halo",
                vec![
                    "base_url = \"https://acme.haloitsm.com\"".into(),
                    "client_id = \"abc\"".into(),
                ],
            ),
            ("halo.rate_limit", vec![]),
            ("sync", vec![]),
            ("output", vec![]),
            ("daemon", vec![]),
            ("provisioning", vec![]),
        ];
        let mut env = HashMap::new();
        let mut put = |key: &str, value: String, quoted: bool, at: At| {
            let (section, name) = key.rsplit_once('.').unwrap();
            match at {
                At::File => {
                    let v = if quoted {
                        format!("\"{value}\"")
                    } else {
                        value
                    };
                    let s = sections.iter_mut().find(|(s, _)| *s == section).unwrap();
                    s.1.push(format!("{name} = {v}"));
                }
                At::Env => {
                    env.insert(keys::env_var_for(key), value);
                }
            }
        };
        let ms = |v: u64| format!("{v}ms");
        put(
            "halo.rate_limit.requests",
            self.requests.0.to_string(),
            false,
            self.requests.1,
        );
        put(
            "halo.rate_limit.window",
            ms(self.window_ms.0),
            true,
            self.window_ms.1,
        );
        put(
            "halo.rate_limit.priority_reserve",
            format!("{:?}", self.reserve()),
            false,
            self.reserve_permille.1,
        );
        put(
            "halo.max_in_flight",
            self.max_in_flight.0.to_string(),
            false,
            self.max_in_flight.1,
        );
        put(
            "halo.request_timeout",
            ms(self.request_timeout_ms.0),
            true,
            self.request_timeout_ms.1,
        );
        put(
            "halo.max_attempts",
            self.max_attempts.0.to_string(),
            false,
            self.max_attempts.1,
        );
        put(
            "sync.interval",
            format!("{}s", self.interval_s.0),
            true,
            self.interval_s.1,
        );
        put(
            "sync.jitter",
            format!("{}s", self.jitter_s.0),
            true,
            self.jitter_s.1,
        );
        put(
            "sync.max_consistency_passes",
            self.passes.0.to_string(),
            false,
            self.passes.1,
        );
        put(
            "sync.on_start",
            self.on_start.0.to_string(),
            false,
            self.on_start.1,
        );
        put("output.keep", self.keep.0.to_string(), false, self.keep.1);
        put(
            "daemon.probe_interval",
            ms(self.probe_interval_ms.0),
            true,
            self.probe_interval_ms.1,
        );
        put(
            "daemon.shutdown_grace",
            ms(self.shutdown_grace_ms.0),
            true,
            self.shutdown_grace_ms.1,
        );
        put(
            "provisioning.max_parallel",
            self.max_parallel.0.to_string(),
            false,
            self.max_parallel.1,
        );
        put(
            "provisioning.capacity",
            self.capacity.0.to_string(),
            false,
            self.capacity.1,
        );
        put(
            "provisioning.max_attempts",
            self.prov_attempts.0.to_string(),
            false,
            self.prov_attempts.1,
        );
        let text = sections
            .iter()
            .map(|(s, lines)| format!("[{s}]\n{}\n", lines.join("\n")))
            .collect::<Vec<_>>()
            .join("\n");
        (text, env)
    }

    fn reserve(&self) -> f64 {
        f64::from(self.reserve_permille.0) / 1000.0
    }
}

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn any_text_loads_or_is_refused(text in prop_oneof![
        any::<String>(),
        "(\\[[a-z._]{0,12}\\]\n)?([a-z_]{1,10} = (\"\\PC{0,8}\"|[0-9]{1,6}|true|\\[\\]|\\{\\})\n){0,6}",
    ]) {
        let _ = load(&text, &with_secret(HashMap::new()));
    }

    #[test]
    fn edited_real_files_load_or_are_refused(
        text in prop_oneof![mutated(MIN.to_string()), mutated(EXAMPLE.to_string())],
    ) {
        let _ = load(&text, &with_secret(HashMap::new()));
    }

    #[test]
    fn any_environment_loads_or_is_refused(env in env_map(), base in prop_oneof![Just(MIN), Just(EXAMPLE)]) {
        let _ = load(base, &env);
        let _ = load(base, &with_secret(env));
    }

    #[test]
    fn valid_numbers_load_as_generated(v in valid()) {
        let (text, env) = v.render();
        let cfg = Config::from_toml_str(&text, Path::new("props.toml"), &with_secret(env))
            .map_err(|e| TestCaseError::fail(format!("valid config refused: {e}\n{text}")))?;
        let h = &cfg.halo;
        prop_assert_eq!(h.rate_limit.requests, v.requests.0);
        prop_assert_eq!(h.rate_limit.window, Duration::from_millis(v.window_ms.0));
        prop_assert_eq!(h.rate_limit.priority_reserve, v.reserve());
        prop_assert_eq!(h.max_in_flight, v.max_in_flight.0);
        prop_assert_eq!(h.request_timeout, Duration::from_millis(v.request_timeout_ms.0));
        prop_assert_eq!(h.max_attempts, v.max_attempts.0);
        prop_assert_eq!(cfg.sync.interval, Duration::from_secs(v.interval_s.0));
        prop_assert_eq!(cfg.sync.jitter, Duration::from_secs(v.jitter_s.0));
        prop_assert_eq!(cfg.sync.max_consistency_passes, v.passes.0);
        prop_assert_eq!(cfg.sync.on_start, v.on_start.0);
        prop_assert_eq!(cfg.output.keep, v.keep.0);
        prop_assert_eq!(cfg.daemon.probe_interval, Duration::from_millis(v.probe_interval_ms.0));
        prop_assert_eq!(cfg.daemon.shutdown_grace, Duration::from_millis(v.shutdown_grace_ms.0));
        prop_assert_eq!(cfg.provisioning.max_parallel, v.max_parallel.0);
        prop_assert_eq!(cfg.provisioning.capacity, v.capacity.0);
        prop_assert_eq!(cfg.provisioning.max_attempts, v.prov_attempts.0);
    }
}
