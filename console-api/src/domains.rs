//! `/v1/domains`: domains as ConfigMaps `domain-<name>` (`*.a.com` → `domain-wildcard.a.com`)
//! with `data.{domain,cert,enableHttps}`, as the Higress console stores them. Saving a
//! domain re-renders the TLS section of the routes that use it.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use config_store::{Precondition, ResourceKind};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::{App, AppState};
use crate::auth::account::DEFINER_LABEL;
use crate::body::JsonBody;
use crate::doc::{self, child, root, Doc};
use crate::error::{ApiError, ApiResult};
use crate::routes::convert::{normalize_domain, DomainTls, DEFAULT_DOMAIN};
use crate::routes::{self, serves};
use crate::version::Version;
use crate::wrapper::{created, list as list_page, no_content, ok, raw, Params};

/// The ConfigMap name prefix.
pub const PREFIX: &str = "domain-";

/// A domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Domain {
    /// The host name (`example.com`, `*.example.com`).
    pub name: Option<String>,
    /// Version for optimistic locking.
    pub version: Version,
    /// `off`, `on` or `force`.
    pub enable_https: Option<String>,
    /// The TLS certificate's name.
    pub cert_identifier: Option<String>,
}

fn from_config_map(d: &Doc) -> Option<Domain> {
    let name = d.str_at("/data/domain")?.to_string();
    Some(Domain {
        name: Some(name),
        version: Version::of(&d.version),
        enable_https: d.str_at("/data/enableHttps").map(str::to_string),
        cert_identifier: d.str_at("/data/cert").map(str::to_string),
    })
}

async fn all(app: &App) -> ApiResult<Vec<(Doc, Domain)>> {
    Ok(doc::list(app.store.as_ref(), ResourceKind::ConfigMap)
        .await?
        .into_iter()
        .filter(|d| d.name.starts_with(PREFIX))
        .filter_map(|d| from_config_map(&d).map(|dom| (d, dom)))
        .collect())
}

/// Every domain's HTTPS settings, by domain name.
pub async fn tls_settings(app: &App) -> ApiResult<HashMap<String, DomainTls>> {
    Ok(all(app)
        .await?
        .into_iter()
        .filter_map(|(_, d)| {
            Some((
                d.name?,
                DomainTls {
                    enable_https: d.enable_https.unwrap_or_else(|| "off".into()),
                    cert: d.cert_identifier,
                },
            ))
        })
        .collect())
}

fn config_map_name(domain: &str) -> String {
    format!("{PREFIX}{}", normalize_domain(domain))
}

async fn find(app: &App, name: &str) -> ApiResult<Option<Doc>> {
    doc::get(
        app.store.as_ref(),
        ResourceKind::ConfigMap,
        &config_map_name(name),
    )
    .await
}

/// `GET /v1/domains`.
pub async fn list(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let page = params.page()?;
    let domains: Vec<Domain> = all(&app).await?.into_iter().map(|(_, d)| d).collect();
    Ok(list_page(domains, page))
}

/// `GET /v1/domains/{name}`.
pub async fn get(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let d = find(&app, &name)
        .await?
        .and_then(|d| from_config_map(&d))
        .ok_or_else(|| ApiError::not_found(format!("domain {name:?} not found")))?;
    Ok(ok(d))
}

/// `GET /v1/domains/{name}/routes`.
pub async fn routes_of(
    State(app): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let page = params.page()?;
    let routes: Vec<_> = routes::all(&app)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| serves(r, &name))
        .collect();
    Ok(list_page(routes, page))
}

fn check(domain: &Domain) -> ApiResult<()> {
    match domain.enable_https.as_deref() {
        None | Some("off" | "on" | "force") => Ok(()),
        Some(v) => Err(ApiError::field(
            "enableHttps",
            format!("{v:?} is not off, on or force"),
        )),
    }
}

/// `POST /v1/domains`: 201; 409 if it exists.
pub async fn create(
    State(app): State<AppState>,
    JsonBody(domain): JsonBody<Domain>,
) -> ApiResult<Response> {
    let name = domain
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::field("name", "is required"))?;
    check(&domain)?;
    if find(&app, &name).await?.is_some() {
        return Err(ApiError::conflict(format!(
            "domain {name:?} already exists"
        )));
    }
    let saved = app.write_domain(&name, &domain, None).await?;
    Ok(created(saved))
}

/// `PUT /v1/domains/{name}`: 200; 409 on a stale version; creates `higress-default-domain`.
pub async fn update(
    State(app): State<AppState>,
    Path(name): Path<String>,
    JsonBody(domain): JsonBody<Domain>,
) -> ApiResult<Response> {
    if let Some(n) = domain.name.as_deref().filter(|n| !n.is_empty()) {
        if n != name {
            return Err(ApiError::field(
                "name",
                format!("{n:?} does not match the URL ({name:?})"),
            ));
        }
    }
    check(&domain)?;
    let current = find(&app, &name).await?;
    // The UI always shows the default domain; its ConfigMap is made on first save.
    if current.is_none() && name != DEFAULT_DOMAIN {
        return Err(ApiError::not_found(format!("domain {name:?} not found")));
    }
    let saved = app.write_domain(&name, &domain, current.as_ref()).await?;
    Ok(raw(saved))
}

/// `DELETE /v1/domains/{name}`: 204; 409 while routes use it (Higress: 500).
pub async fn delete(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    if routes::all(&app)
        .await?
        .iter()
        .any(|(_, r)| serves(r, &name))
    {
        return Err(ApiError::conflict(
            "The domain has routes. Please delete them first.",
        ));
    }
    app.delete(
        ResourceKind::ConfigMap,
        &config_map_name(&name),
        Precondition::Any,
    )
    .await?;
    Ok(no_content())
}

// === impl App ===

impl App {
    /// Writes domain `name` (over `current`, checking its version), then re-renders the TLS
    /// section of the routes serving it.
    async fn write_domain(
        &self,
        name: &str,
        domain: &Domain,
        current: Option<&Doc>,
    ) -> ApiResult<Domain> {
        let cm = config_map_name(name);
        let precondition = match current {
            Some(c) => domain
                .version
                .check(&c.version)
                .map_err(ApiError::conflict)?,
            None => Precondition::Absent,
        };
        let mut value = current
            .map(|c| c.value.clone())
            .unwrap_or_else(|| doc::skeleton(ResourceKind::ConfigMap, &cm));
        let top = root(&mut value);
        let labels = child(child(top, "metadata"), "labels");
        labels.insert("higress.io/config-map-type".into(), json!("domain"));
        labels.insert(DEFINER_LABEL.into(), json!("higress"));
        let data = child(top, "data");
        data.insert("domain".into(), json!(name));
        data.insert(
            "enableHttps".into(),
            json!(domain.enable_https.clone().unwrap_or_else(|| "off".into())),
        );
        match domain.cert_identifier.as_deref().filter(|c| !c.is_empty()) {
            Some(c) => data.insert("cert".into(), json!(c)),
            None => data.remove("cert"),
        };
        let yaml = doc::to_yaml(&value)?;
        self.put(
            ResourceKind::ConfigMap,
            &cm,
            &yaml,
            precondition,
            current.map(|c| c.yaml.as_str()),
        )
        .await?;
        for (d, route) in routes::all(self).await? {
            if !serves(&route, name) || route.readonly == Some(true) {
                continue;
            }
            let rname = d.name.clone();
            let mut again = route.clone();
            again.version = Version::default();
            if let Err(e) = self.write_route(&rname, &again, Some(&d)).await {
                tracing::warn!(
                    "route {rname}: TLS not re-rendered after domain {name} changed: {}",
                    e.message
                );
            }
        }
        let saved = doc::get(self.store.as_ref(), ResourceKind::ConfigMap, &cm)
            .await?
            .and_then(|d| from_config_map(&d))
            .ok_or_else(|| ApiError::internal(format!("domain {name} vanished after its write")))?;
        Ok(saved)
    }
}
