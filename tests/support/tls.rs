//! TLS for the tests: self-signed certificates made with `rcgen`, the YAML that hands
//! them to Gantry (`kubernetes.io/tls` Secrets, Ingress `spec.tls`, domain ConfigMaps),
//! and a rustls client with its own root store and explicit SNI (or none).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::config::Ingress;

/// How long a TCP connect plus TLS handshake may take. Default: 5 s.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// A self-signed certificate and its key.
#[derive(Debug, Clone)]
pub struct TestCert {
    /// The DNS names: the first is the subject's common name, all are SANs.
    pub names: Vec<String>,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The PKCS#8 private key, PEM.
    pub key_pem: String,
    /// The certificate, DER.
    pub der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

// === impl TestCert ===

impl TestCert {
    /// A fresh self-signed certificate for `names` (CN = the first name, SAN = all).
    pub fn new(names: &[&str]) -> Self {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone()).expect("certificate params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0].clone());
        let key = rcgen::KeyPair::generate().expect("generate key");
        let cert = params.self_signed(&key).expect("self-sign");
        Self {
            names,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// A fresh certificate authority named `name`.
    pub fn authority(name: &str) -> (Self, rcgen::Issuer<'static, rcgen::KeyPair>) {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = rcgen::KeyPair::generate().expect("generate key");
        let cert = params.self_signed(&key).expect("self-sign ca");
        let me = Self {
            names: vec![name.to_owned()],
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        };
        (me, rcgen::Issuer::new(params, key))
    }

    /// A server certificate for `names`, signed by `issuer`.
    pub fn server_signed_by(
        names: &[&str],
        issuer: &rcgen::Issuer<'static, rcgen::KeyPair>,
    ) -> Self {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names.clone()).expect("server params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, names[0].clone());
        let key = rcgen::KeyPair::generate().expect("generate key");
        let cert = params.signed_by(&key, issuer).expect("sign server cert");
        Self {
            names,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// A client certificate named `name`, signed by `issuer`.
    pub fn client_signed_by(name: &str, issuer: &rcgen::Issuer<'static, rcgen::KeyPair>) -> Self {
        let mut params =
            rcgen::CertificateParams::new(Vec::<String>::new()).expect("client params");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let key = rcgen::KeyPair::generate().expect("generate key");
        let cert = params.signed_by(&key, issuer).expect("sign client cert");
        Self {
            names: vec![name.to_owned()],
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// The common name (the first name).
    pub fn common_name(&self) -> &str {
        &self.names[0]
    }

    /// The private key, for a rustls server.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// A `kubernetes.io/tls` Secret `name` holding this certificate (base64 `data`).
    pub fn secret_yaml(&self, name: &str) -> String {
        secret_yaml(name, &self.cert_pem, &self.key_pem)
    }

    /// The same Secret with the PEM in `stringData` instead of base64 `data`.
    pub fn string_data_secret_yaml(&self, name: &str) -> String {
        let indent = |pem: &str| {
            pem.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        };
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: higress-system\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: |\n{}  tls.key: |\n{}",
            indent(&self.cert_pem),
            indent(&self.key_pem)
        )
    }
}

/// The path of Secret `name` in a config dir: `secrets/<name>.yaml`.
pub fn secret_file(name: &str) -> String {
    format!("secrets/{name}.yaml")
}

/// A `kubernetes.io/tls` Secret whose `data` holds `tls.crt` and `tls.key` (base64 of PEM).
pub fn secret_yaml(name: &str, cert_pem: &str, key_pem: &str) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: higress-system\ntype: kubernetes.io/tls\ndata:\n  tls.crt: {}\n  tls.key: {}\n",
        b64(cert_pem),
        b64(key_pem)
    )
}

/// A TLS Secret whose `tls.crt` is not PEM (the key is a valid one).
pub fn broken_secret_yaml(name: &str) -> String {
    let key = TestCert::new(&["broken.invalid"]).key_pem;
    secret_yaml(name, "this is not a certificate\n", &key)
}

/// `ingress`'s YAML with a `spec.tls` list: `(hosts, secretName)` per entry; empty hosts
/// make the default certificate.
pub fn ingress_with_tls(ingress: &Ingress, entries: &[(&[&str], &str)]) -> String {
    // `spec` is the last top-level key of `Ingress::yaml`, so `tls` can follow `rules`.
    let mut out = ingress.yaml();
    out.push_str("  tls:\n");
    for (hosts, secret) in entries {
        if hosts.is_empty() {
            out.push_str(&format!("  - secretName: {secret}\n"));
        } else {
            out.push_str("  - hosts:\n");
            for host in *hosts {
                out.push_str(&format!("    - \"{host}\"\n"));
            }
            out.push_str(&format!("    secretName: {secret}\n"));
        }
    }
    out
}

/// The path of the domain ConfigMap of `domain`: `configmaps/domain-<domain>.yaml`, with
/// a leading `*` spelled `wildcard` as the console does.
pub fn domain_file(domain: &str) -> String {
    let name = match domain.strip_prefix('*') {
        Some(rest) => format!("wildcard{rest}"),
        None => domain.to_owned(),
    };
    format!("configmaps/domain-{name}.yaml")
}

/// The domain ConfigMap of `domain` with `enableHttps: <mode>` (`off`, `on`, `force`)
/// and, if given, `cert: <secret>`.
pub fn domain_configmap(domain: &str, cert: Option<&str>, mode: &str) -> String {
    let file = domain_file(domain);
    let name = file
        .trim_start_matches("configmaps/")
        .trim_end_matches(".yaml");
    let mut out = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: higress-system\ndata:\n  domain: \"{domain}\"\n  enableHttps: \"{mode}\"\n"
    );
    if let Some(cert) = cert {
        out.push_str(&format!("  cert: {cert}\n"));
    }
    out
}

/// What the client saw of the server's leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafCert {
    /// The subject's common name.
    pub common_name: Option<String>,
    /// The DNS names in the subject alternative names.
    pub dns_names: Vec<String>,
}

// === impl LeafCert ===

impl LeafCert {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Self {
        let (_, cert) = x509_parser::parse_x509_certificate(der).expect("parse leaf certificate");
        let common_name = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned);
        let dns_names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|san| {
                san.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        x509_parser::extensions::GeneralName::DNSName(d) => Some((*d).to_owned()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self {
            common_name,
            dns_names,
        }
    }

    /// The leaf certificate the server presented on `stream`.
    pub fn of(stream: &TlsStream<TcpStream>) -> Self {
        let certs = stream
            .get_ref()
            .1
            .peer_certificates()
            .expect("server sent certificates");
        Self::from_der(&certs[0])
    }
}

/// The ALPN protocol negotiated on `stream`, as text.
pub fn alpn_of(stream: &TlsStream<TcpStream>) -> Option<String> {
    stream
        .get_ref()
        .1
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned())
}

/// A TLS client that trusts only the given certificates and verifies names as usual.
#[derive(Clone)]
pub struct TlsClient {
    roots: Arc<RootCertStore>,
    alpn: Vec<Vec<u8>>,
    identity: Option<(CertificateDer<'static>, Vec<u8>)>,
    tls12_only: bool,
}

// === impl TlsClient ===

impl TlsClient {
    /// A client trusting exactly `roots`; no ALPN.
    pub fn new(roots: &[&TestCert]) -> Self {
        let mut store = RootCertStore::empty();
        for cert in roots {
            store.add(cert.der.clone()).expect("add root certificate");
        }
        Self {
            roots: Arc::new(store),
            alpn: Vec::new(),
            identity: None,
            tls12_only: false,
        }
    }

    /// Presents `cert` as the client certificate.
    pub fn identity(mut self, cert: &TestCert) -> Self {
        self.identity = Some((cert.der.clone(), cert.key_der.clone()));
        self
    }

    /// Offers TLS 1.2 only.
    pub fn tls12_only(mut self) -> Self {
        self.tls12_only = true;
        self
    }

    /// Offers `protocols` by ALPN (e.g. `["h2", "http/1.1"]`).
    pub fn alpn(mut self, protocols: &[&str]) -> Self {
        self.alpn = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        self
    }

    /// Connects to `127.0.0.1:<port>` and handshakes, sending `name` as SNI, and checks
    /// the certificate against `name`.
    pub async fn connect(&self, port: u16, name: &str) -> Result<TlsStream<TcpStream>, String> {
        self.handshake(port, name, true).await
    }

    /// Like [`Self::connect`] but without the SNI extension; the certificate is still
    /// checked against `verify_as`.
    pub async fn connect_no_sni(
        &self,
        port: u16,
        verify_as: &str,
    ) -> Result<TlsStream<TcpStream>, String> {
        self.handshake(port, verify_as, false).await
    }

    async fn handshake(
        &self,
        port: u16,
        name: &str,
        sni: bool,
    ) -> Result<TlsStream<TcpStream>, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if self.tls12_only {
            &[&rustls::version::TLS12]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .expect("TLS versions")
            .with_root_certificates(self.roots.clone());
        let mut config = match &self.identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(
                    vec![cert.clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.clone())),
                )
                .expect("client identity"),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn.clone();
        config.enable_sni = sni;
        let connector = TlsConnector::from(Arc::new(config));
        let server_name = ServerName::try_from(name.to_owned())
            .map_err(|e| format!("server name {name:?}: {e}"))?;
        let what = format!(
            "TLS to 127.0.0.1:{port} ({})",
            if sni {
                format!("SNI {name}")
            } else {
                format!("no SNI, verifying as {name}")
            }
        );
        let attempt = async {
            let tcp = TcpStream::connect(("127.0.0.1", port))
                .await
                .map_err(|e| format!("{what}: connect: {e}"))?;
            let _ = tcp.set_nodelay(true);
            connector
                .connect(server_name, tcp)
                .await
                .map_err(|e| format!("{what}: handshake: {e}"))
        };
        tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt)
            .await
            .map_err(|_| format!("{what}: no handshake within {HANDSHAKE_TIMEOUT:?}"))?
    }
}
