//! `/v1/service-sources`: the registries of McpBridge `default` (`spec.registries[]`, CRD
//! field names), one entry per source. Gantry discovers `dns` and `static` sources; other
//! types are listed when present but refused on write. Credentials are never returned.
//! Locking is on the shared McpBridge (re-read and compare-and-swapped on every write), as
//! Higress does not enforce the client's `version` here either.

use axum::extract::{Path, State};
use axum::response::Response;
use config_store::{Precondition, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::app::{App, AppState};
use crate::body::JsonBody;
use crate::doc::{self, child, root, Doc};
use crate::error::{ApiError, ApiResult};
use crate::version::Version;
use crate::wrapper::{created, list as list_page, no_content, ok, raw, Params};

/// Source types Gantry discovers.
const SUPPORTED: &[&str] = &["dns", "static"];
/// How often a write retries when another writer changed the McpBridge meanwhile.
const CAS_ATTEMPTS: usize = 3;

/// A service source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceSource {
    /// Name; with the type it forms the host (`<name>.dns`).
    pub name: Option<String>,
    /// The McpBridge's version (not enforced on write).
    pub version: Version,
    /// `dns`, `static` (also `nacos`, `nacos2`, `nacos3`, `zookeeper`, `consul`, `eureka`
    /// when read).
    #[serde(rename = "type")]
    pub source_type: Option<String>,
    /// DNS names (`a.com,b.com`) or `ip:port` list.
    pub domain: Option<String>,
    /// Port.
    pub port: Option<u32>,
    /// Upstream protocol.
    pub protocol: Option<String>,
    /// TLS server name.
    pub sni: Option<String>,
    /// Egress proxy.
    pub proxy_name: Option<String>,
    /// Virtual ports `{defaultValue, servicesVport:[{name,value}]}`.
    pub vport: Option<Value>,
    /// Registry-specific properties (Nacos groups, Consul datacenter, …).
    pub properties: Option<Map<String, Value>>,
    /// Authentication: `{enabled, properties}`; properties are never returned.
    #[serde(rename = "authN")]
    pub auth_n: Option<Value>,
}

/// Registry fields copied to and from `properties`.
const PROPERTY_KEYS: &[&str] = &[
    "nacosNamespaceId",
    "nacosGroups",
    "zkServicesPath",
    "consulDatacenter",
    "consulServiceTag",
    "consulRefreshInterval",
    "enableMCPServer",
    "mcpServerBaseUrl",
    "mcpServerExportDomains",
];

fn from_registry(reg: &Map<String, Value>, version: &str) -> ServiceSource {
    let s = |k: &str| reg.get(k).and_then(Value::as_str).map(str::to_string);
    let vport = reg.get("vport").map(|v| {
        json!({
            "defaultValue": v.get("default").cloned().unwrap_or(Value::Null),
            "servicesVport": v.get("services").cloned().unwrap_or(Value::Null),
        })
    });
    let properties: Map<String, Value> = PROPERTY_KEYS
        .iter()
        .filter_map(|k| reg.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    ServiceSource {
        name: s("name"),
        version: Version::of(version),
        source_type: s("type"),
        domain: s("domain"),
        port: reg
            .get("port")
            .and_then(Value::as_u64)
            .and_then(|p| u32::try_from(p).ok()),
        protocol: s("protocol"),
        sni: s("sni"),
        proxy_name: s("proxyName"),
        vport,
        properties: (!properties.is_empty()).then_some(properties),
        auth_n: Some(json!({
            "enabled": s("authSecretName").is_some_and(|n| !n.is_empty()),
            "properties": null,
        })),
    }
}

fn registries(bridge: Option<&Doc>) -> Vec<Map<String, Value>> {
    bridge
        .and_then(|d| d.value.pointer("/spec/registries"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|r| r.as_object().cloned()).collect())
        .unwrap_or_default()
}

async fn bridge(app: &App) -> ApiResult<Option<Doc>> {
    doc::get(app.store.as_ref(), ResourceKind::McpBridge, "default").await
}

/// `GET /v1/service-sources`.
pub async fn list(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let page = params.page()?;
    let b = bridge(&app).await?;
    let version = b.as_ref().map(|d| d.version.clone()).unwrap_or_default();
    let sources: Vec<ServiceSource> = registries(b.as_ref())
        .iter()
        .map(|r| from_registry(r, &version))
        .collect();
    Ok(list_page(sources, page))
}

/// `GET /v1/service-sources/{name}`.
pub async fn get(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let b = bridge(&app).await?;
    let version = b.as_ref().map(|d| d.version.clone()).unwrap_or_default();
    registries(b.as_ref())
        .iter()
        .find(|r| r.get("name").and_then(Value::as_str) == Some(name.as_str()))
        .map(|r| ok(from_registry(r, &version)))
        .ok_or_else(|| ApiError::not_found(format!("service source {name:?} not found")))
}

fn check(s: &ServiceSource, name: &str) -> ApiResult<()> {
    let ok_name = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok_name {
        return Err(ApiError::field("name", format!("{name:?} must be letters, digits and '-' (at most 63, not starting or ending with '-')")));
    }
    if name.ends_with(".internal") {
        return Err(ApiError::field(
            "name",
            "names ending in .internal are reserved",
        ));
    }
    match s.source_type.as_deref() {
        Some(t) if SUPPORTED.contains(&t) => {}
        Some(t) => {
            return Err(ApiError::field(
                "type",
                format!("{t:?}: Gantry discovers only dns and static service sources yet"),
            ))
        }
        None => return Err(ApiError::field("type", "is required")),
    }
    if s.domain.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::field("domain", "is required"));
    }
    let auth_on = s
        .auth_n
        .as_ref()
        .and_then(|a| a.get("enabled"))
        .and_then(Value::as_bool)
        == Some(true);
    if auth_on {
        return Err(ApiError::field(
            "authN.enabled",
            "dns and static sources take no credentials",
        ));
    }
    Ok(())
}

fn to_registry(
    s: &ServiceSource,
    name: &str,
    existing: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let mut reg = existing.cloned().unwrap_or_default();
    let mut set = |k: &str, v: Option<Value>| match v {
        Some(v) if !v.is_null() => {
            reg.insert(k.to_string(), v);
        }
        _ => {
            reg.remove(k);
        }
    };
    set("name", Some(json!(name)));
    set("type", s.source_type.clone().map(Value::from));
    set("domain", s.domain.clone().map(Value::from));
    set("port", s.port.map(Value::from));
    set(
        "protocol",
        s.protocol
            .clone()
            .filter(|p| !p.is_empty())
            .map(Value::from),
    );
    set(
        "sni",
        s.sni.clone().filter(|p| !p.is_empty()).map(Value::from),
    );
    set(
        "proxyName",
        s.proxy_name
            .clone()
            .filter(|p| !p.is_empty())
            .map(Value::from),
    );
    let vport = s.vport.as_ref().filter(|v| !v.is_null()).map(|v| {
        let mut out = Map::new();
        if let Some(d) = v.get("defaultValue").filter(|d| !d.is_null()) {
            out.insert("default".into(), d.clone());
        }
        if let Some(list) = v.get("servicesVport").filter(|d| !d.is_null()) {
            out.insert("services".into(), list.clone());
        }
        Value::Object(out)
    });
    set("vport", vport);
    for k in PROPERTY_KEYS {
        let v = s.properties.as_ref().and_then(|p| p.get(*k)).cloned();
        if s.properties.is_some() {
            set(k, v);
        }
    }
    reg
}

/// `POST /v1/service-sources`: 201; 409 if the name exists.
pub async fn create(
    State(app): State<AppState>,
    JsonBody(s): JsonBody<ServiceSource>,
) -> ApiResult<Response> {
    let name = s.name.clone().unwrap_or_default();
    check(&s, &name)?;
    let saved = app.edit_registries(&name, Edit::Create(&s)).await?;
    Ok(created(saved))
}

/// `PUT /v1/service-sources/{name}`: 200, creating it if missing (as Higress).
pub async fn update(
    State(app): State<AppState>,
    Path(name): Path<String>,
    JsonBody(s): JsonBody<ServiceSource>,
) -> ApiResult<Response> {
    check(&s, &name)?;
    let saved = app.edit_registries(&name, Edit::Upsert(&s)).await?;
    Ok(raw(saved))
}

/// `DELETE /v1/service-sources/{name}`: 204.
pub async fn delete(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    app.edit_registries(&name, Edit::Delete).await?;
    Ok(no_content())
}

enum Edit<'a> {
    Create(&'a ServiceSource),
    Upsert(&'a ServiceSource),
    Delete,
}

// === impl App ===

impl App {
    /// Applies one change to McpBridge `default`'s registries, retrying when another
    /// writer changed it in between.
    async fn edit_registries(&self, name: &str, edit: Edit<'_>) -> ApiResult<ServiceSource> {
        for attempt in 1..=CAS_ATTEMPTS {
            let b = bridge(self).await?;
            let mut value = b
                .as_ref()
                .map(|d| d.value.clone())
                .unwrap_or_else(|| doc::skeleton(ResourceKind::McpBridge, "default"));
            let spec = child(root(&mut value), "spec");
            let mut regs = registries(b.as_ref());
            let at = regs
                .iter()
                .position(|r| r.get("name").and_then(Value::as_str) == Some(name));
            let mut removed_secret = None;
            match (&edit, at) {
                (Edit::Create(_), Some(_)) => {
                    return Err(ApiError::conflict(format!(
                        "service source {name:?} already exists"
                    )))
                }
                (Edit::Create(s) | Edit::Upsert(s), None) => regs.push(to_registry(s, name, None)),
                (Edit::Upsert(s), Some(i)) => regs[i] = to_registry(s, name, Some(&regs[i])),
                (Edit::Delete, None) => {
                    return Err(ApiError::not_found(format!(
                        "service source {name:?} not found"
                    )))
                }
                (Edit::Delete, Some(i)) => {
                    removed_secret = regs[i]
                        .get("authSecretName")
                        .and_then(Value::as_str)
                        .map(str::to_string);
                    regs.remove(i);
                }
            }
            spec.insert(
                "registries".into(),
                Value::Array(regs.iter().cloned().map(Value::Object).collect()),
            );
            let precondition = match &b {
                Some(d) => Precondition::Version(d.version.clone()),
                None => Precondition::Absent,
            };
            let yaml = doc::to_yaml(&value)?;
            match self
                .put(
                    ResourceKind::McpBridge,
                    "default",
                    &yaml,
                    precondition,
                    b.as_ref().map(|d| d.yaml.as_str()),
                )
                .await
            {
                Ok(version) => {
                    if let Some(secret) = removed_secret.filter(|s| !s.is_empty()) {
                        if let Err(e) = self
                            .delete(ResourceKind::Secret, &secret, Precondition::Any)
                            .await
                        {
                            tracing::warn!(
                                "service source {name}: auth Secret {secret} not deleted: {}",
                                e.message
                            );
                        }
                    }
                    let reg = regs
                        .iter()
                        .find(|r| r.get("name").and_then(Value::as_str) == Some(name))
                        .cloned()
                        .unwrap_or_default();
                    let mut out = from_registry(&reg, &version);
                    if matches!(edit, Edit::Delete) {
                        out.name = Some(name.to_string());
                    }
                    return Ok(out);
                }
                Err(e)
                    if e.status == axum::http::StatusCode::CONFLICT && attempt < CAS_ATTEMPTS =>
                {
                    continue
                }
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::conflict(
            "McpBridge default keeps changing; retry",
        ))
    }
}
