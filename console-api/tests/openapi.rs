//! The OpenAPI document matches the routes served; the UI directory is served.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use support::Harness;

/// Every path the router registers, read from its source.
fn served_paths() -> BTreeSet<String> {
    let src = include_str!("../src/lib.rs");
    let mut out = BTreeSet::new();
    for chunk in src.split(".route(").skip(1) {
        let rest = chunk.trim_start();
        if let Some(rest) = rest.strip_prefix('"') {
            let path = rest.split('"').next().unwrap();
            out.insert(path.to_string());
        }
    }
    for (prefix, _) in console_api::unsupported::UNSUPPORTED {
        out.insert(prefix.to_string());
    }
    out
}

#[tokio::test]
async fn every_served_route_is_documented_and_every_documented_one_answers() {
    let h = Harness::logged_in().await;
    let doc = h.get("/v3/api-docs").await.json();
    assert_eq!(doc["openapi"], "3.0.3");
    let documented: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let served = served_paths();
    assert!(served.len() > 40, "{served:?}");
    assert_eq!(
        served.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "served but not documented"
    );
    assert_eq!(
        documented.difference(&served).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "documented but not served"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .replace("{name}", "x")
                .replace("{plugin}", "p")
                .replace("{part}", "config");
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = h
                .call_as(&h.auth, m.clone(), &concrete, Some("{}".into()))
                .await;
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{m} {concrete}");
            let unmatched = r.status == StatusCode::NOT_FOUND && r.text.contains("no API endpoint");
            assert!(
                !unmatched,
                "{m} {concrete} is documented but not served: {}",
                r.text
            );
        }
    }
}

#[tokio::test]
async fn api_docs_are_open_and_operations_say_which_are() {
    let h = Harness::fresh().await;
    let doc = h.get("/v3/api-docs").await.json();
    assert_eq!(
        doc["paths"]["/system/init"]["post"]["security"],
        serde_json::json!([])
    );
    assert!(doc["paths"]["/v1/routes"]["get"].get("security").is_none());
    let params = &doc["paths"]["/v1/routes"]["get"]["parameters"];
    assert!(params
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "domainName"));
}

#[tokio::test]
async fn a_built_ui_is_served_at_the_root() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::write(ui.path().join("index.html"), "<html>index</html>").unwrap();
    std::fs::write(ui.path().join("route.html"), "<html>route page</html>").unwrap();
    std::fs::create_dir_all(ui.path().join("js")).unwrap();
    std::fs::write(ui.path().join("js/app.js"), "console.log(1)").unwrap();
    let options = console_api::ConsoleOptions {
        admin_password: None,
        ui_dir: Some(ui.path().to_path_buf()),
    };
    let h = Harness::with_options(options, |_| {}).await;
    let root = h.get("/").await;
    assert_eq!(root.status, StatusCode::OK);
    assert!(root.text.contains("index"), "{}", root.text);
    assert!(h.get("/route").await.text.contains("route page"));
    assert!(
        h.get("/domain").await.text.contains("index"),
        "unknown pages get index.html"
    );
    let js = h.get("/js/app.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    // API paths never fall back to the UI.
    let r = h.get("/v1/unknown").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["success"], false);
    assert_eq!(h.get("/system/info").await.status, StatusCode::OK);
    // No path escapes the directory.
    let r = h.get("/../../etc/passwd").await;
    assert!(!r.text.contains("root:"), "{}", r.text);
}
