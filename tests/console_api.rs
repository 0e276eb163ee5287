//! The console API on the real binary: `--console-password` initialises the admin, writes
//! through the API are live when they answer (the very next request is routed by them),
//! land as the files Higress's console writes, and a file edit shows in the API.

use gantry_tests::{eventually, ConfigDir, ConsoleClient, EchoServer, Gantry, DEADLINE};
use reqwest::Method;
use serde_json::json;

const PASSWORD: &str = "e2e-Console-pw";

#[tokio::test]
async fn api_writes_route_traffic_and_file_edits_show() {
    let a = EchoServer::start("backend-a");
    let b = EchoServer::start("backend-b");
    let gw = Gantry::builder()
        .console(true)
        .arg("--console-password")
        .arg(PASSWORD)
        .start(ConfigDir::new())
        .await;
    let mut console = ConsoleClient::new(gw.console_port());
    let config = console.data("/system/config").await;
    assert_eq!(
        config["system.initialized"], true,
        "--console-password initialised it"
    );
    assert_eq!(console.login("admin", PASSWORD).await.status, 201);

    for (name, echo) in [("echo-a", &a), ("echo-b", &b)] {
        let r = console
            .call(
                Method::POST,
                "/v1/service-sources",
                Some(json!({"name": name, "type": "static", "domain": format!("127.0.0.1:{}", echo.port()), "port": 80})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = console
        .call(
            Method::POST,
            "/v1/routes",
            Some(json!({"name": "r1", "domains": ["foo.example.com"], "path": {"matchType": "PRE", "matchValue": "/api"}, "services": [{"name": "echo-a.static", "port": 80}]})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let route = r.json();
    // Live when answered: the next request goes to the new route, no polling.
    gw.client()
        .get("foo.example.com", "/api/x")
        .await
        .unwrap()
        .expect_backend("backend-a")
        .unwrap();
    let file = gw.config().read("ingresses/r1.yaml");
    assert!(
        file.contains("higress.io/destination: echo-a.static:80"),
        "{file}"
    );
    assert!(gw
        .config()
        .read("mcpbridges/default.yaml")
        .contains("echo-b"));

    let mut edit = route.clone();
    edit["services"][0]["name"] = json!("echo-b.static");
    let r = console
        .call(Method::PUT, "/v1/routes/r1", Some(edit.clone()))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    gw.client()
        .get("foo.example.com", "/api/x")
        .await
        .unwrap()
        .expect_backend("backend-b")
        .unwrap();
    let stale = console.call(Method::PUT, "/v1/routes/r1", Some(edit)).await;
    assert_eq!(stale.status, 409, "{}", stale.text);

    // A file edit shows in the API (and in routing).
    let edited = gw
        .config()
        .read("ingresses/r1.yaml")
        .replace("path: /api", "path: /edited");
    gw.config().write("ingresses/r1.yaml", &edited);
    eventually(DEADLINE, || {
        let console = console.clone();
        async move {
            let r = console.data("/v1/routes/r1").await;
            (r["path"]["matchValue"] == "/edited")
                .then_some(())
                .ok_or_else(|| format!("still {r}"))
        }
    })
    .await;
    gw.client()
        .eventually_backend("foo.example.com", "/edited", "backend-b")
        .await;

    let r = console.call(Method::DELETE, "/v1/routes/r1", None).await;
    assert_eq!(r.status, 204, "{}", r.text);
    gw.client()
        .get("foo.example.com", "/edited")
        .await
        .unwrap()
        .expect_status(404)
        .unwrap();
    assert!(!gw.config().file("ingresses/r1.yaml").exists());
    // The password never reaches a file in plain text.
    let secret = gw.config().read("secrets/higress-console.yaml");
    assert!(!secret.contains(PASSWORD), "{secret}");
}

#[tokio::test]
async fn no_session_is_401_on_the_real_listener() {
    let gw = Gantry::builder()
        .console(true)
        .arg("--console-password")
        .arg(PASSWORD)
        .start(ConfigDir::new())
        .await;
    let console = ConsoleClient::new(gw.console_port());
    for path in [
        "/v1/routes",
        "/v1/domains",
        "/user/info",
        "/v1/services",
        "/system/higress-config",
    ] {
        let r = console.call(Method::GET, path, None).await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
        assert_eq!(r.json()["success"], false);
    }
    // Login attempts from one client are limited.
    let mut c = ConsoleClient::new(gw.console_port());
    let mut last = 0;
    for _ in 0..11 {
        last = c.login("admin", "wrong").await.status;
    }
    assert_eq!(last, 429);
}
