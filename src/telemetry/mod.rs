//! Every metric the daemon exports, and one function per happening.
//!
//! Metric names live only in this folder: a happening (request done, token
//! refreshed, actor restarted, ...) is one function that both counts and logs,
//! so the two never drift apart. All names get the `baton_haloitsm_` prefix from
//! the registry. Each concern has its own file: `actors.rs`, `api.rs`,
//! `sync.rs`, `snapshot.rs`.
//!
//! Metrics are process-global (as Prometheus expects); `init()` touches every
//! known series so that they are exported at 0 from the start.

use std::sync::LazyLock;

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub mod actors;
pub mod api;
pub mod c1;
pub mod process;
pub mod provisioning;
pub mod snapshot;
pub mod sync;
pub mod tickets;

pub const PREFIX: &str = "baton_haloitsm";

static REGISTRY: LazyLock<Registry> = LazyLock::new(|| {
    let registry = Registry::new_custom(Some(PREFIX.to_string()), None)
        .expect("static registry prefix is valid");
    #[cfg(target_os = "linux")]
    {
        // Process metrics (process_cpu_seconds_total, process_resident_memory_bytes, ...)
        // keep their standard unprefixed names, so they go into their own registry view.
        let pc = prometheus::process_collector::ProcessCollector::for_self();
        let _ = PROCESS_REGISTRY.register(Box::new(pc));
    }
    registry
});

static PROCESS_REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

pub fn registry() -> &'static Registry {
    &REGISTRY
}

/// Register every series up front so dashboards see zeros, not gaps.
pub fn init() {
    actors::init();
    api::init();
    sync::init();
    snapshot::init();
    tickets::init();
    provisioning::init();
    c1::init();
}

/// The whole exposition: our metrics plus the standard process metrics.
pub fn render() -> String {
    let mut families = REGISTRY.gather();
    families.extend(PROCESS_REGISTRY.gather());
    let mut buf = Vec::new();
    // Encoding into a Vec cannot fail for well-formed families.
    if TextEncoder::new().encode(&families, &mut buf).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

// Constructors used by the per-concern files. A name or label clash is a
// programming error caught by every test run, hence `expect`.

#[allow(dead_code)] // not every concern uses every constructor
pub(crate) fn counter(name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("valid metric");
    REGISTRY
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

pub(crate) fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    REGISTRY
        .register(Box::new(c.clone()))
        .expect("unique metric");
    c
}

pub(crate) fn gauge(name: &str, help: &str) -> Gauge {
    let g = Gauge::new(name, help).expect("valid metric");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

#[allow(dead_code)] // not every concern uses every constructor
pub(crate) fn gauge_vec(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let g = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

#[allow(dead_code)] // not every concern uses every constructor
pub(crate) fn int_gauge(name: &str, help: &str) -> IntGauge {
    let g = IntGauge::new(name, help).expect("valid metric");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

#[allow(dead_code)] // not every concern uses every constructor
pub(crate) fn int_gauge_vec(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    REGISTRY
        .register(Box::new(g.clone()))
        .expect("unique metric");
    g
}

pub(crate) fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .expect("valid metric");
    REGISTRY
        .register(Box::new(h.clone()))
        .expect("unique metric");
    h
}

#[allow(dead_code)] // not every concern uses every constructor
pub(crate) fn histogram_vec(
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: Vec<f64>,
) -> HistogramVec {
    let h = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets), labels)
        .expect("valid metric");
    REGISTRY
        .register(Box::new(h.clone()))
        .expect("unique metric");
    h
}

/// Label values come from small fixed sets we control; `get_metric_with_label_values`
/// never panics on a mismatch (unlike `with_label_values`), it just drops the sample.
pub(crate) fn inc(vec: &IntCounterVec, labels: &[&str]) {
    if let Ok(c) = vec.get_metric_with_label_values(labels) {
        c.inc();
    }
}
