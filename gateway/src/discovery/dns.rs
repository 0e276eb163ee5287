//! DNS lookups for `.dns` registries with hickory-resolver: every name of a target at once,
//! the answer's TTL kept so re-resolution can follow it.
//!
//! The resolver reads the system configuration (`/etc/resolv.conf`, `/etc/hosts`) unless a
//! server address is given (`--dns-server`); when the system configuration cannot be read it
//! falls back to the OS resolver (`getaddrinfo`), which reports no TTL.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::TokioResolver;
use tokio::task::JoinSet;

use crate::upstream::Endpoint;

/// How long one name's lookup may take (the default query timeout of hickory, c-ares and
/// so Envoy).
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Where lookups go.
#[derive(Debug)]
pub struct DnsResolver {
    server: Option<SocketAddr>,
    backend: OnceLock<Backend>,
}

#[derive(Debug, Clone)]
enum Backend {
    Hickory(std::sync::Arc<TokioResolver>),
    /// `getaddrinfo` on a blocking thread; no TTL.
    System,
}

/// The answer for one target: the union of every name's addresses, and the smallest TTL
/// among the names that answered (`None` when no TTL is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Sorted, deduplicated endpoints on the target's port.
    pub endpoints: Vec<Endpoint>,
    /// Time until the first answer expires.
    pub ttl: Option<Duration>,
}

// === impl DnsResolver ===

impl DnsResolver {
    /// A resolver using `server` (UDP, TCP on truncation), or the system configuration.
    /// Nothing is read or opened until the first lookup.
    pub fn new(server: Option<SocketAddr>) -> Self {
        Self {
            server,
            backend: OnceLock::new(),
        }
    }

    fn backend(&self) -> Backend {
        self.backend
            .get_or_init(|| {
                let builder = match self.server {
                    Some(addr) => {
                        let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                        for c in &mut ns.connections {
                            c.port = addr.port();
                        }
                        let config = ResolverConfig::from_name_servers(vec![ns]);
                        TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
                    }
                    None => match TokioResolver::builder_tokio() {
                        Ok(b) => b,
                        Err(e) => {
                            tracing::warn!(
                                "cannot read the system DNS configuration ({e}); using the OS \
                                 resolver, without TTLs"
                            );
                            return Backend::System;
                        }
                    },
                };
                match builder.build() {
                    Ok(r) => Backend::Hickory(std::sync::Arc::new(r)),
                    Err(e) => {
                        tracing::warn!(
                            "cannot build the DNS resolver ({e}); using the OS resolver"
                        );
                        Backend::System
                    }
                }
            })
            .clone()
    }

    /// Resolves every name on `port` concurrently. Fails only if every name fails.
    pub async fn lookup(&self, names: &[String], port: u16) -> Result<Resolved, String> {
        let backend = self.backend();
        let mut lookups = JoinSet::new();
        for name in names {
            let (name, backend) = (name.clone(), backend.clone());
            lookups.spawn(async move {
                let res = tokio::time::timeout(LOOKUP_TIMEOUT, backend.lookup(&name, port)).await;
                match res {
                    Ok(r) => r.map_err(|e| format!("{name}: {e}")),
                    Err(_) => Err(format!("{name}: timed out after {LOOKUP_TIMEOUT:?}")),
                }
            });
        }
        let mut found = BTreeSet::new();
        let mut ttl: Option<Duration> = None;
        let mut errors = Vec::new();
        while let Some(joined) = lookups.join_next().await {
            match joined {
                Ok(Ok((addrs, name_ttl))) => {
                    found.extend(addrs.into_iter().map(Endpoint::new));
                    if let Some(t) = name_ttl {
                        ttl = Some(ttl.map_or(t, |cur| cur.min(t)));
                    }
                }
                Ok(Err(e)) => errors.push(e),
                Err(e) => errors.push(format!("lookup task failed: {e}")),
            }
        }
        if found.is_empty() && !errors.is_empty() {
            errors.sort();
            return Err(errors.join("; "));
        }
        Ok(Resolved {
            endpoints: found.into_iter().collect(),
            ttl,
        })
    }
}

// === impl Backend ===

impl Backend {
    async fn lookup(
        &self,
        name: &str,
        port: u16,
    ) -> Result<(Vec<SocketAddr>, Option<Duration>), String> {
        match self {
            Backend::Hickory(r) => {
                let answer = r.lookup_ip(name).await.map_err(|e| e.to_string())?;
                let ttl = answer
                    .valid_until()
                    .saturating_duration_since(Instant::now());
                let addrs = answer.iter().map(|ip| SocketAddr::new(ip, port)).collect();
                Ok((addrs, Some(ttl)))
            }
            Backend::System => tokio::net::lookup_host((name, port))
                .await
                .map(|addrs| (addrs.collect(), None))
                .map_err(|e| e.to_string()),
        }
    }
}
