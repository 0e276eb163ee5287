//! An HTTPS/1.1 backend on `127.0.0.1:0` with a self-signed certificate: answers every
//! request with `200`, `x-echo-name: <name>` and a JSON body
//! `{"name", "method", "path", "host", "sni"}` (`sni`: the name the client sent, or null).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rustls::ServerConfig;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_rustls::TlsAcceptor;

use crate::backend::{read_request_head, Background};
use crate::tls::TestCert;

/// A running HTTPS echo backend; dropping it stops it.
pub struct HttpsEchoServer {
    handshakes: Arc<AtomicU64>,
    server: Background,
}

// === impl HttpsEchoServer ===

impl HttpsEchoServer {
    /// Starts a backend named `name` presenting `cert` (ALPN `http/1.1`).
    pub fn start(name: &str, cert: &TestCert) -> Self {
        Self::start_with(name, cert, None)
    }

    /// Like [`Self::start`], but the handshake requires a client certificate issued by
    /// `client_ca`.
    pub fn start_mtls(name: &str, cert: &TestCert, client_ca: &TestCert) -> Self {
        Self::start_with(name, cert, Some(client_ca))
    }

    fn start_with(name: &str, cert: &TestCert, client_ca: Option<&TestCert>) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("TLS versions");
        let builder = match client_ca {
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots.add(ca.der.clone()).expect("client CA");
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .expect("client verifier");
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let mut config = builder
            .with_single_cert(vec![cert.der.clone()], cert.key())
            .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let handshakes = Arc::new(AtomicU64::new(0));
        let counter = handshakes.clone();
        let name = name.to_owned();
        let server = Background::spawn(&name.clone(), move |tcp| {
            let acceptor = acceptor.clone();
            let name = name.clone();
            let counter = counter.clone();
            async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                counter.fetch_add(1, Ordering::SeqCst);
                let sni = tls.get_ref().1.server_name().map(str::to_owned);
                let mut buf = Vec::new();
                while let Some(head) = read_request_head(&mut tls, &mut buf).await {
                    let body = json!({
                        "name": name,
                        "method": head.method,
                        "path": head.target,
                        "host": head.header("host"),
                        "sni": sni,
                    })
                    .to_string();
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-echo-name: {name}\r\n\r\n{body}",
                        body.len()
                    );
                    if tls.write_all(reply.as_bytes()).await.is_err() || tls.flush().await.is_err()
                    {
                        return;
                    }
                }
            }
        });
        Self { handshakes, server }
    }

    /// The address the backend listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The port the backend listens on.
    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// How many TLS handshakes completed so far.
    pub fn handshakes(&self) -> u64 {
        self.handshakes.load(Ordering::SeqCst)
    }
}
