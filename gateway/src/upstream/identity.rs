//! `proxy-ssl-secret`: the client certificate Gantry presents to an upstream and the CA it
//! verifies the upstream with, loaded from a Secret (`tls.crt`, `tls.key`, `ca.crt`).

use std::sync::Arc;

use config_store::tls::{parse_chain, parse_key, CA_CERT_KEY, TLS_CERT_KEY, TLS_KEY_KEY};
use config_store::Snapshot;
use pingora::utils::tls::{parse_x509, CertKey, WrappedX509};
use rustls_pki_types::CertificateDer;

/// Client certificate and CA for one upstream, compared by Secret name and content.
pub struct UpstreamIdentity {
    secret: String,
    fingerprint: u64,
    /// Certificate chain and key presented to the upstream, when the Secret has them.
    pub cert_key: Option<Arc<CertKey>>,
    /// CA certificates the upstream must chain to, when the Secret has `ca.crt`.
    pub ca: Option<Arc<[WrappedX509]>>,
}

// === impl UpstreamIdentity ===

impl UpstreamIdentity {
    /// Loads the Secret `name`.
    pub fn load(snapshot: &Snapshot, name: &str) -> Result<Self, String> {
        let secret = snapshot
            .secret(name)
            .ok_or_else(|| format!("proxy-ssl-secret: Secret {name:?} not found"))?;
        let mut fingerprint_input = Vec::new();
        let cert_key = match (secret.value(TLS_CERT_KEY), secret.value(TLS_KEY_KEY)) {
            (Some(crt), Some(key)) if !crt.is_empty() && !key.is_empty() => {
                fingerprint_input.extend_from_slice(crt);
                fingerprint_input.extend_from_slice(key);
                let chain = der_chain(crt)
                    .map_err(|e| format!("proxy-ssl-secret {name:?} tls.crt: {e}"))?;
                let key = parse_key(key)
                    .map_err(|e| format!("proxy-ssl-secret {name:?} tls.key: {e}"))?;
                Some(Arc::new(CertKey::new(chain, key.secret_der().to_vec())))
            }
            _ => None,
        };
        let ca = match secret.value(CA_CERT_KEY).filter(|c| !c.is_empty()) {
            Some(pem) => {
                fingerprint_input.extend_from_slice(pem);
                let certs =
                    der_chain(pem).map_err(|e| format!("proxy-ssl-secret {name:?} ca.crt: {e}"))?;
                let wrapped: Vec<WrappedX509> = certs
                    .into_iter()
                    .map(|der| WrappedX509::new(der, parse_x509))
                    .collect();
                Some(Arc::from(wrapped.into_boxed_slice()))
            }
            None => None,
        };
        if cert_key.is_none() && ca.is_none() {
            return Err(format!(
                "proxy-ssl-secret {name:?} has neither tls.crt/tls.key nor ca.crt"
            ));
        }
        Ok(Self {
            secret: name.to_string(),
            fingerprint: crate::upstream::target::hash_of(&fingerprint_input),
            cert_key,
            ca,
        })
    }
}

/// PEM → DER certificates that Pingora can parse (it panics on bad DER, so check first).
fn der_chain(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    parse_chain(pem)?
        .into_iter()
        .map(|c: CertificateDer<'static>| {
            x509_parser::parse_x509_certificate(c.as_ref())
                .map(|_| c.as_ref().to_vec())
                .map_err(|e| format!("certificate is not valid DER: {e}"))
        })
        .collect()
}

impl PartialEq for UpstreamIdentity {
    fn eq(&self, other: &Self) -> bool {
        self.secret == other.secret && self.fingerprint == other.fingerprint
    }
}

impl Eq for UpstreamIdentity {}

impl std::hash::Hash for UpstreamIdentity {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.secret.hash(state);
        self.fingerprint.hash(state);
    }
}

impl std::fmt::Debug for UpstreamIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UpstreamIdentity({}#{:x})",
            self.secret, self.fingerprint
        )
    }
}
