//! The directory store: the Higress standalone file layout, `<root>/<plural>/<name>.yaml`.
//!
//! Pipeline: a watcher ([`watch`]) wakes the reload task → [`scan`] re-reads the tree (only
//! changed files are re-parsed) → [`crate::snapshot::assemble`] → publish on a `watch`
//! channel. Writes go to `<name>.yaml.tmp` and are renamed over the target, so a reader
//! never sees half a file; a resource inside a multi-document file is edited in place
//! ([`documents`]). A resource's version is the MD5 of the file that holds it.

pub mod documents;
pub mod scan;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use tokio::sync::{watch as channel, Notify};

use crate::kind::ResourceKind;
use crate::limits::Limits;
use crate::snapshot::Snapshot;
use crate::store::{
    check_name, check_precondition, check_put, version_of, ConfigStore, Precondition, StoreError,
    StoreState, StoredDocument,
};
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
    state: Mutex<StoreState>,
    /// Serialises reloads so each publish sees the latest files.
    reload_lock: tokio::sync::Mutex<()>,
    /// Serialises this process's writes, so a precondition and its write are one step.
    write_lock: tokio::sync::Mutex<()>,
    _watchers: Mutex<Vec<watch::WatcherGuard>>,
}

/// Where a resource is stored now.
struct Located {
    /// Path relative to the root.
    label: String,
    path: PathBuf,
    content: String,
    /// The resource's document inside a multi-document file; `None` when the file holds
    /// only this resource.
    document: Option<usize>,
    documents: Vec<documents::Document>,
}

// === impl DirStore ===

impl DirStore {
    /// Reads the directory once, without watching (for `gantry validate` and `routes`).
    pub fn load(root: &Path) -> Result<Snapshot, StoreError> {
        Self::load_with(root, Limits::default())
    }

    /// [`Self::load`] within `limits`.
    pub fn load_with(root: &Path, limits: Limits) -> Result<Snapshot, StoreError> {
        require_dir(root)?;
        let mut scanner = Scanner::with_limits(root.to_path_buf(), limits);
        Ok(scanner.rescan(&Snapshot::default()).unwrap_or_default())
    }

    /// Opens an existing directory (creating missing standard sub-directories), loads it,
    /// and starts watching it. Must be called inside a Tokio runtime.
    pub fn open(root: &Path, options: WatchOptions) -> Result<Self, StoreError> {
        Self::open_with_baseline(root, options, Snapshot::default())
    }

    /// Like [`DirStore::open`], with `baseline` as the previous snapshot: a file that cannot
    /// be read or parsed keeps the baseline's resources (the last good snapshot saved before
    /// a restart), while a file that is gone drops them.
    pub fn open_with_baseline(
        root: &Path,
        options: WatchOptions,
        baseline: Snapshot,
    ) -> Result<Self, StoreError> {
        require_dir(root)?;
        for kind in ResourceKind::ALL {
            // Best effort, like the standalone api-server: a read-only root still loads.
            let _ = std::fs::create_dir_all(root.join(kind.plural()));
        }
        // Watchers first, then the first scan: an edit before the scan is in it, one after
        // the watchers' baseline wakes the reload task, so none falls between the two.
        let trigger = Arc::new(Notify::new());
        let watchers = watch::start(root, options, trigger.clone())?;
        let mut scanner = Scanner::with_limits(root.to_path_buf(), options.limits);
        let first = scanner.rescan(&baseline).unwrap_or(baseline);
        for d in first.diagnostics() {
            scan::log_diagnostic(d);
        }
        let (tx, _) = channel::channel(Arc::new(first));
        let inner = Arc::new(Inner {
            root: root.to_path_buf(),
            scanner: Mutex::new(scanner),
            tx,
            state: Mutex::new(StoreState::Ok),
            reload_lock: tokio::sync::Mutex::new(()),
            write_lock: tokio::sync::Mutex::new(()),
            _watchers: Mutex::new(watchers),
        });
        inner.update_state();
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

    fn label_of(kind: ResourceKind, name: &str) -> String {
        format!("{}/{name}.yaml", kind.plural())
    }

    /// Finds where `kind`/`name` is stored: its own file, or a document of a multi-document
    /// file the current snapshot says holds it.
    async fn locate(&self, kind: ResourceKind, name: &str) -> Result<Option<Located>, StoreError> {
        let own = Self::label_of(kind, name);
        let mut candidates = vec![own.clone()];
        if let Some(o) = self.inner.tx.borrow().get(kind, name) {
            if o.source != own {
                candidates.push(o.source.clone());
            }
        }
        for label in candidates {
            let path = self.inner.root.join(&label);
            let content = match tokio::fs::read_to_string(&path).await {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(StoreError::Io {
                        path: label,
                        source,
                    })
                }
            };
            let dir_kind = label
                .split('/')
                .next()
                .and_then(ResourceKind::from_plural)
                .unwrap_or(kind);
            let unwritable = |reason: String| StoreError::Unwritable {
                kind,
                name: name.to_string(),
                reason,
            };
            let docs = match documents::split(&content) {
                Some(docs) => docs,
                // Broken YAML in the resource's own file: a write replaces it whole.
                None if label == own => Vec::new(),
                None => {
                    return Err(unwritable(format!(
                        "{label} holds it among other documents that cannot be told apart; edit the file by hand"
                    )))
                }
            };
            if docs.len() <= 1 {
                return Ok(Some(Located {
                    label,
                    path,
                    content,
                    document: None,
                    documents: docs,
                }));
            }
            match docs.iter().position(|d| d.is(kind, name, dir_kind)) {
                Some(i) => {
                    return Ok(Some(Located {
                        label,
                        path,
                        content,
                        document: Some(i),
                        documents: docs,
                    }))
                }
                None if label == own => {
                    return Err(unwritable(format!(
                        "{label} holds several documents and none is {kind} {name:?}; edit the file by hand"
                    )))
                }
                None => continue,
            }
        }
        Ok(None)
    }

    async fn write(
        &self,
        path: PathBuf,
        bytes: Vec<u8>,
        kind: ResourceKind,
        name: &str,
    ) -> Result<(), StoreError> {
        let root = self.inner.root.clone();
        let n = name.to_string();
        tokio::task::spawn_blocking(move || write_atomic(&root, &path, &bytes, kind, &n))
            .await
            .map_err(|e| StoreError::Io {
                path: Self::label_of(kind, name),
                source: std::io::Error::other(e),
            })?
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
        self.update_state();
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

    /// Records whether the root can be listed; logs each change of state once.
    fn update_state(&self) {
        let next = match std::fs::read_dir(&self.root) {
            Ok(_) => StoreState::Ok,
            Err(e) => StoreState::Unreachable {
                message: format!("config directory cannot be read: {e}"),
            },
        };
        let mut state = match self.state.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if *state != next {
            match &next {
                StoreState::Ok => tracing::info!("config directory readable again"),
                StoreState::Unreachable { message } => {
                    tracing::error!("{message}; the last good configuration stays in force")
                }
            }
            *state = next;
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

    fn state(&self) -> StoreState {
        match self.inner.state.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    async fn reload(&self) {
        self.inner.reload().await;
    }

    async fn get(&self, kind: ResourceKind, name: &str) -> Result<StoredDocument, StoreError> {
        check_name(name)?;
        let not_found = || StoreError::NotFound {
            kind,
            name: name.to_string(),
        };
        let located = self.locate(kind, name).await?.ok_or_else(not_found)?;
        let yaml = match located.document {
            Some(i) => located.documents[i].body().to_string(),
            None => located.content.clone(),
        };
        Ok(StoredDocument {
            kind,
            name: name.to_string(),
            yaml,
            version: version_of(located.content.as_bytes()),
            source: located.label,
        })
    }

    async fn list(&self, kind: ResourceKind) -> Result<Vec<StoredDocument>, StoreError> {
        let dir = self.inner.root.join(kind.plural());
        let mut names = std::collections::BTreeSet::new();
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries {
                    let entry = entry.map_err(|source| StoreError::Io {
                        path: kind.plural().to_string(),
                        source,
                    })?;
                    let file = entry.file_name();
                    let Some(stem) = file.to_str().and_then(|f| f.strip_suffix(".yaml")) else {
                        continue;
                    };
                    if check_name(stem).is_ok() {
                        names.insert(stem.to_string());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(StoreError::Io {
                    path: kind.plural().to_string(),
                    source,
                })
            }
        }
        // Resources declared inside other (multi-document) files.
        for ((k, n), _) in self.inner.tx.borrow().objects() {
            if *k == kind {
                names.insert(n.clone());
            }
        }
        let mut out = Vec::new();
        for name in names {
            match self.get(kind, &name).await {
                Ok(doc) => out.push(doc),
                Err(StoreError::NotFound { .. } | StoreError::Unwritable { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn put(
        &self,
        kind: ResourceKind,
        name: &str,
        yaml: &str,
        precondition: Precondition,
    ) -> Result<String, StoreError> {
        let own = Self::label_of(kind, name);
        check_put(kind, name, yaml, &own)?;
        let _write = self.inner.write_lock.lock().await;
        let located = self.locate(kind, name).await?;
        let current = located.as_ref().map(|l| version_of(l.content.as_bytes()));
        check_precondition(kind, name, current.as_deref(), &precondition)?;
        let (path, content) = match located {
            Some(Located {
                label,
                path,
                document: Some(i),
                documents,
                ..
            }) => {
                let mut texts: Vec<String> = documents.into_iter().map(|d| d.text).collect();
                texts[i] = yaml.to_string();
                let joined = documents::join(&texts);
                if documents::split(&joined).map(|d| d.len()) != Some(texts.len()) {
                    return Err(StoreError::Unwritable {
                        kind,
                        name: name.to_string(),
                        reason: format!("{label} could not be rewritten safely; edit it by hand"),
                    });
                }
                (path, joined)
            }
            Some(Located { path, .. }) => (path, yaml.to_string()),
            None => (self.inner.root.join(&own), yaml.to_string()),
        };
        let version = version_of(content.as_bytes());
        self.write(path, content.into_bytes(), kind, name).await?;
        self.inner.reload().await;
        Ok(version)
    }

    async fn delete(
        &self,
        kind: ResourceKind,
        name: &str,
        precondition: Precondition,
    ) -> Result<(), StoreError> {
        check_name(name)?;
        let _write = self.inner.write_lock.lock().await;
        let Some(located) = self.locate(kind, name).await? else {
            return Err(StoreError::NotFound {
                kind,
                name: name.to_string(),
            });
        };
        let current = version_of(located.content.as_bytes());
        check_precondition(kind, name, Some(&current), &precondition)?;
        match located.document {
            Some(i) if located.documents.len() > 2 => {
                let texts: Vec<String> = located
                    .documents
                    .into_iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, d)| d.text)
                    .collect();
                let joined = documents::join(&texts);
                self.write(located.path, joined.into_bytes(), kind, name)
                    .await?;
            }
            Some(i) => {
                // One document would remain, and a single-document file's resource is named
                // after the file: move the survivor to its own file first.
                let Some(survivor) = located.documents.iter().enumerate().find(|(j, _)| *j != i)
                else {
                    return Err(StoreError::NotFound {
                        kind,
                        name: name.to_string(),
                    });
                };
                let survivor = survivor.1;
                let (Some(other), Some(other_kind)) = (
                    survivor.name.clone(),
                    survivor
                        .kind
                        .as_deref()
                        .and_then(ResourceKind::from_kind_name)
                        .or(Some(kind)),
                ) else {
                    return Err(StoreError::Unwritable {
                        kind,
                        name: name.to_string(),
                        reason: format!(
                            "{} would keep one unnamed document; edit it by hand",
                            located.label
                        ),
                    });
                };
                let own = self.inner.root.join(Self::label_of(other_kind, &other));
                if own != located.path {
                    if own.exists() {
                        return Err(StoreError::Unwritable {
                            kind,
                            name: name.to_string(),
                            reason: format!(
                                "{} would keep only {other_kind} {other:?}, and {} exists already; edit them by hand",
                                located.label,
                                Self::label_of(other_kind, &other)
                            ),
                        });
                    }
                    let body = survivor.body().to_string().into_bytes();
                    self.write(own, body, other_kind, &other).await?;
                    tokio::fs::remove_file(&located.path)
                        .await
                        .map_err(|source| StoreError::Io {
                            path: located.label.clone(),
                            source,
                        })?;
                } else {
                    let body = survivor.body().to_string().into_bytes();
                    self.write(located.path, body, kind, name).await?;
                }
            }
            _ => match tokio::fs::remove_file(&located.path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(StoreError::NotFound {
                        kind,
                        name: name.to_string(),
                    })
                }
                Err(source) => {
                    return Err(StoreError::Io {
                        path: located.label,
                        source,
                    })
                }
            },
        }
        self.inner.reload().await;
        Ok(())
    }
}

/// Fails unless `root` is an existing directory.
fn require_dir(root: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(StoreError::Io {
            path: root.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        }),
        Err(e) => Err(StoreError::Io {
            path: root.display().to_string(),
            source: if e.kind() == std::io::ErrorKind::NotFound {
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory")
            } else {
                e
            },
        }),
    }
}

/// Writes `<path>.tmp` exclusively, then renames it over `path`.
fn write_atomic(
    root: &Path,
    path: &Path,
    bytes: &[u8],
    kind: ResourceKind,
    name: &str,
) -> Result<(), StoreError> {
    use std::io::Write;
    let label = path
        .strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/");
    let io_err = |source| StoreError::Io {
        path: label.clone(),
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
                    return Err(StoreError::Busy {
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
