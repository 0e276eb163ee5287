//! `extensions.higress.io/v1alpha1` WasmPlugin, kept for the plugin runtime.

use serde::{Deserialize, Serialize};

use super::ObjectMeta;

pub mod module_url;

pub use module_url::{ImageRef, ModuleUrl, UrlError};

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
    /// `UNSPECIFIED_POLICY` (the default), `IfNotPresent` or `Always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Name of a `kubernetes.io/dockerconfigjson` Secret in the plugin's namespace with
    /// the registry's credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secret: Option<String>,
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

/// When a remote module is downloaded again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    /// Once; later loads use the copy already fetched (memory, then disk).
    IfNotPresent,
    /// Whenever the WasmPlugin changes.
    Always,
}

/// The `imagePullPolicy` values, as the CRD spells them.
pub const PULL_POLICIES: [&str; 3] = ["UNSPECIFIED_POLICY", "IfNotPresent", "Always"];

impl WasmPluginSpec {
    /// The effective pull policy for `url`: `UNSPECIFIED_POLICY` is `Always` for an OCI
    /// image tagged `latest` and `IfNotPresent` otherwise, as in Higress.
    pub fn pull_policy(&self, url: &ModuleUrl) -> PullPolicy {
        match self.image_pull_policy.as_deref() {
            Some("Always") => PullPolicy::Always,
            Some("IfNotPresent") => PullPolicy::IfNotPresent,
            _ => match url {
                ModuleUrl::Oci(image) if image.is_latest() => PullPolicy::Always,
                _ => PullPolicy::IfNotPresent,
            },
        }
    }
}
