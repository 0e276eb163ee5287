//! `whitelist-source-range`: 403 unless the client address is in one of the networks.

use std::net::IpAddr;

use async_trait::async_trait;
use ipnet::IpNet;
use pingora::proxy::Session;
use pingora::Result;

use crate::filter::{FilterState, Flow, HttpFilter};
use crate::proxy::respond::{client_ip, respond};
use crate::proxy::RequestCtx;

/// Allowed client networks.
#[derive(Debug, Clone)]
pub struct SourceRangePolicy {
    nets: Vec<IpNet>,
}

// === impl SourceRangePolicy ===

impl SourceRangePolicy {
    /// A policy allowing `nets`.
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self { nets }
    }

    /// True when `ip` may pass. IPv4-mapped IPv6 addresses count as IPv4.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.nets.iter().any(|n| n.contains(&ip))
    }
}

// === impl HttpFilter for SourceRangePolicy ===

#[async_trait]
impl HttpFilter for SourceRangePolicy {
    fn name(&self) -> &str {
        "ip-access"
    }

    async fn request_filter(
        &self,
        session: &mut Session,
        _ctx: &mut RequestCtx,
        _state: &mut FilterState,
    ) -> Result<Flow> {
        if client_ip(session).is_some_and(|ip| self.allows(ip)) {
            return Ok(Flow::Continue);
        }
        respond(session, 403, Vec::new(), "RBAC: access denied\n".into()).await?;
        Ok(Flow::Responded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains() {
        let p = SourceRangePolicy::new(vec![
            "10.0.0.0/8".parse().unwrap(),
            "::1/128".parse().unwrap(),
        ]);
        assert!(p.allows("10.1.2.3".parse().unwrap()));
        assert!(p.allows("::ffff:10.0.0.1".parse().unwrap()));
        assert!(p.allows("::1".parse().unwrap()));
        assert!(!p.allows("127.0.0.1".parse().unwrap()));
    }
}
