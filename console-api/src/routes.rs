//! `/v1/routes`: routes as Ingresses (`ingresses/<name>.yaml`), converted as the Higress
//! console does ([`convert`]). Updates carry `version` (stale → 409); routes whose Ingress
//! the form cannot represent are listed `readonly` and refused on update.

pub mod annotations;
pub mod convert;
pub mod model;

use axum::extract::{Path, State};
use axum::response::Response;
use config_store::{Precondition, ResourceKind};

use crate::app::{App, AppState};
use crate::body::JsonBody;
use crate::doc::{self, Doc};
use crate::domains;
use crate::error::{ApiError, ApiResult};
use crate::wrapper::{created, list as list_page, no_content, ok, raw, Params};
use convert::{from_ingress, to_ingress, DEFAULT_DOMAIN};
use model::Route;

/// Names the console keeps for itself.
pub fn check_not_internal(name: &str) -> ApiResult<()> {
    if name.ends_with(".internal") {
        return Err(ApiError::field(
            "name",
            format!("{name:?}: names ending in .internal are reserved for the console"),
        ));
    }
    Ok(())
}

/// True when `route` serves `domain` (`higress-default-domain`: routes without domains).
pub fn serves(route: &Route, domain: &str) -> bool {
    let domains = route.domains.as_deref().unwrap_or_default();
    if domain == DEFAULT_DOMAIN {
        domains.is_empty()
    } else {
        domains.iter().any(|d| d == domain)
    }
}

/// Every route, by name.
pub async fn all(app: &App) -> ApiResult<Vec<(Doc, Route)>> {
    Ok(doc::list(app.store.as_ref(), ResourceKind::Ingress)
        .await?
        .into_iter()
        .map(|d| {
            let r = from_ingress(&d);
            (d, r)
        })
        .collect())
}

/// `GET /v1/routes?domainName&all&pageNum&pageSize`.
pub async fn list(State(app): State<AppState>, params: Params) -> ApiResult<Response> {
    let page = params.page()?;
    let domain = params.get("domainName").filter(|d| !d.is_empty());
    if domain.is_some() && params.flag("all")? {
        return Err(ApiError::bad_request(
            "domainName cannot be used with all=true",
        ));
    }
    let routes: Vec<Route> = all(&app)
        .await?
        .into_iter()
        .map(|(_, r)| r)
        .filter(|r| domain.is_none_or(|d| serves(r, d)))
        .collect();
    Ok(list_page(routes, page))
}

/// `GET /v1/routes/{name}`.
pub async fn get(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    let d = doc::get(app.store.as_ref(), ResourceKind::Ingress, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("route {name:?} not found")))?;
    Ok(ok(from_ingress(&d)))
}

/// `POST /v1/routes`: 201 with the route; 409 if it exists.
pub async fn create(
    State(app): State<AppState>,
    JsonBody(route): JsonBody<Route>,
) -> ApiResult<Response> {
    let name = route
        .name
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::field("name", "is required"))?;
    check_not_internal(&name)?;
    route.validate()?;
    if doc::get(app.store.as_ref(), ResourceKind::Ingress, &name)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(format!("route {name:?} already exists")));
    }
    let saved = app.write_route(&name, &route, None).await?;
    Ok(created(saved))
}

/// `PUT /v1/routes/{name}`: 200 with the route; 409 on a stale `version`.
pub async fn update(
    State(app): State<AppState>,
    Path(name): Path<String>,
    JsonBody(route): JsonBody<Route>,
) -> ApiResult<Response> {
    if let Some(n) = route.name.as_deref().filter(|n| !n.is_empty()) {
        if n != name {
            return Err(ApiError::field(
                "name",
                format!("{n:?} does not match the URL ({name:?})"),
            ));
        }
    }
    check_not_internal(&name)?;
    route.validate()?;
    let current = doc::get(app.store.as_ref(), ResourceKind::Ingress, &name)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("route {name:?} not found")))?;
    if from_ingress(&current).readonly == Some(true) {
        return Err(ApiError::bad_request(format!(
            "route {name:?} cannot be edited through the console: its Ingress ({}) has rules or paths the form cannot show; edit the file",
            current.source
        )));
    }
    let saved = app.write_route(&name, &route, Some(&current)).await?;
    Ok(raw(saved))
}

/// `DELETE /v1/routes/{name}`: 204.
pub async fn delete(State(app): State<AppState>, Path(name): Path<String>) -> ApiResult<Response> {
    check_not_internal(&name)?;
    app.delete(ResourceKind::Ingress, &name, Precondition::Any)
        .await?;
    Ok(no_content())
}

// === impl App ===

impl App {
    /// Writes `route` as Ingress `name` (over `current` when given, checking its version),
    /// making McpBridge `default` first if there is none; returns the route as stored.
    pub async fn write_route(
        &self,
        name: &str,
        route: &Route,
        current: Option<&Doc>,
    ) -> ApiResult<Route> {
        let precondition = match current {
            Some(c) => route
                .version
                .check(&c.version)
                .map_err(ApiError::conflict)?,
            None => Precondition::Absent,
        };
        let tls = domains::tls_settings(self).await?;
        let value = to_ingress(route, name, current.map(|c| &c.value), &|d| {
            tls.get(d).cloned()
        })?;
        self.ensure_mcp_bridge().await?;
        let yaml = doc::to_yaml(&value)?;
        self.put(
            ResourceKind::Ingress,
            name,
            &yaml,
            precondition,
            current.map(|c| c.yaml.as_str()),
        )
        .await?;
        let saved = doc::get(self.store.as_ref(), ResourceKind::Ingress, name)
            .await?
            .ok_or_else(|| ApiError::internal(format!("route {name} vanished after its write")))?;
        Ok(from_ingress(&saved))
    }

    /// Creates an empty McpBridge `default` (the backend of console routes) if missing.
    pub async fn ensure_mcp_bridge(&self) -> ApiResult<()> {
        if doc::get(self.store.as_ref(), ResourceKind::McpBridge, "default")
            .await?
            .is_some()
        {
            return Ok(());
        }
        let mut value = doc::skeleton(ResourceKind::McpBridge, "default");
        doc::root(&mut value).insert("spec".into(), serde_json::json!({"registries": []}));
        match self
            .put(
                ResourceKind::McpBridge,
                "default",
                &doc::to_yaml(&value)?,
                Precondition::Absent,
                None,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.status == axum::http::StatusCode::CONFLICT => Ok(()),
            Err(e) => Err(e),
        }
    }
}
