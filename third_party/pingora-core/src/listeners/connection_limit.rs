// Gantry patch: new module (see GANTRY-PATCH.md), a limit on open downstream connections.

//! A limit on open downstream connections that sheds idle connections first.
//!
//! Every accepted connection of a service takes a [`ConnectionPermit`] from the service's
//! [`ConnectionLimit`] and gives it back when it closes. A connection *awaits* a request from
//! accept (and from the end of its TLS handshake), and again after each HTTP/1 response; it
//! is *idle* once a read found nothing to read while it awaits, and busy again as soon as a
//! read returns data. At the limit, a new
//! connection closes one idle connection and takes its place (as nginx reuses its "reusable"
//! keep-alive connections, which it marks so after a read found no data); when no connection
//! is idle the new one is refused (closed at once). A connection is only ever shed between
//! requests, never with request bytes read or already waiting to be read (checked with
//! `MSG_PEEK` just before).
//!
//! HTTP/2 connections count towards the limit but are never idle here (their own idle timeout
//! closes them). When the server stops accepting, idle connections are closed, but one
//! accepted moments before still gets its first request served
//! ([`ConnectionLimit::wait_for_fresh`]). The count also tells when a draining server has no
//! connection left ([`ConnectionLimit::open`]).

use log::warn;
use parking_lot::Mutex;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Reading or writing a request or response.
const BUSY: u8 = 0;
/// Waiting for a request: nothing read since accept or since the last response.
const AWAIT: u8 = 1;
/// Waiting for a request, and a read found nothing to read: may be shed.
const IDLE: u8 = 2;
/// Chosen to be closed (or closed): reads return end of file from now on.
const SHED: u8 = 3;

/// At most one warning per this period about refused connections.
const REPORT_EVERY: Duration = Duration::from_secs(10);

tokio::task_local! {
    /// The activity of the connection the current task serves.
    static CURRENT: Arc<ConnectionActivity>;
}

/// A limit on the open downstream connections of a service, shared by its listeners.
///
/// Cloning shares the limit.
#[derive(Clone, Debug)]
pub struct ConnectionLimit {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    max: usize,
    open: AtomicUsize,
    /// How many registered connections are idle (a hint: it may lag a transition).
    idle: AtomicUsize,
    registry: Mutex<Registry>,
    refused: AtomicU64,
    last_report: Mutex<Option<Instant>>,
}

/// The open connections, so that an idle one can be found and shed.
#[derive(Debug, Default)]
struct Registry {
    slots: Vec<Option<Arc<ConnectionActivity>>>,
    free: Vec<usize>,
    /// Where the next search for an idle connection starts (a clock hand), so that every
    /// idle connection is shed in turn.
    hand: usize,
}

/// Whether one connection is busy, idle or shed.
#[derive(Debug)]
pub struct ConnectionActivity {
    state: AtomicU8,
    shed: Notify,
    limit: Arc<Inner>,
    accepted: Instant,
    /// Whether a response was sent (the connection waited for a request again since).
    served: AtomicBool,
    /// The socket, to check for bytes not read yet before shedding (-1: unknown).
    fd: AtomicI32,
}

/// One open connection's place under a [`ConnectionLimit`]; dropping it frees the place.
#[derive(Debug)]
pub struct ConnectionPermit {
    activity: Arc<ConnectionActivity>,
    slot: usize,
}

impl ConnectionLimit {
    /// A limit of `max` open connections (at least 1).
    pub fn new(max: usize) -> Self {
        ConnectionLimit {
            inner: Arc::new(Inner {
                max: max.max(1),
                open: AtomicUsize::new(0),
                idle: AtomicUsize::new(0),
                registry: Mutex::new(Registry::default()),
                refused: AtomicU64::new(0),
                last_report: Mutex::new(None),
            }),
        }
    }

    /// No limit: connections are only counted (for [`Self::open`]).
    pub fn unlimited() -> Self {
        Self::new(usize::MAX)
    }

    /// The most connections admitted at once (`usize::MAX` when unlimited).
    pub fn max(&self) -> usize {
        self.inner.max
    }

    /// How many connections are open now.
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// Admits a new connection, shedding an idle one when the limit is reached. `None` when
    /// the limit is reached and no connection is idle: close the new connection (and call
    /// [`Self::note_refused`]).
    pub fn admit(&self) -> Option<ConnectionPermit> {
        let open = self.inner.open.fetch_add(1, Ordering::AcqRel) + 1;
        if open > self.inner.max && !self.shed_one() {
            self.inner.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let activity = Arc::new(ConnectionActivity {
            state: AtomicU8::new(AWAIT),
            shed: Notify::new(),
            limit: self.inner.clone(),
            accepted: Instant::now(),
            served: AtomicBool::new(false),
            fd: AtomicI32::new(-1),
        });
        let mut registry = self.inner.registry.lock();
        let slot = match registry.free.pop() {
            Some(slot) => {
                registry.slots[slot] = Some(activity.clone());
                slot
            }
            None => {
                registry.slots.push(Some(activity.clone()));
                registry.slots.len() - 1
            }
        };
        Some(ConnectionPermit { activity, slot })
    }

    /// Closes one idle connection, if any; returns whether one was shed. Used at the limit
    /// and when accept() runs out of file descriptors.
    pub fn shed_one(&self) -> bool {
        if self.inner.idle.load(Ordering::Acquire) == 0 {
            return false;
        }
        let mut registry = self.inner.registry.lock();
        let len = registry.slots.len();
        for step in 0..len {
            let at = (registry.hand + step) % len;
            if let Some(activity) = &registry.slots[at] {
                if activity.shed() {
                    registry.hand = (at + 1) % len;
                    return true;
                }
            }
        }
        false
    }

    /// Closes the idle connections except those accepted less than `grace` ago that have not
    /// been served yet (when the server stops accepting); returns how many.
    pub fn shed_idle_except_fresh(&self, grace: Duration) -> usize {
        let registry = self.inner.registry.lock();
        registry
            .slots
            .iter()
            .flatten()
            .filter(|activity| !activity.is_fresh(grace) && activity.shed())
            .count()
    }

    /// Waits, at most `grace`, until no open connection accepted less than `grace` ago is
    /// still without its first response.
    pub async fn wait_for_fresh(&self, grace: Duration) {
        let deadline = Instant::now() + grace;
        loop {
            let fresh = {
                let registry = self.inner.registry.lock();
                registry.slots.iter().flatten().any(|a| a.is_fresh(grace))
            };
            if !fresh || Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Closes every idle connection (when the server stops accepting); returns how many.
    pub fn shed_all_idle(&self) -> usize {
        let registry = self.inner.registry.lock();
        registry
            .slots
            .iter()
            .flatten()
            .filter(|activity| activity.shed())
            .count()
    }

    /// Counts a refused connection; warns at most once per 10 s.
    pub fn note_refused(&self) {
        let refused = self.inner.refused.fetch_add(1, Ordering::AcqRel) + 1;
        let Some(mut last) = self.inner.last_report.try_lock() else {
            return;
        };
        if last.is_some_and(|at| at.elapsed() < REPORT_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        warn!(
            "connection limit ({}) reached with no idle connection to shed: {refused} \
             connection(s) refused so far",
            self.inner.max
        );
    }
}

impl ConnectionActivity {
    /// The connection was served and waits for its next request: it becomes idle (may be
    /// shed) once a read finds nothing to read.
    pub fn mark_idle(&self) {
        self.served.store(true, Ordering::Release);
        self.mark_awaiting();
    }

    /// The connection waits for a request (e.g. after its TLS handshake).
    pub fn mark_awaiting(&self) {
        let _ = self
            .state
            .compare_exchange(BUSY, AWAIT, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Accepted less than `grace` ago, never served, not shed.
    fn is_fresh(&self, grace: Duration) -> bool {
        !self.served.load(Ordering::Acquire)
            && self.state.load(Ordering::Acquire) != SHED
            && self.accepted.elapsed() < grace
    }

    /// A read returned data: the connection is busy.
    #[inline]
    pub(crate) fn on_read_data(&self) {
        let state = self.state.load(Ordering::Relaxed);
        if state == AWAIT {
            let _ = self
                .state
                .compare_exchange(AWAIT, BUSY, Ordering::AcqRel, Ordering::Acquire);
        } else if state == IDLE
            && self
                .state
                .compare_exchange(IDLE, BUSY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.limit.idle.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// A read found nothing to read: a connection awaiting a request is idle now.
    #[inline]
    pub(crate) fn on_read_pending(&self) {
        if self.state.load(Ordering::Relaxed) == AWAIT
            && self
                .state
                .compare_exchange(AWAIT, IDLE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.limit.idle.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Whether the connection was shed; its reads then return end of file.
    #[inline]
    pub(crate) fn is_shed(&self) -> bool {
        self.state.load(Ordering::Acquire) == SHED
    }

    /// Resolves once the connection is shed.
    pub(crate) async fn shed_notified(&self) {
        if self.is_shed() {
            return;
        }
        self.shed.notified().await;
    }

    /// Records the connection's socket (see [`Self::has_unread_data`]).
    pub(crate) fn set_fd(&self, fd: i32) {
        self.fd.store(fd, Ordering::Release);
    }

    /// Whether bytes arrived that the connection has not read yet (its task has not run
    /// since): then it is not idle, whatever its last read found.
    fn has_unread_data(&self) -> bool {
        #[cfg(unix)]
        {
            use nix::sys::socket::{recv, MsgFlags};
            let fd = self.fd.load(Ordering::Acquire);
            if fd < 0 {
                return false;
            }
            let mut byte = [0u8; 1];
            // MSG_PEEK reads nothing away. The descriptor stays open while the permit lives,
            // except in the instant between closing and dropping it, when a wrong answer
            // only affects this connection, which is closing anyway.
            matches!(
                recv(fd, &mut byte, MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT),
                Ok(n) if n > 0
            )
        }
        #[cfg(not(unix))]
        {
            false
        }
    }

    /// Sheds the connection if it is idle; returns whether it did.
    fn shed(&self) -> bool {
        if self.state.load(Ordering::Acquire) != IDLE || self.has_unread_data() {
            return false;
        }
        if self
            .state
            .compare_exchange(IDLE, SHED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.limit.idle.fetch_sub(1, Ordering::AcqRel);
        // `notify_one` keeps the wake-up for a waiter that has not started waiting yet.
        self.shed.notify_one();
        true
    }
}

impl ConnectionPermit {
    /// The activity of the admitted connection.
    pub fn activity(&self) -> &Arc<ConnectionActivity> {
        &self.activity
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let limit = &self.activity.limit;
        if self.activity.state.swap(SHED, Ordering::AcqRel) == IDLE {
            limit.idle.fetch_sub(1, Ordering::AcqRel);
        }
        {
            let mut registry = limit.registry.lock();
            registry.slots[self.slot] = None;
            registry.free.push(self.slot);
        }
        limit.open.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `future` (one connection's work) with `activity` as the current connection's.
///
/// A plain function, not an `async fn`: an `async` wrapper would keep a second copy of
/// `future`'s state beside the task-local one, doubling every connection's task.
pub(crate) fn scope<F: Future>(
    activity: Arc<ConnectionActivity>,
    future: F,
) -> tokio::task::futures::TaskLocalFuture<Arc<ConnectionActivity>, F> {
    CURRENT.scope(activity, future)
}

/// Marks the connection served by the current task idle (between HTTP/1 requests); does
/// nothing outside a limited connection.
pub fn mark_current_idle() {
    let _ = CURRENT.try_with(|activity| activity.mark_idle());
}

/// Marks the connection of the current task as awaiting its first request (after a
/// handshake); does nothing outside a limited connection.
pub(crate) fn mark_current_awaiting() {
    let _ = CURRENT.try_with(|activity| activity.mark_awaiting());
}
