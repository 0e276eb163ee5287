//! What is live, for the web console: `GET /v1/gantry/route-table`, the route table the
//! gateway compiled, in match order (needs a session). The rest of "what is live" (store
//! state, rejected resources) is in [`crate::status`].

use axum::extract::State;
use axum::response::Response;
use serde::Serialize;

use crate::app::AppState;
use crate::wrapper::ok;

/// The `/v1/gantry/route-table` body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RouteTableReport {
    /// Revision of the snapshot the gateway serves (`null` when not reported).
    pub revision: Option<u64>,
    /// Every route, grouped by host (exact, then wildcard, then any), each group in match
    /// order; `null` when the gateway does not report its table.
    pub routes: Option<serde_json::Value>,
}

/// `GET /v1/gantry/route-table`.
pub async fn route_table(State(app): State<AppState>) -> Response {
    ok(RouteTableReport {
        revision: app.status.applied_revision().map(|rx| *rx.borrow()),
        routes: app.status.route_table(),
    })
}
