//! Cross-resource checks: every Service, Secret, McpBridge registry and destination a resource
//! names must exist, since Higress would not serve a route whose backend or certificate is
//! missing. Run by [`crate::snapshot::assemble`] on the resources that passed their own checks;
//! a resource with a dangling reference is rejected like any invalid one.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::annotations::{IngressAnnotations, MirrorTarget};
use crate::diagnostic::Diagnostic;
use crate::kind::ResourceKind;
use crate::resource::ingress::{IngressBackend, ServiceBackendPort};
use crate::resource::mcpbridge::nacos_host::find_nacos;
use crate::resource::mcpbridge::{McpBridge, RegistryType};
use crate::resource::{ConfigMap, Ingress, Resource};
use crate::snapshot::{Object, ObjectKey};

/// Host suffixes of service sources Gantry does not discover yet.
const UNSUPPORTED_SOURCES: &[(&str, &[RegistryType])] = &[
    ("consul", &[RegistryType::Consul]),
    ("zookeeper", &[RegistryType::Zookeeper]),
    ("eureka", &[RegistryType::Eureka]),
];

/// Every dangling reference among `objects`, as diagnostics naming the referring resource.
pub fn check(objects: &BTreeMap<ObjectKey, Arc<Object>>) -> Vec<Diagnostic> {
    let mut checker = References {
        objects,
        out: Vec::new(),
    };
    for ((kind, _), object) in objects {
        match (&object.resource, kind) {
            (Resource::Ingress(ing), _) => {
                if let Some(annotations) = &object.annotations {
                    checker.ingress(&object.source, ing, annotations);
                }
            }
            (Resource::ConfigMap(cm), _) => checker.domain_config_map(&object.source, cm),
            (Resource::McpBridge(bridge), _) => checker.registry_secrets(&object.source, bridge),
            _ => {}
        }
    }
    checker.out
}

struct References<'a> {
    objects: &'a BTreeMap<ObjectKey, Arc<Object>>,
    out: Vec<Diagnostic>,
}

impl References<'_> {
    fn get(&self, kind: ResourceKind, name: &str) -> Option<&Resource> {
        self.objects
            .get(&(kind, name.to_string()))
            .map(|o| &o.resource)
    }

    fn ingress(&mut self, source: &str, ing: &Ingress, a: &IngressAnnotations) {
        let name = ing.metadata.name.as_str();
        let mut errors: Vec<(String, String)> = Vec::new();
        for (r, rule) in ing.spec.rules.iter().enumerate() {
            let Some(http) = &rule.http else { continue };
            for (p, path) in http.paths.iter().enumerate() {
                let field = format!("spec.rules[{r}].http.paths[{p}].backend");
                self.backend(&field, &path.backend, &mut errors);
            }
        }
        if let Some(backend) = &ing.spec.default_backend {
            self.backend("spec.defaultBackend", backend, &mut errors);
        }
        if let Some(dest) = &a.destination {
            for entry in &dest.entries {
                if let Err(msg) = self.host(&entry.host, entry.port) {
                    errors.push((annotation("destination"), msg));
                }
            }
        }
        for (t, tls) in ing.spec.tls.iter().enumerate() {
            if let Some(secret) = tls.secret_name.as_deref() {
                if let Err(msg) = self.secret(secret) {
                    errors.push((format!("spec.tls[{t}].secretName"), msg));
                }
            }
        }
        if let Some(secret) = a.upstream_tls.as_ref().and_then(|t| t.secret.as_deref()) {
            if let Err(msg) = self.secret(secret) {
                errors.push((annotation("proxy-ssl-secret"), msg));
            }
        }
        if let Some(secret) = a
            .downstream_tls
            .as_ref()
            .and_then(|t| t.auth_secret.as_deref())
        {
            if let Err(msg) = self.secret(secret) {
                errors.push((annotation("auth-tls-secret"), msg));
            }
        }
        if let Some(f) = &a.fallback {
            let any_port = ServiceBackendPort::default();
            if let Err(msg) = self.service(&f.service, &any_port) {
                errors.push((annotation("default-backend"), msg));
            }
        }
        if let Some(m) = &a.mirror {
            let checked = match &m.target {
                MirrorTarget::Service { name, port } => self.service(
                    name,
                    &ServiceBackendPort {
                        number: *port,
                        name: None,
                    },
                ),
                MirrorTarget::Fqdn { host, port } => self.host(host, Some(*port)),
            };
            if let Err(msg) = checked {
                errors.push((annotation("mirror-target"), msg));
            }
        }
        for (field, message) in errors {
            self.out.push(
                Diagnostic::source_error(source, message)
                    .with_resource(ResourceKind::Ingress, name)
                    .with_field(field),
            );
        }
    }

    fn backend(&self, field: &str, backend: &IngressBackend, errors: &mut Vec<(String, String)>) {
        if let Some(svc) = &backend.service {
            if let Err(msg) = self.service(&svc.name, &svc.port) {
                errors.push((format!("{field}.service"), msg));
            }
        }
        if backend.resource.is_some() && self.get(ResourceKind::McpBridge, "default").is_none() {
            errors.push((
                format!("{field}.resource"),
                "McpBridge default does not exist".into(),
            ));
        }
    }

    fn domain_config_map(&mut self, source: &str, cm: &ConfigMap) {
        if !cm.metadata.name.starts_with(super::DOMAIN_CONFIGMAP_PREFIX) {
            return;
        }
        if cm.data.get("enableHttps").map(String::as_str) == Some("off") {
            return;
        }
        let Some(secret) = cm.data.get("cert").filter(|c| !c.is_empty()) else {
            return;
        };
        if let Err(msg) = self.secret(secret) {
            self.out.push(
                Diagnostic::source_error(source, msg)
                    .with_resource(ResourceKind::ConfigMap, cm.metadata.name.clone())
                    .with_field("data.cert"),
            );
        }
    }

    /// Every registry's `authSecretName` must name a Secret.
    fn registry_secrets(&mut self, source: &str, bridge: &McpBridge) {
        for (i, reg) in bridge.spec.registries.iter().enumerate() {
            let Some(secret) = reg.auth_secret_name.as_deref() else {
                continue;
            };
            if let Err(msg) = self.secret(secret) {
                self.out.push(
                    Diagnostic::source_error(source, msg)
                        .with_resource(ResourceKind::McpBridge, bridge.metadata.name.clone())
                        .with_field(format!("spec.registries[{i}].authSecretName")),
                );
            }
        }
    }

    fn secret(&self, name: &str) -> Result<(), String> {
        let name = name.rsplit('/').next().unwrap_or(name);
        match self.get(ResourceKind::Secret, name) {
            Some(_) => Ok(()),
            None => Err(format!("Secret {name:?} does not exist")),
        }
    }

    fn service(&self, name: &str, port: &ServiceBackendPort) -> Result<(), String> {
        let Some(Resource::Service(svc)) = self.get(ResourceKind::Service, name) else {
            return Err(format!("Service {name:?} does not exist"));
        };
        let found = svc
            .spec
            .ports
            .iter()
            .any(|p| match (port.number, &port.name) {
                (Some(n), _) => p.port == n,
                (None, Some(n)) => p.name.as_deref() == Some(n.as_str()),
                (None, None) => true,
            });
        if found {
            Ok(())
        } else {
            let wanted = match (port.number, &port.name) {
                (Some(n), _) => n.to_string(),
                (None, Some(n)) => format!("{n:?}"),
                (None, None) => "(any)".into(),
            };
            Err(format!("Service {name:?} has no port {wanted}"))
        }
    }

    /// A destination host: `<name>.dns`, `<name>.static`, a Service FQDN, or another
    /// service source's host.
    fn host(&self, host: &str, port: Option<u16>) -> Result<(), String> {
        if let Some(svc) = host
            .strip_suffix(".svc.cluster.local")
            .or_else(|| host.strip_suffix(".svc"))
        {
            let name = svc.split('.').next().unwrap_or(svc);
            let port = ServiceBackendPort {
                number: port,
                name: None,
            };
            return self.service(name, &port);
        }
        let Some((name, suffix)) = host.rsplit_once('.') else {
            return Err(format!("destination {host:?} names no service source"));
        };
        let bridge = match self.get(ResourceKind::McpBridge, "default") {
            Some(Resource::McpBridge(b)) => Some(b),
            _ => None,
        };
        let registries = bridge.map_or(&[][..], |b| b.spec.registries.as_slice());
        let wanted = match suffix {
            "dns" => RegistryType::Dns,
            "static" => RegistryType::Static,
            "nacos" => {
                if bridge.is_none() {
                    return Err(format!(
                        "destination {host:?}: McpBridge default does not exist"
                    ));
                }
                return find_nacos(registries, host).map(|_| ());
            }
            _ => {
                if let Some((_, types)) = UNSUPPORTED_SOURCES.iter().find(|(s, _)| *s == suffix) {
                    let declared = registries
                        .iter()
                        .any(|r| r.registry_type.is_some_and(|t| types.contains(&t)));
                    return Err(if declared {
                        format!(
                            "destination {host:?}: {suffix} service discovery is not supported yet"
                        )
                    } else {
                        format!("destination {host:?}: McpBridge default has no {suffix} registry")
                    });
                }
                return Err(format!(
                    "destination {host:?} is not a McpBridge service (<name>.dns, <name>.static) or a Service FQDN"
                ));
            }
        };
        if bridge.is_none() {
            return Err(format!(
                "destination {host:?}: McpBridge default does not exist"
            ));
        }
        if registries
            .iter()
            .any(|r| r.registry_type == Some(wanted) && r.name == name)
        {
            Ok(())
        } else {
            Err(format!(
                "destination {host:?}: McpBridge default has no {suffix} registry named {name:?}"
            ))
        }
    }
}

fn annotation(key: &str) -> String {
    format!("metadata.annotations[\"higress.io/{key}\"]")
}

#[cfg(test)]
mod tests;
