// Gantry patch: this file is new, see GANTRY-PATCH.md ("Idle upstream connections stay on
// their worker thread").

//! A small per-thread cache of idle upstream connections in front of the shared
//! [`pingora_pool::ConnectionPool`].
//!
//! Releasing a connection into the shared pool allocates a pool node, a `Notify`, a oneshot
//! and a task (`idle_poll`) that watches the connection while it is idle; taking it back
//! wakes that task. On a busy keep-alive proxy that happens for every request. Here a
//! released connection is kept as it is, in a list owned by the worker thread that released
//! it, and the next request on that thread for the same peer takes it back after the same
//! liveness check the shared pool does ([`super::test_reusable_stream`]). One thread per
//! process sweeps the lists every [`SWEEP_EVERY`]: a connection past its idle timeout, or
//! closed or written to by the server while idle, is dropped, as the watcher task would.
//! When a thread's list is full, connections go to the shared pool as before.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use once_cell::sync::Lazy;

use super::PoolCallback;
use crate::protocols::Stream;

/// Most idle connections one worker thread keeps outside the shared pool.
const HOT_MAX: usize = 32;

/// How often the sweeper checks the idle connections kept here.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// An idle connection kept by a worker thread.
struct HotConn {
    /// The connector (its pool's address) that released it.
    owner: usize,
    /// The peer's reuse hash.
    key: u64,
    stream: Stream,
    since: Instant,
    idle_timeout: Option<Duration>,
    /// The connector's count of idle connections the server wrote to.
    unexpected_data: Arc<AtomicU64>,
    /// The connector's callback for connections that leave idle without reuse.
    on_unused: Option<PoolCallback>,
}

impl HotConn {
    fn expired(&self, now: Instant) -> bool {
        self.idle_timeout
            .is_some_and(|t| now.saturating_duration_since(self.since) >= t)
    }

    /// Drops the connection as leaving idle without reuse.
    fn discard(self, now: Instant) {
        if let Some(callback) = &self.on_unused {
            callback(now.saturating_duration_since(self.since));
        }
    }
}

/// What the connector that releases a connection tells about it.
pub(super) struct Release {
    /// The connector's pool address, telling connectors apart.
    pub owner: usize,
    /// The peer's reuse hash.
    pub key: u64,
    pub idle_timeout: Option<Duration>,
    pub unexpected_data: Arc<AtomicU64>,
    pub on_unused: Option<PoolCallback>,
}

type Slot = Arc<Mutex<Vec<HotConn>>>;

/// Every thread's list, for the sweeper.
static SLOTS: Lazy<Mutex<Vec<Weak<Mutex<Vec<HotConn>>>>>> = Lazy::new(|| Mutex::new(Vec::new()));

/// Whether the sweeper thread runs.
static SWEEPER: AtomicBool = AtomicBool::new(false);

thread_local! {
    static LOCAL: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

fn lock(slot: &Mutex<Vec<HotConn>>) -> std::sync::MutexGuard<'_, Vec<HotConn>> {
    slot.lock().unwrap_or_else(|e| e.into_inner())
}

/// This thread's list, created (and registered with the sweeper) on first use.
fn local_slot() -> Option<Slot> {
    LOCAL
        .try_with(|local| {
            local
                .borrow_mut()
                .get_or_insert_with(|| {
                    let slot: Slot = Arc::new(Mutex::new(Vec::with_capacity(HOT_MAX)));
                    lock_slots().push(Arc::downgrade(&slot));
                    start_sweeper();
                    slot
                })
                .clone()
        })
        .ok()
}

fn lock_slots() -> std::sync::MutexGuard<'static, Vec<Weak<Mutex<Vec<HotConn>>>>> {
    SLOTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Keeps `stream` on this thread. Gives it back when this thread already keeps
/// [`HOT_MAX`] connections (the caller then uses the shared pool).
pub(super) fn put(release: Release, stream: Stream) -> Option<Stream> {
    let Some(slot) = local_slot() else {
        return Some(stream);
    };
    let mut list = lock(&slot);
    if list.len() >= HOT_MAX {
        return Some(stream);
    }
    list.push(HotConn {
        owner: release.owner,
        key: release.key,
        stream,
        since: Instant::now(),
        idle_timeout: release.idle_timeout,
        unexpected_data: release.unexpected_data,
        on_unused: release.on_unused,
    });
    None
}

/// The connection to `key` this thread released last, if it is still within its idle
/// timeout and passes `usable`. Connections found expired or unusable on the way are dropped.
pub(super) fn take(
    owner: usize,
    key: u64,
    mut usable: impl FnMut(&mut Stream) -> bool,
) -> Option<Stream> {
    let slot = LOCAL.try_with(|local| local.borrow().clone()).ok()??;
    let now = Instant::now();
    loop {
        let conn = {
            let mut list = lock(&slot);
            let at = list
                .iter()
                .rposition(|c| c.owner == owner && c.key == key)?;
            list.remove(at)
        };
        let mut conn = conn;
        if !conn.expired(now) && usable(&mut conn.stream) {
            return Some(conn.stream);
        }
        conn.discard(now);
    }
}

/// Starts the sweeper thread once per process.
fn start_sweeper() {
    if SWEEPER.swap(true, Ordering::SeqCst) {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("idle conn sweeper".into())
        .spawn(|| loop {
            std::thread::sleep(SWEEP_EVERY);
            sweep();
        });
    if spawned.is_err() {
        // Without a sweeper idle connections would outlive their timeout: keep none here.
        log::warn!("cannot start the idle upstream connection sweeper; using the shared pool");
        DISABLED.store(true, Ordering::SeqCst);
    }
}

/// Set when the sweeper could not start: every connection then goes to the shared pool.
static DISABLED: AtomicBool = AtomicBool::new(false);

/// Whether connections may be kept here at all.
pub(super) fn enabled() -> bool {
    !DISABLED.load(Ordering::Relaxed)
}

/// Drops the connections past their idle timeout, closed, or written to by the server.
fn sweep() {
    let slots: Vec<Slot> = {
        let mut slots = lock_slots();
        slots.retain(|w| w.strong_count() > 0);
        slots.iter().filter_map(Weak::upgrade).collect()
    };
    let now = Instant::now();
    for slot in slots {
        // Each check is a non-blocking read, so the lock is held for microseconds.
        let gone: Vec<HotConn> = {
            let mut list = lock(&slot);
            let mut gone = Vec::new();
            let mut at = 0;
            while at < list.len() {
                let c = &mut list[at];
                let unexpected = c.unexpected_data.clone();
                if c.expired(now) || !super::test_reusable_stream(&mut c.stream, &unexpected) {
                    gone.push(list.swap_remove(at));
                } else {
                    at += 1;
                }
            }
            gone
        };
        // Closed (and reported) outside the lock.
        for c in gone {
            c.discard(now);
        }
    }
}
