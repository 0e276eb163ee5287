//! TLS material in Secrets: PEM certificate chains and private keys (PKCS#1, PKCS#8, SEC1),
//! checked when a Secret is read so a bad one is rejected with a clear error that never
//! quotes the Secret's content.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate data key of a `kubernetes.io/tls` Secret.
pub const TLS_CERT_KEY: &str = "tls.crt";
/// The private key data key of a `kubernetes.io/tls` Secret.
pub const TLS_KEY_KEY: &str = "tls.key";
/// The CA bundle key Higress reads for client-certificate verification.
pub const CA_CERT_KEY: &str = "ca.crt";

/// Parses a PEM certificate chain (leaf first); at least one certificate.
pub fn parse_chain(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate chain: {}", pem_reason(&e)))?;
    if certs.is_empty() {
        return Err("no PEM CERTIFICATE block found".into());
    }
    Ok(certs)
}

/// Parses a PEM private key (PKCS#1 `RSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY`, SEC1
/// `EC PRIVATE KEY`).
pub fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        format!(
            "not a PEM private key (PKCS#1, PKCS#8 or EC): {}",
            pem_reason(&e)
        )
    })
}

/// What is wrong with PEM input, without the lines or bytes it quotes.
fn pem_reason(e: &rustls_pki_types::pem::Error) -> &'static str {
    use rustls_pki_types::pem::Error as E;
    match e {
        E::MissingSectionEnd { .. } => "a section has no END line",
        E::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        E::Base64Decode(_) => "a section is not valid base64",
        E::NoItemsFound => "no PEM section of the expected type",
        E::SectionTooLarge => "a section is larger than 256 MB",
        _ => "unreadable PEM",
    }
}
