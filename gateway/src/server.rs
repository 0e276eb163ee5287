//! The Pingora server hosting the gateway's listeners: HTTP/1.1 and h2c (prior knowledge)
//! on the HTTP port; TLS with ALPN h2 / http/1.1 and certificates by SNI on the HTTPS port.
//! It also owns the process signals: SIGTERM and SIGINT drain, SIGHUP reloads, SIGQUIT hands
//! the listening sockets to a new process.

use pingora::apps::HttpServerOptions;
use pingora::listeners::tls::TlsSettings;
use pingora::listeners::{ConnectionLimit, L4BufferSettings, ListenerConfig};
use pingora::protocols::http::v2::server::H2Options;
use pingora::server::configuration::{Opt, ServerConf};
use pingora::server::{RunArgs, Server, ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{signal, Signal, SignalKind};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

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

/// A callback run on SIGHUP (re-read the configuration).
pub type ReloadHook = Arc<dyn Fn() + Send + Sync>;

/// How the data plane admits connections and stops.
pub struct ServerOptions {
    /// The most open downstream connections, both ports together; idle keep-alive
    /// connections are shed first to admit new ones. `None`: no limit.
    pub max_connections: Option<usize>,
    /// How long a stop (SIGTERM, SIGINT, SIGQUIT) waits for requests in flight (whole
    /// seconds, rounded up) before the process exits.
    pub drain_timeout: Duration,
    /// Take the listening sockets over from the running process that gets SIGQUIT.
    pub upgrade: bool,
    /// The unix socket of that hand-over; `None` turns SIGQUIT hand-over off (ignored).
    pub upgrade_socket: Option<PathBuf>,
    /// Run on SIGHUP.
    pub on_reload: Option<ReloadHook>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            max_connections: None,
            drain_timeout: Duration::from_secs(30),
            upgrade: false,
            upgrade_socket: None,
            on_reload: None,
        }
    }
}

/// Most idle upstream connections kept for reuse, over all upstreams (beyond each worker's
/// own 32): 1,024, Envoy's default connection limit per cluster.
const UPSTREAM_KEEPALIVE_POOL: usize = 1024;

/// Runs the data plane on the calling thread with one worker per core until a stop signal
/// has drained it, then exits the process (0).
pub fn run_forever(gateway: &Gateway, listeners: &Listeners, options: ServerOptions) -> ! {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let drain_secs = options
        .drain_timeout
        .as_secs()
        .saturating_add(u64::from(options.drain_timeout.subsec_nanos() > 0));
    let conf = ServerConf {
        threads,
        // The grace period ends early once no connection is left (set_drain_check below).
        grace_period_seconds: Some(drain_secs),
        // Past the drain, the runtimes stop at once; what is left is cut.
        graceful_shutdown_timeout_seconds: Some(1),
        // Pingora's default, 128, made HTTP/2 clients with 500 streams in flight reconnect
        // upstream for about 6 % of their requests (bench/compare.sh "HTTP/2").
        upstream_keepalive_pool_size: UPSTREAM_KEEPALIVE_POOL,
        upgrade_sock: options
            .upgrade_socket
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        ..ServerConf::default()
    };
    let opt = Opt {
        upgrade: options.upgrade,
        ..Opt::default()
    };
    let mut server = Server::new_with_opt_and_conf(opt, conf);
    if options.upgrade {
        tracing::info!("waiting for the listening sockets of the running gantry (send it SIGQUIT)");
    }
    server.bootstrap();
    let limit = options
        .max_connections
        .map_or_else(ConnectionLimit::unlimited, ConnectionLimit::new);
    let open = limit.clone();
    server.set_drain_check(move || open.open() == 0);
    let mut service = pingora::proxy::http_proxy_service_with_name(
        &server.configuration,
        gateway.proxy(),
        "gantry",
    );
    service.set_connection_limit(limit);
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
    match options.max_connections {
        Some(max) => tracing::info!(max_connections = max, "gantry ready"),
        None => tracing::info!("gantry ready"),
    }
    let signals = Signals {
        on_reload: options.on_reload,
        hand_over: options.upgrade_socket.is_some(),
    };
    server.run(RunArgs {
        shutdown_signal: Box::new(signals),
    });
    tracing::info!("gantry stopped");
    std::process::exit(0)
}

/// The process signals the data plane answers.
///
/// - SIGTERM, SIGINT: stop accepting, drain requests in flight, exit 0; a second one exits
///   at once (1).
/// - SIGHUP: run the reload hook and keep serving.
/// - SIGQUIT: hand the listening sockets to a process started with `upgrade`, then drain.
struct Signals {
    on_reload: Option<ReloadHook>,
    /// Whether SIGQUIT hands the sockets over (an upgrade socket is set).
    hand_over: bool,
}

#[async_trait::async_trait]
impl ShutdownSignalWatch for Signals {
    async fn recv(&self) -> ShutdownSignal {
        let (Some(mut term), Some(mut int), Some(mut quit), Some(mut hup)) = (
            watch(SignalKind::terminate()),
            watch(SignalKind::interrupt()),
            watch(SignalKind::quit()),
            watch(SignalKind::hangup()),
        ) else {
            return std::future::pending().await;
        };
        loop {
            let (name, signal) = tokio::select! {
                _ = term.recv() => ("SIGTERM", ShutdownSignal::GracefulTerminate),
                _ = int.recv() => ("SIGINT", ShutdownSignal::GracefulTerminate),
                _ = quit.recv() => {
                    if !self.hand_over {
                        tracing::warn!("SIGQUIT ignored: socket hand-over is off");
                        continue;
                    }
                    ("SIGQUIT", ShutdownSignal::GracefulUpgrade)
                }
                _ = hup.recv() => {
                    tracing::info!("SIGHUP: re-reading the configuration");
                    if let Some(reload) = &self.on_reload {
                        reload();
                    }
                    continue;
                }
            };
            tracing::info!("{name}: no new connections; draining requests in flight");
            tokio::spawn(async move {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
                tracing::warn!("second stop signal: exiting without waiting for requests");
                std::process::exit(1);
            });
            return signal;
        }
    }
}

/// Listens for `kind`; logs and returns `None` when the handler cannot be installed.
fn watch(kind: SignalKind) -> Option<Signal> {
    signal(kind)
        .map_err(|e| tracing::error!("cannot handle signal {kind:?}: {e}"))
        .ok()
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
