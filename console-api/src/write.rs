//! Writes through the store, as one step each: compare-and-swap put or delete, then the
//! cross-resource check, then wait until the gateway serves it.
//!
//! `put` → the store checks the document and publishes a snapshot → if that snapshot
//! rejects the resource (a dangling reference: unknown service, missing Secret) the write is
//! undone and answered 400 with the reasons → otherwise wait (up to [`LIVE_TIMEOUT`]) until
//! the gateway has applied that snapshot's revision.

use std::time::Duration;

use config_store::{Precondition, ResourceKind};

use crate::app::App;
use crate::error::{describe, ApiError, ApiResult};

/// How long a write waits for the gateway to apply it before answering anyway.
pub const LIVE_TIMEOUT: Duration = Duration::from_secs(10);

// === impl App ===

impl App {
    /// Writes `yaml` as `kind`/`name` when `precondition` holds. `previous` is the stored
    /// YAML being replaced (`None` for a create), restored if the result is rejected.
    /// Returns the new version.
    pub async fn put(
        &self,
        kind: ResourceKind,
        name: &str,
        yaml: &str,
        precondition: Precondition,
        previous: Option<&str>,
    ) -> ApiResult<String> {
        let version = self.store.put(kind, name, yaml, precondition).await?;
        let rejected: Vec<String> = self
            .store
            .snapshot()
            .errors()
            .filter(|d| {
                d.resource
                    .as_ref()
                    .is_some_and(|(k, n)| *k == kind && n == name)
            })
            .map(describe)
            .collect();
        if !rejected.is_empty() {
            let undo = Precondition::Version(version.clone());
            let undone = match previous {
                Some(old) => self.store.put(kind, name, old, undo).await.map(|_| ()),
                None => self.store.delete(kind, name, undo).await,
            };
            if let Err(e) = undone {
                tracing::error!("{kind} {name}: could not undo a rejected write: {e}");
            }
            return Err(ApiError::bad_request(rejected.join("; ")));
        }
        self.wait_live().await;
        Ok(version)
    }

    /// Deletes `kind`/`name` when `precondition` holds; missing is 404.
    pub async fn delete(
        &self,
        kind: ResourceKind,
        name: &str,
        precondition: Precondition,
    ) -> ApiResult<()> {
        self.store.delete(kind, name, precondition).await?;
        self.wait_live().await;
        Ok(())
    }

    /// Waits until the gateway has applied the store's current snapshot.
    pub async fn wait_live(&self) {
        let revision = self.store.snapshot().revision();
        let Some(mut applied) = self.status.applied_revision() else {
            return;
        };
        let waited = tokio::time::timeout(LIVE_TIMEOUT, applied.wait_for(|r| *r >= revision)).await;
        if waited.is_err() {
            tracing::warn!(
                revision,
                "admin API: the gateway has not applied the change after {LIVE_TIMEOUT:?}; answering anyway"
            );
        }
    }
}
