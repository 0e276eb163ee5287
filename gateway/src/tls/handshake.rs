//! What the HTTP layer needs to know about a TLS connection, captured once per handshake:
//! SNI, version, cipher and the client's certificate chain. Client certificates are
//! requested (never required) while some host has `auth-tls-secret`; each host then checks
//! the chain against its own CA when a request arrives (`host_policy.rs`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use pingora::listeners::TlsAccept;
use pingora::protocols::tls::TlsRef;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

/// Facts about one TLS connection, stored in Pingora's `SslDigest` extension.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// Server name the client asked for.
    pub sni: Option<String>,
    /// Negotiated version (`TLSv1_2`, `TLSv1_3`).
    pub version: Option<&'static str>,
    /// Negotiated cipher suite (IANA name).
    pub cipher: Option<&'static str>,
    /// The client's certificate chain, leaf first, when one was presented.
    pub client_chain: Vec<CertificateDer<'static>>,
}

/// Records [`TlsInfo`] after each handshake.
pub struct HandshakeInfo;

#[async_trait]
impl TlsAccept for HandshakeInfo {
    async fn handshake_complete_callback(
        &self,
        tls: &TlsRef,
    ) -> Option<Arc<dyn std::any::Any + Send + Sync>> {
        crate::observe::tls::handshake_completed();
        Some(Arc::new(TlsInfo {
            sni: tls.server_name().map(str::to_string),
            version: tls.version(),
            cipher: tls.current_cipher_name(),
            client_chain: tls
                .peer_cert_chain_der()
                .map(<[_]>::to_vec)
                .unwrap_or_default(),
        }))
    }
}

/// Asks clients for a certificate while `offer` is set, accepts any chain that proves
/// possession of its key, and leaves trust decisions to each host's policy.
#[derive(Debug)]
pub struct OptionalClientCert {
    offer: Arc<AtomicBool>,
    provider: Arc<CryptoProvider>,
}

// === impl OptionalClientCert ===

impl OptionalClientCert {
    /// A verifier whose offering follows `offer`.
    pub fn new(offer: Arc<AtomicBool>) -> Self {
        pingora::tls::install_default_crypto_provider();
        let provider = CryptoProvider::get_default()
            .cloned()
            .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
        Self { offer, provider }
    }
}

impl ClientCertVerifier for OptionalClientCert {
    fn offer_client_auth(&self) -> bool {
        self.offer.load(Ordering::Relaxed)
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
