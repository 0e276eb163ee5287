//! The resource kinds of the Higress standalone layout and their directory (plural) names.

use std::fmt;

use serde::{Serialize, Serializer};

/// A kind of resource Gantry reads. Each maps to one `<root>/<plural>/` directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    /// `networking.k8s.io/v1` Ingress.
    Ingress,
    /// core `v1` ConfigMap (`higress-config`, `domain-*`, …).
    ConfigMap,
    /// `networking.higress.io/v1` McpBridge (service sources).
    McpBridge,
    /// core `v1` Secret (TLS certificates, credentials).
    Secret,
    /// `extensions.higress.io/v1alpha1` WasmPlugin.
    WasmPlugin,
    /// core `v1` Service.
    Service,
    /// core `v1` Endpoints.
    Endpoints,
    /// `discovery.k8s.io/v1` EndpointSlice.
    EndpointSlice,
}

/// Directories the Higress standalone api-server creates but Gantry does not act on.
/// Files there are skipped with an info message, never an error.
pub const IGNORED_PLURALS: &[&str] = &[
    "pods",
    "nodes",
    "namespaces",
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
    "ingressclasses",
    "http2rpcs",
    "gatewayclasses",
    "gateways",
    "httproutes",
    "referencegrants",
    "envoyfilters",
];

// === impl ResourceKind ===

impl ResourceKind {
    /// Every kind Gantry models, in load order.
    pub const ALL: [ResourceKind; 8] = [
        ResourceKind::ConfigMap,
        ResourceKind::Secret,
        ResourceKind::McpBridge,
        ResourceKind::Service,
        ResourceKind::Endpoints,
        ResourceKind::EndpointSlice,
        ResourceKind::WasmPlugin,
        ResourceKind::Ingress,
    ];

    /// The lower-case plural used as directory name and Nacos dataId prefix.
    pub fn plural(self) -> &'static str {
        match self {
            ResourceKind::Ingress => "ingresses",
            ResourceKind::ConfigMap => "configmaps",
            ResourceKind::McpBridge => "mcpbridges",
            ResourceKind::Secret => "secrets",
            ResourceKind::WasmPlugin => "wasmplugins",
            ResourceKind::Service => "services",
            ResourceKind::Endpoints => "endpoints",
            ResourceKind::EndpointSlice => "endpointslices",
        }
    }

    /// The `kind:` field value.
    pub fn kind_name(self) -> &'static str {
        match self {
            ResourceKind::Ingress => "Ingress",
            ResourceKind::ConfigMap => "ConfigMap",
            ResourceKind::McpBridge => "McpBridge",
            ResourceKind::Secret => "Secret",
            ResourceKind::WasmPlugin => "WasmPlugin",
            ResourceKind::Service => "Service",
            ResourceKind::Endpoints => "Endpoints",
            ResourceKind::EndpointSlice => "EndpointSlice",
        }
    }

    /// The `apiVersion:` Gantry writes for this kind.
    pub fn api_version(self) -> &'static str {
        match self {
            ResourceKind::Ingress => "networking.k8s.io/v1",
            ResourceKind::McpBridge => "networking.higress.io/v1",
            ResourceKind::WasmPlugin => "extensions.higress.io/v1alpha1",
            ResourceKind::EndpointSlice => "discovery.k8s.io/v1",
            ResourceKind::ConfigMap
            | ResourceKind::Secret
            | ResourceKind::Service
            | ResourceKind::Endpoints => "v1",
        }
    }

    /// Looks a kind up by its `kind:` field value.
    pub fn from_kind_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.kind_name() == name)
    }

    /// Looks a kind up by its plural (directory) name.
    pub fn from_plural(plural: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.plural() == plural)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind_name())
    }
}

impl Serialize for ResourceKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.kind_name())
    }
}
