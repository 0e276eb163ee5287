//! Snapshot → [`RouteTable`], done once per snapshot: hosts normalised, routes ordered as
//! Higress orders them, destinations resolved to shared upstream targets.
//!
//! Order within a host (Higress `SortHTTPRoutes`): `defaultBackend` routes last, the bare `/`
//! prefix second to last, then Exact before Prefix, longer path first, then Ingress creation
//! order (creation time, then name). A route whose host, type and path repeat an earlier one
//! is ignored with a warning.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use config_store::annotations::DestinationEntry;
use config_store::resource::ingress::{IngressBackend, PathType, ServiceBackendPort};
use config_store::resource::mcpbridge::{RegistryConfig, RegistryType};
use config_store::snapshot::IngressEntry;
use config_store::{Diagnostic, ResourceKind, Snapshot};

use crate::discovery::Discovery;
use crate::route_table::{normalize_host, PathMatch, Route, RouteAction, RouteId, RouteTable};
use crate::upstream::{Destination, Target, TargetSpec, UpstreamGroup, UpstreamTls};

/// Compile settings.
#[derive(Debug, Clone)]
pub struct CompileOptions {
    /// Serve Ingresses of this class (and those with none); `None` serves every class.
    /// Default `higress`.
    pub ingress_class: Option<String>,
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            ingress_class: Some("higress".into()),
        }
    }
}

/// The result of a compile.
#[derive(Debug)]
pub struct Compiled {
    /// The table.
    pub table: RouteTable,
    /// Targets created by this compile; DNS ones must be resolved before the table goes live.
    pub new_targets: Vec<Arc<Target>>,
    /// Warnings about references that could not be resolved, duplicates, skipped Ingresses.
    pub diagnostics: Vec<Diagnostic>,
}

/// The legacy class annotation, read before `spec.ingressClassName` (as Higress does).
const CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

/// Compiles a snapshot.
pub fn compile(snapshot: &Snapshot, discovery: &Discovery, options: &CompileOptions) -> Compiled {
    let mut c = Compiler {
        snapshot,
        discovery,
        routes: Vec::new(),
        seen: HashMap::new(),
        new_targets: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut ingresses: Vec<IngressEntry<'_>> = snapshot
        .ingresses()
        .filter(|e| c.class_matches(e, options))
        .collect();
    ingresses.sort_by(|a, b| {
        let ts = |e: &IngressEntry<'_>| {
            e.ingress
                .metadata
                .creation_timestamp
                .clone()
                .unwrap_or_default()
        };
        ts(a)
            .cmp(&ts(b))
            .then_with(|| a.ingress.metadata.name.cmp(&b.ingress.metadata.name))
    });
    for (order, entry) in ingresses.iter().enumerate() {
        c.ingress(order, entry);
    }
    let Compiler {
        routes,
        new_targets,
        diagnostics,
        ..
    } = c;

    let mut by_host: BTreeMap<String, Vec<(RouteId, &Pending)>> = BTreeMap::new();
    for (id, p) in routes.iter().enumerate() {
        by_host
            .entry(p.route.host.clone())
            .or_default()
            .push((id as RouteId, p));
    }
    let hosts = by_host
        .into_iter()
        .map(|(host, mut list)| {
            list.sort_by_key(|(_, p)| p.sort_key());
            (host, list.into_iter().map(|(id, _)| id).collect())
        })
        .collect();
    let table = RouteTable::new(
        snapshot.revision(),
        routes.into_iter().map(|p| p.route).collect(),
        hosts,
    );
    Compiled {
        table,
        new_targets,
        diagnostics,
    }
}

struct Pending {
    route: Route,
    is_default: bool,
    order: usize,
}

impl Pending {
    fn sort_key(&self) -> (bool, bool, u8, std::cmp::Reverse<usize>, usize) {
        (
            self.is_default,
            self.route.path.is_catch_all(),
            self.route.path.rank(),
            std::cmp::Reverse(self.route.path.path_len()),
            self.order,
        )
    }
}

struct Compiler<'a> {
    snapshot: &'a Snapshot,
    discovery: &'a Discovery,
    routes: Vec<Pending>,
    /// (host, kind, path) → Ingress that defined it first.
    seen: HashMap<(String, &'static str, String), String>,
    new_targets: Vec<Arc<Target>>,
    diagnostics: Vec<Diagnostic>,
}

impl Compiler<'_> {
    fn warn(&mut self, entry: &IngressEntry<'_>, field: String, message: String) {
        self.diagnostics.push(
            Diagnostic::source_error(entry.source, message)
                .with_resource(ResourceKind::Ingress, entry.ingress.metadata.name.clone())
                .with_field(field)
                .warning(),
        );
    }

    fn class_matches(&mut self, entry: &IngressEntry<'_>, options: &CompileOptions) -> bool {
        let Some(wanted) = &options.ingress_class else {
            return true;
        };
        let meta = &entry.ingress.metadata;
        let class = meta.annotations.get(CLASS_ANNOTATION).or(entry
            .ingress
            .spec
            .ingress_class_name
            .as_ref());
        match class {
            Some(class) if class != wanted => {
                self.warn(
                    entry,
                    "spec.ingressClassName".into(),
                    format!("ingress class {class:?} is not served (serving {wanted:?}; see --ingress-class)"),
                );
                false
            }
            _ => true,
        }
    }

    fn ingress(&mut self, order: usize, entry: &IngressEntry<'_>) {
        let ingress = entry.ingress;
        let name = ingress.metadata.name.clone();
        let ignore_case = entry.annotations.ignore_path_case.is_some();
        let mut hosts_with_root = Vec::new();
        for (r, rule) in ingress.spec.rules.iter().enumerate() {
            let host = rule
                .host
                .as_deref()
                .map(|h| normalize_host(h).into_owned())
                .unwrap_or_else(|| "*".into());
            let Some(http) = &rule.http else { continue };
            for (p, path) in http.paths.iter().enumerate() {
                let field = format!("spec.rules[{r}].http.paths[{p}]");
                let raw = path
                    .path
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("/");
                let matcher = match path.path_type {
                    Some(PathType::Exact) => PathMatch::Exact(raw.to_string()),
                    Some(PathType::Prefix | PathType::ImplementationSpecific) => {
                        PathMatch::prefix(raw)
                    }
                    // No pathType: Prefix, with a trailing `.*` or `/*` wildcard dropped.
                    None => PathMatch::prefix(
                        raw.strip_suffix(".*")
                            .or_else(|| raw.strip_suffix("/*"))
                            .unwrap_or(raw),
                    ),
                };
                let key = (host.clone(), matcher.kind(), matcher.display_path());
                if let Some(first) = self.seen.get(&key) {
                    let msg = format!(
                        "duplicate route {} {} {} ignored: Ingress {first} defines it first",
                        host,
                        matcher.kind(),
                        matcher.display_path()
                    );
                    self.warn(entry, field, msg);
                    continue;
                }
                self.seen.insert(key, name.clone());
                if matcher.is_catch_all() {
                    hosts_with_root.push(host.clone());
                }
                let group = self.group(entry, &format!("{field}.backend"), &path.backend);
                self.routes.push(Pending {
                    route: Route {
                        host: host.clone(),
                        path: matcher,
                        ignore_case,
                        ingress: name.clone(),
                        action: RouteAction::Forward(group),
                    },
                    is_default: false,
                    order,
                });
            }
        }
        if let Some(backend) = &ingress.spec.default_backend {
            let group = self.group(entry, "spec.defaultBackend", backend);
            let mut hosts: Vec<String> = ingress
                .spec
                .rules
                .iter()
                .map(|r| {
                    r.host
                        .as_deref()
                        .map(|h| normalize_host(h).into_owned())
                        .unwrap_or_else(|| "*".into())
                })
                .filter(|h| !hosts_with_root.contains(h))
                .collect();
            let any_has_default = self
                .routes
                .iter()
                .any(|p| p.is_default && p.route.host == "*");
            if !any_has_default {
                hosts.push("*".into());
            }
            hosts.sort();
            hosts.dedup();
            for host in hosts {
                self.routes.push(Pending {
                    route: Route {
                        host,
                        path: PathMatch::prefix("/"),
                        ignore_case,
                        ingress: name.clone(),
                        action: RouteAction::Forward(group.clone()),
                    },
                    is_default: true,
                    order,
                });
            }
        }
    }

    fn group(
        &mut self,
        entry: &IngressEntry<'_>,
        field: &str,
        backend: &IngressBackend,
    ) -> Arc<UpstreamGroup> {
        let destinations = if let Some(svc) = &backend.service {
            let label = match (&svc.port.number, &svc.port.name) {
                (Some(n), _) => format!("{}:{n}", svc.name),
                (None, Some(n)) => format!("{}:{n}", svc.name),
                (None, None) => svc.name.clone(),
            };
            let spec = match self.service_spec(&svc.name, &svc.port) {
                Ok(spec) => spec,
                Err(msg) => {
                    self.warn(
                        entry,
                        format!("{field}.service"),
                        format!("{msg}; requests get 503"),
                    );
                    TargetSpec::Static(Vec::new())
                }
            };
            vec![self.destination(100, label, spec, None)]
        } else if let Some(dest) = &entry.annotations.destination {
            dest.entries
                .iter()
                .map(|d| {
                    let label = match d.port {
                        Some(p) => format!("{}:{p}", d.host),
                        None => d.host.clone(),
                    };
                    let (spec, tls) = match self.destination_spec(d) {
                        Ok(found) => found,
                        Err(msg) => {
                            self.warn(
                                entry,
                                "metadata.annotations[\"higress.io/destination\"]".into(),
                                format!("{msg}; its share of requests gets 503"),
                            );
                            (TargetSpec::Static(Vec::new()), None)
                        }
                    };
                    self.destination(d.weight, label, spec, tls)
                })
                .collect()
        } else {
            Vec::new()
        };
        Arc::new(UpstreamGroup::new(destinations))
    }

    fn destination(
        &mut self,
        weight: u32,
        label: String,
        spec: TargetSpec,
        tls: Option<UpstreamTls>,
    ) -> Destination {
        let (target, new) = self.discovery.target(spec, tls);
        if new {
            self.new_targets.push(target.clone());
        }
        Destination {
            weight,
            label,
            target,
        }
    }

    /// A `higress.io/destination` host: `<name>.dns`, `<name>.static`, or a Service FQDN.
    fn destination_spec(
        &self,
        d: &DestinationEntry,
    ) -> Result<(TargetSpec, Option<UpstreamTls>), String> {
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
            "nacos" | "consul" | "zookeeper" | "eureka" => {
                return Err(format!("destination {:?}: {suffix} service sources are not supported yet", d.host))
            }
            _ => return Err(format!("destination {:?} is not a McpBridge service (<name>.dns, <name>.static) or a Service FQDN", d.host)),
        };
        let bridge = self.snapshot.mcp_bridge().ok_or_else(|| {
            format!(
                "destination {:?} needs McpBridge default (mcpbridges/default.yaml)",
                d.host
            )
        })?;
        let registry = bridge
            .spec
            .registries
            .iter()
            .find(|r| r.registry_type == Some(registry_type) && r.name == name)
            .ok_or_else(|| format!("McpBridge default has no {suffix} registry named {name:?}"))?;
        registry_spec(registry, d.port)
    }

    /// A Service port → its ready endpoints (Endpoints, then EndpointSlices) or, for an
    /// `ExternalName` Service, its DNS name.
    fn service_spec(&self, name: &str, port: &ServiceBackendPort) -> Result<TargetSpec, String> {
        let svc = self
            .snapshot
            .service(name)
            .ok_or_else(|| format!("Service {name:?} not found (services/{name}.yaml)"))?;
        let svc_port = svc
            .spec
            .ports
            .iter()
            .find(|p| match (port.number, &port.name) {
                (Some(n), _) => p.port == n,
                (None, Some(n)) => p.name.as_deref() == Some(n.as_str()),
                (None, None) => svc.spec.ports.len() == 1,
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
        let pick_port = |ports: &[config_store::resource::service::EndpointPort]| {
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
        (None, None) => "(none given and the Service has several)".into(),
    }
}

/// A dns or static registry → target spec (and TLS for https/grpcs).
fn registry_spec(
    reg: &RegistryConfig,
    port: Option<u16>,
) -> Result<(TargetSpec, Option<UpstreamTls>), String> {
    let protocol = reg
        .protocol
        .as_deref()
        .unwrap_or("http")
        .to_ascii_lowercase();
    let names: Vec<String> = reg
        .domain
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let tls = matches!(protocol.as_str(), "https" | "grpcs").then(|| UpstreamTls {
        sni: reg
            .sni
            .clone()
            .or_else(|| (names.len() == 1).then(|| names[0].clone()))
            .unwrap_or_default(),
    });
    match reg.registry_type {
        Some(RegistryType::Static) => {
            let addrs = names
                .iter()
                .map(|n| {
                    n.parse::<SocketAddr>()
                        .map_err(|_| format!("static address {n:?} is not ip:port"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((TargetSpec::Static(addrs), tls))
        }
        _ => {
            let port = port
                .or_else(|| reg.port.and_then(|p| u16::try_from(p).ok()))
                .ok_or_else(|| format!("registry {:?} has no port", reg.name))?;
            Ok((TargetSpec::Dns { names, port }, tls))
        }
    }
}

#[cfg(test)]
mod tests;
