//! Per-host downstream TLS rules from Ingress annotations (host scope, first Ingress in
//! creation order that sets them wins): `auth-tls-secret` (client certificate chaining to the
//! Secret's `ca.crt`, else its `tls.crt`), `ssl-cipher` and `tls-min|max-protocol-version`.
//!
//! rustls negotiates one configuration for every host, so these rules are enforced on each
//! request from what the handshake recorded: a request breaking them gets 400 (no or bad
//! client certificate) or 403 (version or cipher not allowed) and never reaches the upstream.

use std::collections::HashMap;
use std::sync::Arc;

use config_store::annotations::downstream_tls::TlsVersion;
use config_store::annotations::DownstreamTls;
use config_store::tls::{parse_chain, CA_CERT_KEY, TLS_CERT_KEY};
use config_store::Snapshot;
use rustls::server::danger::ClientCertVerifier;
use rustls::server::WebPkiClientVerifier;
use rustls::RootCertStore;
use rustls_pki_types::UnixTime;

use super::handshake::TlsInfo;

/// The TLS rules of one host.
#[derive(Debug, Clone)]
pub struct HostTlsPolicy {
    client_ca: Option<Arc<dyn ClientCertVerifier>>,
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
    ciphers: Vec<String>,
}

/// Rules by host (exact, then wildcard suffix).
#[derive(Debug, Clone, Default)]
pub struct HostTlsPolicies {
    exact: HashMap<String, HostTlsPolicy>,
    wildcard: Vec<(String, HostTlsPolicy)>,
}

// === impl HostTlsPolicies ===

impl HostTlsPolicies {
    /// True when some host asks for client certificates.
    pub fn wants_client_certs(&self) -> bool {
        self.exact
            .values()
            .chain(self.wildcard.iter().map(|(_, p)| p))
            .any(|p| p.client_ca.is_some())
    }

    /// True when no host has rules.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcard.is_empty()
    }

    /// The rules for a normalised host.
    pub fn get(&self, host: &str) -> Option<&HostTlsPolicy> {
        self.exact.get(host).or_else(|| {
            self.wildcard
                .iter()
                .find(|(s, _)| host.len() > s.len() && host.ends_with(s.as_str()))
                .map(|(_, p)| p)
        })
    }

    /// Adds `host`'s rules unless an earlier Ingress set them.
    pub fn insert(&mut self, host: &str, policy: HostTlsPolicy) {
        match host.strip_prefix('*') {
            Some(suffix) => {
                if !self.wildcard.iter().any(|(s, _)| s == suffix) {
                    self.wildcard.push((suffix.to_string(), policy));
                    self.wildcard
                        .sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
                }
            }
            None => {
                self.exact.entry(host.to_string()).or_insert(policy);
            }
        }
    }
}

// === impl HostTlsPolicy ===

impl HostTlsPolicy {
    /// Compiles the annotation; the client CA comes from the named Secret.
    pub fn compile(tls: &DownstreamTls, snapshot: &Snapshot) -> Result<Self, String> {
        let client_ca = match &tls.auth_secret {
            Some(name) => Some(client_verifier(snapshot, name)?),
            None => None,
        };
        Ok(Self {
            client_ca,
            min: tls.min_version,
            max: tls.max_version,
            ciphers: tls.ciphers.iter().map(|c| c.to_ascii_uppercase()).collect(),
        })
    }

    /// Checks a request's connection; `Err((status, reason))` rejects it.
    pub fn check(&self, info: Option<&TlsInfo>) -> Result<(), (u16, String)> {
        let info = info.ok_or((400, "TLS connection details unavailable".to_string()))?;
        if let Some(verifier) = &self.client_ca {
            let Some((leaf, rest)) = info.client_chain.split_first() else {
                return Err((400, "a client certificate is required".into()));
            };
            verifier
                .verify_client_cert(leaf, rest, UnixTime::now())
                .map_err(|e| (400, format!("client certificate rejected: {e}")))?;
        }
        if let Some(version) = info.version.and_then(version_of) {
            let low = self.min.is_some_and(|m| version < m);
            let high = self.max.is_some_and(|m| version > m);
            if low || high {
                return Err((403, "TLS protocol version not allowed for this host".into()));
            }
        }
        if !self.ciphers.is_empty() {
            let cipher = info.cipher.unwrap_or("");
            if !self.ciphers.iter().any(|c| cipher_matches(c, cipher)) {
                return Err((403, "TLS cipher not allowed for this host".into()));
            }
        }
        Ok(())
    }
}

fn client_verifier(snapshot: &Snapshot, name: &str) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let secret = snapshot
        .secret(name)
        .ok_or_else(|| format!("auth-tls-secret: Secret {name:?} not found"))?;
    let pem = secret
        .value(CA_CERT_KEY)
        .or_else(|| secret.value(TLS_CERT_KEY))
        .ok_or_else(|| format!("auth-tls-secret: Secret {name:?} has no ca.crt or tls.crt"))?;
    let mut roots = RootCertStore::empty();
    for cert in parse_chain(pem).map_err(|e| format!("auth-tls-secret {name:?}: {e}"))? {
        roots
            .add(cert)
            .map_err(|e| format!("auth-tls-secret {name:?}: unusable CA certificate: {e}"))?;
    }
    pingora::tls::install_default_crypto_provider();
    WebPkiClientVerifier::builder(Arc::new(roots))
        .build()
        .map_err(|e| format!("auth-tls-secret {name:?}: {e}"))
}

fn version_of(name: &str) -> Option<TlsVersion> {
    match name {
        "TLSv1_0" | "TLSv1.0" => Some(TlsVersion::V1_0),
        "TLSv1_1" | "TLSv1.1" => Some(TlsVersion::V1_1),
        "TLSv1_2" | "TLSv1.2" => Some(TlsVersion::V1_2),
        "TLSv1_3" | "TLSv1.3" => Some(TlsVersion::V1_3),
        _ => None,
    }
}

/// Matches an OpenSSL-style cipher name (`ECDHE-RSA-AES128-GCM-SHA256`) or an IANA name
/// (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`) against rustls's IANA suite name.
fn cipher_matches(wanted: &str, negotiated: &str) -> bool {
    let neg = negotiated.to_ascii_uppercase();
    if wanted == neg {
        return true;
    }
    let openssl_to_iana = |w: &str| -> Option<String> {
        let w = w
            .replace("AES128", "AES_128")
            .replace("AES256", "AES_256")
            .replace("CHACHA20-POLY1305", "CHACHA20_POLY1305");
        let parts: Vec<&str> = w.split('-').collect();
        let (kx, rest) = match parts.as_slice() {
            ["ECDHE", "RSA", rest @ ..] => ("ECDHE_RSA", rest),
            ["ECDHE", "ECDSA", rest @ ..] => ("ECDHE_ECDSA", rest),
            _ => return None,
        };
        Some(format!("TLS_{kx}_WITH_{}", rest.join("_")))
    };
    openssl_to_iana(wanted).is_some_and(|iana| iana == neg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_names() {
        assert!(cipher_matches(
            "ECDHE-RSA-AES128-GCM-SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ));
        assert!(cipher_matches(
            "TLS13_AES_128_GCM_SHA256",
            "TLS13_AES_128_GCM_SHA256"
        ));
        assert!(!cipher_matches(
            "ECDHE-RSA-AES256-GCM-SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        ));
    }
}
