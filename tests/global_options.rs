//! End-to-end tests of the global options in ConfigMap `higress-config` (data key
//! `higress`): response gzip (on by default, `enable`, `minContentLength`,
//! `contentType`), `downstream.maxRequestHeadersKb` (431), `downstream.routeTimeout` (wins
//! over `higress.io/timeout`), `downstream.idleTimeout`, `upstream.idleTimeout`,
//! `addXRealIpHeader`, live edits, and an invalid value keeping the previous options in force.
//!
//! Gzip checks need the raw response bytes, so they use their own reqwest client
//! (built without decompression) and decode with the system `gzip -dc`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gantry_tests::backend::{read_request_head, Background};
use gantry_tests::http1::Http1;
use gantry_tests::{eventually, validate, ConfigDir, EchoServer, Gantry, Ingress, Path, DEADLINE};
use reqwest::header::HeaderMap;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The quick-start host.
const FOO: &str = "foo.bar.com";

/// A response read as raw bytes (never decompressed).
struct RawReply {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

// === impl RawReply ===

impl RawReply {
    /// The `Content-Encoding` header, if any.
    fn content_encoding(&self) -> Option<&str> {
        self.headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
    }

    /// Whether the gateway gzip-compressed the body.
    fn is_gzip(&self) -> bool {
        self.content_encoding() == Some("gzip")
    }

    /// The `x-echo-name` header, i.e. which echo backend answered, if any.
    fn echo_name(&self) -> Option<&str> {
        self.headers
            .get("x-echo-name")
            .and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, gunzipped first when `Content-Encoding: gzip`.
    fn json(&self) -> Result<Value, String> {
        let plain = if self.is_gzip() {
            gunzip(&self.body)?
        } else {
            self.body.clone()
        };
        serde_json::from_slice(&plain).map_err(|e| {
            format!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&plain)
            )
        })
    }

    /// One line describing the reply.
    fn summary(&self) -> String {
        let excerpt: String = String::from_utf8_lossy(&self.body)
            .chars()
            .take(120)
            .collect();
        format!(
            "{} from backend {:?}, content-encoding {:?}, {} body bytes {excerpt:?}",
            self.status,
            self.echo_name().unwrap_or("-"),
            self.content_encoding().unwrap_or("-"),
            self.body.len(),
        )
    }

    /// `Ok(self)` when the echo backend answered 200.
    fn expect_echo(self) -> Result<Self, String> {
        if self.status == 200 && self.echo_name() == Some("httpbin") {
            Ok(self)
        } else {
            Err(format!("expected 200 from httpbin, got {}", self.summary()))
        }
    }
}

/// A client for the gateway's port that returns raw bodies and adds no
/// `Accept-Encoding` of its own (reqwest is built without decompression).
struct RawClient {
    inner: reqwest::Client,
    port: u16,
}

// === impl RawClient ===

impl RawClient {
    fn new(port: u16) -> Self {
        let inner = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("build reqwest client");
        Self { inner, port }
    }

    /// `GET <path_and_query>` with `Host: foo.bar.com` and extra `headers`.
    async fn get(
        &self,
        path_and_query: &str,
        headers: &[(&str, &str)],
    ) -> Result<RawReply, String> {
        let url = format!("http://127.0.0.1:{}{path_and_query}", self.port);
        let mut req = self.inner.get(&url).header("host", FOO);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.map_err(|e| format!("GET {url}: {e:#}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .bytes()
            .await
            .map_err(|e| format!("GET {url}: reading body: {e:#}"))?
            .to_vec();
        Ok(RawReply {
            status,
            headers,
            body,
        })
    }

    /// `GET <path_and_query>` asking for gzip.
    async fn get_gzip(&self, path_and_query: &str) -> Result<RawReply, String> {
        self.get(path_and_query, &[("accept-encoding", "gzip")])
            .await
    }

    /// Polls `GET <path_and_query>` with `Accept-Encoding: gzip` until the echo
    /// backend answers and the body is (or is not) compressed.
    async fn eventually_gzip(&self, path_and_query: &str, compressed: bool) -> RawReply {
        eventually(DEADLINE, || async move {
            let reply = self.get_gzip(path_and_query).await?.expect_echo()?;
            if reply.is_gzip() == compressed {
                Ok(reply)
            } else {
                Err(format!(
                    "expected {} response, got {}",
                    if compressed {
                        "a gzip"
                    } else {
                        "an uncompressed"
                    },
                    reply.summary()
                ))
            }
        })
        .await
    }
}

/// Decompresses `data` with the system `gzip -dc`.
fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut child = Command::new("gzip")
        .arg("-dc")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("spawn `gzip -dc` (is gzip installed?): {e}"))?;
    let mut stdin = child.stdin.take().expect("gzip stdin");
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("wait for gzip: {e}"))?;
    writer
        .join()
        .expect("gzip writer thread")
        .map_err(|e| format!("write to gzip: {e}"))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "gzip -dc failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// `/get?pad=xxx…` whose echo body is larger than `pad` (the query appears three
/// times in it: `query`, `args.pad` and `url`).
fn padded(pad: usize) -> String {
    format!("/get?pad={}", "x".repeat(pad))
}

/// The echo body of a request without `headers` (which differ per request: ids,
/// `accept-encoding`).
fn without_headers(mut seen: Value) -> Value {
    if let Some(map) = seen.as_object_mut() {
        map.remove("headers");
    }
    seen
}

/// Starts a gateway on the quick-start config, with `higress-config` set to
/// `options` when given, and waits until the route serves.
async fn start(httpbin: &EchoServer, options: Option<&str>) -> Gantry {
    let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
    if let Some(options) = options {
        config.write_higress_config(options);
    }
    let gw = Gantry::start(config).await;
    gw.client().eventually_backend(FOO, "/get", "httpbin").await;
    gw
}

/// Polls until the `x-real-ip` the backend sees is `expected` (`None`: absent).
async fn eventually_x_real_ip(gw: &Gantry, expected: Option<&str>) {
    let client = gw.client();
    eventually(DEADLINE, || async move {
        let reply = client.get(FOO, "/get").await?.expect_backend("httpbin")?;
        let seen = reply.json();
        let got = seen["headers"]["x-real-ip"].as_str().map(str::to_owned);
        if got.as_deref() == expected {
            Ok(())
        } else {
            Err(format!("x-real-ip is {got:?}, want {expected:?}: {seen}"))
        }
    })
    .await;
}

#[tokio::test]
async fn gzip_is_on_by_default_for_large_json() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(&httpbin, None).await;
    let raw = RawClient::new(gw.http_port());
    let path = padded(1500);

    let plain = raw.get(&path, &[]).await.unwrap().expect_echo().unwrap();
    assert!(
        !plain.is_gzip(),
        "no Accept-Encoding must get an uncompressed body: {}",
        plain.summary()
    );
    assert!(plain.body.len() >= 1024, "{}", plain.summary());

    let zipped = raw.get_gzip(&path).await.unwrap().expect_echo().unwrap();
    assert!(
        zipped.is_gzip(),
        "a {}-byte JSON response with Accept-Encoding: gzip must be compressed: {}",
        plain.body.len(),
        zipped.summary()
    );
    assert!(
        zipped.body.len() < plain.body.len(),
        "compressed {} bytes, plain {}",
        zipped.body.len(),
        plain.body.len()
    );
    let decoded = zipped.json().unwrap();
    assert_eq!(decoded["query"], format!("pad={}", "x".repeat(1500)));
    assert_eq!(decoded["headers"]["host"], FOO, "{decoded}");
    assert_eq!(
        without_headers(decoded),
        without_headers(plain.json().unwrap()),
        "the gunzipped body must be the same JSON as the uncompressed one"
    );
}

#[tokio::test]
async fn gzip_skips_responses_below_min_content_length() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(&httpbin, None).await;
    let raw = RawClient::new(gw.http_port());

    let small = raw
        .get_gzip("/get?x=1")
        .await
        .unwrap()
        .expect_echo()
        .unwrap();
    assert!(
        small.body.len() < 1024,
        "the small response must stay under the default minContentLength 1024: {}",
        small.summary()
    );
    assert!(
        !small.is_gzip(),
        "a response under minContentLength must not be compressed: {}",
        small.summary()
    );
    assert_eq!(small.json().unwrap()["args"]["x"], "1");
}

#[tokio::test]
async fn gzip_enable_false_turns_compression_off_live() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(&httpbin, Some("gzip:\n  enable: false")).await;
    let raw = RawClient::new(gw.http_port());
    let path = padded(1500);

    let reply = raw.get_gzip(&path).await.unwrap().expect_echo().unwrap();
    assert!(
        !reply.is_gzip(),
        "gzip.enable: false must not compress: {}",
        reply.summary()
    );
    assert_eq!(reply.json().unwrap()["args"]["pad"], "x".repeat(1500));

    // Turning it on applies live, and off again too.
    gw.config().write_higress_config("gzip:\n  enable: true");
    let reply = raw.eventually_gzip(&path, true).await;
    assert_eq!(reply.json().unwrap()["args"]["pad"], "x".repeat(1500));
    gw.config().write_higress_config("gzip:\n  enable: false");
    raw.eventually_gzip(&path, false).await;
}

#[tokio::test]
async fn gzip_min_content_length_changes_live() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(&httpbin, Some("gzip:\n  minContentLength: 100000")).await;
    let raw = RawClient::new(gw.http_port());
    // About 2 KB and 9 KB of JSON.
    let medium = padded(500);
    let big = padded(2800);
    let sizes = (
        raw.get(&medium, &[]).await.unwrap().body.len(),
        raw.get(&big, &[]).await.unwrap().body.len(),
    );
    assert!(
        (1024..5000).contains(&sizes.0) && sizes.1 > 5000,
        "echo body sizes {sizes:?}"
    );

    for path in [&medium, &big] {
        let reply = raw.get_gzip(path).await.unwrap().expect_echo().unwrap();
        assert!(
            !reply.is_gzip(),
            "minContentLength 100000 must not compress: {}",
            reply.summary()
        );
    }

    gw.config()
        .write_higress_config("gzip:\n  minContentLength: 5000");
    let reply = raw.eventually_gzip(&big, true).await;
    assert_eq!(reply.json().unwrap()["args"]["pad"], "x".repeat(2800));
    let reply = raw.get_gzip(&medium).await.unwrap().expect_echo().unwrap();
    assert!(
        !reply.is_gzip(),
        "a {}-byte body is under minContentLength 5000: {}",
        sizes.0,
        reply.summary()
    );

    gw.config()
        .write_higress_config("gzip:\n  minContentLength: 1024");
    raw.eventually_gzip(&medium, true).await;
}

#[tokio::test]
async fn gzip_skips_content_types_not_listed() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(
        &httpbin,
        Some("gzip:\n  contentType:\n  - text/html\n  - text/plain"),
    )
    .await;
    let raw = RawClient::new(gw.http_port());
    let path = padded(1500);

    let reply = raw.get_gzip(&path).await.unwrap().expect_echo().unwrap();
    assert_eq!(
        reply.headers["content-type"],
        "application/json",
        "{}",
        reply.summary()
    );
    assert!(
        !reply.is_gzip(),
        "application/json is not in contentType [text/html, text/plain]: {}",
        reply.summary()
    );

    // Adding it applies live.
    gw.config()
        .write_higress_config("gzip:\n  contentType:\n  - text/html\n  - application/json");
    raw.eventually_gzip(&path, true).await;
}

#[tokio::test]
async fn max_request_headers_kb_answers_431() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(&httpbin, Some("downstream:\n  maxRequestHeadersKb: 1")).await;
    let raw = RawClient::new(gw.http_port());
    let pad = "h".repeat(500);
    // Four 500-byte headers: about 2 KB of request headers.
    let big: Vec<(&str, &str)> = ["x-pad-1", "x-pad-2", "x-pad-3", "x-pad-4"]
        .into_iter()
        .map(|name| (name, pad.as_str()))
        .collect();

    let small = raw
        .get("/get", &[("x-small", "yes")])
        .await
        .unwrap()
        .expect_echo()
        .unwrap();
    assert_eq!(small.json().unwrap()["headers"]["x-small"], "yes");

    let before = httpbin.hits();
    let reply = raw.get("/get", &big).await.unwrap();
    assert_eq!(
        reply.status,
        431,
        "2 KB of headers over maxRequestHeadersKb 1: {}",
        reply.summary()
    );
    assert_eq!(httpbin.hits(), before, "a 431 must not reach the backend");

    // Small requests keep passing, and raising the limit lets the big one through.
    raw.get("/get", &[]).await.unwrap().expect_echo().unwrap();
    gw.config()
        .write_higress_config("downstream:\n  maxRequestHeadersKb: 4");
    let big = &big;
    let raw = &raw;
    eventually(DEADLINE, || async move {
        raw.get("/get", big).await?.expect_echo()
    })
    .await;
}

#[tokio::test]
async fn add_x_real_ip_header_toggles_live() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(&httpbin, None).await;
    eventually_x_real_ip(&gw, None).await;

    gw.config().write_higress_config("addXRealIpHeader: true");
    eventually_x_real_ip(&gw, Some("127.0.0.1")).await;

    gw.config().write_higress_config("addXRealIpHeader: false");
    eventually_x_real_ip(&gw, None).await;
}

#[tokio::test]
async fn invalid_higress_value_keeps_previous_options() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(
        &httpbin,
        Some("addXRealIpHeader: true\ngzip:\n  enable: false"),
    )
    .await;
    let raw = RawClient::new(gw.http_port());
    let path = padded(1500);
    eventually_x_real_ip(&gw, Some("127.0.0.1")).await;
    let reply = raw.get_gzip(&path).await.unwrap().expect_echo().unwrap();
    assert!(!reply.is_gzip(), "{}", reply.summary());

    // An out-of-range memoryLevel rejects the whole value. Then add a marker
    // route: once it serves, the gateway has read the directory after the bad write.
    gw.config()
        .write_higress_config("addXRealIpHeader: false\ngzip:\n  enable: true\n  memoryLevel: 12");
    gw.config().write_ingress(&Ingress::route(
        "marker",
        Some("marker.example.com"),
        Path::prefix("/"),
        "httpbin.dns",
    ));
    gw.client()
        .eventually_backend("marker.example.com", "/", "httpbin")
        .await;

    for _ in 0..3 {
        let seen = gw
            .client()
            .get(FOO, "/get")
            .await
            .unwrap()
            .expect_backend("httpbin")
            .unwrap()
            .json();
        assert_eq!(
            seen["headers"]["x-real-ip"], "127.0.0.1",
            "the rejected value must keep addXRealIpHeader: true in force: {seen}"
        );
        let reply = raw.get_gzip(&path).await.unwrap().expect_echo().unwrap();
        assert!(
            !reply.is_gzip(),
            "the rejected value must keep gzip.enable: false in force: {}",
            reply.summary()
        );
    }

    let out = validate(gw.config().path());
    assert_eq!(
        out.code(),
        Some(1),
        "validate must exit 1 on an invalid higress value; output:\n{}",
        out.combined()
    );
    assert!(
        out.errors()
            .iter()
            .any(|l| l.contains("higress-config") && l.contains("data.higress: gzip.memoryLevel")),
        "validate must name data.higress: gzip.memoryLevel; output:\n{}",
        out.combined()
    );

    // Fixing the value applies it.
    gw.config()
        .write_higress_config("addXRealIpHeader: false\ngzip:\n  enable: true\n  memoryLevel: 9");
    eventually_x_real_ip(&gw, None).await;
    raw.eventually_gzip(&path, true).await;
}

/// `downstream.routeTimeout` bounds every route and wins over a route's `higress.io/timeout`
/// (docs/compatibility.md; Higress merges it into every route). A backend answering after
/// 4 s gets 504 under the global 1 s, on a route whose own timeout is 10 s and on one without;
/// once the global value is removed (live), both are served.
#[tokio::test]
async fn route_timeout_wins_over_the_timeout_annotation() {
    const LONG: &str = "long.timeout.example.com";
    const MARKER: &str = "marker.example.com";
    const SLOW: &str = "/delay/4000";
    let httpbin = EchoServer::start("httpbin");
    let config = ConfigDir::quickstart("127.0.0.1", httpbin.port());
    config.write_higress_config("downstream:\n  routeTimeout: 1");
    config.write_ingress(
        &Ingress::route("long", Some(LONG), Path::prefix("/"), "httpbin.dns")
            .annotation("higress.io/timeout", "10"),
    );
    let gw = Gantry::start(config).await;
    let client = gw.client();
    client.eventually_backend(LONG, "/get", "httpbin").await;
    for host in [LONG, FOO] {
        let started = Instant::now();
        let reply = client.get(host, SLOW).await.unwrap();
        let took = started.elapsed();
        assert_eq!(
            (reply.status.as_u16(), reply.echo_name()),
            (504, None),
            "{host}: routeTimeout 1 must bound a 4 s answer: {}",
            reply.summary()
        );
        assert!(
            took >= Duration::from_millis(950),
            "{host}: 504 after {took:?}"
        );
    }

    // Without the global value each route has its own bound again: 10 s, or none.
    gw.config()
        .write_higress_config("downstream:\n  routeTimeout: 0");
    gw.config().write_ingress(&Ingress::route(
        "marker",
        Some(MARKER),
        Path::prefix("/"),
        "httpbin.dns",
    ));
    client.eventually_backend(MARKER, "/", "httpbin").await;
    let (long, foo) = tokio::join!(client.get(LONG, SLOW), client.get(FOO, SLOW));
    for (host, reply) in [(LONG, long), (FOO, foo)] {
        reply
            .and_then(|r| r.expect_backend("httpbin"))
            .unwrap_or_else(|e| panic!("{host} without routeTimeout: {e}"));
    }
}

/// `downstream.idleTimeout` closes a client's kept-alive connection once it has been idle
/// that long. The default (180 s) would keep it open far past the deadline waited here, and
/// the close comes no sooner than the timeout.
#[tokio::test]
async fn idle_timeout_closes_idle_client_connections() {
    let httpbin = EchoServer::start("httpbin");
    let gw = start(&httpbin, Some("downstream:\n  idleTimeout: 1")).await;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", gw.http_port()))
        .await
        .unwrap();
    let mut conn = Http1::new(tcp);
    let reply = conn.get(FOO, "/get").await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.summary());
    assert_ne!(
        reply.header("connection"),
        Some("close"),
        "the connection must be kept alive: {}",
        reply.summary()
    );
    let idle_from = Instant::now();
    conn.wait_closed(DEADLINE)
        .await
        .unwrap_or_else(|e| panic!("an idle connection with idleTimeout 1: {e}"));
    let idle = idle_from.elapsed();
    assert!(
        idle >= Duration::from_millis(950),
        "closed after {idle:?} idle, before the 1 s idleTimeout"
    );
}

/// `upstream.idleTimeout` closes an idle kept-alive upstream connection once it has been
/// idle that long, and no sooner (Higress's default is 10 s, far past the wait here).
#[tokio::test]
async fn upstream_idle_timeout_closes_idle_upstream_connections() {
    let closed: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let log = closed.clone();
    let backend = Background::spawn("idle", move |mut tcp: TcpStream| {
        let log = log.clone();
        async move {
            let mut buf = Vec::new();
            while read_request_head(&mut tcp, &mut buf).await.is_some() {
                let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-echo-name: idle\r\n\r\nok";
                if tcp.write_all(reply).await.is_err() {
                    return;
                }
            }
            log.lock().unwrap().push(Instant::now());
        }
    });
    let config = ConfigDir::quickstart("127.0.0.1", backend.addr().port());
    config.write_higress_config("upstream:\n  idleTimeout: 1");
    let gw = Gantry::start(config).await;
    let client = gw.client();
    client.eventually_status(FOO, "/", 200).await;
    // Connections the readiness polls left idle are gone after their timeout.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    closed.lock().unwrap().clear();

    let reply = client.get(FOO, "/").await.unwrap();
    assert_eq!(reply.status, 200, "{}", reply.summary());
    let idle_from = Instant::now();
    let idle = eventually(Duration::from_secs(5), || async {
        match closed.lock().unwrap().first() {
            Some(at) => Ok(at.saturating_duration_since(idle_from)),
            None => Err("the idle upstream connection is still open".to_owned()),
        }
    })
    .await;
    assert!(
        idle >= Duration::from_millis(900),
        "closed after {idle:?} idle, before the 1 s idleTimeout"
    );
}
