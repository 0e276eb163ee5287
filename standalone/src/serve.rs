//! `gantry serve`: wires store → gateway → Pingora listeners, plus the admin API.
//!
//! The control plane (store watcher, compiler, discovery, admin API) runs on its own small
//! Tokio runtime; Pingora runs the data plane on the main thread with one worker per core.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use config_store::{ConfigStore, DirStore, NacosStore, WatchOptions};
use console_api::{ConsoleState, StatusSource};
use gateway::server::Listeners;
use gateway::{CompileOptions, Discovery, Gateway};

use crate::cli::{ListenArgs, ServeArgs};
use crate::config_url::ConfigLocation;
use crate::listen;

/// How often DNS-backed upstreams are re-resolved.
const DNS_REFRESH: Duration = Duration::from_secs(10);

/// A started control plane.
pub struct ControlPlane {
    /// Runs the watcher, discovery and admin API; dropping it stops them.
    pub runtime: tokio::runtime::Runtime,
    /// The gateway whose table the proxy serves.
    pub gateway: Arc<Gateway>,
    /// The config store; its watchers and reload task live as long as it does.
    _store: Arc<dyn ConfigStore>,
}

/// Runs `gantry serve` until the process is signalled.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let location = args.config.location()?;
    preflight(&args.listen)?;
    let watch = WatchOptions {
        mode: args.watch,
        poll_interval: args.poll_interval,
    };
    let control = start_control_plane(&location, watch, args.config.class_filter(), &args.listen)?;
    run_proxy(&args.listen, &control)
}

/// Checks every enabled listener before anything starts.
pub fn preflight(listen: &ListenArgs) -> anyhow::Result<()> {
    listen::check(&listen.bind, listen.http_port, "--http-port")?;
    listen::check(&listen.bind, listen.https_port, "--https-port")?;
    listen::check(&listen.bind, listen.console_port, "--console-port")
}

/// Opens the store, applies the first snapshot and starts following changes.
pub fn start_control_plane(
    location: &ConfigLocation,
    watch: WatchOptions,
    ingress_class: Option<String>,
    listen: &ListenArgs,
) -> anyhow::Result<ControlPlane> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("gantry-control")
        .enable_all()
        .build()
        .context("cannot start the control-plane runtime")?;
    let (gateway, store) = runtime.block_on(async {
        let store = open_store(location, watch).await?;
        let discovery = Discovery::new(DNS_REFRESH);
        let gateway = Arc::new(Gateway::new(
            CompileOptions { ingress_class },
            discovery.clone(),
        ));
        gateway.start_following(store.subscribe()).await;
        discovery.spawn_refresh();
        if listen.console_port != 0 {
            let state = ConsoleState {
                store: store.clone(),
                status: Arc::new(GatewayStatus(gateway.clone())),
            };
            let addr = listen::addr(&listen.bind, listen.console_port);
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .with_context(|| format!("cannot listen on {addr} (--console-port)"))?;
            tracing::info!("admin API on http://{addr}");
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, console_api::router(state)).await {
                    tracing::error!("admin API stopped: {e}");
                }
            });
        }
        anyhow::Ok((gateway, store))
    })?;
    Ok(ControlPlane {
        runtime,
        gateway,
        _store: store,
    })
}

/// Opens the store `--config` names. Must be called inside the control-plane runtime.
async fn open_store(
    location: &ConfigLocation,
    watch: WatchOptions,
) -> anyhow::Result<Arc<dyn ConfigStore>> {
    match location {
        ConfigLocation::Dir(root) => {
            let store = DirStore::open(root, watch)
                .with_context(|| format!("cannot open config directory {}", root.display()))?;
            Ok(Arc::new(store))
        }
        ConfigLocation::Nacos(options) => {
            let mut options = options.clone();
            options.data_dir = nacos_data_dir();
            let store = NacosStore::open(options)
                .await
                .context("cannot open the Nacos store")?;
            Ok(Arc::new(store))
        }
    }
}

/// Where the Nacos store keeps its local snapshot: `$XDG_DATA_HOME/gantry`, else
/// `~/.local/share/gantry` (`%LOCALAPPDATA%\gantry` on Windows). Temporary: `--data-dir`
/// replaces it.
fn nacos_data_dir() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))?;
    Some(base.join("gantry"))
}

/// Runs the data plane on this thread; never returns.
pub fn run_proxy(listen: &ListenArgs, control: &ControlPlane) -> ! {
    let on = |port: u16| (port != 0).then(|| listen::addr(&listen.bind, port));
    let listeners = Listeners {
        http: on(listen.http_port),
        https: on(listen.https_port),
    };
    gateway::server::run_forever(&control.gateway, &listeners)
}

/// The gateway's status, for the admin API.
struct GatewayStatus(Arc<Gateway>);

impl StatusSource for GatewayStatus {
    fn route_count(&self) -> usize {
        self.0.table().len()
    }

    fn gateway_diagnostics(&self) -> Vec<config_store::Diagnostic> {
        self.0.diagnostics().as_ref().clone()
    }
}
