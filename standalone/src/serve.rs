//! `gantry serve`: wires store → gateway → Pingora listeners, plus the admin API.
//!
//! The control plane (store watcher, compiler, discovery, admin API) runs on its own small
//! Tokio runtime; Pingora runs the data plane on the main thread with one worker per core.
//! Start: resolve `--data-dir`, raise the open-file limit, derive the connection limit,
//! check the ports, start the control plane, then run the data plane until a stop signal.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use config_store::local_snapshot::LocalSnapshot;
use config_store::{ConfigStore, DirStore, NacosStore, WatchOptions};
use console_api::{ConsoleState, StatusSource};
use gateway::server::{Listeners, ReloadHook, ServerOptions};
use gateway::{CompileOptions, Discovery, Gateway};

use crate::cli::{ListenArgs, ObserveArgs, ServeArgs};
use crate::config_url::ConfigLocation;
use crate::data_dir::DataDir;
use crate::health_port::Health;
use crate::{fd_limit, health_port, listen, metrics_port};

/// The longest time between two lookups of a DNS-backed upstream (shorter TTLs win).
const DNS_REFRESH: Duration = Duration::from_secs(10);

/// Pending connections the admin listener queues.
const ADMIN_BACKLOG: u32 = 1024;

/// A started control plane.
pub struct ControlPlane {
    /// Runs the watcher, discovery and admin API; dropping it stops them.
    pub runtime: tokio::runtime::Runtime,
    /// The gateway whose table the proxy serves.
    pub gateway: Arc<Gateway>,
    /// The config store; its watchers and reload task live as long as it does.
    store: Arc<dyn ConfigStore>,
    /// Readiness, for the health port.
    health: Arc<Health>,
}

/// Runs `gantry serve` until the process is signalled.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let location = args.config.location()?;
    let data_dir = DataDir::resolve(args.process.data_dir.as_deref())?;
    let fds = fd_limit::raise();
    let max_connections = fd_limit::max_connections(args.process.max_connections, fds);
    tracing::info!(
        open_files = fds.now,
        raised_from = fds.before,
        max_connections = max_connections.unwrap_or(0),
        data_dir = %data_dir.path().display(),
        "process limits"
    );
    if !args.process.upgrade {
        // On upgrade the running gantry holds the ports; its sockets are taken over.
        preflight(&args.listen, &args.observe)?;
    } else {
        listen::check_distinct(&ports(&args.listen, &args.observe))?;
    }
    let watch = WatchOptions {
        mode: args.watch,
        poll_interval: args.poll_interval,
        limits: config_store::Limits::with_max_file_size(args.config.max_file_size),
    };
    let control = start_control_plane(
        &ControlPlaneOptions {
            location: &location,
            watch,
            ingress_class: args.config.class_filter(),
            dns_server: args.dns_server,
            data_dir: Some(data_dir.path()),
            observe: &args.observe,
        },
        &args.listen,
    )?;
    let options = ServerOptions {
        max_connections,
        drain_timeout: args.process.drain_timeout,
        upgrade: args.process.upgrade,
        upgrade_socket: Some(data_dir.upgrade_socket()),
        on_reload: None,
    };
    run_proxy(&args.listen, &control, options)
}

/// Checks every enabled listener before anything starts: no two on one port, each free.
pub fn preflight(listen: &ListenArgs, observe: &ObserveArgs) -> anyhow::Result<()> {
    let ports = ports(listen, observe);
    listen::check_distinct(&ports)?;
    for p in &ports {
        listen::check(&p.bind, p.port, p.flag)?;
    }
    Ok(())
}

/// Every listener the flags ask for.
fn ports(listen: &ListenArgs, observe: &ObserveArgs) -> Vec<listen::PortUse> {
    let at = |bind: &str, port: u16, flag: &'static str| listen::PortUse {
        bind: bind.to_string(),
        port,
        flag,
    };
    vec![
        at(&listen.bind, listen.http_port, "--http-port"),
        at(&listen.bind, listen.https_port, "--https-port"),
        at(&listen.console_bind, listen.console_port, "--console-port"),
        at(&listen.bind, observe.metrics_port, "--metrics-port"),
        at(&listen.bind, observe.health_port, "--health-port"),
    ]
}

/// What the control plane is started with.
pub struct ControlPlaneOptions<'a> {
    /// The store `--config` names.
    pub location: &'a ConfigLocation,
    /// How a directory store watches.
    pub watch: WatchOptions,
    /// `--ingress-class` (None: every class).
    pub ingress_class: Option<String>,
    /// `--dns-server`.
    pub dns_server: Option<std::net::SocketAddr>,
    /// Where the last good snapshot is kept; None keeps none.
    pub data_dir: Option<&'a Path>,
    /// Metrics, health and access-log flags.
    pub observe: &'a ObserveArgs,
}

/// Opens the store, applies the first snapshot and starts following changes.
pub fn start_control_plane(
    options: &ControlPlaneOptions<'_>,
    listen: &ListenArgs,
) -> anyhow::Result<ControlPlane> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gantry-control")
        .enable_all()
        .build()
        .context("cannot start the control-plane runtime")?;
    let health = Health::new();
    let observe = options.observe;
    let (gateway, store) = runtime.block_on(async {
        // Bound first, so probes see "not ready" while the store loads.
        if observe.health_port != 0 {
            let addr = listen::addr(&listen.bind, observe.health_port);
            let listener = listen::admin_listener(&addr, ADMIN_BACKLOG)
                .with_context(|| format!("cannot listen on {addr} (--health-port)"))?;
            tracing::info!("health on http://{addr}/readyz");
            health_port::spawn(listener, health.clone());
        }
        let (store, restored) =
            open_store(options.location, options.watch, options.data_dir).await?;
        let discovery = Discovery::with_dns_server(DNS_REFRESH, options.dns_server);
        if let Some(dir) = options.data_dir {
            discovery.plugins().set_download_dir(dir.join("wasm"));
        }
        let gateway = Arc::new(Gateway::new(
            CompileOptions {
                ingress_class: options.ingress_class.clone(),
            },
            discovery.clone(),
        ));
        crate::access_log::start(observe, &store.snapshot(), gateway.observe())?;
        gateway.start_following(store.subscribe()).await;
        discovery.spawn_refresh();
        health.set_loaded(store.clone(), gateway.clone());
        if observe.metrics_port != 0 {
            let addr = listen::addr(&listen.bind, observe.metrics_port);
            let listener = listen::admin_listener(&addr, ADMIN_BACKLOG)
                .with_context(|| format!("cannot listen on {addr} (--metrics-port)"))?;
            tracing::info!("metrics on http://{addr}/stats/prometheus");
            metrics_port::spawn(listener, store.clone(), gateway.clone());
        }
        if listen.console_port != 0 {
            let state = ConsoleState {
                store: store.clone(),
                status: Arc::new(GatewayStatus {
                    gateway: gateway.clone(),
                    restored,
                }),
                options: listen.console_options(),
            };
            let addr = listen::addr(&listen.console_bind, listen.console_port);
            let listener = listen::admin_listener(&addr, ADMIN_BACKLOG)
                .with_context(|| format!("cannot listen on {addr} (--console-port)"))?;
            tracing::info!("admin API on http://{addr}");
            tokio::spawn(async move {
                if let Err(e) = console_api::serve(listener, state).await {
                    tracing::error!("admin API stopped: {e}");
                }
            });
        }
        anyhow::Ok((gateway, store))
    })?;
    Ok(ControlPlane {
        runtime,
        gateway,
        store,
        health,
    })
}

/// Opens the store `--config` names, with the saved last good snapshot (under `data_dir`)
/// as its baseline, and keeps saving every snapshot it publishes. Returns the store and, when
/// the start served resources from the saved snapshot, where it came from. Must be called
/// inside the control-plane runtime.
async fn open_store(
    location: &ConfigLocation,
    watch: WatchOptions,
    data_dir: Option<&Path>,
) -> anyhow::Result<(Arc<dyn ConfigStore>, Option<String>)> {
    match location {
        ConfigLocation::Dir(root) => {
            let local = data_dir.map(|dir| {
                let canonical = std::fs::canonicalize(root).unwrap_or_else(|_| root.clone());
                LocalSnapshot::new(dir, &format!("dir:{}", canonical.display()))
            });
            let saved = match local.as_ref().map(LocalSnapshot::load).transpose() {
                Ok(saved) => saved.flatten(),
                Err(e) => {
                    tracing::warn!("saved snapshot not used: {e}");
                    None
                }
            };
            let (store, restored) = match saved {
                Some(saved) => {
                    let when = httpdate::fmt_http_date(saved.saved_at);
                    let from = format!("{} (saved {when})", saved.path.display());
                    let store = DirStore::open_with_baseline(root, watch, saved.snapshot)
                        .with_context(|| {
                            format!("cannot open config directory {}", root.display())
                        })?;
                    let stale = store.snapshot().stale_objects().count();
                    if stale > 0 {
                        tracing::error!(
                            "configuration is broken: {stale} resource(s) are served from the last good snapshot {from}; see /readyz and /gantry/status"
                        );
                    }
                    (store, (stale > 0).then_some(from))
                }
                None => {
                    let store = DirStore::open(root, watch).with_context(|| {
                        format!("cannot open config directory {}", root.display())
                    })?;
                    (store, None)
                }
            };
            if let Some(local) = local {
                local.spawn_saver(store.subscribe());
            }
            Ok((Arc::new(store), restored))
        }
        ConfigLocation::Nacos(options) => {
            // The Nacos store keeps (and restores) its own local snapshot under data_dir.
            let mut options = options.clone();
            options.data_dir = data_dir.map(Path::to_path_buf);
            let store = NacosStore::open(options)
                .await
                .context("cannot open the Nacos store")?;
            Ok((Arc::new(store), None))
        }
    }
}

/// Runs the data plane on this thread until a stop signal has drained it; SIGHUP re-reads
/// the configuration.
pub fn run_proxy(listen: &ListenArgs, control: &ControlPlane, options: ServerOptions) -> ! {
    let on = |port: u16| (port != 0).then(|| listen::addr(&listen.bind, port));
    let listeners = Listeners {
        http: on(listen.http_port),
        https: on(listen.https_port),
    };
    let options = ServerOptions {
        on_reload: Some(control.reload_hook()),
        ..options
    };
    let probe = listeners.http.clone().or_else(|| listeners.https.clone());
    let health = control.health.clone();
    control.runtime.spawn(async move {
        if let Some(addr) = probe {
            listen::wait_accepting(&addr).await;
        }
        health.set_listening();
    });
    gateway::server::run_forever(&control.gateway, &listeners, options)
}

// === impl ControlPlane ===

impl ControlPlane {
    /// Re-reads the config directory on the control-plane runtime (for SIGHUP).
    fn reload_hook(&self) -> ReloadHook {
        let store = self.store.clone();
        let runtime = self.runtime.handle().clone();
        Arc::new(move || {
            let store = store.clone();
            runtime.spawn(async move { store.reload().await });
        })
    }
}

/// The gateway's status, for the admin API.
struct GatewayStatus {
    gateway: Arc<Gateway>,
    /// The saved snapshot this process started from, when its config was broken.
    restored: Option<String>,
}

impl StatusSource for GatewayStatus {
    fn route_count(&self) -> usize {
        self.gateway.table().len()
    }

    fn gateway_diagnostics(&self) -> Vec<config_store::Diagnostic> {
        self.gateway.diagnostics().as_ref().clone()
    }

    fn restored_from(&self) -> Option<String> {
        self.restored.clone()
    }

    fn applied_revision(&self) -> Option<tokio::sync::watch::Receiver<u64>> {
        Some(self.gateway.applied_revision())
    }

    fn route_table(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self.gateway.table().describe()).ok()
    }
}
