//! End-to-end: a header canary whose Ingress repeats its base's `match-header` condition
//! is tried before the base route (Higress merges header canaries into the base route as
//! variants inserted in front of it), with real echo backends behind both.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::backends::Backends;
use gantry_tests::{Client, ConfigDir, Gantry, Ingress};
use reqwest::Method;

const HOST: &str = "tenant.canary.example.com";
const TENANT: (&str, &str) = ("higress.io/exact-match-header-x-tenant", "acme");

/// Which backend answers `GET /get` on [`HOST`] with `headers` (panics on a non-200).
async fn backend_for(client: &Client, headers: &[(&str, &str)]) -> String {
    let reply = client
        .send(Method::GET, HOST, "/get", headers, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.status, 200, "{headers:?}: {}", reply.summary());
    reply.echo_name().unwrap_or("-").to_owned()
}

#[tokio::test]
async fn canary_with_the_base_condition_wins_over_its_base() {
    let backends = Backends::start(&["v1", "v2", "plain"]);
    let config = ConfigDir::new();
    config.write_mcpbridge(&backends.registries());
    // Same host and path without the tenant condition: a different rule, tried after.
    config.write_ingress(&Ingress::host_route("tenant-plain", HOST, "plain.static"));
    config.write_ingress(
        &Ingress::host_route("tenant-base", HOST, "v2.static").annotation(TENANT.0, TENANT.1),
    );
    config.write_ingress(
        &Ingress::host_route("tenant-preview", HOST, "v1.static")
            .annotation(TENANT.0, TENANT.1)
            .annotation("higress.io/canary", "true")
            .annotation("higress.io/canary-by-header", "x-preview")
            .annotation("higress.io/canary-by-header-value", "yes"),
    );
    let gw = Gantry::start(config).await;
    let client = gw.client();
    client.eventually_backend(HOST, "/get", "plain").await;

    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("x-tenant", "acme"), ("x-preview", "yes")], "v1"),
        (&[("x-tenant", "acme"), ("x-preview", "always")], "v1"),
        (&[("x-tenant", "acme")], "v2"),
        (&[("x-tenant", "acme"), ("x-preview", "no")], "v2"),
        (&[("x-tenant", "other")], "plain"),
        (&[], "plain"),
    ];
    let mut failures = Vec::new();
    for (headers, want) in cases {
        let got = backend_for(client, headers).await;
        if got != want {
            failures.push(format!("{headers:?}: want {want}, got {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Each request reached exactly the backend it was routed to.
    assert_eq!(backends.hits("v1"), 2);
    assert_eq!(backends.hits("v2"), 2);
}
