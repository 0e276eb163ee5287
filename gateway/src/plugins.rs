//! Wasm plugins: a proxy-wasm host on wasmtime that runs Higress plugins (Go SDK,
//! `proxy_abi_version_0_2_100`, WASI preview 1; Rust SDK 0.2.x) unchanged.
//!
//! Pipeline, once per snapshot: remote modules downloaded first ([`PluginRegistry::download`],
//! `source/downloads.rs`, before the compile), then `WasmPlugin` → [`PluginSpec`] (phase,
//! priority, config JSON with `_rules_`) → module bytes (`source.rs`) → compiled module
//! (memory cache by content hash, wasmtime's on-disk cache) → [`PluginRuntime`] (first VM
//! started and configured now, so a rejected configuration is reported at once) → one
//! [`WasmFilter`] per covered route. The [`PluginRegistry`] keeps runtimes by plugin name
//! and reuses one while its module and configuration are unchanged, so reloads of other
//! config keep plugin state; a plugin whose new version fails keeps its last good runtime.

pub mod abi;
pub mod calls;
pub mod engine;
pub mod filter;
pub mod host_state;
pub mod http_call;
pub mod properties;
pub mod redis_call;
pub mod runtime;
pub mod shared;
pub mod source;
pub mod spec;
pub mod vm;
pub mod wasi;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use config_store::resource::wasmplugin::ModuleUrl;
use config_store::resource::{Resource, WasmPlugin};
use config_store::Snapshot;
use wasmtime::Module;

pub use filter::{RouteFacts, UnavailablePlugin, WasmFilter};
pub use runtime::PluginRuntime;
pub use spec::{Phase, PluginSpec};

use engine::PluginEngine;

/// A plugin after loading: its spec and its runtime, or why it has none.
#[derive(Debug, Clone)]
pub struct LoadedPlugin {
    /// The spec.
    pub spec: PluginSpec,
    /// The runtime; `Err` carries the load error. A plugin that failed to update keeps its
    /// last good runtime here (with the error reported separately).
    pub runtime: Result<Arc<PluginRuntime>, String>,
}

/// The outcome of loading one snapshot's plugins.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Plugins in execution order (phase, then priority high to low, then name).
    pub plugins: Vec<LoadedPlugin>,
    /// Errors by plugin name.
    pub errors: Vec<(String, String)>,
}

/// Process-wide plugin state: the engine, compiled modules and live runtimes.
pub struct PluginRegistry {
    cache_dir: Option<PathBuf>,
    vms: usize,
    engine: OnceLock<Result<PluginEngine, String>>,
    modules: Mutex<HashMap<[u8; 32], Module>>,
    runtimes: Mutex<HashMap<String, Arc<PluginRuntime>>>,
    downloads: source::Downloads,
}

impl std::fmt::Debug for PluginRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRegistry")
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

impl Default for PluginRegistry {
    fn default() -> Self {
        Self::new(default_cache_dir(), default_vms())
    }
}

/// `$HOME/.cache/gantry/wasm` (the system temp dir without `HOME`).
fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache"))
        .unwrap_or_else(std::env::temp_dir);
    Some(base.join("gantry").join("wasm"))
}

/// What downloading `plugin`'s module takes, for a remote url (`None` for a file).
fn want(plugin: &WasmPlugin, snapshot: &Snapshot) -> Option<source::Want> {
    let url = ModuleUrl::parse(&plugin.spec.url).ok()?;
    let credentials = match (&url, plugin.spec.image_pull_secret.as_deref()) {
        (ModuleUrl::File(_), _) => return None,
        (ModuleUrl::Oci(image), Some(name)) if !name.is_empty() => match snapshot.secret(name) {
            Some(secret) => source::credentials::for_registry(secret, &image.registry),
            None => Err(format!("spec.imagePullSecret {name:?}: no such Secret")),
        },
        _ => Ok(None),
    };
    Some(source::Want {
        plugin: plugin.metadata.name.clone(),
        spec: plugin.spec.clone(),
        url,
        credentials,
    })
}

/// One VM per core, as Envoy keeps one per worker.
fn default_vms() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

// === impl PluginRegistry ===

impl PluginRegistry {
    /// A registry caching compiled modules in `cache_dir`, with `vms` VMs per plugin.
    /// Downloads stay in memory until [`Self::set_download_dir`].
    pub fn new(cache_dir: Option<PathBuf>, vms: usize) -> Self {
        Self {
            downloads: source::Downloads::default(),
            cache_dir,
            vms: vms.max(1),
            engine: OnceLock::new(),
            modules: Mutex::new(HashMap::new()),
            runtimes: Mutex::new(HashMap::new()),
        }
    }

    fn engine(&self) -> Result<&PluginEngine, String> {
        self.engine
            .get_or_init(|| PluginEngine::new(self.cache_dir.clone()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The metrics each live plugin defined, by plugin name (sorted).
    pub fn metrics(&self) -> Vec<(String, Vec<shared::MetricValue>)> {
        let mut out: Vec<_> = lock(&self.runtimes)
            .iter()
            .map(|(name, rt)| (name.clone(), rt.shared().metrics()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Downloads the remote modules (`http(s)://`, `oci://`) of `snapshot`'s WasmPlugins
    /// that are not downloaded yet, so that compiling it needs no network.
    pub async fn download(&self, snapshot: &Snapshot) {
        let wants: Vec<source::Want> = snapshot
            .objects()
            .filter_map(|(_, o)| match &o.resource {
                Resource::WasmPlugin(p) => want(p, snapshot),
                _ => None,
            })
            .collect();
        self.downloads.refresh(&wants).await;
    }

    /// Keeps downloaded modules on disk in `dir` too (a serving gateway's data dir).
    pub fn set_download_dir(&self, dir: PathBuf) {
        self.downloads.set_dir(dir);
    }

    /// When a failed download is next due (`None`: none failed).
    pub fn download_retry_in(&self) -> Option<std::time::Duration> {
        self.downloads.retry_in()
    }

    /// Loads every plugin of a snapshot (`(plugin, source label)` pairs). Unchanged plugins
    /// keep their runtime; a plugin that fails keeps its last good one, if any.
    pub fn load<'a>(&self, plugins: impl Iterator<Item = &'a WasmPlugin>) -> Loaded {
        let mut out = Loaded::default();
        let mut live = HashMap::new();
        for plugin in plugins {
            let spec = PluginSpec::from_resource(plugin);
            let runtime = match self.runtime(&spec) {
                Ok(rt) => Ok(rt),
                Err(e) => {
                    out.errors.push((spec.name.clone(), e.clone()));
                    let last = lock(&self.runtimes).get(&spec.name).cloned();
                    match last {
                        Some(last) => {
                            tracing::warn!(plugin = %spec.name, "{e}; keeping the last good version");
                            Ok(last)
                        }
                        None => Err(e),
                    }
                }
            };
            if let Ok(rt) = &runtime {
                live.insert(spec.name.clone(), rt.clone());
            }
            out.plugins.push(LoadedPlugin { spec, runtime });
        }
        *lock(&self.runtimes) = live;
        out.plugins.sort_by(|a, b| {
            (
                a.spec.phase,
                std::cmp::Reverse(a.spec.priority),
                &a.spec.name,
            )
                .cmp(&(
                    b.spec.phase,
                    std::cmp::Reverse(b.spec.priority),
                    &b.spec.name,
                ))
        });
        out
    }

    fn runtime(&self, spec: &PluginSpec) -> Result<Arc<PluginRuntime>, String> {
        let bytes = source::fetch(spec, &self.downloads)?;
        let hash = source::digest(&bytes);
        let hex = source::hex(&hash);
        let live = lock(&self.runtimes).get(&spec.name).cloned();
        if let Some(rt) = live.filter(|rt| rt.module_hash == hex && rt.spec == *spec) {
            return Ok(rt);
        }
        let engine = self.engine()?;
        let cached = lock(&self.modules).get(&hash).cloned();
        let module = match cached {
            Some(m) => m,
            None => {
                let started = std::time::Instant::now();
                let m = Module::new(&engine.engine, &bytes).map_err(|e| {
                    format!("url {:?}: not a loadable Wasm module: {e:#}", spec.url)
                })?;
                tracing::info!(
                    plugin = %spec.name,
                    bytes = bytes.len(),
                    ms = started.elapsed().as_millis() as u64,
                    "plugin module compiled (or read from the compiled-module cache)"
                );
                engine::write_perf_map(&m);
                lock(&self.modules).insert(hash, m.clone());
                m
            }
        };
        let pre = vm::Vm::prepare(engine, &module).map_err(|e| e.to_string())?;
        let shared = lock(&self.runtimes)
            .get(&spec.name)
            .map(|rt| rt.shared().clone())
            .unwrap_or_default();
        let rt = PluginRuntime::start(
            spec.clone(),
            hex,
            engine.engine.clone(),
            pre,
            shared,
            self.vms,
        )
        .map_err(|e| e.to_string())?;
        let rt = Arc::new(rt);
        rt.spawn_ticks();
        Ok(rt)
    }
}
