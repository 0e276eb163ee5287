//! [`LocalSnapshot`]: the last good snapshot kept on local disk (under `--data-dir`), so a
//! restart whose configuration is broken, or whose Nacos is down, serves what was served
//! before instead of nothing.
//!
//! One JSON file per store (named after a hash of the store's description), written
//! atomically with mode 0600 after every published snapshot: each object's kind, name, source
//! label and version, and each stored content once. Read back, every object is parsed and
//! validated again; one that no longer parses is dropped with a warning.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::kind::ResourceKind;
use crate::parse::{parse_source, SourceContext};
use crate::snapshot::{Object, Snapshot};
use crate::store::version_of;
use crate::validate::validate;

/// Format version of the file.
const FORMAT: u32 = 1;
/// Snapshots published closer together than this are saved once.
const SAVE_DEBOUNCE: Duration = Duration::from_millis(200);

/// Errors reading or writing the saved snapshot.
#[derive(Debug, thiserror::Error)]
pub enum LocalSnapshotError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a saved snapshot of this format.
    #[error("{path}: not a saved snapshot: {message}")]
    Format {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// The saved last good snapshot of one store.
#[derive(Debug, Clone)]
pub struct LocalSnapshot {
    path: PathBuf,
    store: String,
}

/// A snapshot read back from disk.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The objects, validated again.
    pub snapshot: Snapshot,
    /// When it was saved.
    pub saved_at: SystemTime,
    /// The file it came from.
    pub path: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct File {
    format: u32,
    store: String,
    saved_at: u64,
    revision: u64,
    /// Stored contents by version.
    contents: BTreeMap<String, String>,
    objects: Vec<SavedObject>,
}

#[derive(Serialize, Deserialize)]
struct SavedObject {
    kind: String,
    name: String,
    source: String,
    version: String,
}

// === impl LocalSnapshot ===

impl LocalSnapshot {
    /// The saved snapshot of the store described as `store` (`dir:/etc/gantry`), kept in
    /// `data_dir`.
    pub fn new(data_dir: &Path, store: &str) -> Self {
        let id = &version_of(store.as_bytes())[..12];
        Self {
            path: data_dir.join(format!("last-good-{id}.json")),
            store: store.to_string(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the saved snapshot; `Ok(None)` when none was saved yet.
    pub fn load(&self) -> Result<Option<Saved>, LocalSnapshotError> {
        let label = self.path.display().to_string();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(LocalSnapshotError::Io {
                    path: label,
                    source,
                })
            }
        };
        let format_err = |message: String| LocalSnapshotError::Format {
            path: label.clone(),
            message,
        };
        let file: File = serde_json::from_str(&text).map_err(|e| format_err(e.to_string()))?;
        if file.format != FORMAT {
            return Err(format_err(format!(
                "format {} (expected {FORMAT})",
                file.format
            )));
        }
        if file.store != self.store {
            return Err(format_err(format!(
                "saved for {}, not {}",
                file.store, self.store
            )));
        }
        let mut objects = Vec::new();
        for o in file.objects {
            match restore(&o, &file.contents) {
                Ok(object) => objects.push(object),
                Err(why) => tracing::warn!(
                    "saved snapshot {label}: {} {} ({}) not restored: {why}",
                    o.kind,
                    o.name,
                    o.source
                ),
            }
        }
        Ok(Some(Saved {
            snapshot: Snapshot::from_objects(file.revision, objects),
            saved_at: UNIX_EPOCH + Duration::from_secs(file.saved_at),
            path: self.path.clone(),
        }))
    }

    /// Writes `snapshot` atomically (temp file + rename, mode 0600).
    pub fn save(&self, snapshot: &Snapshot) -> Result<(), LocalSnapshotError> {
        let mut contents = BTreeMap::new();
        let mut objects = Vec::new();
        for ((kind, name), o) in snapshot.objects() {
            contents
                .entry(o.version.to_string())
                .or_insert_with(|| o.content.to_string());
            objects.push(SavedObject {
                kind: kind.kind_name().to_string(),
                name: name.clone(),
                source: o.source.clone(),
                version: o.version.to_string(),
            });
        }
        let saved_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let file = File {
            format: FORMAT,
            store: self.store.clone(),
            saved_at,
            revision: snapshot.revision(),
            contents,
            objects,
        };
        let io = |source| LocalSnapshotError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let bytes = serde_json::to_vec(&file).map_err(|e| io(std::io::Error::other(e)))?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        write_private(&tmp, &bytes).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    /// Saves every snapshot `rx` publishes from now on, on a background task.
    pub fn spawn_saver(self, mut rx: watch::Receiver<Arc<Snapshot>>) {
        tokio::spawn(async move {
            let mut failing = false;
            loop {
                let snapshot = rx.borrow_and_update().clone();
                let this = self.clone();
                let saved = tokio::task::spawn_blocking(move || this.save(&snapshot)).await;
                match saved {
                    Ok(Ok(())) if failing => {
                        failing = false;
                        tracing::info!(file = %self.path.display(), "last good snapshot saved again");
                    }
                    Ok(Ok(())) => {}
                    Ok(Err(e)) if !failing => {
                        failing = true;
                        tracing::error!("cannot save the last good snapshot: {e}");
                    }
                    Ok(Err(_)) => {}
                    Err(e) => tracing::error!("snapshot saver failed: {e}"),
                }
                if rx.changed().await.is_err() {
                    break;
                }
                tokio::time::sleep(SAVE_DEBOUNCE).await;
            }
        });
    }
}

/// Parses and validates one saved object from its stored content.
fn restore(o: &SavedObject, contents: &BTreeMap<String, String>) -> Result<Object, String> {
    let kind = ResourceKind::from_kind_name(&o.kind).ok_or("unknown kind")?;
    let content = contents.get(&o.version).ok_or("content missing")?;
    let ctx = SourceContext {
        label: &o.source,
        dir_kind: Some(kind),
        default_name: Some(&o.name),
    };
    let parsed = parse_source(ctx, content).map_err(|d| d.message)?;
    let resource = parsed
        .resources
        .into_iter()
        .find(|r| r.kind() == kind && r.name() == o.name)
        .ok_or("not in its saved content")?;
    let validation = validate(&o.source, &resource);
    if !validation.is_valid() {
        return Err("no longer valid".into());
    }
    Ok(Object {
        source: o.source.clone(),
        content: content.as_str().into(),
        version: o.version.as_str().into(),
        resource,
        annotations: validation.annotations.map(Arc::new),
        stale: false,
    })
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(label: &str, text: &str) -> SourceOutcome {
        crate::test_files::sources(&[(label, text)]).remove(0)
    }
    use crate::snapshot::{assemble, SourceOutcome};

    const A: &str = "kind: Ingress\nspec:\n  rules:\n  - host: a.com\n";
    const B: &str = "kind: Ingress\nspec:\n  rules:\n  - host: b.com\n";

    #[test]
    fn a_saved_snapshot_is_the_baseline_of_a_broken_start() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalSnapshot::new(dir.path(), "dir:/x");
        assert!(local.load().unwrap().is_none());
        let good = assemble(
            &Snapshot::default(),
            vec![one("ingresses/a.yaml", A), one("ingresses/b.yaml", B)],
        );
        local.save(&good).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(local.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let saved = local.load().unwrap().unwrap();
        assert_eq!(saved.snapshot.ingresses().count(), 2);
        let a = saved.snapshot.get(ResourceKind::Ingress, "a").unwrap();
        assert_eq!(&*a.version, version_of(A.as_bytes()));

        // Restart: a.yaml is broken now, b.yaml was deleted.
        let next = assemble(&saved.snapshot, vec![one("ingresses/a.yaml", "kind: [")]);
        let a = next.get(ResourceKind::Ingress, "a").unwrap();
        assert!(a.stale, "the broken file keeps its saved version");
        assert!(
            next.get(ResourceKind::Ingress, "b").is_none(),
            "a deleted file drops"
        );
        assert_eq!(next.stale_objects().count(), 1);
    }

    #[test]
    fn another_store_or_a_corrupt_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let local = LocalSnapshot::new(dir.path(), "dir:/x");
        local.save(&Snapshot::default()).unwrap();
        let other = LocalSnapshot {
            path: local.path().to_path_buf(),
            store: "dir:/y".into(),
        };
        assert!(other
            .load()
            .unwrap_err()
            .to_string()
            .contains("saved for dir:/x"));
        std::fs::write(local.path(), "{").unwrap();
        assert!(matches!(
            local.load(),
            Err(LocalSnapshotError::Format { .. })
        ));
    }
}
