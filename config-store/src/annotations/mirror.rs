//! Mirror: `mirror-target-service` (`[ns/]name[:port]`) or `mirror-target-fqdn` (+
//! `mirror-target-fqdn-port`, default 80; wins over the service), `mirror-percentage`
//! (default 100). Copies are fire and forget.

use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Where copies go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MirrorTarget {
    /// A Service; port `None` = its first port.
    Service {
        /// Service name.
        name: String,
        /// Service port.
        port: Option<u16>,
    },
    /// A host Higress knows (`x.dns`, `x.static`, an FQDN) and port.
    Fqdn {
        /// Host.
        host: String,
        /// Port (default 80).
        port: u16,
    },
}

/// Mirror policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// Where copies go.
    pub target: MirrorTarget,
    /// Share of requests copied, 0..=100.
    pub percentage: u32,
}

impl AnnotationGroup for Mirror {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let target = if let Some(f) = reader.get("mirror-target-fqdn") {
            let port = match reader.get("mirror-target-fqdn-port") {
                Some(p) => u16::try_from(p.parse_u32()?)
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| p.error("port must be 1..65535"))?,
                None => 80,
            };
            MirrorTarget::Fqdn {
                host: f.value.to_ascii_lowercase(),
                port,
            }
        } else if let Some(s) = reader.get("mirror-target-service") {
            let name_port = s.value.rsplit('/').next().unwrap_or("");
            let (name, port) = match name_port.split_once(':') {
                Some((n, p)) => (
                    n,
                    Some(
                        p.parse::<u16>()
                            .ok()
                            .filter(|p| *p > 0)
                            .ok_or_else(|| s.error(format!("bad port {p:?}")))?,
                    ),
                ),
                None => (name_port, None),
            };
            if name.is_empty() {
                return Err(s.error("expected [namespace/]name[:port]"));
            }
            MirrorTarget::Service {
                name: name.to_string(),
                port,
            }
        } else {
            return Ok(None);
        };
        let percentage = reader
            .get("mirror-percentage")
            .map(|p| p.parse_u32())
            .transpose()?
            .unwrap_or(100)
            .min(100);
        Ok(Some(Mirror { target, percentage }))
    }
}
