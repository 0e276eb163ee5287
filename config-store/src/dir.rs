//! The directory store: the Higress standalone file layout, `<root>/<plural>/<name>.yaml`.
//!
//! Pipeline: a watcher ([`watch`]) wakes the reload task → [`scan`] re-reads the tree (only
//! changed files are re-parsed) → [`crate::snapshot::assemble`] → publish on a `watch`
//! channel. Writes go to `<name>.yaml.tmp` and are renamed over the target, so a reader
//! never sees half a file.

pub mod scan;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::{watch as channel, Notify};

use crate::kind::ResourceKind;
use crate::limits::Limits;
use crate::parse::{parse_source, SourceContext};
use crate::snapshot::Snapshot;
use crate::store::{check_name, ConfigStore, StoreError};
pub use scan::Scanner;
pub use watch::{WatchMode, WatchOptions};

/// A `.tmp` file younger than this belongs to a writer still at work (as in Higress).
const TMP_LOCK_TTL: Duration = Duration::from_secs(5);

/// A config store over a directory, watched for changes.
#[derive(Clone)]
pub struct DirStore {
    inner: Arc<Inner>,
}

struct Inner {
    root: PathBuf,
    scanner: Mutex<Scanner>,
    tx: channel::Sender<Arc<Snapshot>>,
    /// Serialises reloads and writes so each publish sees the latest files.
    reload_lock: tokio::sync::Mutex<()>,
    _watchers: Mutex<Vec<watch::WatcherGuard>>,
}

// === impl DirStore ===

impl DirStore {
    /// Reads the directory once, without watching (for `gantry validate` and `routes`).
    pub fn load(root: &Path) -> Result<Snapshot, StoreError> {
        Self::load_with(root, Limits::default())
    }

    /// [`Self::load`] within `limits`.
    pub fn load_with(root: &Path, limits: Limits) -> Result<Snapshot, StoreError> {
        if !root.is_dir() {
            return Err(StoreError::Io {
                path: root.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
            });
        }
        let mut scanner = Scanner::with_limits(root.to_path_buf(), limits);
        Ok(scanner.rescan(&Snapshot::default()).unwrap_or_default())
    }

    /// Opens the directory (creating it and the standard sub-directories if missing), loads
    /// it, and starts watching it. Must be called inside a Tokio runtime.
    pub fn open(root: &Path, options: WatchOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(root).map_err(|source| StoreError::Io {
            path: root.display().to_string(),
            source,
        })?;
        for kind in ResourceKind::ALL {
            // Best effort, like the standalone api-server: a read-only root still loads.
            let _ = std::fs::create_dir_all(root.join(kind.plural()));
        }
        let mut scanner = Scanner::with_limits(root.to_path_buf(), options.limits);
        let first = scanner.rescan(&Snapshot::default()).unwrap_or_default();
        for d in first.diagnostics() {
            scan::log_diagnostic(d);
        }
        let (tx, _) = channel::channel(Arc::new(first));
        let trigger = Arc::new(Notify::new());
        let watchers = watch::start(root, options, trigger.clone())?;
        let inner = Arc::new(Inner {
            root: root.to_path_buf(),
            scanner: Mutex::new(scanner),
            tx,
            reload_lock: tokio::sync::Mutex::new(()),
            _watchers: Mutex::new(watchers),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            loop {
                trigger.notified().await;
                let Some(inner) = weak.upgrade() else { break };
                inner.reload().await;
            }
        });
        tracing::info!(root = %root.display(), mode = ?options.mode, poll_interval = ?options.poll_interval, "watching config directory");
        Ok(Self { inner })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Re-reads the directory now and publishes a snapshot if anything changed.
    pub async fn reload(&self) {
        self.inner.reload().await;
    }

    fn path_of(&self, kind: ResourceKind, name: &str) -> PathBuf {
        self.inner
            .root
            .join(kind.plural())
            .join(format!("{name}.yaml"))
    }
}

impl Inner {
    async fn reload(self: &Arc<Self>) {
        let _guard = self.reload_lock.lock().await;
        let this = self.clone();
        let prev = self.tx.borrow().clone();
        let next = tokio::task::spawn_blocking(move || {
            let mut scanner = match this.scanner.lock() {
                Ok(s) => s,
                Err(poisoned) => poisoned.into_inner(),
            };
            scanner.rescan(&prev).map(|next| (prev, next))
        })
        .await;
        match next {
            Ok(Some((prev, next))) => {
                for d in next.new_diagnostics_since(&prev) {
                    scan::log_diagnostic(d);
                }
                tracing::info!(
                    revision = next.revision(),
                    errors = next.errors().count(),
                    "configuration reloaded"
                );
                self.tx.send_replace(Arc::new(next));
            }
            Ok(None) => {}
            Err(e) => tracing::error!("config reload task failed: {e}"),
        }
    }
}

#[async_trait]
impl ConfigStore for DirStore {
    fn describe(&self) -> String {
        format!("dir:{}", self.inner.root.display())
    }

    fn subscribe(&self) -> channel::Receiver<Arc<Snapshot>> {
        self.inner.tx.subscribe()
    }

    async fn put(&self, kind: ResourceKind, name: &str, yaml: &str) -> Result<(), StoreError> {
        check_name(name)?;
        let label = format!("{}/{name}.yaml", kind.plural());
        let ctx = SourceContext {
            label: &label,
            dir_kind: Some(kind),
            default_name: Some(name),
        };
        let parsed = parse_source(ctx, yaml).map_err(|d| StoreError::Invalid {
            kind,
            name: name.to_string(),
            diagnostics: vec![d],
        })?;
        let mut problems: Vec<_> = parsed
            .diagnostics
            .into_iter()
            .filter(|d| d.is_error())
            .collect();
        for r in &parsed.resources {
            problems.extend(
                crate::validate::validate(&label, r)
                    .diagnostics
                    .into_iter()
                    .filter(|d| d.is_error()),
            );
        }
        if !problems.is_empty() {
            return Err(StoreError::Invalid {
                kind,
                name: name.to_string(),
                diagnostics: problems,
            });
        }
        let path = self.path_of(kind, name);
        let bytes = yaml.as_bytes().to_vec();
        let (k, n) = (kind, name.to_string());
        tokio::task::spawn_blocking(move || write_atomic(&path, &bytes, k, &n))
            .await
            .map_err(|e| StoreError::Io {
                path: label.clone(),
                source: std::io::Error::other(e),
            })??;
        self.inner.reload().await;
        Ok(())
    }

    async fn delete(&self, kind: ResourceKind, name: &str) -> Result<(), StoreError> {
        check_name(name)?;
        let path = self.path_of(kind, name);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound {
                    kind,
                    name: name.to_string(),
                })
            }
            Err(source) => {
                return Err(StoreError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        }
        self.inner.reload().await;
        Ok(())
    }
}

/// Writes `<path>.tmp` exclusively, then renames it over `path`.
fn write_atomic(
    path: &Path,
    bytes: &[u8],
    kind: ResourceKind,
    name: &str,
) -> Result<(), StoreError> {
    use std::io::Write;
    let io_err = |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_err)?;
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let mut attempt = 0;
    let mut file = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => break f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt == 0 => {
                let age = std::fs::metadata(&tmp)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .unwrap_or_default();
                if age < TMP_LOCK_TTL {
                    return Err(StoreError::Conflict {
                        kind,
                        name: name.to_string(),
                    });
                }
                std::fs::remove_file(&tmp).map_err(io_err)?;
                attempt += 1;
            }
            Err(e) => return Err(io_err(e)),
        }
    };
    let written = file.write_all(bytes).and_then(|_| file.sync_all());
    drop(file);
    if let Err(e) = written.and_then(|_| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    Ok(())
}
