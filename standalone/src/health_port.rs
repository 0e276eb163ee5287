//! The health port (`--health-port`, default 15021 as Higress's gateway). Endpoints:
//! - `GET /healthz`: 200 `ok` while the process runs.
//! - `GET /readyz`, `GET /healthz/ready`: 200 once the first config is loaded and the
//!   gateway's listeners accept connections, else 503; the JSON body details store state,
//!   revisions and the resources rejected or served at their last good version.
//!
//! It is bound before the store is opened, so a probe sees "not ready" (not "refused")
//! while a slow store (Nacos) loads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use config_store::{ConfigStore, Diagnostic, StoreState};
use gateway::Gateway;
use serde::Serialize;

/// What readiness is computed from; shared by the control plane and the health server.
#[derive(Default)]
pub struct Health {
    loaded: OnceLock<Loaded>,
    listening: AtomicBool,
}

struct Loaded {
    store: Arc<dyn ConfigStore>,
    gateway: Arc<Gateway>,
}

/// The `/readyz` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// Config loaded and listeners up.
    pub ready: bool,
    /// The first snapshot has been compiled and swapped in.
    pub config_loaded: bool,
    /// The HTTP/HTTPS listeners accept connections.
    pub listeners_up: bool,
    /// The store (`dir:/path`, `nacos://…`), once opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Whether the store could be read last time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_state: Option<StoreState>,
    /// Revision of the store's snapshot.
    pub revision: u64,
    /// Revision the data plane serves.
    pub applied_revision: u64,
    /// Routes in the live table.
    pub routes: usize,
    /// Resources served at their last good version because their source is broken.
    pub stale: Vec<String>,
    /// Configuration errors (the resources they name are rejected).
    pub rejected: Vec<Diagnostic>,
}

// === impl Health ===

impl Health {
    /// Not loaded, not listening.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The first config is in force.
    pub fn set_loaded(&self, store: Arc<dyn ConfigStore>, gateway: Arc<Gateway>) {
        let _ = self.loaded.set(Loaded { store, gateway });
    }

    /// The listeners accept connections.
    pub fn set_listening(&self) {
        self.listening.store(true, Ordering::Relaxed);
    }

    /// The readiness report now.
    pub fn report(&self) -> Readiness {
        let listeners_up = self.listening.load(Ordering::Relaxed);
        let Some(loaded) = self.loaded.get() else {
            return Readiness {
                ready: false,
                config_loaded: false,
                listeners_up,
                store: None,
                store_state: None,
                revision: 0,
                applied_revision: 0,
                routes: 0,
                stale: Vec::new(),
                rejected: Vec::new(),
            };
        };
        let snapshot = loaded.store.snapshot();
        let stale = snapshot
            .stale_objects()
            .map(|o| {
                format!(
                    "{} {} ({})",
                    o.resource.kind().kind_name(),
                    o.resource.name(),
                    o.source
                )
            })
            .collect();
        let mut rejected: Vec<Diagnostic> = snapshot.errors().cloned().collect();
        rejected.extend(loaded.gateway.diagnostics().iter().cloned());
        let applied_revision = *loaded.gateway.applied_revision().borrow();
        Readiness {
            ready: listeners_up,
            config_loaded: true,
            listeners_up,
            store: Some(loaded.store.describe()),
            store_state: Some(loaded.store.state()),
            revision: snapshot.revision(),
            applied_revision,
            routes: loaded.gateway.table().len(),
            stale,
            rejected,
        }
    }
}

/// The health router.
pub fn router(health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/healthz/ready", get(readyz))
        .with_state(health)
}

async fn readyz(State(health): State<Arc<Health>>) -> (StatusCode, Json<Readiness>) {
    let report = health.report();
    let status = if report.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(report))
}

/// Serves the health router on `listener` until the runtime stops.
pub fn spawn(listener: tokio::net::TcpListener, health: Arc<Health>) {
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(health)).await {
            tracing::error!("health port stopped: {e}");
        }
    });
}
