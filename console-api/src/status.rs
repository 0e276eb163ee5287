//! Health and status: `/healthz`, `/healthz/ready`, `/readyz`, `/gantry/status` (open, no
//! Secret values), and `/v1/gantry/status` (the same report in the console wrapper, for the
//! UI; needs a session).

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use config_store::{Diagnostic, Snapshot, StoreState};
use serde::Serialize;

use crate::app::AppState;
use crate::wrapper::ok;

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
    /// Revision of the snapshot the gateway serves (`null` when not reported).
    pub applied_revision: Option<u64>,
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

/// The status report now.
pub fn report(app: &AppState) -> StatusReport {
    let snapshot = app.store.snapshot();
    let mut diagnostics = snapshot.diagnostics().to_vec();
    diagnostics.extend(app.status.gateway_diagnostics());
    let stale = stale_of(&snapshot);
    StatusReport {
        store: app.store.describe(),
        store_state: app.store.state(),
        revision: snapshot.revision(),
        applied_revision: app.status.applied_revision().map(|rx| *rx.borrow()),
        routes: app.status.route_count(),
        restored_from: app.status.restored_from().filter(|_| !stale.is_empty()),
        stale,
        diagnostics,
    }
}

/// `GET /gantry/status`.
pub async fn status(State(app): State<AppState>) -> Json<StatusReport> {
    Json(report(&app))
}

/// `GET /v1/gantry/status`: the report in the console wrapper.
pub async fn console_status(State(app): State<AppState>) -> Response {
    ok(report(&app))
}

/// `GET /readyz`.
pub async fn readyz(State(app): State<AppState>) -> Json<Readiness> {
    let snapshot = app.store.snapshot();
    let mut reasons = Vec::new();
    if let StoreState::Unreachable { message } = app.store.state() {
        reasons.push(format!("store unreadable: {message}"));
    }
    let stale = stale_of(&snapshot);
    if let Some(from) = app.status.restored_from().filter(|_| !stale.is_empty()) {
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
        reasons.push(format!(
            "{errors} configuration error(s), see /gantry/status"
        ));
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
