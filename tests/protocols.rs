//! End-to-end tests of the protocols Gantry carries besides plain HTTP/1.1: HTTP/2 over
//! TLS (ALPN) and h2c, WebSocket across route reloads, unbuffered streaming responses,
//! gRPC (unary, bidi streaming, error statuses) and HTTPS upstreams.
//!
//! gRPC is spoken over the `h2` crate with a hand-written prost message (no codegen): see
//! `support/grpc.rs`; one test drives the same service with tonic's client
//! (`support/tonic_echo.rs`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gantry_tests::grpc::{
    EchoMessage, GrpcClient, GrpcServer, BIDI, FAIL, FAIL_TRAILERS_ONLY, SLOW, UNARY,
};
use gantry_tests::http1::Http1;
use gantry_tests::http2::h2_get;
use gantry_tests::https_echo::HttpsEchoServer;
use gantry_tests::stream::StreamServer;
use gantry_tests::tls::{alpn_of, ingress_with_tls, secret_file, TestCert, TlsClient};
use gantry_tests::tonic_echo::TonicEcho;
use gantry_tests::ws::{ws_connect, ws_exchange, ws_exchange_binary, WsEchoServer};
use gantry_tests::{
    config, eventually, ConfigDir, EchoServer, Gantry, Ingress, Registry, DEADLINE,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// Writes `ingress` with a `spec.tls` entry for its `host` using Secret `secret`.
fn write_tls_ingress(config: &ConfigDir, ingress: &Ingress, host: &str, secret: &str) {
    config.write(
        &ingress.file(),
        &ingress_with_tls(ingress, &[(&[host], secret)]),
    );
}

/// A config with the dns registry `name` at `127.0.0.1:<port>`, Secret `cert-<name>` holding
/// `cert`, and `ingress` served over TLS for `host` with that Secret.
fn tls_config(name: &str, port: u16, cert: &TestCert, host: &str, ingress: &Ingress) -> ConfigDir {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::dns(name, "127.0.0.1", port)]);
    let secret = format!("cert-{name}");
    config.write(&secret_file(&secret), &cert.secret_yaml(&secret));
    write_tls_ingress(&config, ingress, host, &secret);
    config
}

/// A plain TCP connection to the gateway's HTTP port.
async fn tcp(port: u16) -> Result<TcpStream, String> {
    let tcp = TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

#[tokio::test]
async fn h2_over_tls_and_h2c_reach_the_backend() {
    const HOST: &str = "h2.example.com";
    let httpbin = EchoServer::start("httpbin");
    let cert = TestCert::new(&[HOST]);
    let ingress = Ingress::host_route("h2", HOST, "httpbin.dns");
    let config = tls_config("httpbin", httpbin.port(), &cert, HOST, &ingress);
    let gw = Gantry::builder().https(true).start(config).await;
    let https = gw.https_port();
    let http = gw.http_port();

    // TLS with ALPN h2.
    let client = TlsClient::new(&[&cert]).alpn(&["h2", "http/1.1"]);
    let reply = eventually(DEADLINE, || async {
        let tls = client.connect(https, HOST).await?;
        let alpn = alpn_of(&tls);
        if alpn.as_deref() != Some("h2") {
            return Err(format!("ALPN must pick h2 when offered; got {alpn:?}"));
        }
        let reply = h2_get(tls, "https", HOST, "/get?via=tls").await?;
        if reply.status == 200 && reply.echo_name() == Some("httpbin") {
            Ok(reply)
        } else {
            Err(format!(
                "h2 over TLS: expected 200 from httpbin, got {} {:?} {:?}",
                reply.status,
                reply.echo_name(),
                reply.body
            ))
        }
    })
    .await;
    let seen = reply.json();
    assert_eq!(seen["path"], "/get", "{seen}");
    assert_eq!(seen["args"]["via"], "tls", "{seen}");
    assert_eq!(seen["headers"]["host"], HOST, "{seen}");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https", "{seen}");

    // TLS offering only http/1.1 still works.
    let h1 = TlsClient::new(&[&cert]).alpn(&["http/1.1"]);
    let tls = h1.connect(https, HOST).await.unwrap();
    assert_eq!(alpn_of(&tls).as_deref(), Some("http/1.1"));
    Http1::new(tls)
        .get(HOST, "/get")
        .await
        .unwrap()
        .expect_backend("httpbin")
        .unwrap();

    // h2c with prior knowledge on the HTTP port.
    let reply = h2_get(tcp(http).await.unwrap(), "http", HOST, "/get?via=h2c")
        .await
        .unwrap_or_else(|e| panic!("h2c prior knowledge: {e}"));
    assert_eq!(reply.status, 200, "h2c: {reply:?}");
    assert_eq!(reply.echo_name(), Some("httpbin"), "h2c: {reply:?}");
    let seen = reply.json();
    assert_eq!(seen["args"]["via"], "h2c", "{seen}");
    assert_eq!(seen["headers"]["host"], HOST, "{seen}");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "http", "{seen}");
}

/// The WebSocket route, with `x-rev: <rev>` added to requests upstream.
fn ws_route(rev: usize) -> Ingress {
    Ingress::host_route("ws", "ws.example.com", "ws.dns").annotation(
        "higress.io/request-header-control-add",
        &format!("x-rev {rev}"),
    )
}

/// A WebSocket echo backend behind a gateway serving [`ws_route`] revision 0.
async fn ws_gateway() -> (WsEchoServer, Gantry) {
    let backend = WsEchoServer::start("ws");
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::dns("ws", "127.0.0.1", backend.port())]);
    config.write_ingress(&ws_route(0));
    let gw = Gantry::start(config).await;
    (backend, gw)
}

#[tokio::test]
async fn websocket_echo_survives_50_route_reloads() {
    const HOST: &str = "ws.example.com";
    const RELOADS: usize = 50;
    let (_backend, gw) = ws_gateway().await;
    let port = gw.http_port();

    let (mut socket, handshake) =
        eventually(DEADLINE, || ws_connect(port, HOST, "/chat", &[])).await;
    assert_eq!(handshake.echo_name.as_deref(), Some("ws"), "{handshake:?}");
    assert_eq!(handshake.rev_seen.as_deref(), Some("0"), "{handshake:?}");
    assert_eq!(
        ws_exchange(&mut socket, "hello").await.unwrap(),
        "ws: hello"
    );
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    assert_eq!(
        ws_exchange_binary(&mut socket, &bytes).await.unwrap(),
        bytes
    );

    for rev in 1..=RELOADS {
        gw.config().write_ingress(&ws_route(rev));
        // A new handshake sees the new revision once the reload applied.
        let want = rev.to_string();
        eventually(DEADLINE, || {
            let want = want.clone();
            async move {
                let (_, handshake) = ws_connect(port, HOST, "/probe", &[]).await?;
                if handshake.rev_seen.as_deref() == Some(want.as_str()) {
                    Ok(())
                } else {
                    Err(format!("reload {want} not applied yet: {handshake:?}"))
                }
            }
        })
        .await;
        let frame = format!("frame {rev}");
        let reply = ws_exchange(&mut socket, &frame)
            .await
            .unwrap_or_else(|e| panic!("the open WebSocket broke after reload {rev}: {e}"));
        assert_eq!(reply, format!("ws: {frame}"));
    }
    assert_eq!(ws_exchange(&mut socket, "bye").await.unwrap(), "ws: bye");
}

/// Many fresh WebSocket handshakes, each followed at once by a frame: the tunnel must be
/// open when the 101 arrives, however fast the backend answers. (Pingora 0.9.1 tore it
/// down when the backend's 101 was read before the request's empty body: cloudflare/pingora#946.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_first_frame_follows_every_handshake() {
    const HOST: &str = "ws.example.com";
    const SOCKETS: usize = 400;
    let (_backend, gw) = ws_gateway().await;
    let port = gw.http_port();
    eventually(DEADLINE, || ws_connect(port, HOST, "/warm", &[])).await;

    let mut broken = Vec::new();
    for round in 0..SOCKETS / 8 {
        let attempts = (0..8).map(|i| async move {
            let n = round * 8 + i;
            let (mut socket, _) = ws_connect(port, HOST, "/chat", &[]).await?;
            let text = format!("first {n}");
            let reply = ws_exchange(&mut socket, &text).await?;
            if reply == format!("ws: {text}") {
                Ok(())
            } else {
                Err(format!("socket {n}: wrong reply {reply:?}"))
            }
        });
        for result in futures_util::future::join_all(attempts).await {
            if let Err(e) = result {
                broken.push(e);
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} of {SOCKETS} WebSockets broke right after the handshake, e.g. {:?}",
        broken.len(),
        broken.first()
    );
}

/// Sends `GET /events` on `conn`, then checks each event arrives before the next is sent.
async fn check_event_stream<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut Http1<S>,
    backend: &StreamServer,
    host: &str,
    what: &str,
) {
    conn.send_head("GET", host, "/events", &[("accept", "text/event-stream")])
        .await
        .unwrap();
    backend.send("data: one\n\n");
    let (status, headers) = conn
        .read_head()
        .await
        .unwrap_or_else(|e| panic!("{what}: response head: {e}"));
    assert_eq!(status, 200, "{what}: {headers:?}");
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("x-echo-name"), Some("sse"), "{what}: {headers:?}");
    assert_eq!(
        header("content-type"),
        Some("text/event-stream"),
        "{what}: {headers:?}"
    );
    let mut seen = String::new();
    conn.read_chunks_until(&mut seen, "data: one")
        .await
        .unwrap_or_else(|e| {
            panic!("{what}: the first event must arrive before the second is sent: {e}")
        });
    assert!(!seen.contains("two"), "{what}: {seen:?}");
    backend.send("data: two\n\n");
    conn.read_chunks_until(&mut seen, "data: two")
        .await
        .unwrap_or_else(|e| panic!("{what}: second event: {e}"));
    backend.end();
    while let Some(chunk) = conn
        .read_chunk()
        .await
        .unwrap_or_else(|e| panic!("{what}: end of stream: {e}"))
    {
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert_eq!(seen, "data: one\n\ndata: two\n\n", "{what}");
}

#[tokio::test]
async fn event_stream_is_not_buffered() {
    const HOST: &str = "sse.example.com";
    let backend = StreamServer::start("sse");
    let cert = TestCert::new(&[HOST]);
    let ingress = Ingress::host_route("sse", HOST, "sse.dns");
    let config = tls_config("sse", backend.port(), &cert, HOST, &ingress);
    let gw = Gantry::builder().https(true).start(config).await;
    gw.client().eventually_backend(HOST, "/ready", "sse").await;

    let mut plain = Http1::new(tcp(gw.http_port()).await.unwrap());
    check_event_stream(&mut plain, &backend, HOST, "HTTP").await;

    let tls = TlsClient::new(&[&cert])
        .alpn(&["http/1.1"])
        .connect(gw.https_port(), HOST)
        .await
        .unwrap();
    let mut secure = Http1::new(tls);
    check_event_stream(&mut secure, &backend, HOST, "HTTPS").await;
}

/// The gRPC config: registry `grpc` at `backend`, and Ingress `grpc` for `host` with
/// `backend-protocol: GRPC` and a certificate.
fn grpc_config(backend: &GrpcServer, host: &str, cert: &TestCert) -> ConfigDir {
    let ingress = Ingress::host_route("grpc", host, "grpc.dns")
        .annotation("higress.io/backend-protocol", "GRPC");
    tls_config("grpc", backend.port(), cert, host, &ingress)
}

/// A unary call, a 5-message bidi exchange (each reply read before the next message is
/// sent) and both error shapes, on `client`.
async fn check_grpc(client: &mut GrpcClient, what: &str) {
    let reply = client
        .unary(UNARY, &EchoMessage::new("hello"))
        .await
        .unwrap_or_else(|e| panic!("{what}: unary: {e}"));
    assert_eq!(reply.http_status, 200, "{what}: unary: {reply:?}");
    assert_eq!(
        reply.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/grpc"[..]),
        "{what}: unary: {reply:?}"
    );
    assert_eq!(
        reply.messages,
        vec![EchoMessage {
            text: "hello".into(),
            served_by: "grpc".into()
        }],
        "{what}: unary: {reply:?}"
    );
    assert!(
        reply.trailers.is_some(),
        "{what}: unary: grpc-status must come in trailers: {reply:?}"
    );
    assert_eq!(
        reply.grpc_status().as_deref(),
        Some("0"),
        "{what}: unary: {reply:?}"
    );

    let mut call = client
        .call(BIDI)
        .await
        .unwrap_or_else(|e| panic!("{what}: bidi: {e}"));
    for i in 0..5 {
        let text = format!("ping {i}");
        call.send(&EchoMessage::new(&text))
            .unwrap_or_else(|e| panic!("{what}: bidi send {i}: {e}"));
        let got = call
            .recv()
            .await
            .unwrap_or_else(|e| panic!("{what}: bidi reply {i} (before sending more): {e}"));
        assert_eq!(got.map(|m| m.text), Some(text), "{what}: bidi reply {i}");
    }
    call.close_send().unwrap();
    let rest = call
        .finish()
        .await
        .unwrap_or_else(|e| panic!("{what}: bidi end: {e}"));
    assert!(rest.messages.is_empty(), "{what}: bidi: {rest:?}");
    assert!(
        rest.trailers.is_some(),
        "{what}: bidi: no trailers: {rest:?}"
    );
    assert_eq!(
        rest.grpc_status().as_deref(),
        Some("0"),
        "{what}: bidi: {rest:?}"
    );

    for path in [FAIL, FAIL_TRAILERS_ONLY] {
        let reply = client
            .unary(path, &EchoMessage::new("missing"))
            .await
            .unwrap_or_else(|e| panic!("{what}: {path}: {e}"));
        assert_eq!(reply.http_status, 200, "{what}: {path}: {reply:?}");
        assert_eq!(
            reply.grpc_status().as_deref(),
            Some("5"),
            "{what}: {path}: a non-OK grpc-status must pass through: {reply:?}"
        );
        assert_eq!(
            reply.grpc_message().as_deref(),
            Some("no such echo"),
            "{what}: {path}: {reply:?}"
        );
        assert!(reply.messages.is_empty(), "{what}: {path}: {reply:?}");
    }
}

/// Polls until a unary call through `connect()`'s client succeeds, then returns the client.
async fn eventually_grpc<F, Fut>(connect: F) -> GrpcClient
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<GrpcClient, String>>,
{
    let connect = &connect;
    eventually(DEADLINE, || async move {
        let mut client = connect().await?;
        let reply = client.unary(UNARY, &EchoMessage::new("ready")).await?;
        if reply.grpc_status().as_deref() == Some("0") {
            Ok(client)
        } else {
            Err(format!("not served yet: {reply:?}"))
        }
    })
    .await
}

/// A gRPC echo backend behind a gateway serving [`grpc_config`] for `grpc.example.com`, and an
/// h2c client whose first call through it succeeded.
async fn grpc_h2c_gateway() -> (GrpcServer, Gantry, GrpcClient) {
    const HOST: &str = "grpc.example.com";
    let backend = GrpcServer::start("grpc");
    let cert = TestCert::new(&[HOST]);
    let gw = Gantry::start(grpc_config(&backend, HOST, &cert)).await;
    let port = gw.http_port();
    let client = eventually_grpc(|| GrpcClient::h2c(port, HOST)).await;
    (backend, gw, client)
}

#[tokio::test]
async fn grpc_over_h2c_with_grpc_backend_protocol() {
    let (_backend, _gw, mut client) = grpc_h2c_gateway().await;
    check_grpc(&mut client, "h2c").await;
}

/// A real gRPC stack on the client side — tonic's client over hyper — through the gateway:
/// unary, bidi streaming with each reply read before the next message, the backend's error
/// statuses (with trailers and trailers-only), and the gateway's own "no route" as a status.
#[tokio::test]
async fn tonic_client_through_the_gateway() {
    let (_backend, gw, _client) = grpc_h2c_gateway().await;
    let port = gw.http_port();
    let mut tonic = TonicEcho::connect(port, "grpc.example.com").await.unwrap();

    let reply = tonic.unary(UNARY, EchoMessage::new("hello")).await.unwrap();
    assert_eq!(
        (reply.text.as_str(), reply.served_by.as_str()),
        ("hello", "grpc")
    );

    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut replies = tonic.bidi(BIDI, rx).await.unwrap();
    for i in 0..5 {
        let text = format!("message {i}");
        tx.send(EchoMessage::new(&text)).await.unwrap();
        let reply = replies.message().await.unwrap().expect("a reply");
        assert_eq!(reply.text, text);
    }
    drop(tx);
    assert_eq!(
        replies.message().await.unwrap(),
        None,
        "clean end of stream"
    );

    for path in [FAIL, FAIL_TRAILERS_ONLY] {
        let status = tonic.unary(path, EchoMessage::new("x")).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::NotFound, "{path}: {status:?}");
        assert_eq!(status.message(), "no such echo", "{path}: {status:?}");
    }

    let mut lost = TonicEcho::connect(port, "nowhere.example.com")
        .await
        .unwrap();
    let status = lost.unary(UNARY, EchoMessage::new("x")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status:?}");
}

/// Concurrent gRPC calls are multiplexed on a shared upstream HTTP/2 connection rather than
/// one connection per in-flight call (Pingora's default): 16 bidi calls held open one after
/// another all ride the first call's connection.
#[tokio::test]
async fn grpc_calls_share_upstream_connections() {
    const CALLS: usize = 16;
    let (backend, _gw, mut client) = grpc_h2c_gateway().await;
    let before = backend.connections();

    let mut open = Vec::new();
    for i in 0..CALLS {
        let mut call = client.call(BIDI).await.unwrap();
        let text = format!("call {i}");
        call.send(&EchoMessage::new(&text)).unwrap();
        let reply = call.recv().await.unwrap();
        assert_eq!(reply.map(|m| m.text), Some(text));
        open.push(call);
    }
    let connections = backend.connections() - before;
    assert!(
        connections <= 1,
        "{CALLS} open calls opened {connections} new upstream connections"
    );
    for mut call in open {
        call.close_send().unwrap();
        let reply = call.finish().await.unwrap();
        assert_eq!(reply.grpc_status().as_deref(), Some("0"), "{reply:?}");
    }
}

/// Clients that hang up with calls still open are routine: the gateway keeps serving and
/// logs no error for them.
#[tokio::test]
async fn clients_hanging_up_mid_call_log_no_error() {
    const HOST: &str = "grpc.example.com";
    let backend = GrpcServer::start("grpc");
    let cert = TestCert::new(&[HOST]);
    let gw = Gantry::start(grpc_config(&backend, HOST, &cert)).await;
    let port = gw.http_port();
    const HANG_UPS: usize = 5;
    for _ in 0..HANG_UPS {
        let mut client = eventually_grpc(|| GrpcClient::h2c(port, HOST)).await;
        let mut call = client.call(BIDI).await.unwrap();
        call.send(&EchoMessage::new("left open")).unwrap();
        let (status, _) = call.head().await.unwrap();
        assert_eq!(status, 200);
        // Drop the call and the connection with the stream still open.
        drop(call);
        drop(client);
    }
    // The gateway has handled every hang-up once it has ended the upstream half of each call.
    eventually(DEADLINE, || async {
        match backend.bidi_calls_ended() {
            n if n >= HANG_UPS => Ok(()),
            n => Err(format!(
                "{n} of {HANG_UPS} hung-up calls ended at the backend"
            )),
        }
    })
    .await;
    let mut client = eventually_grpc(|| GrpcClient::h2c(port, HOST)).await;
    check_grpc(&mut client, "after hang-ups").await;
    let log = gw.log();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "error lines in the log: {errors:#?}");
}

/// The client's `grpc-timeout` bounds the wait for the upstream: past it the call ends with
/// DEADLINE_EXCEEDED, well before the slow backend answers; a longer or no deadline waits.
#[tokio::test]
async fn grpc_timeout_header_is_honoured() {
    let (_backend, _gw, mut client) = grpc_h2c_gateway().await;

    let started = std::time::Instant::now();
    let reply = client
        .unary_with(SLOW, &[("grpc-timeout", "200m")], &EchoMessage::new("late"))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(reply.http_status, 200, "{reply:?}");
    assert_eq!(reply.grpc_status().as_deref(), Some("4"), "{reply:?}");
    // No message: the call ended before the backend answered (after SLOW_DELAY), and not
    // before its own deadline (a lower bound, which load cannot break).
    assert!(reply.messages.is_empty(), "{reply:?}");
    assert!(
        took >= std::time::Duration::from_millis(190),
        "DEADLINE_EXCEEDED after {took:?}, before the 200 ms deadline"
    );

    for headers in [&[("grpc-timeout", "10S")][..], &[]] {
        let reply = client
            .unary_with(SLOW, headers, &EchoMessage::new("in time"))
            .await
            .unwrap();
        assert_eq!(
            reply.grpc_status().as_deref(),
            Some("0"),
            "{headers:?}: {reply:?}"
        );
        assert_eq!(reply.messages[0].text, "in time", "{headers:?}: {reply:?}");
    }
}

/// What the gateway answers itself to a gRPC client is gRPC: trailers-only, HTTP 200, with the
/// `grpc-status` Envoy maps the HTTP status to (no route → UNIMPLEMENTED, no upstream →
/// UNAVAILABLE).
#[tokio::test]
async fn gateway_errors_reach_grpc_clients_as_grpc_statuses() {
    const HOST: &str = "grpc.example.com";
    const DOWN: &str = "down.example.com";
    let backend = GrpcServer::start("grpc");
    let cert = TestCert::new(&[HOST]);
    let config = grpc_config(&backend, HOST, &cert);
    let closed = gantry_tests::ports::closed_port();
    config.write_mcpbridge(&[
        Registry::dns("grpc", "127.0.0.1", backend.port()),
        Registry::dns("down", "127.0.0.1", closed.port()),
    ]);
    config.write_ingress(
        &Ingress::host_route("down", DOWN, "down.dns")
            .annotation("higress.io/backend-protocol", "GRPC"),
    );
    let gw = Gantry::start(config).await;
    let port = gw.http_port();
    eventually_grpc(|| GrpcClient::h2c(port, HOST)).await;

    for (host, status, what) in [
        (DOWN, "14", "upstream refusing connections"),
        ("nowhere.example.com", "12", "no route"),
    ] {
        let mut client = GrpcClient::h2c(port, host).await.unwrap();
        let reply = client
            .unary(UNARY, &EchoMessage::new("hello"))
            .await
            .unwrap();
        assert_eq!(reply.http_status, 200, "{what}: {reply:?}");
        assert_eq!(
            reply.headers.get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/grpc"[..]),
            "{what}: {reply:?}"
        );
        assert_eq!(
            reply.grpc_status().as_deref(),
            Some(status),
            "{what}: {reply:?}"
        );
        assert!(
            reply.grpc_message().is_some_and(|m| !m.is_empty()),
            "{what}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn grpc_over_tls_with_grpc_backend_protocol() {
    const HOST: &str = "grpc.example.com";
    let backend = GrpcServer::start("grpc");
    let cert = TestCert::new(&[HOST]);
    let gw = Gantry::builder()
        .https(true)
        .start(grpc_config(&backend, HOST, &cert))
        .await;
    let port = gw.https_port();
    let tls = TlsClient::new(&[&cert]).alpn(&["h2"]);
    let tls = &tls;
    let mut client = eventually_grpc(|| async move {
        let stream = tls.connect(port, HOST).await?;
        if alpn_of(&stream).as_deref() != Some("h2") {
            return Err(format!("ALPN: {:?}", alpn_of(&stream)));
        }
        GrpcClient::over(stream, "https", HOST).await
    })
    .await;
    check_grpc(&mut client, "TLS").await;
}

#[tokio::test]
async fn grpc_via_mcpbridge_registry_protocol() {
    const HOST: &str = "grpc.example.com";
    let backend = GrpcServer::start("grpc");
    let config = ConfigDir::new();
    // No annotation: the registry says `protocol: grpc`.
    let bridge = config::mcpbridge(&[Registry::dns("grpc", "127.0.0.1", backend.port())])
        .replace("    name: grpc\n", "    name: grpc\n    protocol: grpc\n");
    config.write("mcpbridges/default.yaml", &bridge);
    config.write_ingress(&Ingress::host_route("grpc", HOST, "grpc.dns"));
    let gw = Gantry::start(config).await;
    let port = gw.http_port();
    let mut client = eventually_grpc(|| GrpcClient::h2c(port, HOST)).await;
    check_grpc(&mut client, "h2c, registry protocol grpc").await;
}

#[tokio::test]
async fn https_upstream_without_and_with_verification() {
    let backend_cert = TestCert::new(&["backend.internal"]);
    let backend = HttpsEchoServer::start("secure", &backend_cert);
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::dns("secure", "127.0.0.1", backend.port())]);
    let https = |name: &str, host: &str| {
        Ingress::host_route(name, host, "secure.dns")
            .annotation("higress.io/backend-protocol", "HTTPS")
    };
    config.write_ingress(&https("plain", "up.example.com"));
    config.write_ingress(
        &https("sni", "up-sni.example.com")
            .annotation("higress.io/proxy-ssl-server-name", "on")
            .annotation("higress.io/proxy-ssl-name", "backend.internal"),
    );
    config.write_ingress(
        &https("verify", "up-verify.example.com")
            .annotation("higress.io/proxy-ssl-verify", "on")
            .annotation("higress.io/proxy-ssl-server-name", "on")
            .annotation("higress.io/proxy-ssl-name", "backend.internal"),
    );
    let gw = Gantry::start(config).await;
    let client = gw.client();

    // Not verified by default: the self-signed certificate is accepted.
    let reply = client
        .eventually_backend("up.example.com", "/get", "secure")
        .await;
    let seen = reply.json();
    assert_eq!(seen["path"], "/get", "{seen}");
    assert_eq!(seen["host"], "up.example.com", "{seen}");

    // proxy-ssl-server-name + proxy-ssl-name set the SNI the backend sees.
    let reply = client
        .eventually_backend("up-sni.example.com", "/get", "secure")
        .await;
    assert_eq!(
        reply.json()["sni"],
        "backend.internal",
        "{}",
        reply.summary()
    );

    // proxy-ssl-verify: the untrusted certificate fails the request.
    let handshakes = backend.handshakes();
    let reply = client.get("up-verify.example.com", "/get").await.unwrap();
    assert!(
        matches!(reply.status.as_u16(), 502 | 503),
        "proxy-ssl-verify on with an untrusted upstream certificate must fail with 502/503; got {}",
        reply.summary()
    );
    assert_eq!(reply.echo_name(), None, "{}", reply.summary());
    assert_eq!(
        backend.handshakes(),
        handshakes,
        "no TLS session may complete with an untrusted backend"
    );
}

#[tokio::test]
async fn https_upstream_via_mcpbridge_registry_protocol() {
    let backend_cert = TestCert::new(&["backend.internal"]);
    let backend = HttpsEchoServer::start("secure", &backend_cert);
    let config = ConfigDir::new();
    let bridge = config::mcpbridge(&[Registry::dns("secure", "127.0.0.1", backend.port())])
        .replace(
            "    name: secure\n",
            "    name: secure\n    protocol: https\n    sni: backend.internal\n",
        );
    config.write("mcpbridges/default.yaml", &bridge);
    config.write_ingress(&Ingress::host_route("reg", "reg.example.com", "secure.dns"));
    let gw = Gantry::start(config).await;
    let reply = gw
        .client()
        .eventually_backend("reg.example.com", "/get", "secure")
        .await;
    assert_eq!(
        reply.json()["sni"],
        "backend.internal",
        "{}",
        reply.summary()
    );
}

/// `proxy-ssl-secret`: Gantry presents the Secret's certificate to an upstream that demands
/// one, and with `proxy-ssl-verify` trusts the upstream through the Secret's `ca.crt`.
#[tokio::test]
async fn https_upstream_with_client_certificate_and_ca() {
    let (server_ca, server_issuer) = TestCert::authority("upstream server ca");
    let (client_ca, client_issuer) = TestCert::authority("gateway client ca");
    let backend_cert = TestCert::server_signed_by(&["backend.internal"], &server_issuer);
    let gateway_cert = TestCert::client_signed_by("gantry", &client_issuer);
    let backend = HttpsEchoServer::start_mtls("mtls", &backend_cert, &client_ca);
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::dns("mtls", "127.0.0.1", backend.port())]);
    let b64 = |pem: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pem);
    config.write(
        "secrets/upstream-id.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: upstream-id\ndata:\n  tls.crt: {}\n  tls.key: {}\n  ca.crt: {}\n",
            b64(&gateway_cert.cert_pem),
            b64(&gateway_cert.key_pem),
            b64(&server_ca.cert_pem)
        ),
    );
    let https = |name: &str, host: &str| {
        Ingress::host_route(name, host, "mtls.dns")
            .annotation("higress.io/backend-protocol", "HTTPS")
            .annotation("higress.io/proxy-ssl-server-name", "on")
            .annotation("higress.io/proxy-ssl-name", "backend.internal")
    };
    config.write_ingress(
        &https("with-id", "id.example.com")
            .annotation("higress.io/proxy-ssl-secret", "upstream-id")
            .annotation("higress.io/proxy-ssl-verify", "on"),
    );
    config.write_ingress(&https("without-id", "anon.example.com"));
    let gw = Gantry::start(config).await;
    let client = gw.client();

    let reply = client
        .eventually_backend("id.example.com", "/get", "mtls")
        .await;
    assert_eq!(
        reply.json()["sni"],
        "backend.internal",
        "{}",
        reply.summary()
    );

    let reply = client.get("anon.example.com", "/get").await.unwrap();
    assert!(
        matches!(reply.status.as_u16(), 502 | 503),
        "an upstream demanding a client certificate must refuse a gateway without one; got {}",
        reply.summary()
    );
}
