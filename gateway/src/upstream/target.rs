//! A [`Target`]: one resolved service (a `*.dns` or `*.static` registry, a Service) with its
//! current endpoints, which discovery replaces atomically.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

/// Where a target's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TargetSpec {
    /// Fixed addresses (static registry, Service endpoints).
    Static(Vec<SocketAddr>),
    /// DNS names resolved in the background, all on one port.
    Dns {
        /// Names to resolve.
        names: Vec<String>,
        /// Port of every endpoint.
        port: u16,
    },
}

/// TLS towards the upstream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UpstreamTls {
    /// Server name sent in SNI and verified.
    pub sni: String,
}

/// One endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// Address.
    pub addr: SocketAddr,
}

/// A service with its current endpoints.
#[derive(Debug)]
pub struct Target {
    key: String,
    spec: TargetSpec,
    tls: Option<UpstreamTls>,
    endpoints: ArcSwap<Vec<Endpoint>>,
    next: AtomicUsize,
}

// === impl Target ===

impl Target {
    /// A target; static specs start with their endpoints, DNS specs empty until resolved.
    pub fn new(key: String, spec: TargetSpec, tls: Option<UpstreamTls>) -> Self {
        let endpoints = match &spec {
            TargetSpec::Static(addrs) => {
                addrs.iter().map(|addr| Endpoint { addr: *addr }).collect()
            }
            TargetSpec::Dns { .. } => Vec::new(),
        };
        Self {
            key,
            spec,
            tls,
            endpoints: ArcSwap::from_pointee(endpoints),
            next: AtomicUsize::new(0),
        }
    }

    /// Identity of the target (spec and TLS), shared by equal targets across tables.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Where endpoints come from.
    pub fn spec(&self) -> &TargetSpec {
        &self.spec
    }

    /// TLS settings, if the upstream speaks TLS.
    pub fn tls(&self) -> Option<&UpstreamTls> {
        self.tls.as_ref()
    }

    /// The current endpoints.
    pub fn endpoints(&self) -> Arc<Vec<Endpoint>> {
        self.endpoints.load_full()
    }

    /// Replaces the endpoints (discovery only).
    pub fn set_endpoints(&self, endpoints: Vec<Endpoint>) {
        self.endpoints.store(Arc::new(endpoints));
    }

    /// Round-robin pick; `None` when there is no endpoint.
    pub fn pick(&self) -> Option<Endpoint> {
        let eps = self.endpoints.load();
        match eps.len() {
            0 => None,
            1 => eps.first().copied(),
            n => eps
                .get(self.next.fetch_add(1, Ordering::Relaxed) % n)
                .copied(),
        }
    }
}
