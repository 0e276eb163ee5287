//! An in-process, httpbin-like HTTP/1.1 echo backend on `127.0.0.1:0`.
//!
//! Every request gets `200` (or the code asked for by `/status/<code>`) with the
//! header `x-echo-name: <name>` and a JSON body describing the request:
//! `{"name", "method", "path", "query", "args", "headers", "body", "url", "origin"}`.
//! Header names in `headers` are lower-cased; repeated headers are joined with `", "`.
//! A request carrying `x-reply: <text>` gets `<text>` as its body instead.
//!
//! `/delay/<ms>` answers after `<ms>` milliseconds. `/hold/…` answers only once the test
//! calls [`EchoServer::release`] (so "still waiting" is a fact, not a guess about time);
//! [`EchoServer::hold_all`] holds every request that way. Tests can also slow down every
//! request ([`EchoServer::set_delay`]), fail the next few with a status
//! ([`EchoServer::fail_next`]), and read back every request the backend received
//! ([`EchoServer::requests`]), recorded when it arrives, before any delay.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::ports;

/// Largest request head the echo server reads before answering `431`.
const MAX_HEAD: usize = 64 * 1024;

/// Longest delay `/delay/<ms>` accepts; longer values are cut to it.
const MAX_DELAY: Duration = Duration::from_secs(60);

/// A running echo backend. It runs on its own thread and runtime, so it works
/// from sync and async tests alike; dropping it closes the listener and every
/// open connection.
pub struct EchoServer {
    name: String,
    addr: SocketAddr,
    hits: Arc<AtomicU64>,
    control: Arc<Control>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// One request as the backend received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query, without `?` (empty when there is none).
    pub query: String,
    /// The `Host` header (empty when there is none).
    pub host: String,
    /// Every header in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked).
    pub body: Vec<u8>,
    /// When the request head and body had been read.
    pub received: Instant,
}

/// What tests change at run time: delays, failures, and the request log.
struct Control {
    /// Delay before every answer, in milliseconds.
    delay_ms: AtomicU64,
    /// How many of the next requests get `fail_status`.
    fail_remaining: AtomicU64,
    /// The status failing requests get.
    fail_status: AtomicU32,
    /// Every request received, in arrival order.
    log: Mutex<Vec<Recorded>>,
    /// Hold every request, not only `/hold/…`, until [`Self::gate`] opens.
    hold_all: AtomicBool,
    /// Open (true) once the test released held requests.
    gate: watch::Sender<bool>,
    /// Requests held right now whose connection is still open.
    held: AtomicU64,
}

// === impl EchoServer ===

impl EchoServer {
    /// Starts an echo backend named `name` on a fresh loopback port.
    pub fn start(name: &str) -> Self {
        Self::on(ports::listener(), name)
    }

    /// Starts an echo backend named `name` on `listener` (e.g. a
    /// [`HeldPort`](crate::ports::HeldPort) that starts answering).
    pub fn on(listener: StdListener, name: &str) -> Self {
        listener.set_nonblocking(true).expect("set_nonblocking");
        let addr = listener.local_addr().expect("local_addr");
        let hits = Arc::new(AtomicU64::new(0));
        let control = Arc::new(Control {
            delay_ms: AtomicU64::new(0),
            fail_remaining: AtomicU64::new(0),
            fail_status: AtomicU32::new(503),
            log: Mutex::new(Vec::new()),
            hold_all: AtomicBool::new(false),
            gate: watch::Sender::new(false),
            held: AtomicU64::new(0),
        });
        let (tx, rx) = oneshot::channel();
        let state = Arc::new(State {
            name: name.to_owned(),
            hits: hits.clone(),
            control: control.clone(),
        });
        let thread = std::thread::Builder::new()
            .name(format!("echo-{name}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("echo runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    tokio::select! {
                        _ = rx => {}
                        () = accept_loop(listener, state) => {}
                    }
                });
                // Dropping the runtime here cancels every connection task.
            })
            .expect("spawn echo thread");
        Self {
            name: name.to_owned(),
            addr,
            hits,
            control,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// The name the backend reports in `x-echo-name` and in the JSON body.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The address the backend listens on (always `127.0.0.1:<port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port the backend listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// How many requests the backend has received so far (counted on arrival, so
    /// a request still being delayed counts).
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }

    /// Makes every request from now on wait `delay` before its answer (zero: none).
    /// A `/delay/<ms>` request waits for the longer of the two.
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.control.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Answers the next `count` requests, whatever their path, with `status` (and the
    /// usual JSON body); later requests are answered as usual again. `status` must
    /// be 200..=599 and not 204 or 304 (the answer always has a body).
    pub fn fail_next(&self, count: u64, status: u16) {
        assert!(
            (200..600).contains(&status) && status != 204 && status != 304,
            "fail_next: unsupported status {status}"
        );
        self.control
            .fail_status
            .store(u32::from(status), Ordering::SeqCst);
        self.control.fail_remaining.store(count, Ordering::SeqCst);
    }

    /// Holds every request from now on (recorded on arrival, answered only after
    /// [`Self::release`]), as `/hold/…` requests always are.
    pub fn hold_all(&self) {
        self.control.hold_all.store(true, Ordering::SeqCst);
    }

    /// Answers every held request, and from now on holds none.
    pub fn release(&self) {
        self.control.gate.send_replace(true);
    }

    /// Requests held right now whose client (the gateway) has not closed the connection:
    /// a held request the gateway gave up on stops counting when it hangs up.
    pub fn held_now(&self) -> u64 {
        self.control.held.load(Ordering::SeqCst)
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.control.log().clone()
    }

    /// Every request received so far, in arrival order; empties the log (the
    /// [`Self::hits`] counter keeps counting).
    pub fn take_requests(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.control.log())
    }
}

// === impl Recorded ===

impl Recorded {
    /// The first header `name` (any case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body, decoded as UTF-8 (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

// === impl Control ===

impl Control {
    fn log(&self) -> std::sync::MutexGuard<'_, Vec<Recorded>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `req` and decides how to answer it: the status override (if this
    /// request is one of the failing ones), the delay, and whether to hold it.
    fn admit(&self, req: &Request) -> (Option<u16>, Duration, bool) {
        let (path, query) = split_target(&req.target);
        self.log().push(Recorded {
            method: req.method.clone(),
            path: path.to_owned(),
            query: query.to_owned(),
            host: req.header("host").unwrap_or("").to_owned(),
            headers: req
                .headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                .collect(),
            body: req.body.clone(),
            received: Instant::now(),
        });
        let failing = self
            .fail_remaining
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        let status =
            failing.then(|| u16::try_from(self.fail_status.load(Ordering::SeqCst)).unwrap_or(503));
        let delay = Duration::from_millis(self.delay_ms.load(Ordering::SeqCst))
            .max(delay_for(path))
            .min(MAX_DELAY);
        let hold = path.starts_with("/hold") || self.hold_all.load(Ordering::SeqCst);
        (status, delay, hold)
    }

    /// Waits until the test opens the gate ([`EchoServer::release`]).
    async fn wait_for_release(&self) {
        let mut open = self.gate.subscribe();
        let _ = open.wait_for(|open| *open).await;
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct State {
    name: String,
    hits: Arc<AtomicU64>,
    control: Arc<Control>,
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(stream, peer, state.clone()));
    }
}

/// One parsed HTTP/1.x request.
struct Request {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.version == "HTTP/1.0" {
            conn.contains("keep-alive")
        } else {
            !conn.contains("close")
        }
    }
}

async fn serve_connection(mut stream: TcpStream, peer: SocketAddr, state: Arc<State>) {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let req = match read_request(&mut stream, &mut buf).await {
            Ok(Some(req)) => req,
            Ok(None) => return,
            Err(status) => {
                let _ = write_response(
                    &mut stream,
                    status,
                    &state.name,
                    b"bad request\n",
                    false,
                    "text/plain",
                )
                .await;
                return;
            }
        };
        state.hits.fetch_add(1, Ordering::SeqCst);
        let (fail, delay, hold) = state.control.admit(&req);
        if hold {
            let held = &state.control.held;
            held.fetch_add(1, Ordering::SeqCst);
            let closed = tokio::select! {
                () = state.control.wait_for_release() => false,
                () = until_closed(&mut stream, &mut buf) => true,
            };
            held.fetch_sub(1, Ordering::SeqCst);
            if closed {
                return;
            }
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let keep_alive = req.keep_alive();
        let status = fail.unwrap_or_else(|| status_for(&req.target));
        // `x-reply`: a canned upstream answer (see the module doc).
        let body = match req.header("x-reply") {
            Some(reply) => reply.to_owned(),
            None => describe(&req, peer, &state.name).to_string(),
        };
        let head_only = req.method.eq_ignore_ascii_case("HEAD");
        let payload = if head_only { &b""[..] } else { body.as_bytes() };
        let sent = write_response_len(
            &mut stream,
            status,
            &state.name,
            payload,
            body.len(),
            keep_alive,
            "application/json",
        )
        .await;
        if sent.is_err() || !keep_alive {
            return;
        }
    }
}

/// Reads one request from `stream`, keeping any pipelined bytes in `buf`.
/// `Ok(None)` means the peer closed the connection between requests.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Option<Request>, u16> {
    let head_end = loop {
        if let Some(pos) = find(buf, b"\r\n\r\n") {
            break pos;
        }
        if buf.len() > MAX_HEAD {
            return Err(431);
        }
        if read_more(stream, buf).await? == 0 {
            return if buf.is_empty() { Ok(None) } else { Err(400) };
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(400);
    };
    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(400);
        };
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut req = Request {
        method: method.to_owned(),
        target: target.to_owned(),
        version: version.to_owned(),
        headers,
        body: Vec::new(),
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .map_err(|_| 400u16)?;
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        req.body = read_chunked(stream, buf).await?;
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len.parse().map_err(|_| 400u16)?;
        while buf.len() < len {
            if read_more(stream, buf).await? == 0 {
                return Err(400);
            }
        }
        req.body = buf.drain(..len).collect();
    }
    Ok(Some(req))
}

async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<Vec<u8>, u16> {
    let mut body = Vec::new();
    loop {
        let line_end = loop {
            if let Some(pos) = find(buf, b"\r\n") {
                break pos;
            }
            if read_more(stream, buf).await? == 0 {
                return Err(400);
            }
        };
        let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
        buf.drain(..line_end + 2);
        let size_hex = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| 400u16)?;
        if size == 0 {
            // Skip trailers up to the empty line.
            loop {
                let end = loop {
                    if let Some(pos) = find(buf, b"\r\n") {
                        break pos;
                    }
                    if read_more(stream, buf).await? == 0 {
                        return Err(400);
                    }
                };
                buf.drain(..end + 2);
                if end == 0 {
                    return Ok(body);
                }
            }
        }
        while buf.len() < size + 2 {
            if read_more(stream, buf).await? == 0 {
                return Err(400);
            }
        }
        body.extend(buf.drain(..size));
        buf.drain(..2);
    }
}

/// Returns once the peer closes `stream` (or it fails); bytes read meanwhile (a pipelined
/// request) are kept in `buf`.
async fn until_closed(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    while matches!(read_more(stream, buf).await, Ok(n) if n > 0) {}
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<usize, u16> {
    let mut chunk = [0u8; 8192];
    let n = stream.read(&mut chunk).await.map_err(|_| 400u16)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `/status/<code>` answers with that code; everything else with `200`.
fn status_for(target: &str) -> u16 {
    let path = split_target(target).0;
    path.strip_prefix("/status/")
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (200..600).contains(code) && *code != 204 && *code != 304)
        .unwrap_or(200)
}

/// `/delay/<ms>` waits `<ms>` milliseconds; everything else none.
fn delay_for(path: &str) -> Duration {
    path.strip_prefix("/delay/")
        .and_then(|ms| ms.split('/').next())
        .and_then(|ms| ms.parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_millis)
}

/// Splits a request target (origin- or absolute-form) into path and query.
fn split_target(target: &str) -> (&str, &str) {
    let origin_form = match target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    origin_form.split_once('?').unwrap_or((origin_form, ""))
}

fn describe(req: &Request, peer: SocketAddr, name: &str) -> Value {
    let (path, query) = split_target(&req.target);
    let mut args = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        args.insert(percent_decode(k), Value::String(percent_decode(v)));
    }
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &req.headers {
        headers
            .entry(name.to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    let host = req.header("host").unwrap_or("");
    json!({
        "name": name,
        "method": req.method,
        "path": path,
        "query": query,
        "args": args,
        "headers": headers,
        "body": String::from_utf8_lossy(&req.body),
        "url": format!("http://{host}{path}{}{query}", if query.is_empty() { "" } else { "?" }),
        "origin": peer.ip().to_string(),
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

async fn write_response(
    stream: &mut TcpStream,
    status: u16,
    name: &str,
    body: &[u8],
    keep_alive: bool,
    content_type: &str,
) -> std::io::Result<()> {
    write_response_len(
        stream,
        status,
        name,
        body,
        body.len(),
        keep_alive,
        content_type,
    )
    .await
}

async fn write_response_len(
    stream: &mut TcpStream,
    status: u16,
    name: &str,
    body: &[u8],
    content_length: usize,
    keep_alive: bool,
    content_type: &str,
) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {content_length}\r\nx-echo-name: {name}\r\n{conn}\r\n",
        reason = reason(status),
        conn = if keep_alive { "" } else { "connection: close\r\n" },
    );
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        404 => "Not Found",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}
