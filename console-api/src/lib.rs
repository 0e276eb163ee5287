//! The admin API, shaped like the Higress console's REST API. Writes go through the
//! [`ConfigStore`](config_store::ConfigStore); status comes from a read-only [`StatusSource`].
//!
//! Endpoints:
//! - `GET /healthz` — `ok` while the process serves.
//! - `GET /gantry/status` — store, snapshot revision, route count, every current diagnostic.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use config_store::{ConfigStore, Diagnostic};
use serde::Serialize;

/// What the running gateway reports about itself.
pub trait StatusSource: Send + Sync + 'static {
    /// Number of routes in the live table.
    fn route_count(&self) -> usize;
    /// Problems found while compiling the live table.
    fn gateway_diagnostics(&self) -> Vec<Diagnostic>;
}

/// Shared state of the admin API.
#[derive(Clone)]
pub struct ConsoleState {
    /// Where configuration is read from and written to.
    pub store: Arc<dyn ConfigStore>,
    /// The gateway's status.
    pub status: Arc<dyn StatusSource>,
}

/// The `/gantry/status` body.
#[derive(Debug, Serialize)]
pub struct StatusReport {
    /// The store (`dir:/path`).
    pub store: String,
    /// Revision of the snapshot in force.
    pub revision: u64,
    /// Routes in the live table.
    pub routes: usize,
    /// Config and gateway diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// The admin API router.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/gantry/status", get(status))
        .with_state(state)
}

async fn status(State(state): State<ConsoleState>) -> Json<StatusReport> {
    let snapshot = state.store.snapshot();
    let mut diagnostics = snapshot.diagnostics().to_vec();
    diagnostics.extend(state.status.gateway_diagnostics());
    Json(StatusReport {
        store: state.store.describe(),
        revision: snapshot.revision(),
        routes: state.status.route_count(),
        diagnostics,
    })
}
