//! Reloads under load: while keep-alive clients keep sending GETs and POSTs, the Ingress is
//! rewritten again and again (destination switched between two backends, via atomic and
//! in-place writes). No request may fail, no kept-alive connection may be dropped, every
//! answer comes from a backend the config named, and every POST body reaches a backend once.
//!
//! The load never retries (`support/load.rs`): a pooling client would resend a request that
//! failed on a reused connection and hide exactly the loss this test looks for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::load::{assert_posts_seen_once, KeepAliveLoad};
use gantry_tests::{ConfigDir, EchoServer, Gantry, Ingress, Registry};

const FOO: &str = "foo.bar.com";
const EDITS: usize = 30;
const CLIENTS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

    let load = KeepAliveLoad::start(gw.http_port(), FOO, CLIENTS, &["one", "two"]);
    let config = gw.config();
    for i in 0..EDITS {
        let (to, name) = if i % 2 == 0 {
            ("httpbin2.dns", "two")
        } else {
            ("httpbin.dns", "one")
        };
        let ingress = Ingress::quickstart().destination(to);
        if i % 3 == 0 {
            config.write_in_place(&ingress.file(), &ingress.yaml());
        } else {
            config.write_ingress(&ingress);
        }
        gw.client().eventually_backend(FOO, "/", name).await;
        // Let every connection carry traffic on the new table before the next edit.
        load.wait_for_more(2 * CLIENTS as u64).await;
    }
    let report = load.stop().await;
    eprintln!(
        "{EDITS} reloads: {} requests answered ({} POSTs) on {} connections; closes: {} \
         announced, {} unannounced",
        report.answered,
        report.posts.len(),
        report.connections,
        report.announced_closes,
        report.unannounced_closes
    );
    report.assert_lossless(&format!("{EDITS} reloads"), 100);
    assert_posts_seen_once(&report.posts, &[&one, &two]);
    let load_hits = |b: &EchoServer| {
        b.requests()
            .iter()
            .filter(|r| r.path.starts_with("/load/"))
            .count()
    };
    assert!(
        load_hits(&one) > 0 && load_hits(&two) > 0,
        "the load must have reached both backends: one {}, two {}",
        load_hits(&one),
        load_hits(&two)
    );
}
