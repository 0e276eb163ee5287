//! `/v1/services`: the services routes can name, from Gantry's own registries — McpBridge
//! `default`'s `dns` (`<name>.dns`) and `static` (`<name>.static`) sources, and the
//! Services under `services/` (`<name>.<ns>.svc.cluster.local`, one item per port) with
//! their Endpoints / EndpointSlices. Read-only; no controller needed.

use axum::extract::State;
use axum::response::Response;
use config_store::resource::mcpbridge::RegistryType;
use config_store::{ResourceKind, Snapshot, SYSTEM_NAMESPACE};
use serde::Serialize;

use crate::app::AppState;
use crate::error::ApiResult;
use crate::wrapper::{list as list_page, Params};

/// A service as Higress lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// The namespace (`higress-system`, or the registry's name).
    pub namespace: String,
    /// The name routes use.
    pub name: String,
    /// Port.
    pub port: Option<u16>,
    /// Version (unused).
    pub version: Option<u32>,
    /// Endpoints (`ip:port`, or DNS names).
    pub endpoints: Vec<String>,
    /// Protocol, when the source declares one.
    pub protocol: Option<String>,
}

/// Every service in `snapshot`, ordered by namespace, name and port.
pub fn all(snapshot: &Snapshot) -> Vec<Service> {
    let mut out = Vec::new();
    if let Some(bridge) = snapshot.mcp_bridge() {
        for reg in &bridge.spec.registries {
            let entries: Vec<String> = reg
                .domain
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            let (suffix, port) = match reg.registry_type {
                Some(RegistryType::Dns) => ("dns", reg.port.and_then(|p| u16::try_from(p).ok())),
                Some(RegistryType::Static) => ("static", Some(80)),
                _ => continue,
            };
            out.push(Service {
                namespace: reg.name.clone(),
                name: format!("{}.{suffix}", reg.name),
                port,
                version: None,
                endpoints: entries,
                protocol: reg.protocol.clone(),
            });
        }
    }
    for (key, object) in snapshot.objects() {
        if key.0 != ResourceKind::Service {
            continue;
        }
        let config_store::resource::Resource::Service(svc) = &object.resource else {
            continue;
        };
        let ns = svc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| SYSTEM_NAMESPACE.into());
        let mut addresses = Vec::new();
        if let Some(eps) = snapshot.endpoints(&svc.metadata.name) {
            for subset in &eps.subsets {
                for a in &subset.addresses {
                    for p in &subset.ports {
                        addresses.push(format!("{}:{}", a.ip, p.port));
                    }
                }
            }
        }
        for slice in snapshot.endpoint_slices_for(&svc.metadata.name) {
            for ep in &slice.endpoints {
                for a in &ep.addresses {
                    for p in &slice.ports {
                        addresses.push(format!("{a}:{}", p.port));
                    }
                }
            }
        }
        addresses.sort();
        addresses.dedup();
        for port in &svc.spec.ports {
            out.push(Service {
                namespace: ns.clone(),
                name: format!("{}.{ns}.svc.cluster.local", svc.metadata.name),
                port: Some(port.port),
                version: None,
                endpoints: addresses.clone(),
                protocol: None,
            });
        }
    }
    out.sort();
    out
}

/// `GET /v1/services`.
pub async fn list(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let page = params.page()?;
    Ok(list_page(all(&app.store.snapshot()), page))
}
