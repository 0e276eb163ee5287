//! `metadata` shared by every resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

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
    #[serde(
        default,
        deserialize_with = "string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Annotations (Higress and nginx-compatible keys live here).
    #[serde(
        default,
        deserialize_with = "string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// RFC 3339 creation time (`2000-01-01T00:00:00Z`); orders Ingresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    /// Opaque version string, kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// A `map[string]string` as Kubernetes reads it: a null map is empty and a null value is
/// the empty string (`index.redirect-target: ~` in Higress's own console ConfigMap).
pub(crate) fn string_map<'de, D>(de: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    let raw: Option<BTreeMap<String, Option<String>>> = Option::deserialize(de)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}
