//! Process signals: SIGTERM and SIGINT stop accepting, let requests in flight finish (up to
//! `--drain-timeout`) and exit 0; a second one exits at once; SIGHUP re-reads the config and
//! keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::hold::HoldServer;
use gantry_tests::http1::Http1;
use gantry_tests::process::{send_signal, wait_exit};
use gantry_tests::{eventually, ConfigDir, EchoServer, Gantry, Ingress, Registry, Watch, DEADLINE};
use tokio::net::TcpStream;

/// The host every test routes.
const HOST: &str = "signals.test";

/// How long the slow backend holds the request in flight: longer than any grace Pingora
/// gave before (about 1 s).
const SLOW_MS: u64 = 3_000;

fn config_for(addr: std::net::SocketAddr) -> ConfigDir {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("backend", addr)]);
    config.write_ingress(&Ingress::host_route("signals", HOST, "backend.static"));
    config
}

/// How many connections wait in the accept queue of the listener on `127.0.0.1:port`
/// (`rx_queue` of its `/proc/net/tcp` line).
fn accept_queue(port: u16) -> Result<u64, String> {
    let table = std::fs::read_to_string("/proc/net/tcp").map_err(|e| e.to_string())?;
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A"))
        .and_then(|f| f.get(4)?.split_once(':').map(|(_, rx)| rx.to_owned()))
        .and_then(|rx| u64::from_str_radix(&rx, 16).ok())
        .ok_or_else(|| format!("no listener on 127.0.0.1:{port}"))
}

/// Whether a new connection to `port` is refused.
async fn refused(port: u16) -> Result<(), String> {
    match TcpStream::connect(("127.0.0.1", port)).await {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(()),
        Err(e) => Err(format!("connect failed otherwise: {e}")),
        Ok(_) => Err("still accepting".to_owned()),
    }
}

/// A request held [`SLOW_MS`] by the backend finishes with 200 after `signal`, new
/// connections are refused meanwhile, and the process then exits 0.
async fn drains_on(signal: &str) {
    let backend = EchoServer::start("slow");
    let mut gantry = Gantry::start(config_for(backend.addr())).await;
    gantry.client().eventually_backend(HOST, "/", "slow").await;
    let before = backend.hits();

    let mut http = Http1::new(
        TcpStream::connect(("127.0.0.1", gantry.http_port()))
            .await
            .unwrap(),
    );
    http.send_head("GET", HOST, &format!("/delay/{SLOW_MS}"), &[])
        .await
        .unwrap();
    eventually(DEADLINE, || {
        let hits = backend.hits();
        async move {
            (hits > before)
                .then_some(())
                .ok_or("request not at the backend yet".to_owned())
        }
    })
    .await;

    send_signal(gantry.pid(), signal);
    let port = gantry.http_port();
    eventually(DEADLINE, || refused(port)).await;
    assert!(
        gantry.exit_status().is_none(),
        "exited with a request in flight"
    );

    let reply = http.read_reply().await.unwrap();
    reply.expect_backend("slow").unwrap();
    let status = wait_exit(&mut gantry, DEADLINE).await;
    assert_eq!(status.code(), Some(0), "exit after {signal}: {status}");
    let log = gantry.log();
    assert!(!log.contains("did not exit within"), "{log}");
}

#[tokio::test]
async fn sigterm_drains_requests_in_flight_then_exits_0() {
    drains_on("TERM").await;
}

#[tokio::test]
async fn sigint_drains_requests_in_flight_then_exits_0() {
    drains_on("INT").await;
}

#[tokio::test]
async fn a_client_connected_before_the_stop_is_answered() {
    let backend = EchoServer::start("slow");
    let mut gantry = Gantry::start(config_for(backend.addr())).await;
    gantry.client().eventually_backend(HOST, "/", "slow").await;

    // Accepted, but the request only goes out once the gateway has stopped accepting.
    let port = gantry.http_port();
    let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    eventually(DEADLINE, || async {
        match accept_queue(port)? {
            0 => Ok(()),
            n => Err(format!("{n} connections not accepted yet")),
        }
    })
    .await;
    send_signal(gantry.pid(), "TERM");
    eventually(DEADLINE, || refused(port)).await;
    let mut http = Http1::new(tcp);
    let reply = http.get(HOST, "/").await.unwrap();
    reply.expect_backend("slow").unwrap();
    let status = wait_exit(&mut gantry, DEADLINE).await;
    assert_eq!(status.code(), Some(0), "{status}");
}

#[tokio::test]
async fn drain_timeout_bounds_the_wait() {
    let backend = HoldServer::start("held");
    let mut gantry = Gantry::builder()
        .arg("--drain-timeout")
        .arg("1s")
        .start(config_for(backend.addr()))
        .await;
    let mut http = Http1::new(
        TcpStream::connect(("127.0.0.1", gantry.http_port()))
            .await
            .unwrap(),
    );
    http.send_head("GET", HOST, "/", &[]).await.unwrap();
    eventually(DEADLINE, || {
        let arrived = backend.arrived();
        async move {
            (arrived == 1)
                .then_some(())
                .ok_or("request not held yet".to_owned())
        }
    })
    .await;

    send_signal(gantry.pid(), "TERM");
    // The backend never answers: past the drain timeout the process exits anyway, 0.
    let status = wait_exit(&mut gantry, DEADLINE).await;
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        http.read_reply().await.is_err(),
        "the held request was answered"
    );
}

#[tokio::test]
async fn a_second_stop_signal_exits_at_once() {
    let backend = HoldServer::start("held");
    let mut gantry = Gantry::start(config_for(backend.addr())).await;
    let mut http = Http1::new(
        TcpStream::connect(("127.0.0.1", gantry.http_port()))
            .await
            .unwrap(),
    );
    http.send_head("GET", HOST, "/", &[]).await.unwrap();
    eventually(DEADLINE, || {
        let arrived = backend.arrived();
        async move {
            (arrived == 1)
                .then_some(())
                .ok_or("request not held yet".to_owned())
        }
    })
    .await;

    send_signal(gantry.pid(), "TERM");
    let port = gantry.http_port();
    eventually(DEADLINE, || refused(port)).await;
    send_signal(gantry.pid(), "INT");
    // Well before the 30 s drain timeout.
    let status = wait_exit(&mut gantry, Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(1), "{status}");
}

#[tokio::test]
async fn sighup_rereads_the_config_and_keeps_serving() {
    let v1 = EchoServer::start("v1");
    let v2 = EchoServer::start("v2");
    let config = ConfigDir::new();
    config.write_mcpbridge(&[
        Registry::fixed("v1", v1.addr()),
        Registry::fixed("v2", v2.addr()),
    ]);
    config.write_ingress(&Ingress::host_route("signals", HOST, "v1.static"));
    // Polling once an hour: only SIGHUP can pick up the edit below.
    let mut gantry = Gantry::builder()
        .watch(Watch::Poll(Duration::from_secs(3600)))
        .start(config)
        .await;
    gantry.client().eventually_backend(HOST, "/", "v1").await;

    gantry
        .config()
        .write_ingress(&Ingress::host_route("signals", HOST, "v2.static"));
    gantry.client().get(HOST, "/").await.unwrap();
    assert_eq!(v2.hits(), 0, "the edit applied without SIGHUP");

    send_signal(gantry.pid(), "HUP");
    gantry.client().eventually_backend(HOST, "/", "v2").await;
    assert!(gantry.exit_status().is_none(), "SIGHUP stopped the process");
    assert!(gantry.log().contains("SIGHUP"), "{}", gantry.log());
}
