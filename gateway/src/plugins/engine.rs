//! [`PluginEngine`]: the process's wasmtime engine (Cranelift, epoch interruption, on-disk
//! cache of compiled modules by content hash) and the linker with the proxy-wasm host
//! functions and the WASI shim. A background thread advances the epoch every
//! [`EPOCH_TICK`], which bounds how long one call into a plugin may run.

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::{Config, Engine, Linker, OptLevel};

use super::host_state::HostState;
use super::{abi, wasi};

/// How often the epoch advances.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The engine and linker shared by every plugin.
pub struct PluginEngine {
    /// The wasmtime engine.
    pub engine: Engine,
    /// Host functions (`env.proxy_*`, `wasi_snapshot_preview1.*`).
    pub linker: Linker<HostState>,
}

// === impl PluginEngine ===

impl PluginEngine {
    /// An engine caching compiled modules under `cache_dir` (none: no disk cache), with its
    /// epoch thread running.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, String> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.cranelift_opt_level(OptLevel::Speed);
        if let Some(dir) = cache_dir {
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(dir.clone());
            match wasmtime::Cache::new(cache) {
                Ok(cache) => {
                    config.cache(Some(cache));
                }
                Err(e) => tracing::warn!(
                    dir = %dir.display(),
                    "compiled plugin cache unavailable, compiling on every start: {e}"
                ),
            }
        }
        let engine = Engine::new(&config).map_err(|e| format!("wasm engine: {e}"))?;
        let mut linker = Linker::new(&engine);
        abi::add_to_linker(&mut linker).map_err(|e| format!("proxy-wasm host: {e}"))?;
        wasi::add_to_linker(&mut linker).map_err(|e| format!("WASI shim: {e}"))?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("wasm-epoch".into())
            .spawn(move || loop {
                std::thread::sleep(EPOCH_TICK);
                match ticker.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
            })
            .map_err(|e| format!("wasm epoch thread: {e}"))?;
        Ok(Self { engine, linker })
    }
}
