//! Many gateways on one Nacos namespace: a change published in Nacos is served by every
//! instance within 1 s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::config::mcpbridge;
use gantry_tests::{ConfigDir, EchoServer, Gantry, Ingress, Registry, Rnacos};

const CHANGE_DEADLINE: Duration = Duration::from_secs(1);

#[tokio::test]
async fn two_gateways_on_one_nacos_serve_a_change_within_a_second() {
    let nacos = Rnacos::start().await;
    let one = EchoServer::start("one");
    let two = EchoServer::start("two");
    let registries = [
        Registry::fixed("one", one.addr()),
        Registry::fixed("two", two.addr()),
    ];
    nacos
        .put_resource("mcpbridges", "default", &mcpbridge(&registries))
        .await;
    let route = |to: &str| Ingress::host_route("route-a", "a.com", to).yaml();
    nacos
        .put_resource("ingresses", "route-a", &route("one.static"))
        .await;
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let start = |data: &tempfile::TempDir| {
        Gantry::builder()
            .config_arg(&nacos.config_url())
            .env("GANTRY_DATA_DIR", &data.path().display().to_string())
            .start(ConfigDir::new())
    };
    let a = start(&data_a).await;
    let b = start(&data_b).await;
    for gw in [&a, &b] {
        gw.client().eventually_backend("a.com", "/", "one").await;
    }

    for (i, to) in ["two", "one", "two"].into_iter().enumerate() {
        nacos
            .put_resource("ingresses", "route-a", &route(&format!("{to}.static")))
            .await;
        // Both measured from the publish.
        let (took_a, took_b) = tokio::join!(
            a.client()
                .time_until_backend("a.com", "/", to, CHANGE_DEADLINE),
            b.client()
                .time_until_backend("a.com", "/", to, CHANGE_DEADLINE),
        );
        let took_a =
            took_a.unwrap_or_else(|e| panic!("change {i} not served by A: {e}\n{}", a.log()));
        let took_b =
            took_b.unwrap_or_else(|e| panic!("change {i} not served by B: {e}\n{}", b.log()));
        eprintln!("change {i} served by A after {took_a:?}, by B after {took_b:?}");
    }
    // A data id new to both, announced through the names index.
    nacos
        .put_resource(
            "ingresses",
            "route-b",
            &Ingress::host_route("route-b", "b.com", "two.static").yaml(),
        )
        .await;
    let (took_a, took_b) = tokio::join!(
        a.client()
            .time_until_backend("b.com", "/", "two", CHANGE_DEADLINE),
        b.client()
            .time_until_backend("b.com", "/", "two", CHANGE_DEADLINE),
    );
    eprintln!(
        "new data id served by A after {:?}, by B after {:?}",
        took_a.expect("new data id served by A"),
        took_b.expect("new data id served by B")
    );
}
