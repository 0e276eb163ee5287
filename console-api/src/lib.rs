//! The admin API, shaped like the Higress console's REST API. Writes go through the
//! [`ConfigStore`](config_store::ConfigStore); status comes from a read-only [`StatusSource`].
//!
//! Endpoints:
//! - `GET /healthz` — `ok` while the process serves.
//! - `GET /readyz` — 200 with a JSON detail once routes are served: whether the config in
//!   force is current (store readable, no resource kept at a last good version) or degraded,
//!   and why.
//! - `GET /gantry/status` — store and its state, snapshot revision, route count, resources
//!   kept at a last good version, every current diagnostic.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use config_store::{ConfigStore, Diagnostic, Snapshot, StoreState};
use serde::Serialize;

/// What the running gateway reports about itself.
pub trait StatusSource: Send + Sync + 'static {
    /// Number of routes in the live table.
    fn route_count(&self) -> usize;
    /// Problems found while compiling the live table.
    fn gateway_diagnostics(&self) -> Vec<Diagnostic>;
    /// The saved snapshot this process started from because its config was broken
    /// (`<file> saved at <time>`), if any.
    fn restored_from(&self) -> Option<String> {
        None
    }
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
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// The store (`dir:/path`).
    pub store: String,
    /// Whether the store could be read last time.
    pub store_state: StoreState,
    /// Revision of the snapshot in force.
    pub revision: u64,
    /// Routes in the live table.
    pub routes: usize,
    /// Resources served at a last good version because their current source is broken.
    pub stale: Vec<StaleResource>,
    /// The saved snapshot this process started from, if its config was broken at start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restored_from: Option<String>,
    /// Config and gateway diagnostics.
    pub diagnostics: Vec<Diagnostic>,
}

/// A resource kept at its last good version.
#[derive(Debug, Serialize)]
pub struct StaleResource {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Where its current (broken) version is.
    pub source: String,
}

/// The `/readyz` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// True once routes are served (always, when this answers).
    pub ready: bool,
    /// `current`, or `degraded` when something in force is not what the store holds now.
    pub config: &'static str,
    /// Why the config is degraded, one line per reason.
    pub reasons: Vec<String>,
}

/// The admin API router.
pub fn router(state: ConsoleState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/gantry/status", get(status))
        .with_state(state)
}

fn stale_of(snapshot: &Snapshot) -> Vec<StaleResource> {
    snapshot
        .stale_objects()
        .map(|o| StaleResource {
            kind: o.resource.kind().kind_name().to_string(),
            name: o.resource.name().to_string(),
            source: o.source.clone(),
        })
        .collect()
}

async fn status(State(state): State<ConsoleState>) -> Json<StatusReport> {
    let snapshot = state.store.snapshot();
    let mut diagnostics = snapshot.diagnostics().to_vec();
    diagnostics.extend(state.status.gateway_diagnostics());
    let stale = stale_of(&snapshot);
    Json(StatusReport {
        store: state.store.describe(),
        store_state: state.store.state(),
        revision: snapshot.revision(),
        routes: state.status.route_count(),
        restored_from: state.status.restored_from().filter(|_| !stale.is_empty()),
        stale,
        diagnostics,
    })
}

async fn readyz(State(state): State<ConsoleState>) -> Json<Readiness> {
    let snapshot = state.store.snapshot();
    let mut reasons = Vec::new();
    if let StoreState::Unreachable { message } = state.store.state() {
        reasons.push(format!("store unreadable: {message}"));
    }
    let stale = stale_of(&snapshot);
    if let Some(from) = state.status.restored_from().filter(|_| !stale.is_empty()) {
        reasons.push(format!("started from the saved snapshot {from}"));
    }
    for s in stale {
        reasons.push(format!(
            "{} {} served at its last good version: {} is broken",
            s.kind, s.name, s.source
        ));
    }
    let errors = snapshot.errors().count();
    if errors > 0 {
        reasons.push(format!("{errors} configuration error(s), see /gantry/status"));
    }
    Json(Readiness {
        ready: true,
        config: if reasons.is_empty() {
            "current"
        } else {
            "degraded"
        },
        reasons,
    })
}
