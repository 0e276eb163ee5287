//! WasmPlugins → per-route filters: loads the snapshot's plugins once (errors become
//! diagnostics on the WasmPlugin), then gives each route the plugins that cover it, in
//! Higress's order. A plugin that did not load fails its routes per `failStrategy`:
//! `FAIL_CLOSE` puts a 503 stand-in on them, `FAIL_OPEN` leaves them without it.

use std::sync::Arc;

use config_store::resource::Resource;
use config_store::snapshot::IngressEntry;
use config_store::{Diagnostic, ResourceKind, Snapshot};

use super::Compiler;
use crate::filter::HttpFilter;
use crate::plugins::http_call::Clusters;
use crate::plugins::spec::route_name;
use crate::plugins::{LoadedPlugin, RouteFacts, UnavailablePlugin, WasmFilter};
use crate::upstream::TargetOptions;
use config_store::resource::mcpbridge::RegistryType;

/// Loads the snapshot's WasmPlugins; load errors are returned as diagnostics.
pub(super) fn load(
    snapshot: &Snapshot,
    registry: &crate::plugins::PluginRegistry,
) -> (Vec<LoadedPlugin>, Vec<Diagnostic>) {
    let objects: Vec<_> = snapshot
        .objects()
        .filter_map(|(_, o)| match &o.resource {
            Resource::WasmPlugin(p) => Some((o.source.clone(), p.as_ref())),
            _ => None,
        })
        .collect();
    if objects.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let loaded = registry.load(objects.iter().map(|(_, p)| *p));
    let diagnostics = loaded
        .errors
        .iter()
        .map(|(name, message)| {
            let source = objects
                .iter()
                .find(|(_, p)| p.metadata.name == *name)
                .map_or("", |(s, _)| s.as_str());
            let kept = loaded
                .plugins
                .iter()
                .any(|p| p.spec.name == *name && p.runtime.is_ok());
            let effect = if kept {
                "the last good version stays in force"
            } else {
                "its routes follow failStrategy"
            };
            Diagnostic::source_error(source, format!("plugin not loaded: {message}; {effect}"))
                .with_resource(ResourceKind::WasmPlugin, name.clone())
                .with_field("spec")
        })
        .collect();
    (loaded.plugins, diagnostics)
}

impl Compiler<'_> {
    /// The plugin filters of the route of `entry` on `host`, in execution order.
    pub(super) fn plugin_filters(
        &mut self,
        entry: &IngressEntry<'_>,
        host: &str,
    ) -> Vec<Arc<dyn HttpFilter>> {
        if self.plugins.is_empty() {
            return Vec::new();
        }
        let meta = &entry.ingress.metadata;
        let route = route_name(meta.namespace.as_deref(), &meta.name);
        let services = services_of(entry);
        let facts = RouteFacts {
            route_name: route.as_str().into(),
            cluster_name: services
                .first()
                .map(|s| cluster_name(s))
                .unwrap_or_default()
                .into(),
            clusters: self.plugin_clusters(),
        };
        let mut out: Vec<Arc<dyn HttpFilter>> = Vec::new();
        for p in &self.plugins {
            if !p.spec.scope.covers(&route, host, &services) {
                continue;
            }
            match &p.runtime {
                Ok(rt) => out.push(Arc::new(WasmFilter::new(rt.clone(), facts.clone()))),
                Err(_) if p.spec.fail_open => {}
                Err(_) => out.push(Arc::new(UnavailablePlugin::new(&p.spec.name))),
            }
        }
        out
    }
}

impl Compiler<'_> {
    /// The clusters plugins may call, built once per table: every McpBridge `dns` registry
    /// (`<name>.dns` on its port) and `static` registry (`<name>.static`, port 80, as in
    /// Higress), and every Service port (`<svc>.<ns>.svc.cluster.local`).
    fn plugin_clusters(&mut self) -> Arc<Clusters> {
        if let Some(c) = &self.plugin_clusters {
            return c.clone();
        }
        let mut hosts: Vec<(String, u16)> = Vec::new();
        if let Some(bridge) = self.snapshot.mcp_bridge() {
            for r in &bridge.spec.registries {
                match r.registry_type {
                    Some(RegistryType::Dns) => {
                        if let Some(port) = r.port.and_then(|p| u16::try_from(p).ok()) {
                            hosts.push((format!("{}.dns", r.name), port));
                        }
                    }
                    Some(RegistryType::Static) => hosts.push((format!("{}.static", r.name), 80)),
                    _ => {}
                }
            }
        }
        for (_, o) in self.snapshot.objects() {
            if let Resource::Service(svc) = &o.resource {
                let ns = svc
                    .metadata
                    .namespace
                    .as_deref()
                    .unwrap_or("higress-system");
                for p in &svc.spec.ports {
                    let host = format!("{}.{ns}.svc.cluster.local", svc.metadata.name);
                    hosts.push((host, p.port));
                }
            }
        }
        let mut clusters = Vec::new();
        for (host, port) in hosts {
            let Ok(spec) = self.host_spec(&host, Some(port)) else {
                continue;
            };
            let dest = self.destination(100, host.clone(), spec, TargetOptions::default());
            clusters.push((format!("outbound|{port}||{host}"), dest.target));
        }
        let clusters = Arc::new(Clusters::new(clusters));
        for p in &self.plugins {
            if let Ok(rt) = &p.runtime {
                rt.set_clusters(clusters.clone());
            }
        }
        self.plugin_clusters = Some(clusters.clone());
        clusters
    }
}

/// The backends of an Ingress as `host[:port]`: `higress.io/destination` entries, else the
/// services of its paths (`<name>.<namespace>.svc.cluster.local`, as Istio names them).
fn services_of(entry: &IngressEntry<'_>) -> Vec<String> {
    if let Some(d) = &entry.annotations.destination {
        return d
            .entries
            .iter()
            .map(|e| match e.port {
                Some(p) => format!("{}:{p}", e.host),
                None => e.host.clone(),
            })
            .collect();
    }
    let ns = entry
        .ingress
        .metadata
        .namespace
        .as_deref()
        .unwrap_or("higress-system");
    let spec = &entry.ingress.spec;
    let backends = spec
        .rules
        .iter()
        .flat_map(|r| {
            r.http
                .iter()
                .flat_map(|h| h.paths.iter().map(|p| &p.backend))
        })
        .chain(spec.default_backend.iter());
    backends
        .filter_map(|b| b.service.as_ref())
        .map(|svc| {
            let host = format!("{}.{ns}.svc.cluster.local", svc.name);
            match svc.port.number {
                Some(n) => format!("{host}:{n}"),
                None => host,
            }
        })
        .collect()
}

/// Envoy's cluster name for `host[:port]`: `outbound|<port>||<host>` (port 80 by default).
fn cluster_name(service: &str) -> String {
    let (host, port) = match service.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => (h, p),
        _ => (service, "80"),
    };
    format!("outbound|{port}||{host}")
}
