//! `networking.higress.io/v1` McpBridge: the service sources (registries) behind `*.dns`,
//! `*.static`, Nacos, Consul … hosts. Every field Higress defines is kept.

pub mod nacos_host;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ObjectMeta;

/// A McpBridge. Higress reconciles only the one named `default`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpBridge {
    /// Metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec.
    #[serde(default)]
    pub spec: McpBridgeSpec,
}

/// `spec` of a McpBridge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct McpBridgeSpec {
    /// Service registries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub registries: Vec<RegistryConfig>,
    /// Egress proxies registries may go through.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxies: Vec<ProxyConfig>,
}

/// Registry types Higress knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegistryType {
    /// Nacos 1.x client.
    Nacos,
    /// Nacos 2.x client.
    Nacos2,
    /// Nacos 3.x client.
    Nacos3,
    /// ZooKeeper (Dubbo, Spring Cloud).
    Zookeeper,
    /// Consul.
    Consul,
    /// Eureka.
    Eureka,
    /// Fixed `ip:port` list, host `<name>.static`.
    Static,
    /// DNS names, host `<name>.dns`.
    Dns,
}

/// One `spec.registries` entry (field names as in Higress's `mcp_bridge.proto`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryConfig {
    /// Registry type.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub registry_type: Option<RegistryType>,
    /// Registry name; with the type it forms the host (`<name>.dns`).
    #[serde(default)]
    pub name: String,
    /// Address: DNS names (dns), `ip:port` list (static), or the registry server.
    #[serde(default)]
    pub domain: String,
    /// Port of the endpoints (dns/static) or of the registry server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Upstream protocol: http (default), https, http2, grpc, grpcs, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// TLS server name for https/grpcs upstreams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// Nacos address server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nacos_address_server: Option<String>,
    /// Nacos access key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nacos_access_key: Option<String>,
    /// Nacos secret key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nacos_secret_key: Option<String>,
    /// Nacos namespace id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nacos_namespace_id: Option<String>,
    /// Nacos namespace name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nacos_namespace: Option<String>,
    /// Nacos groups to discover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nacos_groups: Vec<String>,
    /// Nacos refresh interval, nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nacos_refresh_interval: Option<i64>,
    /// Consul namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_namespace: Option<String>,
    /// ZooKeeper service paths.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zk_services_path: Vec<String>,
    /// Consul datacenter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_datacenter: Option<String>,
    /// Consul service tag filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_service_tag: Option<String>,
    /// Consul refresh interval, nanoseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consul_refresh_interval: Option<i64>,
    /// Secret holding registry credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_name: Option<String>,
    /// Domains exported as MCP servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp_server_export_domains: Vec<String>,
    /// MCP server base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcp_server_base_url: Option<String>,
    /// Discover MCP servers (nacos3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_mcp_server: Option<bool>,
    /// Scope MCP servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_scope_mcp_servers: Option<bool>,
    /// MCP servers allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_mcp_servers: Vec<String>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, yaml_serde::Value>,
    /// Egress proxy name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_name: Option<String>,
    /// Virtual ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vport: Option<yaml_serde::Value>,
}

/// One `spec.proxies` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyConfig {
    /// Proxy type.
    #[serde(rename = "type", default)]
    pub proxy_type: String,
    /// Proxy name.
    #[serde(default)]
    pub name: String,
    /// Proxy server address.
    #[serde(default)]
    pub server_address: String,
    /// Proxy server port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_port: Option<u32>,
    /// Local listener port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener_port: Option<u32>,
    /// Connect timeout, milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<u32>,
}

// === impl RegistryType ===

impl RegistryType {
    /// The host suffix for registries whose hosts are `<name>.<suffix>`.
    pub fn host_suffix(self) -> &'static str {
        match self {
            RegistryType::Nacos | RegistryType::Nacos2 | RegistryType::Nacos3 => "nacos",
            RegistryType::Zookeeper => "zookeeper",
            RegistryType::Consul => "consul",
            RegistryType::Eureka => "eureka",
            RegistryType::Static => "static",
            RegistryType::Dns => "dns",
        }
    }
}
