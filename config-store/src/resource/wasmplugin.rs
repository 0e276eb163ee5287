//! `extensions.higress.io/v1alpha1` WasmPlugin, kept for the plugin runtime.

use serde::{Deserialize, Serialize};

use super::ObjectMeta;

/// A WasmPlugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmPlugin {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec.
    #[serde(default)]
    pub spec: WasmPluginSpec,
}

/// `spec` of a WasmPlugin (Higress extensions included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmPluginSpec {
    /// Module URL: `oci://`, `file://`, `http(s)://`.
    #[serde(default)]
    pub url: String,
    /// Expected SHA-256 of the module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Root id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_name: Option<String>,
    /// `UNSPECIFIED_PHASE`, `AUTHN`, `AUTHZ`, `STATS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Higher runs first within a phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// `FAIL_CLOSE` (default) or `FAIL_OPEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_strategy: Option<String>,
    /// Raw plugin configuration (overrides the Higress fields below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_config: Option<serde_json::Value>,
    /// Global configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_config: Option<serde_json::Value>,
    /// Disable the global configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_config_disable: Option<bool>,
    /// Per ingress / domain / service configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_rules: Vec<serde_json::Value>,
}
