//! `gantry serve --config nacos://…` against a real Nacos-protocol server (rnacos): an
//! Ingress published in Nacos routes traffic, a change re-routes within 1 s, a new data id
//! is served, a deleted one 404s; with auth on, the credentials flags log in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::config::mcpbridge;
use gantry_tests::rnacos::ADMIN;
use gantry_tests::{ConfigDir, EchoServer, Gantry, GantryBuilder, Ingress, Registry, Rnacos};

/// The bound for a change published in Nacos to be served.
const CHANGE_DEADLINE: Duration = Duration::from_secs(1);

fn on_nacos(nacos: &Rnacos, data_home: &tempfile::TempDir) -> GantryBuilder {
    Gantry::builder()
        .config_arg(&nacos.config_url())
        .env("GANTRY_DATA_DIR", &data_home.path().display().to_string())
}

#[tokio::test]
async fn an_ingress_in_nacos_routes_reroutes_and_404s_when_deleted() {
    let nacos = Rnacos::start().await;
    let (_one, _two) = nacos.put_two_backends().await;
    let route = |to: &str| Ingress::host_route("route-a", "a.com", to).yaml();
    nacos
        .put_resource("ingresses", "route-a", &route("one.static"))
        .await;
    let data = tempfile::tempdir().unwrap();
    let gw = on_nacos(&nacos, &data).start(ConfigDir::new()).await;
    gw.client().eventually_backend("a.com", "/", "one").await;

    // A change published in Nacos (same data id) is served within 1 s.
    nacos
        .put_resource("ingresses", "route-a", &route("two.static"))
        .await;
    let took = gw
        .client()
        .time_until_backend("a.com", "/", "two", CHANGE_DEADLINE)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "change not served within {CHANGE_DEADLINE:?}: {e}\n{}",
                gw.log()
            )
        });
    eprintln!("changed Ingress served after {took:?}");

    // A new data id (announced through the names index) is served.
    let b = Ingress::host_route("route-b", "b.com", "one.static").yaml();
    nacos.put_resource("ingresses", "route-b", &b).await;
    let took = gw
        .client()
        .time_until_backend("b.com", "/", "one", CHANGE_DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("new data id not served within {CHANGE_DEADLINE:?}: {e}"));
    eprintln!("new Ingress served after {took:?}");

    // Deleting it 404s; the other route stays.
    nacos.delete_resource("ingresses", "route-a").await;
    gw.client().eventually_status("a.com", "/", 404).await;
    gw.client().eventually_backend("b.com", "/", "one").await;
}

#[tokio::test]
async fn with_auth_on_the_credentials_flags_log_in() {
    let nacos = Rnacos::start_with_auth().await;
    let one = EchoServer::start("one");
    nacos
        .put_resource(
            "mcpbridges",
            "default",
            &mcpbridge(&[Registry::fixed("one", one.addr())]),
        )
        .await;
    let route = Ingress::host_route("route-a", "a.com", "one.static").yaml();
    nacos.put_resource("ingresses", "route-a", &route).await;
    let data = tempfile::tempdir().unwrap();
    let gw = on_nacos(&nacos, &data)
        .arg("--nacos-username")
        .arg(ADMIN.0)
        .env("GANTRY_NACOS_PASSWORD", ADMIN.1)
        .start(ConfigDir::new())
        .await;
    gw.client().eventually_backend("a.com", "/", "one").await;
    assert!(!gw.log().contains(ADMIN.1), "the password is never logged");

    // Without credentials (and no local snapshot) nothing is served; the log says why.
    let empty = tempfile::tempdir().unwrap();
    let anonymous = on_nacos(&nacos, &empty).start(ConfigDir::new()).await;
    anonymous
        .client()
        .eventually_status("a.com", "/", 404)
        .await;
    let log = anonymous.log();
    assert!(log.contains("--nacos-username"), "{log}");
}
