//! Higress resources as Gantry reads them: the resource model, parsing, validation, and the
//! stores (directory, Nacos) that publish immutable, validated [`Snapshot`]s.
//!
//! Pipeline: store files → [`parse`] (YAML documents → raw resources) → [`validate`]
//! (per-resource checks, annotation parsing) → [`snapshot::assemble`] (last-good merge) →
//! [`Snapshot`] published to subscribers.

pub mod annotations;
pub mod diagnostic;
pub mod dir;
pub mod kind;
pub mod limits;
pub mod local_snapshot;
pub mod nacos;
pub mod parse;
pub mod resource;
pub mod snapshot;
pub mod store;
#[cfg(test)]
mod test_files;
pub mod tls;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity};
pub use dir::{DirStore, WatchMode, WatchOptions};
pub use kind::ResourceKind;
pub use limits::Limits;
pub use nacos::{NacosOptions, NacosStore};
pub use snapshot::Snapshot;
pub use store::{ConfigStore, Precondition, StoreError, StoreState, StoredDocument};

/// The namespace every standalone resource lives in (Higress forces it on read).
pub const SYSTEM_NAMESPACE: &str = "higress-system";
