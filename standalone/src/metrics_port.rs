//! The metrics port (`--metrics-port`, default 15020 as Higress's gateway). Endpoints:
//! `GET /stats/prometheus` and `GET /metrics`, both the Prometheus text format: the data
//! plane's counters (`gateway::observe`) plus config gauges read from the store at scrape
//! time.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;
use config_store::ConfigStore;
use gateway::observe::exposition::{Exposition, Kind, CONTENT_TYPE as PROMETHEUS};
use gateway::Gateway;

/// What a scrape reads.
#[derive(Clone)]
struct Sources {
    store: Arc<dyn ConfigStore>,
    gateway: Arc<Gateway>,
}

/// The scrape body now.
fn scrape(sources: &Sources) -> String {
    let table = sources.gateway.table();
    let mut e = sources.gateway.observe().render(&table);
    gateway::observe::wasm::render(&mut e, sources.gateway.discovery().plugins());
    config_gauges(&mut e, sources);
    e.finish()
}

fn config_gauges(e: &mut Exposition, s: &Sources) {
    let snapshot = s.store.snapshot();
    let store = s.store.describe();
    let gauge = |e: &mut Exposition, name: &str, help: &str, value: f64| {
        e.family(name, Kind::Gauge, help);
        e.sample(name, &[], value);
    };
    e.family(
        "gantry_config_store_up",
        Kind::Gauge,
        "1 when the last read of the config store worked, else 0.",
    );
    let up = if s.store.state().is_ok() { 1.0 } else { 0.0 };
    e.sample("gantry_config_store_up", &[("store", &store)], up);
    gauge(
        e,
        "gantry_config_revision",
        "Revision of the store's latest snapshot.",
        snapshot.revision() as f64,
    );
    gauge(
        e,
        "gantry_config_applied_revision",
        "Revision of the snapshot the data plane serves.",
        *s.gateway.applied_revision().borrow() as f64,
    );
    gauge(
        e,
        "gantry_config_errors",
        "Configuration errors in the latest snapshot (the resources they name are rejected).",
        snapshot.errors().count() as f64,
    );
    gauge(
        e,
        "gantry_config_stale_resources",
        "Resources served at their last good version because their current source is broken.",
        snapshot.stale_objects().count() as f64,
    );
    gauge(
        e,
        "gantry_routes",
        "Routes in the live table.",
        table_len(s) as f64,
    );
}

fn table_len(s: &Sources) -> usize {
    s.gateway.table().len()
}

/// The metrics router.
fn router(sources: Sources) -> Router {
    let handler = move || {
        let sources = sources.clone();
        async move { ([(CONTENT_TYPE, PROMETHEUS)], scrape(&sources)) }
    };
    Router::new()
        .route("/stats/prometheus", get(handler.clone()))
        .route("/metrics", get(handler))
}

/// Serves metrics on `listener` until the runtime stops.
pub fn spawn(
    listener: tokio::net::TcpListener,
    store: Arc<dyn ConfigStore>,
    gateway: Arc<Gateway>,
) {
    let router = router(Sources { store, gateway });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("metrics port stopped: {e}");
        }
    });
}
