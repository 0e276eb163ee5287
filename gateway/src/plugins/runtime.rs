//! [`PluginRuntime`]: one configured plugin — its linked module, configuration and a small
//! pool of VMs (one per worker thread, as Envoy keeps one per worker). A request binds to
//! its worker thread's VM and sticks to it for its whole life (its HTTP context lives
//! there); each VM sits behind its own mutex, held only for the duration of one
//! synchronous call, so it is contended only when a task moved threads or a tick runs. A VM that traps is dropped
//! and a fresh one started on next use; requests whose context lived in it then follow
//! the plugin's `failStrategy`.
//!
//! Ticks: a VM whose plugin set a tick period gets `proxy_on_tick` on its root context that
//! often (a background task per runtime, ending with it); HTTP and Redis calls a tick
//! dispatches are run and answered on the root context like a request's
//! ([`super::http_call`], [`super::redis_call`]).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use wasmtime::{Engine, InstancePre};

use super::host_state::{HostState, HttpCall, PluginInfo, RedisCall, StreamState};
use super::http_call::Clusters;
use super::shared::SharedState;
use super::spec::PluginSpec;
use super::vm::{Callback, Outcome, Vm, VmError};

/// A configured plugin and its VMs.
pub struct PluginRuntime {
    /// The spec it was built from.
    pub spec: PluginSpec,
    /// Hex SHA-256 of the module.
    pub module_hash: String,
    engine: Engine,
    pre: InstancePre<HostState>,
    info: Arc<PluginInfo>,
    shared: Arc<SharedState>,
    slots: Vec<Mutex<Slot>>,
    traps: AtomicU64,
    clusters: ArcSwap<Clusters>,
}

/// Numbers threads in the order they first bind a request.
static NEXT_WORKER: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's number (its VM in each runtime is `number % VMs`).
    static WORKER: usize = NEXT_WORKER.fetch_add(1, Ordering::Relaxed);
}

/// How often a runtime without a tick period looks again (a plugin may set one later).
const TICK_IDLE: Duration = Duration::from_secs(1);
/// The shortest tick period honoured.
const MIN_TICK: Duration = Duration::from_millis(10);

struct Slot {
    vm: Option<Vm>,
    generation: u64,
}

/// A request's place in a plugin: which VM, which generation of it, its context id.
#[derive(Debug)]
pub struct Binding {
    slot: usize,
    generation: u64,
    context: i32,
}

impl std::fmt::Debug for PluginRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginRuntime")
            .field("name", &self.spec.name)
            .field("vms", &self.slots.len())
            .finish()
    }
}

fn lock(m: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

// === impl PluginRuntime ===

impl PluginRuntime {
    /// Starts the first VM (so a bad configuration is an error now) and keeps room for
    /// `vms` in all. Fails when the VM cannot start or `proxy_on_configure` rejects.
    pub fn start(
        spec: PluginSpec,
        module_hash: String,
        engine: Engine,
        pre: InstancePre<HostState>,
        shared: Arc<SharedState>,
        vms: usize,
    ) -> Result<Self, VmError> {
        let info = Arc::new(PluginInfo {
            name: spec.name.clone(),
            root_id: spec.root_id.clone(),
            configuration: spec.configuration.clone().into_bytes(),
            vm_configuration: Vec::new(),
        });
        let first = Vm::start(&engine, &pre, info.clone(), shared.clone())?;
        let mut slots = Vec::with_capacity(vms.max(1));
        slots.push(Mutex::new(Slot {
            vm: Some(first),
            generation: 0,
        }));
        for _ in 1..vms.max(1) {
            slots.push(Mutex::new(Slot {
                vm: None,
                generation: 0,
            }));
        }
        Ok(Self {
            spec,
            module_hash,
            engine,
            pre,
            info,
            shared,
            slots,
            traps: AtomicU64::new(0),
            clusters: ArcSwap::from_pointee(Clusters::default()),
        })
    }

    /// The clusters root-context calls (from ticks) may name: the current table's.
    pub fn set_clusters(&self, clusters: Arc<Clusters>) {
        self.clusters.store(clusters);
    }

    /// Starts the tick task on the current Tokio runtime (none outside one, as in
    /// `gantry validate`); it ends when the last reference to the runtime goes.
    pub fn spawn_ticks(self: &Arc<Self>) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(tick_loop(Arc::downgrade(self)));
        }
    }

    /// The shortest tick period any started VM asked for.
    fn tick_period(&self) -> Option<Duration> {
        self.slots
            .iter()
            .filter_map(|s| lock(s).vm.as_ref().and_then(Vm::tick_period))
            .min()
    }

    /// Ticks every started VM that asked for ticks; runs the calls they dispatch.
    async fn tick(&self) {
        let mut pending: Vec<(usize, u64, Vec<HttpCall>, Vec<RedisCall>)> = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            let mut slot = lock(slot);
            let Some(vm) = slot.vm.as_mut().filter(|vm| vm.tick_period().is_some()) else {
                continue;
            };
            let root = vm.root_id();
            let mut stream = self.root_stream();
            match vm.run(root, Callback::Tick, &mut stream) {
                Ok(o) if !o.calls.is_empty() || !o.redis_calls.is_empty() => {
                    pending.push((index, slot.generation, o.calls, o.redis_calls));
                }
                Ok(_) => {}
                Err(e) => self.failed(&mut slot, &e),
            }
        }
        for (index, generation, mut calls, mut redis_calls) in pending {
            // Calls answered, and calls their answers make, a few rounds at most.
            for _ in 0..4 {
                if calls.is_empty() && redis_calls.is_empty() {
                    break;
                }
                let clusters = self.clusters.load_full();
                let answers = super::calls::run_all(
                    &clusters,
                    std::mem::take(&mut calls),
                    std::mem::take(&mut redis_calls),
                )
                .await;
                let mut slot = lock(&self.slots[index]);
                if slot.generation != generation {
                    break;
                }
                for answer in answers {
                    let Some(vm) = slot.vm.as_mut() else { break };
                    let root = vm.root_id();
                    let mut stream = self.root_stream();
                    let callback = answer.deliver(&mut stream);
                    match vm.run(root, callback, &mut stream) {
                        Ok(o) => {
                            calls.extend(o.calls);
                            redis_calls.extend(o.redis_calls);
                        }
                        Err(e) => {
                            self.failed(&mut slot, &e);
                            break;
                        }
                    }
                }
            }
        }
    }

    /// The stream of a root-context call: no request, the current clusters.
    fn root_stream(&self) -> StreamState {
        let mut stream = StreamState::default();
        stream.facts.clusters = Some(self.clusters.load_full());
        stream
    }

    /// The plugin's shared data, queues and metrics.
    pub fn shared(&self) -> &Arc<SharedState> {
        &self.shared
    }

    fn ready<'a>(&self, slot: &'a mut Slot) -> Result<&'a mut Vm, VmError> {
        if slot.vm.is_none() {
            let vm = Vm::start(
                &self.engine,
                &self.pre,
                self.info.clone(),
                self.shared.clone(),
            )?;
            slot.vm = Some(vm);
        }
        slot.vm.as_mut().ok_or(VmError::Trap("no VM".into()))
    }

    fn failed(&self, slot: &mut Slot, e: &VmError) {
        slot.vm = None;
        slot.generation += 1;
        let n = self.traps.fetch_add(1, Ordering::Relaxed);
        if n == 0 {
            tracing::warn!(plugin = %self.spec.name, "{e}; VM recycled (later failures are logged at debug)");
        } else {
            tracing::debug!(plugin = %self.spec.name, failures = n + 1, "{e}; VM recycled");
        }
    }

    /// Binds a new request to a VM and creates its HTTP context: the VM of the calling
    /// worker thread (one per core), so that requests on different workers do not wait for
    /// each other's calls.
    pub fn bind(&self) -> Result<Binding, VmError> {
        let index = WORKER.with(|w| *w) % self.slots.len();
        let mut slot = lock(&self.slots[index]);
        let created = self.ready(&mut slot).and_then(Vm::create_context);
        match created {
            Ok(context) => Ok(Binding {
                slot: index,
                generation: slot.generation,
                context,
            }),
            Err(e) => {
                self.failed(&mut slot, &e);
                Err(e)
            }
        }
    }

    /// Runs `cb` for the bound request. Fails when the VM traps now, or was recycled
    /// since the request was bound (its context is gone).
    pub fn run(
        &self,
        binding: &Binding,
        cb: Callback,
        stream: &mut StreamState,
    ) -> Result<Outcome, VmError> {
        let mut slot = lock(&self.slots[binding.slot]);
        if slot.generation != binding.generation {
            return Err(VmError::Trap(
                "the VM holding this request was recycled".into(),
            ));
        }
        let result = match slot.vm.as_mut() {
            Some(vm) => vm.run(binding.context, cb, stream),
            None => Err(VmError::Trap("VM gone".into())),
        };
        if let Err(e) = &result {
            self.failed(&mut slot, e);
        }
        result
    }
}

/// Ticks `runtime` while it lives.
async fn tick_loop(runtime: Weak<PluginRuntime>) {
    loop {
        let period = match runtime.upgrade() {
            Some(rt) => rt.tick_period(),
            None => return,
        };
        tokio::time::sleep(period.map_or(TICK_IDLE, |p| p.max(MIN_TICK))).await;
        let Some(rt) = runtime.upgrade() else { return };
        if period.is_some() {
            rt.tick().await;
        }
    }
}
