//! End-to-end: `.dns` registries resolved through a real DNS server on loopback
//! (`--dns-server`). New names are looked up all at once before their table goes live, the
//! old table serves while the answers are outstanding, and re-resolution follows the TTL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;

use gantry_tests::dns::{DnsEvent, DnsServer};
use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, Ingress, Registry, DEADLINE};

const LOOPBACK: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// Starts `gantry serve --dns-server <dns>` on `config`.
async fn start(config: ConfigDir, dns: &DnsServer) -> Gantry {
    Gantry::builder()
        .arg("--dns-server")
        .arg(&dns.addr().to_string())
        .start(config)
        .await
}

#[tokio::test]
async fn new_names_resolve_together_while_the_old_table_serves() {
    const NAMES: usize = 5;
    let old = EchoServer::start("old");
    let backends: Vec<EchoServer> = (1..=NAMES)
        .map(|i| EchoServer::start(&format!("b{i}")))
        .collect();
    let dns = DnsServer::start();
    let name = |i: usize| format!("n{i}.gantry.test");
    let host = |i: usize| format!("h{i}.dns.example.com");
    for i in 1..=NAMES {
        dns.add(&name(i), LOOPBACK, 300);
    }

    // First table: the old route, and one Ingress per name whose registry does not exist yet
    // (a dangling reference: rejected, so its host has no route).
    let config = ConfigDir::new();
    let fixed = Registry::fixed("old", old.addr());
    config.write_mcpbridge(std::slice::from_ref(&fixed));
    config.write_ingress(&Ingress::host_route(
        "old",
        "old.dns.example.com",
        "old.static",
    ));
    for i in 1..=NAMES {
        config.write_ingress(&Ingress::host_route(
            &format!("h{i}"),
            &host(i),
            &format!("n{i}.dns"),
        ));
    }
    let gw = start(config, &dns).await;
    let client = gw.client();
    client
        .eventually_backend("old.dns.example.com", "/get", "old")
        .await;
    for i in 1..=NAMES {
        client.eventually_status(&host(i), "/get", 404).await;
    }

    // One edit adds the five registries: five new names in one snapshot.
    dns.hold();
    let mut registries = vec![fixed];
    for (i, b) in (1..=NAMES).zip(&backends) {
        registries.push(Registry::dns(&format!("n{i}"), &name(i), b.port()));
    }
    gw.config().write_mcpbridge(&registries);

    // All five queries are outstanding at once: none was sent after another's answer.
    eventually(DEADLINE, || async {
        let asked: Vec<usize> = (1..=NAMES).map(|i| dns.queries(&name(i))).collect();
        if asked.iter().all(|n| *n == 1) {
            Ok(())
        } else {
            Err(format!("queries per name so far: {asked:?}"))
        }
    })
    .await;
    assert!(
        !dns.events()
            .iter()
            .any(|e| matches!(e, DnsEvent::Answer(_))),
        "answers are held: {:?}",
        dns.events()
    );
    // Meanwhile the old table serves, and the new routes are not live yet.
    let reply = client.get("old.dns.example.com", "/get").await.unwrap();
    assert_eq!(reply.echo_name(), Some("old"), "{}", reply.summary());
    for i in 1..=NAMES {
        let reply = client.get(&host(i), "/get").await.unwrap();
        assert_eq!(
            reply.status,
            404,
            "{} before the answers: {}",
            host(i),
            reply.summary()
        );
    }

    dns.release();
    client.eventually_backend(&host(1), "/get", "b1").await;
    // The table went live with every name resolved by that one round of lookups.
    for i in 2..=NAMES {
        let reply = client.get(&host(i), "/get").await.unwrap();
        assert_eq!(
            reply.echo_name(),
            Some(format!("b{i}").as_str()),
            "{} right after the swap: {}",
            host(i),
            reply.summary()
        );
    }
    let asked: Vec<usize> = (1..=NAMES).map(|i| dns.queries(&name(i))).collect();
    assert_eq!(asked, [1; NAMES], "one query per name");
}

#[tokio::test]
async fn re_resolution_follows_the_ttl() {
    let short = EchoServer::start("short");
    let long = EchoServer::start("long");
    let dns = DnsServer::start();
    dns.add("short.gantry.test", LOOPBACK, 1);
    dns.add("long.gantry.test", LOOPBACK, 3600);
    let config = ConfigDir::new();
    config.write_mcpbridge(&[
        Registry::dns("short", "short.gantry.test", short.port()),
        Registry::dns("long", "long.gantry.test", long.port()),
    ]);
    config.write_ingress(&Ingress::host_route(
        "short",
        "short.ttl.example.com",
        "short.dns",
    ));
    config.write_ingress(&Ingress::host_route(
        "long",
        "long.ttl.example.com",
        "long.dns",
    ));
    let gw = start(config, &dns).await;
    let client = gw.client();
    client
        .eventually_backend("short.ttl.example.com", "/get", "short")
        .await;
    client
        .eventually_backend("long.ttl.example.com", "/get", "long")
        .await;

    // A 1 s TTL is looked up again every second or so (the fixed 10 s refresh would take
    // 30 s for four lookups); a one-hour TTL is capped at the 10 s refresh interval.
    eventually(DEADLINE, || async {
        let n = dns.queries("short.gantry.test");
        if n >= 4 {
            Ok(())
        } else {
            Err(format!("short.gantry.test asked {n} times"))
        }
    })
    .await;
    let long_asked = dns.queries("long.gantry.test");
    assert!(
        long_asked <= 2,
        "long.gantry.test asked {long_asked} times while short was asked 4"
    );
    // Still served throughout.
    client
        .eventually_backend("short.ttl.example.com", "/get", "short")
        .await;
}
