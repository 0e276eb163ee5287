//! [`PluginRuntime`]: one configured plugin — its linked module, configuration and a small
//! pool of VMs (one per worker thread, as Envoy keeps one per worker). A request sticks to
//! one VM for its whole life (its HTTP context lives there); each VM sits behind its own
//! mutex, held only for the duration of one synchronous call. A VM that traps is dropped
//! and a fresh one started on next use; requests whose context lived in it then follow
//! the plugin's `failStrategy`.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wasmtime::{Engine, InstancePre};

use super::host_state::{HostState, PluginInfo, StreamState};
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
    next: AtomicUsize,
    traps: AtomicU64,
}

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
            next: AtomicUsize::new(0),
            traps: AtomicU64::new(0),
        })
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

    /// Binds a new request to a VM and creates its HTTP context.
    pub fn bind(&self) -> Result<Binding, VmError> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
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
