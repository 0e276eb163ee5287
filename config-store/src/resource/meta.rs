//! `metadata` shared by every resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Kubernetes object metadata, reduced to what a gateway needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Object name. In the standalone layout it is the file name without `.yaml`.
    #[serde(default)]
    pub name: String,
    /// Namespace; the standalone layout forces `higress-system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations (Higress and nginx-compatible keys live here).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time (`2000-01-01T00:00:00Z`); orders Ingresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Opaque version string, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}
