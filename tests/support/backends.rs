//! A set of named echo backends, each registered as static registry `<name>` and reachable
//! as the destination `<name>.static`.

use std::net::SocketAddr;

use crate::config::Registry;
use crate::echo::EchoServer;

/// Echo backends started together.
pub struct Backends {
    servers: Vec<EchoServer>,
}

// === impl Backends ===

impl Backends {
    /// Starts one echo backend per name.
    pub fn start(names: &[&str]) -> Self {
        Self {
            servers: names.iter().map(|n| EchoServer::start(n)).collect(),
        }
    }

    /// The backend named `name`; panics if there is none.
    pub fn get(&self, name: &str) -> &EchoServer {
        self.servers
            .iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| panic!("no backend {name:?}"))
    }

    /// Every backend, in start order.
    pub fn servers(&self) -> &[EchoServer] {
        &self.servers
    }

    /// Every backend's address, in start order.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.servers.iter().map(EchoServer::addr).collect()
    }

    /// One `static` registry per backend.
    pub fn registries(&self) -> Vec<Registry> {
        self.servers
            .iter()
            .map(|s| Registry::fixed(s.name(), s.addr()))
            .collect()
    }

    /// Requests `name` has answered so far (0 for an unknown name).
    pub fn hits(&self, name: &str) -> u64 {
        self.servers
            .iter()
            .find(|s| s.name() == name)
            .map_or(0, EchoServer::hits)
    }

    /// Requests all backends have answered so far.
    pub fn total_hits(&self) -> u64 {
        self.servers.iter().map(EchoServer::hits).sum()
    }
}
