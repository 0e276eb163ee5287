//! HTTP/1.1 conformance over raw TCP (RFC 9112): pipelined requests are all answered, in
//! order, on the same connection; a request without headers shorter than the HTTP/2 preface
//! is answered on the h2c-enabled port; HTTP/1.1 without `Host` gets 400 (HTTP/1.0 may omit
//! it); repeated identical `Content-Length` values reach the backend as one, differing ones
//! get 400 and never reach it; request heads of many sizes, split at random points, arrive
//! whole, and so do response bodies of many sizes, sent with their head or after it; upstream
//! connections are reused exactly when the response allows it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use gantry_tests::backend::{read_request_head, Background};
use gantry_tests::http1::Http1;
use gantry_tests::raw_tcp::{connect, excerpt, exchange, statuses, Ending};
use gantry_tests::{ConfigDir, EchoServer, Gantry, Ingress, Path, Registry};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The host routed to the echo backend.
const HOST: &str = "echo.example.com";

/// How long a raw exchange waits for the gateway to answer and close.
const WAIT: Duration = Duration::from_secs(10);

/// A gateway with `HOST` and the host-less prefix `/any` routed to `echo`.
async fn gateway(echo: &EchoServer) -> Gantry {
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("echo", echo.addr())]);
    config.write_ingress(&Ingress::host_route("echo", HOST, "echo.static"));
    config.write_ingress(&Ingress::route(
        "any-host",
        None,
        Path::prefix("/any"),
        "echo.static",
    ));
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend(HOST, "/get", "echo").await;
    gw
}

#[tokio::test]
async fn pipelined_requests_are_all_answered_in_order() {
    let echo = EchoServer::start("echo");
    let gw = gateway(&echo).await;
    echo.take_requests();
    let pipeline = format!(
        "GET /get?n=1 HTTP/1.1\r\nHost: {HOST}\r\n\r\n\
         POST /post?n=2 HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\n\r\nhello\
         GET /get?n=3 HTTP/1.1\r\nHost: nowhere.invalid\r\n\r\n\
         GET /get?n=4 HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
    );
    let mut stream = connect(gw.http_port()).await;
    stream.write_all(pipeline.as_bytes()).await.unwrap();
    let mut conn = Http1::new(stream);
    let mut seen = Vec::new();
    for n in 1..=4 {
        let reply = conn
            .read_reply()
            .await
            .unwrap_or_else(|e| panic!("reply {n} of 4 ({seen:?} so far): {e}"));
        let arg = match reply.status {
            200 => reply.json()["args"]["n"].as_str().unwrap_or("?").to_owned(),
            _ => "-".to_owned(),
        };
        seen.push((reply.status, arg));
    }
    let want = [(200, "1"), (200, "2"), (404, "-"), (200, "4")];
    let want: Vec<(u16, String)> = want.iter().map(|(s, n)| (*s, n.to_string())).collect();
    assert_eq!(seen, want, "replies (status, args.n) in order");
    // The same connection serves a fifth request afterwards.
    let fifth = conn.get(HOST, "/get?n=5").await.unwrap();
    assert_eq!(fifth.status, 200, "{}", fifth.summary());
    let paths: Vec<(String, String, String)> = echo
        .take_requests()
        .into_iter()
        .map(|r| (r.body_text(), r.method, r.query))
        .map(|(b, m, q)| (m, q, b))
        .collect();
    let want: Vec<(String, String, String)> = [
        ("GET", "n=1", ""),
        ("POST", "n=2", "hello"),
        ("GET", "n=4", ""),
        ("GET", "n=5", ""),
    ]
    .iter()
    .map(|(m, q, b)| (m.to_string(), q.to_string(), b.to_string()))
    .collect();
    assert_eq!(paths, want, "what the backend received, in order");
}

#[tokio::test]
async fn requests_shorter_than_the_h2_preface_are_answered() {
    let echo = EchoServer::start("echo");
    let gw = gateway(&echo).await;
    for request in [
        &b"GET / HTTP/1.0\r\n\r\n"[..],
        b"GET /any HTTP/1.0\r\n\r\n",
        b"PUT /any HTTP/1.0\r\n\r\n",
    ] {
        let ending = exchange(gw.http_port(), request, WAIT).await;
        let got = statuses(ending.bytes());
        assert!(
            matches!(ending, Ending::Closed(_)) && got.len() == 1,
            "{:?}: want one answer and a close, got {ending:?} ({})",
            String::from_utf8_lossy(request),
            excerpt(ending.bytes())
        );
    }
}

#[tokio::test]
async fn host_is_required_from_http_1_1_only() {
    let echo = EchoServer::start("echo");
    let gw = gateway(&echo).await;
    echo.take_requests();
    // HTTP/1.0 without Host reaches the host-less route.
    let ending = exchange(gw.http_port(), b"GET /any/ten HTTP/1.0\r\n\r\n", WAIT).await;
    assert_eq!(
        statuses(ending.bytes()),
        [200],
        "{}",
        excerpt(ending.bytes())
    );
    // HTTP/1.1 without Host is rejected before routing, in origin and absolute form.
    for request in [
        "GET /any/eleven HTTP/1.1\r\nUser-Agent: raw\r\n\r\n".to_owned(),
        format!("GET http://{HOST}/any/absolute HTTP/1.1\r\nUser-Agent: raw\r\n\r\n"),
    ] {
        let ending = exchange(gw.http_port(), request.as_bytes(), WAIT).await;
        assert_eq!(
            statuses(ending.bytes()),
            [400],
            "{request:?}: {}",
            excerpt(ending.bytes())
        );
    }
    let paths: Vec<String> = echo.take_requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/any/ten"], "requests the backend received");
}

#[tokio::test]
async fn identical_content_lengths_are_forwarded_as_one() {
    let echo = EchoServer::start("echo");
    let gw = gateway(&echo).await;
    for (what, lengths) in [
        ("a comma list", "Content-Length: 5, 5\r\n"),
        ("two lines", "Content-Length: 5\r\nContent-Length: 5\r\n"),
        (
            "a list and a line",
            "Content-Length: 5,5\r\ncontent-length: 5\r\n",
        ),
    ] {
        echo.take_requests();
        let request = format!(
            "POST /post HTTP/1.1\r\nHost: {HOST}\r\n{lengths}Connection: close\r\n\r\nhello"
        );
        let ending = exchange(gw.http_port(), request.as_bytes(), WAIT).await;
        assert_eq!(
            statuses(ending.bytes()),
            [200],
            "{what}: {}",
            excerpt(ending.bytes())
        );
        let seen = echo.take_requests();
        assert_eq!(seen.len(), 1, "{what}: backend requests");
        let lengths: Vec<&str> = seen[0]
            .headers
            .iter()
            .filter(|(n, _)| n == "content-length")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(
            lengths,
            ["5"],
            "{what}: Content-Length headers the backend saw"
        );
        assert_eq!(seen[0].body_text(), "hello", "{what}: body");
    }
}

#[tokio::test]
async fn differing_content_lengths_are_rejected() {
    let echo = EchoServer::start("echo");
    let gw = gateway(&echo).await;
    echo.take_requests();
    for (what, lengths) in [
        ("a comma list", "Content-Length: 5, 6\r\n"),
        ("two lines", "Content-Length: 5\r\nContent-Length: 6\r\n"),
    ] {
        let request = format!(
            "POST /post HTTP/1.1\r\nHost: {HOST}\r\n{lengths}\r\nhello!GET /get HTTP/1.1\r\n"
        );
        let ending = exchange(gw.http_port(), request.as_bytes(), WAIT).await;
        assert_eq!(
            statuses(ending.bytes()),
            [400],
            "{what}: {}",
            excerpt(ending.bytes())
        );
        assert!(
            matches!(ending, Ending::Closed(_)),
            "{what}: the connection stays open after a framing error"
        );
    }
    assert_eq!(
        echo.take_requests().len(),
        0,
        "requests that reached the backend"
    );
}

#[tokio::test]
async fn request_heads_of_every_size_and_split_arrive_whole_on_one_connection() {
    // The header buffer starts empty and grows once a request has begun (pingora-core
    // GANTRY-PATCH.md): heads around its first 64-byte read and its 4 KiB reserve, sent in
    // pieces split at seeded pseudo-random points, each answered in turn on one connection.
    let echo = EchoServer::start("echo");
    let gw = gateway(&echo).await;
    echo.take_requests();
    let mut conn = Http1::new(connect(gw.http_port()).await);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize + 1
    };
    let sizes = [0, 10, 20, 21, 30, 200, 2000, 4000, 4040, 4100, 6000];
    for (n, pad) in sizes.iter().enumerate() {
        let head = format!(
            "GET /get?n={n} HTTP/1.1\r\nHost: {HOST}\r\nX-Pad: {}\r\n\r\n",
            "p".repeat(*pad)
        );
        let bytes = head.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let end = (at + next(100)).min(bytes.len());
            conn.write_raw(&bytes[at..end]).await.unwrap();
            if next(4) == 1 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            at = end;
        }
        let reply = conn
            .read_reply()
            .await
            .unwrap_or_else(|e| panic!("head of {} bytes: {e}", bytes.len()));
        assert_eq!(
            reply.status,
            200,
            "head of {} bytes: {}",
            bytes.len(),
            reply.summary()
        );
        assert_eq!(reply.json()["args"]["n"], n.to_string());
    }
    let pads: Vec<usize> = echo
        .take_requests()
        .iter()
        .map(|r| {
            r.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("x-pad"))
                .map_or(usize::MAX, |(_, v)| v.len())
        })
        .collect();
    assert_eq!(
        pads,
        sizes.to_vec(),
        "every X-Pad reached the backend whole"
    );
}

/// Body byte `i` of the sized-body backend's answers.
fn body_byte(i: usize) -> u8 {
    b'a' + (i % 26) as u8
}

#[tokio::test]
async fn response_bodies_of_every_size_arrive_whole_however_they_are_sent() {
    // The upstream body buffer is sized by Content-Length (pingora-core GANTRY-PATCH.md):
    // bodies around its 64 KiB cap, sent with the response head or after it in pieces, must
    // all arrive whole, one after another on the same upstream connection.
    let backend = Background::spawn("sized", |mut tcp: TcpStream| async move {
        let mut buf = Vec::new();
        while let Some(head) = read_request_head(&mut tcp, &mut buf).await {
            // `/sized/<bytes>/<with|after>`
            let mut parts = head.target.trim_start_matches('/').split('/').skip(1);
            let len: usize = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let after = parts.next() == Some("after");
            let body: Vec<u8> = (0..len).map(body_byte).collect();
            let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {len}\r\n\r\n");
            let sent = if after {
                let (first, second) = body.split_at(len / 3);
                let mut ok = tcp.write_all(head.as_bytes()).await.is_ok();
                for piece in [first, second] {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    ok = ok && tcp.write_all(piece).await.is_ok();
                }
                ok
            } else {
                tcp.write_all(&[head.as_bytes(), &body].concat())
                    .await
                    .is_ok()
            };
            if !sent {
                return;
            }
        }
    });
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("sized", backend.addr())]);
    config.write_ingress(&Ingress::host_route("sized", HOST, "sized.static"));
    let gw = Gantry::start(config).await;
    let client = gw.client();
    client.eventually_status(HOST, "/sized/1/with", 200).await;
    for len in [
        0, 1, 100, 4096, 65_535, 65_536, 65_537, 200_000, 1, 1_000_000, 7,
    ] {
        for how in ["with", "after"] {
            let reply = client
                .get(HOST, &format!("/sized/{len}/{how}"))
                .await
                .unwrap_or_else(|e| panic!("{len} bytes {how} the head: {e}"));
            assert_eq!(reply.status, 200, "{len} bytes {how} the head");
            let want: String = (0..len).map(|i| char::from(body_byte(i))).collect();
            assert!(
                reply.body == want,
                "{len} bytes {how} the head: got {} bytes",
                reply.body.len()
            );
        }
    }
}

#[tokio::test]
async fn upstream_connections_are_reused_only_when_the_response_allows_it() {
    // RFC 9112 section 9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 only with
    // `Connection: keep-alive`. The gateway decides after the response head was handed on
    // (pingora-core GANTRY-PATCH.md), so the decision must survive that hand-over.
    let connections = Arc::new(AtomicUsize::new(0));
    let reused_after_close = Arc::new(AtomicUsize::new(0));
    let (opened, broken) = (connections.clone(), reused_after_close.clone());
    let backend = Background::spawn("keepalive", move |mut tcp: TcpStream| {
        let (opened, broken) = (opened.clone(), broken.clone());
        async move {
            opened.fetch_add(1, Ordering::SeqCst);
            let mut buf = Vec::new();
            let mut said_close = false;
            while let Some(head) = read_request_head(&mut tcp, &mut buf).await {
                if said_close {
                    broken.fetch_add(1, Ordering::SeqCst);
                }
                // `/keepalive/<variant>`
                let (version, connection) = match head.target.rsplit('/').next() {
                    Some("http11") => ("1.1", ""),
                    Some("http11-close") => ("1.1", "connection: close\r\n"),
                    Some("http10") => ("1.0", ""),
                    Some("http10-keepalive") => (
                        "1.0",
                        "connection: keep-alive\r\nkeep-alive: timeout=30\r\n",
                    ),
                    _ => ("1.1", "connection: close\r\n"),
                };
                said_close = connection.is_empty() && version == "1.0"
                    || connection.starts_with("connection: close");
                let reply =
                    format!("HTTP/{version} 200 OK\r\n{connection}content-length: 2\r\n\r\nok");
                if tcp.write_all(reply.as_bytes()).await.is_err() {
                    return;
                }
            }
        }
    });
    let config = ConfigDir::new();
    config.write_mcpbridge(&[Registry::fixed("keepalive", backend.addr())]);
    config.write_ingress(&Ingress::host_route("keepalive", HOST, "keepalive.static"));
    let gw = Gantry::start(config).await;
    let client = gw.client();
    client
        .eventually_status(HOST, "/keepalive/http11", 200)
        .await;

    for (variant, persists) in [
        ("http11", true),
        ("http11-close", false),
        ("http10", false),
        ("http10-keepalive", true),
        ("http11", true),
    ] {
        let before = connections.load(Ordering::SeqCst);
        for _ in 0..4 {
            let reply = client
                .get(HOST, &format!("/keepalive/{variant}"))
                .await
                .unwrap_or_else(|e| panic!("{variant}: {e}"));
            assert_eq!(reply.status, 200, "{variant}: {}", reply.summary());
        }
        let opened = connections.load(Ordering::SeqCst) - before;
        if persists {
            assert!(
                opened <= 1,
                "{variant}: 4 requests opened {opened} upstream connections, the response allows reuse"
            );
        } else {
            assert!(
                opened >= 3,
                "{variant}: 4 requests opened only {opened} upstream connections"
            );
        }
    }
    assert_eq!(
        reused_after_close.load(Ordering::SeqCst),
        0,
        "requests were sent on upstream connections the backend had closed for reuse"
    );
}
