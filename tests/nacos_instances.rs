//! Many gateways on one Nacos namespace: a change published in Nacos, or made through one
//! instance's console API, is served by every instance within 1 s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::rnacos::NS;
use gantry_tests::{ConfigDir, ConsoleClient, Gantry, Ingress, Rnacos};
use reqwest::Method;
use serde_json::json;

const CHANGE_DEADLINE: Duration = Duration::from_secs(1);

#[tokio::test]
async fn two_gateways_on_one_nacos_serve_a_change_within_a_second() {
    let nacos = Rnacos::start().await;
    let (_one, _two) = nacos.put_two_backends().await;
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

#[tokio::test]
async fn a_console_change_on_one_gateway_is_served_by_the_other_within_a_second() {
    const PASSWORD: &str = "e2e-Console-pw";
    let nacos = Rnacos::start().await;
    let (_one, _two) = nacos.put_two_backends().await;
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Gantry::builder()
        .config_arg(&nacos.config_url())
        .env("GANTRY_DATA_DIR", &data_a.path().display().to_string())
        .console(true)
        .arg("--console-password")
        .arg(PASSWORD)
        .start(ConfigDir::new())
        .await;
    let b = Gantry::builder()
        .config_arg(&nacos.config_url())
        .env("GANTRY_DATA_DIR", &data_b.path().display().to_string())
        .start(ConfigDir::new())
        .await;
    let mut console = ConsoleClient::new(a.console_port());
    assert_eq!(console.login("admin", PASSWORD).await.status, 201);

    let created = console
        .call(
            Method::POST,
            "/v1/routes",
            Some(json!({"name": "r1", "domains": ["c.com"], "path": {"matchType": "PRE", "matchValue": "/"}, "services": [{"name": "one.static", "port": 80}]})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let took = b
        .client()
        .time_until_backend("c.com", "/", "one", CHANGE_DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("console route not served by B: {e}\n{}", b.log()));
    eprintln!("route created through A's console served by B after {took:?}");
    // Written where Higress's console writes it: data id `ingresses.r1`, listed in the index.
    let stored = nacos
        .get(NS, NS, "ingresses.r1")
        .await
        .expect("data id ingresses.r1");
    assert!(
        stored.contains("higress.io/destination: one.static:80"),
        "{stored}"
    );
    let index = nacos
        .get(NS, "DEFAULT_GROUP", "ingresses.__names__")
        .await
        .unwrap_or_default();
    assert!(index.contains("higress-system/ingresses.r1"), "{index}");

    let mut edit = created.json();
    edit["services"][0]["name"] = json!("two.static");
    let updated = console.call(Method::PUT, "/v1/routes/r1", Some(edit)).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let took = b
        .client()
        .time_until_backend("c.com", "/", "two", CHANGE_DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("console edit not served by B: {e}\n{}", b.log()));
    eprintln!("route edited through A's console served by B after {took:?}");

    let deleted = console.call(Method::DELETE, "/v1/routes/r1", None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    gantry_tests::eventually(CHANGE_DEADLINE, || async {
        let r = b.client().get("c.com", "/").await?;
        if r.status.as_u16() == 404 {
            Ok(())
        } else {
            Err(r.summary())
        }
    })
    .await;
    assert_eq!(nacos.get(NS, NS, "ingresses.r1").await, None);
}
