//! A backend that holds every request until the test releases it: it counts requests as
//! they arrive, then answers `200` (`x-echo-name: <name>`, body `released`) once
//! [`HoldServer::release`] is called. Connections it holds keep the gateway busy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use crate::backend::{read_request_head, Background};

/// A running holding backend; dropping it stops it.
pub struct HoldServer {
    arrived: Arc<AtomicU64>,
    release: watch::Sender<bool>,
    server: Background,
}

// === impl HoldServer ===

impl HoldServer {
    /// Starts a backend named `name` holding every request.
    pub fn start(name: &str) -> Self {
        let arrived = Arc::new(AtomicU64::new(0));
        let (release, released) = watch::channel(false);
        let counter = arrived.clone();
        let name = name.to_owned();
        let server = Background::spawn(&name.clone(), move |mut tcp| {
            let counter = counter.clone();
            let mut released = released.clone();
            let name = name.clone();
            async move {
                let mut buf = Vec::new();
                while read_request_head(&mut tcp, &mut buf).await.is_some() {
                    counter.fetch_add(1, Ordering::SeqCst);
                    if released.wait_for(|r| *r).await.is_err() {
                        return;
                    }
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: 8\r\nx-echo-name: {name}\r\n\r\nreleased"
                    );
                    if tcp.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            }
        });
        Self {
            arrived,
            release,
            server,
        }
    }

    /// The address the backend listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// How many requests have arrived so far (held or answered).
    pub fn arrived(&self) -> u64 {
        self.arrived.load(Ordering::SeqCst)
    }

    /// Answers every held request, and every later one at once.
    pub fn release(&self) {
        self.release.send_replace(true);
    }
}
