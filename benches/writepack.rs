//! WritePack: the baton SDK's c1z write benchmark, reproduced on our writer.
//!
//! `cargo bench --bench writepack [-- SIZE...]` (or `WRITEPACK_SIZES=10000,100000,1000000`;
//! `WRITEPACK_VARIANTS=pack,distinct`).
//!
//! - **WritePack N**: grant i in 0..N on entitlement `app:github:entitlement-%04d`
//!   (i mod 100) of resource `app`/`github`, principal `user`/`user-%08d`
//!   (i mod 1000), id `<entitlement id>:user:<principal id>`. Only 1,000 ids are
//!   distinct, so this measures the upsert path.
//! - **Distinct N**: N distinct grants, 10,000 entitlements × N/10,000 principals
//!   (entitlement-major, the order a connector lists them in).
//!
//! Timed: from `Store::create` to `finish` returning, i.e. the closed,
//! compressed c1z is on disk with a finished full sync run. Each grant message
//! is built inside the timed loop (as the SDK bench constructs then puts), and
//! grants are put in pages of `WRITEPACK_PAGE` (default 1,000, like a connector page).
//!
//! **Baseline** (same run, same grants, same host): the obvious writer. The v1
//! DDL with every index created first, one prepared `INSERT … ON CONFLICT DO
//! UPDATE` per grant in one transaction (SQLite's default journal and sync),
//! then the whole file zstd-compressed (default level, one thread) behind the
//! c1z magic. `ratio` = baseline time / ours: it travels across machines where
//! absolute times do not.
//!
//! Each (variant, size) is run `WRITEPACK_REPEAT` times (default 3) and the
//! median run (by total time) is printed. Every run is a fresh child process (this binary re-executed
//! with `WRITEPACK_CHILD=<variant>:<n>`), so the peak RSS (VmHWM) is per run.
//! `WRITEPACK_OPTS=page_size=..,cache_kib=..,threads=..,sorter_kib=..,flush_rows=..,rows_per_insert=..,defer=0|1,level=..,workers=..`
//! overrides `StoreOptions` for experiments; the defaults are what the daemon uses.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use baton_haloitsm::c1z::{Store, StoreOptions, ksuid};
use baton_haloitsm::pb;

const SDK_SQLITE_MS: [(u64, f64); 3] = [(10_000, 190.8), (100_000, 2_970.0), (1_000_000, 53_380.0)];
const SDK_PEBBLE_MS: [(u64, f64); 3] = [(10_000, 25.5), (100_000, 146.0), (1_000_000, 1_280.0)];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Pack,
    Distinct,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Pack => "WritePack",
            Variant::Distinct => "Distinct",
        }
    }
    fn parse(s: &str) -> Option<Variant> {
        match s {
            "pack" => Some(Variant::Pack),
            "distinct" => Some(Variant::Distinct),
            _ => None,
        }
    }
    fn key(self) -> &'static str {
        match self {
            Variant::Pack => "pack",
            Variant::Distinct => "distinct",
        }
    }
}

#[derive(Clone)]
struct Outcome {
    total_ms: f64,
    end_ms: f64,
    rss_kib: u64,
    bytes: u64,
    db_bytes: u64,
    rows: u64,
}

fn main() {
    if let Ok(spec) = std::env::var("WRITEPACK_CHILD") {
        child(&spec);
        return;
    }
    // Sizes: positional arguments (`cargo bench --bench writepack -- 100000`),
    // else WRITEPACK_SIZES; cargo's own `--bench` flag is skipped.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let spec = if args.is_empty() {
        std::env::var("WRITEPACK_SIZES").unwrap_or_else(|_| "10000,100000,1000000".into())
    } else {
        args.join(",")
    };
    let sizes: Vec<u64> = spec
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    let variants: Vec<Variant> = std::env::var("WRITEPACK_VARIANTS")
        .unwrap_or_else(|_| "pack,distinct".into())
        .split(',')
        .filter_map(|s| Variant::parse(s.trim()))
        .collect();

    println!(
        "c1z WritePack (this host: {} cores; SDK figures measured on a 16-core arm64; page = {} grants; median of WRITEPACK_REPEAT runs)",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        page_size()
    );
    println!("(* end = end_sync + finish: last rows, index build, compression, fsync, rename)");
    if let Ok(o) = std::env::var("WRITEPACK_OPTS") {
        println!("options: {o}");
    }
    println!(
        "{:<10} {:>9} {:>10} {:>12} {:>7} {:>13} {:>12} {:>11} {:>10} {:>9} {:>10} {:>10} {:>9}",
        "bench",
        "N",
        "ours ms",
        "baseline ms",
        "ratio",
        "SDK sqlite ms",
        "SDK pebble ms",
        "µs/put",
        "end ms*",
        "peak RSS",
        "c1z bytes",
        "db bytes",
        "rows"
    );
    let repeat: usize = std::env::var("WRITEPACK_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(3);
    // Warm-up: page the binary in and settle the file system before timing.
    let _ = run_child(Variant::Pack, 10_000, false);
    let median = |v: Variant, n: u64, baseline: bool| {
        let mut runs: Vec<Outcome> = (0..repeat)
            .filter_map(|_| run_child(v, n, baseline))
            .collect();
        runs.sort_by(|a, b| a.total_ms.total_cmp(&b.total_ms));
        runs.get(runs.len() / 2).cloned()
    };
    for &v in &variants {
        for &n in &sizes {
            let (Some(o), Some(b)) = (median(v, n, false), median(v, n, true)) else {
                println!("{:<10} {:>9}  (child failed)", v.name(), n);
                continue;
            };
            let sdk = |t: &[(u64, f64)]| {
                t.iter()
                    .find(|(k, _)| *k == n && v == Variant::Pack)
                    .map_or("—".to_string(), |(_, ms)| format!("{ms:.1}"))
            };
            println!(
                "{:<10} {:>9} {:>10.1} {:>12.1} {:>6.1}x {:>13} {:>12} {:>11.3} {:>10.1} {:>8}M {:>10} {:>10} {:>9}",
                v.name(),
                n,
                o.total_ms,
                b.total_ms,
                b.total_ms / o.total_ms,
                sdk(&SDK_SQLITE_MS),
                sdk(&SDK_PEBBLE_MS),
                o.total_ms * 1000.0 / n as f64,
                o.end_ms,
                o.rss_kib / 1024,
                o.bytes,
                o.db_bytes,
                o.rows
            );
        }
    }
}

fn page_size() -> usize {
    std::env::var("WRITEPACK_PAGE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&p| p > 0)
        .unwrap_or(1000)
}

fn run_child(v: Variant, n: u64, baseline: bool) -> Option<Outcome> {
    let exe = std::env::current_exe().ok()?;
    let which = if baseline { ":baseline" } else { "" };
    let out = Command::new(exe)
        .env("WRITEPACK_CHILD", format!("{}:{n}{which}", v.key()))
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find_map(|l| l.strip_prefix("RESULT "))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    Some(Outcome {
        total_ms: f.first()?.parse().ok()?,
        end_ms: f.get(1)?.parse().ok()?,
        rss_kib: f.get(2)?.parse().ok()?,
        bytes: f.get(3)?.parse().ok()?,
        db_bytes: f.get(4)?.parse().ok()?,
        rows: f.get(5)?.parse().ok()?,
    })
}

fn child(spec: &str) {
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let (spec, baseline) = match spec.strip_suffix(":baseline") {
        Some(s) => (s, true),
        None => (spec, false),
    };
    let (v, n) = spec
        .split_once(':')
        .and_then(|(v, n)| Some((Variant::parse(v)?, n.parse::<u64>().ok()?)))
        .unwrap_or_else(|| panic!("bad WRITEPACK_CHILD {spec:?}"));
    let dir = std::env::temp_dir().join(format!("writepack-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench temp dir");
    let out = dir.join("bench.c1z");
    let opts = options_from_env();

    let (total, end, bytes, db_bytes, rows) = if baseline {
        obvious_writer(v, n, &out)
    } else {
        let (total, end, info) = run(v, n, &out, opts);
        (total, end, info.bytes, info.db_bytes, info.counts.grants)
    };
    let rss = peak_rss_kib();
    println!(
        "RESULT {:.3} {:.3} {} {} {} {}",
        total * 1e3,
        end * 1e3,
        rss,
        bytes,
        db_bytes,
        rows
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn run(
    v: Variant,
    n: u64,
    out: &Path,
    opts: StoreOptions,
) -> (f64, f64, baton_haloitsm::c1z::SnapshotInfo) {
    let page = page_size();
    let start = Instant::now();
    let mut store = Store::create_with(out, opts).expect("create store");
    store.start_sync(&ksuid::new()).expect("start sync");
    let t_open = start.elapsed();
    let mut batch = Vec::with_capacity(page);
    let per_ent = (n / 10_000).max(1);
    for i in 0..n {
        let (e, p) = match v {
            Variant::Pack => (i % 100, i % 1000),
            Variant::Distinct => (i / per_ent, i % per_ent),
        };
        batch.push(grant(e, p));
        if batch.len() == page {
            store.put_grants(&batch).expect("put grants");
            batch.clear();
        }
    }
    if !batch.is_empty() {
        store.put_grants(&batch).expect("put grants");
    }
    let end_start = Instant::now();
    store.end_sync().expect("end sync");
    let info = store.finish(out).expect("finish");
    let end = end_start.elapsed().as_secs_f64();
    tracing::debug!(
        open_ms = t_open.as_secs_f64() * 1e3,
        puts_ms = (end_start - start - t_open).as_secs_f64() * 1e3,
        "bench phases"
    );
    (start.elapsed().as_secs_f64(), end, info)
}

/// The baseline: the writer anyone would write first (see the module docs).
/// Returns (total s, end s, c1z bytes, db bytes, grant rows).
fn obvious_writer(v: Variant, n: u64, out: &Path) -> (f64, f64, u64, u64, u64) {
    use baton_haloitsm::c1z::{envelope, schema};
    use prost::Message;
    let page = page_size();
    let db_path = out.with_extension("db");
    let start = Instant::now();
    let mut conn = rusqlite::Connection::open(&db_path).expect("open db");
    for t in schema::TABLES {
        conn.execute_batch(t.create).expect("create table");
        for i in t.indexes {
            conn.execute_batch(i.create).expect("create index");
        }
    }
    let sync_id = ksuid::new();
    let now = "2026-01-01 00:00:00.000000000";
    conn.execute(
        "INSERT INTO v1_sync_runs (sync_id, started_at, sync_token, sync_type, parent_sync_id, grants_backfilled) \
         VALUES (?1, ?2, '', 'full', '', 1)",
        (&sync_id, now),
    )
    .expect("start sync");
    let tx = conn.transaction().expect("begin");
    {
        let mut upsert = tx
            .prepare(
                "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, \
                 principal_resource_type_id, principal_resource_id, external_id, data, sync_id, discovered_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
                 ON CONFLICT (external_id, sync_id) DO UPDATE SET \
                 resource_type_id = excluded.resource_type_id, resource_id = excluded.resource_id, \
                 entitlement_id = excluded.entitlement_id, \
                 principal_resource_type_id = excluded.principal_resource_type_id, \
                 principal_resource_id = excluded.principal_resource_id, \
                 data = excluded.data, discovered_at = excluded.discovered_at",
            )
            .expect("prepare upsert");
        let per_ent = (n / 10_000).max(1);
        // Pages, as the connector hands them over, then one statement per grant.
        let mut batch = Vec::with_capacity(page);
        let mut put = |batch: &mut Vec<pb::Grant>| {
            for g in batch.drain(..) {
                let e = g.entitlement.as_ref().expect("entitlement");
                let r = e
                    .resource
                    .as_ref()
                    .and_then(|r| r.id.as_ref())
                    .expect("resource");
                let p = g
                    .principal
                    .as_ref()
                    .and_then(|p| p.id.as_ref())
                    .expect("principal");
                upsert
                    .execute((
                        &r.resource_type,
                        &r.resource,
                        &e.id,
                        &p.resource_type,
                        &p.resource,
                        &g.id,
                        g.encode_to_vec(),
                        &sync_id,
                        now,
                    ))
                    .expect("upsert");
            }
        };
        for i in 0..n {
            let (e, p) = match v {
                Variant::Pack => (i % 100, i % 1000),
                Variant::Distinct => (i / per_ent, i % per_ent),
            };
            batch.push(grant(e, p));
            if batch.len() == page {
                put(&mut batch);
            }
        }
        put(&mut batch);
    }
    tx.commit().expect("commit");
    let end_start = Instant::now();
    conn.execute(
        "UPDATE v1_sync_runs SET ended_at = ?1 WHERE sync_id = ?2",
        (now, &sync_id),
    )
    .expect("end sync");
    let rows = conn
        .query_row("SELECT count(*) FROM v1_grants", [], |r| r.get::<_, i64>(0))
        .expect("count") as u64;
    conn.close().expect("close");
    let db_bytes = std::fs::metadata(&db_path).expect("db size").len();
    let mut src = std::fs::File::open(&db_path).expect("open db file");
    let mut dst = std::fs::File::create(out).expect("create c1z");
    std::io::Write::write_all(&mut dst, envelope::MAGIC_V1).expect("magic");
    zstd::stream::copy_encode(&mut src, &mut dst, 0).expect("compress");
    dst.sync_all().expect("fsync");
    let bytes = std::fs::metadata(out).expect("c1z size").len();
    let _ = std::fs::remove_file(&db_path);
    let end = end_start.elapsed().as_secs_f64();
    (start.elapsed().as_secs_f64(), end, bytes, db_bytes, rows)
}

/// `prefix` + `n` zero-padded to `width` digits, like Go's `%0<width>d`
/// (hand-rolled because `format!` would dominate the loop it is timing).
fn padded(prefix: &str, n: u64, width: usize, extra: usize) -> String {
    let mut s = String::with_capacity(prefix.len() + width + extra);
    s.push_str(prefix);
    let mut digits = [b'0'; 20];
    let mut v = n;
    let mut i = digits.len();
    while v > 0 {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = (digits.len() - width).min(i);
    s.extend(digits[start..].iter().map(|&d| d as char));
    s
}

fn grant(e: u64, p: u64) -> pb::Grant {
    let ent_id = padded("app:github:entitlement-", e, 4, 0);
    let pid = padded("user-", p, 8, 0);
    let mut id = String::with_capacity(ent_id.len() + 6 + pid.len());
    id.push_str(&ent_id);
    id.push_str(":user:");
    id.push_str(&pid);
    pb::Grant {
        entitlement: Some(pb::Entitlement {
            resource: Some(pb::Resource {
                id: Some(pb::ResourceId {
                    resource_type: "app".into(),
                    resource: "github".into(),
                    baton_resource: false,
                }),
                ..Default::default()
            }),
            id: ent_id,
            ..Default::default()
        }),
        principal: Some(pb::Resource {
            id: Some(pb::ResourceId {
                resource_type: "user".into(),
                resource: pid,
                baton_resource: false,
            }),
            ..Default::default()
        }),
        id,
        ..Default::default()
    }
}

fn options_from_env() -> StoreOptions {
    let mut o = StoreOptions::default();
    let Ok(spec) = std::env::var("WRITEPACK_OPTS") else {
        return o;
    };
    for kv in spec.split(',') {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let num = |v: &str| {
            v.trim()
                .parse::<u64>()
                .unwrap_or_else(|_| panic!("bad {k}={v}"))
        };
        match k.trim() {
            "page_size" => o.page_size = num(v) as u32,
            "cache_kib" => o.cache_kib = num(v) as u32,
            "threads" => o.sorter_threads = num(v) as u32,
            "sorter_kib" => o.sorter_memory_kib = num(v) as u32,
            "flush_rows" => o.flush_rows = num(v) as usize,
            "flush_bytes" => o.flush_bytes = num(v) as usize,
            "rows_per_insert" => o.rows_per_insert = num(v) as usize,
            "defer" => o.defer_indexes = num(v) != 0,
            "level" => o.compression.level = num(v) as i32,
            "workers" => o.compression.workers = num(v) as u32,
            other => panic!("unknown WRITEPACK_OPTS key {other}"),
        }
    }
    o
}

/// Peak resident set size of this process (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string(PathBuf::from("/proc/self/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
