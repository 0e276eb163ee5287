//! The [`ConfigStore`] trait every config source implements (directory, Nacos), so the
//! gateway and the admin API never know where configuration lives.
//!
//! Stores are addressed by (kind, name) and versioned: a document's version is the MD5 hex of
//! its stored content, the number Nacos keeps for a config, so both stores and the admin API
//! agree. Writes carry a [`Precondition`]; a mismatch is [`StoreError::Conflict`] with the
//! current version.

pub mod put_check;
pub mod state;

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::snapshot::Snapshot;
pub use put_check::check_put;
pub use state::StoreState;

/// Errors from a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the backing storage failed.
    #[error("{path}: {source}")]
    Io {
        /// The path (relative to the store root) or key involved.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store's backend answered with an error (Nacos).
    #[error("{what}: {message}")]
    Backend {
        /// What was being done (`publish ingresses.route-a`).
        what: String,
        /// The backend's answer.
        message: String,
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
    /// The precondition did not hold: the resource exists when it must not, is missing, or
    /// has another version. Nothing was written.
    #[error("{kind} {name} has changed (current version: {}); reload it and retry", .current.as_deref().unwrap_or("none, it does not exist"))]
    Conflict {
        /// Kind.
        kind: ResourceKind,
        /// Name.
        name: String,
        /// The current version, `None` when the resource does not exist.
        current: Option<String>,
    },
    /// Another writer is writing the resource right now.
    #[error("{kind} {name} is being written by someone else; retry")]
    Busy {
        /// Kind.
        kind: ResourceKind,
        /// Name.
        name: String,
    },
    /// The write cannot be done in this store's layout (e.g. a resource inside a
    /// multi-document file that cannot be split safely).
    #[error("cannot write {kind} {name}: {reason}")]
    Unwritable {
        /// Kind.
        kind: ResourceKind,
        /// Name.
        name: String,
        /// Why, naming the file or key.
        reason: String,
    },
    /// The name cannot be used as a resource name.
    #[error("invalid resource name {0:?}: use lower-case letters, digits, '-', '_' and '.'")]
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

/// What must hold for a write to go ahead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Precondition {
    /// Write whatever is there (create or replace; delete if present).
    #[default]
    Any,
    /// The resource must not exist (create only).
    Absent,
    /// The resource must exist with exactly this version.
    Version(String),
}

/// One stored document as the store holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDocument {
    /// Kind.
    pub kind: ResourceKind,
    /// Name.
    pub name: String,
    /// The YAML text of this one resource.
    pub yaml: String,
    /// MD5 hex of the stored content (file or Nacos config) holding it.
    pub version: String,
    /// Where it is stored: `ingresses/route-a.yaml` or dataId `ingresses.route-a`.
    pub source: String,
}

/// A source of configuration that publishes [`Snapshot`]s and accepts addressed, versioned
/// writes.
#[async_trait]
pub trait ConfigStore: Send + Sync + 'static {
    /// Describes the store for logs and status (`dir:/etc/gantry`, `nacos://host:8848/ns`).
    fn describe(&self) -> String;

    /// The latest published snapshot.
    fn snapshot(&self) -> Arc<Snapshot> {
        self.subscribe().borrow().clone()
    }

    /// A receiver that sees every newly published snapshot.
    fn subscribe(&self) -> watch::Receiver<Arc<Snapshot>>;

    /// Whether the store can currently read its backend.
    fn state(&self) -> StoreState;

    /// Re-reads the backend now and publishes a snapshot if anything changed (SIGHUP).
    async fn reload(&self);

    /// The stored document of one resource.
    async fn get(&self, kind: ResourceKind, name: &str) -> Result<StoredDocument, StoreError>;

    /// Every stored document of one kind, ordered by name.
    async fn list(&self, kind: ResourceKind) -> Result<Vec<StoredDocument>, StoreError>;

    /// Checks ([`check_put`]) and writes one resource from its YAML document when
    /// `precondition` holds; returns the new version once a snapshot containing it is
    /// published.
    async fn put(
        &self,
        kind: ResourceKind,
        name: &str,
        yaml: &str,
        precondition: Precondition,
    ) -> Result<String, StoreError>;

    /// Deletes one resource when `precondition` holds; returns once a snapshot without it is
    /// published.
    async fn delete(
        &self,
        kind: ResourceKind,
        name: &str,
        precondition: Precondition,
    ) -> Result<(), StoreError>;
}

/// The version of stored content: MD5 hex, as Nacos computes a config's `md5`.
pub fn version_of(content: &[u8]) -> String {
    use md5::{Digest, Md5};
    let digest = Md5::digest(content);
    let mut out = String::with_capacity(32);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Checks `precondition` against the current version (`None`: absent).
pub fn check_precondition(
    kind: ResourceKind,
    name: &str,
    current: Option<&str>,
    precondition: &Precondition,
) -> Result<(), StoreError> {
    let ok = match precondition {
        Precondition::Any => true,
        Precondition::Absent => current.is_none(),
        Precondition::Version(v) => current == Some(v.as_str()),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            kind,
            name: name.to_string(),
            current: current.map(str::to_string),
        })
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_nacos_md5() {
        // Nacos reports md5("") and md5("abc") as these.
        assert_eq!(version_of(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(version_of(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn preconditions() {
        let k = ResourceKind::Ingress;
        assert!(check_precondition(k, "a", None, &Precondition::Any).is_ok());
        assert!(check_precondition(k, "a", None, &Precondition::Absent).is_ok());
        let err = check_precondition(k, "a", Some("v1"), &Precondition::Absent).unwrap_err();
        assert!(
            matches!(err, StoreError::Conflict { current: Some(ref v), .. } if v == "v1"),
            "{err}"
        );
        assert!(
            check_precondition(k, "a", Some("v1"), &Precondition::Version("v1".into())).is_ok()
        );
        let err = check_precondition(k, "a", Some("v2"), &Precondition::Version("v1".into()))
            .unwrap_err();
        assert!(err.to_string().contains("current version: v2"), "{err}");
        let err =
            check_precondition(k, "a", None, &Precondition::Version("v1".into())).unwrap_err();
        assert!(matches!(err, StoreError::Conflict { current: None, .. }));
    }
}
