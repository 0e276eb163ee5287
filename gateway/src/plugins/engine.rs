//! [`PluginEngine`]: the process's wasmtime engine (Cranelift, epoch interruption, on-disk
//! cache of compiled modules by content hash) and the linker with the proxy-wasm host
//! functions and the WASI shim. A background thread advances the epoch every
//! [`EPOCH_TICK`], which bounds how long one call into a plugin may run.

use std::path::PathBuf;
use std::time::Duration;

use wasmtime::{Config, Engine, Linker, Module, OptLevel};

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

/// With `GANTRY_WASM_PERF_MAP` set, appends `module`'s compiled functions to
/// `/tmp/perf-<pid>.map`, so `perf report` names plugin code (Go and Rust function names).
pub fn write_perf_map(module: &Module) {
    use std::io::Write as _;
    if std::env::var_os("GANTRY_WASM_PERF_MAP").is_none() {
        return;
    }
    let path = format!("/tmp/perf-{}.map", std::process::id());
    let base = module.text().as_ptr() as usize;
    let mut lines = String::new();
    for f in module.functions() {
        let name = f.name.as_deref().unwrap_or("?");
        lines.push_str(&format!("{:x} {:x} wasm::{name}\n", base + f.offset, f.len));
    }
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(lines.as_bytes()));
    match written {
        Ok(()) => tracing::info!(path, "plugin functions written for perf"),
        Err(e) => tracing::warn!(path, "cannot write the perf map: {e}"),
    }
}
