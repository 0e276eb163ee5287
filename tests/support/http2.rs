//! A one-shot HTTP/2 GET over any connection: h2c prior knowledge on plain TCP, or TLS
//! after ALPN `h2`.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};

/// How long the whole exchange may take. Default: 10 s.
const H2_TIMEOUT: Duration = Duration::from_secs(10);

/// An HTTP/2 response read in full.
#[derive(Debug)]
pub struct H2Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, UTF-8 (lossy).
    pub body: String,
}

// === impl H2Reply ===

impl H2Reply {
    /// The `x-echo-name` header.
    pub fn echo_name(&self) -> Option<&str> {
        self.headers
            .get("x-echo-name")
            .and_then(|v| v.to_str().ok())
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response body is not JSON ({e}): {:?}", self.body))
    }
}

/// Handshakes HTTP/2 on `io` and sends `GET <scheme>://<authority><path>`.
pub async fn h2_get<S>(io: S, scheme: &str, authority: &str, path: &str) -> Result<H2Reply, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let url = format!("{scheme}://{authority}{path}");
    let exchange = async {
        let (send, conn) = h2::client::handshake(io)
            .await
            .map_err(|e| format!("HTTP/2 handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut send = send.ready().await.map_err(|e| format!("not ready: {e}"))?;
        let req = Request::get(&url).body(()).expect("request head");
        let (response, _) = send
            .send_request(req, true)
            .map_err(|e| format!("send: {e}"))?;
        let resp = response.await.map_err(|e| format!("response: {e}"))?;
        let (parts, mut body) = resp.into_parts();
        let mut data = Vec::new();
        while let Some(chunk) = body.data().await {
            let chunk: Bytes = chunk.map_err(|e| format!("body: {e}"))?;
            let _ = body.flow_control().release_capacity(chunk.len());
            data.extend_from_slice(&chunk);
        }
        Ok(H2Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&data).into_owned(),
        })
    };
    tokio::time::timeout(H2_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("GET {url} over HTTP/2: no answer within {H2_TIMEOUT:?}"))?
        .map_err(|e: String| format!("GET {url} over HTTP/2: {e}"))
}
