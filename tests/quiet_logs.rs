//! What clients and upstreams can put in the gateway's log: a client hanging up while it
//! sends its request header is routine (no ERROR or WARN line, so it cannot flood the log),
//! and a malformed upstream response head appears only as a short excerpt without
//! credential values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::backend::{read_request_head, Background};
use gantry_tests::raw_tcp::{connect, open_fds};
use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, Ingress, Registry, DEADLINE};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// A credential the garbage backend sends; it must never reach the log.
const SECRET: &str = "TOPSECRET-7f3a";

/// Longest log line accepted.
const MAX_LINE: usize = 1024;

/// The lines of `log` after the first `from` bytes that are errors or warnings.
fn loud_lines(log: &str, from: usize) -> Vec<String> {
    log.get(from..)
        .unwrap_or("")
        .lines()
        .filter(|l| l.contains(" ERROR ") || l.contains(" WARN "))
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn clients_hanging_up_mid_header_are_not_logged_as_errors() {
    const CLIENTS: usize = 50;
    let echo = EchoServer::start("echo");
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("echo", echo.addr())]);
    config.write_ingress(&Ingress::host_route(
        "echo",
        "echo.example.com",
        "echo.static",
    ));
    let gw = Gantry::start(config).await;
    gw.client()
        .eventually_backend("echo.example.com", "/get", "echo")
        .await;
    let fds_before = open_fds(gw.pid()).expect("read gantry's fds");
    let log_before = gw.log().len();
    let mut streams: Vec<TcpStream> = Vec::new();
    for _ in 0..CLIENTS {
        let mut stream = connect(gw.http_port()).await;
        stream.write_all(b"GET /half-a-requ").await.unwrap();
        streams.push(stream);
    }
    // Half close politely (FIN), half abort (RST).
    for (i, stream) in streams.into_iter().enumerate() {
        if i % 2 == 1 {
            stream.set_zero_linger().unwrap();
        }
        drop(stream);
    }
    // Every connection has been handled (and logged) once gantry has closed its end.
    eventually(DEADLINE, || async {
        let now = open_fds(gw.pid()).unwrap_or(usize::MAX);
        if now <= fds_before + 2 {
            Ok(())
        } else {
            Err(format!(
                "gantry holds {now} fds, {fds_before} before the clients"
            ))
        }
    })
    .await;
    let loud = loud_lines(&gw.log(), log_before);
    assert!(
        loud.is_empty(),
        "{} ERROR/WARN lines for {CLIENTS} clients that hung up:\n{}",
        loud.len(),
        loud.join("\n")
    );
}

#[tokio::test]
async fn malformed_upstream_heads_are_logged_short_and_without_credentials() {
    let backend = Background::spawn("garbage-head", |mut stream: TcpStream| async move {
        let mut buf = Vec::new();
        if read_request_head(&mut stream, &mut buf).await.is_some() {
            let head = format!(
                "HTTP/1.1 200 OK\r\nSet-Cookie: sid={SECRET}\r\nAuthorization: Bearer {SECRET}\r\n\
                 X-Pad: {}\r\nthis is not a header line\r\n\r\n",
                "a".repeat(4000)
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.flush().await;
        }
    });
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("garbage", backend.addr())]);
    config.write_ingress(&Ingress::host_route(
        "garbage",
        "garbage.example.com",
        "garbage.static",
    ));
    let gw = Gantry::start(config).await;
    let log_before = gw.log().len();
    let reply = gw
        .client()
        .eventually_status("garbage.example.com", "/head", 502)
        .await;
    assert!(!reply.body.contains(SECRET), "the 502 body: {}", reply.body);
    // The failure is logged (an upstream fault is worth a line), short and redacted.
    let log = eventually(DEADLINE, || async {
        let log = gw.log();
        match loud_lines(&log, log_before).is_empty() {
            true => Err("no error line for the malformed upstream head yet".to_owned()),
            false => Ok(log),
        }
    })
    .await;
    let tail = &log[log_before..];
    assert!(
        !tail.contains(SECRET),
        "a credential reached the log:\n{tail}"
    );
    let long: Vec<&str> = tail.lines().filter(|l| l.len() > MAX_LINE).collect();
    assert!(
        long.is_empty(),
        "log lines longer than {MAX_LINE} bytes:\n{}",
        long.join("\n")
    );
}
