//! `networking.k8s.io/v1` Ingress, also read from Higress's "flat" form.

use serde::{Deserialize, Serialize};

use super::ObjectMeta;

/// An Ingress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    /// Metadata (annotations carry Higress/nginx options).
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The spec.
    #[serde(default)]
    pub spec: IngressSpec,
}

/// `spec` of an Ingress.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressSpec {
    /// Ingress class; Gantry serves `higress` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_class_name: Option<String>,
    /// Backend for requests no rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_backend: Option<IngressBackend>,
    /// TLS hosts and their certificate Secrets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<IngressTls>,
    /// Host rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<IngressRule>,
}

/// One `spec.tls` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressTls {
    /// Hosts covered by the certificate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Name of the `kubernetes.io/tls` Secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
}

/// One `spec.rules` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressRule {
    /// Host (`foo.com`, `*.foo.com`); absent means every host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// HTTP paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpIngressRuleValue>,
}

/// `http` of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressRuleValue {
    /// Paths, each with a backend.
    #[serde(default)]
    pub paths: Vec<HttpIngressPath>,
}

/// One path of a rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpIngressPath {
    /// The path; empty means `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How the path matches; absent means Prefix (as Higress treats it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_type: Option<PathType>,
    /// Where matching requests go.
    #[serde(default)]
    pub backend: IngressBackend,
}

/// `pathType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathType {
    /// Whole path, case-sensitive.
    Exact,
    /// Element-wise prefix split by `/`.
    Prefix,
    /// Left to the implementation; Higress treats it as Prefix.
    ImplementationSpecific,
}

/// A backend: a Service port or a typed resource (McpBridge).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressBackend {
    /// A Service and port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<IngressServiceBackend>,
    /// A typed reference; Higress accepts only `networking.higress.io` McpBridge `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<TypedLocalObjectReference>,
}

/// `backend.service`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressServiceBackend {
    /// Service name.
    #[serde(default)]
    pub name: String,
    /// Service port, by number or name.
    #[serde(default)]
    pub port: ServiceBackendPort,
}

/// `backend.service.port`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceBackendPort {
    /// Port number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u16>,
    /// Port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// `backend.resource`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypedLocalObjectReference {
    /// API group, `networking.higress.io` for McpBridge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_group: Option<String>,
    /// Kind, `McpBridge`.
    #[serde(default)]
    pub kind: String,
    /// Name, `default`.
    #[serde(default)]
    pub name: String,
}

/// Higress's "flat" Ingress file: no apiVersion/kind, spec fields at the top level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlatIngress {
    /// Labels.
    #[serde(default, deserialize_with = "super::meta::string_map")]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, deserialize_with = "super::meta::string_map")]
    pub annotations: std::collections::BTreeMap<String, String>,
    /// The spec fields, inline.
    #[serde(flatten)]
    pub spec: IngressSpec,
}

// === impl FlatIngress ===

impl FlatIngress {
    /// Turns the flat form into a regular Ingress named `name`.
    pub fn into_ingress(self, name: &str) -> Ingress {
        Ingress {
            metadata: ObjectMeta {
                name: name.to_string(),
                labels: self.labels,
                annotations: self.annotations,
                ..ObjectMeta::default()
            },
            spec: self.spec,
        }
    }
}
