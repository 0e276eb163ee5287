//! [`Vm`]: one instance of a plugin module with its root context started and configured.
//! Every call into the guest gets an epoch deadline; a trap (including a deadline or a
//! memory-limit hit) is returned as [`VmError::Trap`] and the caller drops the VM.

use std::sync::Arc;

use wasmtime::{Engine, Instance, InstancePre, Module, Store, TypedFunc, WasmParams, WasmResults};

use super::engine::EPOCH_TICK;
use super::host_state::{HostState, PluginInfo, StreamState};
use super::shared::SharedState;

/// Deadline of start-up calls (`_initialize`, `proxy_on_vm_start`, `proxy_on_configure`).
pub const START_DEADLINE: std::time::Duration = std::time::Duration::from_secs(10);
/// Deadline of one request-path call.
pub const CALL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(1);
/// Memory one VM may use.
pub const MEMORY_LIMIT: usize = 256 << 20;

/// The proxy-wasm ABI markers Gantry accepts.
pub const ABI_VERSIONS: [&str; 3] = [
    "proxy_abi_version_0_2_100",
    "proxy_abi_version_0_2_1",
    "proxy_abi_version_0_2_0",
];

/// Why a VM failed.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// The module does not export a supported ABI version.
    #[error(
        "module exports no supported proxy-wasm ABI version (expected one of {ABI_VERSIONS:?})"
    )]
    Abi,
    /// Instantiation failed (a missing import, start-up trap).
    #[error("cannot instantiate: {0}")]
    Instantiate(String),
    /// `proxy_on_vm_start` returned false.
    #[error("proxy_on_vm_start rejected the VM configuration")]
    VmStart,
    /// `proxy_on_configure` returned false.
    #[error("proxy_on_configure rejected the plugin configuration")]
    Configure,
    /// The guest trapped, ran past its deadline or hit its memory limit.
    #[error("plugin trapped: {0}")]
    Trap(String),
}

/// A request-path callback.
#[derive(Debug, Clone, Copy)]
pub enum Callback {
    /// `proxy_on_request_headers(ctx, headers, end_of_stream)`.
    RequestHeaders(i32, bool),
    /// `proxy_on_request_body(ctx, size, end_of_stream)`.
    RequestBody(i32, bool),
    /// `proxy_on_response_headers(ctx, headers, end_of_stream)`.
    ResponseHeaders(i32, bool),
    /// `proxy_on_response_body(ctx, size, end_of_stream)`.
    ResponseBody(i32, bool),
    /// `proxy_on_http_call_response(root, token, headers, body size, trailers)`, with the
    /// response in the stream's `call_response`.
    HttpCallResponse(u32),
    /// `proxy_on_redis_call_response(root, token, status, reply size)`, with the reply in
    /// the stream's `redis_response`.
    RedisCallResponse(u32),
    /// `proxy_on_tick(root)`.
    Tick,
    /// `proxy_on_log`, `proxy_on_done`, `proxy_on_delete`.
    Finish,
}

/// What a callback returned.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The action (0 continue, 1 pause).
    pub action: i32,
    /// A local reply the plugin asked for.
    pub local_response: Option<super::host_state::LocalResponse>,
    /// HTTP calls the plugin dispatched.
    pub calls: Vec<super::host_state::HttpCall>,
    /// Redis commands the plugin dispatched.
    pub redis_calls: Vec<super::host_state::RedisCall>,
    /// The plugin resumed the stream (`proxy_continue_stream`).
    pub resumed: bool,
}

type Http3 = TypedFunc<(i32, i32, i32), i32>;
/// `proxy_on_http_call_response(root, token, headers, body size, trailers)`.
type CallResponseFn = TypedFunc<(i32, i32, i32, i32, i32), ()>;

struct Exports {
    context_create: TypedFunc<(i32, i32), ()>,
    request_headers: Option<Http3>,
    request_body: Option<Http3>,
    response_headers: Option<Http3>,
    response_body: Option<Http3>,
    http_call_response: Option<CallResponseFn>,
    redis_call_response: Option<TypedFunc<(i32, i32, i32, i32), ()>>,
    tick: Option<TypedFunc<i32, ()>>,
    log: Option<TypedFunc<i32, ()>>,
    done: Option<TypedFunc<i32, i32>>,
    delete: Option<TypedFunc<i32, ()>>,
}

/// One running plugin instance.
pub struct Vm {
    store: Store<HostState>,
    exports: Exports,
    root_id: i32,
    next_id: i32,
}

fn ticks(d: std::time::Duration) -> u64 {
    (d.as_millis() / EPOCH_TICK.as_millis().max(1)).max(1) as u64
}

fn trap(e: wasmtime::Error) -> VmError {
    VmError::Trap(format!("{e:#}"))
}

/// Calls `f` with a fresh deadline (the request path borrows `f` from the exports: a
/// `TypedFunc` clone costs a type-registry reference count).
fn call<P: WasmParams, R: WasmResults>(
    store: &mut Store<HostState>,
    f: &TypedFunc<P, R>,
    args: P,
    deadline: std::time::Duration,
) -> Result<R, VmError> {
    store.set_epoch_deadline(ticks(deadline));
    f.call(store, args).map_err(trap)
}

// === impl Vm ===

impl Vm {
    /// Links `module` against the host (unknown imports answer "unimplemented").
    pub fn prepare(
        engine: &super::engine::PluginEngine,
        module: &Module,
    ) -> Result<InstancePre<HostState>, VmError> {
        if !module.exports().any(|e| ABI_VERSIONS.contains(&e.name())) {
            return Err(VmError::Abi);
        }
        let mut linker = engine.linker.clone();
        let probe = Arc::new(PluginInfo {
            name: String::new(),
            root_id: String::new(),
            configuration: Vec::new(),
            vm_configuration: Vec::new(),
        });
        let mut store = Store::new(&engine.engine, HostState::new(probe, Arc::default(), 0));
        for import in module.imports() {
            if linker.get_by_import(&mut store, &import).is_some() {
                continue;
            }
            let Some(ty) = import.ty().func().cloned() else {
                continue;
            };
            let (m, n) = (import.module().to_owned(), import.name().to_owned());
            let unimplemented = if m == super::wasi::MODULE {
                super::wasi::ENOSYS
            } else {
                super::abi::Status::Unimplemented as i32
            };
            let name = n.clone();
            linker
                .func_new(&m, &n, ty, move |_c, _args, results| {
                    tracing::debug!(import = %name, "plugin called an unimplemented host function");
                    for r in results.iter_mut() {
                        *r = wasmtime::Val::I32(unimplemented);
                    }
                    Ok(())
                })
                .map_err(|e| VmError::Instantiate(format!("{e:#}")))?;
        }
        linker
            .instantiate_pre(module)
            .map_err(|e| VmError::Instantiate(format!("{e:#}")))
    }

    /// Instantiates, runs `_initialize`, creates the root context and configures it.
    pub fn start(
        engine: &Engine,
        pre: &InstancePre<HostState>,
        plugin: Arc<PluginInfo>,
        shared: Arc<SharedState>,
    ) -> Result<Self, VmError> {
        let mut store = Store::new(engine, HostState::new(plugin, shared, MEMORY_LIMIT));
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks(START_DEADLINE));
        let instance = pre
            .instantiate(&mut store)
            .map_err(|e| VmError::Instantiate(format!("{e:#}")))?;
        let memory = instance.get_memory(&mut store, "memory");
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "proxy_on_memory_allocate")
            .or_else(|_| instance.get_typed_func::<i32, i32>(&mut store, "malloc"))
            .ok();
        store.data_mut().memory = memory;
        store.data_mut().alloc = alloc;
        for start in ["_initialize", "_start"] {
            if let Ok(f) = instance.get_typed_func::<(), ()>(&mut store, start) {
                f.call(&mut store, ()).map_err(trap)?;
                break;
            }
        }
        let exports = Exports::of(&instance, &mut store)?;
        let mut vm = Self {
            store,
            exports,
            root_id: 1,
            next_id: 2,
        };
        vm.start_root(&instance)?;
        Ok(vm)
    }

    fn start_root(&mut self, instance: &Instance) -> Result<(), VmError> {
        let root = self.root_id;
        let f = self.exports.context_create.clone();
        self.call(f, (root, 0), START_DEADLINE)?;
        let vm_config = self.store.data().plugin.vm_configuration.len() as i32;
        let plugin_config = self.store.data().plugin.configuration.len() as i32;
        if let Ok(f) =
            instance.get_typed_func::<(i32, i32), i32>(&mut self.store, "proxy_on_vm_start")
        {
            if self.call(f, (root, vm_config), START_DEADLINE)? == 0 {
                return Err(VmError::VmStart);
            }
        }
        if let Ok(f) =
            instance.get_typed_func::<(i32, i32), i32>(&mut self.store, "proxy_on_configure")
        {
            self.store.data_mut().in_configure = true;
            let ok = self.call(f, (root, plugin_config), START_DEADLINE);
            self.store.data_mut().in_configure = false;
            if ok? == 0 {
                return Err(VmError::Configure);
            }
        }
        Ok(())
    }

    fn call<P: WasmParams, R: WasmResults>(
        &mut self,
        f: TypedFunc<P, R>,
        args: P,
        deadline: std::time::Duration,
    ) -> Result<R, VmError> {
        call(&mut self.store, &f, args, deadline)
    }

    /// The root context's id (ticks and root-context call answers go there).
    pub fn root_id(&self) -> i32 {
        self.root_id
    }

    /// The tick period the plugin asked for (`proxy_set_tick_period_milliseconds`), if it
    /// asked and exports `proxy_on_tick`.
    pub fn tick_period(&self) -> Option<std::time::Duration> {
        let ms = self.store.data().tick_period_ms;
        (ms > 0 && self.exports.tick.is_some())
            .then(|| std::time::Duration::from_millis(u64::from(ms)))
    }

    /// Creates an HTTP context for a new request; returns its id.
    pub fn create_context(&mut self) -> Result<i32, VmError> {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(2);
        let root = self.root_id;
        call(
            &mut self.store,
            &self.exports.context_create,
            (id, root),
            CALL_DEADLINE,
        )?;
        Ok(id)
    }

    /// Runs `cb` for context `id` over `stream` (swapped in for the call).
    pub fn run(
        &mut self,
        id: i32,
        cb: Callback,
        stream: &mut StreamState,
    ) -> Result<Outcome, VmError> {
        std::mem::swap(&mut self.store.data_mut().stream, stream);
        let data = self.store.data_mut();
        data.local_response = None;
        data.effective_context = id;
        data.resumed = false;
        data.calls.clear();
        data.redis_calls.clear();
        let result = self.dispatch(id, cb);
        std::mem::swap(&mut self.store.data_mut().stream, stream);
        let action = result?;
        let data = self.store.data_mut();
        Ok(Outcome {
            action,
            local_response: data.local_response.take(),
            calls: std::mem::take(&mut data.calls),
            redis_calls: std::mem::take(&mut data.redis_calls),
            resumed: data.resumed,
        })
    }

    fn dispatch(&mut self, id: i32, cb: Callback) -> Result<i32, VmError> {
        let (e, store) = (&self.exports, &mut self.store);
        let (f, a, b) = match cb {
            Callback::RequestHeaders(n, eos) => (&e.request_headers, n, eos),
            Callback::RequestBody(n, eos) => (&e.request_body, n, eos),
            Callback::ResponseHeaders(n, eos) => (&e.response_headers, n, eos),
            Callback::ResponseBody(n, eos) => (&e.response_body, n, eos),
            Callback::HttpCallResponse(token) => {
                let Some(f) = &e.http_call_response else {
                    return Ok(0);
                };
                let r = store.data().stream.call_response.as_ref();
                let count = |m: Option<usize>| m.unwrap_or(0) as i32;
                let headers = count(r.map(|r| r.headers.len()));
                let body = count(r.map(|r| r.body.len()));
                let trailers = count(r.map(|r| r.trailers.len()));
                // Envoy delivers call responses to the root context (the Go SDK finds the
                // HTTP context by token; the Rust SDK ignores the id).
                let root = self.root_id;
                call(
                    store,
                    f,
                    (root, token as i32, headers, body, trailers),
                    CALL_DEADLINE,
                )?;
                return Ok(0);
            }
            Callback::RedisCallResponse(token) => {
                let Some(f) = &e.redis_call_response else {
                    return Ok(0);
                };
                let r = store.data().stream.redis_response.as_ref();
                let status = r.map_or(1, |r| r.status);
                let size = r.map_or(0, |r| r.reply.len() as i32);
                // On the root context, as HTTP call answers (the Go SDK finds the HTTP
                // context by token).
                let root = self.root_id;
                call(store, f, (root, token as i32, status, size), CALL_DEADLINE)?;
                return Ok(0);
            }
            Callback::Tick => {
                if let Some(f) = &e.tick {
                    call(store, f, self.root_id, CALL_DEADLINE)?;
                }
                return Ok(0);
            }
            Callback::Finish => {
                if let Some(f) = &e.log {
                    call(store, f, id, CALL_DEADLINE)?;
                }
                if let Some(f) = &e.done {
                    call(store, f, id, CALL_DEADLINE)?;
                }
                if let Some(f) = &e.delete {
                    call(store, f, id, CALL_DEADLINE)?;
                }
                return Ok(0);
            }
        };
        match f {
            Some(f) => call(store, f, (id, a, i32::from(b)), CALL_DEADLINE),
            None => Ok(0),
        }
    }
}

// === impl Exports ===

impl Exports {
    fn of(instance: &Instance, store: &mut Store<HostState>) -> Result<Self, VmError> {
        let http = |store: &mut Store<HostState>, name: &str| {
            instance
                .get_typed_func::<(i32, i32, i32), i32>(store, name)
                .ok()
        };
        Ok(Self {
            context_create: instance
                .get_typed_func(&mut *store, "proxy_on_context_create")
                .map_err(|e| VmError::Instantiate(format!("proxy_on_context_create: {e}")))?,
            request_headers: http(store, "proxy_on_request_headers"),
            request_body: http(store, "proxy_on_request_body"),
            response_headers: http(store, "proxy_on_response_headers"),
            response_body: http(store, "proxy_on_response_body"),
            http_call_response: instance
                .get_typed_func(&mut *store, "proxy_on_http_call_response")
                .ok(),
            redis_call_response: instance
                .get_typed_func(&mut *store, "proxy_on_redis_call_response")
                .ok(),
            tick: instance.get_typed_func(&mut *store, "proxy_on_tick").ok(),
            log: instance.get_typed_func(&mut *store, "proxy_on_log").ok(),
            done: instance.get_typed_func(&mut *store, "proxy_on_done").ok(),
            delete: instance.get_typed_func(&mut *store, "proxy_on_delete").ok(),
        })
    }
}
