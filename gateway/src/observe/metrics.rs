//! The metrics registry: request counters and latency histograms by route, upstream cluster
//! and status class, plus process-wide counters (config applies, access-log lines dropped).
//!
//! Hot path: one `ArcSwap` load (no lock), two `&str` map lookups, relaxed adds into the
//! calling thread's shard. A (route, cluster) pair seen for the first time is added with a
//! copy-on-write swap (the only allocation, once per pair). Entries outlive reloads, so
//! counters never go back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use super::exposition::{Exposition, Kind};
use super::histogram::{HistogramCells, HistogramTotal, BOUNDS_MS};
use super::shard::Sharded;

/// Label value for "no route matched" and "no upstream picked" (as Envoy's `-`).
pub const NONE: &str = "-";

/// Status classes counted: no response, then 1xx … 5xx.
const CLASSES: [&str; 6] = ["none", "1xx", "2xx", "3xx", "4xx", "5xx"];

/// One finished request, as counted.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Route name (the Ingress), or [`NONE`].
    pub route: &'a str,
    /// Upstream cluster (destination as configured), or [`NONE`].
    pub cluster: &'a str,
    /// Response status (0: none was sent).
    pub status: u16,
    /// From the request head to the end of the response.
    pub duration: Duration,
    /// From the last upstream attempt's request to the end of the response.
    pub upstream: Option<Duration>,
    /// Request body bytes read.
    pub bytes_received: u64,
    /// Response body bytes sent.
    pub bytes_sent: u64,
}

/// One shard's counters of one (route, cluster).
#[derive(Debug, Default)]
struct Block {
    classes: [AtomicU64; CLASSES.len()],
    downstream: HistogramCells,
    upstream: HistogramCells,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
}

/// Counters of one (route, cluster), sharded per worker.
#[derive(Debug, Default)]
struct RequestStats {
    shards: Sharded<Block>,
}

/// Sums of one (route, cluster) at scrape time.
#[derive(Debug, Default)]
struct StatsTotal {
    classes: [u64; CLASSES.len()],
    downstream: HistogramTotal,
    upstream: HistogramTotal,
    bytes_received: u64,
    bytes_sent: u64,
}

type ClusterMap = HashMap<Box<str>, Arc<RequestStats>>;
type RouteMap = HashMap<Box<str>, ClusterMap>;

/// All counters of the data plane.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: ArcSwap<RouteMap>,
    config_applies: AtomicU64,
    access_log_lines: AtomicU64,
    access_log_dropped: AtomicU64,
    spans: AtomicU64,
    spans_dropped: AtomicU64,
}

// === impl RequestStats ===

impl RequestStats {
    fn record(&self, s: &Sample<'_>) {
        let b = self.shards.local();
        b.classes[class_index(s.status)].fetch_add(1, Ordering::Relaxed);
        b.downstream.observe(s.duration);
        if let Some(u) = s.upstream {
            b.upstream.observe(u);
        }
        b.bytes_received
            .fetch_add(s.bytes_received, Ordering::Relaxed);
        b.bytes_sent.fetch_add(s.bytes_sent, Ordering::Relaxed);
    }

    fn total(&self) -> StatsTotal {
        let mut t = StatsTotal::default();
        for b in self.shards.all() {
            for (t, c) in t.classes.iter_mut().zip(&b.classes) {
                *t += c.load(Ordering::Relaxed);
            }
            b.downstream.add_to(&mut t.downstream);
            b.upstream.add_to(&mut t.upstream);
            t.bytes_received += b.bytes_received.load(Ordering::Relaxed);
            t.bytes_sent += b.bytes_sent.load(Ordering::Relaxed);
        }
        t
    }
}

fn class_index(status: u16) -> usize {
    match status {
        0..=99 => 0,
        s => usize::from(s / 100).min(5),
    }
}

// === impl Metrics ===

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts a finished request.
    pub fn record(&self, s: &Sample<'_>) {
        if let Some(stats) = self
            .requests
            .load()
            .get(s.route)
            .and_then(|c| c.get(s.cluster))
        {
            stats.record(s);
            return;
        }
        self.requests.rcu(|map| {
            let mut map = RouteMap::clone(map);
            map.entry(s.route.into())
                .or_default()
                .entry(s.cluster.into())
                .or_default();
            map
        });
        if let Some(stats) = self
            .requests
            .load()
            .get(s.route)
            .and_then(|c| c.get(s.cluster))
        {
            stats.record(s);
        }
    }

    /// Counts a config snapshot applied to the data plane.
    pub fn config_applied(&self) {
        self.config_applies.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an access-log line handed to the writer.
    pub fn access_log_written(&self) {
        self.access_log_lines.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an access-log line dropped because the writer fell behind.
    pub fn access_log_dropped(&self) {
        self.access_log_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a span handed to the OTLP exporter.
    pub fn span_exported(&self) {
        self.spans.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a span dropped because the exporter fell behind.
    pub fn span_dropped(&self) {
        self.spans_dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests counted so far, every label together.
    pub fn requests_total(&self) -> u64 {
        self.requests
            .load()
            .values()
            .flat_map(|c| c.values())
            .map(|s| s.total().classes.iter().sum::<u64>())
            .sum()
    }

    /// Writes every family of this registry.
    pub fn render(&self, e: &mut Exposition) {
        let map = self.requests.load();
        let mut rows: Vec<(&str, &str, StatsTotal)> = map
            .iter()
            .flat_map(|(r, c)| c.iter().map(move |(k, s)| (&**r, &**k, s.total())))
            .collect();
        rows.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));

        e.family(
            "gantry_requests_total",
            Kind::Counter,
            "Requests completed, by route (Ingress), upstream cluster and status class.",
        );
        for (route, cluster, t) in &rows {
            for (class, n) in CLASSES.iter().zip(t.classes) {
                if n > 0 {
                    let labels = [
                        ("route", *route),
                        ("cluster", *cluster),
                        ("code_class", class),
                    ];
                    e.sample("gantry_requests_total", &labels, n as f64);
                }
            }
        }
        histogram(
            e,
            "gantry_request_duration_seconds",
            "Time from the request head to the end of the response (downstream).",
            rows.iter().map(|(r, c, t)| (*r, *c, &t.downstream)),
        );
        histogram(
            e,
            "gantry_upstream_duration_seconds",
            "Time from the upstream request (last attempt) to the end of the response.",
            rows.iter()
                .filter(|(_, c, _)| *c != NONE)
                .map(|(r, c, t)| (*r, *c, &t.upstream)),
        );
        e.family(
            "gantry_request_bytes_total",
            Kind::Counter,
            "Request body bytes received from clients.",
        );
        for (route, cluster, t) in &rows {
            let labels = [("route", *route), ("cluster", *cluster)];
            e.sample(
                "gantry_request_bytes_total",
                &labels,
                t.bytes_received as f64,
            );
        }
        e.family(
            "gantry_response_bytes_total",
            Kind::Counter,
            "Response body bytes sent to clients.",
        );
        for (route, cluster, t) in &rows {
            let labels = [("route", *route), ("cluster", *cluster)];
            e.sample("gantry_response_bytes_total", &labels, t.bytes_sent as f64);
        }
        counter(
            e,
            "gantry_config_applies_total",
            "Config snapshots compiled and swapped into the data plane (the first load included).",
            &self.config_applies,
        );
        counter(
            e,
            "gantry_access_log_lines_total",
            "Access-log lines handed to the writer.",
            &self.access_log_lines,
        );
        counter(
            e,
            "gantry_access_log_dropped_total",
            "Access-log lines dropped because the writer fell behind (a slow disk never stalls requests).",
            &self.access_log_dropped,
        );
        counter(
            e,
            "gantry_tracing_spans_total",
            "Sampled request spans handed to the OTLP exporter.",
            &self.spans,
        );
        counter(
            e,
            "gantry_tracing_spans_dropped_total",
            "Spans dropped because the OTLP exporter fell behind.",
            &self.spans_dropped,
        );
    }
}

fn counter(e: &mut Exposition, name: &str, help: &str, value: &AtomicU64) {
    e.family(name, Kind::Counter, help);
    e.sample(name, &[], value.load(Ordering::Relaxed) as f64);
}

fn histogram<'a>(
    e: &mut Exposition,
    name: &str,
    help: &str,
    rows: impl Iterator<Item = (&'a str, &'a str, &'a HistogramTotal)>,
) {
    e.family(name, Kind::Histogram, help);
    let bucket = format!("{name}_bucket");
    let sum = format!("{name}_sum");
    let count = format!("{name}_count");
    let bounds: Vec<String> = BOUNDS_MS
        .iter()
        .map(|ms| format!("{}", ms / 1000.0))
        .chain(std::iter::once("+Inf".to_string()))
        .collect();
    for (route, cluster, h) in rows {
        if h.count() == 0 {
            continue;
        }
        let mut cumulative = 0;
        for (le, n) in bounds.iter().zip(h.buckets) {
            cumulative += n;
            let labels = [("route", route), ("cluster", cluster), ("le", le.as_str())];
            e.sample(&bucket, &labels, cumulative as f64);
        }
        let labels = [("route", route), ("cluster", cluster)];
        e.sample(&sum, &labels, h.sum_seconds);
        e.sample(&count, &labels, h.count() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(route: &'static str, status: u16) -> Sample<'static> {
        Sample {
            route,
            cluster: "echo.static",
            status,
            duration: Duration::from_millis(3),
            upstream: Some(Duration::from_millis(2)),
            bytes_received: 10,
            bytes_sent: 20,
        }
    }

    #[test]
    fn counters_move_and_render() {
        let m = Metrics::new();
        m.record(&sample("r1", 200));
        m.record(&sample("r1", 200));
        m.record(&sample("r1", 503));
        m.record(&sample("r2", 0));
        m.config_applied();
        assert_eq!(m.requests_total(), 4);
        let mut e = Exposition::new();
        m.render(&mut e);
        let text = e.finish();
        assert!(text.contains(
            "gantry_requests_total{route=\"r1\",cluster=\"echo.static\",code_class=\"2xx\"} 2\n"
        ));
        assert!(text.contains(
            "gantry_requests_total{route=\"r1\",cluster=\"echo.static\",code_class=\"5xx\"} 1\n"
        ));
        assert!(text.contains("code_class=\"none\"} 1\n"));
        assert!(text.contains(
            "gantry_request_duration_seconds_bucket{route=\"r1\",cluster=\"echo.static\",le=\"0.005\"} 3\n"
        ));
        assert!(text.contains(
            "gantry_request_duration_seconds_count{route=\"r1\",cluster=\"echo.static\"} 3\n"
        ));
        assert!(
            text.contains("gantry_response_bytes_total{route=\"r1\",cluster=\"echo.static\"} 60\n")
        );
        assert!(text.contains("gantry_config_applies_total 1\n"));
    }

    #[test]
    fn status_classes() {
        assert_eq!(class_index(0), 0);
        assert_eq!(class_index(101), 1);
        assert_eq!(class_index(204), 2);
        assert_eq!(class_index(404), 4);
        assert_eq!(class_index(599), 5);
        assert_eq!(class_index(999), 5);
    }
}
