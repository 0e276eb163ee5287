//! The embedded Gantry console: served at `/` with single-page fallback, assets with their
//! types and long caching, missing assets a 404, API paths never the UI, and
//! `--console-ui-dir` overriding it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::http::StatusCode;
use support::Harness;

/// The asset paths `index.html` loads (`/assets/…`).
fn assets_of(html: &str) -> Vec<String> {
    html.split("\"/assets/")
        .skip(1)
        .map(|rest| format!("/assets/{}", rest.split('"').next().unwrap()))
        .collect()
}

#[tokio::test]
async fn the_console_is_served_with_single_page_fallback() {
    let h = Harness::fresh().await;
    let root = h.get("/").await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(root.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(root.headers["cache-control"], "no-cache");
    assert!(
        root.text.contains("<title>Gantry console</title>"),
        "{}",
        root.text
    );
    // Every page path of the app answers with the same index.html.
    for page in [
        "/login",
        "/init",
        "/routes/new",
        "/routes/some-route",
        "/live",
    ] {
        let r = h.get(page).await;
        assert_eq!(r.status, StatusCode::OK, "{page}");
        assert_eq!(r.text, root.text, "{page}");
    }
    let assets = assets_of(&root.text);
    assert!(assets.iter().any(|a| a.ends_with(".js")), "{assets:?}");
    assert!(assets.iter().any(|a| a.ends_with(".css")), "{assets:?}");
    for a in &assets {
        let r = h.get(a).await;
        assert_eq!(r.status, StatusCode::OK, "{a}");
        let ty = r.headers["content-type"].to_str().unwrap().to_string();
        let want = if a.ends_with(".js") {
            "javascript"
        } else {
            "text/css"
        };
        assert!(ty.contains(want), "{a}: {ty}");
        assert!(r.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
    }
    // A missing asset is a 404, not the page.
    let r = h.get("/assets/missing-123.js").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // API paths never fall back to the UI.
    let r = h.get("/v1/nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["success"], false);
    let r = h.get("/gantry/nothing").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn console_ui_dir_overrides_the_embedded_console() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::write(ui.path().join("index.html"), "<html>higress index</html>").unwrap();
    let options = console_api::ConsoleOptions {
        admin_password: None,
        ui_dir: Some(ui.path().to_path_buf()),
    };
    let h = Harness::with_options(options, |_| {}).await;
    let root = h.get("/").await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(root.text.contains("higress index"), "{}", root.text);
    assert!(!root.text.contains("Gantry console"), "{}", root.text);
    assert!(h.get("/live").await.text.contains("higress index"));
}

#[tokio::test]
async fn the_route_table_endpoint_reports_the_live_table() {
    let h = Harness::logged_in().await;
    let v = h.data("/v1/gantry/route-table").await;
    assert!(v["routes"].is_array(), "{v}");
    assert!(v["revision"].is_u64(), "{v}");
}
