//! gRPC over the `h2` crate, with no codegen: a hand-written prost message, the 5-byte
//! length-prefixed framing, an echo backend (h2c) and a client for unary and streaming
//! calls that keeps the response headers and trailers for inspection.
//!
//! Backend methods (service `gantry.test.Echo`):
//! - [`UNARY`]: one message in, one out (`text` echoed, `served_by` = backend name).
//! - [`BIDI`]: each message in is answered at once, then `grpc-status: 0` at the end.
//! - [`FAIL`]: headers, no message, trailers `grpc-status: 5` / `grpc-message: no such echo`.
//! - [`FAIL_TRAILERS_ONLY`]: the same status as a trailers-only response.
//! - [`SLOW`]: as [`UNARY`], after [`SLOW_DELAY`].

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use h2::client::{ResponseFuture, SendRequest};
use h2::server::SendResponse;
use h2::{RecvStream, SendStream};
use http::{HeaderMap, Request, Response, StatusCode};
use prost::Message as _;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::backend::Background;

/// Unary echo.
pub const UNARY: &str = "/gantry.test.Echo/Unary";
/// Bidirectional streaming echo.
pub const BIDI: &str = "/gantry.test.Echo/Bidi";
/// Fails with `grpc-status: 5` in trailers after the response headers.
pub const FAIL: &str = "/gantry.test.Echo/Fail";
/// Fails with `grpc-status: 5` in a trailers-only response.
pub const FAIL_TRAILERS_ONLY: &str = "/gantry.test.Echo/FailTrailersOnly";
/// Unary echo that answers after [`SLOW_DELAY`].
pub const SLOW: &str = "/gantry.test.Echo/Slow";
/// How long [`SLOW`] waits before answering.
pub const SLOW_DELAY: Duration = Duration::from_millis(1500);

/// How long one step of a call (headers, a message, trailers) may take. Default: 10 s.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// The request and response message of every method.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EchoMessage {
    /// The text to echo.
    #[prost(string, tag = "1")]
    pub text: String,
    /// The backend that answered (empty in requests).
    #[prost(string, tag = "2")]
    pub served_by: String,
}

impl EchoMessage {
    /// A request carrying `text`.
    pub fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            served_by: String::new(),
        }
    }
}

/// Frames `msg` as one uncompressed gRPC message.
pub fn encode(msg: &EchoMessage) -> Bytes {
    let body = msg.encode_to_vec();
    let mut out = BytesMut::with_capacity(5 + body.len());
    out.put_u8(0);
    out.put_u32(u32::try_from(body.len()).expect("message fits in u32"));
    out.put_slice(&body);
    out.freeze()
}

/// Reassembles gRPC messages from DATA frames split anywhere.
#[derive(Default)]
struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    fn push(&mut self, data: &[u8]) -> Result<Vec<EchoMessage>, String> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        while self.buf.len() >= 5 {
            let len =
                u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
            if self.buf.len() < 5 + len {
                break;
            }
            if self.buf[0] != 0 {
                return Err("compressed gRPC message".into());
            }
            self.buf.advance(5);
            let body = self.buf.split_to(len);
            out.push(EchoMessage::decode(body.freeze()).map_err(|e| format!("decode: {e}"))?);
        }
        Ok(out)
    }
}

/// A running gRPC echo backend speaking h2c (HTTP/2 without TLS); dropping it stops it.
pub struct GrpcServer {
    server: Background,
    connections: Arc<AtomicUsize>,
    bidi_ended: Arc<AtomicUsize>,
}

/// Counts one ended [`BIDI`] call when dropped, however the handler returns.
struct CallEnded(Arc<AtomicUsize>);

impl Drop for CallEnded {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// === impl GrpcServer ===

impl GrpcServer {
    /// Starts a backend named `name` (also sent as `x-echo-name`).
    pub fn start(name: &str) -> Self {
        let name = name.to_owned();
        let connections = Arc::new(AtomicUsize::new(0));
        let bidi_ended = Arc::new(AtomicUsize::new(0));
        let (counter, ended) = (connections.clone(), bidi_ended.clone());
        let server = Background::spawn(&name.clone(), move |tcp| {
            let name = name.clone();
            let (counter, ended) = (counter.clone(), ended.clone());
            async move {
                let Ok(mut conn) = h2::server::handshake(tcp).await else {
                    return;
                };
                counter.fetch_add(1, Ordering::Relaxed);
                while let Some(Ok((req, respond))) = conn.accept().await {
                    tokio::spawn(handle(req, respond, name.clone(), ended.clone()));
                }
            }
        });
        Self {
            server,
            connections,
            bidi_ended,
        }
    }

    /// [`BIDI`] calls that have ended on the backend side so far (finished, reset or cut
    /// off with their connection).
    pub fn bidi_calls_ended(&self) -> usize {
        self.bidi_ended.load(Ordering::SeqCst)
    }

    /// HTTP/2 connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// The address the backend listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The port the backend listens on.
    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }
}

fn grpc_head(name: &str, status: Option<(&str, &str)>) -> Response<()> {
    let mut b = Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .header("x-echo-name", name);
    if let Some((code, message)) = status {
        b = b
            .header("grpc-status", code)
            .header("grpc-message", message);
    }
    b.body(()).expect("response head")
}

fn grpc_trailers(code: &str, message: Option<&str>) -> HeaderMap {
    let mut t = HeaderMap::new();
    t.insert("grpc-status", code.parse().expect("grpc-status value"));
    if let Some(m) = message {
        t.insert("grpc-message", m.parse().expect("grpc-message value"));
    }
    t
}

async fn next_messages(body: &mut RecvStream, decoder: &mut Decoder) -> Option<Vec<EchoMessage>> {
    let chunk = body.data().await?.ok()?;
    let _ = body.flow_control().release_capacity(chunk.len());
    decoder.push(&chunk).ok()
}

async fn handle(
    req: Request<RecvStream>,
    mut respond: SendResponse<Bytes>,
    name: String,
    bidi_ended: Arc<AtomicUsize>,
) {
    let path = req.uri().path().to_owned();
    let mut body = req.into_body();
    let mut decoder = Decoder::default();
    let reply = |m: &EchoMessage| {
        encode(&EchoMessage {
            text: m.text.clone(),
            served_by: name.clone(),
        })
    };
    match path.as_str() {
        UNARY | SLOW => {
            if path == SLOW {
                tokio::time::sleep(SLOW_DELAY).await;
            }
            let mut got = Vec::new();
            while let Some(msgs) = next_messages(&mut body, &mut decoder).await {
                got.extend(msgs);
            }
            let Some(first) = got.first() else {
                let head = grpc_head(&name, Some(("3", "no request message")));
                let _ = respond.send_response(head, true);
                return;
            };
            let Ok(mut send) = respond.send_response(grpc_head(&name, None), false) else {
                return;
            };
            let _ = send.send_data(reply(first), false);
            let _ = send.send_trailers(grpc_trailers("0", None));
        }
        BIDI => {
            let _ended = CallEnded(bidi_ended);
            let Ok(mut send) = respond.send_response(grpc_head(&name, None), false) else {
                return;
            };
            while let Some(msgs) = next_messages(&mut body, &mut decoder).await {
                for m in &msgs {
                    if send.send_data(reply(m), false).is_err() {
                        return;
                    }
                }
            }
            let _ = send.send_trailers(grpc_trailers("0", None));
        }
        FAIL => {
            while next_messages(&mut body, &mut decoder).await.is_some() {}
            let Ok(mut send) = respond.send_response(grpc_head(&name, None), false) else {
                return;
            };
            let _ = send.send_trailers(grpc_trailers("5", Some("no such echo")));
        }
        FAIL_TRAILERS_ONLY => {
            while next_messages(&mut body, &mut decoder).await.is_some() {}
            let _ = respond.send_response(grpc_head(&name, Some(("5", "no such echo"))), true);
        }
        _ => {
            let _ = respond.send_response(grpc_head(&name, Some(("12", "unknown method"))), true);
        }
    }
}

/// A gRPC client on one HTTP/2 connection; clones share it.
#[derive(Clone)]
pub struct GrpcClient {
    send: SendRequest<Bytes>,
    base: String,
}

/// A finished call.
#[derive(Debug)]
pub struct GrpcReply {
    /// The HTTP status.
    pub http_status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The messages received.
    pub messages: Vec<EchoMessage>,
    /// The trailers (`None` for a trailers-only response, whose status is in `headers`).
    pub trailers: Option<HeaderMap>,
}

/// An open call: send messages and receive replies in any order.
pub struct GrpcCall {
    send: SendStream<Bytes>,
    response: Option<ResponseFuture>,
    head: Option<(StatusCode, HeaderMap)>,
    body: Option<RecvStream>,
    decoder: Decoder,
    pending: VecDeque<EchoMessage>,
}

// === impl GrpcClient ===

impl GrpcClient {
    /// h2c (prior knowledge) to `127.0.0.1:<port>`, with `:authority` `authority`.
    pub async fn h2c(port: u16, authority: &str) -> Result<Self, String> {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        Self::over(tcp, "http", authority).await
    }

    /// HTTP/2 over an open connection (e.g. TLS after ALPN `h2`), with `:scheme`
    /// `scheme` and `:authority` `authority`.
    pub async fn over<S>(io: S, scheme: &str, authority: &str) -> Result<Self, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (send, conn) = timed("HTTP/2 handshake", h2::client::handshake(io))
            .await?
            .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            send,
            base: format!("{scheme}://{authority}"),
        })
    }

    /// Starts a call to `path` (e.g. [`BIDI`]).
    pub async fn call(&mut self, path: &str) -> Result<GrpcCall, String> {
        self.call_with(path, &[]).await
    }

    /// Starts a call to `path` with extra request headers (e.g. `grpc-timeout`).
    pub async fn call_with(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<GrpcCall, String> {
        let mut send = timed("HTTP/2 stream capacity", self.send.clone().ready())
            .await?
            .map_err(|e| format!("{path}: connection not ready: {e}"))?;
        let mut req = Request::post(format!("{}{path}", self.base))
            .header("content-type", "application/grpc")
            .header("te", "trailers");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let req = req
            .body(())
            .map_err(|e| format!("{path}: request head: {e}"))?;
        let (response, stream) = send
            .send_request(req, false)
            .map_err(|e| format!("{path}: send request: {e}"))?;
        Ok(GrpcCall {
            send: stream,
            response: Some(response),
            head: None,
            body: None,
            decoder: Decoder::default(),
            pending: VecDeque::new(),
        })
    }

    /// One unary call to `path` with `msg`.
    pub async fn unary(&mut self, path: &str, msg: &EchoMessage) -> Result<GrpcReply, String> {
        self.unary_with(path, &[], msg).await
    }

    /// One unary call to `path` with extra request headers and `msg`.
    pub async fn unary_with(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        msg: &EchoMessage,
    ) -> Result<GrpcReply, String> {
        let mut call = self.call_with(path, headers).await?;
        call.send_last(msg)?;
        call.finish().await
    }
}

// === impl GrpcCall ===

impl GrpcCall {
    /// Sends `msg`, keeping the request stream open.
    pub fn send(&mut self, msg: &EchoMessage) -> Result<(), String> {
        self.send
            .send_data(encode(msg), false)
            .map_err(|e| format!("send message: {e}"))
    }

    /// Sends `msg` and closes the request stream.
    pub fn send_last(&mut self, msg: &EchoMessage) -> Result<(), String> {
        self.send
            .send_data(encode(msg), true)
            .map_err(|e| format!("send last message: {e}"))
    }

    /// Closes the request stream.
    pub fn close_send(&mut self) -> Result<(), String> {
        self.send
            .send_data(Bytes::new(), true)
            .map_err(|e| format!("close request stream: {e}"))
    }

    /// The response status and headers, waiting for them if needed.
    pub async fn head(&mut self) -> Result<(StatusCode, HeaderMap), String> {
        if let Some(response) = self.response.take() {
            let resp = timed("response headers", response)
                .await?
                .map_err(|e| format!("response headers: {e}"))?;
            let (parts, body) = resp.into_parts();
            self.head = Some((parts.status, parts.headers));
            self.body = Some(body);
        }
        Ok(self.head.clone().expect("head was read"))
    }

    /// The next message; `None` when the response body ended.
    pub async fn recv(&mut self) -> Result<Option<EchoMessage>, String> {
        self.head().await?;
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(Some(m));
            }
            let body = self.body.as_mut().expect("body after head");
            match timed("response message", body.data()).await? {
                None => return Ok(None),
                Some(Err(e)) => return Err(format!("response body: {e}")),
                Some(Ok(chunk)) => {
                    let _ = body.flow_control().release_capacity(chunk.len());
                    let msgs = self.decoder.push(&chunk)?;
                    self.pending.extend(msgs);
                }
            }
        }
    }

    /// Reads the rest of the response: messages, then trailers.
    pub async fn finish(mut self) -> Result<GrpcReply, String> {
        let mut messages = Vec::new();
        while let Some(m) = self.recv().await? {
            messages.push(m);
        }
        let (http_status, headers) = self.head().await?;
        let body = self.body.as_mut().expect("body after head");
        let trailers = timed("trailers", body.trailers())
            .await?
            .map_err(|e| format!("trailers: {e}"))?;
        Ok(GrpcReply {
            http_status,
            headers,
            messages,
            trailers,
        })
    }
}

// === impl GrpcReply ===

impl GrpcReply {
    /// `grpc-status` from the trailers, or from the headers of a trailers-only response.
    pub fn grpc_status(&self) -> Option<String> {
        self.grpc_field("grpc-status")
    }

    /// `grpc-message` from the trailers or trailers-only headers.
    pub fn grpc_message(&self) -> Option<String> {
        self.grpc_field("grpc-message")
    }

    fn grpc_field(&self, name: &str) -> Option<String> {
        self.trailers
            .as_ref()
            .and_then(|t| t.get(name))
            .or_else(|| self.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

async fn timed<T>(what: &str, fut: impl std::future::Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(STEP_TIMEOUT, fut)
        .await
        .map_err(|_| format!("{what}: nothing within {STEP_TIMEOUT:?}"))
}
