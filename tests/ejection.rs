//! Passive health checking, proved by what the backends saw: an endpoint that keeps refusing
//! connections is ejected (it gets no request even once it answers again) until its
//! ejection ends, and when every endpoint is ejected all of them are used (panic mode).
//!
//! A refusing endpoint is a [`HeldPort`]: bound, not listening, held by this test until it
//! starts answering on the very same socket, so no other test's backend can take the port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use gantry_tests::{
    eventually, ConfigDir, EchoServer, Gantry, HeldPort, Ingress, Registry, DEADLINE,
};

const HOST: &str = "pool.example.com";
const READY: &str = "ready.example.com";

/// The first ejection (docs/compatibility.md, "Upstreams": five connect failures in a row
/// eject an endpoint for 10 s).
const EJECTION: Duration = Duration::from_secs(10);

/// A gateway routing [`HOST`] to a static pool of `pool` and [`READY`] to `ready` (another
/// target, so waiting for readiness sends nothing to the pool).
async fn start(ready: &EchoServer, pool: &[std::net::SocketAddr]) -> Gantry {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[
        Registry::fixed("ready", ready.addr()),
        Registry::pool("pool", pool),
    ]);
    config.write_ingress(&Ingress::host_route("ready", READY, "ready.static"));
    config.write_ingress(&Ingress::host_route("pool", HOST, "pool.static"));
    let gw = Gantry::start(config).await;
    // Both Ingresses load in one snapshot.
    gw.client().eventually_backend(READY, "/", "ready").await;
    gw
}

#[tokio::test]
async fn refusing_endpoint_is_ejected_then_recovers() {
    let ready = EchoServer::start("ready");
    let live = EchoServer::start("live");
    let dead = HeldPort::new();
    let gw = start(&ready, &[live.addr(), dead.addr()]).await;
    let client = gw.client();

    // No request has reached the pool yet, so any ejection starts after this instant.
    let before = Instant::now();
    // Round robin offers the refusing endpoint every other pick; each connect failure is
    // retried on the live one. 20 requests give it well over five failures in a row.
    for i in 0..20 {
        let reply = client.get(HOST, &format!("/fail/{i}")).await.unwrap();
        reply
            .expect_backend("live")
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
    }
    // It answers again, on the same port; only its ejection keeps requests away now.
    let revived = EchoServer::on(dead.listen(), "revived");
    let listening = Instant::now();
    eventually(DEADLINE + EJECTION, || async {
        let reply = client.get(HOST, "/poll").await?;
        match reply.echo_name() {
            Some("revived") => Ok(()),
            other => Err(format!("still served by {other:?}")),
        }
    })
    .await;

    // The ejection began at the fifth failure, after `before`, so it lasted until at least
    // `before + EJECTION`; the revived endpoint must have seen nothing until then, although
    // the live one kept being asked in that window.
    let first = revived.requests()[0].received;
    assert!(
        first >= before + EJECTION,
        "the revived endpoint got a request {:?} after the first connect failure, inside \
         its {EJECTION:?} ejection",
        first - before
    );
    let asked_while_ejected = live
        .requests()
        .iter()
        .filter(|r| r.path == "/poll" && r.received < before + EJECTION)
        .count();
    assert!(
        listening < before + EJECTION && asked_while_ejected > 0,
        "no request was sent while the endpoint was ejected and answering (it listened {:?} \
         after the first failure): the machine was too slow to show the ejection",
        listening - before
    );
}

#[tokio::test]
async fn when_every_endpoint_is_ejected_all_are_used() {
    let ready = EchoServer::start("ready");
    let (a, b) = (HeldPort::new(), HeldPort::new());
    let gw = start(&ready, &[a.addr(), b.addr()]).await;
    let client = gw.client();

    let before = Instant::now();
    // Both refuse: each request tries three times, alternating, and gets 503; after four
    // requests each endpoint has failed five times in a row, so both are ejected.
    for i in 0..6 {
        let reply = client.get(HOST, &format!("/fail/{i}")).await.unwrap();
        assert_eq!(
            reply.status.as_u16(),
            503,
            "request {i}: {}",
            reply.summary()
        );
    }
    // Both answer again on the same ports while still ejected (until `before + EJECTION`
    // at least): panic mode must send requests to them rather than fail.
    let a = EchoServer::on(a.listen(), "a");
    let b = EchoServer::on(b.listen(), "b");
    for i in 0..10 {
        let reply = client.get(HOST, &format!("/panic/{i}")).await.unwrap();
        assert!(
            reply.status.as_u16() == 200 && matches!(reply.echo_name(), Some("a" | "b")),
            "request {i} with every endpoint ejected: {}",
            reply.summary()
        );
    }
    let done = Instant::now();
    assert!(
        done < before + EJECTION,
        "the requests ended {:?} after the first failure, maybe after the ejection: the \
         machine was too slow to show panic mode",
        done - before
    );
    let panicked = |s: &EchoServer| {
        s.requests()
            .iter()
            .filter(|r| r.path.starts_with("/panic/"))
            .count()
    };
    assert!(
        panicked(&a) > 0 && panicked(&b) > 0,
        "panic mode must use every endpoint: a saw {}, b saw {}",
        panicked(&a),
        panicked(&b)
    );
}
