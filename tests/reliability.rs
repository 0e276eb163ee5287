//! Reliability under upstream faults and hostile clients: backends that abort, refuse, hang,
//! stall or answer garbage; retries and passive endpoint skipping; slowloris, oversized
//! headers, request smuggling, malformed request lines and thousands of idle keep-alive
//! connections. After every fault the gateway must still be up and serving.
//!
//! Backends the echo server cannot play are raw TCP servers written here (on
//! [`Background`]). Zero-loss reloads under load live in `reload.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gantry_tests::backend::{read_request_head, Background};
use gantry_tests::echo::Recorded;
use gantry_tests::http1::Http1;
use gantry_tests::load::{assert_posts_seen_once, KeepAliveLoad};
use gantry_tests::tls::{ingress_with_tls, secret_file, TestCert, TlsClient};
use gantry_tests::{
    closed_port, eventually, Client, ConfigDir, EchoServer, Gantry, Ingress, Registry, Reply,
    DEADLINE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The body length the aborting backend announces; it sends only [`ABORT_SENT`] bytes.
const ABORT_LEN: usize = 1_000;
/// How many body bytes the aborting backend sends before closing.
const ABORT_SENT: usize = 100;

/// A raw backend whose behaviour depends on the request path:
///
/// - `/abort-body`: a 200 head announcing [`ABORT_LEN`] bytes, [`ABORT_SENT`] of them, close;
/// - `/garbage`: bytes that are not HTTP, then close;
/// - `/hang`: reads and never answers (until the gateway closes, which it counts);
/// - `/reset`: a TCP reset right after the request head;
/// - anything else: `200 ok` with `x-faulty: ok`, kept alive.
///
/// Every request target is recorded on arrival.
struct Faulty {
    server: Background,
    seen: Arc<Mutex<Vec<String>>>,
    hangs_closed: Arc<AtomicU64>,
}

impl Faulty {
    fn start(name: &str) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let hangs_closed = Arc::new(AtomicU64::new(0));
        let closes = hangs_closed.clone();
        let server = Background::spawn(name, move |mut stream: TcpStream| {
            let log = log.clone();
            let closes = closes.clone();
            async move {
                let mut buf = Vec::new();
                while let Some(head) = read_request_head(&mut stream, &mut buf).await {
                    log.lock().unwrap().push(head.target.clone());
                    match head.target.as_str() {
                        "/abort-body" => {
                            let head = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {ABORT_LEN}\r\ncontent-type: text/plain\r\n\r\n"
                            );
                            let _ = stream.write_all(head.as_bytes()).await;
                            let _ = stream.write_all(&[b'a'; ABORT_SENT]).await;
                            let _ = stream.flush().await;
                            return;
                        }
                        "/garbage" => {
                            let _ = stream
                                .write_all(
                                    b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 not http at all\r\n\r\n",
                                )
                                .await;
                            let _ = stream.flush().await;
                            return;
                        }
                        "/hang" => {
                            let mut sink = [0u8; 1024];
                            while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                            closes.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                        "/reset" => {
                            let _ = stream.set_zero_linger();
                            return;
                        }
                        _ => {
                            let reply =
                                b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-faulty: ok\r\n\r\nok";
                            if stream.write_all(reply).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        Self {
            server,
            seen,
            hangs_closed,
        }
    }

    /// How many `/hang` connections the gateway has closed so far.
    fn hangs_closed(&self) -> u64 {
        self.hangs_closed.load(Ordering::SeqCst)
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The request targets received so far, emptying the log.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// Writes `registries`, `ingresses` and optional `higress-config` options to a fresh config
/// dir and starts a gateway on it.
async fn start(registries: &[Registry], ingresses: &[Ingress], options: Option<&str>) -> Gantry {
    let config = ConfigDir::new();
    config.write_mcpbridge(registries);
    for ingress in ingresses {
        config.write_ingress(ingress);
    }
    if let Some(options) = options {
        config.write_higress_config(options);
    }
    Gantry::start(config).await
}

/// `GET <path>` on `host`, timed.
async fn timed_get(client: &Client, host: &str, path: &str) -> (Result<Reply, String>, Duration) {
    let started = Instant::now();
    let reply = client.get(host, path).await;
    (reply, started.elapsed())
}

/// Records a failure unless the faulty backend saw between one and `max` requests, all to
/// `path`: a fault is answered at once, not after a round of retries (the client's request
/// timeout bounds the rest).
fn attempts(what: &str, failures: &mut Vec<String>, seen: Vec<String>, path: &str, max: usize) {
    if seen.is_empty() || seen.len() > max || seen.iter().any(|p| p != path) {
        failures.push(format!(
            "{what}: want 1 to {max} upstream attempt(s) to {path}, the backend saw {seen:?}"
        ));
    }
}

/// Panics unless the gateway process is still running.
fn assert_alive(gw: &mut Gantry, what: &str) {
    if let Some(status) = gw.exit_status() {
        panic!("gantry exited ({status}) {what}");
    }
}

/// The end of a hostile-client test: the gateway is still up and serves a normal request
/// from the echo backend, and no case recorded a failure.
async fn finish_hostile(gw: &mut Gantry, after: &str, what: &str, failures: &[String]) {
    gw.client()
        .get(ECHO_HOST, "/get")
        .await
        .unwrap()
        .expect_backend("echo")
        .unwrap();
    assert_alive(gw, &format!("after {after}"));
    assert!(failures.is_empty(), "{what}:\n  {}", failures.join("\n  "));
}

/// Opens a TCP connection to the gateway.
async fn connect(gw: &Gantry) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", gw.http_port()))
        .await
        .expect("connect to gantry");
    stream.set_nodelay(true).expect("nodelay");
    stream
}

/// Writes `request` on a fresh connection and reads until the gateway closes it or, once it
/// has answered something, stays quiet for `quiet` (so a late second answer shows); returns
/// everything read and whether the gateway closed. The first answer is awaited up to
/// [`DEADLINE`]: a slow machine must not turn a late answer into "no answer".
async fn exchange(gw: &Gantry, request: &[u8], quiet: Duration) -> (Vec<u8>, bool) {
    let mut stream = connect(gw).await;
    stream.write_all(request).await.expect("write request");
    let mut out = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let wait = if out.is_empty() { DEADLINE } else { quiet };
        match tokio::time::timeout(wait, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&chunk[..n]),
            Err(_) => return (out, false),
        }
    }
}

/// The status codes of every response head in `bytes` (`HTTP/1.x NNN` at a line start).
fn statuses(bytes: &[u8]) -> Vec<u16> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest: &str = &text;
    while let Some(pos) = rest.find("HTTP/1.") {
        let at_line_start = pos == 0 || rest[..pos].ends_with('\n');
        let tail = &rest[pos..];
        if at_line_start {
            if let Some(code) = tail.get(9..12).and_then(|c| c.parse().ok()) {
                out.push(code);
            }
        }
        rest = &tail[7..];
    }
    out
}

/// Excerpt of raw bytes for failure messages.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    format!("{text:?}")
}

/// The `p`-th percentile (0..=100) of `samples`.
fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    samples.sort();
    let idx = (samples.len() * p).div_ceil(100).saturating_sub(1);
    samples[idx.min(samples.len() - 1)]
}

/// How many file descriptors process `pid` has open (Linux `/proc`).
fn open_fds(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(Iterator::count)
}

// ---------------------------------------------------------------------------
// 1. Upstream faults
// ---------------------------------------------------------------------------

#[tokio::test]
async fn upstream_faults_give_errors_at_once_and_the_gateway_stays_up() {
    const FAULTY: &str = "faulty.example.com";
    const TIMED: &str = "timed.example.com";
    const REFUSED: &str = "refused.example.com";
    const SLOW: &str = "slow.example.com";
    let faulty = Faulty::start("faulty");
    let slow = EchoServer::start("slow");
    let registries = [
        Registry::fixed("faulty", faulty.addr()),
        Registry::fixed("refused", closed_port()),
        Registry::fixed("slow", slow.addr()),
    ];
    let ingresses = [
        Ingress::host_route("faulty", FAULTY, "faulty.static"),
        Ingress::host_route("timed", TIMED, "faulty.static").annotation("higress.io/timeout", "1"),
        Ingress::host_route("refused", REFUSED, "refused.static"),
        Ingress::host_route("slow", SLOW, "slow.static"),
    ];
    let mut gw = start(&registries, &ingresses, None).await;
    let client = gw.client().clone();
    eventually(DEADLINE, || async {
        let reply = client.get(FAULTY, "/ok").await?.expect_status(200)?;
        match reply.headers.get("x-faulty") {
            Some(_) => Ok(()),
            None => Err(format!("not the faulty backend: {}", reply.summary())),
        }
    })
    .await;
    client.eventually_backend(SLOW, "/get", "slow").await;
    let mut failures = Vec::new();
    let ok_after =
        |what: &str, failures: &mut Vec<String>, reply: Result<Reply, String>| match reply {
            Ok(r) if r.status.as_u16() == 200 => {}
            Ok(r) => failures.push(format!("{what}: next request got {}", r.summary())),
            Err(e) => failures.push(format!("{what}: next request failed: {e}")),
        };

    // Closed mid-body: the client sees a short, aborted response.
    faulty.take();
    let mut conn = Http1::new(connect(&gw).await);
    conn.send_head("GET", FAULTY, "/abort-body", &[])
        .await
        .unwrap();
    let result = conn.read_reply().await;
    match &result {
        Ok(r) if r.body.len() == ABORT_LEN => failures.push(format!(
            "abort mid-body: the client got a complete {}-byte body (status {})",
            r.body.len(),
            r.status
        )),
        Ok(r) if r.status == 200 && r.body.len() > ABORT_SENT => failures.push(format!(
            "abort mid-body: {} body bytes, more than the {ABORT_SENT} sent",
            r.body.len()
        )),
        _ => {}
    }
    attempts(
        "abort mid-body",
        &mut failures,
        faulty.take(),
        "/abort-body",
        1,
    );
    ok_after(
        "abort mid-body",
        &mut failures,
        client.get(FAULTY, "/ok").await,
    );

    // Refused connections: 503.
    match client.get(REFUSED, "/get").await {
        Ok(r) if r.status.as_u16() == 503 => {}
        Ok(r) => failures.push(format!("refused: want 503, got {}", r.summary())),
        Err(e) => failures.push(format!("refused: {e}")),
    }

    // Accepted but never answered, `timeout: 1`: 504, no sooner than the timeout (the
    // backend never answers, so the 504 can only come from the timeout).
    faulty.take();
    let (reply, took) = timed_get(&client, TIMED, "/hang").await;
    match reply {
        Ok(r) if r.status.as_u16() == 504 && took >= Duration::from_millis(950) => {}
        Ok(r) => failures.push(format!(
            "hang with timeout 1: want 504 after at least 1 s, got {} after {took:?}",
            r.summary()
        )),
        Err(e) => failures.push(format!("hang with timeout 1: {e} after {took:?}")),
    }
    attempts("hang", &mut failures, faulty.take(), "/hang", 1);
    ok_after("hang", &mut failures, client.get(TIMED, "/ok").await);

    // Slow to first byte (2 s) without a timeout annotation: still served.
    let (reply, took) = timed_get(&client, SLOW, "/delay/2000").await;
    match reply {
        Ok(r) if r.status.as_u16() == 200 && r.echo_name() == Some("slow") => {}
        Ok(r) => failures.push(format!(
            "2 s first byte: want 200, got {} after {took:?}",
            r.summary()
        )),
        Err(e) => failures.push(format!("2 s first byte: {e} after {took:?}")),
    }

    // Not HTTP at all: 502, after one attempt.
    faulty.take();
    match client.get(FAULTY, "/garbage").await {
        Ok(r) if r.status.as_u16() == 502 => {}
        Ok(r) => failures.push(format!("garbage: want 502, got {}", r.summary())),
        Err(e) => failures.push(format!("garbage: {e}")),
    }
    attempts("garbage", &mut failures, faulty.take(), "/garbage", 1);
    ok_after("garbage", &mut failures, client.get(FAULTY, "/ok").await);

    // Reset before the response head: 503, after one attempt (and one more on a fresh
    // connection when the first went over a pooled one).
    faulty.take();
    match client.get(FAULTY, "/reset").await {
        Ok(r) if r.status.as_u16() == 503 => {}
        Ok(r) => failures.push(format!("reset: want 503, got {}", r.summary())),
        Err(e) => failures.push(format!("reset: {e}")),
    }
    attempts("reset", &mut failures, faulty.take(), "/reset", 2);
    ok_after("reset", &mut failures, client.get(FAULTY, "/ok").await);

    assert_alive(&mut gw, "after upstream faults");
    assert!(
        failures.is_empty(),
        "upstream fault cases failed:\n  {}",
        failures.join("\n  ")
    );
}

#[tokio::test]
async fn retries_obey_next_upstream_tries_on_resets() {
    const TWO: &str = "two.tries.example.com";
    const THREE: &str = "three.tries.example.com";
    const OFF: &str = "off.tries.example.com";
    let resetters: Vec<Faulty> = (0..4).map(|i| Faulty::start(&format!("r{i}"))).collect();
    let addrs: Vec<SocketAddr> = resetters.iter().map(Faulty::addr).collect();
    let ingresses = [
        Ingress::host_route("two", TWO, "resets.static")
            .annotation("higress.io/proxy-next-upstream-tries", "2")
            .annotation("higress.io/proxy-next-upstream", "error"),
        Ingress::host_route("three", THREE, "resets.static")
            .annotation("higress.io/proxy-next-upstream-tries", "3")
            .annotation("higress.io/proxy-next-upstream", "error"),
        Ingress::host_route("off", OFF, "resets.static")
            .annotation("nginx.ingress.kubernetes.io/proxy-next-upstream", "off"),
    ];
    let gw = start(&[Registry::pool("resets", &addrs)], &ingresses, None).await;
    let client = gw.client();
    for host in [TWO, THREE, OFF] {
        client.eventually_status(host, "/ok", 200).await;
    }
    let seen = || -> usize { resetters.iter().map(|r| r.take().len()).sum() };
    seen();
    let mut failures = Vec::new();
    for (host, tries) in [(TWO, 2), (THREE, 3), (OFF, 1)] {
        for i in 0..4 {
            // Even rounds first leave a kept-alive connection to every endpoint in the pool:
            // a reset on a reused connection is an attempt like any other.
            let warm = i % 2 == 0;
            if warm {
                for _ in 0..resetters.len() {
                    client
                        .get(host, "/ok")
                        .await
                        .unwrap()
                        .expect_status(200)
                        .unwrap();
                }
                seen();
            }
            let reply = client.get(host, "/reset").await;
            let n = seen();
            let status = reply.as_ref().map(|r| r.status.as_u16()).ok();
            if n != tries || status != Some(503) {
                failures.push(format!(
                    "{host} #{i} (warm pool: {warm}): want 503 after {tries} upstream attempt(s), got {:?} after {n} attempt(s)",
                    reply.map(|r| r.summary())
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "retry cases failed:\n  {}",
        failures.join("\n  ")
    );
}

#[tokio::test]
async fn a_closed_endpoint_among_three_loses_no_request() {
    const HOST: &str = "passive.example.com";
    const READY: &str = "ready.passive.example.com";
    let a = EchoServer::start("a");
    let b = EchoServer::start("b");
    let ready = EchoServer::start("ready");
    let registries = [
        Registry::pool("three", &[a.addr(), closed_port(), b.addr()]),
        Registry::fixed("ready", ready.addr()),
    ];
    let gw = start(
        &registries,
        &[
            Ingress::host_route("three", HOST, "three.static"),
            Ingress::host_route("ready", READY, "ready.static"),
        ],
        None,
    )
    .await;
    let client = gw.client();
    client.eventually_backend(READY, "/get", "ready").await;
    let mut failures = Vec::new();
    for i in 0..100 {
        match client.get(HOST, &format!("/get?i={i}")).await {
            Ok(r) if r.status.as_u16() == 200 && matches!(r.echo_name(), Some("a" | "b")) => {}
            Ok(r) => failures.push(format!("request {i}: {}", r.summary())),
            Err(e) => failures.push(format!("request {i}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of 100 requests failed with one endpoint closed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    assert!(a.hits() > 0 && b.hits() > 0, "both live endpoints serve");
    // Each request reached a live endpoint exactly once: connect failures were retried, and
    // nothing else was.
    let mut seen: Vec<String> = a
        .requests()
        .into_iter()
        .chain(b.requests())
        .map(|r| r.query)
        .collect();
    seen.sort();
    let mut want: Vec<String> = (0..100).map(|i| format!("i={i}")).collect();
    want.sort();
    assert_eq!(seen, want, "requests the live endpoints saw");
}

// ---------------------------------------------------------------------------
// 2. Hostile clients
// ---------------------------------------------------------------------------

const ECHO_HOST: &str = "echo.example.com";

/// An echo backend `name` behind `ECHO_HOST`, with `options` in `higress-config`.
/// A client that hangs up while its bodiless request waits on a silent upstream ends that
/// upstream request at once (the gateway watches the client while it waits), instead of
/// holding the upstream connection until a timeout that may never come.
#[tokio::test]
async fn a_client_hanging_up_ends_its_upstream_request_at_once() {
    const FAULTY: &str = "faulty.example.com";
    let faulty = Faulty::start("faulty");
    let gw = start(
        &[Registry::fixed("faulty", faulty.addr())],
        &[Ingress::host_route("faulty", FAULTY, "faulty.static")],
        None,
    )
    .await;
    let client = gw.client().clone();
    eventually(DEADLINE, || async {
        client
            .get(FAULTY, "/ok")
            .await?
            .expect_status(200)
            .map(|_| ())
    })
    .await;
    faulty.take();

    for round in 1..=3u64 {
        let mut stream = connect(&gw).await;
        let request = format!("GET /hang HTTP/1.1\r\nhost: {FAULTY}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        eventually(DEADLINE, || async {
            match faulty.take().iter().any(|t| t == "/hang") {
                true => Ok(()),
                false => Err("the request has not reached the backend".to_owned()),
            }
        })
        .await;
        assert_eq!(faulty.hangs_closed(), round - 1);
        drop(stream);
        eventually(Duration::from_secs(5), || async {
            match faulty.hangs_closed() {
                n if n == round => Ok(()),
                n => Err(format!(
                    "{n} of {round} upstream requests ended after their client left"
                )),
            }
        })
        .await;
    }
    // The gateway still serves.
    client
        .get(FAULTY, "/ok")
        .await
        .unwrap()
        .expect_status(200)
        .unwrap();
}

async fn echo_gateway(echo: &EchoServer, options: Option<&str>) -> Gantry {
    let gw = start(
        &[Registry::fixed("echo", echo.addr())],
        &[Ingress::host_route("echo", ECHO_HOST, "echo.static")],
        options,
    )
    .await;
    gw.client()
        .eventually_backend(ECHO_HOST, "/get", echo.name())
        .await;
    gw
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_does_not_starve_normal_clients() {
    const LORIS: usize = 50;
    let echo = EchoServer::start("echo");
    let mut gw = echo_gateway(&echo, None).await;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let mut loris = JoinSet::new();
    for i in 0..LORIS {
        let mut stream = connect(&gw).await;
        let (stop, sent) = (stop.clone(), sent.clone());
        loris.spawn(async move {
            let head = format!("GET /loris/{i} HTTP/1.1\r\nHost: {ECHO_HOST}\r\nX-Loris: ");
            for byte in head.bytes().chain(std::iter::repeat(b'a')) {
                if stop.load(Ordering::Relaxed) {
                    return true;
                }
                if stream.write_all(&[byte]).await.is_err() {
                    return false;
                }
                sent.fetch_add(1, Ordering::Relaxed);
                // The trickle is the attack itself (a byte every 50 ms), not a wait for an event.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            true
        });
    }
    // Let every slow client get its head started.
    eventually(DEADLINE, || async {
        let n = sent.load(Ordering::Relaxed);
        if n >= (LORIS * 10) as u64 {
            Ok(())
        } else {
            Err(format!("{n} slowloris bytes sent"))
        }
    })
    .await;

    let client = Client::new(gw.http_port());
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    let trickled_before = sent.load(Ordering::Relaxed);
    for i in 0..100 {
        let (reply, took) = timed_get(&client, ECHO_HOST, &format!("/get?i={i}")).await;
        latencies.push(took);
        match reply {
            Ok(r) if r.status.as_u16() == 200 => {}
            Ok(r) => failures.push(format!("request {i}: {}", r.summary())),
            Err(e) => failures.push(format!("request {i}: {e}")),
        }
    }
    // The slow clients kept trickling while the normal requests were served.
    let trickled = sent.load(Ordering::Relaxed) - trickled_before;
    stop.store(true, Ordering::Relaxed);
    let mut still_open = 0;
    while let Some(open) = loris.join_next().await {
        still_open += usize::from(open.unwrap());
    }
    let p99 = percentile(&mut latencies, 99);
    let p50 = percentile(&mut latencies, 50);
    eprintln!(
        "slowloris: p50 {p50:?}, p99 {p99:?}, {still_open}/{LORIS} slow connections still open"
    );
    assert!(
        failures.is_empty(),
        "requests failed next to {LORIS} slowloris connections:\n  {}",
        failures.join("\n  ")
    );
    assert!(
        trickled > 0,
        "the normal requests must be served while the slow clients trickle; none trickled \
         meanwhile ({still_open} of {LORIS} slow connections still open at the end)"
    );
    assert!(
        echo.requests()
            .iter()
            .all(|r| !r.path.starts_with("/loris")),
        "an unfinished request head reached the backend"
    );
    assert_alive(&mut gw, "after slowloris");
}

#[tokio::test]
async fn oversized_headers_get_431() {
    let echo = EchoServer::start("echo");
    let mut gw = echo_gateway(&echo, Some("downstream:\n  maxRequestHeadersKb: 2")).await;
    let before = echo.hits();
    let mut failures = Vec::new();
    for (what, pad) in [
        ("one 3 KB header", "x".repeat(3 * 1024)),
        ("one 64 KB header", "x".repeat(64 * 1024)),
    ] {
        let request = format!("GET /get HTTP/1.1\r\nHost: {ECHO_HOST}\r\nX-Pad: {pad}\r\n\r\n");
        let (bytes, _) = exchange(&gw, request.as_bytes(), Duration::from_secs(2)).await;
        if statuses(&bytes).first() != Some(&431) {
            failures.push(format!("{what}: want 431, got {}", excerpt(&bytes)));
        }
    }
    // Many small headers adding up past the limit.
    let many: String = (0..100)
        .map(|i| format!("X-H{i}: {}\r\n", "v".repeat(40)))
        .collect();
    let request = format!("GET /get HTTP/1.1\r\nHost: {ECHO_HOST}\r\n{many}\r\n");
    let (bytes, _) = exchange(&gw, request.as_bytes(), Duration::from_secs(2)).await;
    if statuses(&bytes).first() != Some(&431) {
        failures.push(format!(
            "100 x 50-byte headers: want 431, got {}",
            excerpt(&bytes)
        ));
    }
    if echo.hits() != before {
        failures.push(format!(
            "{} oversized request(s) reached the backend",
            echo.hits() - before
        ));
    }
    finish_hostile(&mut gw, "oversized headers", "oversized headers", &failures).await;
}

#[tokio::test]
async fn smuggling_attempts_are_rejected_and_never_split() {
    let echo = EchoServer::start("echo");
    let mut gw = echo_gateway(&echo, None).await;
    let smuggled = format!("GET /smuggled HTTP/1.1\r\nHost: {ECHO_HOST}\r\n\r\n");
    let cases = [
        (
            "CL + TE: chunked",
            format!(
                "POST /post HTTP/1.1\r\nHost: {ECHO_HOST}\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}",
                5 + smuggled.len()
            ),
        ),
        (
            "TE: chunked + CL",
            format!(
                "POST /post HTTP/1.1\r\nHost: {ECHO_HOST}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n{smuggled}"
            ),
        ),
        (
            "duplicate differing CL",
            format!(
                "POST /post HTTP/1.1\r\nHost: {ECHO_HOST}\r\nContent-Length: 0\r\nContent-Length: {}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
        ),
        (
            "CL list with differing values",
            format!(
                "POST /post HTTP/1.1\r\nHost: {ECHO_HOST}\r\nContent-Length: 0, {}\r\n\r\n{smuggled}",
                smuggled.len()
            ),
        ),
    ];
    let quiet = Duration::from_millis(1_500);
    let runs = futures_util::future::join_all(
        cases
            .iter()
            .map(|(_, request)| exchange(&gw, request.as_bytes(), quiet)),
    )
    .await;
    let mut failures = Vec::new();
    for ((what, request), (bytes, closed)) in cases.iter().zip(runs) {
        let got = statuses(&bytes);
        // RFC 9112 §6.1 also lets a server read the body as chunked (ignoring
        // Content-Length) if it closes the connection afterwards; allowed here when the
        // backend saw one request without Content-Length (checked below).
        let rejected = got == [400] || (got.is_empty() && closed) || (got == [200] && closed);
        if !rejected {
            failures.push(format!(
                "{what}: want 400 (or a closed connection), got statuses {got:?}, closed {closed}; request {request:?}; reply {}",
                excerpt(&bytes)
            ));
        }
    }
    let forwarded: Vec<Recorded> = echo
        .requests()
        .into_iter()
        .filter(|r| r.path != "/get" && !r.path.starts_with("/a%"))
        .collect();
    let described: Vec<String> = forwarded
        .iter()
        .map(|r| {
            format!(
                "{} {} {:?} body {:?}",
                r.method,
                r.path,
                r.headers,
                r.body_text()
            )
        })
        .collect();
    if forwarded.iter().any(|r| r.path != "/post") {
        failures.push(format!(
            "a smuggled request reached the backend: {described:?}"
        ));
    }
    if forwarded
        .iter()
        .any(|r| r.header("content-length").is_some())
    {
        failures.push(format!(
            "an ambiguous request was forwarded with its Content-Length: {described:?}"
        ));
    }
    if forwarded.len() > 2 {
        failures.push(format!(
            "more than the two CL + TE requests were forwarded: {described:?}"
        ));
    }
    finish_hostile(&mut gw, "smuggling attempts", "smuggling", &failures).await;
}

#[tokio::test]
async fn malformed_request_lines_are_rejected_or_escaped() {
    let echo = EchoServer::start("echo");
    let mut gw = echo_gateway(&echo, None).await;
    // A request with this request line and a Host header.
    let request = |line: &str| format!("{line}\r\nHost: {ECHO_HOST}\r\n\r\n").into_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("method with (", request("G(T /get HTTP/1.1")),
        ("method with @", request("GE@T /get HTTP/1.1")),
        ("empty method", request(" /get HTTP/1.1")),
        ("relative path", request("GET foo HTTP/1.1")),
        (
            "control char in path (escaped)",
            request("GET /a\x01b HTTP/1.1"),
        ),
        ("DEL in path (escaped)", request("GET /a\x7fb HTTP/1.1")),
        ("space in path (escaped)", request("GET /a b HTTP/1.1")),
        ("NUL in path (escaped)", request("GET /a\x00b HTTP/1.1")),
        ("bad version", request("GET /get HTTP/9.9")),
        (
            "TLS-like junk",
            [
                &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
                &[0xaa; 30],
                b"\r\n\r\n",
            ]
            .concat(),
        ),
    ];
    let quiet = Duration::from_millis(1_500);
    let runs = futures_util::future::join_all(
        cases
            .iter()
            .map(|(_, request)| exchange(&gw, request, quiet)),
    )
    .await;
    let mut failures = Vec::new();
    for ((what, request), (bytes, closed)) in cases.iter().zip(runs) {
        let got = statuses(&bytes);
        // Pingora percent-encodes a few illegal bytes in the target (as nginx tolerates
        // them); such requests may be served, but only ever in escaped form (checked below).
        let escaped_ok = what.ends_with("(escaped)") && got == [200];
        if got != [400] && !escaped_ok {
            failures.push(format!(
                "{what}: want 400, got statuses {got:?}, closed {closed}; request {:?}; reply {}",
                String::from_utf8_lossy(request),
                excerpt(&bytes)
            ));
        }
    }
    let forwarded: Vec<String> = echo
        .requests()
        .iter()
        .filter(|r| r.path != "/get" && !r.path.starts_with("/a%"))
        .map(|r| format!("{} {:?}", r.method, r.path))
        .collect();
    if !forwarded.is_empty() {
        failures.push(format!(
            "malformed requests reached the backend: {forwarded:?}"
        ));
    }
    finish_hostile(
        &mut gw,
        "malformed requests",
        "malformed requests",
        &failures,
    )
    .await;
}

/// How many idle keep-alive connections to hold open: 10k as the issue asks, fewer when the
/// soft open-file limit (shared by this process and the gateway it spawns) is lower.
fn idle_target() -> usize {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|line| line.starts_with("Max open files"))
                .and_then(|line| line.split_whitespace().nth(3).map(str::to_string))
        })
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1024);
    let target = 10_000.min(soft.saturating_sub(1_000));
    if target < 10_000 {
        eprintln!("open-file limit {soft}: holding {target} idle connections instead of 10000");
    }
    target.max(100)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_idle_keep_alive_connections() {
    let echo = EchoServer::start("echo");
    let mut gw = echo_gateway(&echo, None).await;
    let idle = idle_target();
    let fds_before = open_fds(gw.pid());
    let port = gw.http_port();
    // One request each (answered by the gateway itself: no route), then left idle.
    let started = Instant::now();
    let mut opening = JoinSet::new();
    let mut conns = Vec::with_capacity(idle);
    let mut errors = Vec::new();
    for i in 0..idle {
        if opening.len() >= 128 {
            match opening.join_next().await.unwrap().unwrap() {
                Ok(conn) => conns.push(conn),
                Err(e) => errors.push(e),
            }
        }
        opening.spawn(async move {
            let stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| format!("connect #{i}: {e}"))?;
            let mut conn = Http1::new(stream);
            let reply = conn
                .get("idle.invalid", "/")
                .await
                .map_err(|e| format!("request #{i}: {e}"))?;
            if reply.status != 404 {
                return Err(format!("request #{i}: {}", reply.summary()));
            }
            Ok(conn)
        });
    }
    while let Some(done) = opening.join_next().await {
        match done.unwrap() {
            Ok(conn) => conns.push(conn),
            Err(e) => errors.push(e),
        }
    }
    let opened = started.elapsed();
    assert!(
        errors.is_empty(),
        "{} of {idle} idle connections failed (after {opened:?}); first: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let fds_held = open_fds(gw.pid());
    eprintln!(
        "{idle} idle connections opened in {opened:?}; gantry fds {fds_before:?} -> {fds_held:?}"
    );

    // A normal client keeps being served while they sit idle.
    let client = Client::new(port);
    let mut latencies = Vec::new();
    for i in 0..50 {
        let (reply, took) = timed_get(&client, ECHO_HOST, &format!("/get?i={i}")).await;
        reply.unwrap().expect_backend("echo").unwrap();
        latencies.push(took);
    }
    let p99 = percentile(&mut latencies, 99);
    eprintln!("p99 {p99:?} next to {idle} idle connections");
    // The idle connections are still usable (a sample of them).
    for (i, conn) in conns.iter_mut().enumerate().step_by(idle / 20) {
        let reply = conn
            .get(ECHO_HOST, "/get")
            .await
            .unwrap_or_else(|e| panic!("idle connection #{i}: {e}"));
        assert_eq!(
            reply.status,
            200,
            "idle connection #{i}: {}",
            reply.summary()
        );
    }

    drop(conns);
    assert_alive(&mut gw, "after closing the idle connections");
    client
        .get(ECHO_HOST, "/get")
        .await
        .unwrap()
        .expect_backend("echo")
        .unwrap();
    // The gateway lets go of their descriptors.
    if let Some(before) = fds_before {
        let pid = gw.pid();
        eventually(DEADLINE, || async move {
            match open_fds(pid) {
                Some(n) if n < before + 200 => Ok(()),
                n => Err(format!(
                    "gantry still has {n:?} fds open (had {before} before)"
                )),
            }
        })
        .await;
    }
}

// ---------------------------------------------------------------------------
// 3. Route and certificate churn under load (plain reloads: `reload.rs`)
// ---------------------------------------------------------------------------

const STABLE: &str = "stable.example.com";
const EXTRA: &str = "extra.example.com";

/// The stable Ingress (weighted `one`/`two`) with its TLS Secret `cert-churn`.
fn stable_ingress(weight_one: u8) -> (String, String) {
    let destination = format!("{weight_one}% one.static\n{}% two.static", 100 - weight_one);
    let ingress = Ingress::host_route("stable", STABLE, &destination);
    (
        ingress.file(),
        ingress_with_tls(&ingress, &[(&[STABLE], "cert-churn")]),
    )
}

/// HTTPS load on the stable host until `stop`, a new connection (and handshake) per
/// request, each sent once. Returns (answered, failures).
fn tls_churn_worker(
    gw: &Gantry,
    tls: TlsClient,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(u64, Vec<String>)> {
    let https_port = gw.https_port();
    tokio::spawn(async move {
        let (mut ok, mut failures) = (0u64, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            let result = match tls.connect(https_port, STABLE).await {
                Ok(stream) => Http1::new(stream)
                    .get(STABLE, "/load")
                    .await
                    .map(|r| (r.status, r.echo_name().map(str::to_owned))),
                Err(e) => Err(format!("handshake: {e}")),
            };
            match result {
                Ok((200, Some(name))) if name == "one" || name == "two" => ok += 1,
                Ok((status, name)) => failures.push(format!("{status} from {name:?}")),
                Err(e) => failures.push(e),
            }
        }
        (ok, failures)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_churn_and_certificate_rotation_lose_no_request() {
    const EDITS: usize = 100;
    let one = EchoServer::start("one");
    let two = EchoServer::start("two");
    let three = EchoServer::start("three");
    let certs = [TestCert::new(&[STABLE]), TestCert::new(&[STABLE])];
    let config = ConfigDir::new();
    config.write_mcpbridge(&[
        Registry::fixed("one", one.addr()),
        Registry::fixed("two", two.addr()),
        Registry::fixed("three", three.addr()),
    ]);
    config.write(
        &secret_file("cert-churn"),
        &certs[0].secret_yaml("cert-churn"),
    );
    let (file, yaml) = stable_ingress(50);
    config.write(&file, &yaml);
    let gw = Gantry::builder().https(true).start(config).await;
    gw.client().eventually_status(STABLE, "/get", 200).await;
    let tls = TlsClient::new(&[&certs[0], &certs[1]]);
    let port = gw.https_port();
    let leaf_is = |i: usize| {
        let tls = &tls;
        let want = certs[i].der.clone();
        async move {
            let stream = tls.connect(port, STABLE).await?;
            let (_, conn) = stream.get_ref();
            match conn.peer_certificates().and_then(|c| c.first()) {
                Some(leaf) if *leaf == want => Ok(()),
                _ => Err(format!("new connections do not get certificate #{i} yet")),
            }
        }
    };
    eventually(DEADLINE, || leaf_is(0)).await;

    // Plain HTTP on kept-alive connections that never retry, and HTTPS handshakes.
    let load = KeepAliveLoad::start(gw.http_port(), STABLE, 2, &["one", "two"]);
    let stop = Arc::new(AtomicBool::new(false));
    let tls_worker = tls_churn_worker(&gw, tls.clone(), stop.clone());
    let extra = Ingress::host_route("extra", EXTRA, "three.static");
    let client = gw.client();
    for i in 0..EDITS {
        match i % 4 {
            0 => {
                gw.config().write_ingress(&extra);
                client.eventually_backend(EXTRA, "/get", "three").await;
            }
            1 => {
                let (file, yaml) = stable_ingress(if i % 8 == 1 { 90 } else { 10 });
                gw.config().write(&file, &yaml);
            }
            2 => {
                let next = (i / 4 + 1) % 2;
                gw.config().write(
                    &secret_file("cert-churn"),
                    &certs[next].secret_yaml("cert-churn"),
                );
                eventually(DEADLINE, || leaf_is(next)).await;
            }
            _ => {
                gw.config().remove(&extra.file());
                client.eventually_status(EXTRA, "/get", 404).await;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let report = load.stop().await;
    let (handshakes, failures) = tls_worker.await.unwrap();
    eprintln!(
        "{EDITS} edits: {} plain requests ({} POSTs) on {} connections, closes {} announced / \
         {} unannounced; {handshakes} HTTPS requests",
        report.answered,
        report.posts.len(),
        report.connections,
        report.announced_closes,
        report.unannounced_closes
    );
    let what = format!("{EDITS} route/weight/certificate edits");
    report.assert_lossless(&what, 100);
    assert_posts_seen_once(&report.posts, &[&one, &two]);
    assert!(
        failures.is_empty(),
        "{what}: {} of {} HTTPS requests failed: {:?}",
        failures.len(),
        handshakes + failures.len() as u64,
        &failures[..failures.len().min(5)]
    );
    assert!(
        handshakes > 10,
        "only {handshakes} HTTPS requests were sent"
    );
    assert!(one.hits() > 0 && two.hits() > 0);
}
