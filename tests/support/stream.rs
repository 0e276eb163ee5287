//! A streaming HTTP/1.1 backend on `127.0.0.1:0`: `GET /events` answers a chunked
//! `text/event-stream` and writes each event only when the test hands it over, so a
//! client can prove it got one event before the next was even sent. Any other path
//! answers a short `200` (for readiness polling). Every reply carries `x-echo-name`.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, Mutex};

use crate::backend::{read_request_head, Background};

/// A running streaming backend; dropping it stops it.
pub struct StreamServer {
    events: mpsc::UnboundedSender<Option<String>>,
    server: Background,
}

// === impl StreamServer ===

impl StreamServer {
    /// Starts a backend named `name`. Events go to whichever `/events` request is open.
    pub fn start(name: &str) -> Self {
        let (tx, rx) = mpsc::unbounded_channel::<Option<String>>();
        let rx = Arc::new(Mutex::new(rx));
        let name = name.to_owned();
        let server = Background::spawn(&name.clone(), move |mut tcp| {
            let rx = rx.clone();
            let name = name.clone();
            async move {
                let mut buf = Vec::new();
                let Some(head) = read_request_head(&mut tcp, &mut buf).await else {
                    return;
                };
                if !head.target.starts_with("/events") {
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: 3\r\nconnection: close\r\nx-echo-name: {name}\r\n\r\nok\n"
                    );
                    let _ = tcp.write_all(reply.as_bytes()).await;
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\nx-echo-name: {name}\r\n\r\n"
                );
                if tcp.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let _ = tcp.flush().await;
                let mut rx = rx.lock().await;
                while let Some(Some(event)) = rx.recv().await {
                    let chunk = format!("{:x}\r\n{event}\r\n", event.len());
                    if tcp.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                    let _ = tcp.flush().await;
                }
                let _ = tcp.write_all(b"0\r\n\r\n").await;
                let _ = tcp.flush().await;
            }
        });
        Self { events: tx, server }
    }

    /// The port the backend listens on.
    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// The address the backend listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Writes `event` (as one chunk) to the open `/events` stream, now.
    pub fn send(&self, event: &str) {
        self.events
            .send(Some(event.to_owned()))
            .expect("stream backend is running");
    }

    /// Ends the open `/events` stream (the last chunk).
    pub fn end(&self) {
        self.events.send(None).expect("stream backend is running");
    }
}
