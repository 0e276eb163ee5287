//! Connection limits: `--max-connections` bounds the open client connections; at the limit
//! idle ones (waiting for a request) are closed to admit new clients, and with none idle a
//! new connection is closed at once; the admin API keeps answering; running out of file
//! descriptors neither kills nor spins the gateway, which serves again as soon as it can.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gantry_tests::hold::HoldServer;
use gantry_tests::http1::Http1;
use gantry_tests::tls::{ingress_with_tls, secret_file, TestCert, TlsClient};
use gantry_tests::{
    eventually, free_port, ConfigDir, EchoServer, Gantry, Ingress, Registry, DEADLINE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The host every test routes to its backend.
const HOST: &str = "limits.test";

/// A config routing [`HOST`] to `addr` (registry `limits`).
fn config_for(addr: std::net::SocketAddr) -> ConfigDir {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("limits", addr)]);
    config.write_ingress(&Ingress::host_route("limits", HOST, "limits.static"));
    config
}

/// Starts the gateway with `--max-connections <max>` and the admin API on the returned port.
async fn start(config: ConfigDir, max: usize) -> (Gantry, u16) {
    let console = free_port();
    let gantry = Gantry::builder()
        .arg("--max-connections")
        .arg(&max.to_string())
        .arg("--console-port")
        .arg(&console.to_string())
        .start(config)
        .await;
    (gantry, console)
}

/// A new connection to the gateway's HTTP port.
async fn connect(gantry: &Gantry) -> TcpStream {
    TcpStream::connect(("127.0.0.1", gantry.http_port()))
        .await
        .expect("connect to the gateway")
}

/// Whether the gateway closed `tcp` (end of file or reset seen without blocking).
fn closed_by_peer(tcp: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match tcp.try_read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// `GET /healthz` on the admin API answers `ok`.
async fn healthz(console: u16) -> Result<(), String> {
    let tcp = TcpStream::connect(("127.0.0.1", console))
        .await
        .map_err(|e| format!("connect admin: {e}"))?;
    let reply = Http1::new(tcp).get("127.0.0.1", "/healthz").await?;
    if reply.status == 200 && reply.text() == "ok" {
        Ok(())
    } else {
        Err(reply.summary())
    }
}

/// The CPU time (user + system, in clock ticks) process `pid` used so far.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // Fields after the `(comm)`, which may hold spaces: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// How many file descriptors process `pid` has open.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read fd dir")
        .count()
}

#[tokio::test]
async fn idle_connections_are_shed_so_new_clients_are_served() {
    const MAX: usize = 50;
    let backend = EchoServer::start("limits");
    let (gantry, console) = start(config_for(backend.addr()), MAX).await;
    gantry
        .client()
        .eventually_backend(HOST, "/", "limits")
        .await;

    // 40 keep-alive connections after one request each, plus 10 that never send a byte.
    let mut kept = Vec::new();
    for _ in 0..40 {
        let mut http = Http1::new(connect(&gantry).await);
        http.get(HOST, "/")
            .await
            .unwrap()
            .expect_backend("limits")
            .unwrap();
        kept.push(http);
    }
    let mut silent = Vec::new();
    for _ in 0..10 {
        silent.push(connect(&gantry).await);
    }

    // Every new client is served, each one in place of an idle connection.
    let mut fresh = Vec::new();
    for i in 0..20 {
        let mut http = Http1::new(connect(&gantry).await);
        let reply = http
            .get(HOST, "/")
            .await
            .unwrap_or_else(|e| panic!("new client {i} not served at the limit: {e}"));
        reply.expect_backend("limits").unwrap();
        fresh.push(http);
    }

    // 70 client connections, at most 50 left open by the gateway.
    eventually(DEADLINE, || {
        let closed = kept
            .iter()
            .map(|h| h.get_ref())
            .chain(silent.iter())
            .chain(fresh.iter().map(|h| h.get_ref()))
            .filter(|tcp| closed_by_peer(tcp))
            .count();
        async move {
            if 70 - closed <= MAX {
                Ok(())
            } else {
                Err(format!("{} connections still open", 70 - closed))
            }
        }
    })
    .await;

    healthz(console).await.unwrap();
    let mut http = Http1::new(connect(&gantry).await);
    http.get(HOST, "/")
        .await
        .unwrap()
        .expect_backend("limits")
        .unwrap();
}

#[tokio::test]
async fn silent_connections_on_the_https_port_are_shed_too() {
    const MAX: usize = 20;
    let backend = EchoServer::start("limits");
    let cert = TestCert::new(&[HOST]);
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("limits", backend.addr())]);
    config.write(&secret_file("limits-tls"), &cert.secret_yaml("limits-tls"));
    let ingress = Ingress::host_route("limits", HOST, "limits.static");
    config.write(
        "ingresses/limits.yaml",
        &ingress_with_tls(&ingress, &[(&[HOST], "limits-tls")]),
    );
    let gantry = Gantry::builder()
        .https(true)
        .arg("--max-connections")
        .arg(&MAX.to_string())
        .start(config)
        .await;
    let tls = TlsClient::new(&[&cert]);
    let port = gantry.https_port();
    eventually(DEADLINE, || async {
        let stream = tls.connect(port, HOST).await?;
        Http1::new(stream)
            .get(HOST, "/")
            .await?
            .expect_backend("limits")
    })
    .await;

    // More connections that never start a TLS handshake than the limit admits: besides at
    // most the two probes above, only they can make room for each other.
    let logged_before = gantry.log().len();
    let mut silent = Vec::new();
    for _ in 0..MAX + 10 {
        silent.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    eventually(DEADLINE, || {
        let closed = silent.iter().filter(|tcp| closed_by_peer(tcp)).count();
        async move {
            (closed >= 8)
                .then_some(())
                .ok_or(format!("{closed} silent connections closed"))
        }
    })
    .await;
    // TLS clients are still served, each in place of a silent connection.
    for i in 0..10 {
        let stream = tls
            .connect(port, HOST)
            .await
            .unwrap_or_else(|e| panic!("TLS client {i} refused at the limit: {e}"));
        let reply = Http1::new(stream).get(HOST, "/").await.unwrap();
        reply.expect_backend("limits").unwrap();
    }
    // Shed connections go quietly (a handshake error is logged for real failures only).
    let log = gantry.log();
    let errors = log[logged_before..]
        .matches("Downstream handshake error")
        .count();
    assert_eq!(errors, 0, "shed connections logged as errors:\n{log}");
}

#[tokio::test]
async fn at_the_limit_of_busy_connections_new_ones_are_closed_and_admin_answers() {
    const MAX: usize = 10;
    let backend = HoldServer::start("held");
    let (gantry, console) = start(config_for(backend.addr()), MAX).await;
    eventually(DEADLINE, || async { healthz(console).await }).await;

    // Fill the limit with requests the backend holds.
    let mut busy = Vec::new();
    for _ in 0..MAX {
        let mut http = Http1::new(connect(&gantry).await);
        http.send_head("GET", HOST, "/", &[]).await.unwrap();
        busy.push(http);
    }
    eventually(DEADLINE, || {
        let arrived = backend.arrived();
        async move {
            (arrived == MAX as u64)
                .then_some(())
                .ok_or(format!("{arrived} held requests"))
        }
    })
    .await;

    // One more connection is closed at once, without an answer; its request never arrives.
    let mut extra = connect(&gantry).await;
    let _ = extra
        .write_all(format!("GET / HTTP/1.1\r\nhost: {HOST}\r\n\r\n").as_bytes())
        .await;
    let mut buf = [0u8; 256];
    match tokio::time::timeout(DEADLINE, extra.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => {}
        Ok(Ok(n)) => panic!(
            "over the limit, got an answer: {:?}",
            String::from_utf8_lossy(&buf[..n])
        ),
        Err(_) => panic!("over the limit, the connection was kept open"),
    }
    healthz(console).await.unwrap();

    // Released, the held requests are answered; their connections, idle now, make room.
    backend.release();
    for http in &mut busy {
        http.read_reply()
            .await
            .unwrap()
            .expect_backend("held")
            .unwrap();
    }
    let mut http = Http1::new(connect(&gantry).await);
    http.get(HOST, "/")
        .await
        .unwrap()
        .expect_backend("held")
        .unwrap();
    assert_eq!(backend.arrived(), MAX as u64 + 1);
}

#[tokio::test]
async fn out_of_file_descriptors_the_gateway_backs_off_and_serves_again() {
    const CONNECTIONS: usize = 40;
    let backend = EchoServer::start("limits");
    // A limit the descriptors cannot hold, so that accept() runs out of them.
    let (mut gantry, console) = start(config_for(backend.addr()), 10_000).await;
    gantry
        .client()
        .eventually_backend(HOST, "/", "limits")
        .await;

    let pid = gantry.pid();
    let nofile = open_fds(pid) + 20;
    let status = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &pid.to_string(),
            &format!("--nofile={nofile}:{nofile}"),
        ])
        .status()
        .expect("run prlimit");
    assert!(status.success(), "prlimit failed");

    // Requests whose head is not finished keep their connections busy (not idle), and the
    // connections past the descriptors wait in the listen queue. The host has no route, so
    // answering needs no upstream descriptor.
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        let mut tcp = connect(&gantry).await;
        tcp.write_all(b"GET / HTTP/1.1\r\nhost: unrouted.test\r\n")
            .await
            .unwrap();
        clients.push(tcp);
    }
    eventually(DEADLINE, || {
        let log = gantry.log();
        async move {
            log.contains("Too many open files")
                .then_some(())
                .ok_or("accept() has not run out of descriptors yet".to_owned())
        }
    })
    .await;

    // While out of descriptors it neither exits nor spins: well under half a core.
    let before = cpu_ticks(pid);
    let window = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_ticks(pid) - before;
    let elapsed_ticks = window.elapsed().as_millis() as u64 / 10;
    assert!(
        used * 2 < elapsed_ticks,
        "{used} ticks of CPU in {elapsed_ticks}"
    );
    assert!(gantry.exit_status().is_none(), "gantry exited");
    let warnings = gantry.log().matches("Accept() failed").count();
    assert!(
        warnings <= 2,
        "{warnings} accept warnings: one per 10 s expected"
    );

    // Finished requests leave idle connections, which are closed to accept the waiting ones.
    for tcp in &mut clients {
        tcp.write_all(b"\r\n").await.unwrap();
    }
    let mut clients: Vec<_> = clients.into_iter().map(Http1::new).collect();
    for (i, http) in clients.iter_mut().enumerate() {
        let reply = http
            .read_reply()
            .await
            .unwrap_or_else(|e| panic!("client {i} never answered: {e}"));
        assert_eq!(reply.status, 404, "client {i}: {}", reply.summary());
    }

    drop(clients);
    eventually(DEADLINE, || async { healthz(console).await }).await;
    gantry
        .client()
        .eventually_backend(HOST, "/", "limits")
        .await;
}
