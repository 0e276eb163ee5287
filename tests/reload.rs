//! Reloads under load: while clients keep sending requests, the Ingress is rewritten again
//! and again (destination switched between two backends, via atomic and in-place writes).
//! No request may fail, and every answer comes from a backend the config named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gantry_tests::{Client, ConfigDir, EchoServer, Gantry, Ingress, Registry};

const FOO: &str = "foo.bar.com";
const EDITS: usize = 30;
const CLIENTS: usize = 4;

#[tokio::test]
async fn edits_under_load_drop_no_request() {
    let one = EchoServer::start("one");
    let two = EchoServer::start("two");
    let config = ConfigDir::quickstart("127.0.0.1", one.port());
    config.write_mcpbridge(&[
        Registry::dns("httpbin", "127.0.0.1", one.port()),
        Registry::dns("httpbin2", "127.0.0.1", two.port()),
    ]);
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend(FOO, "/", "one").await;

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let client = Client::new(gw.http_port());
        let (stop, ok) = (stop.clone(), ok.clone());
        workers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match client.get(FOO, "/load").await {
                    Ok(r)
                        if r.status.as_u16() == 200
                            && matches!(r.echo_name(), Some("one" | "two")) =>
                    {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => failures.push(r.summary()),
                    Err(e) => failures.push(e),
                }
            }
            failures
        }));
    }

    let config = gw.config();
    for i in 0..EDITS {
        let to = if i % 2 == 0 {
            "httpbin2.dns"
        } else {
            "httpbin.dns"
        };
        let ingress = Ingress::quickstart().destination(to);
        if i % 3 == 0 {
            config.write_in_place(&ingress.file(), &ingress.yaml());
        } else {
            config.write_ingress(&ingress);
        }
        let name = if i % 2 == 0 { "two" } else { "one" };
        gw.client().eventually_backend(FOO, "/", name).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.unwrap());
    }
    let served = ok.load(Ordering::Relaxed);
    assert!(
        failures.is_empty(),
        "{} of {} requests failed during {EDITS} reloads: {:?}",
        failures.len(),
        served + failures.len() as u64,
        &failures[..failures.len().min(5)]
    );
    assert!(served > 100, "only {served} requests were sent under load");
    assert!(one.hits() > 0 && two.hits() > 0);
}
