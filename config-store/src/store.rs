//! The [`ConfigStore`] trait every config source implements (directory, Nacos), so the
//! gateway and the admin API never know where configuration lives.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::snapshot::Snapshot;

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the backing storage failed.
    #[error("{path}: {source}")]
    Io {
        /// The path or key involved.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The document to write is not valid; nothing was written.
    #[error("invalid {kind} {name}: {}", .diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid {
        /// The kind being written.
        kind: ResourceKind,
        /// The name being written.
        name: String,
        /// Every problem found.
        diagnostics: Vec<Diagnostic>,
    },
    /// The resource does not exist.
    #[error("{kind} {name} not found")]
    NotFound {
        /// Kind.
        kind: ResourceKind,
        /// Name.
        name: String,
    },
    /// Another writer holds the resource.
    #[error("{kind} {name} is being written by someone else; retry")]
    Conflict {
        /// Kind.
        kind: ResourceKind,
        /// Name.
        name: String,
    },
    /// The name cannot be used as a resource name.
    #[error("invalid resource name {0:?}: use lower-case letters, digits, '-' and '.'")]
    InvalidName(String),
    /// Watching for changes could not start.
    #[error("cannot watch {path}: {message}")]
    Watch {
        /// What was being watched.
        path: String,
        /// Why it failed.
        message: String,
    },
}

/// A source of configuration that publishes [`Snapshot`]s and accepts writes.
#[async_trait]
pub trait ConfigStore: Send + Sync + 'static {
    /// Describes the store for logs and status (`dir:/etc/gantry`).
    fn describe(&self) -> String;

    /// The latest published snapshot.
    fn snapshot(&self) -> Arc<Snapshot> {
        self.subscribe().borrow().clone()
    }

    /// A receiver that sees every newly published snapshot.
    fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>>;

    /// Validates and writes one resource from its YAML document; returns once a snapshot
    /// containing it is published.
    async fn put(&self, kind: ResourceKind, name: &str, yaml: &str) -> Result<(), StoreError>;

    /// Deletes one resource; returns once a snapshot without it is published.
    async fn delete(&self, kind: ResourceKind, name: &str) -> Result<(), StoreError>;
}

/// Checks a resource name for use as a file name or dataId suffix.
pub fn check_name(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with('.')
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName(name.to_string()))
    }
}
