//! `whitelist-source-range`: only these client IPs/CIDRs may use the routes (403 otherwise).

use ipnet::IpNet;

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Allowed source networks; empty never happens (`*` parses to "any").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRange(pub Vec<IpNet>);

impl AnnotationGroup for SourceRange {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let Some(v) = reader.get("whitelist-source-range") else {
            return Ok(None);
        };
        let mut nets = Vec::new();
        for item in v.list() {
            if item == "*" {
                return Ok(None);
            }
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| v.error(format!("{item:?} is not an IP address or CIDR")))?;
            nets.push(net);
        }
        if nets.is_empty() {
            return Err(v.error("no address given"));
        }
        Ok(Some(SourceRange(nets)))
    }
}
