//! A WebSocket echo backend on `127.0.0.1:0` (tokio-tungstenite) and a client helper.
//!
//! The backend answers text frames with `<name>: <text>` and binary frames with the same
//! bytes. Its handshake response names it in `x-echo-name` and copies the request's
//! `x-rev` header into `x-rev-seen`, so a new handshake shows which config revision the
//! gateway applied.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::backend::Background;

/// How long a handshake or one frame exchange may take. Default: 10 s.
const WS_TIMEOUT: Duration = Duration::from_secs(10);

/// A client WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// A running WebSocket echo backend; dropping it closes every socket.
pub struct WsEchoServer {
    server: Background,
}

// === impl WsEchoServer ===

impl WsEchoServer {
    /// Starts a backend named `name`.
    pub fn start(name: &str) -> Self {
        let name = name.to_owned();
        let server = Background::spawn(&name.clone(), move |tcp| {
            let name = name.clone();
            async move {
                let header_name = name.clone();
                // The callback's signature is tungstenite's.
                #[allow(clippy::result_large_err)]
                let callback =
                    move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
                        let headers = resp.headers_mut();
                        if let Ok(v) = HeaderValue::from_str(&header_name) {
                            headers.insert("x-echo-name", v);
                        }
                        if let Some(rev) = req.headers().get("x-rev") {
                            headers.insert("x-rev-seen", rev.clone());
                        }
                        Ok(resp)
                    };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                    return;
                };
                while let Some(Ok(msg)) = ws.next().await {
                    let reply = match msg {
                        Message::Text(text) => Message::text(format!("{name}: {}", text.as_str())),
                        Message::Binary(bytes) => Message::Binary(bytes),
                        Message::Close(_) => break,
                        _ => continue,
                    };
                    if ws.send(reply).await.is_err() {
                        break;
                    }
                }
            }
        });
        Self { server }
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

/// What the server answered to a WebSocket handshake.
#[derive(Debug, Clone)]
pub struct WsHandshake {
    /// `x-echo-name` of the backend that accepted.
    pub echo_name: Option<String>,
    /// `x-rev-seen`: the `x-rev` request header the backend got.
    pub rev_seen: Option<String>,
}

/// Opens `ws://<host><path>` through `127.0.0.1:<port>`, with extra request `headers`.
pub async fn ws_connect(
    port: u16,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Ws, WsHandshake), String> {
    let url = format!("ws://{host}{path}");
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| format!("request for {url}: {e}"))?;
    for (name, value) in headers {
        let header =
            HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("header {name}: {e}"))?;
        let value = HeaderValue::from_str(value).map_err(|e| format!("header {name}: {e}"))?;
        req.headers_mut().insert(header, value);
    }
    let attempt = async {
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        tokio_tungstenite::client_async(req, tcp)
            .await
            .map_err(|e| format!("WebSocket handshake for {url} via port {port}: {e}"))
    };
    let (ws, resp) = tokio::time::timeout(WS_TIMEOUT, attempt)
        .await
        .map_err(|_| format!("WebSocket handshake for {url}: no answer within {WS_TIMEOUT:?}"))??;
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let handshake = WsHandshake {
        echo_name: header("x-echo-name"),
        rev_seen: header("x-rev-seen"),
    };
    Ok((ws, handshake))
}

/// Sends text frame `text` and returns the text of the next data frame.
pub async fn ws_exchange(ws: &mut Ws, text: &str) -> Result<String, String> {
    let exchange = async {
        ws.send(Message::text(text))
            .await
            .map_err(|e| format!("send {text:?}: {e}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(reply))) => return Ok(reply.as_str().to_owned()),
                Some(Ok(Message::Binary(b))) => return Ok(String::from_utf8_lossy(&b).into_owned()),
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!(
                        "socket closed by peer ({frame:?}) after sending {text:?}"
                    ))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("receive after {text:?}: {e}")),
                None => return Err(format!("socket ended after sending {text:?}")),
            }
        }
    };
    tokio::time::timeout(WS_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no reply to {text:?} within {WS_TIMEOUT:?}"))?
}

/// Sends binary frame `data` and returns the bytes of the next binary frame.
pub async fn ws_exchange_binary(ws: &mut Ws, data: &[u8]) -> Result<Vec<u8>, String> {
    let exchange = async {
        ws.send(Message::Binary(data.to_vec().into()))
            .await
            .map_err(|e| format!("send binary: {e}"))?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Binary(reply))) => return Ok(reply.to_vec()),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(other)) => return Err(format!("expected a binary frame, got {other:?}")),
                Some(Err(e)) => return Err(format!("receive binary: {e}")),
                None => return Err("socket ended after a binary frame".into()),
            }
        }
    };
    tokio::time::timeout(WS_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no binary reply within {WS_TIMEOUT:?}"))?
}
