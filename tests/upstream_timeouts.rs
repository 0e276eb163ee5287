//! A stuck upstream is bounded by the stream idle timeout (`downstream.idleTimeout`, which
//! Higress also pushes as Envoy's `stream_idle_timeout`): a backend that accepts a request
//! and never answers gets 504, with no route timeout and with a longer one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gantry_tests::backend::{read_request_head, Background};
use gantry_tests::{ConfigDir, Gantry, Ingress, Registry};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A backend that reads request heads and never answers; counts the heads it read.
fn silent_backend(heads: Arc<AtomicUsize>) -> Background {
    Background::spawn("silent", move |mut stream: TcpStream| {
        let heads = heads.clone();
        async move {
            let mut buf = Vec::new();
            if read_request_head(&mut stream, &mut buf).await.is_some() {
                heads.fetch_add(1, Ordering::SeqCst);
            }
            // Hold the connection until the gateway gives up on it.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
        }
    })
}

#[tokio::test]
async fn a_backend_that_never_answers_gets_504() {
    let heads = Arc::new(AtomicUsize::new(0));
    let backend = silent_backend(heads.clone());
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("silent", backend.addr())]);
    config.write_ingress(&Ingress::host_route(
        "plain",
        "plain.example.com",
        "silent.static",
    ));
    // A route timeout longer than the client waits (10 s) does not lift the idle bound.
    config.write_ingress(
        &Ingress::host_route("patient", "patient.example.com", "silent.static")
            .annotation("higress.io/timeout", "60"),
    );
    config.write_higress_config("downstream:\n  idleTimeout: 2");
    let gw = Gantry::start(config).await;
    for host in ["plain.example.com", "patient.example.com"] {
        let before = heads.load(Ordering::SeqCst);
        let reply = gw
            .client()
            .get(host, "/stuck")
            .await
            .unwrap_or_else(|e| panic!("{host}: no answer from the gateway: {e}"));
        assert_eq!(reply.status.as_u16(), 504, "{host}: {}", reply.summary());
        assert!(
            heads.load(Ordering::SeqCst) > before,
            "{host}: the request never reached the backend"
        );
    }
}
