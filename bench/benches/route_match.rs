//! Route lookup cost on the "10,000 routes over 1,000 hosts" table ([`ManyRoutes`]):
//! `RouteTable::find_id` with a prebuilt `RequestHeader`, so the figure is the match alone.
//!
//! Criterion measures the mean and median. Then, in `--bench` mode only, this binary times
//! batches of lookups with `Instant` and reports the per-lookup p50/p99 over the batches,
//! as a Markdown table on stdout, or in the file named by `$ROUTE_MATCH_TABLE`
//! (`bench/run.sh` collects it into `docs/PERFORMANCE.md`).
//!
//! ```sh
//! cargo bench -p gantry-bench --bench route_match
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use config_store::DirStore;
use criterion::Criterion;
use gantry_bench::many_routes::ManyRoutes;
use gateway::{compile, CompileOptions, Discovery, RouteTable};
use pingora::http::RequestHeader;

/// Criterion's group name; its results go to `<criterion dir>/route_match/<case>/`.
const GROUP: &str = "route_match";
/// Lookups per timed batch.
const BATCH: u32 = 100;
/// Timed batches per case.
const BATCHES: usize = 20_000;

/// One kind of lookup: the requests it cycles through.
struct Case {
    /// Criterion id and table label.
    id: &'static str,
    /// What the case looks up, for the table.
    label: &'static str,
    requests: Vec<(String, RequestHeader)>,
}

fn main() {
    let shape = ManyRoutes::ISSUE;
    let table = build_table(&shape);
    let cases = cases(&shape, &table);

    let out_dir = criterion_dir();
    let mut c = Criterion::default()
        .output_directory(&out_dir)
        .configure_from_args();
    {
        let mut group = c.benchmark_group(GROUP);
        for case in &cases {
            group.bench_function(case.id, |b| {
                let mut k = 0;
                b.iter(|| {
                    let (host, req) = &case.requests[k % case.requests.len()];
                    k += 1;
                    black_box(table.find_id(black_box(host), black_box(req)))
                });
            });
        }
        group.finish();
    }
    c.final_summary();

    // `cargo test --benches` runs each benchmark once, without `--bench`: stop there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let mut out = String::from(
        "| lookup | criterion median | criterion mean | p50 | p99 | max | batches × lookups |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    for case in &cases {
        let (median, mean) = criterion_estimates(&out_dir, case.id);
        let per_lookup = batch_times(&table, case);
        let n = per_lookup.len();
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {BATCHES} × {BATCH} |\n",
            case.label,
            median.map_or("-".into(), ns),
            mean.map_or("-".into(), ns),
            ns(per_lookup[n.div_ceil(2) - 1]),
            ns(per_lookup[(n * 99).div_ceil(100) - 1]),
            ns(per_lookup[n - 1]),
        ));
    }
    match std::env::var_os("ROUTE_MATCH_TABLE") {
        Some(path) => std::fs::write(&path, out).expect("write $ROUTE_MATCH_TABLE"),
        None => print!("\n{out}"),
    }
}

/// Generates the config, loads it and compiles it.
fn build_table(shape: &ManyRoutes) -> RouteTable {
    let backend = SocketAddr::from(([127, 0, 0, 1], 8080));
    let config = shape.write(backend);
    let snapshot = DirStore::load(config.path()).expect("load the generated config");
    let compiled = compile(
        &snapshot,
        &Discovery::new(Duration::from_secs(60)),
        &CompileOptions::default(),
    );
    assert_eq!(compiled.table.len(), shape.routes(), "every path compiles");
    compiled.table
}

/// The lookups measured; each request is checked to match the route it aims at.
fn cases(shape: &ManyRoutes, table: &RouteTable) -> Vec<Case> {
    let request = |host: String, path: &str| {
        (
            host,
            RequestHeader::build("GET", path.as_bytes(), None).unwrap(),
        )
    };
    let (host, path) = shape.last_hit();
    let last = request(host, &path);
    let hit = table
        .find_id(&last.0, &last.1)
        .expect("the last hit matches");
    assert_eq!(
        table.route(hit).path.display_path(),
        shape.last_prefix(),
        "the last hit matches the last route of its host"
    );
    let spread: Vec<_> = (0..shape.hosts)
        .map(|i| {
            let (host, path) = shape.request((i * 7919) % shape.hosts, shape.last_prefix_index());
            request(host, &path)
        })
        .collect();
    for (host, req) in &spread {
        assert!(table.find_id(host, req).is_some(), "{host} {}", req.uri);
    }
    let miss = request("unknown.example.com".into(), "/v1/svc1/items/1");
    assert!(table.find_id(&miss.0, &miss.1).is_none());
    vec![
        Case {
            id: "last_route_of_last_host",
            label: "hit: last route of the last host",
            requests: vec![last],
        },
        Case {
            id: "last_route_every_host",
            label: "hit: last route, a different host each lookup (1,000 hosts)",
            requests: spread,
        },
        Case {
            id: "unknown_host",
            label: "miss: unknown host (404)",
            requests: vec![miss],
        },
    ]
}

/// Per-lookup time (batch time / [`BATCH`]) of each of [`BATCHES`] batches, sorted; the
/// percentiles are nearest-rank over these.
fn batch_times(table: &RouteTable, case: &Case) -> Vec<f64> {
    let mut k = 0;
    let mut lookup = || {
        let (host, req) = &case.requests[k % case.requests.len()];
        k += 1;
        black_box(table.find_id(black_box(host), black_box(req)));
    };
    for _ in 0..BATCHES {
        lookup();
    }
    let mut samples = Vec::with_capacity(BATCHES);
    for _ in 0..BATCHES {
        let start = Instant::now();
        for _ in 0..BATCH {
            lookup();
        }
        samples.push(start.elapsed().as_secs_f64() / f64::from(BATCH));
    }
    samples.sort_by(f64::total_cmp);
    samples
}

/// Where criterion keeps its results: `$CRITERION_HOME`, else `<target dir>/criterion`
/// (this executable is `<target dir>/<profile>/deps/route_match-<hash>`).
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let exe = std::env::current_exe().expect("current_exe");
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("criterion")
}

/// Criterion's median and mean point estimates for `id`, from its `estimates.json`.
/// In seconds.
fn criterion_estimates(dir: &std::path::Path, id: &str) -> (Option<f64>, Option<f64>) {
    let file = dir.join(GROUP).join(id).join("new").join("estimates.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return (None, None);
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return (None, None);
    };
    let point = |stat: &str| json[stat]["point_estimate"].as_f64().map(|ns| ns / 1e9);
    (point("median"), point("mean"))
}

/// Seconds as nanoseconds with one decimal, e.g. `41.7 ns`.
fn ns(secs: f64) -> String {
    format!("{:.1} ns", secs * 1e9)
}
