//! Downstream TLS per host: `auth-tls-secret` (client certificates), `ssl-cipher`,
//! `tls-min-protocol-version`, `tls-max-protocol-version`.

use super::value::object_name;
use super::{AnnotationError, AnnotationGroup, AnnotationReader};

/// TLS protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.0.
    V1_0,
    /// TLS 1.1.
    V1_1,
    /// TLS 1.2.
    V1_2,
    /// TLS 1.3.
    V1_3,
}

/// Downstream TLS options of the Ingress's hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownstreamTls {
    /// Secret holding the CA that client certificates must chain to.
    pub auth_secret: Option<String>,
    /// Allowed cipher names (OpenSSL names, colon-separated in the annotation).
    pub ciphers: Vec<String>,
    /// Minimum version.
    pub min_version: Option<TlsVersion>,
    /// Maximum version.
    pub max_version: Option<TlsVersion>,
}

impl AnnotationGroup for DownstreamTls {
    fn parse(reader: &AnnotationReader<'_>) -> Result<Option<Self>, AnnotationError> {
        let auth_secret = reader
            .get("auth-tls-secret")
            .map(|v| object_name(&v))
            .transpose()?;
        let ciphers = reader
            .get("ssl-cipher")
            .map(|v| {
                v.value
                    .split(':')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let version = |key: &str| -> Result<Option<TlsVersion>, AnnotationError> {
            reader
                .get(key)
                .map(|v| match v.value.as_str() {
                    "TLSv1.0" => Ok(TlsVersion::V1_0),
                    "TLSv1.1" => Ok(TlsVersion::V1_1),
                    "TLSv1.2" => Ok(TlsVersion::V1_2),
                    "TLSv1.3" => Ok(TlsVersion::V1_3),
                    other => Err(v.error(format!(
                        "{other:?} is not TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3"
                    ))),
                })
                .transpose()
        };
        let min_version = version("tls-min-protocol-version")?;
        let max_version = version("tls-max-protocol-version")?;
        if let (Some(min), Some(max)) = (min_version, max_version) {
            if min > max {
                return Err(AnnotationError {
                    key: "tls-min-protocol-version".into(),
                    message: "minimum version is above the maximum".into(),
                });
            }
        }
        let tls = DownstreamTls {
            auth_secret,
            ciphers,
            min_version,
            max_version,
        };
        Ok((tls
            != DownstreamTls {
                auth_secret: None,
                ciphers: Vec::new(),
                min_version: None,
                max_version: None,
            })
        .then_some(tls))
    }
}
