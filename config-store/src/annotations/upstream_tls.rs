//! `backend-protocol` (HTTP, HTTP2, HTTPS, GRPC, GRPCS) and `proxy-ssl-secret`,
//! `proxy-ssl-verify`, `proxy-ssl-name`, `proxy-ssl-server-name` (service scope).

use super::value::object_name;
use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// Protocol spoken to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendProtocol {
    /// HTTP/1.1 (default).
    Http,
    /// Cleartext HTTP/2 (h2c).
    Http2,
    /// HTTP over TLS.
    Https,
    /// gRPC over h2c.
    Grpc,
    /// gRPC over TLS.
    Grpcs,
}

/// Upstream protocol and TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamTls {
    /// Protocol.
    pub protocol: BackendProtocol,
    /// Client certificate Secret (mTLS) and CA for verification.
    pub secret: Option<String>,
    /// Verify the upstream certificate (default off).
    pub verify: bool,
    /// SNI to send, used when `server_name` is on.
    pub sni: Option<String>,
    /// Send SNI.
    pub server_name: bool,
}

impl AnnotationGroup for UpstreamTls {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let protocol = match reader.get("backend-protocol") {
            None => BackendProtocol::Http,
            Some(v) => match v.value.to_ascii_uppercase().as_str() {
                "HTTP" => BackendProtocol::Http,
                "HTTP2" => BackendProtocol::Http2,
                "HTTPS" => BackendProtocol::Https,
                "GRPC" => BackendProtocol::Grpc,
                "GRPCS" => BackendProtocol::Grpcs,
                other => {
                    return Err(v.error(format!(
                    "unsupported protocol {other:?} (expected HTTP, HTTP2, HTTPS, GRPC or GRPCS)"
                )))
                }
            },
        };
        let secret = reader
            .get("proxy-ssl-secret")
            .map(|v| object_name(&v))
            .transpose()?;
        let verify = reader
            .get("proxy-ssl-verify")
            .map(|v| v.parse_on_off())
            .transpose()?
            .unwrap_or(false);
        let sni = reader.get("proxy-ssl-name").map(|v| v.value);
        let server_name = reader
            .get("proxy-ssl-server-name")
            .map(|v| v.parse_on_off())
            .transpose()?
            .unwrap_or(false);
        if protocol == BackendProtocol::Http {
            // Higress drops upstream TLS settings for plain HTTP backends.
            return Ok(None);
        }
        Ok(Some(UpstreamTls {
            protocol,
            secret,
            verify,
            sni,
            server_name,
        }))
    }
}
