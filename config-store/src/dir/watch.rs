//! Change detection for the directory store: `notify` events (debounced), a `PollWatcher`,
//! or both (`auto`, so edits through a Windows/Docker bind mount, which raise no events,
//! are still seen).

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use notify::{PollWatcher, RecursiveMode, Watcher};
use notify_debouncer_full::{new_debouncer, DebounceEventResult};
use tokio::sync::Notify;

use crate::limits::Limits;
use crate::store::StoreError;

/// How changes are detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WatchMode {
    /// File-system events plus a poll behind them (default).
    #[default]
    Auto,
    /// File-system events only (inotify, FSEvents, ReadDirectoryChangesW).
    Events,
    /// Polling only.
    Poll,
}

/// Watch settings.
#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// How changes are detected.
    pub mode: WatchMode,
    /// Poll period for `poll` and `auto` (default 1 s).
    pub poll_interval: Duration,
    /// The bounds every file is read within (default [`Limits::default`]).
    pub limits: Limits,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            mode: WatchMode::Auto,
            poll_interval: Duration::from_secs(1),
            limits: Limits::default(),
        }
    }
}

impl FromStr for WatchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(WatchMode::Auto),
            "events" => Ok(WatchMode::Events),
            "poll" => Ok(WatchMode::Poll),
            other => Err(format!(
                "unknown watch mode {other:?} (expected auto, events or poll)"
            )),
        }
    }
}

/// Keeps a watcher alive; dropping it stops watching.
pub type WatcherGuard = Box<dyn std::any::Any + Send>;

/// Debounce window for file-system events: long enough to coalesce an editor's
/// write-rename-chmod burst, short enough to apply an edit well within a second.
const EVENT_DEBOUNCE: Duration = Duration::from_millis(100);

/// Starts the watchers for `mode`; each change wakes `trigger`.
pub fn start(
    root: &Path,
    options: WatchOptions,
    trigger: Arc<Notify>,
) -> Result<Vec<WatcherGuard>, StoreError> {
    let watch_err = |e: notify::Error| StoreError::Watch {
        path: root.display().to_string(),
        message: e.to_string(),
    };
    let mut guards: Vec<WatcherGuard> = Vec::new();
    if matches!(options.mode, WatchMode::Auto | WatchMode::Events) {
        let t = trigger.clone();
        let mut debouncer =
            new_debouncer(
                EVENT_DEBOUNCE,
                None,
                move |res: DebounceEventResult| match res {
                    Ok(events) if events.iter().any(|e| is_change(&e.kind, &e.paths)) => {
                        t.notify_one()
                    }
                    Ok(_) => {}
                    Err(errors) => {
                        for e in errors {
                            tracing::warn!("file watch error: {e}");
                        }
                        t.notify_one();
                    }
                },
            )
            .map_err(watch_err)?;
        match debouncer.watch(root, RecursiveMode::Recursive) {
            Ok(()) => guards.push(Box::new(debouncer)),
            Err(e) if options.mode == WatchMode::Auto => {
                tracing::warn!("file events unavailable ({e}); relying on polling");
            }
            Err(e) => return Err(watch_err(e)),
        }
    }
    if matches!(options.mode, WatchMode::Auto | WatchMode::Poll) {
        let t = trigger;
        let config = notify::Config::default()
            .with_poll_interval(options.poll_interval)
            .with_compare_contents(true);
        // A vanished root fails every poll: log (and rescan on) the first failure only.
        let failing = AtomicBool::new(false);
        let mut poller = PollWatcher::new(
            move |res: notify::Result<notify::Event>| match res {
                Ok(event) => {
                    failing.store(false, Ordering::Relaxed);
                    if is_change(&event.kind, &event.paths) {
                        t.notify_one();
                    }
                }
                Err(e) => {
                    if !failing.swap(true, Ordering::Relaxed) {
                        tracing::warn!("poll watch error: {e}");
                        t.notify_one();
                    }
                }
            },
            config,
        )
        .map_err(watch_err)?;
        poller
            .watch(root, RecursiveMode::Recursive)
            .map_err(watch_err)?;
        guards.push(Box::new(poller));
    }
    Ok(guards)
}

/// True for events that may change what the store reads: not opens and reads (the
/// scanner's own reads raise those), not writes to `*.tmp` files still in progress.
fn is_change(kind: &notify::EventKind, paths: &[std::path::PathBuf]) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind};
    let read_only =
        matches!(kind, EventKind::Access(a) if *a != AccessKind::Close(AccessMode::Write));
    !read_only && !only_tmp(paths)
}

fn only_tmp(paths: &[std::path::PathBuf]) -> bool {
    !paths.is_empty()
        && paths
            .iter()
            .all(|p| p.extension().is_some_and(|e| e == "tmp"))
}
