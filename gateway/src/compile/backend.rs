//! Backends → destinations: Ingress `service` backends through Services and their
//! Endpoints/EndpointSlices, `higress.io/destination` hosts through McpBridge registries
//! (`<name>.dns`, `<name>.static`, `<service>.<group>.<namespace>.nacos`) or Service FQDNs,
//! with the Ingress's service-scope options (backend protocol, upstream TLS, load balancing).

use std::net::SocketAddr;
use std::sync::Arc;

use config_store::annotations::{BackendProtocol, DestinationEntry, LoadBalance};
use config_store::resource::ingress::{IngressBackend, ServiceBackendPort};
use config_store::resource::mcpbridge::{RegistryConfig, RegistryType};
use config_store::resource::service::EndpointPort;
use config_store::snapshot::IngressEntry;

use super::Compiler;
use crate::upstream::identity::UpstreamIdentity;
use crate::upstream::{Destination, TargetOptions, TargetSpec, UpstreamTls};

/// What a registry says about how to reach it.
struct RegistryProtocol {
    tls: bool,
    h2: bool,
    sni: Option<String>,
}

impl Compiler<'_> {
    /// The destinations of a backend; unresolvable ones become empty targets (503) with a
    /// warning, keeping their weight.
    pub(super) fn destinations(
        &mut self,
        entry: &IngressEntry<'_>,
        field: &str,
        backend: &IngressBackend,
    ) -> Vec<Destination> {
        if let Some(svc) = &backend.service {
            let label = match (&svc.port.number, &svc.port.name) {
                (Some(n), _) => format!("{}:{n}", svc.name),
                (None, Some(n)) => format!("{}:{n}", svc.name),
                (None, None) => svc.name.clone(),
            };
            let spec = self
                .service_spec(&svc.name, &svc.port)
                .unwrap_or_else(|msg| {
                    self.warn(
                        entry,
                        format!("{field}.service"),
                        format!("{msg}; requests get 503"),
                    );
                    TargetSpec::Static(Vec::new())
                });
            let identity = self.upstream_identity(entry);
            let options = target_options(entry, None, identity);
            return vec![self.destination(100, label, spec, options)];
        }
        let Some(dest) = entry.annotations.destination.clone() else {
            return Vec::new();
        };
        dest.entries
            .iter()
            .map(|d| {
                let label = match d.port {
                    Some(p) => format!("{}:{p}", d.host),
                    None => d.host.clone(),
                };
                let (spec, registry) = self.destination_spec(d).unwrap_or_else(|msg| {
                    self.warn(
                        entry,
                        "metadata.annotations[\"higress.io/destination\"]",
                        format!("{msg}; its share of requests gets 503"),
                    );
                    (TargetSpec::Static(Vec::new()), None)
                });
                let options = target_options(entry, registry, self.upstream_identity(entry));
                self.destination(d.weight, label, spec, options)
            })
            .collect()
    }

    /// The `proxy-ssl-secret` identity of the Ingress, if any (a warning when unusable).
    fn upstream_identity(&mut self, entry: &IngressEntry<'_>) -> Option<Arc<UpstreamIdentity>> {
        let name = entry.annotations.upstream_tls.as_ref()?.secret.clone()?;
        match UpstreamIdentity::load(self.snapshot, &name) {
            Ok(id) => Some(Arc::new(id)),
            Err(msg) => {
                self.warn(
                    entry,
                    "metadata.annotations[\"proxy-ssl-secret\"]",
                    format!("{msg}; not used"),
                );
                None
            }
        }
    }

    pub(super) fn destination(
        &mut self,
        weight: u32,
        label: String,
        spec: TargetSpec,
        options: TargetOptions,
    ) -> Destination {
        let (target, new) = self.discovery.target(spec, options);
        if new {
            self.new_targets.push(target.clone());
        }
        Destination {
            weight,
            label,
            target,
        }
    }

    /// A `higress.io/destination` host: `<name>.dns`, `<name>.static`, a Nacos service, or a
    /// Service FQDN.
    fn destination_spec(
        &self,
        d: &DestinationEntry,
    ) -> Result<(TargetSpec, Option<RegistryProtocol>), String> {
        if let Some(svc) = d
            .host
            .strip_suffix(".svc.cluster.local")
            .or_else(|| d.host.strip_suffix(".svc"))
        {
            let name = svc.split('.').next().unwrap_or(svc);
            let port = ServiceBackendPort {
                number: d.port,
                name: None,
            };
            return self.service_spec(name, &port).map(|s| (s, None));
        }
        let (name, suffix) = d
            .host
            .rsplit_once('.')
            .ok_or_else(|| format!("destination {:?} names no service source", d.host))?;
        let registry_type = match suffix {
            "dns" => RegistryType::Dns,
            "static" => RegistryType::Static,
            "nacos" => {
                let (spec, registry) = self.nacos_spec(&d.host)?;
                return Ok((spec, Some(registry_protocol(registry, &[]))));
            }
            "consul" | "zookeeper" | "eureka" => {
                return Err(format!("destination {:?}: {suffix} service sources are not supported yet", d.host))
            }
            _ => {
                return Err(format!(
                    "destination {:?} is not a McpBridge service (<name>.dns, <name>.static) or a Service FQDN",
                    d.host
                ))
            }
        };
        let bridge = self
            .snapshot
            .mcp_bridge()
            .ok_or_else(|| format!("destination {:?} needs McpBridge default", d.host))?;
        let registry = bridge
            .spec
            .registries
            .iter()
            .find(|r| r.registry_type == Some(registry_type) && r.name == name)
            .ok_or_else(|| format!("McpBridge default has no {suffix} registry named {name:?}"))?;
        registry_spec(registry, d.port)
    }

    /// A mirror or fallback destination by host (`x.dns`, FQDN) and optional port.
    pub(super) fn host_spec(&self, host: &str, port: Option<u16>) -> Result<TargetSpec, String> {
        let entry = DestinationEntry {
            weight: 100,
            host: host.to_string(),
            port,
            subset: None,
        };
        self.destination_spec(&entry).map(|(spec, _)| spec)
    }

    /// A Service port → its ready endpoints (Endpoints, then EndpointSlices) or, for an
    /// `ExternalName` Service, its DNS name. No port given: the Service's first port.
    pub(super) fn service_spec(
        &self,
        name: &str,
        port: &ServiceBackendPort,
    ) -> Result<TargetSpec, String> {
        let svc = self
            .snapshot
            .service(name)
            .ok_or_else(|| format!("Service {name:?} not found"))?;
        let svc_port = svc
            .spec
            .ports
            .iter()
            .find(|p| match (port.number, &port.name) {
                (Some(n), _) => p.port == n,
                (None, Some(n)) => p.name.as_deref() == Some(n.as_str()),
                (None, None) => true,
            })
            .ok_or_else(|| format!("Service {name:?} has no port {}", port_label(port)))?;
        if let Some(external) = svc
            .spec
            .external_name
            .as_deref()
            .filter(|_| svc.spec.service_type.as_deref() == Some("ExternalName"))
        {
            return Ok(TargetSpec::Dns {
                names: vec![external.to_string()],
                port: svc_port.port,
            });
        }
        let port_name = svc_port.name.as_deref();
        let pick_port = |ports: &[EndpointPort]| {
            ports
                .iter()
                .find(|p| p.name.as_deref() == port_name || ports.len() == 1)
                .map(|p| p.port)
        };
        let mut addrs = Vec::new();
        if let Some(eps) = self.snapshot.endpoints(name) {
            for subset in &eps.subsets {
                let Some(p) = pick_port(&subset.ports) else {
                    continue;
                };
                for a in &subset.addresses {
                    if let Ok(ip) = a.ip.parse() {
                        addrs.push(SocketAddr::new(ip, p));
                    }
                }
            }
        }
        for slice in self.snapshot.endpoint_slices_for(name) {
            let Some(p) = pick_port(&slice.ports) else {
                continue;
            };
            for ep in &slice.endpoints {
                if ep.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
                    continue;
                }
                for a in &ep.addresses {
                    if let Ok(ip) = a.parse() {
                        addrs.push(SocketAddr::new(ip, p));
                    }
                }
            }
        }
        addrs.sort();
        addrs.dedup();
        Ok(TargetSpec::Static(addrs))
    }
}

fn port_label(port: &ServiceBackendPort) -> String {
    match (&port.number, &port.name) {
        (Some(n), _) => n.to_string(),
        (None, Some(n)) => format!("{n:?}"),
        (None, None) => "(none)".into(),
    }
}

/// Service-scope options: the Ingress's `backend-protocol` / `proxy-ssl-*` win over the
/// registry's `protocol` / `sni`; `load-balance` and friends pick the balancer.
fn target_options(
    entry: &IngressEntry<'_>,
    registry: Option<RegistryProtocol>,
    identity: Option<Arc<UpstreamIdentity>>,
) -> TargetOptions {
    let balance = entry
        .annotations
        .load_balance
        .clone()
        .unwrap_or(LoadBalance::RoundRobin);
    if let Some(t) = &entry.annotations.upstream_tls {
        let tls = matches!(t.protocol, BackendProtocol::Https | BackendProtocol::Grpcs);
        let h2 = matches!(
            t.protocol,
            BackendProtocol::Http2 | BackendProtocol::Grpc | BackendProtocol::Grpcs
        );
        let sni = if t.server_name { t.sni.clone() } else { None }
            .or_else(|| registry.as_ref().and_then(|r| r.sni.clone()))
            .unwrap_or_default();
        return TargetOptions {
            tls: tls.then_some(UpstreamTls {
                sni,
                verify: t.verify,
                identity,
            }),
            h2,
            balance,
        };
    }
    match registry {
        Some(r) => TargetOptions {
            tls: r.tls.then(|| UpstreamTls {
                sni: r.sni.unwrap_or_default(),
                verify: false,
                identity: None,
            }),
            h2: r.h2,
            balance,
        },
        None => TargetOptions {
            balance,
            ..TargetOptions::default()
        },
    }
}

/// How a registry's endpoints are spoken to: its `protocol` and `sni` (a single-name dns
/// registry's name is the default SNI).
fn registry_protocol(reg: &RegistryConfig, names: &[String]) -> RegistryProtocol {
    let protocol = reg
        .protocol
        .as_deref()
        .unwrap_or("http")
        .to_ascii_lowercase();
    RegistryProtocol {
        tls: matches!(protocol.as_str(), "https" | "grpcs"),
        h2: matches!(
            protocol.as_str(),
            "http2" | "grpc" | "grpcs" | "triple" | "tri"
        ),
        sni: reg.sni.clone().or_else(|| {
            (names.len() == 1 && reg.registry_type == Some(RegistryType::Dns))
                .then(|| names[0].clone())
        }),
    }
}

/// A dns or static registry → target spec and its protocol.
fn registry_spec(
    reg: &RegistryConfig,
    port: Option<u16>,
) -> Result<(TargetSpec, Option<RegistryProtocol>), String> {
    let names: Vec<String> = reg
        .domain
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let proto = registry_protocol(reg, &names);
    match reg.registry_type {
        Some(RegistryType::Static) => {
            let addrs = names
                .iter()
                .map(|n| {
                    n.parse::<SocketAddr>()
                        .map_err(|_| format!("static address {n:?} is not ip:port"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((TargetSpec::Static(addrs), Some(proto)))
        }
        _ => {
            let port = port
                .or_else(|| reg.port.and_then(|p| u16::try_from(p).ok()))
                .ok_or_else(|| format!("registry {:?} has no port", reg.name))?;
            Ok((TargetSpec::Dns { names, port }, Some(proto)))
        }
    }
}
