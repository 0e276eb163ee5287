//! Downstream TLS: certificates chosen by SNI from Secrets named by Ingress `spec.tls` and
//! by the console's domain ConfigMaps (`enableHttps: on|force`), swapped live.
//!
//! Lookup: exact host, then the longest matching wildcard (`*.foo.com`), then the default
//! certificate (an Ingress TLS entry without hosts, or the console's
//! `higress-default-domain`); with none, the handshake is refused with an alert.

pub mod certs;
pub mod handshake;
pub mod host_policy;

use std::sync::Arc;

use arc_swap::ArcSwap;
use pingora::tls::sign::CertifiedKey;
use pingora::tls::{ClientHello, ResolvesServerCert};

pub use certs::CertStore;

/// A `ResolvesServerCert` over a swappable [`CertStore`].
#[derive(Debug, Default)]
pub struct SniResolver {
    store: ArcSwap<CertStore>,
}

// === impl SniResolver ===

impl SniResolver {
    /// Replaces the certificates; new handshakes see them at once, open connections keep
    /// the certificate they were made with.
    pub fn update(&self, store: CertStore) {
        self.store.store(Arc::new(store));
    }

    /// The current certificates.
    pub fn store(&self) -> Arc<CertStore> {
        self.store.load_full()
    }
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let store = self.store.load();
        let found = store.lookup(hello.server_name());
        if found.is_none() {
            tracing::debug!(sni = ?hello.server_name(), "no certificate for this name; handshake refused");
        }
        found
    }
}
