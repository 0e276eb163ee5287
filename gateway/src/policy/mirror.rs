//! Mirroring: a copy of each chosen request goes to another upstream, fire and forget, with
//! `-shadow` appended to its Host (as Envoy does). The copy never delays the real request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::upstream::Target;
use async_trait::async_trait;
use bytes::BytesMut;
use pingora::http::RequestHeader;
use pingora::proxy::Session;
use pingora::Result;

use crate::filter::{FilterState, HttpFilter};
use crate::proxy::RequestCtx;

/// Longest time a mirrored request may take before it is dropped.
const MIRROR_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request body copied; larger bodies are not mirrored.
pub const MIRROR_BODY_LIMIT: usize = 1 << 20;

/// Where and how often to mirror.
#[derive(Debug)]
pub struct MirrorPolicy {
    /// The mirror upstream.
    pub target: Arc<Target>,
    /// Percent of requests mirrored.
    pub percentage: u32,
    counter: AtomicU64,
}

/// A request to copy.
#[derive(Debug)]
pub struct MirrorRequest {
    /// Method.
    pub method: String,
    /// Path and query.
    pub uri: String,
    /// Headers (hop-by-hop ones dropped).
    pub headers: Vec<(String, Bytes)>,
    /// Host (gets `-shadow` appended).
    pub host: String,
    /// Body.
    pub body: Bytes,
}

// === impl MirrorPolicy ===

impl MirrorPolicy {
    /// A policy mirroring `percentage`% of requests to `target`.
    pub fn new(target: Arc<Target>, percentage: u32) -> Self {
        Self {
            target,
            percentage,
            counter: AtomicU64::new(0),
        }
    }

    /// Decides whether this request is mirrored (evenly spread: `percentage` of every 100).
    pub fn sample(&self) -> bool {
        let n = self.counter.fetch_add(1, Ordering::Relaxed) % 100;
        // Spread the chosen slots: slot n is chosen when floor((n+1)*p/100) > floor(n*p/100).
        let p = u64::from(self.percentage.min(100));
        (n + 1) * p / 100 > n * p / 100
    }

    /// Sends the copy in the background on the current runtime.
    pub fn send(&self, req: MirrorRequest) {
        let Some(endpoint) = self.target.pick(Default::default()) else {
            tracing::debug!(
                target = self.target.key(),
                "mirror has no endpoint; copy dropped"
            );
            return;
        };
        tokio::spawn(async move {
            let result = tokio::time::timeout(MIRROR_TIMEOUT, send(endpoint.addr(), req)).await;
            match result {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("mirror request failed: {e}"),
                Err(_) => tracing::debug!("mirror request timed out"),
            }
        });
    }
}

// === impl HttpFilter for MirrorPolicy ===

#[async_trait]
impl HttpFilter for MirrorPolicy {
    fn name(&self) -> &str {
        "mirror"
    }

    /// Copies the first attempt's request as sent upstream; a request with a body is sent
    /// once the body is complete (`request_body_filter`).
    async fn upstream_request_filter(
        &self,
        _session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<()> {
        if !ctx.is_first_attempt() || !self.sample() {
            return Ok(());
        }
        let copy = MirrorRequest {
            method: upstream_request.method.to_string(),
            uri: upstream_request
                .uri
                .path_and_query()
                .map_or("/".into(), |p| p.to_string()),
            headers: upstream_request
                .headers
                .iter()
                .filter(|(n, _)| !is_hop_by_hop(n.as_str()))
                .map(|(n, v)| (n.as_str().to_string(), Bytes::copy_from_slice(v.as_bytes())))
                .collect(),
            host: ctx.host().to_owned(),
            body: Bytes::new(),
        };
        let has_body = upstream_request
            .headers
            .contains_key(http::header::TRANSFER_ENCODING)
            || upstream_request
                .headers
                .get(http::header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0");
        if has_body {
            *state = Some(Box::new(copy));
        } else {
            self.send(copy);
        }
        Ok(())
    }

    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        _ctx: &mut RequestCtx,
        state: &mut FilterState,
    ) -> Result<()> {
        let Some(copy) = state
            .as_mut()
            .and_then(|s| s.downcast_mut::<MirrorRequest>())
        else {
            return Ok(());
        };
        if let Some(chunk) = body {
            if copy.body.len() + chunk.len() > MIRROR_BODY_LIMIT {
                tracing::debug!("request body too large to mirror; copy dropped");
                *state = None;
                return Ok(());
            }
            let mut buf = BytesMut::from(&copy.body[..]);
            buf.extend_from_slice(chunk);
            copy.body = buf.freeze();
        }
        if end_of_stream {
            if let Some(copy) = state
                .take()
                .and_then(|s| s.downcast::<MirrorRequest>().ok())
            {
                self.send(*copy);
            }
        }
        Ok(())
    }
}

async fn send(addr: std::net::SocketAddr, req: MirrorRequest) -> std::io::Result<()> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: {}-shadow\r\n",
        req.method, req.uri, req.host
    );
    for (name, value) in &req.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(&String::from_utf8_lossy(value));
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        req.body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&req.body).await?;
    let mut sink = [0u8; 4096];
    while stream.read(&mut sink).await? > 0 {}
    Ok(())
}

/// Headers not copied to a mirror request.
pub fn is_hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "host"
            | "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "content-length"
            | "te"
            | "trailer"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::TargetSpec;

    #[test]
    fn samples_the_percentage() {
        let t = Arc::new(Target::new(
            "k".into(),
            TargetSpec::Static(vec![]),
            Default::default(),
        ));
        for pct in [0u32, 10, 50, 100] {
            let m = MirrorPolicy::new(t.clone(), pct);
            let n = (0..1000).filter(|_| m.sample()).count();
            assert_eq!(n as u32, pct * 10, "{pct}%");
        }
    }
}
