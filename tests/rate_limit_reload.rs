//! End-to-end: rate-limit buckets outlive reloads of unrelated config. A route that used up
//! its limit stays limited after another Ingress is edited and the new table is live, while a
//! route whose own limit changed starts with a fresh, full bucket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::backends::Backends;
use gantry_tests::{Client, ConfigDir, Gantry, Ingress};

const KEPT: &str = "kept.limit.example.com";
const CHANGED: &str = "changed.limit.example.com";
const OTHER: &str = "other.limit.example.com";

/// A `Prefix /` route on `host` to `v1.static` allowing `rpm` requests a minute, no burst.
fn limited(name: &str, host: &str, rpm: u32) -> Ingress {
    Ingress::host_route(name, host, "v1.static")
        .annotation("higress.io/route-limit-rpm", &rpm.to_string())
        .annotation("higress.io/route-limit-burst-multiplier", "1")
}

/// Statuses of `n` sequential `GET /get` on `host`.
async fn statuses(client: &Client, host: &str, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let reply = client
            .get(host, "/get")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        out.push(reply.status.as_u16());
    }
    out
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test]
async fn unchanged_routes_keep_their_buckets_across_reloads() {
    let backends = Backends::start(&["v1", "v2"]);
    let config = ConfigDir::new();
    config.write_mcpbridge(&backends.registries());
    config.write_ingress(&limited("kept", KEPT, 3));
    config.write_ingress(&limited("changed", CHANGED, 3));
    let gw = Gantry::start(config).await;
    let client = gw.client();
    // The first 200 proves the route is live; it takes one of the three tokens.
    client.eventually_backend(KEPT, "/get", "v1").await;
    client.eventually_backend(CHANGED, "/get", "v1").await;

    // Use up both buckets: two tokens were left, then 429.
    let kept = statuses(client, KEPT, 4).await;
    assert_eq!(kept, [200, 200, 429, 429], "{KEPT} before the reload");
    let changed = statuses(client, CHANGED, 4).await;
    assert_eq!(changed, [200, 200, 429, 429], "{CHANGED} before the reload");

    // One reload: an unrelated new Ingress and a new limit for CHANGED only.
    gw.config()
        .write_ingress(&Ingress::host_route("other", OTHER, "v2.static"));
    gw.config().write_ingress(&limited("changed", CHANGED, 4));
    // Once OTHER answers, the table holding both edits is live (one table per snapshot);
    // wait for CHANGED to pick up its own edit too, in case the two writes were two reloads.
    client.eventually_backend(OTHER, "/get", "v2").await;
    client.eventually_backend(CHANGED, "/get", "v1").await;

    let kept = statuses(client, KEPT, 3).await;
    assert_eq!(
        count(&kept, 429),
        3,
        "{KEPT} must stay limited after an unrelated reload, got {kept:?}"
    );
    // CHANGED has a fresh bucket of four: one went to the 200 above, three remain.
    let changed = statuses(client, CHANGED, 5).await;
    assert_eq!(
        changed,
        [200, 200, 200, 429, 429],
        "{CHANGED} after its limit changed"
    );
}
