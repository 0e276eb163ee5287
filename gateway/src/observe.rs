//! Observability of the data plane: Prometheus metrics, the access log and tracing.
//!
//! Flow: `upstream_request_filter` calls [`RequestObs::upstream_request`] (trace context
//! taken or started, `traceparent`/B3 sent upstream); the proxy's `logging` phase hands a
//! [`Finished`] view of the request to [`Observe::logging`] → [`metrics`] counts it (sharded
//! atomics, no lock, no allocation); when the access log is on an
//! [`access_log::AccessLogEntry`] goes to the writer thread, and a sampled trace's span to
//! the OTLP exporter thread, each through a bounded channel (dropped and counted when
//! full). A scrape renders everything with [`Observe::render`].

pub mod access_log;
pub mod exposition;
pub mod histogram;
pub mod metrics;
pub mod otlp;
pub mod response_flags;
pub mod shard;
pub mod tls;
pub mod trace;
pub mod wasm;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use arc_swap::ArcSwapOption;
use http::HeaderValue;
use pingora::prelude::*;

use crate::route_table::{Route, RouteAction, RouteTable};
use crate::upstream::{Target, UpstreamGroup};
use access_log::{AccessLog, AccessLogEntry};
use exposition::{Exposition, Kind};
use metrics::{Metrics, Sample, NONE};
use otlp::KeyValue;
use trace::{TraceCtx, Tracer, TracingConfig};

/// The data plane's metrics registry and access-log sink, shared by every worker.
#[derive(Debug, Default)]
pub struct Observe {
    metrics: Metrics,
    access_log: OnceLock<AccessLog>,
    tracer: ArcSwapOption<Tracer>,
}

/// Timestamps and ids one request collects on its way (lives in the proxy's `CTX`).
#[derive(Debug)]
pub struct RequestObs {
    started: Instant,
    started_wall: SystemTime,
    upstream_started: Option<Instant>,
    request_id: Option<HeaderValue>,
    trace: Option<(TraceCtx, Arc<Tracer>)>,
}

/// What the proxy knows about a request when it is done.
pub struct Finished<'a> {
    /// The matched route, if any.
    pub route: Option<&'a Route>,
    /// The upstream target of the last attempt, if one was picked.
    pub target: Option<&'a Arc<Target>>,
    /// The endpoint of the last attempt.
    pub upstream: Option<SocketAddr>,
    /// The request's timestamps.
    pub obs: &'a RequestObs,
    /// The error that ended the request, if any.
    pub error: Option<&'a pingora::Error>,
}

// === impl RequestObs ===

impl Default for RequestObs {
    /// Starts the clock: the proxy creates its `CTX` when the request head has been read.
    fn default() -> Self {
        Self {
            started: Instant::now(),
            started_wall: SystemTime::now(),
            upstream_started: None,
            request_id: None,
            trace: None,
        }
    }
}

impl RequestObs {
    /// Marks the start of an upstream attempt (`upstream_request_filter`), keeping the
    /// request id sent upstream; with tracing on, takes the client's trace (or starts one)
    /// at the first attempt and sends it upstream with every attempt.
    pub fn upstream_request(&mut self, observe: &Observe, req: &mut RequestHeader) {
        self.upstream_started = Some(Instant::now());
        if self.request_id.is_none() {
            self.request_id = req.headers.get("x-request-id").cloned();
        }
        if self.trace.is_none() {
            if let Some(tracer) = observe.tracer.load_full() {
                self.trace = Some((tracer.context(req), tracer));
            }
        }
        if let Some((ctx, _)) = &self.trace {
            ctx.inject(req);
        }
    }
}

// === impl Observe ===

impl Observe {
    /// A registry with the access log off.
    pub fn new() -> Self {
        Self::default()
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Turns the access log on (once; false if it was already on).
    pub fn set_access_log(&self, log: AccessLog) -> bool {
        self.access_log.set(log).is_ok()
    }

    /// Applies `higress-config`'s `tracing` (at every config apply): an exporter is
    /// (re)started when the settings change; tracing asked for but not possible is logged
    /// and stays off.
    pub fn apply_tracing(&self, value: Option<&yaml_serde::Value>) {
        let wanted = match TracingConfig::from_yaml(value) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!("higress-config {e}; tracing is off");
                None
            }
        };
        let current = self.tracer.load();
        if current.as_ref().map(|t| t.config()) == wanted.as_ref() {
            return;
        }
        let next = match wanted {
            None => None,
            Some(config) => {
                let endpoint = config.endpoint.clone();
                let sampling = config.sampling;
                match Tracer::start(config) {
                    Ok(t) => {
                        tracing::info!(endpoint, sampling, "tracing on (OTLP gRPC)");
                        Some(Arc::new(t))
                    }
                    Err(e) => {
                        tracing::error!("tracing not started: {e}");
                        None
                    }
                }
            }
        };
        if next.is_none() && current.is_some() {
            tracing::info!("tracing off");
        }
        drop(current);
        self.tracer.store(next);
    }

    /// The `logging` phase: counts the request and writes its access-log entry.
    pub fn logging(&self, session: &Session, done: &Finished<'_>) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        let now = Instant::now();
        let duration = now.saturating_duration_since(done.obs.started);
        let upstream = done
            .obs
            .upstream_started
            .filter(|_| done.target.is_some())
            .map(|t| now.saturating_duration_since(t));
        let route = done.route.map_or(NONE, |r| r.ingress.as_str());
        let cluster = match (done.route, done.target) {
            (Some(r), Some(t)) => cluster_of(r, t).unwrap_or(NONE),
            _ => NONE,
        };
        let bytes_received = session.body_bytes_read() as u64;
        let bytes_sent = session.body_bytes_sent() as u64;
        self.metrics.record(&Sample {
            route,
            cluster,
            status,
            duration,
            upstream,
            bytes_received,
            bytes_sent,
        });
        if let Some((ctx, tracer)) = done.obs.trace.as_ref().filter(|(c, _)| c.sampled) {
            let req = session.req_header();
            let mut attributes = vec![
                KeyValue::string("http.request.method", req.method.as_str()),
                KeyValue::string("url.path", req.uri.path()),
                KeyValue::int("http.response.status_code", i64::from(status)),
                KeyValue::string("upstream_cluster", cluster),
            ];
            if let Some(addr) = done.upstream {
                attributes.push(KeyValue::string("upstream_host", addr.to_string()));
            }
            let span = ctx.span(route, done.obs.started_wall, duration, attributes, status);
            if tracer.export(span) {
                self.metrics.span_exported();
            } else {
                self.metrics.span_dropped();
            }
        }
        let Some(log) = self.access_log.get() else {
            return;
        };
        let req = session.req_header();
        let (flags, details) = response_flags::of(
            done.error,
            done.route.is_some(),
            done.target.is_some(),
            status,
        );
        let header = |name: &str| req.headers.get(name).cloned();
        let inet = |a: Option<&pingora::protocols::l4::socket::SocketAddr>| {
            a.and_then(|a| a.as_inet()).copied()
        };
        let entry = AccessLogEntry {
            start_time: done.obs.started_wall,
            authority: header("host").or_else(|| {
                req.uri
                    .authority()
                    .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
            }),
            method: req.method.clone(),
            path: req.uri.clone(),
            protocol: req.version,
            response_code: status,
            response_flags: flags,
            response_code_details: details,
            duration_ms: duration.as_millis() as u64,
            upstream_service_time_ms: upstream.map(|d| d.as_millis() as u64),
            upstream_host: done.upstream,
            upstream_cluster: (cluster != NONE).then(|| cluster.to_string()),
            route_name: done.route.map(|r| r.ingress.clone()),
            x_forwarded_for: header("x-forwarded-for"),
            request_id: header("x-request-id").or_else(|| done.obs.request_id.clone()),
            trace_id: header("x-b3-traceid"),
            user_agent: header("user-agent"),
            requested_server_name: session
                .digest()
                .and_then(|d| d.ssl_digest.as_ref())
                .and_then(|d| d.extension.get::<crate::tls::handshake::TlsInfo>())
                .and_then(|t| t.sni.clone()),
            bytes_received,
            bytes_sent,
            downstream_remote_address: inet(session.client_addr()),
            downstream_local_address: inet(session.server_addr()),
        };
        if log.send(entry) {
            self.metrics.access_log_written();
        } else {
            self.metrics.access_log_dropped();
        }
    }

    /// The scrape body: the registry, plus upstream endpoint gauges from `table`.
    pub fn render(&self, table: &RouteTable) -> Exposition {
        let mut e = Exposition::new();
        self.metrics.render(&mut e);
        tls::render(&mut e);
        let mut clusters: Vec<(&str, usize, usize)> = Vec::new();
        for id in 0..table.len() {
            let route = table.route(id as u32);
            let groups = forward_group(route)
                .into_iter()
                .chain(route.policy.fallback.as_deref());
            for d in groups.flat_map(UpstreamGroup::destinations) {
                if !clusters.iter().any(|(c, _, _)| *c == d.label) {
                    let t = &d.target;
                    clusters.push((&d.label, t.endpoint_count(), t.available_count()));
                }
            }
        }
        clusters.sort();
        e.family(
            "gantry_upstream_endpoints",
            Kind::Gauge,
            "Endpoints discovery currently knows for each upstream cluster of the live table.",
        );
        for (cluster, n, _) in &clusters {
            e.sample(
                "gantry_upstream_endpoints",
                &[("cluster", cluster)],
                *n as f64,
            );
        }
        e.family(
            "gantry_upstream_endpoints_healthy",
            Kind::Gauge,
            "Endpoints of each upstream cluster not ejected after connect failures (passive health).",
        );
        for (cluster, _, healthy) in &clusters {
            e.sample(
                "gantry_upstream_endpoints_healthy",
                &[("cluster", cluster)],
                *healthy as f64,
            );
        }
        e
    }
}

fn forward_group(route: &Route) -> Option<&UpstreamGroup> {
    match &route.action {
        RouteAction::Forward(g) => Some(g),
        RouteAction::Redirect(_) => None,
    }
}

/// The configured name of the destination of `route` whose target is `target` (primary
/// or fallback), borrowed from the table.
fn cluster_of<'a>(route: &'a Route, target: &Arc<Target>) -> Option<&'a str> {
    forward_group(route)
        .into_iter()
        .chain(route.policy.fallback.as_deref())
        .flat_map(UpstreamGroup::destinations)
        .find(|d| Arc::ptr_eq(&d.target, target))
        .map(|d| d.label.as_str())
}
