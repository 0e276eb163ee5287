//! Time limits on reading HTTP/1.x requests, set short in `higress-config`:
//! `downstream.requestHeadersTimeout` bounds a whole request header (from accept for a
//! connection's first request, from the first byte for later ones), so a header sent one byte
//! a second is cut; `downstream.idleTimeout` bounds a connection that never sends a byte, new
//! or kept alive.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::http1::Http1;
use gantry_tests::raw_tcp::{connect, excerpt, read_until_closed, statuses, Ending};
use gantry_tests::{ConfigDir, EchoServer, Gantry, Ingress, Registry, DEADLINE};
use tokio::io::AsyncWriteExt;

/// The host routed to the echo backend.
const HOST: &str = "echo.example.com";

/// A gateway routing `HOST` to `echo`, with `options` in `higress-config`.
async fn gateway(echo: &EchoServer, options: &str) -> Gantry {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("echo", echo.addr())]);
    config.write_ingress(&Ingress::host_route("echo", HOST, "echo.static"));
    config.write_higress_config(options);
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend(HOST, "/get", "echo").await;
    gw
}

/// Sends `head` one byte a second until the gateway closes the connection or `head` runs
/// out; returns how many bytes were sent and how the connection ended.
async fn trickle(port: u16, head: &[u8]) -> (usize, Ending) {
    let mut stream = connect(port).await;
    let mut sent = 0;
    for byte in head {
        if stream.write_all(&[*byte]).await.is_err() {
            break;
        }
        sent += 1;
        if let Ending::Closed(bytes) = read_until_closed(&mut stream, Duration::from_secs(1)).await
        {
            return (sent, Ending::Closed(bytes));
        }
    }
    (sent, read_until_closed(&mut stream, Duration::ZERO).await)
}

#[tokio::test]
async fn a_header_sent_byte_by_byte_is_cut_at_the_deadline() {
    // A 2 s header deadline: the connection must end after about 2 of the 60 bytes.
    const BYTES: usize = 60;
    let echo = EchoServer::start("echo");
    let gw = gateway(&echo, "downstream:\n  requestHeadersTimeout: 2").await;
    let head = format!("GET /get HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ");
    let head = format!("{head}{}", "a".repeat(BYTES - head.len()));
    let (sent, ending) = trickle(gw.http_port(), head.as_bytes()).await;
    let answers = statuses(ending.bytes());
    eprintln!("slow header: {sent} of {BYTES} bytes sent, answers {answers:?}");
    assert!(
        matches!(ending, Ending::Closed(_)) && sent < BYTES / 2,
        "the slow header was not cut: {sent} of {BYTES} bytes sent, {ending:?}"
    );
    assert!(
        answers.is_empty() || answers == [408],
        "want 408 or a bare close, got {}",
        excerpt(ending.bytes())
    );
    assert!(
        echo.requests().iter().all(|r| r.header("x-slow").is_none()),
        "the slow request reached the backend"
    );
}

#[tokio::test]
async fn the_first_request_deadline_counts_from_accept() {
    // The idle limit is long; the 2 s header deadline alone ends a silent new connection.
    let echo = EchoServer::start("echo");
    let gw = gateway(
        &echo,
        "downstream:\n  idleTimeout: 600\n  requestHeadersTimeout: 2",
    )
    .await;
    let mut silent = connect(gw.http_port()).await;
    let ending = read_until_closed(&mut silent, DEADLINE).await;
    assert_eq!(
        ending,
        Ending::Closed(Vec::new()),
        "a silent new connection was not closed at the header deadline"
    );
}

#[tokio::test]
async fn a_kept_alive_request_counts_from_its_first_byte() {
    // After a first request, a connection idles past the 2 s header deadline (but within the
    // idle limit) and then sends a whole request at once: it is answered.
    let echo = EchoServer::start("echo");
    let gw = gateway(
        &echo,
        "downstream:\n  idleTimeout: 600\n  requestHeadersTimeout: 2",
    )
    .await;
    let mut conn = Http1::new(connect(gw.http_port()).await);
    let first = conn.get(HOST, "/get?n=1").await.unwrap();
    assert_eq!(first.status, 200, "{}", first.summary());
    // The idle time is the stimulus here, not a wait for an event.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let second = conn.get(HOST, "/get?n=2").await.unwrap();
    assert_eq!(second.status, 200, "{}", second.summary());
}

#[tokio::test]
async fn silent_connections_are_closed_after_the_idle_timeout() {
    let echo = EchoServer::start("echo");
    let gw = gateway(
        &echo,
        "downstream:\n  idleTimeout: 2\n  requestHeadersTimeout: 0",
    )
    .await;
    // A new connection that never sends a byte.
    let mut silent = connect(gw.http_port()).await;
    // A kept-alive connection that goes quiet after one request.
    let mut conn = Http1::new(connect(gw.http_port()).await);
    let reply = conn.get(HOST, "/get").await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.summary());
    let ending = read_until_closed(&mut silent, DEADLINE).await;
    assert_eq!(
        ending,
        Ending::Closed(Vec::new()),
        "a new connection that sent nothing is still open"
    );
    let err = conn
        .read_reply()
        .await
        .expect_err("no request, so no reply");
    assert!(
        err.contains("closed"),
        "the idle kept-alive connection was not closed: {err}"
    );
}
