//! A restart whose config is broken serves the last good snapshot saved under `--data-dir`,
//! and says so (`/readyz`, `/gantry/status`); a file deleted while Gantry was down is gone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::http1::Http1;
use gantry_tests::{
    eventually, free_port, ConfigDir, EchoServer, Gantry, Ingress, Registry, DEADLINE,
};
use serde_json::Value;
use tokio::net::TcpStream;

/// `GET path` on the admin port, as JSON.
async fn admin_json(port: u16, path: &str) -> Result<Value, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let reply = Http1::new(tcp).get("127.0.0.1", path).await?;
    if reply.status != 200 {
        return Err(format!("{path}: status {}", reply.status));
    }
    serde_json::from_slice(&reply.body).map_err(|e| format!("{path}: {e}"))
}

async fn start(config: ConfigDir, data_dir: &std::path::Path, console: u16) -> Gantry {
    Gantry::builder()
        .arg("--data-dir")
        .arg(&data_dir.display().to_string())
        .arg("--console-port")
        .arg(&console.to_string())
        .start(config)
        .await
}

#[tokio::test]
async fn a_broken_restart_serves_the_saved_snapshot_and_says_so() {
    let web = EchoServer::start("web");
    let api = EchoServer::start("api");
    let data = tempfile::tempdir().unwrap();
    let config = ConfigDir::new();
    config.write_mcpbridge(&[
        Registry::fixed("web", web.addr()),
        Registry::fixed("api", api.addr()),
    ]);
    config.write_ingress(&Ingress::host_route("web", "web.example.com", "web.static"));
    config.write_ingress(&Ingress::host_route("api", "api.example.com", "api.static"));

    // First run: everything valid; its snapshot is saved.
    let console = free_port();
    let gw = start(config, data.path(), console).await;
    gw.client()
        .eventually_backend("web.example.com", "/get", "web")
        .await;
    gw.client()
        .eventually_backend("api.example.com", "/get", "api")
        .await;
    let ready = admin_json(console, "/readyz").await.unwrap();
    assert_eq!(ready["config"], "current", "{ready}");
    eventually(DEADLINE, || async {
        let saved = std::fs::read_dir(data.path())
            .map_err(|e| e.to_string())?
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("last-good-"));
        saved
            .then_some(())
            .ok_or("no saved snapshot yet".to_string())
    })
    .await;
    let config = gw.stop();

    // While it is down: every file but one is broken, and the api Ingress is deleted.
    config.write("mcpbridges/default.yaml", "kind: [");
    config.write("ingresses/web.yaml", "kind: [");
    config.remove("ingresses/api.yaml");

    let console = free_port();
    let gw = start(config, data.path(), console).await;
    // Served from the saved snapshot: the broken files keep their saved versions...
    let reply = gw.client().get("web.example.com", "/get").await.unwrap();
    assert_eq!(reply.echo_name(), Some("web"), "{}", reply.summary());
    // ...and the file deleted while Gantry was down is gone.
    let reply = gw.client().get("api.example.com", "/get").await.unwrap();
    assert_eq!(reply.status, 404, "{}", reply.summary());

    let ready = admin_json(console, "/readyz").await.unwrap();
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["config"], "degraded", "{ready}");
    let reasons = ready["reasons"].to_string();
    assert!(reasons.contains("saved snapshot"), "{ready}");
    assert!(reasons.contains("ingresses/web.yaml"), "{ready}");
    let status = admin_json(console, "/gantry/status").await.unwrap();
    let stale: Vec<String> = status["stale"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["kind"].as_str().unwrap(),
                s["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(stale, ["Ingress web", "McpBridge default"], "{status}");
    assert!(status["restoredFrom"].is_string(), "{status}");
    assert!(
        gw.log().contains("served from the last good snapshot"),
        "the start says so loudly:\n{}",
        gw.log()
    );

    // Fixing the files makes the config current again.
    gw.config()
        .write_mcpbridge(&[Registry::fixed("web", web.addr())]);
    gw.config()
        .write_ingress(&Ingress::host_route("web", "web.example.com", "web.static"));
    eventually(DEADLINE, || async {
        let ready = admin_json(console, "/readyz").await?;
        (ready["config"] == "current")
            .then_some(())
            .ok_or(format!("still {ready}"))
    })
    .await;
}

#[tokio::test]
async fn a_missing_config_directory_fails_at_start() {
    let data = tempfile::tempdir().unwrap();
    let missing = data.path().join("no-such-dir");
    let out = gantry_tests::run_cli(&[
        "serve",
        "--config",
        &missing.display().to_string(),
        "--http-port",
        "0",
        "--https-port",
        "0",
        "--console-port",
        "0",
        "--data-dir",
        &data.path().join("state").display().to_string(),
    ]);
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    assert!(out.combined().contains("no-such-dir"), "{}", out.combined());
    assert!(!missing.exists(), "no empty skeleton is created");
}
