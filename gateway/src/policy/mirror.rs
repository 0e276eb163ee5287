//! Mirroring: a copy of each chosen request goes to another upstream, fire and forget, with
//! `-shadow` appended to its Host (as Envoy does). The copy never delays the real request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::upstream::Target;

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
