//! Nacos service discovery: a `<service>.<group>.<namespace>.nacos` destination (McpBridge
//! registry of type `nacos2`) sends traffic to the instances registered in a real Nacos
//! (rnacos), by weight, and follows registrations, weight changes and deregistrations
//! without a route-table rebuild and without failing a request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use gantry_tests::load::KeepAliveLoad;
use gantry_tests::rnacos::Instance;
use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, Ingress, Rnacos};

const SERVICE: &str = "echo";
const GROUP: &str = "DEFAULT_GROUP";
const HOST: &str = "echo.DEFAULT-GROUP.public.nacos";

/// `mcpbridges/default.yaml` with one `nacos2` registry on `nacos`, as the Higress console
/// writes it.
fn bridge(nacos: &Rnacos, extra: &str) -> String {
    format!(
        "apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata:\n  name: default\n  namespace: higress-system\nspec:\n  registries:\n  - domain: 127.0.0.1\n    name: nacos\n    nacosGroups:\n    - {GROUP}\n    nacosNamespaceId: \"\"\n    port: {}\n    type: nacos2\n{extra}",
        nacos.http_port()
    )
}

/// Which backend answered each of `n` requests to `a.com`.
async fn spread(gw: &Gantry, n: usize) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for _ in 0..n {
        let reply = gw.client().get("a.com", "/").await.expect("request");
        assert_eq!(reply.status.as_u16(), 200, "{}", reply.summary());
        *counts
            .entry(reply.echo_name().unwrap_or("?").to_string())
            .or_insert(0) += 1;
    }
    counts
}

/// Times the route table was applied, from the gateway's log.
fn applies(gw: &Gantry) -> usize {
    gw.log().matches("route table applied").count()
}

#[tokio::test]
async fn registered_instances_get_traffic_by_weight_and_follow_changes() {
    let nacos = Rnacos::start().await;
    let (one, two, three) = (
        EchoServer::start("one"),
        EchoServer::start("two"),
        EchoServer::start("three"),
    );
    let i_one = Instance::new(one.addr(), 1.0);
    let i_two = Instance::new(two.addr(), 3.0);
    nacos.register_instance(SERVICE, GROUP, &i_one).await;
    nacos.register_instance(SERVICE, GROUP, &i_two).await;

    let dir = ConfigDir::new();
    dir.write("mcpbridges/default.yaml", &bridge(&nacos, ""));
    dir.write_ingress(&Ingress::host_route("route-a", "a.com", HOST));
    let gw = Gantry::start(dir).await;
    gw.client().eventually_backend("a.com", "/", "one").await;
    gw.client().eventually_backend("a.com", "/", "two").await;

    // Weighted round robin: 1 : 3 over whole cycles.
    let counts = spread(&gw, 400).await;
    assert_eq!(counts.get("one"), Some(&100), "{counts:?}");
    assert_eq!(counts.get("two"), Some(&300), "{counts:?}");
    let applied = applies(&gw);

    // A new instance is pushed and served, without a rebuild of the route table.
    let registered = Instant::now();
    nacos
        .register_instance(SERVICE, GROUP, &Instance::new(three.addr(), 1.0))
        .await;
    let took = gw
        .client()
        .time_until_backend("a.com", "/", "three", Duration::from_secs(5))
        .await
        .unwrap_or_else(|e| panic!("new instance not served: {e}\n{}", gw.log()));
    eprintln!(
        "new instance served {took:?} after its registration ({:?} incl. the API call)",
        registered.elapsed()
    );

    // A disabled instance and a weight change are honoured.
    nacos
        .register_instance(
            SERVICE,
            GROUP,
            &Instance {
                enabled: false,
                ..i_two
            },
        )
        .await;
    eventually(Duration::from_secs(5), || async {
        let counts = spread(&gw, 20).await;
        if counts.contains_key("two") {
            Err(format!("disabled instance still served: {counts:?}"))
        } else {
            Ok(())
        }
    })
    .await;
    assert_eq!(applies(&gw), applied, "instance changes rebuilt the table");

    // Deregistering an instance under load fails no request.
    let load = KeepAliveLoad::start(gw.http_port(), "a.com", 2, &["one", "two", "three"]);
    load.wait_for_more(100).await;
    nacos.deregister_instance(SERVICE, GROUP, &i_one).await;
    eventually(Duration::from_secs(5), || async {
        let before = one.hits();
        let answered = load.answered();
        load.wait_for_more(50).await;
        if one.hits() == before {
            Ok(())
        } else {
            Err(format!(
                "deregistered instance still gets traffic ({} hits while {} answered)",
                one.hits() - before,
                load.answered() - answered
            ))
        }
    })
    .await;
    // Its server can now go away: nothing is sent to it any more.
    drop(one);
    load.wait_for_more(100).await;
    let report = load.stop().await;
    report.assert_lossless("deregistering a Nacos instance", 200);
    assert_eq!(applies(&gw), applied, "instance changes rebuilt the table");

    // The last instance gone: 503, as for any empty service.
    nacos
        .deregister_instance(SERVICE, GROUP, &Instance::new(three.addr(), 1.0))
        .await;
    gw.client().eventually_status("a.com", "/", 503).await;
}

#[tokio::test]
async fn a_nacos_destination_without_a_matching_registry_is_rejected() {
    let nacos = Rnacos::start().await;
    let dir = ConfigDir::new();
    dir.write("mcpbridges/default.yaml", &bridge(&nacos, ""));
    dir.write_ingress(&Ingress::host_route(
        "route-a",
        "a.com",
        "echo.OTHER-GROUP.public.nacos",
    ));
    let out = gantry_tests::validate(dir.path());
    assert_eq!(out.code(), Some(1), "{}", out.combined());
    assert!(
        out.combined().contains(
            "destination \"echo.OTHER-GROUP.public.nacos\": no nacos registry in namespace \"public\" lists group \"OTHER-GROUP\" in nacosGroups"
        ),
        "{}",
        out.combined()
    );
}

#[tokio::test]
async fn a_registry_with_auth_logs_in_with_its_secret() {
    use base64::Engine as _;
    let nacos = Rnacos::start_with_auth().await;
    let one = EchoServer::start("one");
    nacos
        .register_instance(SERVICE, GROUP, &Instance::new(one.addr(), 1.0))
        .await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let (user, password) = gantry_tests::rnacos::ADMIN;
    let dir = ConfigDir::new();
    dir.write(
        "mcpbridges/default.yaml",
        &bridge(&nacos, "    authSecretName: nacos-login\n"),
    );
    dir.write(
        "secrets/nacos-login.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: nacos-login\n  namespace: higress-system\ntype: Opaque\ndata:\n  nacosUsername: {}\n  nacosPassword: {}\n",
            b64(user),
            b64(password)
        ),
    );
    dir.write_ingress(&Ingress::host_route("route-a", "a.com", HOST));
    let gw = Gantry::start(dir).await;
    gw.client().eventually_backend("a.com", "/", "one").await;
    assert!(
        !gw.log().contains(password),
        "the Nacos password is logged:\n{}",
        gw.log()
    );
    let status = gw.client().get("a.com", "/").await.unwrap();
    assert_eq!(status.status.as_u16(), 200);
}
