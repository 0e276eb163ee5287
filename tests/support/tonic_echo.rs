//! A tonic client for the echo service of [`crate::grpc`], as a Rust gRPC user would call it:
//! tonic's `client::Grpc` over its hyper channel with the prost codec (what generated clients
//! do underneath; no codegen here). Errors are tonic `Status`es, so tests see what such a
//! client sees.

use std::time::Duration;

use http::uri::PathAndQuery;
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status, Streaming};
use tonic_prost::ProstCodec;

use crate::grpc::EchoMessage;

/// A tonic channel to the gateway, sending `:authority` = the host it was made for.
pub struct TonicEcho {
    grpc: tonic::client::Grpc<Channel>,
}

// === impl TonicEcho ===

impl TonicEcho {
    /// Connects (h2c) to `127.0.0.1:<port>`, with `authority` as every call's `:authority`.
    pub async fn connect(port: u16, authority: &str) -> Result<Self, String> {
        let origin = format!("http://{authority}")
            .parse()
            .map_err(|e| format!("origin {authority}: {e}"))?;
        let channel = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
            .map_err(|e| format!("endpoint: {e}"))?
            .origin(origin)
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| format!("connect 127.0.0.1:{port}: {e}"))?;
        Ok(Self {
            grpc: tonic::client::Grpc::new(channel),
        })
    }

    /// One unary call to `path`.
    pub async fn unary(
        &mut self,
        path: &'static str,
        msg: EchoMessage,
    ) -> Result<EchoMessage, Status> {
        self.ready().await?;
        let codec = ProstCodec::<EchoMessage, EchoMessage>::default();
        let reply = self
            .grpc
            .unary(Request::new(msg), PathAndQuery::from_static(path), codec)
            .await?;
        Ok(reply.into_inner())
    }

    /// A bidirectional call to `path`: messages sent on `requests` go out as they come, and
    /// the call's request side ends when `requests` closes.
    pub async fn bidi(
        &mut self,
        path: &'static str,
        requests: mpsc::Receiver<EchoMessage>,
    ) -> Result<Streaming<EchoMessage>, Status> {
        self.ready().await?;
        let codec = ProstCodec::<EchoMessage, EchoMessage>::default();
        let stream = futures_util::stream::unfold(requests, |mut rx| async move {
            rx.recv().await.map(|m| (m, rx))
        });
        let replies = self
            .grpc
            .streaming(Request::new(stream), PathAndQuery::from_static(path), codec)
            .await?;
        Ok(replies.into_inner())
    }

    async fn ready(&mut self) -> Result<(), Status> {
        self.grpc
            .ready()
            .await
            .map_err(|e| Status::unavailable(format!("channel not ready: {e}")))
    }
}
