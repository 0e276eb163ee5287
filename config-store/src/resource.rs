//! The resource model: serde types for the Kubernetes-shaped YAML Higress reads.
//!
//! Unknown fields are tolerated everywhere, so files written for Higress load unchanged.

pub mod configmap;
pub mod higress_config;
pub mod ingress;
pub mod mcpbridge;
pub mod meta;
pub mod secret;
pub mod service;
pub mod wasmplugin;

pub use configmap::ConfigMap;
pub use higress_config::HigressConfig;
pub use ingress::Ingress;
pub use mcpbridge::McpBridge;
pub use meta::ObjectMeta;
pub use secret::Secret;
pub use service::{EndpointSlice, Endpoints, Service};
pub use wasmplugin::WasmPlugin;

use crate::kind::ResourceKind;

/// One parsed resource of any kind Gantry models.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    /// An Ingress.
    Ingress(Box<Ingress>),
    /// A ConfigMap.
    ConfigMap(ConfigMap),
    /// A McpBridge.
    McpBridge(McpBridge),
    /// A Secret.
    Secret(Secret),
    /// A WasmPlugin.
    WasmPlugin(Box<WasmPlugin>),
    /// A Service.
    Service(Service),
    /// An Endpoints object.
    Endpoints(Endpoints),
    /// An EndpointSlice.
    EndpointSlice(EndpointSlice),
}

// === impl Resource ===

impl Resource {
    /// The kind of this resource.
    pub fn kind(&self) -> ResourceKind {
        match self {
            Resource::Ingress(_) => ResourceKind::Ingress,
            Resource::ConfigMap(_) => ResourceKind::ConfigMap,
            Resource::McpBridge(_) => ResourceKind::McpBridge,
            Resource::Secret(_) => ResourceKind::Secret,
            Resource::WasmPlugin(_) => ResourceKind::WasmPlugin,
            Resource::Service(_) => ResourceKind::Service,
            Resource::Endpoints(_) => ResourceKind::Endpoints,
            Resource::EndpointSlice(_) => ResourceKind::EndpointSlice,
        }
    }

    /// The object metadata.
    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Resource::Ingress(r) => &r.metadata,
            Resource::ConfigMap(r) => &r.metadata,
            Resource::McpBridge(r) => &r.metadata,
            Resource::Secret(r) => &r.metadata,
            Resource::WasmPlugin(r) => &r.metadata,
            Resource::Service(r) => &r.metadata,
            Resource::Endpoints(r) => &r.metadata,
            Resource::EndpointSlice(r) => &r.metadata,
        }
    }

    /// Mutable object metadata.
    pub fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Resource::Ingress(r) => &mut r.metadata,
            Resource::ConfigMap(r) => &mut r.metadata,
            Resource::McpBridge(r) => &mut r.metadata,
            Resource::Secret(r) => &mut r.metadata,
            Resource::WasmPlugin(r) => &mut r.metadata,
            Resource::Service(r) => &mut r.metadata,
            Resource::Endpoints(r) => &mut r.metadata,
            Resource::EndpointSlice(r) => &mut r.metadata,
        }
    }

    /// The resource name (`metadata.name`).
    pub fn name(&self) -> &str {
        &self.meta().name
    }
}
