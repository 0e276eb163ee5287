//! The admin router against a real directory store on a temp dir, driven in process with
//! `tower::ServiceExt::oneshot`: `/healthz`, the `/gantry/status` shape, and status following
//! the store's live snapshot.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use config_store::{
    ConfigStore, Diagnostic, DirStore, Precondition, ResourceKind, WatchMode, WatchOptions,
};
use console_api::{router, ConsoleOptions, ConsoleState, StatusSource};
use serde_json::Value;
use tower::ServiceExt as _;

/// What the gateway would report: a fixed route count and one compile diagnostic.
struct FixedStatus {
    routes: usize,
}

impl StatusSource for FixedStatus {
    fn route_count(&self) -> usize {
        self.routes
    }

    fn gateway_diagnostics(&self) -> Vec<Diagnostic> {
        vec![Diagnostic::source_error("wasm/plugin.wasm", "module missing").warning()]
    }
}

fn ingress(host: &str) -> String {
    format!(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: r\nspec:\n  rules:\n  - host: {host}\n"
    )
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A router over a store opened on `root` (no polling: the test writes through the store).
fn console(root: &Path) -> (axum::Router, Arc<DirStore>) {
    let options = WatchOptions {
        mode: WatchMode::Poll,
        poll_interval: std::time::Duration::from_secs(3600),
        ..WatchOptions::default()
    };
    let store = Arc::new(DirStore::open(root, options).unwrap());
    let state = ConsoleState {
        store: store.clone(),
        status: Arc::new(FixedStatus { routes: 7 }),
        options: ConsoleOptions::default(),
    };
    (router(state), store)
}

/// `GET <uri>`: status and body.
async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let request = Request::get(uri).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn status_json(app: &axum::Router) -> Value {
    let (status, body) = get(app, "/gantry/status").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("status is not JSON ({e}): {body}"))
}

#[tokio::test]
async fn healthz_answers_ok() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _store) = console(dir.path());
    assert_eq!(
        get(&app, "/healthz").await,
        (StatusCode::OK, "ok".to_owned())
    );
    let (status, _) = get(&app, "/gantry/no-such-endpoint").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn status_reports_store_revision_routes_and_every_diagnostic() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ingresses/r.yaml", &ingress("a.com"));
    write(dir.path(), "ingresses/bad.yaml", "kind: [");
    let (app, store) = console(dir.path());

    let status = status_json(&app).await;
    assert_eq!(status["store"], store.describe(), "{status}");
    assert!(
        status["store"].as_str().unwrap().starts_with("dir:"),
        "{status}"
    );
    assert_eq!(status["revision"], store.snapshot().revision(), "{status}");
    assert_eq!(status["routes"], 7, "the gateway's route count: {status}");
    let diagnostics = status["diagnostics"].as_array().expect("diagnostics list");
    let bad = diagnostics
        .iter()
        .find(|d| d["source"] == "ingresses/bad.yaml")
        .unwrap_or_else(|| panic!("the broken file is reported: {status}"));
    assert_eq!(bad["severity"], "error", "{bad}");
    assert!(
        bad["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{bad}"
    );
    let gateway = diagnostics
        .iter()
        .find(|d| d["source"] == "wasm/plugin.wasm")
        .unwrap_or_else(|| panic!("gateway diagnostics are appended: {status}"));
    assert_eq!(gateway["severity"], "warning", "{gateway}");
    assert_eq!(gateway["message"], "module missing", "{gateway}");
}

#[tokio::test]
async fn status_follows_writes_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "ingresses/bad.yaml", "kind: [");
    let (app, store) = console(dir.path());
    let before = status_json(&app).await;
    let revision = before["revision"].as_u64().unwrap();

    // Fixing the file through the store publishes a snapshot the status shows at once.
    store
        .put(
            ResourceKind::Ingress,
            "bad",
            &ingress("b.com").replace("name: r", "name: bad"),
            Precondition::Any,
        )
        .await
        .unwrap();
    let after = status_json(&app).await;
    assert!(
        after["revision"].as_u64().unwrap() > revision,
        "revision {revision} -> {}",
        after["revision"]
    );
    let config_errors: Vec<&Value> = after["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["source"] == "ingresses/bad.yaml")
        .collect();
    assert!(
        config_errors.is_empty(),
        "the fixed file is no longer reported: {after}"
    );
}
