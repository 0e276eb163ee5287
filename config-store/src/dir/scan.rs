//! Reads the directory tree into source outcomes, re-parsing only files whose bytes changed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity};
use crate::kind::{ResourceKind, IGNORED_PLURALS};
use crate::parse::{parse_source, ParsedSource, SourceContext};
use crate::snapshot::{assemble, Snapshot, SourceOutcome};

/// Reads `<root>/<plural>/*.yaml` and remembers what it read.
pub struct Scanner {
    root: PathBuf,
    cache: BTreeMap<PathBuf, Cached>,
    noticed: HashSet<PathBuf>,
}

struct Cached {
    bytes: Vec<u8>,
    label: String,
    parsed: Result<ParsedSource, Diagnostic>,
}

// === impl Scanner ===

impl Scanner {
    /// A scanner with an empty cache.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            cache: BTreeMap::new(),
            noticed: HashSet::new(),
        }
    }

    /// Re-reads the tree. Returns the next snapshot, or `None` if no file changed since the
    /// last call (the first call always returns a snapshot).
    pub fn rescan(&mut self, prev: &Snapshot) -> Option<Snapshot> {
        let first = self.cache.is_empty() && prev.revision() == 0;
        let mut seen = HashSet::new();
        let mut changed = false;
        for kind in ResourceKind::ALL {
            let dir = self.root.join(kind.plural());
            for path in yaml_files(&dir, &mut self.noticed) {
                let Ok(bytes) = std::fs::read(&path) else {
                    // Vanished between listing and reading: treated as deleted.
                    continue;
                };
                seen.insert(path.clone());
                if self.cache.get(&path).is_some_and(|c| c.bytes == bytes) {
                    continue;
                }
                changed = true;
                let label = self.label(&path);
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".yaml"))
                    .unwrap_or_default()
                    .to_string();
                let parsed = match std::str::from_utf8(&bytes) {
                    Ok(text) => parse_source(
                        SourceContext {
                            label: &label,
                            dir_kind: Some(kind),
                            default_name: Some(&name),
                        },
                        text,
                    ),
                    Err(e) => Err(Diagnostic::source_error(
                        &label,
                        format!("not UTF-8 text: {e}"),
                    )),
                };
                self.cache.insert(
                    path,
                    Cached {
                        bytes,
                        label,
                        parsed,
                    },
                );
            }
        }
        self.notice_unknown_dirs();
        let before = self.cache.len();
        self.cache.retain(|p, _| seen.contains(p));
        changed |= self.cache.len() != before;
        if !changed && !first {
            return None;
        }
        let sources = self
            .cache
            .values()
            .map(|c| SourceOutcome {
                label: c.label.clone(),
                parsed: c.parsed.clone(),
            })
            .collect();
        Some(assemble(prev, sources))
    }

    fn label(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }

    /// Logs once per directory that is neither modelled nor a known standalone directory.
    fn notice_unknown_dirs(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !path.is_dir() || name.starts_with('.') || self.noticed.contains(&path) {
                continue;
            }
            if ResourceKind::from_plural(name).is_none() {
                self.noticed.insert(path.clone());
                if IGNORED_PLURALS.contains(&name) {
                    tracing::info!(dir = %path.display(), "Higress standalone directory not used by Gantry; skipped");
                } else {
                    tracing::warn!(dir = %path.display(), "unknown directory in the config root; skipped");
                }
            }
        }
    }
}

/// The `*.yaml` files of a directory (sorted). `.yml` files are skipped with one warning,
/// as Higress skips them too; `*.tmp` files are writes in progress.
fn yaml_files(dir: &Path, noticed: &mut HashSet<PathBuf>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if name.ends_with(".yml") && noticed.insert(p.clone()) {
                tracing::warn!(file = %p.display(), "skipped: only .yaml files are read (as in Higress); rename it to .yaml");
            }
            name.ends_with(".yaml") && !name.starts_with('.') && p.is_file()
        })
        .collect();
    files.sort();
    files
}

/// Logs a diagnostic at its severity.
pub fn log_diagnostic(d: &Diagnostic) {
    match d.severity {
        Severity::Error => tracing::error!("{d}"),
        Severity::Warning => tracing::warn!("{d}"),
    }
}
