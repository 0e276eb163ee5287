// Copyright 2026 Cloudflare, Inc.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

//! The listening service
//!
//! A [Service] (listening service) responds to incoming requests on its endpoints.
//! Each [Service] can be configured with custom application logic (e.g. an `HTTPProxy`) and one or
//! more endpoints to listen to.

use crate::apps::ServerApp;
use crate::listeners::tls::TlsSettings;
#[cfg(feature = "connection_filter")]
use crate::listeners::AcceptAllFilter;
use crate::listeners::{
    connection_limit, ConnectionFilter, ConnectionLimit, ListenerConfig, Listeners, ServerAddress,
    TcpSocketOptions, TransportStack,
};
use crate::protocols::Stream;
#[cfg(unix)]
use crate::server::ListenFds;
use crate::server::{RuntimeOpts, ShutdownWatch};
use crate::services::Service as ServiceTrait;

use async_trait::async_trait;
use log::{debug, error, info, warn};
use pingora_error::Result;
use pingora_runtime::current_handle;
use pingora_timeout::timeout;
use std::fs::Permissions;
use std::sync::Arc;
use std::time::Duration;

/// Override the runtime options used to run a listening service.
pub type RuntimeOptsOverride = Arc<dyn Fn(&RuntimeOpts) -> Option<RuntimeOpts> + Send + Sync>;

/// The type of service that is associated with a list of listening endpoints and a particular application
pub struct Service<A> {
    name: String,
    listeners: Listeners,
    app_logic: Option<A>,
    /// The number of preferred threads. `None` to follow global setting.
    pub threads: Option<usize>,
    runtime_opts_override: Option<RuntimeOptsOverride>,
    #[cfg(feature = "connection_filter")]
    connection_filter: Arc<dyn ConnectionFilter>,
    // Gantry patch: optional limit on open downstream connections.
    connection_limit: Option<ConnectionLimit>,
}

/// Gantry patch: the first and the longest pause of the accept loop after accept() ran out of
/// file descriptors or memory (doubling in between, as Go's `net/http` server does).
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Gantry patch: the pause after shedding an idle connection to free a descriptor.
const ACCEPT_AFTER_SHED: Duration = Duration::from_millis(1);
/// Gantry patch: at most one warning per this period while accept() keeps failing.
const ACCEPT_REPORT_EVERY: Duration = Duration::from_secs(10);
/// Gantry patch: on stop, how long a connection accepted just before may take to send its
/// first request and still be served.
const FRESH_GRACE: Duration = Duration::from_secs(2);

impl<A> Service<A> {
    /// Create a new [`Service`] with the given application (see [`crate::apps`]).
    pub fn new(name: String, app_logic: A) -> Self {
        Service {
            name,
            listeners: Listeners::new(),
            app_logic: Some(app_logic),
            threads: None,
            runtime_opts_override: None,
            #[cfg(feature = "connection_filter")]
            connection_filter: Arc::new(AcceptAllFilter),
            connection_limit: None,
        }
    }

    /// Create a new [`Service`] with the given application (see [`crate::apps`]) and the given
    /// [`Listeners`].
    pub fn with_listeners(name: String, listeners: Listeners, app_logic: A) -> Self {
        Service {
            name,
            listeners,
            app_logic: Some(app_logic),
            threads: None,
            runtime_opts_override: None,
            #[cfg(feature = "connection_filter")]
            connection_filter: Arc::new(AcceptAllFilter),
            connection_limit: None,
        }
    }

    /// Set a runtime options override for this service.
    ///
    /// Returning [`None`] from the override uses the global runtime options.
    pub fn set_runtime_opts_override(&mut self, override_fn: RuntimeOptsOverride) {
        self.runtime_opts_override = Some(override_fn);
    }

    /// Set a custom connection filter for this service.
    ///
    /// The connection filter will be applied to all incoming connections
    /// on all endpoints of this service. Connections that don't pass the
    /// filter will be dropped immediately at the TCP level, before TLS
    /// handshake or any HTTP processing.
    ///
    /// # Feature Flag
    ///
    /// This method requires the `connection_filter` feature to be enabled.
    /// When the feature is disabled, this method is a no-op.
    ///
    /// # Example
    ///
    /// ```rust,no_run
    /// # use std::sync::Arc;
    /// # use pingora_core::listeners::{ConnectionFilter, AcceptAllFilter};
    /// # struct MyService;
    /// # impl MyService {
    /// #   fn new() -> Self { MyService }
    /// # }
    /// let mut service = MyService::new();
    /// let filter = Arc::new(AcceptAllFilter);
    /// service.set_connection_filter(filter);
    /// ```
    #[cfg(feature = "connection_filter")]
    pub fn set_connection_filter(&mut self, filter: Arc<dyn ConnectionFilter>) {
        self.connection_filter = filter.clone();
        self.listeners.set_connection_filter(filter);
    }

    #[cfg(not(feature = "connection_filter"))]
    pub fn set_connection_filter(&mut self, _filter: Arc<dyn ConnectionFilter>) {}

    /// Gantry patch: limits the open downstream connections of every endpoint of this service
    /// together. At the limit an idle connection (one waiting for a request) is closed to
    /// admit a new one; with none idle the new connection is closed. Default: no limit.
    pub fn set_connection_limit(&mut self, limit: ConnectionLimit) {
        self.connection_limit = Some(limit);
    }

    /// Get the [`Listeners`], mostly to add more endpoints.
    pub fn endpoints(&mut self) -> &mut Listeners {
        &mut self.listeners
    }

    // the follow add* function has no effect if the server is already started

    /// Add a TCP listening endpoint with the given address (e.g., `127.0.0.1:8000`).
    pub fn add_tcp(&mut self, addr: &str) {
        self.listeners.add_tcp(addr);
    }

    /// Add a listening endpoint configured by a [`ListenerConfig`].
    pub fn add_listener(&mut self, endpoint: ListenerConfig) {
        self.listeners.add_listener(endpoint);
    }

    /// Add a TCP listening endpoint with the given [`TcpSocketOptions`].
    pub fn add_tcp_with_settings(&mut self, addr: &str, sock_opt: TcpSocketOptions) {
        self.listeners.add_tcp_with_settings(addr, sock_opt);
    }

    /// Add a Unix domain socket listening endpoint with the given path.
    ///
    /// Optionally take a permission of the socket file. The default is read and write access for
    /// everyone (0o666).
    #[cfg(unix)]
    pub fn add_uds(&mut self, addr: &str, perm: Option<Permissions>) {
        self.listeners.add_uds(addr, perm);
    }

    /// Add a TLS listening endpoint with the given certificate and key paths.
    pub fn add_tls(&mut self, addr: &str, cert_path: &str, key_path: &str) -> Result<()> {
        self.listeners.add_tls(addr, cert_path, key_path)
    }

    /// Add a TLS listening endpoint with the given [`TlsSettings`] and [`TcpSocketOptions`].
    pub fn add_tls_with_settings(
        &mut self,
        addr: &str,
        sock_opt: Option<TcpSocketOptions>,
        settings: TlsSettings,
    ) {
        self.listeners
            .add_tls_with_settings(addr, sock_opt, settings)
    }

    /// Add an endpoint according to the given [`ServerAddress`]
    pub fn add_address(&mut self, addr: ServerAddress) {
        self.listeners.add_address(addr);
    }

    /// Get a reference to the application inside this service
    pub fn app_logic(&self) -> Option<&A> {
        self.app_logic.as_ref()
    }

    /// Get a mutable reference to the application inside this service
    pub fn app_logic_mut(&mut self) -> Option<&mut A> {
        self.app_logic.as_mut()
    }
}

impl<A: ServerApp + Send + Sync + 'static> Service<A> {
    pub async fn handle_event(event: Stream, app_logic: Arc<A>, shutdown: ShutdownWatch) {
        debug!("new event!");
        let mut reuse_event = app_logic.process_new(event, &shutdown).await;
        while let Some(event) = reuse_event {
            // TODO: with no steal runtime, consider spawn() the next event on
            // another thread for more evenly load balancing
            debug!("new reusable event!");
            reuse_event = app_logic.process_new(event, &shutdown).await;
        }
    }

    async fn run_endpoint(
        app_logic: Arc<A>,
        mut stack: TransportStack,
        mut shutdown: ShutdownWatch,
        limit: Option<ConnectionLimit>,
    ) {
        // Gantry patch: back-off state while accept() fails for lack of descriptors.
        let mut backoff = Duration::ZERO;
        let mut failed_accepts: u64 = 0;
        let mut last_report: Option<std::time::Instant> = None;
        // the accept loop, until the system is shutting down
        loop {
            let new_io = tokio::select! { // TODO: consider biased for perf reason?
                new_io = stack.accept() => new_io,
                shutdown_signal = shutdown.changed() => {
                    match shutdown_signal {
                        Ok(()) => {
                            if !*shutdown.borrow() {
                                // happen in the initial read
                                continue;
                            }
                            info!("Shutting down {}", stack.as_str());
                            break;
                        }
                        Err(e) => {
                            error!("shutdown_signal error {e}");
                            break;
                        }
                    }
                }
            };
            match new_io {
                Ok(mut io) => {
                    if backoff > Duration::ZERO {
                        debug!("Accepting again on {}", stack.as_str());
                        backoff = Duration::ZERO;
                    }
                    // Gantry patch: admit under the connection limit or close at once. Before
                    // refusing, let the connections just accepted try their first read, so
                    // that those with nothing to read count as idle.
                    let permit = match &limit {
                        Some(limit) => match limit.admit() {
                            Some(permit) => Some(permit),
                            None => {
                                tokio::task::yield_now().await;
                                match limit.admit() {
                                    Some(permit) => Some(permit),
                                    None => {
                                        limit.note_refused();
                                        drop(io);
                                        continue;
                                    }
                                }
                            }
                        },
                        None => None,
                    };
                    let app = app_logic.clone();
                    let shutdown = shutdown.clone();
                    current_handle().spawn(async move {
                        let Some(permit) = permit else {
                            return Self::handle_connection(io, app, shutdown).await;
                        };
                        let activity = permit.activity().clone();
                        io.set_connection_activity(activity.clone());
                        let connection = connection_limit::scope(
                            activity.clone(),
                            Self::handle_connection(io, app, shutdown),
                        );
                        // A shed connection had nothing read: drop it quietly.
                        tokio::select! {
                            biased;
                            _ = activity.shed_notified() => debug!("idle connection shed"),
                            _ = connection => {}
                        }
                        drop(permit);
                    });
                }
                Err(e) => {
                    let errno = e
                        .root_cause()
                        .downcast_ref::<std::io::Error>()
                        .and_then(|e| e.raw_os_error());
                    // Gantry patch: out of descriptors (EMFILE, ENFILE) or memory, accept()
                    // fails again at once: free a descriptor by shedding an idle connection,
                    // else pause with a growing back-off, and warn once per period, not per try.
                    if matches!(
                        errno,
                        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
                    ) {
                        failed_accepts += 1;
                        if last_report.is_none_or(|at| at.elapsed() >= ACCEPT_REPORT_EVERY) {
                            warn!(
                                "Accept() failed on {}: {e}; backing off ({failed_accepts} \
                                 failure(s) since the last report)",
                                stack.as_str()
                            );
                            last_report = Some(std::time::Instant::now());
                            failed_accepts = 0;
                        }
                        let pause = if limit.as_ref().is_some_and(|l| l.shed_one()) {
                            ACCEPT_AFTER_SHED
                        } else {
                            backoff = (backoff * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX);
                            backoff
                        };
                        tokio::time::sleep(pause).await;
                    } else {
                        error!("Accept() failed {e}");
                    }
                }
            }
        }

        stack.cleanup();
    }

    /// The TLS (or no-op) handshake, then the application, for one accepted connection.
    async fn handle_connection(
        io: crate::listeners::UninitializedStream,
        app: Arc<A>,
        shutdown: ShutdownWatch,
    ) {
        let peer_addr = io.peer_addr();
        match timeout(Duration::from_secs(60), io.handshake()).await {
            Ok(handshake) => {
                match handshake {
                    Ok(io) => {
                        // Gantry patch: after the handshake the connection awaits a request.
                        connection_limit::mark_current_awaiting();
                        Self::handle_event(io, app, shutdown).await
                    }
                    Err(e) => {
                        crate::listeners::note_handshake_failure();
                        // TODO: Maybe IOApp trait needs a fn to handle/filter out this error
                        if let Some(addr) = peer_addr {
                            error!("Downstream handshake error from {}: {e}", addr);
                        } else {
                            error!("Downstream handshake error: {e}");
                        }
                    }
                }
            }
            Err(_) => {
                crate::listeners::note_handshake_failure();
                error!("Downstream handshake timeout");
            }
        }
    }
}

#[async_trait]
impl<A: ServerApp + Send + Sync + 'static> ServiceTrait for Service<A> {
    async fn start_service(
        &mut self,
        #[cfg(unix)] fds: Option<ListenFds>,
        shutdown: ShutdownWatch,
        listeners_per_fd: usize,
    ) {
        let runtime = current_handle();
        let endpoints = self
            .listeners
            .build(
                #[cfg(unix)]
                fds,
            )
            .await
            .expect("Failed to build listeners");

        let app_logic = self
            .app_logic
            .take()
            .expect("can only start_service() once");
        let app_logic = Arc::new(app_logic);

        let mut handlers = Vec::new();

        endpoints.into_iter().for_each(|endpoint| {
            for _ in 0..listeners_per_fd {
                let shutdown = shutdown.clone();
                let my_app_logic = app_logic.clone();
                let endpoint = endpoint.clone();
                let limit = self.connection_limit.clone();

                let jh = runtime.spawn(async move {
                    Self::run_endpoint(my_app_logic, endpoint, shutdown, limit).await;
                });

                handlers.push(jh);
            }
        });

        futures::future::join_all(handlers).await;
        self.listeners.cleanup();
        // Gantry patch: idle keep-alive connections get no further request: close them. A
        // connection accepted just before the stop gets its first request served, so a
        // client that connected in time is answered: the application is told to stop (which
        // drops connections still reading a request) once those have one or FRESH_GRACE ends.
        if let Some(limit) = &self.connection_limit {
            limit.shed_idle_except_fresh(FRESH_GRACE);
            limit.wait_for_fresh(FRESH_GRACE).await;
            limit.shed_all_idle();
        }
        app_logic.cleanup().await;
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn threads(&self) -> Option<usize> {
        self.threads
    }

    fn runtime_opts_override(&self, global: &RuntimeOpts) -> Option<RuntimeOpts> {
        self.runtime_opts_override
            .as_ref()
            .and_then(|override_fn| override_fn(global))
    }

    fn listen_addresses(&self) -> Option<Vec<String>> {
        Some(self.listeners.addresses())
    }
}
