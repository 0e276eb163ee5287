//! [`CertStore`]: compiled certificates by host, built once per snapshot.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use config_store::snapshot::IngressEntry;
use config_store::tls::{parse_chain, parse_key, TLS_CERT_KEY, TLS_KEY_KEY};
use config_store::{Diagnostic, ResourceKind, Snapshot};
use pingora::tls::sign::CertifiedKey;
use pingora::tls::CryptoProvider;

use crate::route_table::normalize_host;

/// The console's name for the default domain.
pub const DEFAULT_DOMAIN: &str = "higress-default-domain";

/// Certificates by host, and the hosts that must be reached over HTTPS (`force`).
#[derive(Debug, Default)]
pub struct CertStore {
    exact: HashMap<String, Arc<CertifiedKey>>,
    /// `(suffix with leading '.', cert)`, longest first.
    wildcard: Vec<(String, Arc<CertifiedKey>)>,
    default: Option<Arc<CertifiedKey>>,
    /// host → Secret name, for status and `gantry routes`.
    names: BTreeMap<String, String>,
}

/// Hosts whose plain-HTTP requests are redirected to HTTPS (domain `enableHttps: force`).
#[derive(Debug, Default, Clone)]
pub struct HttpsOnly {
    exact: std::collections::HashSet<String>,
    wildcard: Vec<String>,
}

// === impl CertStore ===

impl CertStore {
    /// The certificate for an SNI name (`None`: no SNI).
    pub fn lookup(&self, sni: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let Some(name) = sni else {
            return self.default.clone();
        };
        let name = normalize_host(name);
        if let Some(c) = self.exact.get(name.as_ref()) {
            return Some(c.clone());
        }
        self.wildcard
            .iter()
            .find(|(suffix, _)| name.len() > suffix.len() && name.ends_with(suffix.as_str()))
            .map(|(_, c)| c.clone())
            .or_else(|| self.default.clone())
    }

    /// True when no certificate is configured.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.wildcard.is_empty() && self.default.is_none()
    }

    /// `host → Secret` (the default certificate shows as `*`).
    pub fn names(&self) -> &BTreeMap<String, String> {
        &self.names
    }

    fn insert(&mut self, host: &str, secret: &str, cert: Arc<CertifiedKey>) -> bool {
        if host == "*" || host == DEFAULT_DOMAIN {
            if self.default.is_some() {
                return false;
            }
            self.default = Some(cert);
            self.names.insert("*".into(), secret.into());
            return true;
        }
        if self.names.contains_key(host) {
            return false;
        }
        if let Some(suffix) = host.strip_prefix('*') {
            self.wildcard.push((suffix.to_string(), cert));
            self.wildcard
                .sort_by_key(|(suffix, _)| std::cmp::Reverse(suffix.len()));
        } else {
            self.exact.insert(host.to_string(), cert);
        }
        self.names.insert(host.into(), secret.into());
        true
    }
}

// === impl HttpsOnly ===

impl HttpsOnly {
    /// True when plain-HTTP requests for `host` (normalised) must be redirected.
    pub fn contains(&self, host: &str) -> bool {
        self.exact.contains(host)
            || self
                .wildcard
                .iter()
                .any(|s| host.len() > s.len() && host.ends_with(s.as_str()))
    }

    fn insert(&mut self, host: &str) {
        match host.strip_prefix('*') {
            Some(suffix) => self.wildcard.push(suffix.to_string()),
            None => {
                self.exact.insert(host.to_string());
            }
        }
    }
}

/// Builds the certificates: Ingress `spec.tls` first (first Ingress per host wins, in
/// creation order; an entry without hosts is the default), then domain ConfigMaps with
/// `enableHttps: on|force` for hosts still without one.
pub fn build(
    snapshot: &Snapshot,
    ingresses: &[IngressEntry<'_>],
) -> (CertStore, HttpsOnly, Vec<Diagnostic>) {
    let mut store = CertStore::default();
    let mut https_only = HttpsOnly::default();
    let mut diags = Vec::new();
    let mut loaded: HashMap<String, Option<Arc<CertifiedKey>>> = HashMap::new();
    let mut load = |name: &str,
                    diags: &mut Vec<Diagnostic>,
                    source: &str,
                    kind: ResourceKind,
                    owner: &str,
                    field: &str| {
        loaded
            .entry(name.to_string())
            .or_insert_with(|| match certified_key(snapshot, name) {
                Ok(c) => Some(c),
                Err(msg) => {
                    diags.push(
                        Diagnostic::source_error(
                            source,
                            format!("{msg}; hosts using it get no certificate"),
                        )
                        .with_resource(kind, owner)
                        .with_field(field)
                        .warning(),
                    );
                    None
                }
            })
            .clone()
    };
    for entry in ingresses {
        let owner = &entry.ingress.metadata.name;
        for (i, tls) in entry.ingress.spec.tls.iter().enumerate() {
            let Some(secret) = tls.secret_name.as_deref() else {
                continue;
            };
            let field = format!("spec.tls[{i}].secretName");
            let Some(cert) = load(
                secret,
                &mut diags,
                entry.source,
                ResourceKind::Ingress,
                owner,
                &field,
            ) else {
                continue;
            };
            let hosts: Vec<String> = if tls.hosts.is_empty() {
                vec!["*".into()]
            } else {
                tls.hosts
                    .iter()
                    .map(|h| normalize_host(h).into_owned())
                    .collect()
            };
            for host in hosts {
                store.insert(&host, secret, cert.clone());
            }
        }
    }
    for (cm, source) in snapshot.config_maps_with_source() {
        let name = &cm.metadata.name;
        if !name.starts_with("domain-") {
            continue;
        }
        let (Some(domain), Some(mode)) = (cm.data.get("domain"), cm.data.get("enableHttps")) else {
            continue;
        };
        if mode == "off" {
            continue;
        }
        let host = normalize_host(domain).into_owned();
        if mode == "force" && host != DEFAULT_DOMAIN {
            https_only.insert(&host);
        }
        let Some(secret) = cm.data.get("cert").filter(|c| !c.is_empty()) else {
            continue;
        };
        if let Some(cert) = load(
            secret,
            &mut diags,
            source,
            ResourceKind::ConfigMap,
            name,
            "data.cert",
        ) {
            store.insert(&host, secret, cert);
        }
    }
    (store, https_only, diags)
}

/// Loads a Secret's `tls.crt` / `tls.key` into a signing-ready certificate.
fn certified_key(snapshot: &Snapshot, name: &str) -> Result<Arc<CertifiedKey>, String> {
    let secret = snapshot
        .secret(name)
        .ok_or_else(|| format!("Secret {name:?} not found"))?;
    let chain = parse_chain(secret.value(TLS_CERT_KEY).unwrap_or_default())
        .map_err(|e| format!("Secret {name:?} tls.crt: {e}"))?;
    let key = parse_key(secret.value(TLS_KEY_KEY).unwrap_or_default())
        .map_err(|e| format!("Secret {name:?} tls.key: {e}"))?;
    pingora::tls::install_default_crypto_provider();
    let provider = CryptoProvider::get_default().ok_or("no TLS crypto provider")?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("Secret {name:?} tls.key: unsupported key: {e}"))?;
    let certified = CertifiedKey::new(chain, signing);
    certified
        .keys_match()
        .map_err(|e| format!("Secret {name:?}: tls.key does not match tls.crt: {e}"))?;
    Ok(Arc::new(certified))
}
