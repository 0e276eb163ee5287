//! The Pingora server hosting the gateway's listeners.

use pingora::server::configuration::ServerConf;
use pingora::server::Server;

use crate::gateway::Gateway;

/// Listener addresses (`host:port`); `None` leaves a listener off.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    /// Plain HTTP/1.1 listener.
    pub http: Option<String>,
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
    if let Some(addr) = &listeners.http {
        let mut service = pingora::proxy::http_proxy_service_with_name(
            &server.configuration,
            gateway.proxy(),
            "gantry-http",
        );
        service.add_tcp(addr);
        server.add_service(service);
        tracing::info!("gateway listening on http://{addr}");
    }
    tracing::info!("gantry ready");
    server.run_forever()
}
