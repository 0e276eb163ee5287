//! Reads the directory tree into source outcomes, re-parsing only files whose bytes changed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity};
use crate::kind::{ResourceKind, IGNORED_PLURALS};
use crate::parse::SourceContext;
use crate::snapshot::{assemble, Snapshot, SourceOutcome};

/// Reads `<root>/<plural>/*.yaml` and remembers what it read.
pub struct Scanner {
    root: PathBuf,
    cache: BTreeMap<PathBuf, Cached>,
    noticed: HashSet<PathBuf>,
}

struct Cached {
    bytes: Vec<u8>,
    outcome: SourceOutcome,
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
        let mut jobs = Vec::new();
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
                jobs.push(Job {
                    path,
                    kind,
                    label,
                    bytes,
                });
            }
        }
        for (path, cached) in parse_all(jobs) {
            self.cache.insert(path, cached);
        }
        self.notice_unknown_dirs();
        let before = self.cache.len();
        self.cache.retain(|p, _| seen.contains(p));
        changed |= self.cache.len() != before;
        if !changed && !first {
            return None;
        }
        let sources = self.cache.values().map(|c| c.outcome.clone()).collect();
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

/// A changed file waiting to be parsed.
struct Job {
    path: PathBuf,
    kind: ResourceKind,
    label: String,
    bytes: Vec<u8>,
}

/// Parses changed files, spread over the available cores when there are many (a large
/// config loads in a fraction of the time).
fn parse_all(jobs: Vec<Job>) -> Vec<(PathBuf, Cached)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if jobs.len() < 64 || threads < 2 {
        return jobs.into_iter().map(parse_job).collect();
    }
    let per_thread = jobs.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Job>> = Vec::new();
    let mut jobs = jobs.into_iter().peekable();
    while jobs.peek().is_some() {
        chunks.push(jobs.by_ref().take(per_thread).collect());
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| scope.spawn(move || chunk.into_iter().map(parse_job).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn parse_job(job: Job) -> (PathBuf, Cached) {
    let name = job
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".yaml"))
        .unwrap_or_default()
        .to_string();
    let outcome = match std::str::from_utf8(&job.bytes) {
        Ok(text) => {
            let ctx = SourceContext {
                label: &job.label,
                dir_kind: Some(job.kind),
                default_name: Some(&name),
            };
            SourceOutcome::parse(job.label.clone(), text.into(), ctx)
        }
        Err(e) => SourceOutcome::new(
            job.label.clone(),
            "".into(),
            Err(Diagnostic::source_error(
                &job.label,
                format!("not UTF-8 text: {e}"),
            )),
        ),
    };
    let cached = Cached {
        bytes: job.bytes,
        outcome,
    };
    (job.path, cached)
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
