//! The "10,000 routes over 1,000 hosts" configuration: one Ingress per host, each with a
//! mix of Exact and Prefix paths, every path sent to one `static` registry.
//!
//! Host `i` is `h<i>.example.com` (`i` zero-padded to four digits). Path `j` of a host is
//! `Exact /v1/svc<j>/status` for even `j` and `Prefix /v1/svc<j>` for odd `j`, so Higress
//! orders a host's routes as its Exact paths, then its Prefix paths in the order written.
//! [`ManyRoutes::last_hit`] matches the last route of the last host.

use std::net::SocketAddr;

use gantry_tests::{ConfigDir, Ingress, Path, Registry};

/// The registry every route goes to; routes name it `backend.static`.
pub const REGISTRY: &str = "backend";

/// The shape of a generated configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManyRoutes {
    /// Number of hosts, one Ingress each.
    pub hosts: usize,
    /// Paths per host; odd indexes are Prefix paths, even ones Exact paths.
    pub paths_per_host: usize,
}

// === impl ManyRoutes ===

impl ManyRoutes {
    /// The issue's size: 1,000 hosts with 10 paths each.
    pub const ISSUE: Self = Self {
        hosts: 1_000,
        paths_per_host: 10,
    };

    /// Total number of Ingress paths (routes).
    pub fn routes(&self) -> usize {
        self.hosts * self.paths_per_host
    }

    /// The name of host `i`.
    pub fn host(&self, i: usize) -> String {
        format!("h{i:04}.example.com")
    }

    /// The Ingress paths of every host.
    pub fn paths(&self) -> Vec<Path> {
        (0..self.paths_per_host)
            .map(|j| {
                if j.is_multiple_of(2) {
                    Path::exact(&format!("/v1/svc{j}/status"))
                } else {
                    Path::prefix(&format!("/v1/svc{j}"))
                }
            })
            .collect()
    }

    /// The Ingress for host `i`, named `route-h<i>`.
    pub fn ingress(&self, i: usize) -> Ingress {
        Ingress::new(&format!("route-h{i:04}"))
            .destination(&format!("{REGISTRY}.static"))
            .rule(Some(&self.host(i)), self.paths())
    }

    /// A config dir with the McpBridge (one `static` registry at `backend`) and every
    /// Ingress.
    pub fn write(&self, backend: SocketAddr) -> ConfigDir {
        let config = ConfigDir::new();
        config.write_mcpbridge(&[Registry::fixed(REGISTRY, backend)]);
        for i in 0..self.hosts {
            config.write_ingress(&self.ingress(i));
        }
        config
    }

    /// The index of the Prefix path matched last within a host (the last odd index).
    pub fn last_prefix_index(&self) -> usize {
        (0..self.paths_per_host)
            .rev()
            .find(|j| !j.is_multiple_of(2))
            .expect("at least two paths per host")
    }

    /// The Prefix path matched last within a host.
    pub fn last_prefix(&self) -> String {
        format!("/v1/svc{}", self.last_prefix_index())
    }

    /// `(host, path)` of a request that matches the last route of the last host: the
    /// lookup walks every route of that host before it hits.
    pub fn last_hit(&self) -> (String, String) {
        (
            self.host(self.hosts - 1),
            format!("{}/orders/42", self.last_prefix()),
        )
    }

    /// `(host, path)` of a request to host `i` that matches route `j` of that host.
    pub fn request(&self, i: usize, j: usize) -> (String, String) {
        let path = if j.is_multiple_of(2) {
            format!("/v1/svc{j}/status")
        } else {
            format!("/v1/svc{j}/items/{i}")
        };
        (self.host(i), path)
    }
}
