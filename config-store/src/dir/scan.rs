//! Reads the directory tree into source outcomes, re-parsing only files whose bytes changed.
//!
//! A failed read is never a deletion. Only a listing that succeeded and no longer holds a
//! file removes its resources; a root, directory or file that cannot be read (gone, not a
//! directory, `EACCES`, `EMFILE`, over the size limit) keeps the last good resources of
//! every source it covers, marked stale, and is reported as an error. So is a file cut to
//! 0 bytes (editors do that mid-save). Entries Gantry skips (`.yml` files, unknown or
//! unapplied directories) are reported as warnings in the snapshot.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::{Diagnostic, Severity};
use crate::kind::{ResourceKind, IGNORED_PLURALS};
use crate::limits::{LimitError, Limits};
use crate::parse::{parse_source_with, ParsedSource, SourceContext};
use crate::snapshot::{assemble, Snapshot, SourceOutcome};
use crate::store::version_of;

/// Higress standalone directories whose resources change routing in Higress but are not
/// applied by Gantry; a directory holding any `.yaml` file gets one warning.
const NOT_APPLIED: &[(&str, &str)] = &[
    ("envoyfilters", "EnvoyFilter"),
    ("gateways", "Gateway API Gateway"),
    ("httproutes", "Gateway API HTTPRoute"),
    ("http2rpcs", "Http2Rpc"),
];

/// The source label of diagnostics about the config root itself.
pub const ROOT_LABEL: &str = ".";

/// Reads `<root>/<plural>/*.yaml` and remembers what it read.
pub struct Scanner {
    root: PathBuf,
    limits: Limits,
    cache: BTreeMap<PathBuf, Cached>,
    /// Read failures of the last scan, by path (files and directories).
    faults: BTreeMap<PathBuf, Diagnostic>,
    /// Warnings about skipped entries from the last scan.
    notes: Vec<Diagnostic>,
    /// Directories already logged at info level.
    logged: HashSet<PathBuf>,
    scanned: bool,
}

struct Cached {
    bytes: Vec<u8>,
    label: String,
    /// The text read (empty when not UTF-8) and its version.
    content: Arc<str>,
    version: Arc<str>,
    parsed: Result<ParsedSource, Diagnostic>,
}

/// What one pass over the tree found.
#[derive(Default)]
struct Listing {
    /// `.yaml` files that were read, with their bytes.
    files: Vec<(PathBuf, ResourceKind, Vec<u8>)>,
    /// Paths that could not be read or listed; every cached source under one stays stale.
    faults: BTreeMap<PathBuf, Diagnostic>,
    /// Warnings about skipped entries.
    notes: Vec<Diagnostic>,
}

// === impl Scanner ===

impl Scanner {
    /// A scanner with an empty cache and the default [`Limits`].
    pub fn new(root: PathBuf) -> Self {
        Self::with_limits(root, Limits::default())
    }

    /// A scanner with an empty cache and `limits`.
    pub fn with_limits(root: PathBuf, limits: Limits) -> Self {
        Self {
            root,
            limits,
            cache: BTreeMap::new(),
            faults: BTreeMap::new(),
            notes: Vec::new(),
            logged: HashSet::new(),
            scanned: false,
        }
    }

    /// The limits files are read within.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Re-reads the tree. Returns the next snapshot, or `None` if nothing changed since the
    /// last call (the first call always returns a snapshot).
    pub fn rescan(&mut self, prev: &Snapshot) -> Option<Snapshot> {
        let mut listing = match self.list() {
            Ok(listing) => listing,
            Err(root_fault) => self.root_fault(root_fault),
        };
        // The root may have gone while it was listed: what then looked deleted was not.
        if let Some(root_fault) = self.check_root() {
            listing = self.root_fault(root_fault);
        }

        let mut changed = !self.scanned;
        let mut seen: HashSet<PathBuf> = listing.faults.keys().cloned().collect();
        let mut jobs = Vec::new();
        for (path, kind, bytes) in listing.files {
            seen.insert(path.clone());
            let cached = self.cache.get(&path);
            if cached.is_some_and(|c| c.bytes == bytes) {
                continue;
            }
            let label = self.label(&path);
            if bytes.is_empty() && cached.is_some_and(|c| !c.bytes.is_empty()) {
                listing.faults.insert(
                    path,
                    Diagnostic::source_error(
                        &label,
                        "file is empty (0 bytes), as while an editor saves it; its last good \
                         version stays in force until it has content again or is deleted",
                    ),
                );
                continue;
            }
            changed = true;
            jobs.push(Job {
                path,
                kind,
                label,
                bytes,
                limits: self.limits,
            });
        }
        for (path, cached) in parse_all(jobs) {
            self.cache.insert(path, cached);
        }
        // A cached file is dropped only when a listing that succeeded no longer holds it.
        let before = self.cache.len();
        let faults = &listing.faults;
        self.cache
            .retain(|p, _| seen.contains(p) || covering(faults, p).is_some());
        changed |= self.cache.len() != before;
        changed |= listing.faults != self.faults || listing.notes != self.notes;
        self.faults = listing.faults;
        self.notes = listing.notes;
        self.scanned = true;
        if !changed {
            return None;
        }
        Some(assemble(prev, self.outcomes()))
    }

    /// Every cached source (stale where a fault covers it), each fault, and each note.
    fn outcomes(&self) -> Vec<SourceOutcome> {
        let mut sources: Vec<SourceOutcome> = self
            .cache
            .iter()
            .map(|(path, cached)| SourceOutcome {
                label: cached.label.clone(),
                content: cached.content.clone(),
                version: cached.version.clone(),
                parsed: match covering(&self.faults, path) {
                    Some(d) => Err(d.clone()),
                    None => cached.parsed.clone(),
                },
            })
            .collect();
        for (path, d) in &self.faults {
            if !self.cache.contains_key(path) {
                sources.push(SourceOutcome::new(
                    d.source.clone(),
                    "".into(),
                    Err(d.clone()),
                ));
            }
        }
        for note in &self.notes {
            sources.push(SourceOutcome::new(
                note.source.clone(),
                "".into(),
                Ok(ParsedSource {
                    resources: Vec::new(),
                    diagnostics: vec![note.clone()],
                }),
            ));
        }
        sources
    }

    /// Lists the root and every kind directory, reading each `.yaml` file. `Err` when the
    /// root itself cannot be listed.
    fn list(&mut self) -> Result<Listing, Diagnostic> {
        let entries = list_dir(&self.root).map_err(|e| root_diagnostic(&e))?;
        let mut listing = Listing::default();
        let mut present = HashSet::new();
        for entry in entries {
            let Some(name) = entry.name() else { continue };
            if name.starts_with('.') {
                continue;
            }
            match entry.kind {
                EntryKind::Dir => {
                    if let Some(kind) = ResourceKind::from_plural(name) {
                        present.insert(kind);
                    } else {
                        self.skipped_dir(&entry.path, name, &mut listing.notes);
                    }
                }
                EntryKind::File if name.ends_with(".yaml") || name.ends_with(".yml") => {
                    listing.notes.push(
                        Diagnostic::source_error(
                            name,
                            "not read: files directly in the config root are ignored; move it \
                             into the directory of its kind (e.g. ingresses/)",
                        )
                        .warning(),
                    );
                }
                EntryKind::Dangling if ResourceKind::from_plural(name).is_some() => {
                    listing.faults.insert(
                        entry.path.clone(),
                        Diagnostic::source_error(
                            name,
                            "is a symbolic link to nothing; the last good versions of its \
                             resources stay in force",
                        ),
                    );
                }
                EntryKind::Unreadable(ref e) if ResourceKind::from_plural(name).is_some() => {
                    listing
                        .faults
                        .insert(entry.path.clone(), unreadable(name, "directory", e));
                }
                EntryKind::File if ResourceKind::from_plural(name).is_some() => {
                    listing.faults.insert(
                        entry.path.clone(),
                        Diagnostic::source_error(
                            name,
                            "is a file, not a directory; the last good versions of its \
                             resources stay in force",
                        ),
                    );
                }
                _ => {}
            }
        }
        for kind in ResourceKind::ALL {
            if present.contains(&kind) {
                self.list_kind(kind, &mut listing);
            }
        }
        Ok(listing)
    }

    /// Lists `<root>/<plural>/` and reads its `.yaml` files into `listing`.
    fn list_kind(&self, kind: ResourceKind, listing: &mut Listing) {
        let dir = self.root.join(kind.plural());
        let entries = match list_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                let d = unreadable(kind.plural(), "directory", &e);
                listing.faults.insert(dir, d);
                return;
            }
        };
        for entry in entries {
            let Some(name) = entry.name() else { continue };
            if name.starts_with('.') || name.ends_with(".tmp") {
                continue;
            }
            let label = self.label(&entry.path);
            let yaml = name.ends_with(".yaml");
            match entry.kind {
                EntryKind::File if yaml => match read_limited(&entry.path, &self.limits) {
                    Ok(bytes) => listing.files.push((entry.path, kind, bytes)),
                    Err(d) => {
                        let d = d.into_diagnostic(&label);
                        listing.faults.insert(entry.path, d);
                    }
                },
                EntryKind::Unreadable(ref e) if yaml => {
                    listing
                        .faults
                        .insert(entry.path.clone(), unreadable(&label, "file", e));
                }
                EntryKind::File if name.ends_with(".yml") => listing.notes.push(
                    Diagnostic::source_error(
                        &label,
                        format!(
                            "skipped: only .yaml files are read (as in Higress); rename it to {}",
                            name.trim_end_matches(".yml").to_string() + ".yaml"
                        ),
                    )
                    .warning(),
                ),
                EntryKind::Dir => listing.notes.push(
                    Diagnostic::source_error(
                        &label,
                        format!(
                            "subdirectory not read: Gantry reads only {}/*.yaml (Higress \
                             standalone also reads subdirectories); move its files up",
                            kind.plural()
                        ),
                    )
                    .warning(),
                ),
                _ => {}
            }
        }
    }

    /// A directory in the root that is not a kind Gantry reads: a warning when it holds
    /// files that change routing in Higress, or when it is not a Higress directory at all.
    fn skipped_dir(&mut self, path: &Path, name: &str, notes: &mut Vec<Diagnostic>) {
        if let Some((_, what)) = NOT_APPLIED.iter().find(|(dir, _)| *dir == name) {
            let files = list_dir(path)
                .map(|entries| {
                    entries
                        .iter()
                        .filter(|e| {
                            matches!(e.kind, EntryKind::File)
                                && e.name().is_some_and(|n| n.ends_with(".yaml"))
                        })
                        .count()
                })
                .unwrap_or(0);
            if files > 0 {
                notes.push(
                    Diagnostic::source_error(
                        name,
                        format!(
                            "{files} {what} file(s) not applied: Gantry does not serve this \
                             kind, so what it changes in Higress does not happen here"
                        ),
                    )
                    .warning(),
                );
            }
        } else if IGNORED_PLURALS.contains(&name) {
            if self.logged.insert(path.to_path_buf()) {
                tracing::info!(
                    dir = name,
                    "Higress standalone directory not used by Gantry; skipped"
                );
            }
        } else {
            let hint = ResourceKind::ALL
                .iter()
                .map(|k| k.plural())
                .find(|p| p.starts_with(name) || name.starts_with(p.trim_end_matches('s')))
                .map(|p| format!(" (did you mean {p}/?)"))
                .unwrap_or_default();
            notes.push(
                Diagnostic::source_error(
                    name,
                    format!("unknown directory, skipped: Gantry reads only the Higress standalone directories{hint}"),
                )
                .warning(),
            );
        }
    }

    /// An error when the root is gone or is not a directory.
    fn check_root(&self) -> Option<Diagnostic> {
        match std::fs::metadata(&self.root) {
            Ok(m) if m.is_dir() => None,
            Ok(_) => Some(root_diagnostic(&io::Error::from(
                io::ErrorKind::NotADirectory,
            ))),
            Err(e) => Some(root_diagnostic(&e)),
        }
    }

    /// The listing when the root cannot be read: every cached source stays, stale, with one
    /// error; the notes of the last scan stay as they were.
    fn root_fault(&self, d: Diagnostic) -> Listing {
        let mut faults = BTreeMap::new();
        faults.insert(self.root.clone(), d);
        Listing {
            files: Vec::new(),
            faults,
            notes: self.notes.clone(),
        }
    }

    fn label(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/")
    }
}

/// The fault on `path` or on a directory above it.
fn covering<'a>(faults: &'a BTreeMap<PathBuf, Diagnostic>, path: &Path) -> Option<&'a Diagnostic> {
    if faults.is_empty() {
        return None;
    }
    path.ancestors().find_map(|p| faults.get(p))
}

/// The root's error: the same diagnostic for every source it covers, so it shows once.
fn root_diagnostic(e: &io::Error) -> Diagnostic {
    let what = match e.kind() {
        io::ErrorKind::NotFound => "is gone".to_string(),
        io::ErrorKind::NotADirectory => "is not a directory".to_string(),
        _ => format!("cannot be listed ({e})"),
    };
    Diagnostic::source_error(
        ROOT_LABEL,
        format!("the config root {what}; the last good configuration stays in force"),
    )
}

fn unreadable(label: &str, what: &str, e: &io::Error) -> Diagnostic {
    let versions = if what == "file" {
        "its last good version stays"
    } else {
        "the last good versions of its files stay"
    };
    Diagnostic::source_error(
        label,
        format!("cannot read {what} ({e}); {versions} in force"),
    )
}

/// One entry of a directory listing.
struct Entry {
    path: PathBuf,
    kind: EntryKind,
}

enum EntryKind {
    File,
    Dir,
    /// Neither (a socket, a fifo): skipped as Higress skips it.
    Other,
    /// A symbolic link to nothing: a file behind one is deleted (as Higress reads it), a
    /// kind directory behind one is unreadable.
    Dangling,
    /// Its type could not be read.
    Unreadable(io::Error),
}

impl Entry {
    fn name(&self) -> Option<&str> {
        self.path.file_name().and_then(|n| n.to_str())
    }
}

/// Lists a directory (sorted). Any error while listing fails the whole listing, so a
/// partial listing never reads as deletions.
fn list_dir(dir: &Path) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = match entry.file_type() {
            Ok(t) if t.is_file() => EntryKind::File,
            Ok(t) if t.is_dir() => EntryKind::Dir,
            Ok(t) if t.is_symlink() => match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => EntryKind::File,
                Ok(m) if m.is_dir() => EntryKind::Dir,
                Ok(_) => EntryKind::Other,
                Err(e) if e.kind() == io::ErrorKind::NotFound => EntryKind::Dangling,
                Err(e) => EntryKind::Unreadable(e),
            },
            Ok(_) => EntryKind::Other,
            Err(e) => EntryKind::Unreadable(e),
        };
        out.push(Entry { path, kind });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Why a listed file gave no bytes.
enum ReadFault {
    Io(io::Error),
    Limit(LimitError),
}

impl ReadFault {
    fn into_diagnostic(self, label: &str) -> Diagnostic {
        match self {
            ReadFault::Io(e) => unreadable(label, "file", &e),
            ReadFault::Limit(e) => Diagnostic::source_error(label, e.to_string()),
        }
    }
}

/// Reads a file of at most `limits.max_file_size` bytes, without reading more than that
/// from a larger one.
fn read_limited(path: &Path, limits: &Limits) -> Result<Vec<u8>, ReadFault> {
    let max = limits.max_file_size;
    let too_large = |size| ReadFault::Limit(LimitError::TooLarge { size, max });
    let file = std::fs::File::open(path).map_err(ReadFault::Io)?;
    let size = file.metadata().map_err(ReadFault::Io)?.len();
    if size > max {
        return Err(too_large(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadFault::Io)?;
    if bytes.len() as u64 > max {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// A changed file waiting to be parsed.
struct Job {
    path: PathBuf,
    kind: ResourceKind,
    label: String,
    bytes: Vec<u8>,
    limits: Limits,
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
    let parsed = if job.bytes.is_empty() {
        Ok(ParsedSource {
            resources: Vec::new(),
            diagnostics: vec![
                Diagnostic::source_error(&job.label, "empty file; nothing to load").warning(),
            ],
        })
    } else {
        match std::str::from_utf8(&job.bytes) {
            Ok(text) => parse_source_with(
                SourceContext {
                    label: &job.label,
                    dir_kind: Some(job.kind),
                    default_name: Some(&name),
                },
                text,
                &job.limits,
            ),
            Err(e) => Err(Diagnostic::source_error(
                &job.label,
                format!("not UTF-8 text: {e}"),
            )),
        }
    };
    let content: Arc<str> = std::str::from_utf8(&job.bytes).unwrap_or("").into();
    let cached = Cached {
        version: version_of(&job.bytes).into(),
        content,
        bytes: job.bytes,
        label: job.label,
        parsed,
    };
    (job.path, cached)
}

/// Logs a diagnostic at its severity.
pub fn log_diagnostic(d: &Diagnostic) {
    match d.severity {
        Severity::Error => tracing::error!("{d}"),
        Severity::Warning => tracing::warn!("{d}"),
    }
}
