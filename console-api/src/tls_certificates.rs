//! `/v1/tls-certificates`: `kubernetes.io/tls` Secrets (`secrets/<name>.yaml`). The
//! certificate's names and validity are read from it; `cert` and `key` are never returned.

use axum::extract::{Path, State};
use axum::response::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use config_store::{Precondition, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::{App, AppState};
use crate::auth::account::DEFINER_LABEL;
use crate::body::JsonBody;
use crate::doc::{self, child, root, Doc};
use crate::error::{ApiError, ApiResult};
use crate::routes::convert::{normalize_domain, DOMAIN_LABEL_PREFIX};
use crate::version::Version;
use crate::wrapper::{created, list as list_page, no_content, ok, raw, Params};

const TLS_TYPE: &str = "kubernetes.io/tls";

/// A TLS certificate; `cert` and `key` are write-only (always `null` in answers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TlsCertificate {
    /// Name (the Secret's).
    pub name: Option<String>,
    /// Version for optimistic locking.
    pub version: Version,
    /// PEM certificate chain (write-only).
    pub cert: Option<String>,
    /// PEM private key (write-only).
    pub key: Option<String>,
    /// The certificate's CN and DNS SANs.
    pub domains: Option<Vec<String>>,
    /// Not before, `yyyy/MM/dd HH:mm:ss'Z'` in UTC.
    pub validity_start: Option<String>,
    /// Not after, same format.
    pub validity_end: Option<String>,
}

struct CertInfo {
    domains: Vec<String>,
    start: String,
    end: String,
}

fn format_time(t: x509_parser::time::ASN1Time) -> String {
    let d = t.to_datetime();
    format!(
        "{:04}/{:02}/{:02} {:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

fn inspect(pem: &[u8]) -> Result<CertInfo, String> {
    let chain = config_store::tls::parse_chain(pem)?;
    let leaf = chain.first().ok_or("no certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let mut domains: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        // A CN that is not a host name ("My CA") names no domain.
        .filter(|cn| !cn.is_empty() && !cn.contains(char::is_whitespace))
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = name {
                if !domains.iter().any(|x| x == d) {
                    domains.push(d.to_string());
                }
            }
        }
    }
    Ok(CertInfo {
        domains,
        start: format_time(cert.validity().not_before),
        end: format_time(cert.validity().not_after),
    })
}

/// Checks that `key` is a usable private key for the leaf of `cert`.
fn check_pair(cert: &[u8], key: &[u8]) -> ApiResult<()> {
    let der = config_store::tls::parse_key(key).map_err(|e| ApiError::field("key", e))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&der)
        .map_err(|_| ApiError::field("key", "not a usable RSA, ECDSA or Ed25519 private key"))?;
    let chain = config_store::tls::parse_chain(cert).map_err(|e| ApiError::field("cert", e))?;
    let leaf = chain
        .first()
        .ok_or_else(|| ApiError::field("cert", "no certificate"))?;
    let (_, parsed) = x509_parser::parse_x509_certificate(leaf.as_ref())
        .map_err(|e| ApiError::field("cert", format!("not an X.509 certificate: {e}")))?;
    if let Some(public) = signing.public_key() {
        if public.as_ref() != parsed.public_key().raw {
            return Err(ApiError::field(
                "key",
                "does not match the certificate's public key",
            ));
        }
    }
    Ok(())
}

fn from_secret(d: &Doc) -> Option<TlsCertificate> {
    if d.str_at("/type") != Some(TLS_TYPE) {
        return None;
    }
    let pem = d
        .str_at("/data/tls.crt")
        .and_then(|b| {
            STANDARD
                .decode(b.split_whitespace().collect::<String>())
                .ok()
        })
        .or_else(|| {
            d.str_at("/stringData/tls.crt")
                .map(|s| s.as_bytes().to_vec())
        });
    let info = pem.as_deref().and_then(|p| inspect(p).ok());
    Some(TlsCertificate {
        name: Some(d.name.clone()),
        version: Version::of(&d.version),
        cert: None,
        key: None,
        domains: Some(info.as_ref().map(|i| i.domains.clone()).unwrap_or_default()),
        validity_start: info.as_ref().map(|i| i.start.clone()),
        validity_end: info.map(|i| i.end),
    })
}

async fn find(app: &App, name: &str) -> ApiResult<Option<(Doc, TlsCertificate)>> {
    Ok(doc::get(app.store.as_ref(), ResourceKind::Secret, name)
        .await?
        .and_then(|d| from_secret(&d).map(|c| (d, c))))
}

/// `GET /v1/tls-certificates`.
pub async fn list(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let page = params.page()?;
    let certs: Vec<TlsCertificate> = doc::list(app.store.as_ref(), ResourceKind::Secret)
        .await?
        .iter()
        .filter_map(from_secret)
        .collect();
    Ok(list_page(certs, page))
}

/// `GET /v1/tls-certificates/{name}`.
pub async fn get(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let (_, c) = find(&app, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("TLS certificate {name:?} not found")))?;
    Ok(ok(c))
}

/// `POST /v1/tls-certificates`: 201; 409 if the Secret exists.
pub async fn create(
    State(app): State<AppState>,
    JsonBody(c): JsonBody<TlsCertificate>,
) -> ApiResult<Response> {
    let name = c
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::field("name", "is required"))?;
    if doc::get(app.store.as_ref(), ResourceKind::Secret, &name)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!(
            "a Secret named {name:?} already exists"
        )));
    }
    Ok(created(app.write_cert(&name, &c, None).await?))
}

/// `PUT /v1/tls-certificates/{name}`: 200; 409 on a stale version.
pub async fn update(
    State(app): State<AppState>,
    Path(name): Path<String>,
    JsonBody(c): JsonBody<TlsCertificate>,
) -> ApiResult<Response> {
    if let Some(n) = c.name.as_deref().filter(|n| !n.is_empty()) {
        if n != name {
            return Err(ApiError::field(
                "name",
                format!("{n:?} does not match the URL ({name:?})"),
            ));
        }
    }
    let (current, _) = find(&app, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("TLS certificate {name:?} not found")))?;
    Ok(raw(app.write_cert(&name, &c, Some(&current)).await?))
}

/// `DELETE /v1/tls-certificates/{name}`: 204.
pub async fn delete(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    find(&app, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("TLS certificate {name:?} not found")))?;
    app.delete(ResourceKind::Secret, &name, Precondition::Any)
        .await?;
    Ok(no_content())
}

// === impl App ===

impl App {
    async fn write_cert(
        &self,
        name: &str,
        c: &TlsCertificate,
        current: Option<&Doc>,
    ) -> ApiResult<TlsCertificate> {
        let precondition = match current {
            Some(d) => c.version.check(&d.version).map_err(ApiError::conflict)?,
            None => Precondition::Absent,
        };
        let cert = c.cert.as_deref().filter(|s| !s.trim().is_empty());
        let key = c.key.as_deref().filter(|s| !s.trim().is_empty());
        if current.is_none() || cert.is_some() || key.is_some() {
            if cert.is_none() {
                return Err(ApiError::field("cert", "a PEM certificate is required"));
            }
            if key.is_none() {
                return Err(ApiError::field("key", "a PEM private key is required"));
            }
        }
        let mut value = current
            .map(|d| d.value.clone())
            .unwrap_or_else(|| doc::skeleton(ResourceKind::Secret, name));
        let top = root(&mut value);
        top.insert("type".into(), json!(TLS_TYPE));
        if let (Some(cert), Some(key)) = (cert, key) {
            let info = inspect(cert.as_bytes()).map_err(|e| ApiError::field("cert", e))?;
            check_pair(cert.as_bytes(), key.as_bytes())?;
            let labels = child(child(top, "metadata"), "labels");
            labels.retain(|k, _| !k.starts_with(DOMAIN_LABEL_PREFIX));
            labels.insert(DEFINER_LABEL.into(), json!("higress"));
            for d in &info.domains {
                labels.insert(
                    format!("{DOMAIN_LABEL_PREFIX}{}", normalize_domain(d)),
                    json!("true"),
                );
            }
            if let Some(serde_json::Value::Object(sd)) = top.get_mut("stringData") {
                sd.remove("tls.crt");
                sd.remove("tls.key");
            }
            let data = child(top, "data");
            data.insert("tls.crt".into(), json!(STANDARD.encode(cert)));
            data.insert("tls.key".into(), json!(STANDARD.encode(key)));
        }
        let yaml = doc::to_yaml(&value)?;
        self.put(
            ResourceKind::Secret,
            name,
            &yaml,
            precondition,
            current.map(|d| d.yaml.as_str()),
        )
        .await?;
        find(self, name).await?.map(|(_, c)| c).ok_or_else(|| {
            ApiError::internal(format!("certificate {name} vanished after its write"))
        })
    }
}
