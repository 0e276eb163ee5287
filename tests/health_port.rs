//! The health port (`--health-port`): `/healthz` alive, `/readyz` and `/healthz/ready` 503
//! until the first config is loaded and the listeners accept, then 200 with detail; and the
//! start-up refusal of two listeners on one port, naming both flags.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use gantry_tests::hold::HoldServer;
use gantry_tests::scrape;
use gantry_tests::{
    eventually, free_port, gantry_bin, run_cli, ConfigDir, EchoServer, Gantry, DEADLINE,
};

#[tokio::test]
async fn ready_once_config_is_loaded_and_listeners_accept() {
    let httpbin = EchoServer::start("httpbin");
    let gw = Gantry::builder()
        .health(true)
        .start(ConfigDir::quickstart("127.0.0.1", httpbin.port()))
        .await;
    let port = gw.health_port();
    let (status, _, body) = scrape::get(port, "/healthz").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "ok"));
    for path in ["/readyz", "/healthz/ready"] {
        let (status, v) = eventually(DEADLINE, || async {
            let (status, v) = scrape::json(port, path).await?;
            (status == 200)
                .then_some((status, v.clone()))
                .ok_or(format!("{status} {v}"))
        })
        .await;
        assert_eq!(status, 200);
        assert_eq!(v["ready"], true, "{v}");
        assert_eq!(v["configLoaded"], true, "{v}");
        assert_eq!(v["listenersUp"], true, "{v}");
        assert_eq!(v["routes"], 1, "{v}");
        assert!(!v["storeState"].is_null(), "{v}");
        assert!(v["store"].as_str().unwrap().starts_with("dir:"), "{v}");
        assert_eq!(v["rejected"].as_array().unwrap().len(), 0, "{v}");
    }
}

#[tokio::test]
async fn not_ready_before_the_config_loads() {
    // A "Nacos" that holds every request: the first listing does not come back until
    // released, so the store is still loading.
    let nacos = HoldServer::start("stalled-nacos");
    let data = tempfile::tempdir().unwrap();
    let health = free_port();
    let http = free_port();
    let mut child = Command::new(gantry_bin())
        .args(["serve", "--config", &format!("nacos://{}", nacos.addr())])
        .args([
            "--http-port",
            &http.to_string(),
            "--https-port",
            "0",
            "--console-port",
            "0",
        ])
        .args(["--metrics-port", "0", "--health-port", &health.to_string()])
        .args(["--bind", "127.0.0.1", "--access-log", "off"])
        .args([
            "--data-dir",
            &data.path().join("state").display().to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Once the listing request is held, the store is certainly still loading.
    let (status, v) = eventually(DEADLINE, || async {
        let answer = scrape::json(health, "/readyz").await?;
        if nacos.arrived() == 0 {
            return Err("the listing has not reached the stalled Nacos yet".to_string());
        }
        Ok(answer)
    })
    .await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["ready"], false, "{v}");
    assert_eq!(v["configLoaded"], false, "{v}");
    let (status, _, body) = scrape::get(health, "/healthz").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "ok"), "alive while loading");
    assert!(nacos.arrived() >= 1, "the listing is held");

    // Released, the listing fails (not Nacos JSON): the store opens empty and unreachable,
    // the gateway serves, and it is ready.
    nacos.release();
    let v = eventually(DEADLINE, || async {
        let (status, v) = scrape::json(health, "/readyz").await?;
        (status == 200)
            .then_some(v.clone())
            .ok_or(format!("{status} {v}"))
    })
    .await;
    assert_eq!(v["configLoaded"], true, "{v}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn two_listeners_on_one_port_are_refused_naming_both_flags() {
    let config = ConfigDir::new();
    let port = free_port().to_string();
    let out = run_cli(&[
        "serve",
        "--config",
        &config.path().display().to_string(),
        "--http-port",
        &port,
        "--https-port",
        "0",
        "--console-port",
        &port,
        "--bind",
        "127.0.0.1",
    ]);
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    let want = format!(
        "--http-port {port} and --console-port {port} ask for the same port; give one of them another value"
    );
    assert!(out.combined().contains(&want), "{}", out.combined());

    // Metrics on the HTTPS port: refused too.
    let out = run_cli(&[
        "serve",
        "--config",
        &config.path().display().to_string(),
        "--http-port",
        "0",
        "--https-port",
        &port,
        "--console-port",
        "0",
        "--metrics-port",
        &port,
    ]);
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    assert!(
        out.combined()
            .contains(&format!("--https-port {port} and --metrics-port {port}")),
        "{}",
        out.combined()
    );
}
