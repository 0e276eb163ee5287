//! The Pingora server hosting the gateway's listeners: HTTP/1.1 and h2c (prior knowledge)
//! on the HTTP port; TLS with ALPN h2 / http/1.1 and certificates by SNI on the HTTPS port.

use pingora::apps::HttpServerOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{L4BufferSettings, ListenerConfig};
use pingora::protocols::http::v2::server::H2Options;
use pingora::server::configuration::ServerConf;
use pingora::server::Server;

use std::sync::Arc;

use crate::gateway::Gateway;
use crate::tls::handshake::{HandshakeInfo, OptionalClientCert};

/// Listener addresses (`host:port`); `None` leaves a listener off.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    /// Plain HTTP (HTTP/1.1 and h2c).
    pub http: Option<String>,
    /// HTTPS.
    pub https: Option<String>,
}

/// Runs the data plane on the calling thread with one worker per core, until the process
/// is signalled (SIGINT: fast stop, SIGTERM: graceful).
pub fn run_forever(gateway: &Gateway, listeners: &Listeners) -> ! {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let conf = ServerConf {
        threads,
        grace_period_seconds: Some(1),
        graceful_shutdown_timeout_seconds: Some(5),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut service = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        gateway.proxy(),
        "gantry",
    );
    if let Some(proxy) = service.app_logic_mut() {
        let mut options = HttpServerOptions::default();
        options.h2c = true;
        proxy.server_options = Some(options);
        // `downstream.http2` as in force at start (listeners are built once).
        let h2 = gateway.table().global().http2;
        let mut builder = H2Options::new();
        builder
            .max_concurrent_streams(h2.max_concurrent_streams)
            .initial_window_size(h2.initial_stream_window_size)
            .initial_connection_window_size(h2.initial_connection_window_size);
        proxy.h2_options = Some(builder);
    }
    if let Some(addr) = &listeners.http {
        service.add_listener(ListenerConfig::tcp(addr).l4_buffer(plain_buffers()));
        tracing::info!("gateway listening on http://{addr} (HTTP/1.1, h2c)");
    }
    if let Some(addr) = &listeners.https {
        match TlsSettings::with_callbacks(Box::new(HandshakeInfo)) {
            Ok(mut tls) => {
                tls.set_cert_resolver(gateway.cert_resolver());
                tls.set_client_cert_verifier(Arc::new(OptionalClientCert::new(
                    gateway.offer_client_certs(),
                )));
                tls.enable_h2();
                service.add_listener(ListenerConfig::tcp(addr).tls(tls).l4_buffer(tls_buffers()));
                tracing::info!("gateway listening on https://{addr} (HTTP/1.1, h2)");
            }
            Err(e) => tracing::error!("HTTPS listener {addr} not started: {e}"),
        }
    }
    server.add_service(service);
    tracing::info!("gantry ready");
    server.run_forever()
}

/// Per-connection L4 buffers on the plain-HTTP port: none for reads. Pingora reads the
/// request head into a buffer of its own, so its default 64 KiB read buffer under it only
/// cost memory per keep-alive connection (95 → 35 KiB each idle, same syscalls per request).
fn plain_buffers() -> L4BufferSettings {
    L4BufferSettings::default().read(0)
}

/// Per-connection L4 buffers on the HTTPS port: 16 KiB, one TLS record, for rustls's reads.
fn tls_buffers() -> L4BufferSettings {
    L4BufferSettings::default().read(16 * 1024)
}
